package archive_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/warc"
)

// readRecords reads every record of a WARC file with its block.
func readRecords(t *testing.T, path string) ([]*warc.Record, [][]byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := warc.NewReader(f)
	var recs []*warc.Record
	var blocks [][]byte
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.ReadBlock()
		if err != nil {
			t.Fatal(err)
		}
		recs, blocks = append(recs, rec), append(blocks, b)
	}
	return recs, blocks
}

// TestExportValid exports two plain crawls and a conditional re-crawl of
// the fixture (chunked, gzip, GBK, 301, 404/410, robots.txt, identical
// payload revisits and 304 server-not-modified revisits) and has three
// independent verifiers check every file; then checks the records' shape.
func TestExportValid(t *testing.T) {
	store, _ := crawlFixture(t, 12, true)
	dir := t.TempDir()
	var last archive.ExportProgress
	res, err := store.Export(context.Background(), archive.ExportOptions{
		Dir: dir, Software: "amber/test", MaxSize: 200_000, Host: "testhost",
	}, func(p archive.ExportProgress) { last = p })
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) < 2 {
		t.Fatalf("MaxSize 200 kB gave %d files, want rotation", len(res.Files))
	}
	if last.Captures != res.Captures || last.Records != res.Records || last.Bytes != res.Bytes {
		t.Errorf("last progress %+v, result %+v", last, res)
	}
	if res.Revisits == 0 || res.Responses == 0 {
		t.Fatalf("result %+v: want responses and revisits", res)
	}

	var all []*warc.Record
	var blocks [][]byte
	total := 0
	for _, path := range res.Files {
		if !strings.HasPrefix(filepath.Base(path), "amber-") || !strings.HasSuffix(path, "-testhost.warc.gz") {
			t.Errorf("file name %s", path)
		}
		if fi, _ := os.Stat(path); fi.Size() > 200_000+100_000 {
			t.Errorf("%s: %d bytes, far past MaxSize", path, fi.Size())
		}
		total += validateWARC(t, path)
		recs, bs := readRecords(t, path)
		if recs[0].Type() != warc.TypeWarcinfo {
			t.Errorf("%s: first record is %s", path, recs[0].Type())
		}
		info := string(bs[0])
		for _, want := range []string{"software: amber/test\r\n", "operator: mailto:test@amber.invalid\r\n",
			"robots: classic\r\n", "http-header-user-agent: amber/test (+mailto:test@amber.invalid)\r\n",
			"format: WARC File Format 1.1\r\n", "conformsTo: http://iipc.github.io/", "isPartOf: amber runs 1,2,3\r\n",
			"description: amber export of run 1 started"} {
			if !strings.Contains(info, want) {
				t.Errorf("warcinfo lacks %q:\n%s", want, info)
			}
		}
		all, blocks = append(all, recs...), append(blocks, bs...)
	}
	if int64(total) != res.Records+int64(len(res.Files)) {
		t.Errorf("validators read %d records, export wrote %d + %d warcinfo", total, res.Records, len(res.Files))
	}

	byID := map[string]*warc.Record{}
	for _, r := range all {
		byID[r.ID()] = r
	}
	kinds := map[string]int{}
	for i, r := range all {
		h := r.Header
		switch r.Type() {
		case warc.TypeResponse, warc.TypeRevisit:
			req := byID[h.Get("WARC-Concurrent-To")]
			if req == nil {
				// The crawler stored no request bytes for this exchange.
				kinds["no request"]++
			} else if req.Type() != warc.TypeRequest || req.Header.Get("WARC-Concurrent-To") != r.ID() {
				t.Errorf("%s %s: request %s not concurrent to it", r.Type(), r.TargetURI(), req.ID())
			} else if req.Header.Get("WARC-Date") != h.Get("WARC-Date") {
				t.Errorf("%s: request date %s, response %s", r.TargetURI(), req.Header.Get("WARC-Date"), h.Get("WARC-Date"))
			}
			if h.Get("WARC-IP-Address") == "" {
				t.Errorf("%s: no WARC-IP-Address", r.TargetURI())
			}
		}
		switch {
		case r.Type() == warc.TypeRevisit && h.Get("WARC-Profile") == warc.ProfileIdenticalPayloadDigest:
			kinds["identical"]++
			orig := byID[h.Get("WARC-Refers-To")]
			if orig == nil || orig.Type() != warc.TypeResponse {
				t.Errorf("revisit %s refers to %q, not a response in the export", r.TargetURI(), h.Get("WARC-Refers-To"))
				continue
			}
			if orig.TargetURI() != h.Get("WARC-Refers-To-Target-URI") || orig.Header.Get("WARC-Date") != h.Get("WARC-Refers-To-Date") ||
				orig.Header.Get("WARC-Payload-Digest") != h.Get("WARC-Payload-Digest") || h.Get("WARC-Truncated") != "length" {
				t.Errorf("revisit %s: header %v does not match original %v", r.TargetURI(), h, orig.Header)
			}
			if _, body := warc.SplitHTTP(blocks[i]); len(body) != 0 {
				t.Errorf("revisit %s: block has a body", r.TargetURI())
			}
		case r.Type() == warc.TypeRevisit && h.Get("WARC-Profile") == warc.ProfileServerNotModified:
			kinds["304"]++
			if !strings.HasPrefix(string(blocks[i]), "HTTP/1.1 304") || h.Get("WARC-Refers-To-Target-URI") != r.TargetURI() ||
				h.Get("WARC-Refers-To-Date") == "" || byID[h.Get("WARC-Refers-To")] == nil {
				t.Errorf("304 revisit %s: %v", r.TargetURI(), h)
			}
		case r.Type() == warc.TypeResponse:
			kinds["response"]++
			head, _ := warc.SplitHTTP(blocks[i])
			hh, _ := warc.ParseHTTPHead(head)
			if hh.Chunked() {
				kinds["chunked"]++
			}
			if strings.EqualFold(hh.Fields.Get("Content-Encoding"), "gzip") {
				kinds["gzip"]++
			}
			if strings.HasSuffix(r.TargetURI(), "/robots.txt") {
				kinds["robots"]++
			}
			kinds["status"+strconv.Itoa(hh.Status)]++
		case r.Type() == warc.TypeMetadata:
			kinds["metadata"]++
			b := string(blocks[i])
			if !strings.Contains(b, "fetchTimeMs: ") || byID[h.Get("WARC-Concurrent-To")] == nil {
				t.Errorf("metadata %s: %q", r.TargetURI(), b)
			}
			if strings.Contains(b, "hopsFromSeed: L") && !strings.Contains(b, "via: http") {
				t.Errorf("metadata %s has hops but no via: %q", r.TargetURI(), b)
			}
			if strings.Contains(b, "outlink: ") {
				kinds["outlinks"]++
			}
		}
	}
	for _, k := range []string{"identical", "304", "response", "chunked", "gzip", "robots", "status200", "status301", "status404", "status410", "metadata", "outlinks"} {
		if kinds[k] == 0 {
			t.Errorf("no %s record in the export (%v)", k, kinds)
		}
	}
	t.Logf("records: %v", kinds)
}

