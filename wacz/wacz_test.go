package wacz_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/crawler"
	"github.com/amberarchive/amber/testdata/fixture"
	"github.com/amberarchive/amber/wacz"
	"github.com/amberarchive/amber/warc"
)

func crawled(t *testing.T) (*archive.Store, *fixture.Server) {
	t.Helper()
	srv, err := fixture.Start(fixture.Options{Articles: 12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	store, err := archive.Open(filepath.Join(t.TempDir(), "amber.db"), archive.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	for range 2 {
		cfg := crawler.DefaultConfig()
		cfg.Delay, cfg.MaxCrawlDelay, cfg.Resolve = 0, time.Millisecond, srv.Resolve()
		run, err := store.CreateRun(ctx, archive.Run{Seeds: []string{srv.Seed()}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := crawler.New(cfg, store)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Run(ctx, run.ID, []string{srv.Seed()}); err != nil {
			t.Fatal(err)
		}
	}
	return store, srv
}

// TestWrite packages two crawls of the fixture and checks the WACZ as a
// reader would: every entry stored, every resource's sha256 and size, the
// digest of datapackage.json, every idx block's digest, every CDXJ line's
// offset resolving to its record inside archive/, and pages.jsonl.
func TestWrite(t *testing.T) {
	store, srv := crawled(t)
	path := filepath.Join(t.TempDir(), "site.wacz")
	res, err := wacz.Write(context.Background(), store, wacz.Options{
		Path: path, Title: "fixture", Export: archive.ExportOptions{Software: "amber/test", MaxSize: 300_000},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Export.Files) < 2 || res.Export.Revisits == 0 {
		t.Fatalf("export %+v: want several WARCs and revisits", res.Export)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		if f.Method != zip.Store {
			t.Errorf("%s is compressed (method %d), want stored", f.Name, f.Method)
		}
		entries[f.Name] = f
	}
	read := func(name string) []byte {
		t.Helper()
		f := entries[name]
		if f == nil {
			t.Fatalf("no %s in the WACZ", name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	hash := func(b []byte) string { s := sha256.Sum256(b); return "sha256:" + hex.EncodeToString(s[:]) }

	// datapackage.json and its digest.
	dpb := read("datapackage.json")
	var dp wacz.DataPackage
	if err := json.Unmarshal(dpb, &dp); err != nil {
		t.Fatal(err)
	}
	var dg wacz.Digest
	if err := json.Unmarshal(read("datapackage-digest.json"), &dg); err != nil {
		t.Fatal(err)
	}
	if dg.Path != "datapackage.json" || dg.Hash != hash(dpb) {
		t.Errorf("datapackage-digest.json %+v does not match", dg)
	}
	if dp.Profile != "data-package" || dp.WACZVersion != "1.1.1" || dp.MainPageURL != srv.Seed() || dp.Created == "" {
		t.Errorf("datapackage.json: %+v", dp)
	}
	listed := map[string]bool{}
	for _, r := range dp.Resources {
		b := read(r.Path)
		if r.Hash != hash(b) || r.Bytes != int64(len(b)) || r.Name != filepath.Base(r.Path) {
			t.Errorf("resource %+v: file has %s, %d bytes", r, hash(b), len(b))
		}
		listed[r.Path] = true
	}
	for name := range entries {
		if !listed[name] && name != "datapackage.json" && name != "datapackage-digest.json" {
			t.Errorf("%s is not listed in datapackage.json", name)
		}
	}
	for _, f := range res.Export.Files {
		if !listed["archive/"+filepath.Base(f)] {
			t.Errorf("WARC %s not in archive/", filepath.Base(f))
		}
		if _, err := os.Stat(f); err == nil {
			t.Errorf("temporary %s left behind", f)
		}
	}

	// The compressed index.
	cdx := read("indexes/index.cdx.gz")
	idx := strings.Split(strings.TrimSpace(string(read("indexes/index.idx"))), "\n")
	if !strings.HasPrefix(idx[0], `!meta 0 {"format": "cdxj-gzip-1.0"`) {
		t.Errorf("idx starts %q", idx[0])
	}
	var lines []string
	for _, l := range idx[1:] {
		key, rest, _ := strings.Cut(l, " ")
		_, js, _ := strings.Cut(rest, " ")
		var blk struct {
			Offset, Length int64
			Digest         string
		}
		if err := json.Unmarshal([]byte(js), &blk); err != nil {
			t.Fatalf("idx line %q: %v", l, err)
		}
		member := cdx[blk.Offset : blk.Offset+blk.Length]
		if hash(member) != blk.Digest {
			t.Errorf("idx block at %d: digest mismatch", blk.Offset)
		}
		zr, err := gzip.NewReader(bytes.NewReader(member))
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false)
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		bl := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if !strings.HasPrefix(bl[0], key+" ") {
			t.Errorf("idx key %s, block starts %s", key, bl[0])
		}
		lines = append(lines, bl...)
	}
	if int64(len(lines)) != res.Export.Captures {
		t.Errorf("%d index lines, %d captures", len(lines), res.Export.Captures)
	}
	// Every line resolves to its record, read from the raw WACZ bytes.
	for _, line := range lines {
		c, err := warc.ParseCDXJ(line)
		if err != nil {
			t.Fatal(err)
		}
		f := entries["archive/"+c.Filename]
		if f == nil {
			t.Fatalf("line names %s, not in archive/", c.Filename)
		}
		start, err := f.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		r := warc.NewReader(bytes.NewReader(raw[start+c.Offset : start+c.Offset+c.Length]))
		rec, err := r.Next()
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if rec.TargetURI() != c.URL || (rec.Type() != warc.TypeResponse && rec.Type() != warc.TypeRevisit) {
			t.Errorf("%s resolves to %s %s", line, rec.Type(), rec.TargetURI())
		}
	}

	// Pages: header, then seed and articles with titles and text; the GBK
	// article reads as Chinese, gzip and chunked articles have text.
	sc := bufio.NewScanner(bytes.NewReader(read("pages/pages.jsonl")))
	sc.Buffer(nil, 1<<20)
	sc.Scan()
	if !strings.Contains(sc.Text(), `"format": "json-pages-1.0"`) {
		t.Errorf("pages header %q", sc.Text())
	}
	var pages []wacz.Page
	for sc.Scan() {
		var p wacz.Page
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatalf("pages line %q: %v", sc.Text(), err)
		}
		if _, err := time.Parse(time.RFC3339, p.TS); err != nil || p.URL == "" || p.Title == "" || len(p.Text) < 50 {
			t.Errorf("page %s %q: ts %q, %d bytes of text", p.URL, p.Title, p.TS, len(p.Text))
		}
		if strings.ContainsRune(p.Text+p.Title, unicode.ReplacementChar) {
			t.Errorf("page %s: text has U+FFFD (charset not decoded)", p.URL)
		}
		pages = append(pages, p)
	}
	if len(pages) != res.Pages || len(pages) < 2*13 {
		t.Errorf("%d pages (result %d), want the seed and 12 articles, twice", len(pages), res.Pages)
	}
	han := false
	for _, p := range pages {
		for _, r := range p.Text {
			if unicode.Is(unicode.Han, r) {
				han = true
			}
		}
	}
	if !han {
		t.Errorf("no page text holds Chinese characters: the GBK article was not decoded")
	}
}

// TestExtract decodes content-coding and charset.
func TestExtract(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("<html><head><title> A  title </title><style>p{}</style></head><body><p>Hello <b>world</b></p><script>x()</script></body></html>"))
	zw.Close()
	title, text := wacz.Extract([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n\r\n"), gz.Bytes())
	if title != "A title" || text != "Hello world" {
		t.Errorf("gzip: %q %q", title, text)
	}
	gbk := []byte("<html><head><meta charset=\"gbk\"><title>\xd6\xd0\xce\xc4</title></head><body>\xd6\xd0\xce\xc4</body></html>")
	title, text = wacz.Extract([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"),
		[]byte(strconv.FormatInt(int64(len(gbk)), 16)+"\r\n"+string(gbk)+"\r\n0\r\n\r\n"))
	if title != "中文" || text != "中文" {
		t.Errorf("chunked GBK: %q %q", title, text)
	}
}
