package replay_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/crawler"
	"github.com/amberarchive/amber/replay"
	"github.com/amberarchive/amber/testdata/chaos"
)

// crawlHostile crawls the hostile pages of the chaos server into a fresh
// store: a page whose title, links, base and headers carry script
// injections, and redirects to javascript:, data: and file: URLs.
func crawlHostile(t *testing.T, srv *chaos.Server) *archive.Store {
	t.Helper()
	st, err := archive.Open(filepath.Join(t.TempDir(), "amber.db"), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := crawler.DefaultConfig()
	cfg.Delay, cfg.Timeout, cfg.Retries = 0, 5*time.Second, 0
	cfg.Resolve = srv.Resolve()
	cfg.LookupHost = func(_ context.Context, host string) ([]string, error) {
		t.Errorf("DNS lookup of %q", host)
		return nil, &net.DNSError{Err: "no DNS in tests", Name: host, IsNotFound: true}
	}
	cfg.Rules.Follow = regexp.MustCompile(`^/c/`)
	cfg.Rules.Scope = []string{"*." + chaos.Domain}
	seeds := []string{srv.URL("www", "/c/xss"), srv.URL("www", "/c/to-js"), srv.URL("www", "/c/to-data"), srv.URL("www", "/c/to-file"), srv.URL("www", "/c/binary")}
	run, err := st.CreateRun(context.Background(), archive.Run{Seeds: seeds})
	if err != nil {
		t.Fatal(err)
	}
	c, err := crawler.New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Run(ctx, run.ID, seeds); err != nil {
		t.Fatalf("crawl: %v", err)
	}
	return st
}

// injected are strings that, found in a page amber itself writes, mean the
// archived content's injection went through unescaped.
// (URLs that carry them percent-encoded, as in the CDX JSON, are inert.)
var injected = []string{"<script>alert(", "<img src=x", `href="javascript:`}

// TestHostileArchivedContent (issue 6, point 6) replays content crawled
// from the chaos server's hostile pages: nothing from it executes in
// amber's own pages (front page, capture lists, prefix lists, TimeMaps,
// CDX, the 404 page, the banner); archived headers that would act on the
// reader (Set-Cookie, Refresh, Link) are not sent; redirects to
// javascript:, data: and file: do not become Location headers; path
// traversal serves nothing outside the store; absurdly long URLs are
// refused; and not one request reaches the live hosts while replaying.
func TestHostileArchivedContent(t *testing.T) {
	t.Parallel()
	srv, err := chaos.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	st := crawlHostile(t, srv)
	xss, _ := crawler.Canonical(srv.URL("www", "/c/xss"))
	if cs, err := st.CapturesOf(xss); err != nil || len(cs) != 1 {
		t.Fatalf("hostile page not archived: %v %d", err, len(cs))
	}
	hitsBefore := srv.TotalHits()

	rs := httptest.NewServer(replay.New(st, replay.Options{Banner: true}))
	defer rs.Close()
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := client.Get(rs.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	host := chaos.Host("www")
	childURL := "http://" + host + ":" + portOf(srv) + "/c/xss/%22%3E%3Cscript%3Ealert('amber-xss-url')%3C/script%3E"
	ownPages := []string{
		"/", "/web/*/" + xss, "/web/*/http://" + host + "/*", "/web/*/" + xss + "*",
		"/web/*/" + childURL, "/timemap/link/" + xss, "/timemap/json/" + xss,
		"/cdx?url=" + xss + "&matchType=prefix", "/search?q=" + xss,
		"/web/2016/http://" + host + "/c/missing%22%3E%3Cscript%3Ealert(5)%3C/script%3E",
		"/web/*/http://" + host + "/%22%3E%3Cscript%3Ealert(6)%3C/script%3E*",
	}
	for _, p := range ownPages {
		resp, b := get(p)
		for _, bad := range injected {
			if strings.Contains(b, bad) {
				t.Errorf("GET %s (%d): amber's page carries %q unescaped:\n%.2000s", p, resp.StatusCode, bad, b)
			}
		}
		if ct := resp.Header.Get("Content-Type"); strings.Contains(ct, "<") {
			t.Errorf("GET %s: Content-Type %q", p, ct)
		}
	}

	// The archived page: its own markup is replayed (confined by CSP), the
	// banner amber adds is escaped, and headers that act on the browser
	// are dropped.
	resp, b := get("/web/2030/" + xss)
	if resp.StatusCode != 200 {
		t.Fatalf("replay of the hostile page: %d", resp.StatusCode)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("hostile page replayed without a confining CSP: %q", csp)
	}
	for _, h := range []string{"Set-Cookie", "Refresh", "Link"} {
		for _, v := range resp.Header.Values(h) {
			if strings.Contains(v, "live.chaos.test") || strings.Contains(v, "amber=evil") {
				t.Errorf("archived %s header sent to the reader: %q", h, v)
			}
		}
	}
	// The archived Content-Type is kept as sent (a header, inert); it must
	// not leak into amber's banner.
	banner := b
	if i := strings.Index(b, "amber-replay-banner"); i >= 0 {
		banner = b[i:]
		if j := strings.Index(banner, "</div>"); j >= 0 {
			banner = banner[:j]
		}
	} else {
		t.Errorf("no banner on the replayed page")
	}
	for _, bad := range injected {
		if strings.Contains(banner, bad) {
			t.Errorf("banner carries %q: %s", bad, banner)
		}
	}
	// Every link and requisite is rewritten into the archive.
	if strings.Contains(b, `src="http://live.chaos.test`) || strings.Contains(b, `href="http://www.chaos.test`) {
		t.Errorf("replayed page still points at the live web:\n%.3000s", b)
	}

	// Redirects to other schemes do not reach the reader as Location.
	for _, p := range []string{"/c/to-js", "/c/to-data", "/c/to-file"} {
		u, _ := crawler.Canonical(srv.URL("www", p))
		resp, _ := get("/web/2030/" + u)
		loc := strings.ToLower(resp.Header.Get("Location"))
		for _, scheme := range []string{"javascript:", "data:", "file:"} {
			if strings.HasPrefix(loc, scheme) || strings.Contains(loc, "/"+scheme) && !strings.HasPrefix(loc, "/web/") {
				t.Errorf("replay of %s redirects to %q", p, loc)
			}
		}
	}

	// Path traversal, raw on the wire (a client would clean the path).
	for _, target := range []string{
		"/../../../../etc/passwd", "/web/2016/../../../../etc/passwd", "/web/2016id_/file:///etc/passwd",
		"/web/2016/http://" + host + "/c/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
		"/web/2016/http://" + host + "/..%2f..%2f..%2fetc%2fpasswd", "/static/..%2f..%2fetc%2fpasswd",
		"/web/2016id_/http://" + host + "/c/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
	} {
		status, b := rawGet(t, rs.Listener.Addr().String(), target)
		if strings.Contains(b, "root:x:0:0") || strings.Contains(b, "root:*:0:0") {
			t.Errorf("GET %s served a file from outside the store (%s)", target, status)
		}
		if strings.Contains(status, " 200 ") && !strings.Contains(target, "/web/") {
			t.Errorf("GET %s: %s", target, status)
		}
	}

	// Absurdly long URLs: refused quickly, and the server goes on.
	for _, n := range []int{10 << 10, 100 << 10, 900 << 10} {
		start := time.Now()
		status, _ := rawGet(t, rs.Listener.Addr().String(), "/web/2016/http://"+host+"/"+strings.Repeat("a", n))
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("a %d-byte URL took %s", n, took)
		}
		if strings.Contains(status, " 200 ") || strings.Contains(status, " 5") {
			t.Errorf("a %d-byte URL: %s", n, status)
		}
	}
	if resp, _ := get("/"); resp.StatusCode != 200 {
		t.Errorf("front page after the long URLs: %d", resp.StatusCode)
	}

	// A URL that was never archived, on a live host: 404, and no request
	// leaves for the live web.
	if resp, _ := get("/web/2016/http://live.chaos.test:" + portOf(srv) + "/never-archived"); resp.StatusCode != 404 {
		t.Errorf("never-archived URL: %d, want 404", resp.StatusCode)
	}
	if after := srv.TotalHits(); after != hitsBefore {
		t.Errorf("replay made %d requests to the live hosts", after-hitsBefore)
	}
}

func portOf(srv *chaos.Server) string {
	u := srv.URL("www", "/")
	_, port, _ := net.SplitHostPort(strings.TrimSuffix(strings.TrimPrefix(u, "http://"), "/"))
	return port
}

// rawGet sends target as the request line, byte for byte, and returns the
// status line and up to 64 KiB of the answer.
func rawGet(t *testing.T, addr, target string) (string, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, addr)
	br := bufio.NewReader(c)
	status, _ := br.ReadString('\n')
	b, _ := io.ReadAll(io.LimitReader(br, 64<<10))
	return strings.TrimSpace(status), string(b)
}
