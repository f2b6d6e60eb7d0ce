# placard: `make run` starts the sandbox, `make test` runs every test.
#
# `make run` and `make build` need nothing but Go (and the Go module proxy
# for the modules in go.sum, the first time).
#
# `make test` needs more, and says what it installs, how, as it goes:
#   - Debian packages, with apt-get when you are root (otherwise it prints
#     the `apt-get install` line to run, and the tests that need them skip,
#     or fail with CI=true): chromium (browser tests), gcc (the race
#     detector), nodejs (Wasm tests), npm, postgresql (replicas' tests; a
#     server on 127.0.0.1:5432 or PLACARD_TEST_DATABASE_URL is used when
#     there is one), mosquitto and mosquitto-clients (MQTT tests, the docs
#     test's mosquitto_sub), curl (the docs test);
#   - from the npm registry, at pinned versions, into the git-ignored
#     .cache/: axe-core (accessibility), acorn (the ES5 check) and
#     standardwebhooks (the webhook receivers' library);
#   - from the Go module proxy: staticcheck, run by `go run` in lint.
# Once these are in place it reaches nothing but loopback. `make vuln`
# (vuln.go.dev) and `make bench` are not part of it.

GO          ?= go
export CGO_ENABLED ?= 0

BIN         := bin/placard
# The raw app.wasm is built outside web/wasm: the binary embeds only its
# brotli and gzip forms (the server derives the raw file from the gzip one).
WASM        := .cache/wasm/app.wasm
WASM_BR     := web/wasm/app.wasm.br
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.1.4
WASM_EXEC   := $(shell $(GO) env GOROOT)/lib/wasm/go_js_wasm_exec
# Brotli quality 9 compresses app.wasm in ~2 s; 11 saves ~12% for ~20 s.
BROTLI      ?= 9
# Arguments for `make run`, e.g. make run ARGS='-addr :9090'.
ARGS        ?=

# What a build says it is (placard version, the admin page, /metrics):
# git's name for the commit, and the commit. Given explicitly where there
# is no git (make release VERSION=v1.2.0 COMMIT=...).
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT     ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# The commit's time: the time of every file in the image, so that the
# same commit gives the same image.
CREATED    ?= $(shell git log -1 --format=%cI 2>/dev/null || echo 1970-01-01T00:00:00Z)
BUILDINFO  := github.com/placard/placard/server/buildinfo
LDFLAGS     = -s -w -X $(BUILDINFO).version=$(VERSION) -X $(BUILDINFO).commit=$(COMMIT)

APP_SRC    := go.mod go.sum $(shell find app -name '*.go')
SERVER_SRC := $(shell find server web/static -type f) web/web.go

.PHONY: docs gcc run build wasm test test-go test-wasm test-deploy release release-binary image podman systemd cacerts lint fuzz fuzz-short bench soak microbench vuln clean chromium node screenshots axe postgresql acorn standardwebhooks mosquitto curl

## run: build everything and start the edge server in sandbox mode on :8080
run: build
	./$(BIN) $(ARGS)

## build: the edge server with the screen's app.wasm embedded (GOARCH=arm64 works too)
build: $(BIN)

# What the binary is built for besides its sources: its link flags (the
# version and commit it reports) and its platform. BUILD_STAMP holds the
# last ones and is written again only when they change, so that a new
# commit, VERSION=..., or GOARCH=arm64 builds the binary again, and nothing
# else does.
BUILD_FOR   := $(LDFLAGS) GOOS=$(GOOS) GOARCH=$(GOARCH) GOARM=$(GOARM)
BUILD_STAMP := .cache/build-for
$(shell mkdir -p .cache; [ "$$(cat $(BUILD_STAMP) 2>/dev/null)" = '$(BUILD_FOR)' ] || printf '%s' '$(BUILD_FOR)' > $(BUILD_STAMP))

# -s -w leaves out the symbol table and DWARF (a quarter of the binary);
# panics still print their stack traces.
$(BIN): $(WASM_BR) $(SERVER_SRC) $(APP_SRC) $(BUILD_STAMP)
	$(GO) build -trimpath -ldflags='$(LDFLAGS)' -o $@ ./server/cmd/placard

## docs: write docs/configuration.md again from placard's flags (a test fails when the two differ)
docs: $(WASM_BR)
	$(GO) run ./server/cmd/placard docs configuration > docs/configuration.md.tmp
	mv docs/configuration.md.tmp docs/configuration.md

## wasm: the screen, compiled to WebAssembly and precompressed
wasm: $(WASM_BR)

$(WASM): $(APP_SRC)
	@mkdir -p $(dir $@)
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags=-s -o $@ ./app/cmd/screen

