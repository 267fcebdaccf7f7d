package crawler

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// CaptureHeader names the request header by which a caller of [Transport]
// identifies an exchange. colly builds its requests itself, with its own
// context, so a header is the one per-request channel from the crawler to the
// transport. RoundTrip removes it before sending: it never reaches the wire.
const CaptureHeader = "X-Amber-Capture"

// Defaults for [TransportOptions].
const (
	// DefaultDialTimeout bounds one TCP connect when DialTimeout is zero.
	DefaultDialTimeout = 10 * time.Second
	// DefaultTimeout bounds one whole exchange when Timeout is zero.
	DefaultTimeout = 60 * time.Second
	// readIdle bounds each read from the connection, so a server that stalls
	// mid-body is noticed long before the whole-exchange Timeout.
	readIdle = 30 * time.Second
	// maxDecoded caps the parser's decoded copy of a body when MaxBody is 0,
	// and 8×MaxBody caps it otherwise (whichever is smaller), so a gzip bomb
	// cannot exhaust memory.
	maxDecoded = 256 << 20
	// maxHead caps the response status line and headers.
	maxHead = 1 << 20
	// maxSniff caps the raw bytes kept to fall back on when a body that
	// claims a content-coding does not decode.
	maxSniff = 64 << 10
)

// TransportOptions configures a [Transport]. The zero value works: it uses
// DNS, default timeouts and no body cap.
type TransportOptions struct {
	// Resolve maps "host:port" or "host" to "ip:port" or "ip", like curl's
	// --resolve. A host found here is never looked up in DNS. "host:port"
	// is consulted first; keys are case-insensitive.
	Resolve map[string]string
	// DialTimeout bounds one TCP connect (default 10s).
	DialTimeout time.Duration
	// Timeout bounds the whole exchange, TLS handshake and body included
	// (default 60s). Each read also has an idle deadline of 30s.
	Timeout time.Duration
	// MaxBody caps the raw body bytes read and stored; 0 means no cap. The
	// caller sets the crawl's default (64 MiB).
	MaxBody int64
	// Insecure accepts invalid TLS certificates. The caller records it.
	Insecure bool
	// Now is the clock for Exchange.Start and Duration (default time.Now).
	// Connection deadlines always use the real clock.
	Now func() time.Time
	// LookupHost resolves names not in Resolve (default
	// net.DefaultResolver.LookupHost).
	LookupHost func(ctx context.Context, host string) ([]string, error)
}

// Exchange is what one request and its response looked like on the wire.
type Exchange struct {
	URL          string        // the URL requested
	Method       string        // the request method
	Start        time.Time     // before dialling
	Duration     time.Duration // from Start to the last byte read
	IP           string        // remote IP address, without port
	Request      []byte        // the exact bytes written to the connection
	ResponseHead []byte        // status line and headers as read, through the blank line (interim 1xx heads included)
	Body         []byte        // raw body as read: chunked framing and content-coding kept, cut at MaxBody
	Truncated    string        // "", "length", "time" or "disconnect" (see archive.TruncLength and friends)
	Status       int           // final status code
	Header       http.Header   // parsed response headers as received (Content-Encoding kept)
	Err          error         // set when no response was received at all (dial, TLS, timeout before the head)
}

// Transport is an [http.RoundTripper] that records each exchange exactly as
// it crossed the wire: it dials through a tee on the connection (the
// plaintext side of TLS), speaks HTTP/1.1 only, one exchange per connection,
// and never adds Accept-Encoding. It follows no redirects: a 3xx is an
// exchange like any other, and the caller's http.Client decides.
//
// The response returned to the caller has a Body that yields the decoded
// entity (gzip, deflate, br and zstd content-codings removed, with
// Content-Encoding and Content-Length deleted and Uncompressed set), while
// the [Exchange] keeps the raw bytes. A body that claims a coding but does
// not decode is handed over raw. Whenever the raw body ends early (MaxBody,
// a stalled or reset connection) the Body reports a clean io.EOF, so the
// parser can use what arrived; the Exchange's Truncated field says why.
//
// The Exchange of a request carrying [CaptureHeader] becomes available to
// [Transport.Take] when the response body is closed, or when RoundTrip
// fails. Closing a body that was not read to the end first drains it, up to
// MaxBody and within Timeout, so that the raw capture is whole. A body that
// is never closed never yields its Exchange.
//
// A Transport is safe for concurrent use.
type Transport struct {
	o       TransportOptions
	resolve map[string]string

	mu   sync.Mutex
	done map[string][]*Exchange
}

