package archive_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	iaverify "github.com/internetarchive/gowarc/cmd/warc/verify"
	"github.com/nlnwa/gowarc/v3"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/crawler"
	"github.com/amberarchive/amber/testdata/fixture"
	"github.com/amberarchive/amber/warc"
)

// crawlFixture crawls the fixture site into a fresh store: run 1 plain,
// run 2 plain again (identical payloads: RevisitOf set), and, with
// conditional, run 3 sending the validators of the latest capture of each
// URL (304 answers: server-not-modified).
func crawlFixture(t testing.TB, articles int, conditional bool) (*archive.Store, *fixture.Server) {
	t.Helper()
	srv, err := fixture.Start(fixture.Options{Articles: articles})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	store, err := archive.Open(filepath.Join(t.TempDir(), "amber.db"), archive.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	runs := 2
	if conditional {
		runs = 3
	}
	for i := range runs {
		crawlRun(t, store, srv, i == 2)
	}
	return store, srv
}

// crawlRun crawls the fixture once into store as a new run.
func crawlRun(t testing.TB, store *archive.Store, srv *fixture.Server, conditional bool) archive.Run {
	t.Helper()
	ctx := context.Background()
	cfg := crawler.DefaultConfig()
	cfg.Delay = 0
	cfg.MaxCrawlDelay = time.Millisecond
	cfg.Resolve = srv.Resolve()
	cfg.Contact = "mailto:test@amber.invalid"
	if conditional {
		cfg.Conditional = func(u string) (string, string) {
			cs, err := store.CapturesOf(u)
			if err != nil || len(cs) == 0 {
				return "", ""
			}
			h, err := warc.ParseHTTPHead(cs[len(cs)-1].ResponseHead)
			if err != nil {
				return "", ""
			}
			return h.Fields.Get("ETag"), h.Fields.Get("Last-Modified")
		}
	}
	run, err := store.CreateRun(ctx, archive.Run{Seeds: []string{srv.Seed()},
		Settings: map[string]string{"contact": cfg.Contact, "delay": "0"}})
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
	if err := store.UpdateRun(ctx, run.ID, func(r *archive.Run) error {
		r.Status, r.Ended = archive.RunFinished, time.Now().UTC()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return run
}

// validateWARC checks a WARC file with our verifier, internetarchive/gowarc's
// verifier and nlnwa/gowarc's validating reader, and fails the test on any
// error. It returns the number of records read.
func validateWARC(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := warc.Verify(f, filepath.Base(path))
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 {
		t.Errorf("amber verify:\n%s", rep)
	}

	// What our reader knows of each record's HTTP message: the messages
	// sent chunked, and defects of the source data that an imported
	// capture keeps byte for byte (reported at import).
	chunkedIDs, clMismatch, noBlank := httpFacts(t, path)
	if len(clMismatch) > 0 || len(noBlank) > 0 {
		t.Logf("%s: %d responses whose HTTP Content-Length disagrees with the body, %d requests without a blank line after the head (source defects kept as found)",
			filepath.Base(path), len(clMismatch), len(noBlank))
	}

	res, err := iaverify.ValidateWARCFile(path)
	if err != nil {
		t.Fatalf("IA verify %s: %v", path, err)
	}
	// The IA verifier bounds the payload by the HTTP Content-Length, so it
	// disagrees exactly on the responses whose Content-Length is wrong.
	if res.ErrorsCount != len(clMismatch) || (res.ErrorsCount == 0 && !res.Valid) || !res.AllRecordsRead {
		t.Errorf("IA verify %s: %+v (%d responses with a wrong HTTP Content-Length)", filepath.Base(path), res, len(clMismatch))
	}
	if res.RecordCount != rep.Records {
		t.Errorf("IA verify read %d records, ours %d", res.RecordCount, rep.Records)
	}

	r, err := gowarc.NewWarcFileReader(path, 0,
		gowarc.WithSyntaxErrorPolicy(gowarc.ErrWarn),
		gowarc.WithSpecViolationPolicy(gowarc.ErrWarn),
		gowarc.WithBlockErrorPolicy(gowarc.ErrWarn))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("nlnwa: %s record %d: %v", filepath.Base(path), n, err)
		}
		v, err := rec.WarcRecord.ValidateDigest()
		if err != nil {
			t.Fatalf("nlnwa: record %d: %v", n, err)
		}
		chunked := chunkedIDs[rec.WarcRecord.WarcHeader().Get(gowarc.WarcRecordID)]
		for _, e := range append(rec.Validation, v...) {
			// nlnwa/gowarc digests the raw chunked bytes, so it flags the
			// spec-correct de-chunked payload digest of chunked responses
			// (iipc/warc-specifications#22); the other two verifiers check
			// that digest.
			if chunked && strings.Contains(strings.ToLower(e.Error()), "payload") {
				continue
			}
			id := rec.WarcRecord.WarcHeader().Get(gowarc.WarcRecordID)
			if noBlank[id] && strings.Contains(e.Error(), "missing line separator at end of http headers") {
				continue
			}
			t.Errorf("nlnwa: %s record %d (%s %s): %v", filepath.Base(path), n,
				rec.WarcRecord.Type(), rec.WarcRecord.WarcHeader().Get(gowarc.WarcTargetURI), e)
		}
		rec.Close()
		n++
	}
	if n != rep.Records {
		t.Errorf("nlnwa read %d records, ours %d", n, rep.Records)
	}
	return n
}

// httpFacts reads a WARC file with our reader and returns the IDs of the
// chunked requests and responses, of responses whose HTTP Content-Length disagrees with
// their body, and of requests whose head lacks its ending blank line.
func httpFacts(t *testing.T, path string) (chunked, clMismatch, noBlank map[string]bool) {
	t.Helper()
	chunked, clMismatch, noBlank = map[string]bool{}, map[string]bool{}, map[string]bool{}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := warc.NewReader(f)
	for {
		rec, err := r.Next()
		if err != nil {
			return
		}
		typ := rec.Type()
		if typ != warc.TypeResponse && typ != warc.TypeRequest {
			continue
		}
		b, _ := r.ReadBlock()
		head, body := warc.SplitHTTP(b)
		h, err := warc.ParseHTTPHead(head)
		if err == nil && h.Chunked() {
			chunked[rec.ID()] = true
		}
		if typ == warc.TypeRequest {
			if !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
				noBlank[rec.ID()] = true
			}
			continue
		}
		if err != nil {
			continue
		}
		if h.Chunked() {
			continue
		} else if cl := h.Fields.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(body)) && rec.Header.Get("WARC-Truncated") == "" {
			clMismatch[rec.ID()] = true
		}
	}
}

