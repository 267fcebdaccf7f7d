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
	"net/http/httptrace"
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
	// idleConnTimeout closes a kept-alive connection nobody has used for a
	// while: long enough to span a host's politeness delay, short enough
	// that a crawl moving across hosts does not hoard sockets on servers.
	idleConnTimeout = 15 * time.Second
	// maxIdleConns caps idle connections over all hosts.
	maxIdleConns = 256
	// maxLine is net/http's limit on a chunk-size line (bufio's buffer).
	maxLine = 4096
	// maxTrailer bounds the trailer section the framing scanner looks
	// through; net/http accepts at most one bufio buffer of it.
	maxTrailer = 64 << 10
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
	// NoKeepAlive sends every request on a connection of its own, with
	// "Connection: close", as amber did before it reused connections. Reuse
	// changes no recorded byte but the absent header; this is for comparing
	// and for servers that mishandle keep-alive.
	NoKeepAlive bool
	// MaxConnsPerHost caps the connections open to one scheme://host:port,
	// idle ones included (0: no cap). The crawler sets it to its per-host
	// limit, so a kept-alive connection never adds to what a site sees.
	MaxConnsPerHost int
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
// plaintext side of TLS), speaks HTTP/1.1 only and never adds
// Accept-Encoding. It follows no redirects: a 3xx is an exchange like any
// other, and the caller's http.Client decides.
//
// Connections are kept alive and reused (unless NoKeepAlive), which saves a
// TCP (and TLS) handshake per request on both sides. A connection is lent to
// one exchange at a time: it is bound to the exchange when net/http hands it
// over, before the request is written, and the tee follows the response's
// framing (Content-Length, chunked, or none) so that it knows where the
// message ends. Bytes past that end, or bytes that arrive while no request
// is outstanding, are never shown to net/http nor recorded: the connection is
// closed instead, so they can neither be credited to the next exchange nor
// parsed as its response. A response cut at MaxBody, a read error, or a
// framing the tee cannot follow also closes the connection. When net/http
// retries a request on a fresh connection (the server had closed the idle
// one), the record restarts with the retry. Call CloseIdleConnections when
// done, so no socket outlives the crawl.
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
	ht      *http.Transport

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
	t := &Transport{o: o, resolve: res, done: make(map[string][]*Exchange)}
	idle := o.MaxConnsPerHost
	if idle <= 0 {
		idle = http.DefaultMaxIdleConnsPerHost
	}
	protos := new(http.Protocols)
	protos.SetHTTP1(true)
	t.ht = &http.Transport{
		Proxy: nil,
		// The tee is not bound to an exchange here: net/http may give a
		// connection dialled for one request to another. gotConn binds it.
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			c, err := t.dialTCP(ctx, addr)
			if err != nil {
				return nil, err
			}
			return newTeeConn(c, c), nil
		},
		DialTLSContext:         t.dialTLS,
		DisableKeepAlives:      o.NoKeepAlive,
		DisableCompression:     true,
		ForceAttemptHTTP2:      false,
		TLSNextProto:           map[string]func(string, *tls.Conn) http.RoundTripper{},
		Protocols:              protos,
		MaxResponseHeaderBytes: maxHead,
		MaxConnsPerHost:        o.MaxConnsPerHost,
		MaxIdleConnsPerHost:    idle,
		MaxIdleConns:           maxIdleConns,
		IdleConnTimeout:        idleConnTimeout,
	}
	return t
}

// CloseIdleConnections closes the connections kept alive for reuse. Those
// in use are closed when their exchange ends. An http.Client over the
// Transport calls it from its own CloseIdleConnections.
func (t *Transport) CloseIdleConnections() { t.ht.CloseIdleConnections() }

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

// RoundTrip sends req, on a kept-alive connection when one is idle, and
// records the exchange. It implements [http.RoundTripper].
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	id := req.Header.Get(CaptureHeader)
	w := &wire{
		now:      t.o.Now,
		maxBody:  t.o.MaxBody,
		deadline: time.Now().Add(t.o.Timeout),
		headEnd:  -1,
		method:   req.Method,
	}
	w.start = t.o.Now()
	w.last = w.start
	// The cancel lets the tee stop net/http from retrying, on a fresh
	// connection, a request whose server timed out: the retry would have
	// no time left, and would ask a silent server twice.
	ctx, cancel := context.WithCancelCause(req.Context())
	w.cancel = cancel
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: w.gotConn})
	out := req.Clone(ctx)
	out.Header.Del(CaptureHeader)

	resp, err := t.ht.RoundTrip(out)
	if err == nil && !w.answered() {
		// net/http parsed a response the tee did not see on this
		// exchange's connection: never store it as this exchange's.
		_ = resp.Body.Close()
		resp, err = nil, errors.New("response did not arrive on the exchange's connection")
	}
	if err != nil {
		x := w.exchange(req, nil, -1)
		cancel(nil)
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
		cancel(nil)
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
func (t *Transport) dialTLS(ctx context.Context, _, addr string) (net.Conn, error) {
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
	_ = c.SetDeadline(time.Now().Add(t.o.Timeout))
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
	}
	_ = c.SetDeadline(time.Time{})
	return newTeeConn(tc, c), nil
}

