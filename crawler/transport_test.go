package crawler

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
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

// rawServer is a TCP server on loopback that reads one request per
// connection, records its exact bytes, and lets a handler write any bytes.
type rawServer struct {
	ln   net.Listener
	reqs chan []byte
	wg   sync.WaitGroup
}

func newRawServer(t *testing.T, addr string, handle func(c net.Conn, req []byte)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	s := &rawServer{ln: ln, reqs: make(chan []byte, 64)}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(20 * time.Second))
				req, err := readRequest(c)
				if err != nil {
					return
				}
				s.reqs <- req
				handle(c, req)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// readRequest reads a request head and a Content-Length body byte for byte.
func readRequest(c net.Conn) ([]byte, error) {
	var buf []byte
	one := make([]byte, 1)
	for !bytes.HasSuffix(buf, []byte("\r\n\r\n")) {
		if _, err := c.Read(one); err != nil {
			return nil, err
		}
		buf = append(buf, one[0])
	}
	for _, line := range strings.Split(string(buf), "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(k, "Content-Length") {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			body := make([]byte, n)
			if _, err := io.ReadFull(c, body); err != nil {
				return nil, err
			}
			buf = append(buf, body...)
		}
	}
	return buf, nil
}

func (s *rawServer) url() string { return "http://" + s.ln.Addr().String() + "/" }

// writes returns a handler that writes b and closes.
func writes(b string) func(net.Conn, []byte) {
	return func(c net.Conn, _ []byte) { _, _ = io.WriteString(c, b) }
}

// fetch sends a GET through tr with a capture id, reads the body as colly
// does (io.ReadAll, then Close) and returns what the parser saw and the
// Exchange.
//
//lint:ignore ST1008 readErr is a result under test, not this helper's failure.
func fetch(t *testing.T, tr *Transport, url string, hdr ...string) (parsed []byte, readErr error, resp *http.Response, x *Exchange) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	req.Header.Set(CaptureHeader, "x1")
	resp, err = tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("RoundTrip: %v", err)
	}
	parsed, readErr = io.ReadAll(resp.Body)
	if err := resp.Body.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	x, ok := tr.Take("x1")
	if !ok {
		t.Fatal("Take: no exchange after Close")
	}
	if _, again := tr.Take("x1"); again {
		t.Error("Take returned the exchange twice")
	}
	return parsed, readErr, resp, x
}

