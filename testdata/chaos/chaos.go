package chaos

import (
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"fmt"
	"html"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Domain is the parent of every host the server answers for; a crawl that
// treats "*.chaos.test" as on-site (Rules.Scope) reaches every case.
const Domain = "chaos.test"

// Server serves the misbehaviours of [Cases] on loopback. Start it with
// [Start]; reach its named hosts only through [Server.Resolve].
type Server struct {
	ln                            net.Listener     // every named host but tls and tarpit
	tarpit                        net.Listener     // accepts, never reads or answers
	tls                           *httptest.Server // a certificate for example.com, self-signed
	srv                           *http.Server
	port                          string
	tlsPort, tarpitPort, downPort string
	downAddr                      string

	quit     chan struct{}
	closeOne sync.Once
	bombOnce sync.Once
	bombData []byte

	mu    sync.Mutex
	hits  map[string]int // "host path?query" -> requests
	conns []net.Conn     // tarpit connections, closed by Close
}

// Start listens on 127.0.0.1 (three listeners and a closed port) and serves
// until Close.
func Start() (*Server, error) {
	s := &Server{quit: make(chan struct{}), hits: map[string]int{}}
	var err error
	if s.ln, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("chaos: listen: %w", err)
	}
	if s.tarpit, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
		s.ln.Close()
		return nil, fmt.Errorf("chaos: listen: %w", err)
	}
	down, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		s.ln.Close()
		s.tarpit.Close()
		return nil, fmt.Errorf("chaos: listen: %w", err)
	}
	s.downAddr = down.Addr().String()
	down.Close() // nothing listens there any more: connection refused
	_, s.port, _ = net.SplitHostPort(s.ln.Addr().String())
	_, s.tarpitPort, _ = net.SplitHostPort(s.tarpit.Addr().String())
	_, s.downPort, _ = net.SplitHostPort(s.downAddr)

	s.tls = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.tls.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	s.tls.StartTLS()
	_, s.tlsPort, _ = net.SplitHostPort(s.tls.Listener.Addr().String())

	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(s.ln) }()
	go s.acceptTarpit()
	return s, nil
}

// Close stops every listener and every slow answer in progress.
func (s *Server) Close() error {
	s.closeOne.Do(func() {
		close(s.quit)
		s.tarpit.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.tls.Close()
		_ = s.srv.Close()
	})
	return nil
}

func (s *Server) acceptTarpit() {
	for {
		c, err := s.tarpit.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.count("tarpit."+Domain, "(connection)")
	}
}

// Host returns the full name of a case host: Host("www") is "www.chaos.test".
func Host(name string) string { return name + "." + Domain }

// URL returns the http URL of path on the named host ("www", "cal", ...),
// with the server's port. "tls" gives the https URL of the TLS server,
// "tarpit" and "down" the listener that never answers and the closed port.
func (s *Server) URL(name, path string) string {
	switch name {
	case "tls":
		return "https://" + Host(name) + ":" + s.tlsPort + path
	case "tarpit":
		return "http://" + Host(name) + ":" + s.tarpitPort + path
	case "down":
		return "http://" + Host(name) + ":" + s.downPort + path
	}
	return "http://" + Host(name) + ":" + s.port + path
}

// Seed is the index page, which links to every case.
func (s *Server) Seed() string { return s.URL("www", "/") }

// Resolve maps every host:port the cases use to its loopback address, for
// crawler.Config.Resolve or --resolve. No name is ever looked up in DNS.
func (s *Server) Resolve() map[string]string {
	m := map[string]string{}
	addr := s.ln.Addr().String()
	for _, h := range hostNames {
		m[Host(h)+":"+s.port] = addr
	}
	m[idnHost+":"+s.port] = addr
	m[Host("tls")+":"+s.tlsPort] = s.tls.Listener.Addr().String()
	m[Host("tarpit")+":"+s.tarpitPort] = s.tarpit.Addr().String()
	m[Host("down")+":"+s.downPort] = s.downAddr
	return m
}

