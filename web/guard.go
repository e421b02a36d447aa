package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Guard returns h behind the access rules of a job's HTTP surface
// (numbered as in the package doc):
//
//  1. A request with a method other than GET, HEAD and OPTIONS is a
//     mutation: a browser's cross-origin one (Sec-Fetch-Site, or an
//     Origin that is not the Host) is refused with 403, and one with a
//     Content-Type other than application/json, or a body without a
//     Content-Type, with 415.
//  2. With token set, a mutation, any request under /debug/pprof/ and a
//     CPU profile of /api/profile need the header "Authorization: Bearer
//     <token>"; without it, or with another token, the answer is 401.
//  3. With token set, a GET or HEAD elsewhere needs the same header, or
//     the cookie that opening any URL once with ?token=<token> sets
//     (HttpOnly, SameSite=Strict, Secure over TLS); that request is
//     redirected to the same URL without the token, so that it leaves
//     the browser's address bar and history.
//  4. Without a token, a request that reached the server on a loopback
//     address must name a loopback host (localhost, 127.0.0.1, [::1]) in
//     its Host header, else 403: a web page whose name was re-pointed at
//     127.0.0.1 (DNS rebinding) cannot drive the job. A server on another
//     address without a token behaves as before.
//
// Tokens are compared in constant time. The token never appears in an
// answer, a log line or an error; the cookie holds a value derived from it
// that opens only rule 3's pages. An empty token serves every request
// that passes rules 1 and 4.
func Guard(h http.Handler, token string) http.Handler {
	g := &guard{next: h, token: token, cross: http.NewCrossOriginProtection()}
	if token != "" {
		mac := hmac.New(sha256.New, []byte(token))
		mac.Write([]byte("weir web cookie v1"))
		g.cookie = hex.EncodeToString(mac.Sum(nil))
	}
	return g
}

type guard struct {
	next   http.Handler
	token  string
	cookie string // the cookie's value: derived from token, never token itself
	cross  *http.CrossOriginProtection
}

// tokenParam is the query parameter that opens pages with the token once.
const tokenParam = "token"

// openPaths answer without a token: health checks that say nothing of
// the job but whether it is alive and ready (kubelet's probes carry no
// secret).
var openPaths = map[string]bool{"/healthz": true, "/readyz": true}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if openPaths[r.URL.Path] && r.Method == http.MethodGet {
		g.next.ServeHTTP(w, r)
		return
	}
	if g.token == "" && !loopbackHost(r) {
		writeError(w, http.StatusForbidden, "web: this server listens on loopback and answers only requests addressed to localhost, 127.0.0.1 or [::1]: open it by one of those names, or serve it with a token (--http-token) to reach it by another")
		return
	}
	mutation := r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions
	sensitive := mutation || strings.HasPrefix(r.URL.Path, "/debug/pprof/") || r.URL.Path == "/api/profile"
	if g.token != "" {
		switch {
		case g.bearer(r):
		case sensitive:
			g.unauthorized(w, "web: this endpoint needs the job's token: send the header Authorization: Bearer TOKEN (weir savepoint and weir stop send --http-token or $WEIR_HTTP_TOKEN)")
			return
		case r.URL.Query().Has(tokenParam):
			g.login(w, r)
			return
		case g.hasCookie(r):
		default:
			g.unauthorized(w, "web: this page needs the job's token: open it once as URL?token=TOKEN (a cookie keeps you in), or send the header Authorization: Bearer TOKEN")
			return
		}
	}
	if mutation {
		if err := g.cross.Check(r); err != nil {
			writeError(w, http.StatusForbidden, "web: cross-origin request refused: a job is driven only from its own pages or from tools that send no Origin header, such as weir savepoint and curl")
			return
		}
		if msg := checkContentType(r); msg != "" {
			writeError(w, http.StatusUnsupportedMediaType, msg)
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

// bearer reports whether r carries the token in its Authorization header.
func (g *guard) bearer(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	scheme, given, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(given)), []byte(g.token)) == 1
}

func (g *guard) hasCookie(r *http.Request) bool {
	c, err := r.Cookie(cookieName(r))
	return err == nil && subtle.ConstantTimeCompare([]byte(c.Value), []byte(g.cookie)) == 1
}

// login checks ?token=, sets the cookie and redirects to the URL without
// the token.
func (g *guard) login(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	given := q.Get(tokenParam)
	q.Del(tokenParam)
	if subtle.ConstantTimeCompare([]byte(given), []byte(g.token)) != 1 {
		g.unauthorized(w, "web: the token in the URL is not this job's: open the URL again with ?token= and the token the job was started with (--http-token or $WEIR_HTTP_TOKEN)")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName(r), Value: g.cookie, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	to := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	if to.Path == "" {
		to.Path = "/"
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, to.String(), http.StatusSeeOther)
}

func (g *guard) unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="weir"`)
	writeError(w, http.StatusUnauthorized, msg)
}

// cookieName is per port: browsers share cookies between the ports of a
// host, and two jobs on one machine have two tokens.
func cookieName(r *http.Request) string {
	_, port, err := net.SplitHostPort(r.Host)
	if err != nil || port == "" {
		return "weir_token"
	}
	return "weir_token_" + port
}

// checkContentType returns why the body of a mutation is refused, or "".
// A body must be JSON; a request without a body may omit Content-Type.
func checkContentType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		if r.ContentLength == 0 {
			return ""
		}
		return "web: a request body needs Content-Type: application/json"
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return "web: Content-Type " + quoteShort(ct) + " refused: send application/json, or no body"
	}
	return ""
}

// quoteShort quotes a header value for an error, cut to a sane length.
func quoteShort(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}

// loopbackHost reports whether r is addressed to a loopback name, or did
// not reach the server on a loopback address (see Guard's rule 4).
func loopbackHost(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return true
	}
	if tcp, ok := local.(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