func gz(t testing.TB, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = io.WriteString(zw, s)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestTransportFidelity(t *testing.T) {
	page := "<html><body>hello, gzip</body></html>"
	zipped := gz(t, page)
	tests := []struct {
		name       string
		head       string
		body       string
		parsed     string
		status     int
		wantHeader map[string][]string
		respHeader map[string]string // headers the parser sees ("" = absent)
		extra      string            // sent after the message, not part of it
	}{
		{
			name:   "order case duplicates and reason phrase",
			head:   "HTTP/1.1 200 Okay-ish\r\nx-lower: a\r\nX-UPPER: b\r\nSet-Cookie: a=1\r\nContent-Length: 5\r\nSet-Cookie: b=2\r\n\r\n",
			body:   "hello",
			parsed: "hello",
			status: 200,
			wantHeader: map[string][]string{
				"X-Lower":    {"a"},
				"X-Upper":    {"b"},
				"Set-Cookie": {"a=1", "b=2"},
			},
		},
		{
			name:   "chunked framing kept",
			head:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n",
			body:   "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n",
			parsed: "hello, world",
			status: 200,
		},
		{
			name:       "gzip kept raw",
			head:       "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " + strconv.Itoa(len(zipped)) + "\r\n\r\n",
			body:       zipped,
			parsed:     page,
			status:     200,
			wantHeader: map[string][]string{"Content-Encoding": {"gzip"}},
			respHeader: map[string]string{"Content-Encoding": "", "Content-Length": ""},
		},
		{
			name:   "latin-1 bytes unchanged",
			head:   "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=ISO-8859-1\r\nContent-Length: 10\r\n\r\n",
			body:   "caf\xe9 na\xefve",
			parsed: "caf\xe9 na\xefve",
			status: 200,
		},
		{
			name:   "gbk bytes unchanged, close-delimited",
			head:   "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=GBK\r\n\r\n",
			body:   "\xd6\xd0\xce\xc4\xca\xfd\xd7\xd6",
			parsed: "\xd6\xd0\xce\xc4\xca\xfd\xd7\xd6",
			status: 200,
		},
		{
			name:       "301 is an exchange, not followed",
			head:       "HTTP/1.1 301 Moved Permanently\r\nLocation: /elsewhere\r\nContent-Length: 4\r\n\r\n",
			body:       "gone",
			parsed:     "gone",
			status:     301,
			wantHeader: map[string][]string{"Location": {"/elsewhere"}},
		},
		{
			name:   "interim 100 Continue kept in head",
			head:   "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
			body:   "ok",
			parsed: "ok",
			status: 200,
		},
		{
			name:   "bytes past Content-Length dropped",
			head:   "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",
			body:   "abc",
			parsed: "abc",
			status: 200,
			extra:  "JUNK",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRawServer(t, "127.0.0.1:0", writes(tc.head+tc.body+tc.extra))
			tr := NewTransport(TransportOptions{})
			parsed, readErr, resp, x := fetch(t, tr, srv.url())
			if readErr != nil {
				t.Errorf("parser read error: %v", readErr)
			}
			if x.Err != nil {
				t.Errorf("Exchange.Err = %v", x.Err)
			}
			if got := string(x.ResponseHead); got != tc.head {
				t.Errorf("ResponseHead = %q, want %q", got, tc.head)
			}
			if got := string(x.Body); got != tc.body {
				t.Errorf("Body = %q, want %q", got, tc.body)
			}
			if string(parsed) != tc.parsed {
				t.Errorf("parser got %q, want %q", parsed, tc.parsed)
			}
			if x.Status != tc.status || resp.StatusCode != tc.status {
				t.Errorf("status = %d / %d, want %d", x.Status, resp.StatusCode, tc.status)
			}
			if x.Truncated != "" {
				t.Errorf("Truncated = %q", x.Truncated)
			}
			for k, want := range tc.wantHeader {
				if got := x.Header.Values(k); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("Exchange.Header[%s] = %q, want %q", k, got, want)
				}
			}
			for k, want := range tc.respHeader {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("resp.Header[%s] = %q, want %q", k, got, want)
				}
			}
			if x.URL != srv.url() || x.Method != "GET" {
				t.Errorf("URL, Method = %q, %q", x.URL, x.Method)
			}
		})
	}
}

func TestTransportRequestAsSent(t *testing.T) {
	tests := []struct {
		name   string
		method string
		body   string
		hdr    [][2]string
	}{
		{name: "GET with headers", method: "GET", hdr: [][2]string{{"User-Agent", "amber/0.1 (+mailto:ops@example.test)"}, {"Accept", "*/*"}, {"If-None-Match", `"abc"`}}},
		{name: "POST with body", method: "POST", body: "a=1&b=%E9", hdr: [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRawServer(t, "127.0.0.1:0", writes("HTTP/1.1 204 No Content\r\n\r\n"))
			tr := NewTransport(TransportOptions{})
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, err := http.NewRequest(tc.method, srv.url()+"path?q=1", body)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range tc.hdr {
				req.Header.Set(h[0], h[1])
			}
			req.Header.Set(CaptureHeader, "r")
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if req.Header.Get(CaptureHeader) != "r" {
				t.Error("RoundTrip modified the caller's request")
			}
			x, ok := tr.Take("r")
			if !ok {
				t.Fatal("no exchange")
			}
			got := <-srv.reqs
			if !bytes.Equal(x.Request, got) {
				t.Errorf("recorded request differs from what the server received:\nrecorded %q\nreceived %q", x.Request, got)
			}
			if bytes.Contains(bytes.ToLower(got), []byte("x-amber-capture")) {
				t.Errorf("capture header reached the wire: %q", got)
			}
			if bytes.Contains(got, []byte("Accept-Encoding")) {
				t.Errorf("transport injected Accept-Encoding: %q", got)
			}
			if !bytes.HasPrefix(got, []byte(tc.method+" /path?q=1 HTTP/1.1\r\nHost: ")) {
				t.Errorf("request line: %q", got)
			}
			if !bytes.HasSuffix(got, []byte("\r\n\r\n"+tc.body)) {
				t.Errorf("request body not recorded: %q", got)
			}
			if x.Status != 204 || len(x.Body) != 0 {
				t.Errorf("Status %d Body %q", x.Status, x.Body)
			}
		})
	}
}