// wire is the state of one exchange, shared by the tee connection (read by
// net/http's goroutines) and the response body (read by the caller).
type wire struct {
	now      func() time.Time
	maxBody  int64
	deadline time.Time // real clock: start + Timeout
	start    time.Time // injected clock
	method   string
	cancel   context.CancelCauseFunc

	mu        sync.Mutex
	conn      *teeConn // the connection bound last, nil before one is
	ip        string
	req       []byte
	raw       []byte    // every byte read for this exchange, head and body
	last      time.Time // injected clock, at the last byte read
	scan      int       // start of the next unscanned head line
	headStart int       // start of the current head (after interim 1xx heads)
	headEnd   int       // end of the final head, -1 until seen
	frame     framing   // where the message ends, once the head is seen
	trunc     string
	complete  bool // the message ended where its framing says
	stopped   bool // the tee records no more: cut at MaxBody, or snapshotted
}

// gotConn binds the connection net/http chose to the exchange. net/http
// calls it before writing the request, and again when it retries on another
// connection: then the record starts over, as the retry is the exchange.
func (w *wire) gotConn(info httptrace.GotConnInfo) {
	c, ok := info.Conn.(*teeConn)
	if !ok {
		return // answered() then fails the exchange
	}
	c.mu.Lock()
	if !c.clean {
		// The previous exchange did not end where the tee expected:
		// net/http may hold bytes of it, so the connection must not
		// carry this one. The write then fails before a byte is sent,
		// and net/http retries on a fresh connection.
		c.kill()
	}
	c.w, c.clean = w, false
	w.mu.Lock()
	prev := w.conn
	w.conn, w.ip = c, c.ip
	w.req, w.raw = w.req[:0], w.raw[:0]
	w.scan, w.headStart, w.headEnd = 0, 0, -1
	w.frame, w.trunc, w.complete = framing{}, "", false
	w.last = w.start
	w.mu.Unlock()
	if !c.dead {
		_ = c.tcp.SetWriteDeadline(w.deadline)
		_ = c.tcp.SetReadDeadline(readDeadline(w.deadline))
	}
	c.mu.Unlock()
	if prev != nil && prev != c {
		prev.release(w)
	}
}

// answered reports whether the final response head was read on the
// exchange's own connection.
func (w *wire) answered() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.conn != nil && w.headEnd >= 0
}

// readDeadline bounds the next read: readIdle from now, within the
// exchange's deadline.
func readDeadline(deadline time.Time) time.Time {
	dl := time.Now().Add(readIdle)
	if dl.After(deadline) {
		dl = deadline
	}
	return dl
}

// readState says what a read did to the connection's future.
type readState int

const (
	readMore readState = iota // the message goes on
	readEnd                   // the message ended exactly: reusable
	readStop                  // never read this connection again
)

