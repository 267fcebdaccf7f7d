package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amberarchive/amber/testdata/fixture"
)

// proxy is a forwarding HTTP proxy on 127.0.0.1 for clients, like wget,
// that cannot map host names to loopback addresses: it takes absolute-URI
// requests and forwards each to the fixture listener of its Host, through
// fixture.Server.DialContext, which refuses anything but a fixture host.
// No request can leave loopback.
type proxy struct {
	URL string // "http://127.0.0.1:PORT/"
}

func startProxy(tb testing.TB, srv *fixture.Server) *proxy {
	tb.Helper()
	tr := &http.Transport{
		DialContext:         srv.DialContext,
		DisableCompression:  true, // pass Accept-Encoding and bodies through untouched
		MaxIdleConnsPerHost: 16,
		ForceAttemptHTTP2:   false,
	}
	p := &proxy{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// pr.Out.URL is already the absolute URL the client asked for.
			pr.Out.Host = pr.In.Host
		},
		Transport: tr,
		ErrorLog:  nil,
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.URL.IsAbs() {
			http.Error(w, "proxy: want an absolute-URI request", http.StatusBadRequest)
			return
		}
		rp.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	tb.Cleanup(func() {
		hs.Close()
		tr.CloseIdleConnections()
	})
	p.URL = "http://" + ln.Addr().String() + "/"
	return p
}

// wgetResult is one wget crawl.
type wgetResult struct {
	wall     time.Duration
	requests int64 // requests the fixture answered
	bytes    int64 // body bytes the fixture sent (after content-coding)
	warcSize int64
	maxRSS   int64
}

// crawlHosts are the fixture hosts a correct crawl contacts; wget may span
// to them (the ad and share hosts stay out of --domains).
var crawlHosts = []string{fixture.CDT, fixture.Xinhua, fixture.VOA, fixture.NYTimes, fixture.Reuters}