// NewTransport returns a Transport with the options' zero fields set to
// their defaults.
func NewTransport(o TransportOptions) *Transport {
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBody < 0 {
		o.MaxBody = 0
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LookupHost == nil {
		o.LookupHost = net.DefaultResolver.LookupHost
	}
	res := make(map[string]string, len(o.Resolve))
	for k, v := range o.Resolve {
		res[strings.ToLower(k)] = v
	}
	return &Transport{o: o, resolve: res, done: make(map[string][]*Exchange)}
}

// Take returns the oldest finished Exchange recorded under id and forgets
// it, so each Exchange is returned once. When an http.Client follows
// redirects it copies the request's headers, CaptureHeader included, so
// every hop is recorded under the same id: call Take until it reports false
// to get them all, in the order they finished.
func (t *Transport) Take(id string) (*Exchange, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	q := t.done[id]
	if len(q) == 0 {
		return nil, false
	}
	x := q[0]
	if len(q) == 1 {
		delete(t.done, id)
	} else {
		q[0] = nil
		t.done[id] = q[1:]
	}
	return x, true
}

func (t *Transport) put(id string, x *Exchange) {
	if id == "" {
		return
	}
	t.mu.Lock()
	t.done[id] = append(t.done[id], x)
	t.mu.Unlock()
}

// RoundTrip sends req on a fresh connection and records the exchange. It
// implements [http.RoundTripper].
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	id := req.Header.Get(CaptureHeader)
	out := req.Clone(req.Context())
	out.Header.Del(CaptureHeader)

	w := &wire{
		now:      t.o.Now,
		maxBody:  t.o.MaxBody,
		deadline: time.Now().Add(t.o.Timeout),
		headEnd:  -1,
	}
	w.start = t.o.Now()
	w.last = w.start

	// A Transport per request: with keep-alives off it pools nothing, and
	// the dialer below can write into this exchange's wire directly, so no
	// connection dialled for one request can ever be credited to another.
	protos := new(http.Protocols)
	protos.SetHTTP1(true)
	ht := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			c, err := t.dialTCP(ctx, addr)
			if err != nil {
				return nil, err
			}
			return w.attach(c, c), nil
		},
		DialTLSContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return t.dialTLS(ctx, w, addr)
		},
		DisableKeepAlives:      true,
		DisableCompression:     true,
		ForceAttemptHTTP2:      false,
		TLSNextProto:           map[string]func(string, *tls.Conn) http.RoundTripper{},
		Protocols:              protos,
		MaxResponseHeaderBytes: maxHead,
	}

	resp, err := ht.RoundTrip(out)
	if err != nil {
		w.closeConn()
		x := w.exchange(req, nil, -1)
		x.Err = fmt.Errorf("crawler: %s %s: %w", req.Method, req.URL.Redacted(), err)
		t.put(id, x)
		return nil, x.Err
	}
	resp.Request = req

	received := resp.Header.Clone()
	rawLen := resp.ContentLength
	tap := &rawTap{rc: resp.Body, w: w}
	body := &captureBody{tap: tap, r: tap}
	if open := decoderFor(resp.Header.Values("Content-Encoding")); open != nil {
		fb := &fallback{src: tap, open: open}
		body.dec = fb
		limit := int64(maxDecoded)
		if t.o.MaxBody > 0 && 8*t.o.MaxBody < limit {
			limit = 8 * t.o.MaxBody
		}
		body.r = io.LimitReader(fb, limit)
		resp.Header.Del("Content-Encoding")
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
		resp.Uncompressed = true
	}
	body.finish = func() {
		x := w.exchange(req, resp, rawLen)
		x.Header = received
		t.put(id, x)
	}
	resp.Body = body
	return resp, nil
}

// dialTCP resolves addr through the Resolve map, or LookupHost, and
// connects to the first address that answers.
func (t *Transport) dialTCP(ctx context.Context, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	targets, err := t.targets(ctx, host, port)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: t.o.DialTimeout}
	var first error
	for _, a := range targets {
		c, err := d.DialContext(ctx, "tcp", a)
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, fmt.Errorf("dial %s: %w", addr, first)
}