// ResolveFlags is Resolve as --resolve arguments, sorted.
func (s *Server) ResolveFlags() []string {
	var out []string
	for h, a := range s.Resolve() {
		out = append(out, h+"="+a)
	}
	sort.Strings(out)
	return out
}

// Hits returns how many requests reached host (a full name) for path (with
// its query, if any).
func (s *Server) Hits(host, path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[host+" "+path]
}

// TotalHits counts every request the server has answered or refused,
// tarpit connections included.
func (s *Server) TotalHits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.hits {
		n += v
	}
	return n
}

func (s *Server) count(host, path string) {
	s.mu.Lock()
	s.hits[host+" "+path]++
	s.mu.Unlock()
}

// idnHost is the punycode form of "bücher.chaos.test", which the index links
// to in Unicode.
const idnHost = "xn--bcher-kva." + Domain

// hostNames are the plain-HTTP hosts of the main listener.
var hostNames = []string{
	"www", "live", "slowloris", "silent", "bomb", "endless", "big", "chain", "cal", "busy",
	"robots-huge", "robots-html", "robots-redirect", "robots-401", "robots-403", "robots-500", "robots-slow",
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	host = strings.ToLower(host)
	s.count(host, r.URL.RequestURI())
	name := strings.TrimSuffix(host, "."+Domain)
	if r.URL.Path == "/robots.txt" || r.URL.Path == "/real-robots.txt" {
		s.robots(w, r, name)
		return
	}
	switch name {
	case "www", "tls", "xn--bcher-kva":
		s.www(w, r)
	case "slowloris":
		s.drip(w, r)
	case "silent":
		s.wait(r)
	case "bomb":
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		b := s.bomb()
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
	case "endless":
		s.endless(w, r)
	case "big":
		s.big(w, r)
	case "chain":
		s.chain(w, r)
	case "cal":
		s.calendar(w, r)
	case "busy":
		s.busy(w, r)
	default: // robots-* hosts: every page is a small page
		page(w, "page of "+host, "")
	}
}

// robots answers robots.txt for each host.
func (s *Server) robots(w http.ResponseWriter, r *http.Request, name string) {
	w.Header().Set("Content-Type", "text/plain")
	switch name {
	case "robots-huge":
		// 2 MiB: a rule within RFC 9309's 500 KiB, one beyond it.
		var b bytes.Buffer
		b.WriteString("User-agent: *\nDisallow: /c/private/\n")
		for b.Len() < 600<<10 {
			b.WriteString("# padding padding padding padding padding padding padding padding\n")
		}
		b.WriteString("Disallow: /c/late/\n")
		for b.Len() < 2<<20 {
			b.WriteString("# padding padding padding padding padding padding padding padding\n")
		}
		_, _ = w.Write(b.Bytes())
	case "robots-html":
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<!doctype html><html><head><title>Welcome</title></head><body><h1>Our shop</h1><p>Disallow: nothing here is a rule</p></body></html>")
	case "robots-redirect":
		if r.URL.Path == "/robots.txt" {
			http.Redirect(w, r, "/real-robots.txt", http.StatusMovedPermanently)
			return
		}
		_, _ = io.WriteString(w, "User-agent: *\nDisallow: /c/private/\n")
	case "robots-401":
		http.Error(w, "who are you?", http.StatusUnauthorized)
	case "robots-403":
		http.Error(w, "go away", http.StatusForbidden)
	case "robots-500":
		http.Error(w, "oops", http.StatusInternalServerError)
	case "robots-slow":
		s.wait(r)
	default:
		http.NotFound(w, r)
	}
}

// wait answers nothing until the client gives up or the server closes.
func (s *Server) wait(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.quit:
	}
}

