package replay

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/amberarchive/amber/archive"
)

// at parses a 14-digit timestamp for tests.
func at(t testing.TB, ts string) time.Time {
	t.Helper()
	tm, err := time.Parse(tsLayout, ts)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// capture builds a GET capture of u at ts from a raw response ("HTTP/1.1
// 200 OK\r\nHeader: v\r\n\r\nbody").
func capture(t testing.TB, u, ts, raw string) *archive.Capture {
	t.Helper()
	head, body, ok := strings.Cut(raw, "\r\n\r\n")
	if !ok {
		t.Fatalf("response of %s has no blank line", u)
	}
	status, err := strconv.Atoi(strings.Fields(head)[1])
	if err != nil {
		t.Fatal(err)
	}
	c := &archive.Capture{
		URL: u, Method: "GET", Time: at(t, ts),
		Request:      []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		ResponseHead: []byte(head + "\r\n\r\n"), Body: []byte(body), Status: status,
		Reason: archive.ReasonArticle,
	}
	for _, line := range strings.Split(head, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "content-type") {
			c.MIME = mediaType(v)
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "location") {
			c.Location = strings.TrimSpace(v)
		}
	}
	return c
}

// newStore opens a store in a temporary folder holding caps (run 0).
func newStore(t testing.TB, caps ...*archive.Capture) *archive.Store {
	t.Helper()
	st, err := archive.Open(filepath.Join(t.TempDir(), "amber.db"), archive.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if len(caps) > 0 {
		if _, err := st.Commit(context.Background(), 0, archive.Batch{Captures: caps}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func html200(body string) string {
	return "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

func gzipped(t testing.TB, s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.String()
}

func chunked(s string, n int) string {
	var b strings.Builder
	for len(s) > 0 {
		k := min(n, len(s))
		b.WriteString(strconv.FormatInt(int64(k), 16) + "\r\n" + s[:k] + "\r\n")
		s = s[k:]
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

// get runs one request through the handler.
func get(t testing.TB, h http.Handler, target string, hdr ...string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func fixedNow() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

func TestClosestCapture(t *testing.T) {
	const u = "http://cdt.test/page/"
	st := newStore(t,
		capture(t, u, "20160101000000", html200("<p>january</p>")),
		capture(t, u, "20160601000000", html200("<p>june</p>")),
		capture(t, u, "20170101000000", html200("<p>next year</p>")),
	)
	s := New(st, Options{Banner: true, Now: fixedNow})
	tests := []struct {
		path, want, memento string
		note                bool
	}{
		{"/web/20160401000000/" + u, "june", "Wed, 01 Jun 2016 00:00:00 GMT", true},    // 61 days vs 91 days
		{"/web/20160201000000/" + u, "january", "Fri, 01 Jan 2016 00:00:00 GMT", true}, // 31 days vs 121
		{"/web/20160601000000/" + u, "june", "Wed, 01 Jun 2016 00:00:00 GMT", false},   // exact
		{"/web/201606/" + u, "june", "Wed, 01 Jun 2016 00:00:00 GMT", false},           // partial, same month
		{"/web/2016/" + u, "january", "Fri, 01 Jan 2016 00:00:00 GMT", false},          // partial: 2016-01-01
		{"/web/2030/" + u, "next year", "Sun, 01 Jan 2017 00:00:00 GMT", true},
		{"/web/1990/https://cdt.test/page/", "january", "Fri, 01 Jan 2016 00:00:00 GMT", true}, // other scheme
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp := get(t, s, tt.path)
			b := body(t, resp)
			if resp.StatusCode != 200 || !strings.Contains(b, tt.want) {
				t.Fatalf("status %d, body %q; want 200 with %q", resp.StatusCode, b, tt.want)
			}
			if got := resp.Header.Get("Memento-Datetime"); got != tt.memento {
				t.Errorf("Memento-Datetime %q, want %q", got, tt.memento)
			}
			if got := strings.Contains(b, "this is the closest capture"); got != tt.note {
				t.Errorf("different-time note shown: %v, want %v", got, tt.note)
			}
			if !strings.Contains(b, `id="amber-replay-banner"`) {
				t.Error("no banner")
			}
		})
	}
}

func TestTimeGateAndTimeMap(t *testing.T) {
	const u = "http://cdt.test/"
	st := newStore(t,
		capture(t, u, "20160101000000", html200("a")),
		capture(t, u, "20160601000000", html200("b")),
		capture(t, u, "20170101000000", html200("c")),
	)
	s := New(st, Options{})

	resp := get(t, s, "/web/"+u)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/web/20170101000000/"+u {
		t.Errorf("latest: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = get(t, s, "/web/"+u, "Accept-Datetime", "Thu, 12 May 2016 00:00:00 GMT")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/web/20160601000000/"+u {
		t.Errorf("Accept-Datetime: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if v := resp.Header.Get("Vary"); v != "accept-datetime" {
		t.Errorf("Vary %q", v)
	}
	if l := resp.Header.Get("Link"); !strings.Contains(l, `<`+u+`>; rel="original"`) || !strings.Contains(l, `rel="timemap"`) {
		t.Errorf("TimeGate Link %q", l)
	}
	if resp := get(t, s, "/web/"+u, "Accept-Datetime", "yesterday"); resp.StatusCode != 400 {
		t.Errorf("bad Accept-Datetime: %d, want 400", resp.StatusCode)
	}

	// A memento's Link names the original, TimeGate, TimeMap and its neighbours.
	resp = get(t, s, "/web/20160601000000/"+u)
	link := resp.Header.Get("Link")
	for _, want := range []string{
		`<http://cdt.test/>; rel="original"`,
		`<http://example.com/web/http://cdt.test/>; rel="timegate"`,
		`<http://example.com/timemap/link/http://cdt.test/>; rel="timemap"; type="application/link-format"`,
		`<http://example.com/web/20160101000000/http://cdt.test/>; rel="first prev memento"; datetime="Fri, 01 Jan 2016 00:00:00 GMT"`,
		`<http://example.com/web/20160601000000/http://cdt.test/>; rel="memento"; datetime="Wed, 01 Jun 2016 00:00:00 GMT"`,
		`<http://example.com/web/20170101000000/http://cdt.test/>; rel="next last memento"; datetime="Sun, 01 Jan 2017 00:00:00 GMT"`,
	} {
		if !strings.Contains(link, want) {
			t.Errorf("Link lacks %s\nin %s", want, link)
		}
	}

	resp = get(t, s, "/timemap/link/"+u)
	want := `<http://cdt.test/>; rel="original",
<http://example.com/timemap/link/http://cdt.test/>; rel="self"; type="application/link-format"; from="Fri, 01 Jan 2016 00:00:00 GMT"; until="Sun, 01 Jan 2017 00:00:00 GMT",
<http://example.com/web/http://cdt.test/>; rel="timegate",
<http://example.com/web/20160101000000/http://cdt.test/>; rel="first memento"; datetime="Fri, 01 Jan 2016 00:00:00 GMT",
<http://example.com/web/20160601000000/http://cdt.test/>; rel="memento"; datetime="Wed, 01 Jun 2016 00:00:00 GMT",
<http://example.com/web/20170101000000/http://cdt.test/>; rel="last memento"; datetime="Sun, 01 Jan 2017 00:00:00 GMT"
`
	if got := body(t, resp); got != want || resp.Header.Get("Content-Type") != "application/link-format" {
		t.Errorf("TimeMap (%s):\n%s\nwant\n%s", resp.Header.Get("Content-Type"), got, want)
	}
	if resp := get(t, s, "/timemap/link/http://absent.test/"); resp.StatusCode != 404 {
		t.Errorf("TimeMap of absent URL: %d", resp.StatusCode)
	}
	resp = get(t, s, "/cdx?url="+u)
	if got := strings.Count(body(t, resp), "\n"); got != 3 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Errorf("cdx: %d lines, %s", got, resp.Header.Get("Content-Type"))
	}
	resp = get(t, s, "/cdx?url=http://cdt.test/*&from=2016&to=201612")
	if got := strings.Count(body(t, resp), "\n"); got != 2 {
		t.Errorf("cdx prefix from/to: %d lines, want 2", got)
	}
}

func TestFidelityHeadersAndEncodings(t *testing.T) {
	page := `<html><head><link rel=stylesheet href="/s.css"></head><body><img src="i.png"></body></html>`
	raw := "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n" +
		"Last-Modified: Thu, 12 May 2016 10:42:00 GMT\r\nSet-Cookie: session=secret\r\nContent-Security-Policy: default-src *\r\n" +
		"Strict-Transport-Security: max-age=31536000\r\nLink: <https://live.test/wp-json/>; rel=\"https://api.w.org/\"\r\nx-powered-by: PHP/5.6\r\n\r\n" +
		chunked(gzipped(t, page), 7)
	st := newStore(t, capture(t, "http://cdt.test/a/", "20160512104200", raw))
	s := New(st, Options{})

	resp := get(t, s, "/web/20160512104200/http://cdt.test/a/")
	b := body(t, resp)
	wantBody := `<html><head><link rel=stylesheet href="/web/20160512104200cs_/http://cdt.test/s.css"></head><body><img src="/web/20160512104200im_/http://cdt.test/a/i.png"></body></html>`
	if resp.StatusCode != 200 || b != wantBody {
		t.Fatalf("status %d body %s\nwant %s", resp.StatusCode, b, wantBody)
	}
	h := resp.Header
	for k, want := range map[string]string{
		"Content-Type":                             "text/html; charset=utf-8",
		"Last-Modified":                            "Thu, 12 May 2016 10:42:00 GMT",
		"X-Powered-By":                             "PHP/5.6",
		"Content-Security-Policy":                  cspArchived,
		"Content-Encoding":                         "",
		"Transfer-Encoding":                        "",
		"Set-Cookie":                               "",
		"Strict-Transport-Security":                "",
		"Link":                                     h.Get("Link"), // replaced by the Memento Link
		"X-Archive-Orig-Set-Cookie":                "session=secret",
		"X-Archive-Orig-Content-Security-Policy":   "default-src *",
		"X-Archive-Orig-Strict-Transport-Security": "max-age=31536000",
		"X-Archive-Orig-Transfer-Encoding":         "chunked",
		"X-Archive-Orig-Content-Encoding":          "gzip",
		"Memento-Datetime":                         "Thu, 12 May 2016 10:42:00 GMT",
		"Content-Length":                           strconv.Itoa(len(wantBody)),
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if strings.Contains(h.Get("Link"), "live.test") {
		t.Errorf("archived Link header leaked: %s", h.Get("Link"))
	}

	// id_: the entity as archived (gzip kept and declared), not rewritten.
	resp = get(t, s, "/web/20160512104200id_/http://cdt.test/a/")
	b = body(t, resp)
	if b != gzipped(t, page) || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("id_: encoding %q, body %q", resp.Header.Get("Content-Encoding"), b)
	}
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("id_ CSP %q has no sandbox", resp.Header.Get("Content-Security-Policy"))
	}
	if strings.Contains(b, "amber-replay-banner") {
		t.Error("banner in id_")
	}
}

func TestBannerSwitches(t *testing.T) {
	st := newStore(t, capture(t, "http://cdt.test/", "20160512104200", html200("<body><p>x</p></body>")))
	for _, tt := range []struct {
		banner bool
		path   string
		want   bool
	}{
		{true, "/web/20160512104200/http://cdt.test/", true},
		{true, "/web/20160512104200mp_/http://cdt.test/", true},
		{true, "/web/20160512104200if_/http://cdt.test/", false},
		{true, "/web/20160512104200id_/http://cdt.test/", false},
		{false, "/web/20160512104200/http://cdt.test/", false},
	} {
		b := body(t, get(t, New(st, Options{Banner: tt.banner}), tt.path))
		if got := strings.Contains(b, "amber-replay-banner"); got != tt.want {
			t.Errorf("Banner %v %s: banner shown %v, want %v", tt.banner, tt.path, got, tt.want)
		}
	}
	b := body(t, get(t, New(st, Options{Banner: true, Now: fixedNow}), "/web/20160512104200/http://cdt.test/"))
	for _, want := range []string{
		`href="/web/*/http://cdt.test/"`, `href="/web/20160512104200id_/http://cdt.test/"`,
		"captured 2016-05-12 10:42:00 UTC", "9 years earlier",
	} {
		if !strings.Contains(b, want) {
			t.Errorf("banner lacks %s:\n%s", want, b)
		}
	}
}

func TestRedirects(t *testing.T) {
	moved := func(to string) string {
		return "HTTP/1.1 301 Moved Permanently\r\nLocation: " + to + "\r\nContent-Length: 0\r\n\r\n"
	}
	st := newStore(t,
		// /x <-> /x/: the site flipped its mind between crawls; /x/ also has a real page.
		capture(t, "http://cdt.test/x", "20160101000000", moved("http://cdt.test/x/")),
		capture(t, "http://cdt.test/x/", "20160101000005", moved("/x")),
		capture(t, "http://cdt.test/x/", "20150101000000", html200("the real x")),
		// A self-redirect (http -> https of the same URL), and an older real page.
		capture(t, "http://cdt.test/y", "20160101000000", moved("https://cdt.test/y")),
		capture(t, "http://cdt.test/y", "20140101000000", html200("the real y")),
		// A loop with nothing else to show.
		capture(t, "http://cdt.test/p", "20160101000000", moved("http://cdt.test/q")),
		capture(t, "http://cdt.test/q", "20160101000000", moved("http://cdt.test/p")),
		// A relative redirect to a page that exists.
		capture(t, "http://voa.test/a/old.html", "20160101000000", moved("../b/new.html")),
		capture(t, "http://voa.test/b/new.html", "20160101000001", html200("new")),
	)
	s := New(st, Options{})
	tests := []struct {
		path     string
		status   int
		location string
		body     string
	}{
		{"/web/2016/http://cdt.test/x", 301, "/web/2016/http://cdt.test/x/", ""},
		{"/web/2016/http://cdt.test/x/", 200, "", "the real x"}, // its 301 back to /x loops: skipped
		{"/web/2016/http://cdt.test/y", 200, "", "the real y"},  // self-redirect skipped
		{"/web/2016/http://cdt.test/p", 404, "", "leads back to it"},
		{"/web/20160101000000im_/http://voa.test/a/old.html", 301, "/web/20160101000000im_/http://voa.test/b/new.html", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp := get(t, s, tt.path)
			b := body(t, resp)
			if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location || !strings.Contains(b, tt.body) {
				t.Errorf("got %d to %q, body %q; want %d to %q with %q", resp.StatusCode, resp.Header.Get("Location"), b, tt.status, tt.location, tt.body)
			}
		})
	}
}

func TestRevisits(t *testing.T) {
	page := "<p>same page</p>"
	first := capture(t, "http://cdt.test/r/", "20160101000000", html200(page))
	second := capture(t, "http://cdt.test/r/", "20160601000000",
		"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nLast-Modified: Wed, 01 Jun 2016 00:00:00 GMT\r\nContent-Length: 16\r\n\r\n"+page)
	notModified := capture(t, "http://cdt.test/r/", "20170101000000", "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n")
	notModified.Conditional = true
	st := newStore(t, first)
	if _, err := st.Commit(context.Background(), 0, archive.Batch{Captures: []*archive.Capture{second, notModified}}); err != nil {
		t.Fatal(err)
	}
	caps, err := st.CapturesOf("http://cdt.test/r/")
	if err != nil || len(caps) != 3 || caps[1].RevisitOf == nil {
		t.Fatalf("setup: %d captures, revisit %v, %v", len(caps), caps[1].RevisitOf, err)
	}
	s := New(st, Options{})
	resp := get(t, s, "/web/20160601000000/http://cdt.test/r/")
	if b := body(t, resp); b != page || resp.Header.Get("Last-Modified") != "Wed, 01 Jun 2016 00:00:00 GMT" {
		t.Errorf("revisit: body %q, Last-Modified %q (want the revisit's own head)", b, resp.Header.Get("Last-Modified"))
	}
	resp = get(t, s, "/web/20170101000000/http://cdt.test/r/")
	if b := body(t, resp); resp.StatusCode != 200 || b != page || resp.Header.Get("Memento-Datetime") != "Sun, 01 Jan 2017 00:00:00 GMT" {
		t.Errorf("304 revisit: %d %q at %s", resp.StatusCode, b, resp.Header.Get("Memento-Datetime"))
	}
}

func TestNotFoundOffersNearby(t *testing.T) {
	st := newStore(t,
		capture(t, "http://cdt.test/2016/05/a/", "20160101000000", html200("a")),
		capture(t, "http://cdt.test/2016/05/b/", "20160101000000", html200("b")),
		capture(t, "http://cdt.test/about/", "20160101000000", html200("about")),
	)
	s := New(st, Options{})
	resp := get(t, s, "/web/2016/http://cdt.test/2016/05/missing/")
	b := body(t, resp)
	if resp.StatusCode != 404 || !strings.Contains(b, "Not in the archive") ||
		!strings.Contains(b, `href="/web/*/http://cdt.test/2016/05/a/"`) || strings.Contains(b, "about/") {
		t.Errorf("404 page: %d\n%s", resp.StatusCode, b)
	}
	b = body(t, get(t, s, "/web/2016/http://cdt.test/other/missing"))
	if !strings.Contains(b, "http://cdt.test/about/") {
		t.Errorf("404 page without site-level nearby captures:\n%s", b)
	}
}

func TestHostileStringsEscaped(t *testing.T) {
	evilURL := `http://evil.test/"><script>alert(1)</script>`
	evilTitle := `<title></title><script>alert(2)</script><img src=x onerror=alert(3)></title>`
	st := newStore(t,
		capture(t, evilURL, "20160101000000", html200("<html><head><title>&lt;/title&gt;&lt;script&gt;alert(2)&lt;/script&gt;</title></head></html>")),
		capture(t, "http://evil.test/t", "20160101000000", html200("<title>"+strings.ReplaceAll(evilTitle, "<title></title>", "")+"</title>")),
	)
	s := New(st, Options{Banner: true})
	for _, path := range []string{
		"/", "/web/*/http://evil.test/*", "/web/*/" + evilURL, "/web/*/http://evil.test/t",
		"/web/2016/" + evilURL, "/web/2016/http://evil.test/missing\"><script>alert(4)</script>",
	} {
		b := body(t, get(t, s, strings.ReplaceAll(path, " ", "%20")))
		for _, bad := range []string{"<script>alert", "<img src=x"} {
			if strings.Contains(b, bad) && !strings.Contains(path, "/web/2016/"+evilURL) {
				t.Errorf("%s: unescaped %q in\n%s", path, bad, b)
			}
		}
	}
	// In the replayed page itself, only the banner is amber's: the URL there is escaped.
	b := body(t, get(t, s, "/web/2016/"+evilURL))
	if i := strings.Index(b, "</div>"); i < 0 || strings.Contains(b[:i], "<script>") {
		t.Errorf("banner not escaped: %s", b)
	}
}

func TestBadRequests(t *testing.T) {
	st := newStore(t, capture(t, "http://cdt.test/", "20160101000000", html200("x")))
	s := New(st, Options{})
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/web/20161301/http://cdt.test/", 400},
		{"GET", "/web/99999999999999999/http://cdt.test/", 400},
		{"GET", "/web/2016xx_/http://cdt.test/", 400},
		{"GET", "/web/2016/ftp://cdt.test/", 400},
		{"GET", "/web/2016/", 400},
		{"GET", "/web/2016/http://", 400},
		{"GET", "/timemap/link/gopher://x/", 400},
		{"GET", "/cdx?url=http://cdt.test/&limit=-1", 400},
		{"GET", "/cdx?url=http://cdt.test/&from=2016-01", 400},
		{"GET", "/cdx?url=http://cdt.test/&matchType=domain", 400},
		{"POST", "/web/2016/http://cdt.test/", 405},
		{"GET", "/../../etc/passwd", 404},
		{"GET", "/web/../../../etc/passwd", 400},
		{"GET", "/static/..%2f..%2f..%2fetc%2fpasswd", 404},
		{"GET", "/web/2016/file:///etc/passwd", 400},
	} {
		r := httptest.NewRequest(tt.method, "/", nil)
		r.RequestURI = tt.path
		r.URL.Path, _, _ = strings.Cut(tt.path, "?")
		if _, q, ok := strings.Cut(tt.path, "?"); ok {
			r.URL.RawQuery = q
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != tt.status || strings.Contains(w.Body.String(), "root:") {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, w.Code, tt.status)
		}
		if csp := w.Header().Get("Content-Security-Policy"); csp == "" {
			t.Errorf("%s: no CSP on error page", tt.path)
		}
	}
}

func TestRefererFallbackAndIndex(t *testing.T) {
	st := newStore(t,
		capture(t, "http://cdt.test/2016/05/a/", "20160101000000", html200("a")),
		capture(t, "http://cdt.test/api/x?y=1", "20160101000000", html200("api")),
	)
	s := New(st, Options{})
	resp := get(t, s, "/api/x?y=1", "Referer", "http://example.com/web/20160101000000/http://cdt.test/2016/05/a/")
	if resp.StatusCode != 307 || resp.Header.Get("Location") != "/web/20160101000000/http://cdt.test/api/x?y=1" {
		t.Errorf("referer fallback: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := get(t, s, "/api/x", "Referer", "http://elsewhere.test/web/2016/http://cdt.test/"); resp.StatusCode != 404 {
		t.Errorf("foreign referer: %d", resp.StatusCode)
	}
	b := body(t, get(t, s, "/"))
	for _, want := range []string{"2 captures of 1 sites, 2 articles", `action="/search"`, `href="/web/*/http://cdt.test/*"`, "/web/20160101000000/http://cdt.test/api/x?y=1"} {
		if !strings.Contains(b, want) {
			t.Errorf("index lacks %q:\n%s", want, b)
		}
	}
	if resp := get(t, s, "/search?q=cdt.test/2016/"); resp.Header.Get("Location") != "/web/*/http://cdt.test/2016/*" {
		t.Errorf("search redirects to %q", resp.Header.Get("Location"))
	}
	b = body(t, get(t, s, "/web/*/http://cdt.test/*"))
	if !strings.Contains(b, "2 URLs") {
		t.Errorf("prefix list:\n%s", b)
	}
}
