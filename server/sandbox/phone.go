package sandbox

import (
	_ "embed"
	"html/template"
	"net"
	"net/http"
	"time"

	"github.com/placard/placard/server/limit"
)

//go:embed sandbox.css
var sandboxCSS []byte

// Wrong-code lockout: RFC 8628 §5.1 asks the verification page to
// rate-limit guesses; a client address with maxGuesses wrong codes in the
// last lockWindow is refused until the oldest leaves the window.
var guessRate = limit.Rate{Max: 5, Per: 15 * time.Minute}

// signInFrame is what the sandbox's sign-in pages (the device-code phone
// page and the authorize page) share: their top and the choice of a demo
// user.
var signInFrame = template.Must(template.New("frame").Parse(`{{define "top"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · placard sandbox</title>
<link rel="stylesheet" href="/sandbox/sandbox.css">
</head>
<body>
<main class="card">
<p class="brand">placard sandbox · emulated Microsoft sign-in</p>{{end}}
{{- define "users"}}<label for="user">Sign in as</label>
<select id="user" name="user">
{{- range .Users}}
<option value="{{.UPN}}">{{.DisplayName}} · {{.UPN}}</option>
{{- end}}
</select>{{end}}`))

// signInPage parses a sign-in page that uses signInFrame's parts.
func signInPage(name, text string) *template.Template {
	return template.Must(template.Must(signInFrame.Clone()).New(name).Parse(text))
}

var phoneTmpl = signInPage("phone", `{{template "top"}}
{{- if .Outcome}}
<section data-testid="approval-result" data-outcome="{{.Outcome}}" class="result {{.Outcome}}">
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{- if .ErrorCode}}
<p class="code-for-it">Error Code: <span data-testid="approval-error-code">{{.ErrorCode}}</span></p>
{{- end}}
</section>
<p><a href="/sandbox/devicelogin">Enter another code</a></p>
{{- else}}
<h1>Sign in to a screen</h1>
{{- if .Screen}}
<p class="asker">This code was asked for by <strong data-testid="code-screen">{{.Screen}}</strong>. Approve only if you can see that screen.</p>
{{- else}}
<p class="asker">Enter the code shown on the screen. Approve only if you can see that screen: someone who sends you a code is asking for your account.</p>
{{- end}}
<form method="post" action="/sandbox/devicelogin">
<label for="user_code">Code</label>
<input id="user_code" name="user_code" value="{{.Code}}" autocomplete="off" autocapitalize="characters" spellcheck="false" required>
{{template "users" .}}
<div class="actions">
<button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="decline" class="secondary">Decline</button>
</div>
</form>
{{- end}}
</main>
</body>
</html>
`)

// serveCSS serves the sandbox's pages' stylesheet.
func serveCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(sandboxCSS)
}

type phonePage struct {
	Code, Screen            string
	Users                   []*user
	Outcome, Title, Message string
	ErrorCode               string
}

// devicelogin is the phone page: GET shows the form (with ?code= filled
// in), POST approves or declines.
func (s *Sandbox) devicelogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if r.Method == http.MethodGet {
		code := r.URL.Query().Get("code")
		s.mu.Lock()
		page := phonePage{Code: code, Users: s.sortedUsers()}
		if g := s.lookup(code); g != nil && code != "" {
			page.Screen = g.screen
		}
		s.mu.Unlock()
		phoneTmpl.Execute(w, page)
		return
	}
	if err := r.ParseForm(); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		phoneTmpl.Execute(w, phonePage{Outcome: OutcomeInvalid, Title: "That did not work", Message: "The form could not be read. Go back and try again."})
		return
	}
	action := r.PostForm.Get("action")
	if action != "approve" && action != "decline" {
		w.WriteHeader(http.StatusBadRequest)
		phoneTmpl.Execute(w, phonePage{Outcome: OutcomeInvalid, Title: "That did not work", Message: "Choose Approve or Decline."})
		return
	}
	addr := limit.ClientKey(clientAddr(r))
	outcome, screen, until := s.tryCode(addr, r.PostForm.Get("user_code"), r.PostForm.Get("user"), action == "approve")
	if outcome == OutcomeLocked {
		w.WriteHeader(http.StatusTooManyRequests)
		phoneTmpl.Execute(w, phonePage{Outcome: OutcomeLocked, Title: "Too many wrong codes",
			Message: "For safety, codes from this device are refused until " + until.Format("15:04") + ". Check the code on the screen and try again then."})
		return
	}
	page := phonePage{Outcome: outcome}
	where := "the screen"
	if screen != "" {
		where = screen
	}
	switch outcome {
	case OutcomeApproved:
		page.Title, page.Message = "You're signed in", where+" is signing in. You can close this page."
	case OutcomeDeclined:
		page.Title, page.Message = "Sign-in declined", "Nobody was signed in. "+where+" will show a new code."
	case OutcomeExpired:
		page.Title, page.Message = "That code has expired", "Use the new code that "+where+" shows."
	case OutcomeUsed:
		page.Title, page.Message = "That code was already used", "Each code works once. Use the code the screen shows now."
	case OutcomeBlocked:
		// The words of the platform's own page for a sign-in that
		// Conditional Access refuses, with its error code for IT.
		w.WriteHeader(http.StatusForbidden)
		page.Title = "You cannot access this right now"
		page.Message = "Your sign-in was successful but does not meet the criteria to access this resource: your organisation's Conditional Access policy blocks signing in with a code on " + where + "."
		page.ErrorCode = "53003"
	case OutcomeConsent:
		// The words of the platform's page for a permission only an
		// administrator can grant, with its error code for IT.
		w.WriteHeader(http.StatusForbidden)
		page.Title = "Need admin approval"
		page.Message = appDisplayName + " needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it."
		page.ErrorCode = "90094"
	case OutcomeInvalid:
		w.WriteHeader(http.StatusBadRequest)
		if screen != "" {
			page.Title, page.Message = "Pick who signs in", "Choose one of the accounts in the list."
			break
		}
		page.Title, page.Message = "That code is not right", "Check the code on the screen and try again."
	default:
		w.WriteHeader(http.StatusBadRequest)
		page.Title, page.Message = "That code is not right", "Check the code on the screen and try again."
	}
	phoneTmpl.Execute(w, page)
}

// tryCode approves or declines a code typed on the phone page from addr,
// unless addr is locked out. Only a code nobody issued is a wrong guess
// (RFC 8628 §5.1): a right code never counts, so that several people
// approving screens at once from one address (a building's NAT) are never
// locked out by each other. A locked-out address is refused whatever it
// types, right codes included, so that the lockout tells a guesser
// nothing.
func (s *Sandbox) tryCode(addr, userCode, upn string, approve bool) (outcome, screen string, until time.Time) {
	s.mu.Lock()
	issued := s.lookup(userCode) != nil
	s.mu.Unlock()
	// The limiter reads the sandbox's clock, which takes s.mu: it is
	// asked with s.mu released.
	check := s.guesses.Check
	if !issued {
		check = s.guesses.Allow
	}
	if ok, until := check(addr); !ok {
		return OutcomeLocked, "", until
	}
	outcome, screen = s.act(userCode, upn, approve)
	if issued && outcome == OutcomeInvalid && screen == "" {
		// The code was forgotten meanwhile: nobody issued it now.
		s.guesses.Allow(addr)
	}
	return outcome, screen, time.Time{}
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