// targets lists the "ip:port" addresses to try for host and port.
func (t *Transport) targets(ctx context.Context, host, port string) ([]string, error) {
	lh := strings.ToLower(host)
	for _, k := range []string{net.JoinHostPort(lh, port), lh} {
		if v, ok := t.resolve[k]; ok {
			if _, _, err := net.SplitHostPort(v); err == nil {
				return []string{v}, nil
			}
			return []string{net.JoinHostPort(v, port)}, nil
		}
	}
	if net.ParseIP(host) != nil {
		return []string{net.JoinHostPort(host, port)}, nil
	}
	ips, err := t.o.LookupHost(ctx, host)
	if err != nil {
		if _, ok := errors.AsType[*net.DNSError](err); ok {
			return nil, err // already says "lookup HOST: ..."
		}
		return nil, fmt.Errorf("lookup %s: %w", host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("lookup %s: no addresses", host)
	}
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = net.JoinHostPort(ip, port)
	}
	return out, nil
}

// dialTLS connects, completes the handshake for the URL's host, and tees the
// plaintext side so the record holds HTTP, not TLS records.
func (t *Transport) dialTLS(ctx context.Context, w *wire, addr string) (net.Conn, error) {
	c, err := t.dialTCP(ctx, addr)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(addr)
	tc := tls.Client(c, &tls.Config{
		ServerName: host,
		NextProtos: []string{"http/1.1"},
		// The operator asked for it (--insecure); the caller records it.
		InsecureSkipVerify: t.o.Insecure, //nolint:gosec
	})
	_ = c.SetDeadline(w.deadline)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
	}
	_ = c.SetDeadline(time.Time{})
	return w.attach(tc, c), nil
}

// wire is the state of one exchange, shared by the tee connection (read by
// net/http's goroutines) and the response body (read by the caller).
type wire struct {
	now      func() time.Time
	maxBody  int64
	deadline time.Time // real clock: start + Timeout
	start    time.Time // injected clock

	mu        sync.Mutex
	tcp       net.Conn // the TCP connection, closed at a MaxBody cut
	ip        string
	req       []byte
	raw       []byte    // every byte read, head and body
	last      time.Time // injected clock, at the last byte read
	scan      int       // start of the next unscanned head line
	headStart int       // start of the current head (after interim 1xx heads)
	headEnd   int       // end of the final head, -1 until seen
	trunc     string
	stopped   bool // the tee reads no more: cut at MaxBody
}

// attach records the remote address and returns the tee over plain, the
// connection net/http will use (TCP, or the TLS client on top of tcp).
func (w *wire) attach(plain, tcp net.Conn) net.Conn {
	ip := ""
	if a, ok := tcp.RemoteAddr().(*net.TCPAddr); ok {
		ip = a.IP.String()
	} else if h, _, err := net.SplitHostPort(tcp.RemoteAddr().String()); err == nil {
		ip = h
	}
	_ = tcp.SetWriteDeadline(w.deadline)
	w.mu.Lock()
	w.tcp, w.ip = tcp, ip
	w.mu.Unlock()
	return &teeConn{Conn: plain, w: w}
}

func (w *wire) closeConn() {
	w.mu.Lock()
	c := w.tcp
	w.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// read records what one Read of the connection returned, enforces MaxBody
// and returns what the caller of Read may see.
func (w *wire) read(p []byte, n int, err error) (int, error) {
	w.mu.Lock()
	cut := false
	if n > 0 {
		w.raw = append(w.raw, p[:n]...)
		w.last = w.now()
		w.findHead()
		if w.headEnd >= 0 && w.maxBody > 0 {
			if limit := w.headEnd + int(w.maxBody); len(w.raw) > limit {
				// Hide from net/http every byte past the cap, so neither
				// the record nor the parser sees them.
				n -= len(w.raw) - limit
				w.raw = w.raw[:limit]
				w.trunc, w.stopped, cut = "length", true, true
				err = nil
			}
		}
	}
	if err != nil && err != io.EOF && w.headEnd >= 0 && w.trunc == "" {
		w.trunc = classify(err)
	}
	c := w.tcp
	w.mu.Unlock()
	if cut {
		_ = c.Close()
		if n <= 0 {
			return 0, io.EOF
		}
	}
	return n, err
}

// findHead advances over complete header lines until the blank line that
// ends the final (non-1xx) head.
func (w *wire) findHead() {
	for w.headEnd < 0 {
		i := bytes.IndexByte(w.raw[w.scan:], '\n')
		if i < 0 {
			return
		}
		lineStart := w.scan
		w.scan += i + 1
		line := w.raw[lineStart:w.scan]
		blank := len(line) == 1 || (len(line) == 2 && line[0] == '\r')
		if !blank || lineStart == w.headStart {
			continue
		}
		if interim(w.raw[w.headStart:]) {
			w.headStart = w.scan
			continue
		}
		w.headEnd = w.scan
	}
}

// interim reports whether a head's status line is a 1xx other than 101,
// after which net/http reads another head.
func interim(head []byte) bool {
	sp := bytes.IndexByte(head, ' ')
	if sp < 0 || len(head) < sp+4 {
		return false
	}
	code := head[sp+1 : sp+4]
	return code[0] == '1' && string(code) != "101"
}

// classify maps a read error in the middle of a body to a WARC-Truncated
// reason.
func classify(err error) string {
	var te interface{ Timeout() bool }
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &te) && te.Timeout()) {
		return "time"
	}
	return "disconnect"
}