// page writes a small HTML page with a title and extra body HTML.
func page(w http.ResponseWriter, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = fmt.Fprintf(w, "<!doctype html><html><head><title>%s</title></head><body><h1>%s</h1>%s</body></html>\n",
		html.EscapeString(title), html.EscapeString(title), body)
}

// raw hijacks the connection and writes b as the whole answer; reset sends
// a TCP RST instead of a clean close.
func raw(w http.ResponseWriter, b []byte, reset bool) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "no hijack", 500)
		return
	}
	c, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	_, _ = buf.Write(b)
	_ = buf.Flush()
	if reset {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	}
	_ = c.Close()
}

// filler returns n bytes of plain HTML text.
func filler(n int) []byte {
	return bytes.Repeat([]byte("<p>lorem ipsum</p>\n"), n/19+1)[:n]
}

func (s *Server) www(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/":
		s.index(w)
	case p == "/c/reset":
		head := "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 10000\r\n\r\n"
		raw(w, append([]byte(head), filler(3000)...), true)
	case p == "/c/cl-long":
		head := "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n"
		raw(w, append([]byte(head), filler(1000)...), false)
	case p == "/c/cl-short":
		head := "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100\r\nConnection: close\r\n\r\n"
		raw(w, append([]byte(head), filler(1000)...), false)
	case p == "/c/bad-chunk":
		raw(w, []byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"+
			"1a\r\n<p>a proper first chunk</p>\r\nzz\r\nthis is not a chunk size\r\n0\r\n\r\n"), false)
	case p == "/c/empty":
		raw(w, nil, false)
	case p == "/c/garbage":
		raw(w, []byte("HTTP/1.1 abc NOT A STATUS\r\nContent-Length: 2\r\n\r\nhi"), false)
	case p == "/c/not-http":
		raw(w, []byte("SSH-2.0-OpenSSH_9.6\r\n"), false)
	case p == "/c/headers":
		var b bytes.Buffer
		b.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n")
		for i := 0; b.Len() < 2<<20; i++ {
			fmt.Fprintf(&b, "X-Flood-%d: %s\r\n", i, strings.Repeat("x", 1000))
		}
		b.WriteString("Content-Length: 2\r\n\r\nhi")
		raw(w, b.Bytes(), false)
	case p == "/c/fake-gzip":
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = io.WriteString(w, `<html><body>not gzip at all <a href="/c/fake-gzip-child">child</a></body></html>`)
	case p == "/c/binary":
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", strconv.Itoa(len(Binary())))
		_, _ = w.Write(Binary())
	case p == "/c/bad-utf8":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<html><head><title>bad \xff\xfe utf-8 \xc3\x28</title></head><body>\xed\xa0\x80 <a href=\"/c/bad-utf8-child\">\xf8\x88\x80\x80\x80</a></body></html>"))
	case p == "/c/lying-charset":
		// Says Shift_JIS, sends UTF-8 Chinese.
		w.Header().Set("Content-Type", "text/html; charset=shift_jis")
		_, _ = io.WriteString(w, `<html><head><meta charset="iso-8859-1"><title>新闻 自由</title></head><body><p>中国数字时代</p><a href="/c/lying-charset-child">下一页</a></body></html>`)
	case p == "/c/10k":
		var b strings.Builder
		for i := 0; i < 10000; i++ {
			fmt.Fprintf(&b, "<a href=\"/x/%d\">link %d</a>\n", i, i)
		}
		page(w, "ten thousand links", b.String())
	case strings.HasPrefix(p, "/t/sess"):
		// Every link carries a fresh session id.
		id := fmt.Sprintf("%x", sha1.Sum([]byte(r.URL.RawQuery+p+strconv.Itoa(s.Hits(Host("www"), r.URL.RequestURI())))))
		page(w, "session page", fmt.Sprintf(`<a href="/t/sess?PHPSESSID=%s">again</a> <a href="/t/sess-j;jsessionid=%s">java</a> <a href="/t/sess?page=2&amp;sid=%s">page 2</a>`, id, strings.ToUpper(id), id))
	case p == "/c/loop-a":
		http.Redirect(w, r, "/c/loop-b", http.StatusFound)
	case p == "/c/loop-b":
		http.Redirect(w, r, "/c/loop-a", http.StatusFound)
	case p == "/c/self":
		http.Redirect(w, r, "/c/self", http.StatusMovedPermanently)
	case p == "/c/to-ftp":
		redirect(w, "ftp://www.chaos.test/pub/file.txt")
	case p == "/c/to-js":
		redirect(w, "javascript:alert('amber-xss-location')")
	case p == "/c/to-file":
		redirect(w, "file:///etc/passwd")
	case p == "/c/to-data":
		redirect(w, "data:text/html,<script>alert(1)</script>")
	case p == "/c/to-nowhere":
		w.WriteHeader(http.StatusFound) // no Location at all
	case p == "/c/to-tls":
		redirect(w, "https://"+Host("tls")+":"+s.tlsPort+"/c/secure")
	case strings.HasPrefix(p, "/c/rel/"):
		page(w, "relative links", `<a href="../sibling">up</a> <a href="./same">same</a> <a href="?q=1">query</a> <a href="//`+r.Host+`/c/protorel">protocol-relative</a>`)
	case p == "/c/base":
		page(w, "base", `<a href="target">by base</a>`)
		// <base> after the body is still the base (the first one counts).
	case p == "/c/based":
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, `<html><head><base href="/c/based/"><title>base</title></head><body><a href="target">by base</a> <a href="/c/based-abs">absolute</a></body></html>`)
	case p == "/c/schemes":
		page(w, "schemes", `<a href="javascript:alert('amber-xss-js')">js</a> <a href="data:text/html,hi">data</a> <a href="mailto:x@chaos.test">mail</a> <a href="tel:+100">tel</a> <a href="ftp://www.chaos.test/f">ftp</a> <a href="file:///etc/passwd">file</a> <a href="#top">fragment</a> <a href="">empty</a> <a href="http://">no host</a> <a href="http://[::1">bad</a>`)
	case p == "/c/hosts":
		port := s.port
		page(w, "hosts and paths", fmt.Sprintf(`<a href="http://bücher.chaos.test:%s/c/idn">idn</a> <a href="http://%%77ww.chaos.test:%s/c/pct-host">percent host</a> <a href="/c/%%7Etilde">tilde</a> <a href="/c/caf%%c3%%a9">café</a> <a href="/c/sp ace">space</a> <a href="/c/long/%s">long</a>`, port, port, strings.Repeat("A", 3000)))
	case strings.HasPrefix(p, "/t/echo/"):
		// Answers every path, with a relative link one level deeper.
		page(w, "echo "+p, `<a href="a/">deeper</a>`)
	case p == "/c/401":
		http.Error(w, "unauthorised", http.StatusUnauthorized)
	case p == "/c/403":
		http.Error(w, "forbidden", http.StatusForbidden)
	case p == "/c/500":
		http.Error(w, "internal error", http.StatusInternalServerError)
	case p == "/c/xss":
		w.Header().Set("X-Xss", `<script>alert("amber-xss-header")</script>`)
		w.Header().Set("Content-Type", "text/html; charset=\"><script>alert('amber-xss-ctype')</script>")
		w.Header().Set("Refresh", "0;url=http://live.chaos.test:"+s.port+"/")
		w.Header().Set("Set-Cookie", "amber=evil; Path=/")
		w.Header().Set("Link", "<http://live.chaos.test:"+s.port+"/x.css>; rel=preload; as=style")
		_, _ = io.WriteString(w, strings.ReplaceAll(XSSPage, "PORT", s.port))
	case strings.HasPrefix(p, "/c/xss/"):
		page(w, "xss child", "")
	default:
		page(w, "case "+p, "")
	}
}