// read records what one Read of c returned, follows the framing and
// MaxBody, and returns what the caller of Read may see. c.mu is held.
func (w *wire) read(c *teeConn, p []byte, n int, err error) (int, readState, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn != c || w.stopped || w.complete || len(w.req) == 0 {
		// No request of this exchange is outstanding on c: whatever
		// arrives is not its answer.
		if n > 0 || err == nil {
			return 0, readStop, io.EOF
		}
		return 0, readStop, err
	}
	st := readMore
	if n > 0 {
		w.raw = append(w.raw, p[:n]...)
		w.last = w.now()
		if w.headEnd < 0 {
			w.findHead()
			if w.headEnd >= 0 {
				w.frame = frameOf(w.raw[w.headStart:w.headEnd], w.method)
			}
		}
		if w.headEnd >= 0 {
			if end := w.frame.end(w.raw, w.headEnd); end >= 0 {
				w.complete, st = true, readEnd
				if extra := len(w.raw) - end; extra > 0 {
					// Bytes past the message: hide them from net/http
					// (which would take them for the next response)
					// and from the record, and close the connection.
					n -= extra
					w.raw = w.raw[:end]
					st, err = readStop, io.EOF
				}
			}
			if w.maxBody > 0 {
				if limit := w.headEnd + int(w.maxBody); len(w.raw) > limit {
					// Hide from net/http every byte past the cap, so
					// neither the record nor the parser sees them.
					n -= len(w.raw) - limit
					w.raw = w.raw[:limit]
					w.trunc, w.stopped, w.complete = "length", true, false
					st, err = readStop, nil
					if n <= 0 {
						n, err = 0, io.EOF
					}
				}
			}
		}
	}
	if err != nil {
		if err != io.EOF && w.headEnd >= 0 && w.trunc == "" && !w.complete {
			w.trunc = classify(err)
		}
		if w.headEnd < 0 && classify(err) == "time" && w.cancel != nil {
			// Keep net/http from retrying on a fresh connection.
			w.cancel(err)
		}
		if st == readStop && err == nil {
			err = io.EOF
		}
		st = readStop
	}
	return n, st, err
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

// exchange snapshots the wire into an Exchange and gives the connection
// back (or closes it, if its message did not end cleanly). resp is nil when
// no response was received; rawLen is the response's Content-Length (-1 when
// unknown), used to drop bytes net/http read past the message.
func (w *wire) exchange(req *http.Request, resp *http.Response, rawLen int64) *Exchange {
	x := w.snapshot(req, resp, rawLen)
	w.mu.Lock()
	c := w.conn
	w.mu.Unlock()
	if c != nil {
		c.release(w)
	}
	return x
}

func (w *wire) snapshot(req *http.Request, resp *http.Response, rawLen int64) *Exchange {
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

// Framing kinds: how the end of a response body is found.
const (
	frameOpen    = iota // unknown, or until the server closes: never reused
	frameNone           // no body (HEAD, 1xx, 204, 304, Content-Length: 0)
	frameLength         // Content-Length bytes
	frameChunked        // chunked transfer-coding
)

// Chunked scanner states.
const (
	chunkSize    = iota // in a chunk-size line
	chunkData           // in chunk data
	chunkCRLF           // at the CRLF after chunk data
	chunkTrailer        // in the trailer section, after the last chunk
)

// framing follows a response body through the raw bytes to find where the
// message ends, as net/http will. It must never place the end after
// net/http's: bytes net/http reads past its end would become the next
// response. Where the scanner cannot follow (framing net/http also rejects),
// it gives up and the connection is not reused.
type framing struct {
	kind   int
	length int64 // frameLength: body bytes

	state int    // frameChunked: chunk* state
	pos   int    // frameChunked: offset in raw scanned so far
	left  uint64 // frameChunked: bytes left in the chunk
	start int    // frameChunked: offset where the trailer section began
}

// frameOf reads the final head as net/http does (the same parser, so the
// same rules for Content-Length, Transfer-Encoding and bodiless answers)
// and says how the body is framed.
func frameOf(head []byte, method string) framing {
	br := headReaders.Get().(*bufio.Reader)
	br.Reset(bytes.NewReader(head))
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	br.Reset(nil)
	headReaders.Put(br)
	switch {
	case err != nil, resp.StatusCode == http.StatusSwitchingProtocols:
		return framing{kind: frameOpen}
	case resp.Body == http.NoBody:
		return framing{kind: frameNone}
	case len(resp.TransferEncoding) > 0:
		return framing{kind: frameChunked, pos: -1}
	case resp.ContentLength >= 0:
		return framing{kind: frameLength, length: resp.ContentLength}
	}
	return framing{kind: frameOpen}
}

var headReaders = sync.Pool{New: func() any { return bufio.NewReader(nil) }}

// end returns the offset in raw where the message ends, or -1 while it goes
// on (or cannot be known). headEnd is where the body starts.
func (f *framing) end(raw []byte, headEnd int) int {
	switch f.kind {
	case frameNone:
		return headEnd
	case frameLength:
		if int64(len(raw)-headEnd) >= f.length {
			return headEnd + int(f.length)
		}
		return -1
	case frameChunked:
		if f.pos < 0 {
			f.pos = headEnd
		}
		return f.chunks(raw)
	}
	return -1
}

// chunks scans chunked framing the way net/http/internal's chunkedReader
// and body.readTrailer do. Anything they reject stops the scan for good.
func (f *framing) chunks(raw []byte) int {
	for f.kind == frameChunked {
		rest := raw[f.pos:]
		switch f.state {
		case chunkSize:
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				if len(rest) >= maxLine {
					f.kind = frameOpen
				}
				return -1
			}
			line := rest[:i+1]
			if cr := bytes.IndexByte(line, '\r'); cr != len(line)-2 || len(line)-2 >= maxLine {
				f.kind = frameOpen
				return -1
			}
			size, ok := chunkSizeOf(line[:len(line)-2])
			if !ok {
				f.kind = frameOpen
				return -1
			}
			f.pos += i + 1
			if size == 0 {
				f.state, f.start = chunkTrailer, f.pos
			} else {
				f.state, f.left = chunkData, size
			}
		case chunkData:
			if len(rest) == 0 {
				return -1
			}
			n := uint64(len(rest))
			if n > f.left {
				n = f.left
			}
			f.pos += int(n)
			f.left -= n
			if f.left == 0 {
				f.state = chunkCRLF
			}
		case chunkCRLF:
			if len(rest) < 2 {
				return -1
			}
			if rest[0] != '\r' || rest[1] != '\n' {
				f.kind = frameOpen
				return -1
			}
			f.pos += 2
			f.state = chunkSize
		case chunkTrailer:
			// Trailer fields end at the first empty line (textproto's
			// ReadMIMEHeader, after net/http's CRLF fast path).
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				if f.pos-f.start+len(rest) > maxTrailer {
					f.kind = frameOpen
				}
				return -1
			}
			f.pos += i + 1
			if i == 0 || (i == 1 && rest[0] == '\r') {
				return f.pos
			}
		}
	}
	return -1
}

