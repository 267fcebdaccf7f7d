package crawler

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// kaServer is a keep-alive HTTP/1.1 server on loopback that reads requests
// one at a time, byte by byte (so it never reads into the next one), keeps
// each exactly as received with the connection it came on, and answers with
// whatever bytes its handler writes.
type kaServer struct {
	ln     net.Listener
	handle func(c net.Conn, req []byte) (keep bool)
	wg     sync.WaitGroup

	mu    sync.Mutex
	got   []kaReq
	conns int
}

type kaReq struct {
	conn int    // 1 for the first connection accepted, and so on
	port int    // the client's port
	raw  []byte // the request as received
}

func newKAServer(t *testing.T, handle func(c net.Conn, req []byte) bool) *kaServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &kaServer{ln: ln, handle: handle}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			id := s.conns
			s.mu.Unlock()
			s.wg.Go(func() {
				defer c.Close()
				port := c.RemoteAddr().(*net.TCPAddr).Port
				for {
					_ = c.SetDeadline(time.Now().Add(20 * time.Second))
					req, err := readRequest(c)
					if err != nil {
						return
					}
					s.mu.Lock()
					s.got = append(s.got, kaReq{conn: id, port: port, raw: req})
					s.mu.Unlock()
					if !s.handle(c, req) {
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *kaServer) url(path string) string { return "http://" + s.ln.Addr().String() + path }

func (s *kaServer) requests() []kaReq {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]kaReq(nil), s.got...)
}

func (s *kaServer) connCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// target is the request-target of a raw request.
func target(req []byte) string {
	line, _, _ := bytes.Cut(req, []byte("\r\n"))
	f := strings.Fields(string(line))
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

// do sends one request through tr, reads and closes the body as colly
// does, and returns the exchange.
func do(t *testing.T, tr *Transport, method, url string) *Exchange {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "amber-test")
	req.Header.Set(CaptureHeader, "ka")
	resp, err := tr.RoundTrip(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	x, ok := tr.Take("ka")
	if !ok {
		t.Fatalf("%s %s: no exchange (err %v)", method, url, err)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return x
}

// TestKeepAliveReusesConnection: sequential requests to one host share one
// connection, and with NoKeepAlive each has its own and says
// "Connection: close".
func TestKeepAliveReusesConnection(t *testing.T) {
	for _, noKA := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoKeepAlive=%v", noKA), func(t *testing.T) {
			srv := newKAServer(t, func(c net.Conn, req []byte) bool {
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				return !bytes.Contains(req, []byte("Connection: close"))
			})
			tr := NewTransport(TransportOptions{MaxConnsPerHost: 1, NoKeepAlive: noKA})
			defer tr.CloseIdleConnections()
			const n = 10
			for i := range n {
				x := do(t, tr, "GET", srv.url("/p"+strconv.Itoa(i)))
				if string(x.Body) != "ok" || x.IP != "127.0.0.1" {
					t.Fatalf("exchange %d: Body %q IP %q", i, x.Body, x.IP)
				}
				if got := srv.requests()[i].raw; !bytes.Equal(x.Request, got) {
					t.Errorf("exchange %d: stored request %q, server received %q", i, x.Request, got)
				}
				if closeHdr := bytes.Contains(x.Request, []byte("\r\nConnection: close\r\n")); closeHdr != noKA {
					t.Errorf("exchange %d: Connection: close sent = %v, want %v", i, closeHdr, noKA)
				}
			}
			ports := map[int]bool{}
			for _, r := range srv.requests() {
				ports[r.port] = true
			}
			want := 1
			if noKA {
				want = n
			}
			if len(ports) != want || srv.connCount() != want {
				t.Errorf("%d requests came from %d ports over %d connections, want %d", n, len(ports), srv.connCount(), want)
			}
		})
	}
}

// kaResponses are answers of every framing, served on one connection.
var kaResponses = map[string]string{
	"/cl":      "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 11\r\n\r\nhello world",
	"/chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n",
	"/trailer": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n",
	"/204":     "HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n",
	"/304":     "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 99\r\n\r\n",
	"/head":    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 12345\r\n\r\n",
	"/301":     "HTTP/1.1 301 Moved Permanently\r\nLocation: /cl\r\nContent-Length: 0\r\n\r\n",
	"/empty":   "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	"/100":     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
}

