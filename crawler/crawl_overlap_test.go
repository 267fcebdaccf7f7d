package crawler_test

import (
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/amberarchive/amber/crawler"
)

// TestHostFreeWhileParsing checks that, with one request per host, the
// host's next request does not wait for the previous page to be parsed:
// parsing the first page fetched is held until the server has been asked
// for the second, which a crawler holding the host through the parse
// never asks for (the hold then ends after 10 s and the test fails).
// The requests still never overlap.
func TestHostFreeWhileParsing(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	inFlight, overlapped := 0, false
	both := make(chan struct{})
	ln, err := net.Listen("tcp4", "127.0.0.2:0")
	if err != nil {
		ln, err = net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		overlapped = overlapped || inFlight > 1
		seen[r.URL.Path] = true
		if seen["/x"] && seen["/y"] && both != nil {
			close(both)
			both = nil
		}
		mu.Unlock()
		defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!DOCTYPE html><html><head><title>page</title></head><body><p>a page</p></body></html>"))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	hostPort := "overlap.test:" + portOf(t, ln.Addr())
	wait := both

	var once sync.Once
	held := false
	restore := crawler.SetExtractLinks(func(base *url.URL, html []byte, sel string) []crawler.Link {
		once.Do(func() {
			select {
			case <-wait:
			case <-time.After(10 * time.Second):
				held = true
			}
		})
		return crawler.ExtractLinks(base, html, sel)
	})
	defer restore()

	cfg := baseConfig(t, map[string]string{hostPort: ln.Addr().String()})
	cfg.PerHost = 1
	r := mustCrawl(t, cfg, "http://"+hostPort+"/x", "http://"+hostPort+"/y")
	if held {
		t.Error("the host's next request waited for the previous page's parse")
	}
	caps := r.captures(t)
	for _, p := range []string{"/x", "/y"} {
		if len(caps["http://"+hostPort+p]) != 1 {
			t.Errorf("%s captured %d times, want once", p, len(caps["http://"+hostPort+p]))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if overlapped {
		t.Error("two requests to the host overlapped with --per-host 1")
	}
}

func portOf(t *testing.T, a net.Addr) string {
	t.Helper()
	_, port, err := net.SplitHostPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return port
}
