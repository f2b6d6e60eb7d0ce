package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestInfoPrefersStampedValuesThenTheToolchainsThenSaysItDoesNotKnow(t *testing.T) {
	vcs := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/placard/placard", Version: "v0.0.0-20260101120000-0123456789ab+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	for _, tc := range []struct {
		name                    string
		version, commit         string
		bi                      *debug.BuildInfo
		wantVersion, wantCommit string
	}{
		{"stamped by the Makefile", "v1.2.0", "fedcba9876543210fedcba9876543210fedcba98", vcs, "v1.2.0", "fedcba9876543210fedcba9876543210fedcba98"},
		{"a bare go build in a checkout", "", "", vcs, "v0.0.0-20260101120000-0123456789ab+dirty", "0123456789abcdef0123456789abcdef01234567-dirty"},
		{"go run or a test", "", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "devel", "unknown"},
		{"no build information at all", "", "", nil, "devel", "unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := from(tc.version, tc.commit, tc.bi)
			if in.Version != tc.wantVersion || in.Commit != tc.wantCommit {
				t.Errorf("got version %q commit %q, want %q and %q", in.Version, in.Commit, tc.wantVersion, tc.wantCommit)
			}
			if in.GoVersion == "" || in.OS == "" || in.Arch == "" {
				t.Errorf("Go version or platform missing: %+v", in)
			}
		})
	}
}
