package crawler_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/testdata/fixture"
)

// liveArticles returns the fixture's article URLs that answer 200, oldest
// (index 0) first: Expected lists live articles in index order and adds
// only slashless or removed URLs (never 200) in between.
func liveArticles(e fixture.Expect) []string {
	var out []string
	for _, u := range e.Articles {
		if e.Status[u] == http.StatusOK {
			out = append(out, u)
		}
	}
	return out
}

// fetchDirect GETs u from the fixture without amber, asking for no
// content-coding, and returns the entity body as sent.
func fetchDirect(t *testing.T, srv *fixture.Server, u string) []byte {
	t.Helper()
	c := srv.Client()
	defer c.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", u, err)
	}
	return b
}

// dechunk removes chunked framing, failing the test if it is not valid.
func dechunk(t *testing.T, body []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(body)))
	if err != nil {
		t.Fatalf("stored body is not valid chunked framing: %v", err)
	}
	return out
}

func gunzip(t *testing.T, body []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("stored body is not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip stored body: %v", err)
	}
	return out
}

// TestCrawlKeepsExchangesAsOnTheWire checks, on the fixture's pages, that
// the stored response keeps chunked framing, gzip and GBK bytes as the
// server sent them, that the stored request is what was sent, that robots.txt
// and redirect hops are captures, and that remote IP and timing are kept
// (issue 2, point 3).
func TestCrawlKeepsExchangesAsOnTheWire(t *testing.T) {
	t.Parallel()
	const latency = 15 * time.Millisecond
	srv := startFixture(t, fixture.Options{Articles: 12, Latency: latency})
	e := srv.Expected()
	cfg := baseConfig(t, srv.Resolve())
	cfg.Rules.MaxDepth = 2 // enough for every special article and its sources
	r := mustCrawl(t, cfg, srv.Seed())
	crawlLog := srv.Log() // before the subtests fetch pages themselves
	arts := liveArticles(e)
	if len(arts) != 12 {
		t.Fatalf("fixture lists %d live articles, want 12", len(arts))
	}

	t.Run("chunked framing kept", func(t *testing.T) {
		c := r.one(t, arts[1]) // articles 1, 4, 7, 10 are chunked
		if !bytes.Contains(c.ResponseHead, []byte("\r\nTransfer-Encoding: chunked\r\n")) {
			t.Errorf("response head lacks Transfer-Encoding: chunked:\n%s", c.ResponseHead)
		}
		if bytes.Contains(c.ResponseHead, []byte("Content-Length")) {
			t.Errorf("chunked response head has a Content-Length:\n%s", c.ResponseHead)
		}
		raw := r.body(t, c)
		if !bytes.HasSuffix(raw, []byte("\r\n0\r\n\r\n")) {
			t.Errorf("stored body does not end with the last-chunk: %q", raw[max(0, len(raw)-20):])
		}
		// The fixture flushes mid-body: at least two data chunks.
		if n := bytes.Count(raw, []byte("\r\n")); n < 4 {
			t.Errorf("stored body has %d CRLFs, want the framing of at least two chunks", n)
		}
		if got, want := dechunk(t, raw), fetchDirect(t, srv, arts[1]); !bytes.Equal(got, want) {
			t.Errorf("de-chunked stored body (%d bytes) differs from the page (%d bytes)", len(got), len(want))
		}
	})

	t.Run("gzip kept", func(t *testing.T) {
		c := r.one(t, arts[2]) // articles 2, 8 are gzip when accepted
		if !bytes.Contains(c.ResponseHead, []byte("\r\nContent-Encoding: gzip\r\n")) {
			t.Errorf("response head lacks Content-Encoding: gzip:\n%s", c.ResponseHead)
		}
		raw := r.body(t, c)
		if len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
			t.Fatalf("stored body does not start with the gzip magic 1f 8b: % x", raw[:min(len(raw), 8)])
		}
		if cl := headerValue(c.ResponseHead, "Content-Length"); cl != strconv.Itoa(len(raw)) {
			t.Errorf("Content-Length %q, stored body %d bytes", cl, len(raw))
		}
		if got, want := gunzip(t, raw), fetchDirect(t, srv, arts[2]); !bytes.Equal(got, want) {
			t.Errorf("gunzipped stored body (%d bytes) differs from the page (%d bytes)", len(got), len(want))
		}
	})

	t.Run("chunked gzip kept", func(t *testing.T) {
		c := r.one(t, arts[5]) // articles 5, 11: both
		if !bytes.Contains(c.ResponseHead, []byte("\r\nTransfer-Encoding: chunked\r\n")) ||
			!bytes.Contains(c.ResponseHead, []byte("\r\nContent-Encoding: gzip\r\n")) {
			t.Errorf("response head lacks chunked or gzip:\n%s", c.ResponseHead)
		}
		if got, want := gunzip(t, dechunk(t, r.body(t, c))), fetchDirect(t, srv, arts[5]); !bytes.Equal(got, want) {
			t.Errorf("decoded stored body (%d bytes) differs from the page (%d bytes)", len(got), len(want))
		}
	})

	t.Run("GBK bytes kept", func(t *testing.T) {
		c := r.one(t, arts[3])
		if ct := headerValue(c.ResponseHead, "Content-Type"); ct != "text/html; charset=GBK" {
			t.Errorf("Content-Type %q, want text/html; charset=GBK", ct)
		}
		raw := r.body(t, c)
		if utf8.Valid(raw) {
			t.Errorf("stored GBK page is valid UTF-8: it was transcoded")
		}
		if want := fetchDirect(t, srv, arts[3]); !bytes.Equal(raw, want) {
			t.Errorf("stored body (%d bytes) differs from the bytes served (%d)", len(raw), len(want))
		}
		text, err := simplifiedchinese.GBK.NewDecoder().Bytes(raw)
		if err != nil {
			t.Fatalf("stored body does not decode as GBK: %v", err)
		}
		for _, s := range []string{`<meta charset="gbk">`, "中国数字时代将继续关注这一话题。"} {
			if !strings.Contains(string(text), s) {
				t.Errorf("GBK-decoded stored body lacks %q", s)
			}
		}
	})

	t.Run("plain page byte for byte, header case", func(t *testing.T) {
		c := r.one(t, arts[0])
		if want := fetchDirect(t, srv, arts[0]); !bytes.Equal(r.body(t, c), want) {
			t.Errorf("stored body differs from the page")
		}
		if !bytes.HasPrefix(c.ResponseHead, []byte("HTTP/1.1 200 OK\r\n")) || !bytes.HasSuffix(c.ResponseHead, []byte("\r\n\r\n")) {
			t.Errorf("response head is not a status line through the blank line:\n%q", c.ResponseHead)
		}
		// The fixture sends this one lower-case on purpose.
		if !bytes.Contains(c.ResponseHead, []byte("\r\nx-powered-by: PHP/5.6.40\r\n")) {
			t.Errorf("lower-case x-powered-by not kept as sent:\n%s", c.ResponseHead)
		}
	})

	t.Run("request as sent", func(t *testing.T) {
		hits := map[string]fixture.Hit{}
		for _, h := range crawlLog {
			hits[h.Host+" "+h.Path] = h
		}
		for _, u := range []string{e.Seed, arts[0], e.Requisites[0], e.Robots[0]} {
			c := r.one(t, u)
			req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(c.Request)))
			if err != nil {
				t.Errorf("%s: stored request does not parse: %v\n%s", u, err, c.Request)
				continue
			}
			if req.Method != http.MethodGet || "http://"+req.Host+req.RequestURI != u {
				t.Errorf("%s: stored request is %s http://%s%s", u, req.Method, req.Host, req.RequestURI)
			}
			if ua := req.Header.Get("User-Agent"); !strings.Contains(ua, testContact) || !strings.HasPrefix(ua, "amber/") {
				t.Errorf("%s: User-Agent %q lacks amber/ and the contact %s", u, ua, testContact)
			}
			if bytes.Contains(bytes.ToLower(c.Request), []byte("x-amber-capture")) {
				t.Errorf("%s: the internal capture header reached the wire:\n%s", u, c.Request)
			}
			// What the server saw is what was stored.
			h, ok := hits[fixture.CDT+" "+req.RequestURI]
			if !ok {
				t.Errorf("%s: the fixture logged no such request", u)
				continue
			}
			for k := range h.Header {
				if got, want := req.Header.Values(k), h.Header.Values(k); strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s: header %s stored as %q, server received %q", u, k, got, want)
				}
			}
			if len(req.Header) != len(h.Header) {
				t.Errorf("%s: stored request has %d header fields, server received %d", u, len(req.Header), len(h.Header))
			}
		}
	})

	t.Run("robots.txt and redirect hops", func(t *testing.T) {
		rb := r.one(t, srv.URL(fixture.CDT)+"/robots.txt")
		if rb.Reason != archive.ReasonRobots || rb.Status != http.StatusOK || !bytes.Contains(r.body(t, rb), []byte("Disallow: /wp-admin/")) {
			t.Errorf("robots.txt capture: reason %s status %d", rb.Reason, rb.Status)
		}
		if len(e.Redirects) < 2 {
			t.Fatalf("fixture has %d redirects, want the slashless article and the VOA source", len(e.Redirects))
		}
		for from, to := range e.Redirects {
			hop := r.one(t, from)
			if hop.Status != http.StatusMovedPermanently || hop.Location != to || headerValue(hop.ResponseHead, "Location") == "" {
				t.Errorf("redirect %s: status %d Location %q (head %q), want 301 to %s", from, hop.Status, hop.Location, headerValue(hop.ResponseHead, "Location"), to)
			}
			if dst := r.one(t, to); dst.Status != http.StatusOK {
				t.Errorf("redirect target %s: status %d", to, dst.Status)
			}
		}
	})

	t.Run("remote IP and timing", func(t *testing.T) {
		ips := map[string]string{} // "host:port" -> IP it resolves to
		for hp, addr := range srv.Resolve() {
			ip, _, _ := net.SplitHostPort(addr)
			ips[hp] = ip
		}
		n := 0
		for u, cs := range r.captures(t) {
			c := cs[0]
			hp := strings.TrimPrefix(u, "http://")
			hp, _, _ = strings.Cut(hp, "/")
			if c.IP == "" || c.IP != ips[hp] {
				t.Errorf("%s: IP %q, want %q", u, c.IP, ips[hp])
			}
			if c.Time.Before(r.started) || c.Time.After(r.ended) {
				t.Errorf("%s: Time %s outside the crawl %s .. %s", u, c.Time, r.started, r.ended)
			}
			if c.Time.Location() != time.UTC {
				t.Errorf("%s: Time %s is not UTC", u, c.Time)
			}
			// Every fixture response waits Latency before its headers.
			if c.Duration < latency {
				t.Errorf("%s: Duration %s, shorter than the server's latency %s", u, c.Duration, latency)
			}
			n++
		}
		if n < 30 {
			t.Errorf("only %d captures", n)
		}
	})
}