// chunkSizeOf parses a chunk-size line without its CRLF, as net/http does:
// trailing blanks trimmed, any extension after ';' dropped, at most 16 hex
// digits.
func chunkSizeOf(line []byte) (uint64, bool) {
	for len(line) > 0 && (line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
		line = line[:len(line)-1]
	}
	line, _, _ = bytes.Cut(line, []byte(";"))
	if len(line) == 0 || len(line) > 16 {
		return 0, false
	}
	var n uint64
	for _, b := range line {
		switch {
		case '0' <= b && b <= '9':
			b -= '0'
		case 'a' <= b && b <= 'f':
			b -= 'a' - 10
		case 'A' <= b && b <= 'F':
			b -= 'A' - 10
		default:
			return 0, false
		}
		n = n<<4 | uint64(b)
	}
	return n, true
}

// teeConn records the bytes written to and read from a connection for the
// exchange it is bound to, and keeps a connection from serving another
// exchange unless the last one ended exactly where its framing said.
type teeConn struct {
	net.Conn          // what net/http reads and writes: TCP, or TLS on it
	tcp      net.Conn // the TCP connection under it, for deadlines and cuts
	ip       string

	mu    sync.Mutex
	w     *wire // the exchange the connection serves, nil when idle
	clean bool  // no exchange outstanding and nothing stray read
	dead  bool  // closed by the tee: no byte may pass any more
}

func newTeeConn(plain, tcp net.Conn) *teeConn {
	ip := ""
	if a, ok := tcp.RemoteAddr().(*net.TCPAddr); ok {
		ip = a.IP.String()
	} else if h, _, err := net.SplitHostPort(tcp.RemoteAddr().String()); err == nil {
		ip = h
	}
	return &teeConn{Conn: plain, tcp: tcp, ip: ip, clean: true}
}

// kill closes the connection for good. c.mu is held.
func (c *teeConn) kill() {
	if !c.dead {
		c.dead = true
		_ = c.tcp.Close()
	}
}

// release unbinds w, if the connection still serves it, and closes the
// connection unless w's message ended cleanly.
func (c *teeConn) release(w *wire) {
	c.mu.Lock()
	if c.w == w {
		c.w = nil
		if !c.clean {
			c.kill()
		}
	}
	c.mu.Unlock()
}

var errConnClosed = errors.New("crawler: connection closed by the capture (not reusable)")

func (c *teeConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return 0, io.EOF
	}
	// An idle connection has no deadline: net/http's IdleConnTimeout
	// closes it, and binding sets the next exchange's deadline on a read
	// already waiting.
	var dl time.Time
	if c.w != nil && !c.clean {
		dl = readDeadline(c.w.deadline)
	}
	_ = c.tcp.SetReadDeadline(dl)
	c.mu.Unlock()

	n, err := c.Conn.Read(p)

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return 0, io.EOF
	}
	if c.w == nil || c.clean {
		// Idle: a close by the server, or bytes nobody asked for.
		c.kill()
		if n > 0 || err == nil {
			return 0, io.EOF
		}
		return 0, err
	}
	n, st, err := c.w.read(c, p, n, err)
	switch st {
	case readEnd:
		c.clean = true
	case readStop:
		c.kill()
	}
	return n, err
}

// Write records the bytes before sending them: a fast server can answer,
// and the exchange be snapshotted, before Conn.Write returns, and the request
// must already be in the record then. A short write trims the record back.
func (c *teeConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	w := c.w
	if c.dead || w == nil {
		// Nothing is sent: net/http retries on another connection.
		c.mu.Unlock()
		return 0, errConnClosed
	}
	w.mu.Lock()
	recorded := w.conn == c && !w.stopped
	before := len(w.req)
	if recorded {
		w.req = append(w.req, p...)
	}
	w.mu.Unlock()
	c.mu.Unlock()
	n, err := c.Conn.Write(p)
	if recorded && n < len(p) {
		w.mu.Lock()
		if w.conn == c && len(w.req) == before+len(p) {
			w.req = w.req[:before+n]
		}
		w.mu.Unlock()
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