// XSSPage is the body of /c/xss (PORT replaced by the server's port): a
// title, links and a base that carry script injections aimed at amber's own
// pages (listings, banner, calendar), and requisites on live.chaos.test,
// which replay must never contact.
const XSSPage = `<!doctype html><html><head><title></title><script>alert('amber-xss-title')</script></title>
<base href="javascript:alert('amber-xss-base')//">
</head><body><h1>hostile</h1>
<a href="http://www.chaos.test:PORT/c/xss/%22%3E%3Cscript%3Ealert('amber-xss-url')%3C/script%3E">url</a>
<a href="http://www.chaos.test:PORT/c/xss/&quot;&gt;&lt;img src=x onerror=alert('amber-xss-img')&gt;">img</a>
<img src="http://live.chaos.test:PORT/pixel.gif">
<script src="http://live.chaos.test:PORT/track.js"></script>
</body></html>`

func redirect(w http.ResponseWriter, loc string) {
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusFound)
}

// Binary returns the body of /c/binary: 64 KiB of bytes that are not text.
func Binary() []byte {
	b := make([]byte, 64<<10)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// drip sends a head and then one byte every 100 ms, forever.
func (s *Server) drip(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", "1000000")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	for {
		if _, err := w.Write([]byte("<")); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.quit:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// endless streams a chunked body that never ends.
func (s *Server) endless(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html")
	chunk := filler(32 << 10)
	for {
		if _, err := w.Write(chunk); err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.quit:
			return
		default:
		}
	}
}

// BigSize is the length of big.chaos.test/c/50mb.
const BigSize = 50 << 20

func (s *Server) big(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", strconv.Itoa(BigSize))
	chunk := filler(64 << 10)
	for sent := 0; sent < BigSize; sent += len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			return
		}
		select {
		case <-s.quit:
			return
		default:
		}
	}
}

