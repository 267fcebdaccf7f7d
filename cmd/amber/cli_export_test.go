package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	bolt "go.etcd.io/bbolt"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/testdata/fixture"
	"github.com/amberarchive/amber/warc"
)

// crawlCLI crawls the fixture site into db with the real binary.
func crawlCLI(t *testing.T, db string) *fixture.Server {
	t.Helper()
	srv, err := fixture.Start(fixture.Options{Articles: 12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	r := runAmber(t, append(append([]string{"crawl"}, siteArgs(srv, db)...), srv.Seed())...)
	if r.code != 0 {
		t.Fatalf("crawl: exit %d: %s", r.code, r.stderr)
	}
	return srv
}

// checkWhole fails t for each file that is not a whole WARC of at least
// minRecords records: what sits under a final name must be.
func checkWhole(t *testing.T, files []string, minRecords int) {
	t.Helper()
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := warc.Verify(fh, f)
		fh.Close()
		if err != nil || len(rep.Problems) > 0 || rep.Records < minRecords {
			t.Errorf("%s under its final name is not a whole WARC: %v\n%s", f, err, rep)
		}
	}
}

func warcFiles(t *testing.T, dir string) []string {
	t.Helper()
	fs, err := filepath.Glob(filepath.Join(dir, "*.warc.gz"))
	if err != nil || len(fs) == 0 {
		t.Fatalf("no WARC files in %s (%v)", dir, err)
	}
	return fs
}

// TestExportVerifyImportCLI runs export, verify and import as a user
// would: export a crawl, verify the files, package a WACZ, corrupt one
// record's body and see verify name its offset, import the export into a
// new archive twice (nothing stored twice), and corrupt a stored body and
// see verify name it.
func TestExportVerifyImportCLI(t *testing.T) {
	tmp := t.TempDir()
	db := filepath.Join(tmp, "amber.db")
	crawlCLI(t, db)
	out := filepath.Join(tmp, "out")

	r := runAmber(t, "export", "--db", db, "-o", out, "--max-size", "200KB")
	if r.code != 0 || !strings.Contains(r.stdout, "WARC files to "+out) || !strings.Contains(r.stdout, "index.cdxj") {
		t.Fatalf("export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r.stderr != "" {
		t.Errorf("export printed progress while piped: %q", r.stderr)
	}
	files := warcFiles(t, out)
	if len(files) < 2 {
		t.Errorf("--max-size 200KB gave %d files", len(files))
	}
	r = runAmber(t, append([]string{"verify"}, files...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "0 errors") {
		t.Fatalf("verify of a fresh export: exit %d\n%s", r.code, r.stdout)
	}

	r = runAmber(t, "export", "--db", db, "--format", "wacz", "-o", filepath.Join(tmp, "site.wacz"))
	if r.code != 0 || !strings.Contains(r.stdout, "pages") {
		t.Fatalf("export --format wacz: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(tmp, "site.wacz")); err != nil {
		t.Fatal(err)
	}

	// Flip one byte of a response body inside its gzip member.
	off := corruptResponse(t, files[0])
	r = runAmber(t, "verify", files[0])
	if r.code != exitError || !strings.Contains(r.stdout, fmt.Sprintf("offset %d: error:", off)) || !strings.Contains(strings.ToLower(r.stdout), "digest") {
		t.Errorf("verify of a corrupted record at %d: exit %d\n%s", off, r.code, r.stdout)
	}

	// Import the (intact) files into a new archive, twice.
	db2 := filepath.Join(tmp, "imported.db")
	r = runAmber(t, append([]string{"import", "--db", db2}, files[1:]...)...)
	m := regexp.MustCompile(`run 1: (\d+) captures imported`).FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil || m[1] == "0" {
		t.Fatalf("import: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runAmber(t, append([]string{"import", "--db", db2}, files[1:]...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "run 2: 0 captures imported") || !strings.Contains(r.stdout, m[1]+" already in the archive") {
		t.Errorf("second import: exit %d\n%s", r.code, r.stdout)
	}
	runs := runAmber(t, "runs", "--db", db2, "1")
	if !strings.Contains(runs.stdout, "by reason: import "+m[1]) || !strings.Contains(runs.stdout, "--files="+files[1]) {
		t.Errorf("amber runs 1 does not show the import run:\n%s", runs.stdout)
	}
	r = runAmber(t, "verify", "--db", db2)
	if r.code != 0 || !strings.Contains(r.stdout, "0 problems") {
		t.Errorf("verify of the imported archive: exit %d\n%s", r.code, r.stdout)
	}

	// Corrupt one stored body behind the store's back.
	digest := corruptStoredBody(t, db2)
	r = runAmber(t, "verify", "--db", db2)
	if r.code != exitError || !strings.Contains(r.stdout, "body "+digest+": content hashes to") {
		t.Errorf("verify of a corrupted store: exit %d, want 1 naming body %s\n%s", r.code, digest, r.stdout)
	}
}

// corruptResponse changes one byte of the first response body in a
// .warc.gz file, keeping its gzip framing valid, and returns the record's
// offset.
func corruptResponse(t *testing.T, path string) int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rd := warc.NewReader(bytes.NewReader(data))
	for {
		rec, err := rd.Next()
		if err != nil {
			t.Fatalf("no response record in %s: %v", path, err)
		}
		if rec.Type() != warc.TypeResponse {
			continue
		}
		if _, err := rd.ReadBlock(); err != nil {
			t.Fatal(err)
		}
		if _, err := rd.Next(); err != nil { // completes rec.Length
			t.Fatal(err)
		}
		member := data[rec.Offset : rec.Offset+rec.Length]
		zr, err := gzip.NewReader(bytes.NewReader(member))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		plain[len(plain)-10] ^= 0x20 // inside the body, before the end marker
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(plain)
		zw.Close()
		out := append(append(append([]byte{}, data[:rec.Offset]...), z.Bytes()...), data[rec.Offset+rec.Length:]...)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return rec.Offset
	}
}

// corruptStoredBody replaces the first chunk of one stored body with other
// (well-compressed) bytes through a raw bbolt update, and returns the
// body's address.
func corruptStoredBody(t *testing.T, db string) string {
	t.Helper()
	bdb, err := bolt.Open(db, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	enc, _ := zstd.NewWriter(nil)
	dec, _ := zstd.NewReader(nil)
	defer dec.Close()
	var digest string
	err = bdb.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("bodies"))
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			raw, err := dec.DecodeAll(v, nil)
			if err != nil || len(raw) < 100 {
				continue
			}
			raw[50] ^= 1
			digest = fmt.Sprintf("sha256:%x", k[:32])
			return b.Put(append([]byte{}, k...), enc.EncodeAll(raw, nil))
		}
		return fmt.Errorf("no body to corrupt")
	})
	if err != nil {
		t.Fatal(err)
	}
	return digest
}

// bigStore writes an archive with n captures of 1 MiB incompressible
// bodies, so that an export of it takes long enough to be interrupted.
func bigStore(t *testing.T, n int) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "big.db")
	s, err := archive.Open(db, archive.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	run, err := s.CreateRun(ctx, archive.Run{Seeds: []string{"http://big.test/"}})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		body := make([]byte, 1<<20)
		rand.Read(body)
		u := fmt.Sprintf("http://big.test/%d.bin", i)
		_, err := s.Commit(ctx, run.ID, archive.Batch{Captures: []*archive.Capture{{
			URL: u, Method: "GET", Time: t0.Add(time.Duration(i) * time.Second), IP: "127.0.0.1",
			Request:      []byte(fmt.Sprintf("GET /%d.bin HTTP/1.1\r\nHost: big.test\r\n\r\n", i)),
			ResponseHead: []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", len(body))),
			Body:         body, Status: 200, MIME: "application/octet-stream", Reason: archive.ReasonRequisite,
		}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// TestExportKilled kills `amber export` (SIGKILL, then separately SIGINT)
// while it writes: every file under a final name is a whole, valid WARC,
// the file being written is left as .open, and Ctrl-C says so with exit
// code 130.
func TestExportKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 300 MB")
	}
	db := bigStore(t, 300)
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			out := t.TempDir()
			cmd := amber(context.Background(), "export", "--db", db, "-o", out, "--max-size", "40MB")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait for one completed file and one being written.
			deadline := time.Now().Add(60 * time.Second)
			for {
				done, _ := filepath.Glob(filepath.Join(out, "*.warc.gz"))
				open, _ := filepath.Glob(filepath.Join(out, "*.warc.gz.open"))
				if len(done) >= 1 && len(open) == 1 {
					if fi, err := os.Stat(open[0]); err == nil && fi.Size() > 1<<20 {
						break
					}
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("export never got going: %s", stderr.String())
				}
				time.Sleep(5 * time.Millisecond)
			}
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			code := cmd.ProcessState.ExitCode()
			if sig == syscall.SIGINT {
				if code != exitStopped || !strings.Contains(stderr.String(), ".warc.gz.open") {
					t.Errorf("after Ctrl-C: exit %d (%v), stderr %q", code, err, stderr.String())
				}
			}
			done, _ := filepath.Glob(filepath.Join(out, "*.warc.gz"))
			open, _ := filepath.Glob(filepath.Join(out, "*.open"))
			if len(open) != 1 || !strings.HasSuffix(open[0], ".warc.gz.open") {
				t.Errorf("left %v, want one .warc.gz.open", open)
			}
			if _, err := os.Stat(filepath.Join(out, "index.cdxj")); err == nil {
				t.Errorf("an interrupted export wrote index.cdxj")
			}
			checkWhole(t, done, 2)
		})
	}
}

