package replay

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/amberarchive/amber/archive"
)

// Benchmark archive: 100,000 captures on one site, built once and kept
// in the temporary folder between runs (delete it to rebuild).
const (
	benchArticles = 99000
	benchCSS      = 500
	benchImages   = 500
	benchHost     = "http://bench.test"
)

var benchStart = time.Date(2016, 5, 12, 0, 0, 0, 0, time.UTC)

func benchArticleURL(i int) string {
	return fmt.Sprintf("%s/%d/%02d/article-%d/", benchHost, 2016+i/12000, 1+i/1000%12, i)
}

func benchArticle(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Article %d – Bench Times</title>
<link rel="stylesheet" href="/css/theme-%d.css?ver=1">
<link rel="icon" href="/img/favicon.png">
<script src="//bench.test/js/site.js?ver=2"></script>
</head><body><div id="page"><header id="masthead" style="background:url(/img/head-%d.png)"><a href="/"><img src="/img/logo-%d.png" alt="logo"></a></header>
<article><h1 class="entry-title">Article %d</h1><p>`, i, i%benchCSS, i%benchImages, i%benchImages, i)
	for p := 0; p < 6; p++ {
		b.WriteString("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. ")
	}
	fmt.Fprintf(&b, `</p><figure><img src="/img/pic-%d.png" srcset="/img/pic-%d.png 1x, /img/pic-%d@2x.png 2x" width="32" height="24"></figure>
<blockquote><p>Quoted text. <a href="http://source.test/news/%d.htm" target="_blank">[Source]</a></p></blockquote><ul class="related">`,
		i%benchImages, i%benchImages, i%benchImages, i)
	for k := 1; k <= 10; k++ {
		j := (i + k*7919) % benchArticles
		fmt.Fprintf(&b, `<li><a href="%s">Article %d</a></li>`, benchArticleURL(j), j)
	}
	b.WriteString(`</ul><nav><a href="../../../page/2/">older</a> <a href="#top">top</a> <a href="mailto:tips@bench.test">tips</a></nav></article></div></body></html>`)
	return b.String()
}

// benchStore opens the cached benchmark archive, building it first if
// needed. It returns its path.
func benchStorePath(b *testing.B) string {
	b.Helper()
	path := filepath.Join(os.TempDir(), "amber-replay-bench-100k-v2.db")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	tmp := path + ".building"
	os.Remove(tmp)
	start := time.Now()
	st, err := archive.Open(tmp, archive.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var batch []*archive.Capture
	flush := func() {
		if _, err := st.Commit(ctx, 0, archive.Batch{Captures: batch}); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	add := func(u string, t time.Time, ctype, body string) {
		raw := "HTTP/1.1 200 OK\r\nContent-Type: " + ctype + "\r\nContent-Length: " + fmt.Sprint(len(body)) +
			"\r\nLast-Modified: Thu, 12 May 2016 10:42:00 GMT\r\nServer: bench\r\n\r\n" + body
		c := capture(b, u, timestamp(t), raw)
		batch = append(batch, c)
		if len(batch) == 1000 {
			flush()
		}
	}
	png := "\x89PNG\r\n\x1a\n" + strings.Repeat("\x00", 120)
	for i := 0; i < benchCSS; i++ {
		add(fmt.Sprintf("%s/css/theme-%d.css?ver=1", benchHost, i), benchStart, "text/css",
			fmt.Sprintf("@import url(\"/css/base.css\");\nbody{color:#%03x;background:url(/img/bg-%d.png)}\n#masthead{background:#8b0000}\n", i, i))
	}
	for i := 0; i < benchImages; i++ {
		add(fmt.Sprintf("%s/img/pic-%d.png", benchHost, i), benchStart, "image/png", png+fmt.Sprint(i))
	}
	for i := 0; i < benchArticles; i++ {
		add(benchArticleURL(i), benchStart.Add(time.Duration(i)*time.Minute), "text/html; charset=utf-8", benchArticle(i))
	}
	flush()
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %s (100,000 captures) in %s", path, time.Since(start).Round(time.Millisecond))
	return path
}

// BenchmarkReplayArticle measures rewritten-article requests per second
// and their latency, from concurrent HTTP clients on loopback.
func BenchmarkReplayArticle(b *testing.B) {
	path := benchStorePath(b)
	st, err := archive.Open(path, archive.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(New(st, Options{Banner: true}))
	defer srv.Close()
	const clients = 16
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	var mu sync.Mutex
	var lat []time.Duration
	var seed uint64
	b.SetParallelism(clients / max(1, testingProcs()))
	b.ResetTimer()
	start := time.Now()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		seed++
		rng := rand.New(rand.NewPCG(seed, 42))
		mu.Unlock()
		var mine []time.Duration
		for pb.Next() {
			i := rng.IntN(benchArticles)
			u := srv.URL + "/web/" + timestamp(benchStart.Add(time.Duration(i)*time.Minute)) + "/" + benchArticleURL(i)
			t0 := time.Now()
			resp, err := client.Get(u)
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mine = append(mine, time.Since(t0))
			if resp.StatusCode != 200 || n < 2000 {
				b.Errorf("%s: %d, %d bytes", u, resp.StatusCode, n)
				return
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	// CPU time of this process (server and clients) per request: on a
	// shared machine, cores/(this) is the rate the code can sustain.
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(lat)), "cpu-µs/req")
}

// cpuTime returns the user and system CPU time used by this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkOpenToFirstResponse measures the time from opening the archive
// to the first replayed article.
func BenchmarkOpenToFirstResponse(b *testing.B) {
	path := benchStorePath(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := archive.Open(path, archive.Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		s := New(st, Options{Banner: true})
		n := (i * 7919) % benchArticles
		r := httptest.NewRequest(http.MethodGet, "/web/2016/"+benchArticleURL(n), nil)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("first response %d", w.Code)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
}

// BenchmarkRewriteHTML measures the HTML rewriter alone on one article.
func BenchmarkRewriteHTML(b *testing.B) {
	page := []byte(benchArticle(1234))
	banner := []byte(`<div id="amber-replay-banner">x</div>`)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		newRewriter("20160512000000", benchArticleURL(1234)).rewriteHTML(make([]byte, 0, len(page)*2), page, banner)
	}
}

func testingProcs() int { return runtime.GOMAXPROCS(0) }

// BenchmarkServeArticle measures the handler alone (no network, no
// client): what one request costs the server.
func BenchmarkServeArticle(b *testing.B) {
	st, err := archive.Open(benchStorePath(b), archive.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := New(st, Options{Banner: true})
	b.ReportAllocs()
	b.ResetTimer()
	var seed uint64
	var mu sync.Mutex
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		seed++
		rng := rand.New(rand.NewPCG(seed, 7))
		mu.Unlock()
		for pb.Next() {
			i := rng.IntN(benchArticles)
			r := httptest.NewRequest(http.MethodGet, "/web/"+timestamp(benchStart.Add(time.Duration(i)*time.Minute))+"/"+benchArticleURL(i), nil)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Errorf("%d", w.Code)
				return
			}
		}
	})
}