func TestTransportRedirectHopsViaClient(t *testing.T) {
	srv := newRawServer(t, "127.0.0.1:0", func(c net.Conn, req []byte) {
		if bytes.HasPrefix(req, []byte("GET /old ")) {
			_, _ = io.WriteString(c, "HTTP/1.1 301 Moved\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n")
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nnew")
	})
	tr := NewTransport(TransportOptions{})
	req, _ := http.NewRequest("GET", srv.url()+"old", nil)
	req.Header.Set(CaptureHeader, "hop")

	// The transport itself never follows.
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	x, _ := tr.Take("hop")
	if x.Status != 301 || x.Header.Get("Location") != "/new" || len(srv.reqs) != 1 {
		t.Fatalf("RoundTrip: status %d location %q requests %d", x.Status, x.Header.Get("Location"), len(srv.reqs))
	}
	<-srv.reqs

	// A following client copies the header: both hops, in order.
	resp, err = (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	var got []int
	for {
		x, ok := tr.Take("hop")
		if !ok {
			break
		}
		got = append(got, x.Status)
	}
	if fmt.Sprint(got) != "[301 200]" {
		t.Errorf("hops = %v, want [301 200]", got)
	}
}

func TestTransportIPAndTiming(t *testing.T) {
	const delay = 150 * time.Millisecond
	srv := newRawServer(t, "127.0.0.1:0", func(c net.Conn, _ []byte) {
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")
		time.Sleep(delay)
		_, _ = io.WriteString(c, "world")
	})
	tr := NewTransport(TransportOptions{})
	before := time.Now()
	parsed, _, _, x := fetch(t, tr, srv.url())
	after := time.Now()
	if string(parsed) != "helloworld" {
		t.Errorf("parsed %q", parsed)
	}
	if x.IP != "127.0.0.1" {
		t.Errorf("IP = %q", x.IP)
	}
	if x.Start.Before(before) || x.Start.After(after) {
		t.Errorf("Start %v not within [%v, %v]", x.Start, before, after)
	}
	if x.Duration < delay || x.Duration > after.Sub(before) {
		t.Errorf("Duration %v, want >= %v and <= %v", x.Duration, delay, after.Sub(before))
	}
}

func TestTransportResolve(t *testing.T) {
	srv := newRawServer(t, "127.0.0.2:0", writes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"))
	_, port, _ := net.SplitHostPort(srv.ln.Addr().String())
	tests := []struct {
		name    string
		resolve map[string]string
	}{
		{"host:port to ip:port", map[string]string{"example.test:" + port: "127.0.0.2:" + port}},
		{"host to ip", map[string]string{"example.test": "127.0.0.2"}},
		{"case-insensitive key", map[string]string{"EXAMPLE.test": "127.0.0.2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTransport(TransportOptions{
				Resolve: tc.resolve,
				LookupHost: func(_ context.Context, host string) ([]string, error) {
					t.Errorf("DNS lookup of %q", host)
					return nil, errors.New("no DNS in tests")
				},
			})
			parsed, _, _, x := fetch(t, tr, "http://example.test:"+port+"/")
			if string(parsed) != "hi" || x.IP != "127.0.0.2" {
				t.Errorf("parsed %q IP %q", parsed, x.IP)
			}
			got := <-srv.reqs
			if !bytes.Contains(got, []byte("\r\nHost: example.test:"+port+"\r\n")) {
				t.Errorf("Host header: %q", got)
			}
		})
	}
}

func TestTransportTruncation(t *testing.T) {
	const mib = 1 << 20
	big := bytes.Repeat([]byte("0123456789abcdef"), mib/16)
	tests := []struct {
		name      string
		opts      TransportOptions
		handle    func(net.Conn, []byte)
		trunc     string
		bodyLen   int // -1: don't check
		parsedLen int // -1: don't check
		maxTime   time.Duration
	}{
		{
			name: "length, Content-Length",
			opts: TransportOptions{MaxBody: 100 << 10},
			handle: func(c net.Conn, _ []byte) {
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(big))
				_, _ = c.Write(big)
			},
			trunc: "length", bodyLen: 100 << 10, parsedLen: 100 << 10,
		},
		{
			name: "length, close-delimited",
			opts: TransportOptions{MaxBody: 100 << 10},
			handle: func(c net.Conn, _ []byte) {
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n")
				_, _ = c.Write(big)
			},
			trunc: "length", bodyLen: 100 << 10, parsedLen: 100 << 10,
		},
		{
			name: "length, chunked",
			opts: TransportOptions{MaxBody: 100 << 10},
			handle: func(c net.Conn, _ []byte) {
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
				for i := 0; i < 64; i++ {
					fmt.Fprintf(c, "4000\r\n%s\r\n", big[:0x4000])
				}
				_, _ = io.WriteString(c, "0\r\n\r\n")
			},
			trunc: "length", bodyLen: 100 << 10, parsedLen: -1,
		},
		{
			name: "exactly MaxBody is not truncated",
			opts: TransportOptions{MaxBody: 100},
			handle: func(c net.Conn, _ []byte) {
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n%s", big[:100])
			},
			trunc: "", bodyLen: 100, parsedLen: 100,
		},
		{
			name: "disconnect, Content-Length longer than sent",
			handle: func(c net.Conn, _ []byte) {
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly this")
			},
			trunc: "disconnect", bodyLen: 9, parsedLen: 9,
		},
		{
			name: "disconnect, chunked stream cut",
			handle: func(c net.Conn, _ []byte) {
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10\r\nabc")
			},
			trunc: "disconnect", bodyLen: len("5\r\nhello\r\n10\r\nabc"), parsedLen: -1,
		},
		{
			name: "disconnect, reset mid-body",
			handle: func(c net.Conn, _ []byte) {
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
				time.Sleep(50 * time.Millisecond)
				_ = c.(*net.TCPConn).SetLinger(0) // Close sends RST
			},
			trunc: "disconnect", bodyLen: 7, parsedLen: 7,
		},
		{
			name: "time, drip then stall",
			opts: TransportOptions{Timeout: 1500 * time.Millisecond},
			handle: func(c net.Conn, _ []byte) {
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
				for i := 0; i < 3; i++ {
					_, _ = io.WriteString(c, "drip")
					time.Sleep(50 * time.Millisecond)
				}
				_, _ = io.Copy(io.Discard, c) // stall until the client gives up

			},
			trunc: "time", bodyLen: 12, parsedLen: 12, maxTime: 4 * time.Second,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRawServer(t, "127.0.0.1:0", tc.handle)
			tr := NewTransport(tc.opts)
			start := time.Now()
			parsed, readErr, _, x := fetch(t, tr, srv.url())
			if tc.maxTime > 0 && time.Since(start) > tc.maxTime {
				t.Errorf("took %v, want < %v", time.Since(start), tc.maxTime)
			}
			if readErr != nil {
				t.Errorf("parser saw %v, want clean EOF", readErr)
			}
			if x.Truncated != tc.trunc {
				t.Errorf("Truncated = %q, want %q", x.Truncated, tc.trunc)
			}
			if tc.bodyLen >= 0 && len(x.Body) != tc.bodyLen {
				t.Errorf("len(Body) = %d, want %d", len(x.Body), tc.bodyLen)
			}
			if tc.parsedLen >= 0 && len(parsed) != tc.parsedLen {
				t.Errorf("parser got %d bytes, want %d", len(parsed), tc.parsedLen)
			}
			if !bytes.HasPrefix(x.ResponseHead, []byte("HTTP/1.1 200 OK\r\n")) || !bytes.HasSuffix(x.ResponseHead, []byte("\r\n\r\n")) {
				t.Errorf("ResponseHead = %q", x.ResponseHead)
			}
		})
	}
}

