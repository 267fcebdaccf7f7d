package archive

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fixtureCapture builds a capture shaped like those of a crawl of the
// fixture news site: real-looking request and response heads, a parent, an
// anchor and outlinks. notModified makes it the 304 answer of a
// conditional re-crawl.
func fixtureCapture(i int, at time.Time, notModified bool) *Capture {
	host := "chinadigitaltimes.test:42959"
	path := fmt.Sprintf("/2016/%02d/article-number-%d-about-something/", 1+i%12, i)
	u := "http://" + host + path
	etag := fmt.Sprintf("\"%x-gzip\"", uint64(i)*0x9e3779b97f4a7c15)
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: amber/0.1.0 (+mailto:demo@amber.invalid)\r\n" +
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Encoding: gzip, deflate\r\n"
	date := at.UTC().Format(time.RFC1123)
	date = strings.Replace(date, "UTC", "GMT", 1)
	var head string
	c := &Capture{
		URL: u, Method: "GET", Time: at, Duration: time.Duration(3+i%7) * time.Millisecond, IP: "127.0.0.2",
		Reason: ReasonArticle, Parent: fmt.Sprintf("http://%s/category/society/page/%d/", host, i%20),
		Anchor: fmt.Sprintf("Article number %d about something", i), Hops: "LL", Depth: 2,
	}
	if notModified {
		req += "If-None-Match: " + etag + "\r\nIf-Modified-Since: Thu, 09 Jun 2016 03:36:00 GMT\r\n"
		head = "HTTP/1.1 304 Not Modified\r\nDate: " + date + "\r\nEtag: " + etag + "\r\nLast-Modified: Thu, 09 Jun 2016 03:36:00 GMT\r\n" +
			"Server: Apache/2.4.18 (Ubuntu)\r\nVary: Accept-Encoding\r\nConnection: close\r\n\r\n"
		c.Status, c.Conditional = 304, true
	} else {
		head = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Type: text/html; charset=UTF-8\r\nDate: " + date +
			"\r\nEtag: " + etag + "\r\nLast-Modified: Thu, 09 Jun 2016 03:36:00 GMT\r\nLink: <http://" + host +
			"/wp-json/>; rel=\"https://api.w.org/\"\r\nServer: Apache/2.4.18 (Ubuntu)\r\nVary: Accept-Encoding\r\n" +
			"x-powered-by: PHP/5.6.40\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
		c.Status, c.MIME = 200, "text/html"
		for k := 0; k < 30; k++ {
			c.Outlinks = append(c.Outlinks, fmt.Sprintf("http://%s/2016/%02d/article-number-%d-about-something/", host, 1+k%12, (i+k*37)%1000))
		}
		c.Body = []byte(strings.Repeat(fmt.Sprintf("<p>Article %d paragraph text, lorem ipsum dolor sit amet.</p>\n", i), 40))
	}
	c.Request = []byte(req + "Connection: close\r\n\r\n")
	c.ResponseHead = []byte(head)
	return c
}

// fixtureStore commits n URLs, each captured once in full and then
// notModified more times as 304s, a day apart.
func fixtureStore(b testing.TB, n, notModified int) (*Store, []string) {
	b.Helper()
	s := newStore(b, Options{NoSync: true})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var urls []string
	for day := 0; day <= notModified; day++ {
		var batch []*Capture
		for i := 0; i < n; i++ {
			c := fixtureCapture(i, t0.Add(time.Duration(day)*24*time.Hour+time.Duration(i)*time.Second), day > 0)
			if day == 0 {
				urls = append(urls, c.URL)
			}
			batch = append(batch, c)
		}
		if _, err := s.Commit(context.Background(), 0, Batch{Captures: batch}); err != nil {
			b.Fatal(err)
		}
	}
	return s, urls
}

// TestPerfCaptureRecordSize logs what one capture record costs in the
// store (value bytes; go test -run PerfCaptureRecordSize -v).
func TestPerfCaptureRecordSize(t *testing.T) {
	s, _ := fixtureStore(t, 200, 1)
	var full, notMod, nFull, nNotMod, keys int
	err := s.db.View(func(tx *bolt.Tx) error {
		caps := capsOf(tx)
		return caps.ForEach(func(k, v []byte) error {
			c, err := decodeCapture(caps, k, v)
			if err != nil {
				return err
			}
			keys += physKeyLen
			if c.Status == 304 {
				notMod += len(v)
				nNotMod++
			} else {
				full += len(v)
				nFull++
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("200 records: %d B each; 304 records: %d B each; keys %d B each", full/nFull, notMod/nNotMod, keys/(nFull+nNotMod))
}

// BenchmarkCapturesOf looks up one URL that has 1 full capture and 2 304s
// among 2,000 URLs, as replay does for every request.
func BenchmarkCapturesOf(b *testing.B) {
	s, urls := fixtureStore(b, 2000, 2)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		caps, err := s.CapturesOf(urls[(i*7919)%len(urls)])
		if err != nil || len(caps) != 3 {
			b.Fatalf("%d captures, %v", len(caps), err)
		}
	}
}

// BenchmarkCapturesOfMiss looks up a URL that is not in the store (a
// replay miss tries several variants).
func BenchmarkCapturesOfMiss(b *testing.B) {
	s, urls := fixtureStore(b, 2000, 0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		caps, err := s.CapturesOf(urls[(i*7919)%len(urls)] + "x")
		if err != nil || len(caps) != 0 {
			b.Fatalf("%d captures, %v", len(caps), err)
		}
	}
}

// BenchmarkCaptureDecode decodes one stored 200 capture record.
func BenchmarkCaptureDecode(b *testing.B) {
	for _, nm := range []bool{false, true} {
		b.Run(fmt.Sprintf("304=%v", nm), func(b *testing.B) {
			c := fixtureCapture(7, time.Now(), nm)
			c.Key = captureKey(surt(c.URL), c.Time.UnixNano())
			c.BodyDigest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
			c.PayloadDigest = "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ"
			v, err := encodeCapture(c, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(v)), "B/record")
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := decodeCapture(nil, c.Key, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCaptureEncode encodes one capture record, as the writer does.
func BenchmarkCaptureEncode(b *testing.B) {
	for _, nm := range []bool{false, true} {
		b.Run(fmt.Sprintf("304=%v", nm), func(b *testing.B) {
			c := fixtureCapture(7, time.Now(), nm)
			c.Key = captureKey(surt(c.URL), c.Time.UnixNano())
			c.BodyDigest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
			c.PayloadDigest = "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ"
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := encodeCapture(c, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBody reads the body of a small (article-sized) page.
func BenchmarkBody(b *testing.B) {
	s, urls := fixtureStore(b, 200, 0)
	var caps []*Capture
	for _, u := range urls {
		c, err := s.CapturesOf(u)
		if err != nil || len(c) != 1 {
			b.Fatal(len(c), err)
		}
		caps = append(caps, c[0])
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if _, err := s.Body(ctx, caps[i%len(caps)]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCommitCommitters is BenchmarkCommit (fsync on) with more
// committing goroutines, as a crawl has (one per fetch in flight): group
// commit makes one fsync serve many captures.
func BenchmarkCommitCommitters(b *testing.B) {
	for _, g := range []int{2, 8, 32} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) {
			s := newStore(b, Options{})
			run := newRun(b, s, "")
			b.SetParallelism((g + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			n := commitParallel(b, s, run)
			st := s.db.Stats().TxStats
			b.ReportMetric(float64(st.GetWrite())/float64(n), "page-writes/capture")
			b.ReportMetric(float64(st.GetPageAlloc())/float64(n), "B-alloc/capture")
		})
	}
}