func init() {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, _ = io.WriteString(zw, "<p>zipped</p>")
	_ = zw.Close()
	kaResponses["/gzip"] = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " +
		strconv.Itoa(z.Len()) + "\r\n\r\n" + z.String()
	big := strings.Repeat("0123456789abcdef", 20000) // several reads
	kaResponses["/big"] = "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(big)) + "\r\n\r\n" + big
	var chunks strings.Builder
	for i := range 50 {
		s := strings.Repeat(string(rune('a'+i%26)), 1000+i)
		fmt.Fprintf(&chunks, "%x\r\n%s\r\n", len(s), s)
	}
	kaResponses["/bigchunked"] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks.String() + "0\r\n\r\n"
}

// serveKA answers each request with kaResponses, written in pieces (so
// that reads split heads, chunk lines and CRLFs), and keeps the
// connection.
func serveKA(c net.Conn, req []byte) bool {
	p, _, _ := strings.Cut(target(req), "?")
	resp, ok := kaResponses[p]
	if !ok {
		resp = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
	}
	for i := 0; i < len(resp); i += 7000 {
		_, _ = io.WriteString(c, resp[i:min(len(resp), i+7000)])
	}
	return true
}

// TestKeepAliveRecordsEachExchange sends a mix of framings, sizes and
// methods over one kept-alive connection, twice over in a shuffled order,
// and checks that each exchange's request and response bytes are exactly
// what crossed the wire for that request.
func TestKeepAliveRecordsEachExchange(t *testing.T) {
	srv := newKAServer(t, serveKA)
	tr := NewTransport(TransportOptions{MaxConnsPerHost: 1})
	defer tr.CloseIdleConnections()
	order := []string{"/cl", "/chunked", "/head", "/gzip", "/204", "/big", "/304", "/trailer", "/301", "/empty", "/bigchunked", "/100",
		"/bigchunked", "/head", "/big", "/204", "/cl", "/100", "/trailer", "/gzip", "/empty", "/304", "/chunked", "/301"}
	for i, p := range order {
		method := "GET"
		if p == "/head" {
			method = "HEAD"
		}
		x := do(t, tr, method, srv.url(p))
		want := kaResponses[p]
		head, body := want, ""
		if p == "/100" {
			head, body = want[:len(want)-2], "hi"
		} else if j := strings.Index(want, "\r\n\r\n"); j >= 0 {
			head, body = want[:j+4], want[j+4:]
		}
		if string(x.ResponseHead) != head {
			t.Errorf("%d %s: ResponseHead %q, want %q", i, p, x.ResponseHead, head)
		}
		if string(x.Body) != body {
			t.Errorf("%d %s: Body (%d bytes) differs from the %d sent", i, p, len(x.Body), len(body))
		}
		if x.Truncated != "" || x.Err != nil {
			t.Errorf("%d %s: Truncated %q Err %v", i, p, x.Truncated, x.Err)
		}
		got := srv.requests()
		if len(got) != i+1 {
			t.Fatalf("%d %s: server saw %d requests, want %d", i, p, len(got), i+1)
		}
		if !bytes.Equal(x.Request, got[i].raw) {
			t.Errorf("%d %s: stored request %q, server received %q", i, p, x.Request, got[i].raw)
		}
		if x.Method != method || target(x.Request) != p {
			t.Errorf("%d %s: Method %s, request-target %q", i, p, x.Method, target(x.Request))
		}
	}
	if n := srv.connCount(); n != 1 {
		t.Errorf("%d requests used %d connections, want 1", len(order), n)
	}
}