func wgetOnce(b *testing.B, wget string, srv *fixture.Server, p *proxy, dir string) wgetResult {
	b.Helper()
	srv.ResetLog()
	args := []string{
		"--no-config", // first, or it has no effect: no ~/.wgetrc or /etc/wgetrc
		"--recursive", "--level=inf", "--no-parent", "--page-requisites",
		"--span-hosts", "--domains=" + strings.Join(crawlHosts, ","),
		"--warc-file=" + filepath.Join(dir, "wget"), "--no-warc-keep-log",
		"--delete-after", "--directory-prefix=" + filepath.Join(dir, "files"),
		"-e", "robots=on", "--no-verbose",
		"-e", "use_proxy=yes", "-e", "http_proxy=" + p.URL, "-e", "https_proxy=" + p.URL,
		"--user-agent=wget-bench (+mailto:bench@amber.invalid)",
		srv.Seed(),
	}
	cmd := exec.Command(wget, args...)
	cmd.Env = append(os.Environ(), "no_proxy=", "NO_PROXY=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	mem := sampleMem(cmd.Process.Pid)
	err := cmd.Wait()
	wall := time.Since(start)
	peaks := mem()
	// wget exits 8 when some responses were errors: the fixture's vanished
	// sources answer 404 and 410 on purpose.
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 8) {
		b.Fatalf("wget: %v\n%s", err, tail(out.String(), 40))
	}
	res := wgetResult{wall: wall, maxRSS: peaks.hwm} // VmHWM: see sampleMem
	for _, h := range srv.Log() {
		res.requests++
		res.bytes += h.Bytes
	}
	for _, h := range []string{fixture.Ads, fixture.Twitter, fixture.Facebook} {
		if n := srv.Requests(h); n > 0 {
			b.Errorf("wget made %d requests to %s", n, h)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "wget.warc.gz")); err == nil {
		res.warcSize = fi.Size()
	} else {
		b.Errorf("wget wrote no WARC: %v", err)
	}
	if keep := os.Getenv(envKeep); keep != "" {
		_ = os.MkdirAll(keep, 0o755)
		_ = os.WriteFile(filepath.Join(keep, fmt.Sprintf("wget-%d.log", time.Now().UnixNano())), out.Bytes(), 0o644)
	}
	return res
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// BenchmarkWget crawls each site size with wget --recursive --warc-file
// through the forwarding proxy, then with amber (once per
// AMBER_BENCH_PER_HOST value) on the same server, and reports both rates and
// their ratio. wget follows every in-domain link amber leaves alone (tag
// and author pages, a source's further links, the feed, site furniture),
// so it fetches more pages: compare pages/s, not wall time.
func BenchmarkWget(b *testing.B) {
	wget, err := exec.LookPath("wget")
	if err != nil {
		b.Skip("wget is not installed (apt-get install wget)")
	}
	parallel := envInt(b, envParallel, 8)
	phs := perHosts(b)
	for _, n := range sizes(b) {
		b.Run(fmt.Sprintf("articles=%d", n), func(b *testing.B) {
			srv := site(b, n)
			p := startProxy(b, srv)
			var w wgetResult
			amberWall := make([]time.Duration, len(phs))
			amberPages := make([]int64, len(phs))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r := wgetOnce(b, wget, srv, p, b.TempDir())
				w.wall += r.wall
				w.requests += r.requests
				w.bytes += r.bytes
				w.warcSize += r.warcSize
				w.maxRSS = max(w.maxRSS, r.maxRSS)
				wr := float64(r.requests) / r.wall.Seconds()
				b.Logf("wget run %d: %d requests, %.1f MB bodies, %s wall, %.0f pages/s, WARC %.1f MB, peak RSS %.1f MB, load %s",
					i, r.requests, float64(r.bytes)/1e6, r.wall.Round(time.Millisecond), wr,
					float64(r.warcSize)/1e6, float64(r.maxRSS)/(1<<20), loadavg())
				m := map[string]float64{
					"wget-pages/s":    wr,
					"wget-pages":      float64(r.requests),
					"wget-peakRSS-MB": float64(r.maxRSS) / (1 << 20),
				}
				for j, ph := range phs {
					srv.ResetLog()
					c := crawlOnce(b, srv, b.TempDir(), ph, parallel)
					amberWall[j] += c.wall
					amberPages[j] += c.captures
					ar := float64(c.captures) / c.wall.Seconds()
					m[fmt.Sprintf("amber-ph%d-pages/s", ph)] = ar
					m[fmt.Sprintf("amber-ph%d/wget", ph)] = ar / wr
					b.Logf("amber run %d (--per-host %d): %d captures, %s wall, %.0f pages/s, %.2f× wget",
						i, ph, c.captures, c.wall.Round(time.Millisecond), ar, ar/wr)
				}
				record(b, m)
			}
			b.StopTimer()
			wr := float64(w.requests) / w.wall.Seconds()
			b.ReportMetric(wr, "wget-pages/s")
			b.ReportMetric(float64(w.bytes)/1e6/w.wall.Seconds(), "wget-MB/s")
			b.ReportMetric(float64(w.requests)/float64(b.N), "wget-pages")
			b.ReportMetric(float64(w.maxRSS)/(1<<20), "wget-peakRSS-MB")
			b.ReportMetric(float64(w.warcSize)/float64(w.requests), "wget-warc-B/page")
			for j, ph := range phs {
				ar := float64(amberPages[j]) / amberWall[j].Seconds()
				b.ReportMetric(ar, fmt.Sprintf("amber-ph%d-pages/s", ph))
				b.ReportMetric(ar/wr, fmt.Sprintf("amber-ph%d/wget", ph))
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkProxy measures what the forwarding proxy adds per request: the
// same sequence of fixture URLs (what a correct crawl fetches) is fetched
// one at a time with keep-alive, directly and through the proxy.
func BenchmarkProxy(b *testing.B) {
	srv := site(b, 1000)
	p := startProxy(b, srv)
	urls := srv.Expected().Fetch()
	pu, _ := url.Parse(p.URL)
	direct := srv.Client()
	direct.Transport.(*http.Transport).DisableCompression = true // as wget and the proxy
	via := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu), DisableCompression: true}}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	direct.CheckRedirect, via.CheckRedirect = noRedirect, noRedirect
	b.Cleanup(func() { direct.CloseIdleConnections(); via.CloseIdleConnections() })
	for _, c := range []struct {
		name   string
		client *http.Client
	}{{"direct", direct}, {"proxy", via}} {
		b.Run(c.name, func(b *testing.B) {
			var n int
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, u := range urls {
					res, err := c.client.Get(u)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					n++
				}
			}
			b.StopTimer()
			record(b, map[string]float64{"µs/req": float64(b.Elapsed().Microseconds()) / float64(n)})
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n), "µs/req")
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