$(WASM_BR): $(WASM) server/cmd/precompress/main.go
	rm -f web/wasm/app.wasm web/wasm/app.wasm.gz
	$(GO) run ./server/cmd/precompress -brotli $(BROTLI) -out web/wasm $(WASM)

## test: every test: lint, unit, integration, Wasm, fuzzing (bounded), browser tests, and the release, image, unit and manifests
test: wasm chromium node axe acorn standardwebhooks postgresql mosquitto curl lint test-wasm test-go fuzz-short test-deploy

## release: static binaries for linux/amd64, linux/arm64 and linux/armv7 (Raspberry Pi 3, 4, Zero 2 W), their images, and SHA256SUMS, in dist/
# Reproducible: the same commit (or source tree, VERSION and COMMIT) gives
# the same bytes. -trimpath leaves out the build's paths; -buildvcs=false
# leaves out git's state (the version and commit are stamped instead), so
# a tarball of the source builds what a checkout does.
RELEASE := amd64 arm64 armv7
DIST    := dist
release: $(WASM_BR) cacerts
	@rm -rf $(DIST) && mkdir -p $(DIST)
	@for a in $(RELEASE); do \
		goarch=$$a goarm=; if [ $$a = armv7 ]; then goarch=arm goarm=7; fi; \
		echo "GOOS=linux GOARCH=$$goarch GOARM=$$goarm make release-binary OUT=$(DIST)/placard-linux-$$a"; \
		GOOS=linux GOARCH=$$goarch GOARM=$$goarm $(MAKE) --no-print-directory -s release-binary OUT=$(DIST)/placard-linux-$$a || exit 1; \
		arch=$$goarch; if [ $$a = armv7 ]; then arch=arm/v7; fi; \
		$(GO) run ./server/cmd/mkimage -binary $(DIST)/placard-linux-$$a -arch $$arch -version '$(VERSION)' -revision '$(COMMIT)' \
			-created '$(CREATED)' -out $(DIST)/placard-image-linux-$$a.tar || exit 1; \
	done
	cd $(DIST) && sha256sum placard-linux-* placard-image-linux-* > SHA256SUMS
	@cat $(DIST)/SHA256SUMS

# release-binary is one release build, for GOOS/GOARCH/GOARM from the
# environment, into OUT: make release runs it, and so does the Dockerfile.
OUT ?= $(DIST)/placard
release-binary: $(WASM_BR)
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags='$(LDFLAGS)' -o $(OUT) ./server/cmd/placard

## image: the container image for this machine (linux/amd64), with no base image, as an OCI archive: podman load -i dist/placard-image-linux-amd64.tar
# The image is written by server/cmd/mkimage, not built by podman: podman
# drops the health check when it writes an OCI archive (see its comment).
image: $(WASM_BR) cacerts
	@mkdir -p $(DIST)
	$(MAKE) --no-print-directory release-binary GOOS=linux GOARCH=amd64 OUT=$(DIST)/placard-linux-amd64
	$(GO) run ./server/cmd/mkimage -binary $(DIST)/placard-linux-amd64 -arch amd64 -version '$(VERSION)' -revision '$(COMMIT)' \
		-created '$(CREATED)' -out $(DIST)/placard-image-linux-amd64.tar

# The tests of what is shipped (deploy/): the release's binaries, sums and reproducibility, the
# image, the systemd unit (systemd-analyze), the Kubernetes manifests
# (kustomize, strict decoding, placard -check-config), the Dockerfile and
# docs/deploy.md's commands. They read dist/, which make release and make
# image write.
test-deploy: release podman systemd
	@# make image again after make release: it must write the same archive,
	@# which SHA256SUMS then still vouches for.
	@$(MAKE) --no-print-directory image
	VERSION='$(VERSION)' COMMIT='$(COMMIT)' CREATED='$(CREATED)' $(GO) test -count=1 -timeout 9m ./deploy/...

# Debian's CA certificates and time zone database, which the image copies.
cacerts:
	@$(call debian,test -s /etc/ssl/certs/ca-certificates.crt && test -d /usr/share/zoneinfo,ca-certificates tzdata,the container image,exit 1)

# Debian's podman: the image tests check that it loads the image (it
# cannot run containers here: crun's setrlimit is refused). With CI=true
# a test that finds no podman fails.
podman:
	@$(call debian,command -v podman >/dev/null 2>&1,podman,the image tests,true)

