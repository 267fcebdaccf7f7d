package replay

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

func TestDecodeContent(t *testing.T) {
	const text = "<p>archived text</p>"
	enc := func(f func(w *bytes.Buffer)) string {
		var b bytes.Buffer
		f(&b)
		return b.String()
	}
	deflateRaw := enc(func(b *bytes.Buffer) { w, _ := flate.NewWriter(b, 5); w.Write([]byte(text)); w.Close() })
	deflateZlib := enc(func(b *bytes.Buffer) { w := zlib.NewWriter(b); w.Write([]byte(text)); w.Close() })
	br := enc(func(b *bytes.Buffer) { w := brotli.NewWriter(b); w.Write([]byte(text)); w.Close() })
	zs := enc(func(b *bytes.Buffer) { w, _ := zstd.NewWriter(b); w.Write([]byte(text)); w.Close() })
	gz := gzipped(t, text)
	tests := []struct {
		name, in string
		enc      []string
		want     string
		ok       bool
	}{
		{"identity", text, nil, text, true},
		{"gzip", gz, []string{"gzip"}, text, true},
		{"x-gzip upper case", gz, []string{" X-GZIP "}, text, true},
		{"deflate zlib", deflateZlib, []string{"deflate"}, text, true},
		{"deflate raw", deflateRaw, []string{"deflate"}, text, true},
		{"br", br, []string{"br"}, text, true},
		{"zstd", zs, []string{"zstd"}, text, true},
		{"gzip then br", enc(func(b *bytes.Buffer) { w := brotli.NewWriter(b); w.Write([]byte(gz)); w.Close() }), []string{"gzip, br"}, text, true},
		{"unknown kept", "xyz", []string{"compress"}, "xyz", false},
		{"bad gzip kept", "not gzip", []string{"gzip"}, "not gzip", false},
		{"truncated gzip gives what decoded", gz[:len(gz)-8], []string{"gzip"}, text, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, _ := decodeContent([]byte(tt.in), tt.enc, 1<<20)
			if string(got) != tt.want || ok != tt.ok {
				t.Errorf("got %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	// A bomb stops at the limit.
	bomb := gzipped(t, strings.Repeat("\x00", 10<<20))
	got, ok, cut := decodeContent([]byte(bomb), []string{"gzip"}, 1<<20)
	if !ok || !cut || len(got) != 1<<20 {
		t.Errorf("bomb: %d bytes, ok %v, cut %v", len(got), ok, cut)
	}
}

func TestParseArchivedBrokenFraming(t *testing.T) {
	head := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	a, err := parseArchived([]byte(head), []byte("5\r\nhello\r\n6\r\n wor"))
	if err != nil {
		t.Fatal(err)
	}
	if string(a.Entity) != "hello wor" || !a.Partial || a.Header.Get("Transfer-Encoding") != "chunked" {
		t.Errorf("entity %q, partial %v, TE %q", a.Entity, a.Partial, a.Header.Get("Transfer-Encoding"))
	}
	if _, err := parseArchived(nil, nil); err == nil {
		t.Error("no head accepted")
	}
}