// goldenStore builds a store whose every byte follows from this code:
// fixed times, seeded content, no crawl. It holds the shapes an export
// must handle: plain, chunked (well-formed, cut short and malformed),
// content-coded, multi-chunk (over 1 MiB), truncated, empty, redirect and
// 404 answers, a capture without request or IP, a non-ASCII query, and in
// run 2 repeats of earlier payloads (same and other URL) and a 304 answer
// to a conditional request.
func goldenStore(t testing.TB) *archive.Store {
	t.Helper()
	s, err := archive.Open(filepath.Join(t.TempDir(), "golden.db"), archive.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	rng := rand.New(rand.NewSource(7))
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)
	page := benchPage(rng, 20_000)
	noise := make([]byte, 1<<20+300_000)
	rng.Read(noise)
	big := append(benchPage(rng, 200_000), noise...)
	coded := noise[:5000]
	var chunked []byte
	for _, n := range []int{4000, 1, 2500} {
		chunked = append(chunked, fmt.Sprintf("%x\r\n", n)...)
		chunked = append(chunked, page[:n]...)
		chunked = append(chunked, "\r\n"...)
	}
	chunked = append(chunked, "0\r\n\r\n"...)

	type spec struct {
		path, head string
		body       []byte
		status     int
		trunc      string
		noRequest  bool
		cond       bool
	}
	html := "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n\r\n"
	te := "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
	run1 := []spec{
		{path: "/", head: fmt.Sprintf(html, len(page)), body: page, status: 200},
		{path: "/robots.txt", head: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 26\r\n\r\n", body: []byte("User-agent: *\nDisallow: /x"), status: 200},
		{path: "/2016/05/chunked/", head: te, body: chunked, status: 200},
		{path: "/2016/05/chunked-cut/", head: te, body: chunked[:5000], status: 200, trunc: archive.TruncDisconnect},
		{path: "/2016/05/chunked-bad/", head: te, body: []byte("zz\r\nnot a chunk\r\n"), status: 200},
		{path: "/2016/05/coded/", head: fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n", len(coded)), body: coded, status: 200},
		{path: "/big.bin", head: fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", len(big)), body: big, status: 200},
		{path: "/2016/05/cut/", head: fmt.Sprintf(html, len(page)), body: page[:7000], status: 200, trunc: archive.TruncLength},
		{path: "/empty", head: "HTTP/1.1 204 No Content\r\n\r\n", status: 204},
		{path: "/old", head: "HTTP/1.1 301 Moved Permanently\r\nLocation: /\r\nContent-Length: 0\r\n\r\n", status: 301},
		{path: "/missing", head: "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\n", body: []byte("not found"), status: 404},
		{path: "/norequest", head: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n", body: []byte("hello"), status: 200, noRequest: true},
		{path: "/search?q=%E4%B8%AD%E6%96%87&b=2&a=1", head: "HTTP/1.1 200 OK\r\ncontent-type: Text/HTML ; charset=gbk\r\nContent-Length: 4\r\n\r\n", body: []byte{0xd6, 0xd0, 0xce, 0xc4}, status: 200},
	}
	run2 := []spec{
		{path: "/", head: fmt.Sprintf(html, len(page)), body: page, status: 200},
		{path: "/copy-of-home", head: fmt.Sprintf(html, len(page)), body: page, status: 200},
		{path: "/2016/05/chunked/", head: "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", status: 304, cond: true},
		{path: "/big.bin", head: fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", len(big)), body: big, status: 200},
	}
	at := t0
	for i, specs := range [][]spec{run1, run2} {
		run, err := s.CreateRun(ctx, archive.Run{Seeds: []string{"http://golden.test/"}, Started: t0.Add(time.Duration(i) * time.Hour),
			Settings: map[string]string{"contact": "mailto:golden@amber.invalid", "user-agent": "amber/golden (+mailto:golden@amber.invalid)"}})
		if err != nil {
			t.Fatal(err)
		}
		var batch []*archive.Capture
		for j, sp := range specs {
			at = at.Add(time.Duration(j+1) * 1234567 * time.Microsecond)
			u := "http://golden.test" + sp.path
			c := &archive.Capture{URL: u, Method: "GET", Time: at, Duration: time.Duration(j) * 7 * time.Millisecond,
				IP: "127.0.0.1", ResponseHead: []byte(sp.head), Body: sp.body, Status: sp.status, Truncated: sp.trunc,
				Reason: archive.ReasonArticle, Parent: "http://golden.test/", Anchor: "a link", Hops: strings.Repeat("L", j%3),
				Outlinks: []string{u + "a", u + "b"}, Conditional: sp.cond}
			if !sp.noRequest {
				c.Request = []byte("GET " + sp.path + " HTTP/1.1\r\nHost: golden.test\r\nUser-Agent: amber/golden\r\n\r\n")
			} else {
				c.IP = ""
			}
			batch = append(batch, c)
		}
		if _, err := s.Commit(ctx, run.ID, archive.Batch{Captures: batch}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// exportDigests exports with fixed options and returns two digests: of
// the files' bytes as written (names, every gzip member after the
// warcinfo, the index) and of their records' content, decompressed. Only
// the warcinfo record's fresh ID and the machine's host name (and the
// length, digest and later offsets that follow from them) are left out.
func exportDigests(t *testing.T, s *archive.Store, opts archive.ExportOptions) (files, content string) {
	t.Helper()
	opts.Dir = t.TempDir()
	opts.Host, opts.Software = "golden", "amber/golden"
	opts.Now = func() time.Time { return time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC) }
	res, err := s.Export(context.Background(), opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	fh, ch := sha256.New(), sha256.New()
	infoLen := map[string]int64{}
	for _, path := range res.Files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(fh, "%s\n", filepath.Base(path))
		r := warc.NewReader(bytes.NewReader(data))
		for i := 0; ; i++ {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			block, err := r.ReadBlock()
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if rec.Type() != warc.TypeWarcinfo {
					t.Fatalf("%s starts with a %s record", path, rec.Type())
				}
				for _, f := range rec.Header {
					switch f.Name {
					case "WARC-Record-ID", "Content-Length", "WARC-Block-Digest":
					default:
						fmt.Fprintf(ch, "%s: %s\n", f.Name, f.Value)
					}
				}
				for _, l := range strings.SplitAfter(string(block), "\n") {
					if !strings.HasPrefix(l, "hostname: ") {
						ch.Write([]byte(l))
					}
				}
				// Read again so the warcinfo's on-disk length is known.
				if _, err := r.Next(); err != nil && err != io.EOF {
					t.Fatal(err)
				}
				infoLen[filepath.Base(path)] = rec.Length
				fh.Write(data[rec.Length:])
				r = warc.NewReader(bytes.NewReader(data[rec.Length:]))
				continue
			}
			for _, f := range rec.Header {
				fmt.Fprintf(ch, "%s: %s\n", f.Name, f.Value)
			}
			ch.Write(block)
		}
	}
	if res.Index != "" {
		idx, err := os.ReadFile(res.Index)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.SplitAfter(string(idx), "\n") {
			if l == "" {
				continue
			}
			line, err := warc.ParseCDXJ(l)
			if err != nil {
				t.Fatal(err)
			}
			// The line as written, but for the offset.
			at := fmt.Sprintf(`"offset": "%d"`, line.Offset)
			if !strings.Contains(l, at) {
				t.Fatalf("index line without %s: %s", at, l)
			}
			l = strings.Replace(l, at, fmt.Sprintf(`"offset": "%d"`, line.Offset-infoLen[line.Filename]), 1)
			fh.Write([]byte(l))
			ch.Write([]byte(l))
		}
	}
	return hex.EncodeToString(fh.Sum(nil)), hex.EncodeToString(ch.Sum(nil))
}