// bodyErr records why the body ended early, unless the tee already knows.
func (w *wire) bodyErr(err error) {
	w.mu.Lock()
	if w.trunc == "" {
		w.trunc = classify(err)
	}
	w.mu.Unlock()
}

// exchange snapshots the wire into an Exchange. resp is nil when no
// response was received; rawLen is the response's Content-Length (-1 when
// unknown), used to drop bytes net/http read past the message.
func (w *wire) exchange(req *http.Request, resp *http.Response, rawLen int64) *Exchange {
	w.mu.Lock()
	defer w.mu.Unlock()
	// Record nothing more, so the Exchange can share the buffers rather
	// than copy a body of up to MaxBody; the slices are capped so an
	// append by the caller cannot write into a neighbour.
	w.stopped = true
	x := &Exchange{
		URL:      req.URL.String(),
		Method:   req.Method,
		Start:    w.start,
		Duration: w.last.Sub(w.start),
		IP:       w.ip,
		Request:  w.req[:len(w.req):len(w.req)],
	}
	if resp == nil {
		x.Duration = w.now().Sub(w.start)
		return x
	}
	x.Status = resp.StatusCode
	x.Truncated = w.trunc
	if w.headEnd < 0 {
		x.ResponseHead = w.raw[:len(w.raw):len(w.raw)]
		return x
	}
	x.ResponseHead = w.raw[:w.headEnd:w.headEnd]
	body := w.raw[w.headEnd:]
	switch {
	case req.Method == http.MethodHead, resp.StatusCode == http.StatusNoContent,
		resp.StatusCode == http.StatusNotModified:
		body = nil
	case rawLen >= 0 && len(resp.TransferEncoding) == 0 && int64(len(body)) > rawLen:
		body = body[:rawLen]
	}
	if len(body) > 0 {
		x.Body = body[:len(body):len(body)]
	}
	return x
}

// teeConn records the bytes written to and read from the connection.
type teeConn struct {
	net.Conn
	w *wire
}

func (c *teeConn) Read(p []byte) (int, error) {
	c.w.mu.Lock()
	stopped := c.w.stopped
	c.w.mu.Unlock()
	if stopped {
		return 0, io.EOF
	}
	dl := time.Now().Add(readIdle)
	if dl.After(c.w.deadline) {
		dl = c.w.deadline
	}
	_ = c.Conn.SetReadDeadline(dl)
	n, err := c.Conn.Read(p)
	return c.w.read(p, n, err)
}

// Write records the bytes before sending them: a fast server can answer,
// and the exchange be snapshotted, before Conn.Write returns, and the request
// must already be in the record then. A short write trims the record back.
func (c *teeConn) Write(p []byte) (int, error) {
	c.w.mu.Lock()
	recorded := !c.w.stopped
	before := len(c.w.req)
	if recorded {
		c.w.req = append(c.w.req, p...)
	}
	c.w.mu.Unlock()
	n, err := c.Conn.Write(p)
	if recorded && n < len(p) {
		c.w.mu.Lock()
		if len(c.w.req) == before+len(p) {
			c.w.req = c.w.req[:before+n]
		}
		c.w.mu.Unlock()
	}
	return n, err
}

// rawTap reads net/http's de-chunked body and turns an early end into a
// clean io.EOF after recording the reason. A cancelled request is the
// caller's own doing, so that error is passed on.
type rawTap struct {
	rc   io.ReadCloser
	w    *wire
	done bool
}

func (r *rawTap) Read(p []byte) (int, error) {
	if r.done {
		return 0, io.EOF
	}
	n, err := r.rc.Read(p)
	if err == nil {
		return n, nil
	}
	r.done = true
	if err == io.EOF {
		return n, io.EOF
	}
	r.w.bodyErr(err)
	if errors.Is(err, context.Canceled) {
		return n, err
	}
	return n, io.EOF
}