# systemd-analyze checks the unit.
systemd:
	@$(call debian,command -v systemd-analyze >/dev/null 2>&1,systemd,the systemd unit's test,true)

# The Go tests run with the race detector, which needs cgo and so a C
# compiler: gcc is installed when missing and root (as Chromium is);
# without one they run without it, except with CI=true, where they always
# do (and fail without a compiler). The end-to-end package (server/cmd/placard:
# Chromium, several server processes) runs beside them without it: the race
# detector makes the servers several times slower, and a browser test then
# measures the detector, not placard; every package it drives is raced on
# its own.
# Its slow tests (those that wait on a browser, a refresh or another
# process more than they compute) run in parallel, three at a time.
E2E_PKG   := ./server/cmd/placard
# deploy/ is tested by test-deploy, once make release and make image wrote
# what it checks.
RACE_PKGS  = $(shell $(GO) list ./... | grep -v -e '/server/cmd/placard$$' -e '/deploy$$')
test-go: $(WASM_BR) gcc
	@if [ "$$CI" = true ] || command -v gcc >/dev/null 2>&1; then 		echo "$(GO) test -race -count=1 -timeout 9m <every package but $(E2E_PKG)> & $(GO) test -count=1 -parallel 3 -timeout 9m $(E2E_PKG)"; 		CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 9m $(RACE_PKGS) & race=$$!; 		$(GO) test -count=1 -parallel 3 -timeout 9m $(E2E_PKG); e2e=$$?; 		wait $$race && exit $$e2e; 	else 		echo "no C compiler: the tests run without the race detector"; 		$(GO) test -count=1 -timeout 9m ./...; 	fi

gcc:
	@$(call debian,command -v gcc >/dev/null 2>&1,gcc,the race detector,true)

# The packages that run under GOOS=js (Node.js) as they do in the browser.
test-wasm: node
	GOOS=js GOARCH=wasm $(GO) test -count=1 -exec="$(WASM_EXEC)" ./app/wire

lint:
	@test -z "$$(gofmt -l app server web deploy)" || { echo "gofmt would change:"; gofmt -l app server web deploy; exit 1; }
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./app/...
	$(GO) run $(STATICCHECK) ./...
	@! grep -rlE '"github.com/placard/placard/server|microsoft-authentication-library-for-go|modernc.org/sqlite|gorilla/websocket' app --include='*.go' \
		|| { echo "app/ must not import server code, MSAL, SQL drivers or gorilla: app.wasm stays small"; exit 1; }
	@! grep -rlE '"github.com/placard/placard/server/sandbox"' app server --include='*.go' --exclude='*_test.go' | grep -vE '^server/(sandbox|cmd/placard|cmd/bench)/' \
		|| { echo "only main wires the sandbox in: the code paths of the sandbox and of a real tenant are the same"; exit 1; }

# Every fuzz target, found in the code (package dir:function), so that a
# new decoder's target runs without being listed here.
FUZZ_TARGETS := $(shell grep -rHo '^func Fuzz[A-Za-z0-9_]*' --include='*_test.go' app server | sed 's|/[^/]*_test.go:func |:|')

## fuzz: fuzz every decoder of client input, FUZZTIME each (1m by default)
FUZZTIME ?= 1m
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		dir=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzzing $$fn in ./$$dir for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) ./$$dir || exit 1; \
	done

# fuzz-short is the bounded fuzzing of `make test`: a count of runs, not a
# duration, because Go 1.26's fuzzer can fail a target with a bare "context
# deadline exceeded" when a duration ends under load (golang/go#75804,
# fixed in Go 1.27); a count has no deadline to race.
FUZZTIME_TEST ?= 20000x
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_TEST)

## bench: placard at 1,000, 5,000 and 10,000 screens against a bare gorilla/websocket hub, and a screen's first paint against a bare go-app page, in one run: one table, JSON in .cache/bench
# BENCH_ARGS passes flags to bin/bench (e.g. BENCH_ARGS='-screens 500,1000 -accounts 50').
BENCH_ARGS ?=
bench: $(BIN) chromium
	$(GO) build -o bin/bench ./server/cmd/bench
	./bin/bench -placard $(BIN) $(BENCH_ARGS)

## soak: 10,000 screens for 10 minutes under changing presence and calendars; fails on growth, drops or errors
soak: $(BIN)
	$(GO) build -o bin/bench ./server/cmd/bench
	./bin/bench -placard $(BIN) -screens 10000 -quiet 0 -paint 0 -one-account 0 -waiting 0 -storm=false -soak 10m $(BENCH_ARGS)

## microbench: the Go benchmarks of encoders and the like
microbench: $(WASM_BR)
	$(GO) test -run='^$$' -bench=. -benchmem ./...

## vuln: known vulnerabilities in dependencies (needs vuln.go.dev, which `make test` does not reach)
vuln:
	$(GO) run $(GOVULNCHECK) ./...

# debian installs Debian package $(2) unless the shell test $(1) finds
# what it gives, when root; else it says how, for $(3), and runs $(4).
debian = $(1) || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing $(2) with apt-get, for $(3)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; \
		else \
			echo "$(3) need $(2): run 'sudo apt-get install $(2)'"; $(4); \
		fi; }