// ChainLength is how many redirects chain.chaos.test/c/hop/0 makes.
const ChainLength = 30

func (s *Server) chain(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/c/hop/"))
	if err != nil || n < 0 {
		http.NotFound(w, r)
		return
	}
	if n >= ChainLength {
		page(w, "end of the chain", "")
		return
	}
	http.Redirect(w, r, "/c/hop/"+strconv.Itoa(n+1), http.StatusFound)
}

// calendar answers /t/cal/YYYY/MM/ for any month, linking to the next one.
func (s *Server) calendar(w http.ResponseWriter, r *http.Request) {
	var y, m int
	if _, err := fmt.Sscanf(r.URL.Path, "/t/cal/%d/%d/", &y, &m); err != nil || m < 1 || m > 12 {
		http.NotFound(w, r)
		return
	}
	ny, nm := y, m+1
	if nm > 12 {
		ny, nm = y+1, 1
	}
	page(w, fmt.Sprintf("events of %04d-%02d", y, m), fmt.Sprintf(`<a href="/t/cal/%04d/%02d/">next month</a>`, ny, nm))
}

// busy answers 429 to everything: /c/storm with Retry-After: 0, /c/far
// with a day.
func (s *Server) busy(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/c/far" {
		w.Header().Set("Retry-After", "86400")
	} else {
		w.Header().Set("Retry-After", "0")
	}
	http.Error(w, "slow down", http.StatusTooManyRequests)
}

// BombMembers is how many 1 MiB gzip members of zeros the bomb holds.
const BombMembers = 1024

// bomb is BombMembers gzip members of 1 MiB of zeros each: about 1 MiB
// that decodes to 1 GiB.
func (s *Server) bomb() []byte {
	s.bombOnce.Do(func() {
		var one bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&one, gzip.BestCompression)
		_, _ = zw.Write(make([]byte, 1<<20))
		_ = zw.Close()
		s.bombData = bytes.Repeat(one.Bytes(), BombMembers)
	})
	return s.bombData
}
