package demo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/openkyc/kyc/console"
	"github.com/openkyc/kyc/httpadapter"
)

// The demo console's session cookie.
const (
	consolePrefix  = "/console"
	sessionCookie  = "openkyc_console"
	sessionTTL     = 8 * time.Hour
	maxLoginFormSz = 4 << 10
)

// sessions is the demo's admin sign-in for the console: a login form
// exchanges an admin token for an HttpOnly, SameSite=Strict cookie holding
// the admin's principal and an expiry, signed with HMAC-SHA256 under a key
// made at start (signing in again after a restart is the demo's price).
type sessions struct {
	key    []byte
	tokens httpadapter.Authenticator
	now    func() time.Time
	secure bool
}

// sessionClaims is the cookie's signed payload.
type sessionClaims struct {
	AdminID int64    `json:"a"`
	Tags    []string `json:"t,omitempty"`
	Scoped  bool     `json:"s,omitempty"`
	Expires int64    `json:"e"`
}

func (s *sessions) sign(c sessionClaims) string {
	payload, _ := json.Marshal(c)
	mac := hmac.New(sha256.New, s.key)
	mac.Write(payload)
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// Authenticate implements httpadapter.Authenticator over the cookie.
func (s *sessions) Authenticate(r *http.Request) (httpadapter.Principal, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return httpadapter.Principal{}, httpadapter.ErrNoCredentials
	}
	p64, m64, ok := strings.Cut(ck.Value, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	sum, err2 := base64.RawURLEncoding.DecodeString(m64)
	if !ok || err1 != nil || err2 != nil {
		return httpadapter.Principal{}, httpadapter.ErrCredentialsInvalid
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write(payload)
	if !hmac.Equal(sum, mac.Sum(nil)) {
		return httpadapter.Principal{}, httpadapter.ErrCredentialsInvalid
	}
	var c sessionClaims
	if json.Unmarshal(payload, &c) != nil || c.AdminID <= 0 {
		return httpadapter.Principal{}, httpadapter.ErrCredentialsInvalid
	}
	if s.now().Unix() >= c.Expires {
		return httpadapter.Principal{}, httpadapter.ErrCredentialsExpired
	}
	p := httpadapter.Principal{Credential: httpadapter.Admin, AdminID: c.AdminID}
	if c.Scoped {
		p.AdminTags = append([]string{}, c.Tags...)
	}
	return p, nil
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · openkyc console</title>
<link rel="stylesheet" href="{{.Prefix}}/static/console.css"></head>
<body><a class="skip" href="#main">Skip to content</a>
<main id="main"><h1>openkyc review console</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Prefix}}/login" class="login">
<input type="hidden" name="next" value="{{.Next}}">
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="off" required autofocus>
<button type="submit" id="sign-in">Sign in</button>
</form>
<p class="hint">Demo: use demo-admin-token (every client) or demo-admin-eu-token (clients tagged eu).</p>
</main></body></html>`))

// login serves the sign-in form and exchanges an admin token for the
// session cookie.
func (s *sessions) login(w http.ResponseWriter, r *http.Request) {
	next := r.FormValue("next")
	if !strings.HasPrefix(next, consolePrefix+"/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		next = consolePrefix + "/"
	}
	show := func(status int, msg string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		_ = loginPage.Execute(w, struct{ Prefix, Next, Error string }{consolePrefix, next, msg})
	}
	if r.Method == http.MethodGet {
		show(http.StatusOK, "")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginFormSz)
	token := r.PostFormValue("token")
	probe, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, "/", nil)
	probe.Header.Set("Authorization", "Bearer "+token)
	p, err := s.tokens.Authenticate(probe)
	if token == "" || err != nil || p.Credential != httpadapter.Admin {
		show(http.StatusUnauthorized, "That is not an admin token.")
		return
	}
	c := sessionClaims{AdminID: p.AdminID, Tags: p.AdminTags, Scoped: p.AdminTags != nil, Expires: s.now().Add(sessionTTL).Unix()}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: s.sign(c), Path: consolePrefix, MaxAge: int(sessionTTL / time.Second),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout clears the session cookie.
func (s *sessions) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: consolePrefix, MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, consolePrefix+"/login", http.StatusSeeOther)
}

// mountConsole serves the console and its sign-in at /console/.
func mountConsole(mux *http.ServeMux, c *console.Console, s *sessions) {
	cop := http.NewCrossOriginProtection()
	headers := func(h http.HandlerFunc) http.Handler {
		return cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", console.ContentSecurityPolicy)
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("X-Frame-Options", "DENY")
			h(w, r)
		}))
	}
	mux.Handle("GET "+consolePrefix+"/login", headers(s.login))
	mux.Handle("POST "+consolePrefix+"/login", headers(s.login))
	mux.Handle("POST "+consolePrefix+"/logout", headers(s.logout))
	c.Register(mux, consolePrefix)
}