# Debian's chromium for the browser tests: installed when missing and root,
# else explained (the tests skip). With CI=true a browser test that finds
# no Chromium fails.
chromium:
	@$(call debian,command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1,chromium,the browser tests,true)

# PostgreSQL for the tests of several replicas: PLACARD_TEST_DATABASE_URL,
# else a server on 127.0.0.1:5432 (user postgres, trust), else a throwaway
# cluster the tests make with Debian's postgresql (installed when missing
# and root). With CI=true a PostgreSQL test that finds none fails.
postgresql:
	@$(call debian,test -n "$$PLACARD_TEST_DATABASE_URL" || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1,postgresql,the PostgreSQL tests,true)

# Debian's mosquitto, the MQTT broker the light keys' tests start on a
# loopback port of their own: installed when missing and root, else
# explained (the tests skip). With CI=true an MQTT test that finds no
# broker fails.
mosquitto:
	@$(call debian,{ command -v mosquitto >/dev/null 2>&1 || test -x /usr/sbin/mosquitto; } && command -v mosquitto_sub >/dev/null 2>&1,mosquitto mosquitto-clients,the MQTT tests and the docs test,true)

# curl, with which the docs test runs the README's and docs' commands as a
# person types them.
curl:
	@$(call debian,command -v curl >/dev/null 2>&1,curl,the docs test's commands,true)

# Node.js runs the Wasm tests (GOOS=js), as Go's go_js_wasm_exec does.
node:
	@$(call debian,command -v node >/dev/null 2>&1,nodejs,the Wasm tests,exit 1)

# axe-core, which the accessibility tests inject into the screen's page:
# from the npm registry into a git-ignored cache, at a pinned version.
# With CI=true a test that finds no axe-core fails; otherwise it skips.
AXE_VERSION := 4.11.1
AXE         := .cache/axe/node_modules/axe-core/axe.min.js
axe: $(AXE)
$(AXE):
	@$(call debian,command -v npm >/dev/null 2>&1,npm,the accessibility tests,exit 0); \
		echo "installing axe-core@$(AXE_VERSION) from the npm registry into .cache/axe, for the accessibility tests"; \
		mkdir -p .cache/axe && npm install --silent --no-audit --no-fund --prefix .cache/axe axe-core@$(AXE_VERSION) >/dev/null

# acorn, with which a test parses the screen's fallback script as
# ECMAScript 5 (old TVs run nothing newer): from the npm registry into the
# git-ignored cache, at a pinned version. With CI=true a test that finds no
# acorn fails; otherwise it skips.
ACORN_VERSION := 8.15.0
ACORN         := .cache/acorn/node_modules/acorn/dist/acorn.js
acorn: $(ACORN)
$(ACORN):
	@$(call debian,command -v npm >/dev/null 2>&1,npm,the ES5 check,exit 0); \
		echo "installing acorn@$(ACORN_VERSION) from the npm registry into .cache/acorn, for the ES5 check"; \
		mkdir -p .cache/acorn && npm install --silent --no-audit --no-fund --prefix .cache/acorn acorn@$(ACORN_VERSION) >/dev/null

# standardwebhooks, the library a receiver verifies placard's webhooks
# with, which a test runs on a real delivery: from the npm registry into
# the git-ignored cache, at a pinned version. With CI=true a test that
# finds no standardwebhooks fails; otherwise it skips.
STANDARDWEBHOOKS_VERSION := 1.3.0
STANDARDWEBHOOKS         := .cache/standardwebhooks/node_modules/standardwebhooks/package.json
standardwebhooks: $(STANDARDWEBHOOKS)
$(STANDARDWEBHOOKS):
	@$(call debian,command -v npm >/dev/null 2>&1,npm,the webhook check,exit 0); \
		echo "installing standardwebhooks@$(STANDARDWEBHOOKS_VERSION) from the npm registry into .cache/standardwebhooks, for the webhook check"; \
		mkdir -p .cache/standardwebhooks && npm install --silent --no-audit --no-fund --prefix .cache/standardwebhooks standardwebhooks@$(STANDARDWEBHOOKS_VERSION) >/dev/null

## screenshots: every state of the screen at TV, portrait and tablet sizes, from the sandbox, into web/screenshots
screenshots: $(WASM_BR) chromium axe
	PLACARD_SCREENSHOTS=$(CURDIR)/web/screenshots $(GO) test -count=1 -run '^(TestScreenshots|TestARoomsPanelShowsItsStatusAndActsAsTheRoom)$$' -v ./server/cmd/placard

clean:
	rm -rf bin $(DIST) $(WASM) web/wasm/app.wasm web/wasm/app.wasm.br web/wasm/app.wasm.size web/wasm/app.wasm.gz
