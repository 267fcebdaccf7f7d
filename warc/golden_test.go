package warc

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGolden pins the exact bytes the Writer produces (with an injected
// clock and record IDs) and the CDXJ index of them. These files also seed
// FuzzReader. Run `go test ./warc -run TestGolden -update` after an
// intended format change.
func TestGolden(t *testing.T) {
	for _, tt := range []struct {
		file string
		opts WriterOptions
	}{
		{file: "sample.warc", opts: WriterOptions{Uncompressed: true}},
		{file: "sample.warc.gz", opts: WriterOptions{GzipLevel: 9}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			data, _, _ := writeSamples(t, tt.opts)
			var idx strings.Builder
			if err := Index(bytes.NewReader(data), tt.file, func(c CDXJ) error {
				idx.WriteString(c.String() + "\n")
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			golden := map[string][]byte{
				tt.file:           data,
				tt.file + ".cdxj": []byte(idx.String()),
			}
			for name, got := range golden {
				path := filepath.Join("testdata", name)
				if *update {
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to create)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from golden (run with -update if intended)", path)
				}
			}
		})
	}
}