func TestTransportCloseWithoutReading(t *testing.T) {
	body := strings.Repeat("x", 50000)
	srv := newRawServer(t, "127.0.0.1:0", writes("HTTP/1.1 200 OK\r\nContent-Length: 50000\r\n\r\n"+body))
	tr := NewTransport(TransportOptions{})
	req, _ := http.NewRequest("GET", srv.url(), nil)
	req.Header.Set(CaptureHeader, "c")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tr.Take("c"); ok {
		t.Error("exchange available before Close")
	}
	resp.Body.Close()
	x, ok := tr.Take("c")
	if !ok || string(x.Body) != body || x.Truncated != "" {
		t.Errorf("ok %v, len(Body) %d, Truncated %q", ok, len(x.Body), x.Truncated)
	}
	if _, err := resp.Body.Read(make([]byte, 1)); !errors.Is(err, http.ErrBodyReadAfterClose) {
		t.Errorf("read after close: %v", err)
	}
}

func TestTransportCancelMidBody(t *testing.T) {
	srv := newRawServer(t, "127.0.0.1:0", func(c net.Conn, _ []byte) {
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nstart")
		_, _ = io.Copy(io.Discard, c)
	})
	tr := NewTransport(TransportOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.url(), nil)
	req.Header.Set(CaptureHeader, "k")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("after cancel the parser saw %v, want context.Canceled", err)
	}
	x, ok := tr.Take("k")
	if !ok || x.Truncated != "disconnect" || string(x.Body) != "start" {
		t.Errorf("ok %v, Truncated %q, Body %q", ok, x.Truncated, x.Body)
	}
}

func TestTransportDialErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	tests := []struct {
		name string
		url  string
		opts TransportOptions
		want string
	}{
		{name: "refused", url: "http://" + closed + "/", want: "connection refused"},
		{
			name: "unknown host",
			url:  "http://nowhere.test/",
			opts: TransportOptions{LookupHost: func(_ context.Context, host string) ([]string, error) {
				return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
			}},
			want: "lookup nowhere.test: no such host",
		},
		{
			name: "timeout before head",
			url:  "", // set below: a server that never answers
			opts: TransportOptions{Timeout: 300 * time.Millisecond},
			want: "timeout",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.url == "" {
				srv := newRawServer(t, "127.0.0.1:0", func(c net.Conn, _ []byte) { _, _ = io.Copy(io.Discard, c) })
				tc.url = srv.url()
			}
			tr := NewTransport(tc.opts)
			req, _ := http.NewRequest("GET", tc.url, nil)
			req.Header.Set(CaptureHeader, "e")
			resp, err := tr.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("RoundTrip succeeded")
			}
			if !strings.HasPrefix(err.Error(), "crawler: GET ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			x, ok := tr.Take("e")
			if !ok || x.Err == nil || x.Err.Error() != err.Error() {
				t.Fatalf("Take: ok %v, Exchange %+v", ok, x)
			}
			if x.Status != 0 || x.Body != nil {
				t.Errorf("failed exchange has Status %d Body %q", x.Status, x.Body)
			}
		})
	}
}

func TestTransportTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 1 {
			t.Errorf("server saw %s", r.Proto)
		}
		w.Header().Set("X-Mixed-Case", "yes")
		_, _ = io.WriteString(w, "secret page")
	}))
	srv.EnableHTTP2 = true // offered; the transport must still speak HTTP/1.1
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	tests := []struct {
		name     string
		url      string
		insecure bool
		wantErr  string
	}{
		{name: "bad certificate by default", url: srv.URL + "/", wantErr: "certificate"},
		{name: "insecure accepts", url: srv.URL + "/", insecure: true},
		{name: "insecure via resolve", url: "https://secure.test:" + port + "/", insecure: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTransport(TransportOptions{
				Insecure: tc.insecure,
				Resolve:  map[string]string{"secure.test": "127.0.0.1"},
			})
			req, _ := http.NewRequest("GET", tc.url, nil)
			req.Header.Set(CaptureHeader, "tls")
			resp, err := tr.RoundTrip(req)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if x, ok := tr.Take("tls"); !ok || x.Err == nil {
					t.Errorf("no failed exchange recorded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			x, _ := tr.Take("tls")
			if string(b) != "secret page" || string(x.Body) != "secret page" {
				t.Errorf("parsed %q, Body %q", b, x.Body)
			}
			if !bytes.HasPrefix(x.Request, []byte("GET / HTTP/1.1\r\n")) {
				t.Errorf("Request not plaintext: %q", x.Request)
			}
			if !bytes.HasPrefix(x.ResponseHead, []byte("HTTP/1.1 200 OK\r\n")) || !bytes.Contains(x.ResponseHead, []byte("X-Mixed-Case: yes\r\n")) {
				t.Errorf("ResponseHead not plaintext: %q", x.ResponseHead)
			}
			if x.IP != "127.0.0.1" {
				t.Errorf("IP %q", x.IP)
			}
		})
	}
}