// TestExportIndex checks index.cdxj: sorted bytewise, one line per
// response/revisit, equal to what warc.Index finds in the files, and each
// line's offset and length is exactly one gzip member holding that record.
func TestExportIndex(t *testing.T) {
	store, _ := crawlFixture(t, 12, false)
	dir := t.TempDir()
	res, err := store.Export(context.Background(), archive.ExportOptions{Dir: dir, MaxSize: 300_000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(res.Index)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if !slices.IsSorted(lines) {
		t.Errorf("index.cdxj is not sorted bytewise")
	}
	if int64(len(lines)) != res.Captures {
		t.Errorf("%d index lines, %d captures", len(lines), res.Captures)
	}
	var want []string
	for _, f := range res.Files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		err = warc.Index(fh, filepath.Base(f), func(c warc.CDXJ) error { want = append(want, c.String()); return nil })
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	warc.SortCDXJ(want)
	if !slices.Equal(lines, want) {
		t.Errorf("index.cdxj differs from warc.Index of the files")
	}
	files := map[string]*os.File{}
	for _, line := range lines {
		c, err := warc.ParseCDXJ(line)
		if err != nil {
			t.Fatal(err)
		}
		f := files[c.Filename]
		if f == nil {
			if f, err = os.Open(filepath.Join(dir, c.Filename)); err != nil {
				t.Fatalf("line names %s: %v", c.Filename, err)
			}
			defer f.Close()
			files[c.Filename] = f
		}
		r := warc.NewReader(io.NewSectionReader(f, c.Offset, c.Length))
		rec, err := r.Next()
		if err != nil {
			t.Fatalf("%s at %d: %v", c.Filename, c.Offset, err)
		}
		if _, err := r.ReadBlock(); err != nil {
			t.Fatal(err)
		}
		if rec.TargetURI() != c.URL || rec.Header.Get("WARC-Payload-Digest") != c.Digest {
			t.Errorf("line %s: record at offset is %s %s", line, rec.Type(), rec.TargetURI())
		}
		if _, err := r.Next(); err != io.EOF {
			t.Errorf("line %s: more than one record in [offset, offset+length)", line)
		}
	}
}

// TestExportStableIDs exports twice and checks every record but warcinfo
// has the same ID, and that the index lines are identical.
func TestExportStableIDs(t *testing.T) {
	store, _ := crawlFixture(t, 12, false)
	ids := func() []string {
		dir := t.TempDir()
		res, err := store.Export(context.Background(), archive.ExportOptions{Dir: dir}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range res.Files {
			recs, _ := readRecords(t, f)
			for _, r := range recs {
				if r.Type() != warc.TypeWarcinfo {
					out = append(out, r.ID()+" "+r.Type()+" "+r.TargetURI())
				}
			}
		}
		return out
	}
	a, b := ids(), ids()
	if !slices.Equal(a, b) {
		t.Errorf("record IDs differ between two exports of the same captures")
	}
	seen := map[string]bool{}
	for _, x := range a {
		id := strings.Fields(x)[0]
		if seen[id] {
			t.Errorf("record ID %s used twice", id)
		}
		seen[id] = true
	}
}

// TestExportFilters checks --run, --since/--until, --url-prefix, and that a
// repeat whose original is outside the export is written in full.
func TestExportFilters(t *testing.T) {
	store, srv := crawlFixture(t, 12, false)
	ctx := context.Background()
	run2, err := store.Run(2)
	if err != nil {
		t.Fatal(err)
	}
	types := func(opts archive.ExportOptions) (map[string]int, []*warc.Record) {
		opts.Dir = t.TempDir()
		res, err := store.Export(ctx, opts, nil)
		if err != nil {
			t.Fatal(err)
		}
		n := map[string]int{}
		var recs []*warc.Record
		for _, f := range res.Files {
			validateWARC(t, f)
			rs, _ := readRecords(t, f)
			for _, r := range rs {
				n[r.Type()]++
			}
			recs = append(recs, rs...)
		}
		return n, recs
	}

	// Run 2 alone: its repeats' originals are in run 1, so all are written
	// in full and the export replays on its own.
	n, recs := types(archive.ExportOptions{Runs: []uint64{2}})
	if n[warc.TypeRevisit] != 0 || int64(n[warc.TypeResponse]) != run2.Counts.Captures {
		t.Errorf("run 2 alone: %v, want %d responses and no revisit", n, run2.Counts.Captures)
	}
	for _, r := range recs {
		if r.Type() == warc.TypeWarcinfo {
			continue
		}
		d, _ := r.Date()
		if d.Before(run2.Started) {
			t.Errorf("run 2 export holds %s from %s, before the run", r.TargetURI(), d)
		}
	}

	// The same by time.
	n2, _ := types(archive.ExportOptions{Since: run2.Started})
	if n2[warc.TypeResponse] != n[warc.TypeResponse] {
		t.Errorf("--since run 2's start: %v, want %v", n2, n)
	}
	n3, _ := types(archive.ExportOptions{Until: run2.Started})
	run1, _ := store.Run(1)
	if int64(n3[warc.TypeResponse]) != run1.Counts.Captures-run1.Counts.Revisits || int64(n3[warc.TypeRevisit]) != run1.Counts.Revisits {
		t.Errorf("--until run 2's start: %v, want run 1's %d captures", n3, run1.Counts.Captures)
	}

	// A URL prefix.
	prefix := srv.URL("xinhua.test")
	_, recs = types(archive.ExportOptions{URLPrefix: prefix})
	if len(recs) < 4 {
		t.Fatalf("prefix %s: only %d records", prefix, len(recs))
	}
	for _, r := range recs {
		if r.Type() != warc.TypeWarcinfo && !strings.HasPrefix(r.TargetURI(), prefix) {
			t.Errorf("prefix %s export holds %s", prefix, r.TargetURI())
		}
	}

	// An unknown run is an error naming it.
	if _, err := store.Export(ctx, archive.ExportOptions{Dir: t.TempDir(), Runs: []uint64{9}}, nil); !errors.Is(err, archive.ErrNotFound) || !strings.Contains(err.Error(), "run 9") {
		t.Errorf("unknown run: %v", err)
	}
}

// TestExportInterrupted cancels an export mid-way: the file being written
// keeps its .open name, files already rotated are whole, and no index is
// written.
func TestExportInterrupted(t *testing.T) {
	store, _ := crawlFixture(t, 12, false)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := store.Export(ctx, archive.ExportOptions{Dir: dir, MaxSize: 100_000}, func(p archive.ExportProgress) {
		if p.Captures == 150 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res.Partial == "" || !strings.HasSuffix(res.Partial, ".warc.gz.open") {
		t.Fatalf("Partial = %q", res.Partial)
	}
	entries, _ := os.ReadDir(dir)
	open := 0
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case strings.HasSuffix(e.Name(), ".open"):
			open++
		case strings.HasSuffix(e.Name(), ".warc.gz"):
			validateWARC(t, p) // a final name holds a whole file
		default:
			t.Errorf("unexpected file %s", e.Name())
		}
	}
	if open != 1 || len(res.Files) == 0 || len(entries) != len(res.Files)+1 {
		t.Errorf("%d .open files, %d complete (%v)", open, len(res.Files), entries)
	}
	// The .open file holds whole records up to the cut.
	f, _ := os.Open(res.Partial)
	defer f.Close()
	rep, err := warc.Verify(bufio.NewReader(f), "partial")
	if err != nil || rep.Errors() > 0 || rep.Records == 0 {
		t.Errorf("partial file: %v\n%s", err, rep)
	}
}

// TestExportPermission: an output path under a regular file fails with an
// error naming the path.
func TestExportPermission(t *testing.T) {
	store, err := archive.Open(filepath.Join(t.TempDir(), "a.db"), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	file := filepath.Join(t.TempDir(), "plain")
	os.WriteFile(file, []byte("x"), 0o644)
	out := filepath.Join(file, "out")
	_, err = store.Export(context.Background(), archive.ExportOptions{Dir: out}, nil)
	if err == nil || !strings.Contains(err.Error(), out) {
		t.Errorf("err = %v, want one naming %s", err, out)
	}
}

// TestExportGolden pins the bytes Export writes for a fixed store, so that
// work on the export's speed cannot change its output unnoticed. When only
// the files digest changes, the records are the same but compressed
// differently (a new klauspost/compress, say): check that, then update
// it. Capture keys feed the record IDs, so a new key format changes both.
func TestExportGolden(t *testing.T) {
	s := goldenStore(t)
	for _, tc := range []struct {
		name           string
		opts           archive.ExportOptions
		files, content string
	}{
		{"all", archive.ExportOptions{MaxSize: 300_000},
			"300eec18668dfca9ba16b16974ebbd0f20c16792197df6ab86b24787d1e043cd",
			"f2ac96a2a6fcd4921d96410a627d7547b8b7520642c0a6a65205ab14569e1270"},
		{"run 2, level 9", archive.ExportOptions{Runs: []uint64{2}, GzipLevel: 9},
			"3d918b02ff9e3e3c344d4989634ebaade7eb461926ea9bc2a8f6e8b5ff6d32fd",
			"730097e7d5a2bea63f6a34eed0982df4fbec5f8053173ffdc9e8c46b2394d587"},
	} {
		files, content := exportDigests(t, s, tc.opts)
		if content != tc.content {
			t.Errorf("%s: records changed: content digest %s, want %s", tc.name, content, tc.content)
		}
		if files != tc.files {
			t.Errorf("%s: files changed: digest %s, want %s", tc.name, files, tc.files)
		}
	}
}
