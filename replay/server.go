package replay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultMaxBody is the default cap, in bytes, on a body once its
// content-coding is removed.
const DefaultMaxBody = 256 << 20

// Content-Security-Policy values. Archived pages may run their scripts and
// inline styles, but may load, connect to, frame and post to nothing but
// the replay origin, whose every URL is an archived capture or one of
// amber's own pages. amber's own pages need no script at all.
const (
	cspArchived = "default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:; " +
		"form-action 'self'; base-uri 'self'; frame-ancestors 'self'"
	// The raw (id_) view is inert: no scripts, no forms, no plugins.
	cspRaw = cspArchived + "; sandbox allow-same-origin"
	cspOwn = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; " +
		"form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)

// Options tune a Server. The zero value serves without a banner.
type Options struct {
	// Banner inserts, at the top of each archived page, a small notice that
	// it is an archived copy, from when, with links to the capture list and
	// the raw capture. `amber replay` turns it on. A reader can still ask
	// for a page without it with the if_ modifier (/web/TSif_/URL).
	Banner bool

	// Now is the clock, used for ages ("3 days ago") and the front page's
	// cache; nil means time.Now.
	Now func() time.Time

	// MaxBody caps a body once its content-coding (gzip, br, ...) is
	// removed, so that a decompression bomb in the archive costs at most
	// this much memory per request; 0 means DefaultMaxBody.
	MaxBody int64

	// Logf, if set, receives errors the reader only sees as a 500 page
	// (a damaged store, a body that cannot be read).
	Logf func(format string, args ...any)

	// SummaryTTL is how long the front page's summary (sites, article
	// count, newest captures: a scan of every capture) is reused; 0 means
	// one minute.
	SummaryTTL time.Duration
}

// Server serves an archive over HTTP as a Wayback-style replay: see the
// package documentation for its URLs. It is an http.Handler, safe for
// concurrent use, and keeps no per-capture state between requests.
type Server struct {
	src  Source
	opts Options

	sumMu   sync.Mutex
	sum     *summary
	sumTime time.Time
}

// New returns a Server reading captures from src.
func New(src Source, opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.SummaryTTL <= 0 {
		opts.SummaryTTL = time.Minute
	}
	return &Server{src: src, opts: opts}
}

// ServeHTTP routes a request. Only GET and HEAD are answered: replay
// changes nothing.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.errorPage(w, r, http.StatusMethodNotAllowed, "Method not allowed", "amber's replay only reads the archive.")
		return
	}
	uri := requestURI(r)
	path := r.URL.Path
	switch {
	case strings.HasPrefix(uri, "/web/"):
		s.serveWeb(w, r, uri[len("/web/"):])
	case strings.HasPrefix(uri, "/timemap/link/"):
		s.serveTimeMap(w, r, uri[len("/timemap/link/"):], false)
	case strings.HasPrefix(uri, "/timemap/json/"):
		s.serveTimeMap(w, r, uri[len("/timemap/json/"):], true)
	case path == "/":
		s.serveIndex(w, r)
	case path == "/cdx":
		s.serveCDX(w, r)
	case path == "/search":
		s.serveSearch(w, r)
	default:
		if s.refererFallback(w, r, uri) {
			return
		}
		s.errorPage(w, r, http.StatusNotFound, "Not found",
			"This server replays archived pages under /web/; see the front page for what the archive holds.")
	}
}

// requestURI returns the request target as sent (path and query, escapes
// kept), which is where the archived URL is read from.
func requestURI(r *http.Request) string {
	uri := r.RequestURI
	if uri == "" || !strings.HasPrefix(uri, "/") {
		uri = r.URL.RequestURI()
	}
	return uri
}

// serveWeb answers /web/...: a memento, the TimeGate, or a capture list.
func (s *Server) serveWeb(w http.ResponseWriter, r *http.Request, rest string) {
	t, err := parseReplayURL(rest)
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	switch t.Kind {
	case kindList:
		s.serveList(w, r, t)
	case kindLatest:
		s.serveTimeGate(w, r, t)
	default:
		s.serveMemento(w, r, t)
	}
}

// fail answers 500 (or nothing, when the reader went away) for an error
// reading the archive.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) || r.Context().Err() != nil {
		return
	}
	if s.opts.Logf != nil {
		s.opts.Logf("replay %s: %v", r.URL.Path, err)
	}
	s.errorPage(w, r, http.StatusInternalServerError, "The archive could not be read", err.Error())
}

// refererFallback catches a root-relative request made by an archived
// page's script (fetch("/api/x"), which no server-side rewriting sees): the
// Referer names the archived page, so the request is sent to the same
// path on the archived page's site, at its time. It reports whether it
// answered.
func (s *Server) refererFallback(w http.ResponseWriter, r *http.Request, uri string) bool {
	ref := r.Header.Get("Referer")
	if ref == "" {
		return false
	}
	prefix := "http://" + r.Host + "/web/"
	if r.TLS != nil {
		prefix = "https://" + r.Host + "/web/"
	}
	if !strings.HasPrefix(ref, prefix) {
		return false
	}
	t, err := parseReplayURL(ref[len(prefix):])
	if err != nil || t.Kind != kindMemento {
		return false
	}
	i := strings.Index(t.URL, "://") + 3
	end := strings.IndexAny(t.URL[i:], "/?")
	if end < 0 {
		end = len(t.URL) - i
	}
	origin := t.URL[:i+end]
	redirect(w, r, "/web/"+t.TS+"/"+origin+uri, http.StatusTemporaryRedirect)
	return true
}

// baseURL is the absolute URL of the replay origin, for Memento links.
func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// humanTime formats a capture time for people.
func humanTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// humanTS formats a requested timestamp to its own precision.
func humanTS(ts string, t time.Time) string {
	switch {
	case len(ts) <= 4:
		return t.Format("2006")
	case len(ts) <= 6:
		return t.Format("January 2006")
	case len(ts) <= 8:
		return t.Format("2 January 2006")
	}
	return humanTime(t)
}

// humanDelta says how far apart two times are: "3 days later".
func humanDelta(from, to time.Time) string {
	d := to.Sub(from)
	dir := "later"
	if d < 0 {
		d, dir = -d, "earlier"
	}
	var n int64
	var unit string
	switch {
	case d < time.Minute:
		n, unit = int64(d/time.Second), "second"
	case d < time.Hour:
		n, unit = int64(d/time.Minute), "minute"
	case d < 48*time.Hour:
		n, unit = int64(d/time.Hour), "hour"
	case d < 60*24*time.Hour:
		n, unit = int64(d/(24*time.Hour)), "day"
	case d < 2*365*24*time.Hour:
		n, unit = int64(d/(30*24*time.Hour)), "month"
	default:
		n, unit = int64(d/(365*24*time.Hour)), "year"
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s %s", n, unit, dir)
}

// redirect answers with a redirect to loc, a path on this server, as given:
// unlike http.Redirect it does not clean the path, which would fold the
// "//" of an archived URL.
func redirect(w http.ResponseWriter, r *http.Request, loc string, code int) {
	h := w.Header()
	h.Set("Location", loc)
	if h.Get("Content-Security-Policy") == "" {
		h.Set("Content-Security-Policy", cspOwn)
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		fmt.Fprintf(w, "%d %s: %s\n", code, http.StatusText(code), loc)
	}
}