// headerValue returns the first value of a header field in a raw head,
// matching the name case-insensitively.
func headerValue(head []byte, name string) string {
	for _, line := range strings.Split(string(head), "\r\n")[1:] {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// rawServer answers HTTP/1.1 requests on loopback with fixed bytes and keeps
// every request exactly as it arrived, by request target.
type rawServer struct {
	ln        net.Listener
	responses map[string][]byte // request target -> response bytes
	wg        sync.WaitGroup

	mu       sync.Mutex
	received map[string][]byte
}

// startRawServer listens on 127.0.0.1 and answers each target in responses
// (others get a 404) with exactly those bytes, then closes the connection.
func startRawServer(t *testing.T, responses map[string][]byte) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &rawServer{ln: ln, responses: responses, received: map[string][]byte{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *rawServer) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	var req []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(req, []byte("\r\n\r\n")) {
		n, err := c.Read(buf)
		req = append(req, buf[:n]...)
		if err != nil {
			return
		}
	}
	line, _, _ := bytes.Cut(req, []byte("\r\n"))
	parts := strings.Fields(string(line))
	if len(parts) != 3 {
		return
	}
	s.mu.Lock()
	s.received[parts[1]] = req
	s.mu.Unlock()
	resp, ok := s.responses[parts[1]]
	if !ok {
		resp = []byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	}
	_, _ = c.Write(resp)
}

func (s *rawServer) port() string {
	return strconv.Itoa(s.ln.Addr().(*net.TCPAddr).Port)
}

func (s *rawServer) request(target string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received[target]
}

// TestCrawlKeepsRawHeadAndRequest crawls a server that writes fixed bytes
// and compares what was stored with what crossed the wire, byte for byte:
// header order, case, repeats and odd spacing; Latin-1 bytes; and, for a
// few dozen pages the server answers as soon as it has read the request,
// the request itself (issue 2, point 3).
func TestCrawlKeepsRawHeadAndRequest(t *testing.T) {
	// Not parallel: on an idle machine a lost request shows at once.
	const pages = 40
	var links strings.Builder
	for i := range pages {
		fmt.Fprintf(&links, "<a href=\"/2020/01/p%d/\">p%d</a>\n", i, i)
	}
	body := []byte("<!DOCTYPE html><html><head><title>Caf\xe9</title></head><body><p>na\xefve r\xe9sum\xe9</p>\n" + links.String() + "</body></html>\n")
	head := []byte("HTTP/1.1 200 OK\r\n" +
		"x-lower: a\r\n" +
		"X-UPPER: b\r\n" +
		"Set-Cookie: one=1; Path=/\r\n" +
		"Content-Type: text/html; charset=ISO-8859-1\r\n" +
		"Set-Cookie: two=2; Path=/\r\n" +
		"x-NoSpace:tight\r\n" +
		"X-Padded:   wide   value  \r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"Connection: close\r\n" +
		"\r\n")
	responses := map[string][]byte{
		"/page":       append(append([]byte{}, head...), body...),
		"/robots.txt": []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 25\r\nConnection: close\r\n\r\nUser-agent: *\nAllow: /\n\n"),
	}
	for i := range pages {
		page := fmt.Sprintf("<p>page %d</p>", i)
		responses[fmt.Sprintf("/2020/01/p%d/", i)] = []byte(fmt.Sprintf(
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(page), page))
	}
	raw := startRawServer(t, responses)
	cfg := baseConfig(t, map[string]string{"raw.test": "127.0.0.1"})
	base := "http://raw.test:" + raw.port()
	seed := base + "/page"
	r := mustCrawl(t, cfg, seed)

	c := r.one(t, seed)
	if !bytes.Equal(c.ResponseHead, head) {
		t.Errorf("stored response head differs from the bytes sent:\n got %q\nwant %q", c.ResponseHead, head)
	}
	if got := r.body(t, c); !bytes.Equal(got, body) {
		t.Errorf("stored body differs from the bytes sent:\n got %q\nwant %q", got, body)
	}
	if c.MIME != "text/html" || c.Status != http.StatusOK || c.IP != "127.0.0.1" {
		t.Errorf("capture: MIME %q status %d IP %q", c.MIME, c.Status, c.IP)
	}
	if got := r.body(t, r.one(t, base+"/robots.txt")); !bytes.Equal(got, []byte("User-agent: *\nAllow: /\n\n")) {
		t.Errorf("robots.txt body %q", got)
	}

	// Every stored request is the bytes the server received.
	lost := 0
	for target := range responses {
		c := r.one(t, base+target)
		sent := raw.request(target)
		if sent == nil {
			t.Errorf("the raw server received no request for %s", target)
			continue
		}
		if !bytes.Equal(c.Request, sent) {
			lost++
			t.Errorf("%s: stored request differs from the bytes received:\n got %q\nwant %q", target, c.Request, sent)
			continue
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(c.Request)))
		if err != nil {
			t.Errorf("%s: stored request does not parse: %v", target, err)
			continue
		}
		if ua := req.UserAgent(); !strings.Contains(ua, testContact) {
			t.Errorf("%s: User-Agent %q lacks the contact", target, ua)
		}
		if req.Header.Get("X-Amber-Capture") != "" {
			t.Errorf("%s: the internal capture header reached the wire", target)
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d stored requests differ from what was sent", lost, len(responses))
	}
}

// TestCrawlTruncatesAtMaxBody crawls with a 4 KiB body cap: pages longer
// than that are stored cut at exactly the cap and marked "length", shorter
// ones whole and unmarked (issue 2, point 3).
func TestCrawlTruncatesAtMaxBody(t *testing.T) {
	t.Parallel()
	const maxBody = 4096
	srv := startFixture(t, fixture.Options{Articles: 12})
	cfg := baseConfig(t, srv.Resolve())
	cfg.MaxBody = maxBody
	cfg.Rules.MaxDepth = 1
	r := mustCrawl(t, cfg, srv.Seed())

	sent := map[string]fixture.Hit{}
	for _, h := range srv.Log() {
		sent["http://"+h.RequestHost+h.Path] = h
	}
	var cut, whole int
	for u, cs := range r.captures(t) {
		c := cs[0]
		h, ok := sent[u]
		if !ok {
			t.Errorf("%s captured but the fixture logged no request", u)
			continue
		}
		chunked := bytes.Contains(c.ResponseHead, []byte("Transfer-Encoding: chunked"))
		switch {
		case h.Bytes > maxBody:
			cut++
			if c.BodyLen != maxBody || c.Truncated != archive.TruncLength {
				t.Errorf("%s: %d bytes sent, stored BodyLen %d Truncated %q; want %d, %q", u, h.Bytes, c.BodyLen, c.Truncated, maxBody, archive.TruncLength)
			}
		case chunked:
			// Framing adds bytes: under the cap it is whole.
			if c.BodyLen > maxBody || (c.BodyLen < maxBody && c.Truncated != "") {
				t.Errorf("%s: chunked, %d bytes sent, BodyLen %d Truncated %q", u, h.Bytes, c.BodyLen, c.Truncated)
			}
		default:
			whole++
			if c.BodyLen != h.Bytes || c.Truncated != "" {
				t.Errorf("%s: %d bytes sent, stored BodyLen %d Truncated %q; want whole", u, h.Bytes, c.BodyLen, c.Truncated)
			}
		}
	}
	if cut == 0 || whole == 0 {
		t.Errorf("%d truncated and %d whole captures; the test needs both", cut, whole)
	}
	if r.stats.Failed != 0 {
		t.Errorf("Stats.Failed = %d: truncation is not a failure", r.stats.Failed)
	}
}
