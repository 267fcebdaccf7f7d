package warc

import (
	"bytes"
	stdgzip "compress/gzip"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	kpgzip "github.com/klauspost/compress/gzip"
)

// benchResponse is a ~30 KB HTML response, the typical news article size.
func benchResponse() []byte {
	var body strings.Builder
	for i := 0; body.Len() < 30000; i++ {
		fmt.Fprintf(&body, "<p class=\"para-%d\">Paragraph %d of an archived article, with a [Source] link to http://xinhua.test/%d.</p>\n", i%7, i, i)
	}
	return []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s", body.Len(), body.String()))
}

func benchWARC(b *testing.B, n int) []byte {
	b.Helper()
	block := benchResponse()
	var buf bytes.Buffer
	w := NewWriter(&buf, WriterOptions{})
	for i := 0; i < n; i++ {
		rec := NewRecord(TypeResponse, fmt.Sprintf("http://chinadigitaltimes.test/2024/05/a%d/", i), time.Unix(1714564800, 0), ContentTypeHTTPResponse)
		if _, err := w.WriteRecord(rec, block); err != nil {
			b.Fatal(err)
		}
	}
	return buf.Bytes()
}

func BenchmarkWriter(b *testing.B) {
	block := benchResponse()
	w := NewWriter(io.Discard, WriterOptions{})
	date := time.Unix(1714564800, 0)
	b.SetBytes(int64(len(block)))
	b.ReportAllocs()
	for b.Loop() {
		rec := NewRecord(TypeResponse, "http://chinadigitaltimes.test/2024/05/slug/", date, ContentTypeHTTPResponse)
		if _, err := w.WriteRecord(rec, block); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReader(b *testing.B) {
	data := benchWARC(b, 100)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(bytes.NewReader(data))
		for {
			if _, err := r.Next(); err != nil {
				break
			}
			io.Copy(io.Discard, r)
		}
	}
}

func BenchmarkIndex(b *testing.B) {
	data := benchWARC(b, 100)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Index(bytes.NewReader(data), "bench.warc.gz", func(CDXJ) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGzipOnly measures the compressors alone on the same bytes, to
// see how much of BenchmarkWriter is compression (and which library wins).
func BenchmarkGzipOnly(b *testing.B) {
	block := benchResponse()
	b.Run("stdlib", func(b *testing.B) {
		zw := stdgzip.NewWriter(io.Discard)
		b.SetBytes(int64(len(block)))
		for b.Loop() {
			zw.Reset(io.Discard)
			zw.Write(block)
			zw.Close()
		}
	})
	b.Run("klauspost", func(b *testing.B) {
		zw := kpgzip.NewWriter(io.Discard)
		b.SetBytes(int64(len(block)))
		for b.Loop() {
			zw.Reset(io.Discard)
			zw.Write(block)
			zw.Close()
		}
	})
}
