package sandbox

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The demo page, /sandbox/: for a person running the demo, what the
// sandbox knows and its switches, as plain HTML forms that post to the
// server (the Content-Security-Policy allows no script and no inline
// style). Each form answers with a redirect back to the page.
var demoTmpl = template.Must(template.New("demo").Funcs(template.FuncMap{
	"clock": func(t time.Time) string { return t.Format("Mon 2 Jan 15:04:05 MST") },
	"until": func(now, t time.Time) string {
		if !now.Before(t) {
			return "expired"
		}
		d := t.Sub(now).Round(time.Second)
		return fmt.Sprintf("%d:%02d left", int(d.Minutes()), int(d.Seconds())%60)
	},
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox · placard</title>
<link rel="stylesheet" href="/sandbox/sandbox.css">
</head>
<body>
<main class="card wide" data-testid="sandbox">
<p class="brand">placard sandbox · an emulated Microsoft Entra ID tenant and Microsoft Graph</p>
<h1>Sandbox</h1>
{{- if .Error}}
<p class="problem" role="alert" data-testid="sandbox-error">{{.Error}}</p>
{{- end}}
<p>Sign a screen in on the <a href="/sandbox/devicelogin">phone page</a>. <a href="/sandbox/">Refresh</a> to see new codes.</p>

<section aria-labelledby="clock-h">
<h2 id="clock-h">Clock</h2>
<p>Sandbox time: <strong data-testid="sandbox-clock" data-now="{{.NowRFC}}">{{clock .Now}}</strong>{{if .Advanced}} ({{.Advanced}} ahead of the real clock){{end}}.
Moving it forward expires codes and tokens as if the time had passed.</p>
<form method="post" action="/sandbox/clock" class="inline">
{{- range .Steps}}
<button type="submit" name="advance" value="{{.Value}}" class="secondary">{{.Label}}</button>
{{- end}}
</form>
</section>

<section aria-labelledby="codes-h">
<h2 id="codes-h">Codes</h2>
{{- if .Codes}}
<table data-testid="sandbox-codes">
<thead><tr><th scope="col">Code</th><th scope="col">Screen</th><th scope="col">State</th><th scope="col">Account</th><th scope="col">Expires</th></tr></thead>
<tbody>
{{- range .Codes}}
<tr data-testid="sandbox-code" data-user-code="{{.UserCode}}" data-state="{{.State}}">
<td><code>{{.UserCode}}</code>{{if eq .State "pending"}} · <a href="/sandbox/devicelogin?code={{.UserCode}}">approve…</a>{{end}}</td>
<td>{{if .Screen}}{{.Screen}}{{else}}—{{end}}</td>
<td><span class="state {{.State}}">{{.State}}</span></td>
<td>{{if .User}}{{.User}}{{else}}—{{end}}</td>
<td>{{until $.Now .ExpiresAt}}</td>
</tr>
{{- end}}
</tbody>
</table>
{{- else}}
<p data-testid="sandbox-codes-empty">No code asked for yet: open a screen.</p>
{{- end}}
</section>

<section aria-labelledby="users-h">
<h2 id="users-h">Users</h2>
<table>
<thead><tr><th scope="col">Account</th><th scope="col">Has</th><th scope="col">Presence</th><th scope="col">Sessions</th></tr></thead>
<tbody>
{{- range .Users}}
<tr data-testid="sandbox-user" data-upn="{{.UPN}}" data-availability="{{.Availability}}" data-activity="{{.Activity}}">
<td><div class="who">{{if .Photo}}<img src="{{.Photo}}" alt="" width="40" height="40">{{else}}<span class="initials" aria-hidden="true">{{.Initials}}</span>{{end}}
<span><strong>{{.DisplayName}}</strong><br><code>{{.UPN}}</code><br><small>{{.TimeZone}}</small></span></div></td>
<td><small>{{if .Mailbox}}mailbox{{else}}no mailbox{{end}} · {{if .Teams}}Teams{{else}}no Teams{{end}}{{if .Room}} · room{{end}}</small></td>
<td>{{if .Teams}}
<form method="post" action="/sandbox/presence" class="inline">
<input type="hidden" name="upn" value="{{.UPN}}">
<label class="visually-hidden" for="av-{{.Key}}">Availability of {{.DisplayName}}</label>
<select id="av-{{.Key}}" name="availability">{{$a := .Availability}}{{range $.Availabilities}}<option{{if eq . $a}} selected{{end}}>{{.}}</option>{{end}}</select>
<label class="visually-hidden" for="ac-{{.Key}}">Activity of {{.DisplayName}}</label>
<select id="ac-{{.Key}}" name="activity">{{$c := .Activity}}{{range $.Activities}}<option{{if eq . $c}} selected{{end}}>{{.}}</option>{{end}}</select>
<button type="submit">Set</button>
</form>{{else}}<small>no presence (no Teams licence)</small>{{end}}</td>
<td><form method="post" action="/sandbox/revoke" class="inline">
<input type="hidden" name="upn" value="{{.UPN}}">
<button type="submit" class="secondary">Revoke sessions</button>
</form>{{if .Revoked}}<small>revoked {{.Revoked}}</small>{{end}}</td>
</tr>
{{- end}}
</tbody>
</table>
</section>

<section aria-labelledby="faults-h">
<h2 id="faults-h">Faults</h2>
<form method="post" action="/sandbox/faults" data-testid="sandbox-faults" data-active="{{.ActiveFaults}}" class="faults">
<label class="check"><input type="checkbox" name="block_device_code"{{if .Faults.BlockDeviceCode}} checked{{end}}> Block device code flow: device codes refused (AADSTS53003), sessions begun with one refused at their next refresh (AADSTS530036); sign-in by QR still works</label>
<label class="check"><input type="checkbox" name="conditional_access_block"{{if .Faults.ConditionalAccessBlock}} checked{{end}}> Conditional Access blocks every sign-in and refresh (AADSTS53003)</label>
<label class="check"><input type="checkbox" name="refuse_reused_refresh_token"{{if .Faults.RefuseReusedRefreshToken}} checked{{end}}> A refresh token used twice ends its session (reuse detection)</label>
<label class="check"><input type="checkbox" name="identity_unreachable"{{if .Faults.IdentityUnreachable}} checked{{end}}> Identity platform unreachable</label>
<label class="check"><input type="checkbox" name="graph_unreachable"{{if .Faults.GraphUnreachable}} checked{{end}}> Graph unreachable</label>
<label class="check"><input type="checkbox" name="graph_server_error"{{if .Faults.GraphServerError}} checked{{end}}> Graph answers 503</label>
<label class="check"><input type="checkbox" name="expire_delta_tokens"{{if .Faults.ExpireDeltaTokens}} checked{{end}}> Expire every calendar delta token issued until now (410 SyncStateNotFound: clients read the calendar again)</label>
<label class="check"><input type="checkbox" name="place_consent_missing"{{if .Faults.PlaceConsentMissing}} checked{{end}}> No administrator consented to Place.Read.All: boards of rooms cannot sign in (AADSTS90094)</label>
<label for="graph_throttle_seconds">Graph throttles (429) with Retry-After, seconds (0: off)</label>
<input id="graph_throttle_seconds" name="graph_throttle_seconds" type="number" min="0" max="3600" value="{{.Faults.GraphThrottleSeconds}}">
<label for="latency_ms">Every answer is slower by, milliseconds</label>
<input id="latency_ms" name="latency_ms" type="number" min="0" max="60000" value="{{.Faults.LatencyMS}}">
<div class="actions"><button type="submit">Apply faults</button></div>
</form>
</section>

<section aria-labelledby="app-h">
<h2 id="app-h">Application</h2>
<dl class="facts">
<dt>Client id</dt><dd><code data-testid="sandbox-client-id">{{.App.ClientID}}</code></dd>
<dt>Tenant</dt><dd><code>{{.App.TenantID}}</code> · <code>{{.App.TenantDomain}}</code></dd>
<dt>Redirect URIs</dt><dd>{{range $i, $u := .App.RedirectURIs}}{{if $i}} · {{end}}<code data-testid="sandbox-redirect-uri">{{$u}}</code>{{end}} (loopback ones on any port)</dd>
{{- if .App.Listener}}
<dt>Listener</dt><dd><code data-testid="sandbox-listener">{{.App.Listener}}</code> (authority <code>{{.App.Listener}}/{{.App.TenantID}}</code>, Graph <code>{{.App.Listener}}/v1.0</code>)</dd>
<dt>Its certificate</dt><dd><code>{{.CertFile}}</code></dd>
{{- else}}
<dt>Listener</dt><dd>off: start placard with <code>-sandbox-addr 127.0.0.1:9443</code> to reach this tenant from other clients.</dd>
{{- end}}
</dl>
</section>
</main>
</body>
</html>
`))

// clockStep is a clock button of the demo page.
type clockStep struct{ Value, Label string }

// clockSteps go as far as the lifetimes that matter: a code's 15 minutes,
// an access token's hour or so, a refresh token's 90 days.
var clockSteps = []clockStep{{"5m", "+5 min"}, {"15m", "+15 min"}, {"1h", "+1 hour"}, {"24h", "+1 day"}, {"2160h", "+90 days"}}

type demoUser struct {
	UserInfo
	Key, Initials, Revoked string
	Photo                  template.URL
}

type demoView struct {
	Now                        time.Time
	NowRFC, Advanced           string
	Steps                      []clockStep
	Codes                      []CodeInfo
	Users                      []demoUser
	Availabilities, Activities []string
	Faults                     Faults
	ActiveFaults               string // the switches on, by their JSON names
	App                        AppInfo
	CertFile, Error            string
}

// demoPage is GET /sandbox/.
func (s *Sandbox) demoPage(w http.ResponseWriter, r *http.Request) {
	s.renderDemo(w, http.StatusOK, "")
}

func (s *Sandbox) renderDemo(w http.ResponseWriter, status int, problem string) {
	s.mu.Lock()
	now, offset := s.now(), s.offset
	photos := map[string]func() []byte{}
	for _, u := range s.users {
		photos[u.UPN] = u.photo
	}
	var certFile string
	if s.listener != nil {
		certFile = s.listener.CertFile
	}
	s.mu.Unlock()
	v := demoView{
		Now: now, NowRFC: now.Format(time.RFC3339), Steps: clockSteps, Codes: s.Codes(),
		Availabilities: availabilities, Activities: activities, Faults: s.Faults(), App: s.App(),
		CertFile: certFile, Error: problem,
	}
	if offset > 0 {
		v.Advanced = offset.String()
	}
	v.ActiveFaults = activeFaults(v.Faults)
	for i, u := range s.Users() {
		du := demoUser{UserInfo: u, Key: strconv.Itoa(i), Initials: initials(u.DisplayName)}
		if p := photos[u.UPN]; p != nil {
			// The sandbox's own PNG, as Graph serves it: a data: URL
			// (the CSP allows img-src data:).
			du.Photo = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(p()))
		}
		if !u.RevokedAt.IsZero() {
			du.Revoked = u.RevokedAt.Format("2 Jan 15:04")
		}
		v.Users = append(v.Users, du)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	demoTmpl.Execute(w, v)
}

func initials(name string) string {
	var b strings.Builder
	for _, f := range strings.Fields(name) {
		b.WriteString(strings.ToUpper(f[:1]))
		if b.Len() == 2 {
			break
		}
	}
	return b.String()
}

// back answers a form with a redirect to the demo page (post, redirect,
// get: a reload does not post again).
func back(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/sandbox/", http.StatusSeeOther)
}

// formFaults is the demo page's fault switches: unchecked boxes are off.
func (s *Sandbox) formFaults(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderDemo(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	f := Faults{
		ConditionalAccessBlock: r.PostForm.Has("conditional_access_block"),
		BlockDeviceCode:        r.PostForm.Has("block_device_code"),
		IdentityUnreachable:    r.PostForm.Has("identity_unreachable"),
		GraphUnreachable:       r.PostForm.Has("graph_unreachable"),
		GraphServerError:       r.PostForm.Has("graph_server_error"),
		ExpireDeltaTokens:      r.PostForm.Has("expire_delta_tokens"),
		PlaceConsentMissing:    r.PostForm.Has("place_consent_missing"),

		RefuseReusedRefreshToken: r.PostForm.Has("refuse_reused_refresh_token"),
	}
	for name, p := range map[string]*int{"graph_throttle_seconds": &f.GraphThrottleSeconds, "latency_ms": &f.LatencyMS} {
		v := strings.TrimSpace(r.PostForm.Get(name))
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			s.renderDemo(w, http.StatusBadRequest, fmt.Sprintf("%s %q is not a whole number.", name, v))
			return
		}
		*p = n
	}
	if bad := checkFaults(f); bad != "" {
		s.renderDemo(w, http.StatusBadRequest, bad+".")
		return
	}
	s.SetFaults(f)
	back(w, r)
}

func (s *Sandbox) formPresence(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderDemo(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	if err := s.SetPresence(r.PostForm.Get("upn"), r.PostForm.Get("availability"), r.PostForm.Get("activity")); err != nil {
		s.renderDemo(w, http.StatusBadRequest, "Presence not set: "+err.Error()+".")
		return
	}
	back(w, r)
}

func (s *Sandbox) formRevoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderDemo(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	if err := s.Revoke(r.PostForm.Get("upn")); err != nil {
		s.renderDemo(w, http.StatusBadRequest, "Sessions not revoked: "+err.Error()+".")
		return
	}
	back(w, r)
}

func (s *Sandbox) formClock(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderDemo(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	step := r.PostForm.Get("advance")
	if !slices.ContainsFunc(clockSteps, func(c clockStep) bool { return c.Value == step }) {
		s.renderDemo(w, http.StatusBadRequest, fmt.Sprintf("The clock moves by the page's steps only, not %q.", url.QueryEscape(step)))
		return
	}
	d, _ := time.ParseDuration(step)
	s.Advance(d)
	back(w, r)
}

// activeFaults names the switches that are on, as the control API does.
func activeFaults(f Faults) string {
	var on []string
	for name, set := range map[string]bool{
		"conditional_access_block": f.ConditionalAccessBlock, "block_device_code": f.BlockDeviceCode,
		"identity_unreachable": f.IdentityUnreachable,
		"graph_unreachable":    f.GraphUnreachable, "graph_server_error": f.GraphServerError,
		"graph_throttle_seconds": f.GraphThrottleSeconds > 0, "latency_ms": f.LatencyMS > 0,
		"refuse_reused_refresh_token": f.RefuseReusedRefreshToken,
		"expire_delta_tokens":         f.ExpireDeltaTokens, "place_consent_missing": f.PlaceConsentMissing,
	} {
		if set {
			on = append(on, name)
		}
	}
	slices.Sort(on)
	return strings.Join(on, " ")
}
