package warc

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// interopDir returns $AMBER_INTEROP or skips: the third-party samples are
// not redistributed with the repository.
func interopDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("AMBER_INTEROP")
	if dir == "" {
		t.Skip("AMBER_INTEROP not set: third-party sample WARCs (see /work/shared/interop/README.md) are not in the repo")
	}
	return dir
}

// goldenBlocks parses expected-cdxj.txt into its "## name" sections.
func goldenBlocks(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	blocks := map[string][]string{}
	var cur string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			cur = strings.Fields(line)[1]
		case strings.HasPrefix(line, "#"), line == "":
		default:
			blocks[cur] = append(blocks[cur], line)
		}
	}
	return blocks
}

func TestIndexGolden(t *testing.T) {
	dir := interopDir(t)
	blocks := goldenBlocks(t, filepath.Join(dir, "cdxj-indexer", "expected-cdxj.txt"))
	tests := []struct {
		file  string
		block string // the plain default-output section of expected-cdxj.txt
		sort  bool
	}{
		{file: "example.warc.gz", block: "test_warc_cdxj"},
		{file: "cc.warc.gz", block: "test_warc_cdxj_sorted", sort: true},
		{file: "missing-http.warc.gz", block: "test_missing_http"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			want := blocks[tt.block]
			if len(want) == 0 {
				t.Fatalf("no golden block %s", tt.block)
			}
			f, err := os.Open(filepath.Join(dir, "cdxj-indexer", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var got []string
			err = Index(f, tt.file, func(c CDXJ) error {
				got = append(got, c.String())
				return nil
			})
			if err != nil {
				t.Fatalf("Index: %v", err)
			}
			if tt.sort {
				SortCDXJ(got)
			}
			if !slices.Equal(got, want) {
				t.Errorf("CDXJ mismatch\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
			}
			// Each golden line parses back to the same line.
			for _, line := range want {
				c, err := ParseCDXJ(line)
				if err != nil {
					t.Fatalf("ParseCDXJ(%q): %v", line, err)
				}
				if c.String() != line {
					t.Errorf("ParseCDXJ round trip:\n got %s\nwant %s", c.String(), line)
				}
			}
		})
	}
}

type interopCase struct {
	path    string
	records int      // -1: not checked
	defects []string // substrings that must appear in some record or file defect
	clean   bool     // no defects at all
}

func readAll(t *testing.T, path string) (n int, defects []string, err error) {
	t.Helper()
	f, ferr := os.Open(path)
	if ferr != nil {
		t.Fatal(ferr)
	}
	defer f.Close()
	r := NewReader(f)
	for {
		rec, nerr := r.Next()
		if nerr != nil {
			if nerr.Error() != "EOF" {
				err = nerr
			}
			break
		}
		if _, berr := r.ReadBlock(); berr != nil {
			err = berr
		}
		n++
		defects = append(defects, rec.Defects...)
	}
	return n, append(defects, r.Defects()...), err
}

func TestReadInterop(t *testing.T) {
	dir := interopDir(t)
	tests := []interopCase{
		{path: "warcio/example.warc", records: 6, clean: true},
		{path: "warcio/example.warc.gz", records: 6, clean: true},
		{path: "warcio/example-iana.org-chunked.warc", records: 3, clean: true},
		{path: "warcio/example-digest.warc", records: 4, clean: true},
		{path: "warcio/example-trunc.warc", records: 4, defects: []string{"bad end-of-record marker", "skipped 3 bytes of non-WARC data"}},
		{path: "warcio/example-wrong-chunks.warc.gz", records: 2, defects: []string{"record split across gzip members at offset 516"}},
		{path: "warcio/example-bad-non-chunked.warc.gz", records: 6, defects: []string{"holds more than one record"}},
		{path: "warcio/example-bad.warc.gz.bad", records: -1, defects: []string{"holds more than one record"}},
		{path: "warcio/example-resource.warc.gz", records: 3, clean: true},
		{path: "warcio/example-space-in-target-uri.warc.gz", records: 2, clean: true},
		{path: "warcio/example-wget-bad-target-uri.warc.gz", records: 6, defects: []string{"WARC-Target-URI in angle brackets (stripped)"}},
		{path: "warcio/post-test.warc.gz", records: 6, clean: true},
		{path: "cdxj-indexer/example.warc.gz", records: 6, clean: true},
		{path: "cdxj-indexer/cc.warc.gz", records: 3, clean: true},
		{path: "cdxj-indexer/missing-http.warc.gz", records: 2, clean: true},
		{path: "cdxj-indexer/post-test-more.warc", records: 6, clean: true},
		{path: "iipc/hello-world.warc", records: 6, clean: true},
		{path: "iipc/hello-world.warc.gz", records: 6, clean: true},
		{path: "iipc/20130729-heritrix-original.warc.gz", records: 1, clean: true},
		{path: "iipc/20130729-heritrix-revisit-with-http-headers.warc.gz", records: 1, clean: true},
		{path: "iipc/20141124-heritrix-server-not-modified.warc.gz", records: 1, defects: []string{"bad end-of-record marker: 2 of 4"}},
		{path: "iipc/20141129-heritrix-original.warc.gz", records: 1, clean: true},
		{path: "iipc/20141129-heritrix-revisit-with-http-headers-and-new-warc-headers.warc.gz", records: 1, clean: true},
		{path: "ia-gowarc/test.warc.gz", records: 3, clean: true},
		{path: "ia-gowarc/good.warc.gz.open", records: 50, defects: []string{"holds more than one record"}},
		{path: "ia-gowarc/single-record.warc.gz.open", records: 1, clean: true},
		{path: "ia-gowarc/skip-non-open.warc.gz", records: 10, defects: []string{"holds more than one record"}},
		{path: "ia-gowarc/corrupted-mid-record.warc.gz.open", records: -1, defects: []string{"trailing garbage"}},
		{path: "ia-gowarc/corrupted-trailing-bytes.warc.gz.open", records: 30, defects: []string{"trailing garbage: 55 bytes"}},
		{path: "ia-gowarc/empty.warc.gz.open", records: 0, defects: []string{"empty gzip member at offset 0"}},
	}
	// Every WARC in the folder must be listed, so a new sample is not silently skipped.
	listed := map[string]bool{}
	for _, tt := range tests {
		listed[tt.path] = true
	}
	for _, sub := range []string{"warcio", "iipc", "ia-gowarc", "cdxj-indexer"} {
		entries, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range entries {
			n := e.Name()
			if strings.Contains(n, ".warc") && !strings.HasSuffix(n, ".cdx") && !listed[sub+"/"+n] {
				t.Errorf("interop file %s/%s has no test case", sub, n)
			}
		}
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			n, defects, err := readAll(t, filepath.Join(dir, tt.path))
			if err != nil {
				t.Errorf("read error: %v", err)
			}
			if tt.records >= 0 && n != tt.records {
				t.Errorf("records = %d, want %d", n, tt.records)
			}
			if tt.clean && len(defects) > 0 {
				t.Errorf("unexpected defects: %q", defects)
			}
			for _, want := range tt.defects {
				if !slices.ContainsFunc(defects, func(d string) bool { return strings.Contains(d, want) }) {
					t.Errorf("defect %q not reported; got %q", want, defects)
				}
			}
		})
	}
}

