package crawler_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/amberarchive/amber/archive"
)

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// pdfBytes is the start of a real PDF file, binary comment line included.
var pdfBytes = []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")

// sendBytes answers body with a Content-Length, so the stored body is the
// bytes themselves rather than chunks of them.
func sendBytes(w http.ResponseWriter, ctype string, body []byte) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// TestCrawlGoesOnAfterBadInput crawls a site whose pages lead to an
// unreachable host, a host that does not resolve, a TLS server with a
// self-signed certificate, a server that never answers, invalid HTML, a
// huge page and non-HTML bodies. The crawl finishes, the good pages are
// captured, and each failure is recorded against its URL with a reason a
// user can read (issue 2, point 9).
func TestCrawlGoesOnAfterBadInput(t *testing.T) {
	t.Parallel()
	const maxBody = 1 << 20
	huge := bytes.Repeat([]byte("<p>All work and no play makes Jack a dull boy.</p>\n"), 5<<20/51)
	binary := make([]byte, 4096)
	for i := range binary {
		binary[i] = byte(i * 7)
	}

	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the TLS server with a bad certificate served %s", r.URL)
	}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	hang := startSite(t, "hang.test", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		select { // never answers; gives up when the client does
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	closed := closedAddr(t)
	_, closedPort, _ := net.SplitHostPort(closed)
	_, tlsPort, _ := net.SplitHostPort(tlsSrv.Listener.Addr().String())
	var (
		closedURL = "http://closed.test:" + closedPort + "/"
		dnsURL    = "http://nxdomain.test/story"
		// httptest's certificate names example.com, so only its issuer is
		// wrong; example.com is reached through Resolve, never DNS.
		tlsURL  = "https://example.com:" + tlsPort + "/story"
		hangURL = hang.url("/slow")
	)

	good := startSite(t, "good.test", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			http.NotFound(w, r)
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!DOCTYPE html><html><body>
<p>Unreachable <a href="%s">[Source]</a></p>
<p>No such host <a href="%s">[Source]</a></p>
<p>Bad certificate <a href="%s">[Source]</a></p>
<p>Never answers <a href="%s">[Source]</a></p>
<p>Report <a href="/files/report.pdf">[Source]</a></p>
<p>Unsupported scheme <a href="ftp://files.test/report.pdf">[Source]</a></p>
<p>Broken link <a href="http://[::1/x">[Source]</a></p>
<ul><li><a href="/2020/01/broken/">broken</a></li><li><a href="/2020/01/huge/">huge</a></li><li><a href="/2020/01/binary/">binary</a></li></ul>
</body></html>
`, closedURL, dnsURL, tlsURL, hangURL)
		case "/2020/01/broken/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html><head><title>broken</title><body><div><p>text <b><i>misnested</b></i>"+
				"<a href=\"/2020/01/x/\">x<table><tr><td><a href='/2020/01/y/'>y</div></td>\x00 <<<>>> &bogus; <a href=/2020/01/z/>z")
		case "/2020/01/huge/":
			sendBytes(w, "text/html", huge)
		case "/files/report.pdf":
			sendBytes(w, "application/pdf", pdfBytes)
		case "/2020/01/binary/":
			sendBytes(w, "text/html", binary)
		default:
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, "<p>page %s</p>", r.URL.Path)
		}
	})

	resolve := resolveAll(good, hang)
	resolve["closed.test:"+closedPort] = closed
	resolve["example.com:"+tlsPort] = tlsSrv.Listener.Addr().String()
	cfg := baseConfig(t, resolve)
	cfg.LookupHost = func(_ context.Context, host string) ([]string, error) {
		if host != "nxdomain.test" {
			t.Errorf("DNS lookup of %q: only nxdomain.test is looked up", host)
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	cfg.Timeout = time.Second
	cfg.Retries = 0
	cfg.MaxBody = maxBody
	r := crawl(t, cfg, good.url("/"), closedURL)
	if r.err != nil {
		t.Fatalf("Run: %v, want the crawl to finish despite bad input", r.err)
	}

	fails := r.failures(t)
	for u, f := range fails {
		t.Logf("failed: %s: %s", u, f.Err)
	}
	tests := []struct {
		name   string
		url    string
		parent string
		want   []string // in Failure.Err, case-insensitive
	}{
		{"unreachable host (seed)", closedURL, "", []string{"closed.test", "connection refused"}},
		{"DNS failure", dnsURL, good.url("/"), []string{"nxdomain.test", "no such host"}},
		{"self-signed certificate", tlsURL, good.url("/"), []string{"example.com", "certificate signed by unknown authority"}},
		{"no answer", hangURL, good.url("/"), []string{"timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := fails[tt.url]
			if !ok {
				t.Fatalf("%s is not among the failures: %v", tt.url, fails)
			}
			if !containsFold(f.Err, tt.want...) {
				t.Errorf("failure of %s says %q, want it to mention %q", tt.url, f.Err, tt.want)
			}
			if f.Parent != tt.parent {
				t.Errorf("failure of %s has parent %q, want %q", tt.url, f.Parent, tt.parent)
			}
			if f.Time.IsZero() {
				t.Errorf("failure of %s has no time", tt.url)
			}
			why := r.why(t, tt.url)
			found := false
			for _, d := range why {
				found = found || d.Kind == archive.DecisionFailed && d.Why == f.Err
			}
			if !found {
				t.Errorf("store.Why(%s) = %+v, want the failure", tt.url, why)
			}
			if cs, _ := r.store.CapturesOf(tt.url); len(cs) != 0 {
				t.Errorf("%s failed but has %d captures", tt.url, len(cs))
			}
		})
	}
	if len(fails) != len(tests) {
		t.Errorf("%d failures, want %d: %v", len(fails), len(tests), fails)
	}
	if r.stats.Failed != int64(len(tests)) {
		t.Errorf("Stats.Failed = %d, want %d", r.stats.Failed, len(tests))
	}

	t.Run("good pages captured", func(t *testing.T) {
		for _, p := range []string{"/", "/2020/01/broken/", "/2020/01/huge/", "/files/report.pdf", "/2020/01/binary/"} {
			if c := r.one(t, good.url(p)); c.Status != http.StatusOK {
				t.Errorf("%s: status %d", p, c.Status)
			}
		}
	})
	t.Run("invalid HTML still parsed", func(t *testing.T) {
		for _, p := range []string{"/2020/01/x/", "/2020/01/y/", "/2020/01/z/"} {
			if c := r.one(t, good.url(p)); c.Parent != good.url("/2020/01/broken/") {
				t.Errorf("%s: parent %q, want the broken page", p, c.Parent)
			}
		}
	})
	t.Run("huge page truncated", func(t *testing.T) {
		c := r.one(t, good.url("/2020/01/huge/"))
		if c.BodyLen != maxBody || c.Truncated != archive.TruncLength {
			t.Errorf("BodyLen %d Truncated %q, want %d, %q", c.BodyLen, c.Truncated, maxBody, archive.TruncLength)
		}
		if b := r.body(t, c); !bytes.Equal(b, huge[:maxBody]) {
			t.Errorf("stored body is not the first %d bytes sent", maxBody)
		}
	})
	t.Run("non-HTML kept as sent", func(t *testing.T) {
		c := r.one(t, good.url("/files/report.pdf"))
		if c.MIME != "application/pdf" || c.Reason != archive.ReasonSource || !bytes.Equal(r.body(t, c), pdfBytes) {
			t.Errorf("pdf: MIME %q reason %q, body kept: %v", c.MIME, c.Reason, bytes.Equal(r.body(t, c), pdfBytes))
		}
		c = r.one(t, good.url("/2020/01/binary/"))
		if c.MIME != "text/html" || !bytes.Equal(r.body(t, c), binary) || len(c.Outlinks) != 0 {
			t.Errorf("binary as text/html: MIME %q outlinks %v, body kept: %v", c.MIME, c.Outlinks, bytes.Equal(r.body(t, c), binary))
		}
	})
	t.Run("bad links explained", func(t *testing.T) {
		for _, tt := range []struct{ url, want string }{
			{"ftp://files.test/report.pdf", "unsupported scheme"},
			{"http://[::1/x", ""},
		} {
			why, ok := r.skipWhy(t, tt.url)
			if !ok || !containsFold(why, tt.want) {
				t.Errorf("Why(%s) = %q (found %v), want a skip mentioning %q", tt.url, why, ok, tt.want)
			}
		}
	})
	if good.log() == nil || len(hang.log()) == 0 {
		t.Errorf("hosts not contacted")
	}
}

// TestCrawlRefusesBadSeeds: a malformed seed or an unsupported scheme stops
// Run before anything is fetched, with an error that names the seed
// (issue 2, point 9).
func TestCrawlRefusesBadSeeds(t *testing.T) {
	t.Parallel()
	good := startSite(t, "good.test", pagesHandler(""))
	tests := []struct {
		name, seed, want string
	}{
		{"space in host", "http://bad host/", "invalid character"},
		{"unsupported scheme", "ftp://files.test/report.pdf", "unsupported scheme"},
		{"no scheme", "chinadigitaltimes.net/2016/", "no scheme"},
		{"empty host", "http:///path", "empty host"},
		{"bad port", "http://good.test:99999/", "port"},
		{"javascript", "javascript:alert(1)", "javascript"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := crawl(t, baseConfig(t, resolveAll(good)), good.url("/"), tt.seed)
			if r.err == nil {
				t.Fatalf("Run accepted seed %q", tt.seed)
			}
			if !strings.Contains(r.err.Error(), tt.seed) || !containsFold(r.err.Error(), tt.want) {
				t.Errorf("Run error %q, want it to name %q and say %q", r.err, tt.seed, tt.want)
			}
			if n := len(good.log()); n != 0 {
				t.Errorf("the good seed's host answered %d requests, want none", n)
			}
			if caps := r.captures(t); len(caps) != 0 {
				t.Errorf("%d captures after a refused seed", len(caps))
			}
		})
	}
}
