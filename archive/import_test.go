package archive_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/amberarchive/amber/archive"
)

func interopDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("AMBER_INTEROP")
	if dir == "" {
		t.Skip("AMBER_INTEROP not set: third-party sample WARCs (see /work/shared/interop/README.md) are not in the repo")
	}
	return dir
}

// interopFiles lists the sample WARC (and ARC) files.
func interopFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"warcio", "iipc", "ia-gowarc", "cdxj-indexer"} {
		es, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			n := e.Name()
			if (strings.Contains(n, ".warc") || strings.Contains(n, ".arc")) && !strings.HasSuffix(n, ".cdx") {
				out = append(out, filepath.Join(dir, sub, n))
			}
		}
	}
	return out
}

func newTestStore(t testing.TB) *archive.Store {
	t.Helper()
	s, err := archive.Open(filepath.Join(t.TempDir(), "amber.db"), archive.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestImportInterop imports every third-party sample in one call: each
// response/revisit is stored or refused with a reason, ARC files are
// refused as such, a second import stores nothing, and what was imported
// re-exports as WARC the three verifiers accept.
func TestImportInterop(t *testing.T) {
	dir := interopDir(t)
	files := interopFiles(t, dir)
	store := newTestStore(t)
	ctx := context.Background()
	var events []archive.ImportEvent
	res, err := store.Import(ctx, files, func(e archive.ImportEvent) { events = append(events, e) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	byFile := map[string][]archive.ImportEvent{}
	for _, e := range events {
		rel, _ := filepath.Rel(dir, e.File)
		byFile[rel] = append(byFile[rel], e)
		if (e.Action == archive.ImportSkipped || e.Action == archive.ImportFailed || e.Action == archive.ImportDefect) && e.Why == "" {
			t.Errorf("%s without a reason: %v", e.Action, e)
		}
	}
	has := func(file, action, sub string) bool {
		for _, e := range byFile[file] {
			if e.Action == action && strings.Contains(e.String(), sub) {
				return true
			}
		}
		return false
	}
	for _, tt := range []struct {
		file, action, sub string
	}{
		{"warcio/example.arc", archive.ImportFailed, "ARC is not supported"},
		{"warcio/example.arc.gz", archive.ImportFailed, "ARC is not supported"},
		{"warcio/bad.arc", archive.ImportFailed, "ARC is not supported"},
		// Whole-file gzip: read sequentially, defect reported, imported.
		{"warcio/example-bad-non-chunked.warc.gz", archive.ImportStored, "response http://example.com/"},
		{"warcio/example-bad-non-chunked.warc.gz", archive.ImportStored, "revisit http://example.com/: revisit of http://example.com/"},
		// The same records again (same WARC-Record-IDs): stored once.
		{"warcio/example.warc", archive.ImportDuplicate, "response http://example.com/: imported before"},
		{"warcio/example.warc.gz", archive.ImportDuplicate, "revisit http://example.com/: imported before"},
		{"warcio/example-resource.warc.gz", archive.ImportSkipped, "resource record"},
		{"iipc/hello-world.warc", archive.ImportSkipped, "resource record"},
		{"iipc/hello-world.warc", archive.ImportStored, "response"},
		{"iipc/20130729-heritrix-revisit-with-http-headers.warc.gz", archive.ImportStored, "revisit http://www.bl.uk/: revisit of http://www.bl.uk/"},
		{"iipc/20141129-heritrix-revisit-with-http-headers-and-new-warc-headers.warc.gz", archive.ImportStored, "revisit"},
		{"iipc/20141124-heritrix-server-not-modified.warc.gz", archive.ImportSkipped, "empty block"},
		{"ia-gowarc/test.warc.gz", archive.ImportStored, "https://apis.google.com/js/platform.js"},
		{"ia-gowarc/good.warc.gz.open", archive.ImportDefect, "HTTP Content-Length 216 but the body has 263 bytes"},
		{"ia-gowarc/empty.warc.gz.open", archive.ImportDefect, "empty gzip member"},
		{"ia-gowarc/corrupted-mid-record.warc.gz.open", archive.ImportDefect, "trailing garbage"},
		{"cdxj-indexer/missing-http.warc.gz", archive.ImportSkipped, "empty block"},
		{"cdxj-indexer/post-test-more.warc", archive.ImportStored, "response"},
		{"warcio/example-wget-bad-target-uri.warc.gz", archive.ImportDefect, "angle brackets"},
		{"warcio/example-bad-non-chunked.warc.gz", archive.ImportDefect, "more than one record"},
		{"warcio/post-test.warc.gz", archive.ImportStored, "response"},
	} {
		if !has(tt.file, tt.action, tt.sub) {
			t.Errorf("%s: no %s event with %q; events:\n%s", tt.file, tt.action, tt.sub, evLines(byFile[tt.file]))
		}
	}
	if res.FailedFiles != 4 { // the ARC files
		t.Errorf("%d files failed, want the 4 ARC files:\n%s", res.FailedFiles, evLines(events))
	}

	// The chunked+gzip response keeps its bytes: the de-chunked payload
	// digest is the one known for it.
	cs, err := store.CapturesOf("https://apis.google.com/js/platform.js")
	if err != nil || len(cs) == 0 {
		t.Fatalf("platform.js: %v", err)
	}
	if cs[0].PayloadDigest != "sha1:BCCR6R5CNEMXNPML7BQMLMP4NLG47J7A" || cs[0].Reason != archive.ReasonImport || cs[0].Run != res.Run || len(cs[0].Request) == 0 {
		t.Errorf("platform.js capture: %+v", cs[0])
	}
	// The Heritrix revisit points at its original.
	bl, _ := store.CapturesOf("http://www.bl.uk/")
	revisits := 0
	for _, c := range bl {
		if c.RevisitOf != nil {
			revisits++
		}
	}
	if revisits == 0 {
		t.Errorf("www.bl.uk: no capture with RevisitOf among %d", len(bl))
	}
	run, err := store.Run(res.Run)
	if err != nil || run.Job != "import" || run.Status != archive.RunFinished || run.Counts.Captures != res.Stored {
		t.Errorf("import run: %+v (%v)", run, err)
	}

	// Again: nothing new.
	res2, err := store.Import(ctx, files, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Stored != 0 || res2.Duplicates != res.Stored+res.Duplicates {
		t.Errorf("second import stored %d, %d duplicates; first stored %d", res2.Stored, res2.Duplicates, res.Stored)
	}

	// Re-export and validate.
	out := t.TempDir()
	ex, err := store.Export(ctx, archive.ExportOptions{Dir: out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Captures != res.Stored {
		t.Errorf("exported %d captures, imported %d", ex.Captures, res.Stored)
	}
	for _, f := range ex.Files {
		validateWARC(t, f)
	}
}

func evLines(es []archive.ImportEvent) string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString("  " + e.String() + "\n")
	}
	return b.String()
}

// TestImportOwnExport imports an export back into the store it came from:
// every capture record is a duplicate, nothing is stored twice; the same
// files into another store are all stored.
func TestImportOwnExport(t *testing.T) {
	src, _ := crawlFixture(t, 12, false)
	ctx := context.Background()
	ex, err := src.Export(ctx, archive.ExportOptions{Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	count := func(s *archive.Store) int {
		n := 0
		if err := s.Captures(ctx, "", func(*archive.Capture) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count(src)
	var stored []archive.ImportEvent
	res, err := src.Import(ctx, ex.Files, func(e archive.ImportEvent) {
		if e.Action == archive.ImportStored {
			stored = append(stored, e)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stored != 0 || res.Duplicates != ex.Captures || count(src) != before {
		t.Fatalf("own export imported: %d stored, %d duplicates of %d captures, %d captures now, %d before:\n%s",
			res.Stored, res.Duplicates, ex.Captures, count(src), before, evLines(stored))
	}
	dst := newTestStore(t)
	res, err = dst.Import(ctx, ex.Files, nil)
	if err != nil || res.Stored != ex.Captures || res.Duplicates != 0 {
		t.Fatalf("into another store: %v, %d stored, %d duplicates, want %d stored", err, res.Stored, res.Duplicates, ex.Captures)
	}
}

// TestImportRoundTrip exports a crawl of the fixture, imports the export
// into a new store, and checks every capture came back byte for byte with
// its metadata, revisits resolved; the re-export validates.
func TestImportRoundTrip(t *testing.T) {
	src, _ := crawlFixture(t, 12, false)
	ctx := context.Background()
	ex, err := src.Export(ctx, archive.ExportOptions{Dir: t.TempDir(), MaxSize: 300_000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dst := newTestStore(t)
	var skipped []archive.ImportEvent
	res, err := dst.Import(ctx, ex.Files, func(e archive.ImportEvent) {
		if e.Action != archive.ImportStored {
			skipped = append(skipped, e)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stored != ex.Captures || len(skipped) > 0 {
		t.Fatalf("imported %d of %d captures:\n%s", res.Stored, ex.Captures, evLines(skipped))
	}
	type key struct{ url, time string }
	got := map[key]*archive.Capture{}
	dst.Captures(ctx, "", func(c *archive.Capture) error {
		got[key{c.URL, c.Time.Format("20060102150405.000000")}] = c
		return nil
	})
	n, revisits := 0, 0
	err = src.Captures(ctx, "", func(c *archive.Capture) error {
		n++
		d := got[key{c.URL, c.Time.Format("20060102150405.000000")}]
		if d == nil {
			t.Errorf("%s %s not imported", c.URL, c.Time)
			return nil
		}
		sb, _ := src.Body(ctx, c)
		db, _ := dst.Body(ctx, d)
		if !bytes.Equal(c.Request, d.Request) || !bytes.Equal(c.ResponseHead, d.ResponseHead) || !bytes.Equal(sb, db) {
			t.Errorf("%s: bytes differ after the round trip", c.URL)
		}
		if c.PayloadDigest != d.PayloadDigest || c.Status != d.Status || c.IP != d.IP || c.Parent != d.Parent ||
			c.Hops != d.Hops || !slices.Equal(c.Outlinks, d.Outlinks) || c.Duration.Milliseconds() != d.Duration.Milliseconds() {
			t.Errorf("%s: metadata differs:\n src %+v\n dst %+v", c.URL, c, d)
		}
		if (c.RevisitOf == nil) != (d.RevisitOf == nil) {
			t.Errorf("%s: RevisitOf %q, imported %q", c.URL, c.RevisitOf, d.RevisitOf)
		}
		if d.RevisitOf != nil {
			revisits++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if revisits == 0 || n != len(got) {
		t.Errorf("%d revisits; %d captures in source, %d imported", revisits, n, len(got))
	}
	st, _ := dst.Stats()
	ss, _ := src.Stats()
	if st.Bodies != ss.Bodies {
		t.Errorf("imported store holds %d bodies, source %d: repeats not stored once", st.Bodies, ss.Bodies)
	}
	ex2, err := dst.Export(ctx, archive.ExportOptions{Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ex2.Files {
		validateWARC(t, f)
	}
	if ex2.Revisits != ex.Revisits || ex2.Responses != ex.Responses {
		t.Errorf("re-export: %d responses %d revisits; first export %d, %d", ex2.Responses, ex2.Revisits, ex.Responses, ex.Revisits)
	}
}