// captureBody is the response body handed to the caller.
type captureBody struct {
	r      io.Reader // what the parser reads: tap, or decoded from it
	tap    *rawTap
	dec    *fallback // nil when there is no content-coding to undo
	finish func()
	closed bool
}

func (b *captureBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, context.Canceled) {
		// A decoder failing mid-stream: the raw record is intact, and the
		// parser gets the text decoded so far.
		err = io.EOF
	}
	return n, err
}

// Close drains the raw body (bounded by MaxBody and Timeout) so the record
// is whole, then publishes the Exchange.
func (b *captureBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	_, _ = io.Copy(io.Discard, b.tap)
	if b.dec != nil {
		b.dec.close()
	}
	err := b.tap.rc.Close()
	b.finish()
	if err != nil {
		return fmt.Errorf("crawler: close body: %w", err)
	}
	return nil
}

// decoderFor returns the decoder for a response's Content-Encoding, or nil
// when there is none or it is not one we undo (then the parser gets the raw
// bytes and the headers stay as they are).
func decoderFor(values []string) func(io.Reader) (io.ReadCloser, error) {
	if len(values) != 1 || strings.Contains(values[0], ",") {
		return nil
	}
	switch strings.ToLower(strings.TrimSpace(values[0])) {
	case "gzip", "x-gzip":
		return func(r io.Reader) (io.ReadCloser, error) { return gzip.NewReader(r) }
	case "deflate":
		// "deflate" means zlib, but some servers send raw DEFLATE.
		return func(r io.Reader) (io.ReadCloser, error) {
			br := bufio.NewReader(r)
			if h, err := br.Peek(2); err == nil && h[0]&0x0f == 8 && (int(h[0])<<8|int(h[1]))%31 == 0 {
				return zlib.NewReader(br)
			}
			return flate.NewReader(br), nil
		}
	case "br":
		return func(r io.Reader) (io.ReadCloser, error) { return io.NopCloser(brotli.NewReader(r)), nil }
	case "zstd":
		return func(r io.Reader) (io.ReadCloser, error) {
			d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1),
				zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(64<<20))
			if err != nil {
				return nil, err
			}
			return d.IOReadCloser(), nil
		}
	}
	return nil
}

// fallback decodes src, unless the decoder fails before producing a byte:
// then it replays the raw bytes it consumed and passes src through, so a
// body that only claims a coding still reaches the parser.
type fallback struct {
	src  io.Reader
	open func(io.Reader) (io.ReadCloser, error)
	rec  sniff
	dec  io.ReadCloser
	r    io.Reader // set once decided
}

func (f *fallback) Read(p []byte) (int, error) {
	if f.r != nil {
		return f.r.Read(p)
	}
	if f.dec == nil {
		d, err := f.open(io.TeeReader(f.src, &f.rec))
		if err != nil {
			return f.raw().Read(p)
		}
		f.dec = d
	}
	n, err := f.dec.Read(p)
	switch {
	case n > 0:
		f.r, f.rec.off, f.rec.buf = f.dec, true, nil
		if err != nil && err != io.EOF && !errors.Is(err, context.Canceled) {
			err = io.EOF
		}
		return n, err
	case err == io.EOF:
		f.r = f.dec
		return 0, io.EOF
	case err != nil:
		return f.raw().Read(p)
	}
	return 0, nil
}

// raw switches to the undecoded stream. If more was consumed than sniff
// keeps, the start is lost; the parser then gets nothing rather than a
// fragment, and the raw record is unaffected.
func (f *fallback) raw() io.Reader {
	if f.rec.lost {
		f.r = eof{}
	} else {
		f.r = io.MultiReader(bytes.NewReader(f.rec.buf), f.src)
	}
	f.rec.off = true
	return f.r
}

func (f *fallback) close() {
	if f.dec != nil {
		_ = f.dec.Close()
	}
}

// sniff keeps the first raw bytes a decoder consumed, up to maxSniff.
type sniff struct {
	buf  []byte
	off  bool
	lost bool
}

func (s *sniff) Write(p []byte) (int, error) {
	if s.off {
		return len(p), nil
	}
	if len(s.buf)+len(p) > maxSniff {
		s.lost, s.off, s.buf = true, true, nil
		return len(p), nil
	}
	s.buf = append(s.buf, p...)
	return len(p), nil
}

type eof struct{}

func (eof) Read([]byte) (int, error) { return 0, io.EOF }