func TestTransportContentCodingEdges(t *testing.T) {
	// A gzip bomb: one member of 4 MiB of zeros, repeated to 1 GiB decoded
	// (gzip readers are multistream), about 1 MiB on the wire.
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	_, _ = zw.Write(make([]byte, 4<<20))
	_ = zw.Close()
	bomb := bytes.Repeat(member.Bytes(), 256)

	tests := []struct {
		name      string
		encoding  string
		body      []byte
		opts      TransportOptions
		parsed    string // exact text the parser gets, when parsedLen < 0
		parsedLen int
	}{
		{name: "says gzip, is not", encoding: "gzip", body: []byte("<html>plain</html>"), parsed: "<html>plain</html>", parsedLen: -1},
		{name: "says gzip, bad header after magic", encoding: "gzip", body: []byte("\x1f\x8bnot really"), parsed: "\x1f\x8bnot really", parsedLen: -1},
		{name: "says deflate, is not", encoding: "deflate", body: []byte("plain text here"), parsed: "plain text here", parsedLen: -1},
		{name: "unknown coding passed through", encoding: "compress", body: []byte("\x1f\x9dxyz"), parsed: "\x1f\x9dxyz", parsedLen: -1},
		{name: "empty gzip body", encoding: "gzip", body: nil, parsed: "", parsedLen: -1},
		{name: "gzip bomb capped at 8x MaxBody", encoding: "gzip", body: bomb, opts: TransportOptions{MaxBody: 2 << 20}, parsedLen: 16 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			head := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n", tc.encoding, len(tc.body))
			srv := newRawServer(t, "127.0.0.1:0", writes(head+string(tc.body)))
			tr := NewTransport(tc.opts)
			req, _ := http.NewRequest("GET", srv.url(), nil)
			req.Header.Set(CaptureHeader, "z")
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			var parsed bytes.Buffer
			var n int64
			if tc.parsedLen >= 0 {
				n, err = io.Copy(io.Discard, resp.Body)
			} else {
				n, err = io.Copy(&parsed, resp.Body)
			}
			resp.Body.Close()
			if err != nil {
				t.Errorf("parser read error: %v", err)
			}
			if tc.parsedLen >= 0 && n != int64(tc.parsedLen) {
				t.Errorf("parser got %d bytes, want %d", n, tc.parsedLen)
			}
			if tc.parsedLen < 0 && parsed.String() != tc.parsed {
				t.Errorf("parser got %q, want %q", parsed.String(), tc.parsed)
			}
			x, _ := tr.Take("z")
			if !bytes.Equal(x.Body, tc.body) || x.Truncated != "" {
				t.Errorf("raw Body changed (len %d, want %d), Truncated %q", len(x.Body), len(tc.body), x.Truncated)
			}
		})
	}
}

func TestTransportNoLeaks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("y", 10000))
	}))
	defer srv.Close()
	tr := NewTransport(TransportOptions{MaxBody: 1000})
	for i := 0; i < 20; i++ {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set(CaptureHeader, strconv.Itoa(i))
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			_, _ = io.ReadAll(resp.Body)
		}
		resp.Body.Close()
		if x, ok := tr.Take(strconv.Itoa(i)); !ok || x.Truncated != "length" {
			t.Fatalf("exchange %d: ok %v", i, ok)
		}
	}
	srv.Close()
}

func BenchmarkTransport(b *testing.B) {
	page := bytes.Repeat([]byte("<p>twenty kilobytes of news</p>\n"), 20000/32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write(page)
	}))
	defer srv.Close()
	tr := NewTransport(TransportOptions{})
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		id := strconv.Itoa(i)
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set(CaptureHeader, id)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, bufio.NewReader(resp.Body)); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if _, ok := tr.Take(id); !ok {
			b.Fatal("no exchange")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "exchanges/s")
}
