package warc

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the Reader: it must never panic or
// loop, and whatever parses must survive a write/read round trip with the
// same header fields and block.
func FuzzReader(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.warc*"))
	for _, p := range files {
		if filepath.Ext(p) == ".cdxj" {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("WARC/1.0\r\nContent-Length: 3\r\n\r\nabc\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		for i := 0; i < 1000; i++ {
			rec, err := r.Next()
			if err != nil {
				return
			}
			block, err := r.ReadBlock()
			if err != nil || rec.Type() == "" || len(rec.Defects) > 0 {
				continue
			}
			// Round trip what parsed cleanly.
			var buf bytes.Buffer
			w := NewWriter(&buf, WriterOptions{Uncompressed: true})
			rec2 := &Record{Version: rec.Version, Header: rec.Header.Clone()}
			if _, err := w.WriteRecord(rec2, block); err != nil {
				continue // e.g. a Content-Length the writer rejects
			}
			r2 := NewReader(&buf)
			got, err := r2.Next()
			if err != nil {
				t.Fatalf("re-read: %v", err)
			}
			b2, err := r2.ReadBlock()
			if err != nil || !bytes.Equal(b2, block) {
				t.Fatalf("block changed in round trip: %v", err)
			}
			for _, fl := range rec.Header {
				// The writer turns stray CR/LF in values into spaces: framing first.
				if !slices.Contains(got.Header.Values(fl.Name), strings.TrimSpace(oneLine(fl.Value))) {
					t.Fatalf("field %s lost in round trip", fl.Name)
				}
			}
			if _, err := r2.Next(); err != io.EOF {
				t.Fatalf("round trip produced extra data: %v", err)
			}
		}
	})
}