func TestInteropPayloadDigests(t *testing.T) {
	dir := interopDir(t)
	tests := []struct {
		path, uri  string
		wantDigest string // our de-chunked payload digest
		checkForm  string // form in which the stored WARC-Payload-Digest matches ("" = no stored digest)
	}{
		{path: "ia-gowarc/test.warc.gz", uri: "https://apis.google.com/js/platform.js", wantDigest: "sha1:BCCR6R5CNEMXNPML7BQMLMP4NLG47J7A"},
		{path: "warcio/example-iana.org-chunked.warc", uri: "http://www.iana.org/", wantDigest: "sha1:RBDPEPHJIOR3OAEJ7BRUKYTHPDGZH4I6", checkForm: PayloadRaw},
		{path: "warcio/example.warc", uri: "http://example.com/", wantDigest: "sha1:G7HRM7BGOKSKMSXZAHMUQTTV53QOFSMK", checkForm: PayloadDechunked},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, tt.path))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r := NewReader(f)
			for {
				rec, err := r.Next()
				if err != nil {
					t.Fatalf("no response for %s: %v", tt.uri, err)
				}
				if rec.Type() != TypeResponse || rec.TargetURI() != tt.uri {
					continue
				}
				block, err := r.ReadBlock()
				if err != nil {
					t.Fatal(err)
				}
				got, err := PayloadDigest(block)
				if err != nil || got != tt.wantDigest {
					t.Errorf("PayloadDigest = %s, %v; want %s", got, err, tt.wantDigest)
				}
				if tt.checkForm != "" {
					ok, form, err := CheckPayloadDigest(rec.Header.Get("WARC-Payload-Digest"), block)
					if err != nil || !ok || form != tt.checkForm {
						t.Errorf("CheckPayloadDigest = %v, %q, %v; want match in form %q", ok, form, err, tt.checkForm)
					}
				}
				return
			}
		})
	}
}

func TestVerifyInterop(t *testing.T) {
	dir := interopDir(t)
	tests := []struct {
		path       string
		wantErrors bool
		wantMsg    string
	}{
		{path: "warcio/example.warc.gz"},
		{path: "iipc/hello-world.warc.gz"},
		{path: "ia-gowarc/test.warc.gz"},
		{path: "cdxj-indexer/example.warc.gz", wantErrors: true, wantMsg: "block digest mismatch"},
		{path: "warcio/example-digest.warc", wantErrors: true, wantMsg: "WARC-Payload-Digest"},
		{path: "warcio/example-bad-non-chunked.warc.gz", wantErrors: true, wantMsg: "more than one record"},
		{path: "warcio/example-trunc.warc", wantErrors: true, wantMsg: "end-of-record marker"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, tt.path))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rep, err := Verify(f, tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := rep.Errors() > 0; got != tt.wantErrors {
				t.Errorf("errors = %d, want errors: %v\n%s", rep.Errors(), tt.wantErrors, rep)
			}
			if tt.wantMsg != "" && !strings.Contains(rep.String(), tt.wantMsg) {
				t.Errorf("report lacks %q:\n%s", tt.wantMsg, rep)
			}
		})
	}
}