// TestKeepAliveConcurrentHosts runs exchanges to several hosts at once,
// a few connections each, and checks every record against the server's.
func TestKeepAliveConcurrentHosts(t *testing.T) {
	const hosts, perHost, each = 3, 2, 30
	paths := []string{"/cl", "/chunked", "/gzip", "/204", "/big", "/trailer", "/bigchunked", "/empty"}
	var srvs []*kaServer
	for range hosts {
		srvs = append(srvs, newKAServer(t, serveKA))
	}
	tr := NewTransport(TransportOptions{MaxConnsPerHost: perHost})
	defer tr.CloseIdleConnections()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var xs []*Exchange
	for h, srv := range srvs {
		for w := range perHost {
			wg.Go(func() {
				for i := range each {
					p := paths[(i+w+h)%len(paths)]
					req, _ := http.NewRequest("GET", srv.url(p+"?w="+strconv.Itoa(w)+"&i="+strconv.Itoa(i)), nil)
					id := fmt.Sprintf("%d-%d-%d", h, w, i)
					req.Header.Set(CaptureHeader, id)
					resp, err := tr.RoundTrip(req)
					if err != nil {
						t.Errorf("%s: %v", id, err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					x, _ := tr.Take(id)
					mu.Lock()
					xs = append(xs, x)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	sent := map[string][]byte{}
	for _, srv := range srvs {
		if n := srv.connCount(); n > perHost {
			t.Errorf("server saw %d connections, more than %d", n, perHost)
		}
		for _, r := range srv.requests() {
			sent[target(r.raw)+" "+strconv.Itoa(r.port)] = r.raw
		}
	}
	for _, x := range xs {
		tg := target(x.Request)
		p, _, _ := strings.Cut(tg, "?")
		want := kaResponses[p]
		if string(x.ResponseHead)+string(x.Body) != want {
			t.Errorf("%s: stored response differs from the one sent", tg)
		}
		found := false
		for k, raw := range sent {
			if strings.HasPrefix(k, tg+" ") && bytes.Equal(raw, x.Request) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: stored request %q was not received as such", tg, x.Request)
		}
	}
}

// TestKeepAliveMaxBodyCloses: a response cut at MaxBody closes its
// connection; the next request to the host opens another and is recorded
// whole.
func TestKeepAliveMaxBodyCloses(t *testing.T) {
	big := strings.Repeat("x", 50000)
	srv := newKAServer(t, func(c net.Conn, req []byte) bool {
		if target(req) == "/big" {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 50000\r\n\r\n"+big)
		} else {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsmall")
		}
		return true
	})
	tr := NewTransport(TransportOptions{MaxConnsPerHost: 1, MaxBody: 1000})
	defer tr.CloseIdleConnections()
	if x := do(t, tr, "GET", srv.url("/small")); string(x.Body) != "small" {
		t.Fatalf("first: %q", x.Body)
	}
	x := do(t, tr, "GET", srv.url("/big"))
	if x.Truncated != "length" || len(x.Body) != 1000 {
		t.Fatalf("big: Truncated %q, %d bytes", x.Truncated, len(x.Body))
	}
	x = do(t, tr, "GET", srv.url("/small"))
	if string(x.ResponseHead)+string(x.Body) != "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsmall" || x.Truncated != "" {
		t.Errorf("after the cut: head %q body %q truncated %q", x.ResponseHead, x.Body, x.Truncated)
	}
	got := srv.requests()
	if len(got) != 3 || got[1].conn != 1 || got[2].conn != 2 {
		t.Fatalf("requests by connection: %+v, want the third on a new connection", got)
	}
	if !bytes.Equal(x.Request, got[2].raw) {
		t.Errorf("stored request %q, received %q", x.Request, got[2].raw)
	}
}

// TestKeepAliveServerCloses: a server that closes a kept-alive connection
// (idle, with Connection: close, or just as the next request is sent) is
// met with a new connection, and the next record holds nothing of the old.
func TestKeepAliveServerCloses(t *testing.T) {
	const first = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
	tests := []struct {
		name  string
		after func(c net.Conn) bool // after the first answer; false closes
		pause time.Duration         // before the second request
	}{
		{"closes when idle", func(c net.Conn) bool { return false }, 50 * time.Millisecond},
		{"closes as the next request comes", func(c net.Conn) bool { time.Sleep(30 * time.Millisecond); return false }, 0},
		{"resets", func(c net.Conn) bool { _ = c.(*net.TCPConn).SetLinger(0); return false }, 20 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newKAServer(t, func(c net.Conn, req []byte) bool {
				if target(req) == "/first" {
					_, _ = io.WriteString(c, first)
					return tc.after(c)
				}
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")
				return true
			})
			tr := NewTransport(TransportOptions{MaxConnsPerHost: 1})
			defer tr.CloseIdleConnections()
			do(t, tr, "GET", srv.url("/first"))
			time.Sleep(tc.pause)
			x := do(t, tr, "GET", srv.url("/second"))
			if string(x.ResponseHead)+string(x.Body) != "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond" || x.Truncated != "" {
				t.Errorf("second: head %q body %q truncated %q", x.ResponseHead, x.Body, x.Truncated)
			}
			got := srv.requests()
			last := got[len(got)-1]
			if target(last.raw) != "/second" || last.conn != 2 || !bytes.Equal(x.Request, last.raw) {
				t.Errorf("second request: stored %q; server's last %q on connection %d", x.Request, last.raw, last.conn)
			}
		})
	}
	t.Run("Connection: close", func(t *testing.T) {
		srv := newKAServer(t, func(c net.Conn, req []byte) bool {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
			return true // the server would go on: the client must not
		})
		tr := NewTransport(TransportOptions{MaxConnsPerHost: 1})
		defer tr.CloseIdleConnections()
		for range 3 {
			if x := do(t, tr, "GET", srv.url("/")); string(x.Body) != "ok" {
				t.Errorf("Body %q", x.Body)
			}
		}
		if n := srv.connCount(); n != 3 {
			t.Errorf("%d connections for 3 answers with Connection: close, want 3", n)
		}
	})
}

// TestKeepAliveStrayBytes: bytes a server sends beyond its message (a lying
// Content-Length, junk after a chunked body or a 204, an unsolicited answer
// while idle) never reach the next exchange's record nor its parser.
func TestKeepAliveStrayBytes(t *testing.T) {
	const fake = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nFAKE"
	tests := []struct {
		name      string
		answer    string // to /first, in one write
		later     string // written 20 ms after it, if any
		wantHead  string
		wantBody  string
		sameWrite bool
	}{
		{name: "longer than Content-Length", answer: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" + fake,
			wantHead: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", wantBody: "hello"},
		{name: "longer than Content-Length, later", answer: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", later: fake,
			wantHead: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", wantBody: "hello"},
		{name: "after the last chunk", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n" + fake,
			wantHead: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", wantBody: "2\r\nok\r\n0\r\n\r\n"},
		{name: "a body on a 204", answer: "HTTP/1.1 204 No Content\r\nContent-Length: 4\r\n\r\n" + "FAKE" + fake,
			wantHead: "HTTP/1.1 204 No Content\r\nContent-Length: 4\r\n\r\n"},
		{name: "a body on a HEAD answer", answer: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nFAKE",
			wantHead: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logged bytes.Buffer
			log.SetOutput(&logged)
			defer log.SetOutput(io.Discard)
			srv := newKAServer(t, func(c net.Conn, req []byte) bool {
				if target(req) == "/first" {
					_, _ = io.WriteString(c, tc.answer)
					if tc.later != "" {
						time.Sleep(20 * time.Millisecond)
						_, _ = io.WriteString(c, tc.later)
					}
					return true
				}
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")
				return true
			})
			tr := NewTransport(TransportOptions{MaxConnsPerHost: 1})
			defer tr.CloseIdleConnections()
			method := "GET"
			if strings.Contains(tc.name, "HEAD") {
				method = "HEAD"
			}
			x := do(t, tr, method, srv.url("/first"))
			if string(x.ResponseHead) != tc.wantHead || string(x.Body) != tc.wantBody || x.Truncated != "" {
				t.Errorf("first: head %q body %q truncated %q", x.ResponseHead, x.Body, x.Truncated)
			}
			time.Sleep(40 * time.Millisecond)
			for i := range 3 {
				x = do(t, tr, "GET", srv.url("/second"))
				if string(x.ResponseHead)+string(x.Body) != "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond" {
					t.Errorf("second #%d: head %q body %q", i, x.ResponseHead, x.Body)
				}
			}
			got := srv.requests()
			if got[1].conn == 1 {
				t.Errorf("the connection that carried stray bytes was reused")
			}
			if got[2].conn != got[1].conn || got[3].conn != got[1].conn {
				t.Errorf("clean answers did not keep their connection: %d %d %d", got[1].conn, got[2].conn, got[3].conn)
			}
			if strings.Contains(logged.String(), "Unsolicited") {
				t.Errorf("net/http saw the stray bytes: %s", logged.String())
			}
		})
	}
}

// TestKeepAliveSilentServerNotAskedTwice: when a reused connection's server
// never answers, the exchange fails at its timeout and net/http does not
// send the request again on a fresh connection.
func TestKeepAliveSilentServerNotAskedTwice(t *testing.T) {
	srv := newKAServer(t, func(c net.Conn, req []byte) bool {
		if target(req) == "/silent" {
			_, _ = io.Copy(io.Discard, c)
			return false
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	tr := NewTransport(TransportOptions{MaxConnsPerHost: 1, Timeout: 400 * time.Millisecond})
	defer tr.CloseIdleConnections()
	do(t, tr, "GET", srv.url("/ok"))
	req, _ := http.NewRequest("GET", srv.url("/silent"), nil)
	req.Header.Set(CaptureHeader, "s")
	start := time.Now()
	if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s", took)
	}
	time.Sleep(50 * time.Millisecond)
	n := 0
	for _, r := range srv.requests() {
		if target(r.raw) == "/silent" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the silent server was asked %d times, want once", n)
	}
	if x, ok := tr.Take("s"); !ok || x.Err == nil || !bytes.HasPrefix(x.Request, []byte("GET /silent ")) {
		t.Errorf("failed exchange: ok %v %+v", ok, x)
	}
}

// TestKeepAliveTLS: kept-alive TLS connections are recorded in plaintext,
// each exchange on its own.
func TestKeepAliveTLS(t *testing.T) {
	var mu sync.Mutex
	conns := 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "page "+r.URL.Path)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	tr := NewTransport(TransportOptions{Insecure: true, MaxConnsPerHost: 1})
	defer tr.CloseIdleConnections()
	for i := range 5 {
		p := "/" + strconv.Itoa(i)
		x := do(t, tr, "GET", srv.URL+p)
		if string(x.Body) != "page "+p || !bytes.HasPrefix(x.Request, []byte("GET "+p+" HTTP/1.1\r\n")) || x.IP != "127.0.0.1" {
			t.Errorf("%s: Body %q Request %q IP %q", p, x.Body, x.Request, x.IP)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 1 {
		t.Errorf("%d TLS connections for 5 requests, want 1", conns)
	}
}

// TestKeepAliveNoLeaks: once idle connections are closed, no goroutine of
// the transport is left.
func TestKeepAliveNoLeaks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("y", 3000))
	}))
	defer srv.Close()
	srvTLS := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "tls")
	}))
	srvTLS.Config.ErrorLog = log.New(io.Discard, "", 0)
	defer srvTLS.Close()
	tr := NewTransport(TransportOptions{Insecure: true, MaxConnsPerHost: 2})
	for i := range 10 {
		do(t, tr, "GET", srv.URL+"/"+strconv.Itoa(i))
		do(t, tr, "GET", srvTLS.URL+"/"+strconv.Itoa(i))
	}
	tr.CloseIdleConnections()
}

// TestKeepAliveCancelledDial: a request cancelled while its connection is
// being dialled leaves the connection idle, unbound, and usable by the next.
func TestKeepAliveCancelledDial(t *testing.T) {
	srv := newKAServer(t, serveKA)
	slow := make(chan struct{})
	tr := NewTransport(TransportOptions{MaxConnsPerHost: 1, LookupHost: func(ctx context.Context, host string) ([]string, error) {
		<-slow
		return []string{"127.0.0.1"}, nil
	}})
	defer tr.CloseIdleConnections()
	_, port, _ := net.SplitHostPort(srv.ln.Addr().String())
	u := "http://slow.test:" + port + "/cl"
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	req.Header.Set(CaptureHeader, "c")
	done := make(chan error)
	go func() {
		_, err := tr.RoundTrip(req)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-done; err == nil {
		t.Fatal("cancelled request succeeded")
	}
	close(slow)
	time.Sleep(20 * time.Millisecond)
	x := do(t, tr, "GET", u)
	if string(x.ResponseHead)+string(x.Body) != kaResponses["/cl"] {
		t.Errorf("after a cancelled dial: %q %q", x.ResponseHead, x.Body)
	}
	if got := srv.requests(); len(got) != 1 || !bytes.Equal(got[0].raw, x.Request) {
		t.Errorf("server received %d requests; stored %q", len(got), x.Request)
	}
}