// TestExportErrorsCLI: output paths that cannot be written are reported
// with the path; bad flags are usage errors.
func TestExportErrorsCLI(t *testing.T) {
	tmp := t.TempDir()
	db := filepath.Join(tmp, "amber.db")
	s, err := archive.Open(db, archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	file := filepath.Join(tmp, "plain")
	os.WriteFile(file, []byte("x"), 0o644)
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"export", "--db", db, "-o", filepath.Join(file, "out")}, exitError, filepath.Join(file, "out")},
		{[]string{"export", "--db", db, "--format", "wacz", "-o", filepath.Join(file, "x.wacz")}, exitError, file},
		{[]string{"export", "--db", db}, exitUsage, "-o is required"},
		{[]string{"export", "--db", db, "-o", tmp, "--format", "wacz"}, exitUsage, ".wacz"},
		{[]string{"export", "--db", db, "-o", tmp, "--since", "yesterday"}, exitUsage, "--since"},
		{[]string{"export", "--db", db, "-o", tmp, "--run", "7"}, exitError, "run 7"},
		{[]string{"import", "--db", db, filepath.Join(tmp, "missing.warc.gz")}, exitError, "missing.warc.gz"},
		{[]string{"verify", filepath.Join(tmp, "missing.warc.gz")}, exitError, "missing.warc.gz"},
	} {
		r := runAmber(t, tt.args...)
		if r.code != tt.code || !strings.Contains(r.stdout+r.stderr, tt.want) {
			t.Errorf("%v: exit %d, want %d and a message with %q:\n%s%s", tt.args, r.code, tt.code, tt.want, r.stdout, r.stderr)
		}
	}
}
