package archive_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/warc"
)

// benchPage returns an HTML-like page of about n bytes, varied by seed, as
// compressible as real article pages (gzip ~4:1).
func benchPage(rng *rand.Rand, n int) []byte {
	words := strings.Fields("the of and to in a is that for it as was with be by on not he this are or his from at which but have an they you were her all she there would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three")
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html><html><head><title>Bench page</title></head><body>\n")
	for b.Len() < n {
		b.WriteString("<p>")
		for range 40 {
			b.WriteString(words[rng.Intn(len(words))])
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "<a href=\"/2016/%02d/%d/\">%d</a></p>\n", rng.Intn(12)+1, rng.Intn(1e6), rng.Intn(1e6))
	}
	b.WriteString("</body></html>\n")
	return b.Bytes()
}

// benchStore commits n captures of ~size-byte pages and returns the store
// and the bytes of the stored exchanges (request, response head and body).
func benchStore(b *testing.B, n, size int) (*archive.Store, int64) {
	b.Helper()
	s, err := archive.Open(filepath.Join(b.TempDir(), "bench.db"), archive.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx := context.Background()
	run, err := s.CreateRun(ctx, archive.Run{Seeds: []string{"http://bench.test/"}})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	var total int64
	var batch []*archive.Capture
	for i := range n {
		body := benchPage(rng, size)
		head := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n\r\n", len(body))
		req := fmt.Sprintf("GET /2016/05/page-%d/ HTTP/1.1\r\nHost: bench.test\r\nUser-Agent: amber/bench\r\n\r\n", i)
		total += int64(len(req) + len(head) + len(body))
		batch = append(batch, &archive.Capture{
			URL: fmt.Sprintf("http://bench.test/2016/05/page-%d/", i), Method: "GET", Time: t0.Add(time.Duration(i) * time.Second),
			IP: "127.0.0.1", Duration: 20 * time.Millisecond,
			Request:      []byte(req),
			ResponseHead: []byte(head), Body: body, Status: 200, MIME: "text/html", Reason: archive.ReasonArticle,
			Parent: "http://bench.test/", Hops: "L", Outlinks: []string{"http://bench.test/a", "http://bench.test/b"},
		})
		if len(batch) == 64 || i == n-1 {
			if _, err := s.Commit(ctx, run.ID, archive.Batch{Captures: batch}); err != nil {
				b.Fatal(err)
			}
			batch = nil
		}
	}
	return s, total
}

// BenchmarkExport measures export throughput over the stored exchanges
// (MB/s of request, response head and body), next to gzip alone
// compressing the same bytes at the same level, framed as a WARC must
// frame them: the request and the response of each exchange a member
// each. What only the export adds (WARC headers, the warcinfo and metadata
// records, digests, reading the store) is the export's cost. Run with
// -cpu 1 for the one-core figure.
func BenchmarkExport(b *testing.B) {
	s, total := benchStore(b, 2000, 30_000)
	ctx := context.Background()
	b.Run("export", func(b *testing.B) {
		b.SetBytes(total)
		defer reportCPU(b, total)()
		for b.Loop() {
			dir := b.TempDir()
			res, err := s.Export(ctx, archive.ExportOptions{Dir: dir}, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			for _, f := range res.Files {
				os.Remove(f)
			}
			b.StartTimer()
		}
	})
	var blocks [][]byte
	err := s.Captures(ctx, "", func(c *archive.Capture) error {
		body, err := s.Body(ctx, c)
		blocks = append(blocks, c.Request, append(append([]byte{}, c.ResponseHead...), body...))
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.DefaultCompression)
	gzipOnly := func() {
		for _, blk := range blocks {
			out.Reset()
			zw.Reset(&out)
			zw.Write(blk)
			zw.Close()
		}
	}
	b.Run("gzip-only", func(b *testing.B) {
		b.SetBytes(total)
		defer reportCPU(b, total)()
		for b.Loop() {
			gzipOnly()
		}
	})
	// ratio alternates one export and one gzip-only pass and reports the
	// export's speed as a fraction of gzip's from the CPU time of each
	// pair: on this shared machine the CPU's speed drifts between runs
	// (gzip-only alone ranged 72-100 MB/s in one session), which skews a
	// ratio of figures taken minutes apart.
	b.Run("ratio", func(b *testing.B) {
		var exp, gz time.Duration
		for b.Loop() {
			dir := b.TempDir()
			t0 := cpuTime()
			res, err := s.Export(ctx, archive.ExportOptions{Dir: dir}, nil)
			t1 := cpuTime()
			if err != nil {
				b.Fatal(err)
			}
			gzipOnly()
			t2 := cpuTime()
			exp += t1 - t0
			gz += t2 - t1
			b.StopTimer()
			for _, f := range res.Files {
				os.Remove(f)
			}
			b.StartTimer()
		}
		b.ReportMetric(gz.Seconds()/exp.Seconds()*100, "%-of-gzip")
		b.ReportMetric(0, "ns/op")
	})
}

// reportCPU adds a "cpu-MB/s" metric: bytes per op over the process's CPU
// time (user+system) per op, which other load on the machine does not
// distort the way it distorts wall time. Call as defer reportCPU(b, n)().
func reportCPU(b *testing.B, bytesPerOp int64) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			perOp := (cpuTime() - start).Seconds() / float64(b.N)
			b.ReportMetric(float64(bytesPerOp)/1e6/perOp, "cpu-MB/s")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkImport measures importing an export of the same captures into
// a fresh store (MB/s of stored exchanges).
func BenchmarkImport(b *testing.B) {
	s, total := benchStore(b, 2000, 30_000)
	ctx := context.Background()
	res, err := s.Export(ctx, archive.ExportOptions{Dir: b.TempDir()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(total)
	defer reportCPU(b, total)()
	for b.Loop() {
		b.StopTimer()
		dst, err := archive.Open(filepath.Join(b.TempDir(), "imp.db"), archive.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		ir, err := dst.Import(ctx, res.Files, nil)
		if err != nil || ir.Stored != 2000 {
			b.Fatalf("import: %v (%+v)", err, ir)
		}
		b.StopTimer()
		dst.Close()
		b.StartTimer()
	}
}

// BenchmarkReadLarge reads a 1 GB WARC file (generated under b.TempDir:
// response records of half text, half random bytes) record by record,
// every block read, and reports MB/s of file. Skipped unless
// AMBER_BENCH_LARGE=1.
func BenchmarkReadLarge(b *testing.B) {
	if os.Getenv("AMBER_BENCH_LARGE") != "1" {
		b.Skip("set AMBER_BENCH_LARGE=1 to generate and read a 1 GB WARC")
	}
	fw, err := warc.NewFileWriter(warc.FileWriterOptions{Dir: b.TempDir(), MaxSize: 4 << 30, Host: "bench",
		Writer: warc.WriterOptions{GzipLevel: 1}})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewSource(2))
	noise := make([]byte, 16<<10)
	var size int64
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; size < 1e9; i++ {
		rng.Read(noise)
		body := append(benchPage(rng, 16<<10), noise...)
		block := append([]byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n", len(body))), body...)
		rec := warc.NewRecord(warc.TypeResponse, fmt.Sprintf("http://bench.test/%d", i), t0, warc.ContentTypeHTTPResponse)
		pos, err := fw.WriteRecord(rec, block)
		if err != nil {
			b.Fatal(err)
		}
		size = pos.Offset + pos.Length
	}
	if err := fw.Close(); err != nil {
		b.Fatal(err)
	}
	path := fw.Files()[0]
	b.SetBytes(size)
	buf := make([]byte, 256<<10)
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r := warc.NewReader(f)
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.CopyBuffer(io.Discard, r, buf); err != nil {
				b.Fatal(err)
			}
			n++
		}
		f.Close()
		b.ReportMetric(float64(n), "records")
	}
}
