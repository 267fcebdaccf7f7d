package archive

import (
	"context"
	"crypto/sha1"
	"encoding/base32"
	"os"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/amberarchive/amber/warc"
)

// TestBlockDigest checks that Commit digests each response's head and body
// as received, that the digest survives the store, and that an export
// states it: a head changed in the store since then shows up as a block
// digest mismatch in the exported file, not as a new digest of the changed
// bytes.
func TestBlockDigest(t *testing.T) {
	s := newStore(t, Options{})
	ctx := context.Background()
	run := newRun(t, s, "")
	t0 := time.Unix(1700000000, 0).UTC()
	page := testCapture("http://example.test/page", t0, []byte("<p>a page</p>"))
	empty := testCapture("http://example.test/empty", t0, nil)
	commit(t, s, run.ID, Batch{Captures: []*Capture{page, empty}})

	sum := sha1.Sum(append(append([]byte{}, page.ResponseHead...), page.Body...))
	want := "sha1:" + base32.StdEncoding.EncodeToString(sum[:])
	if page.BlockDigest != want {
		t.Errorf("BlockDigest = %q, want %q", page.BlockDigest, want)
	}
	if empty.BlockDigest != "" {
		t.Errorf("BlockDigest of a capture without a body = %q, want none", empty.BlockDigest)
	}
	got, err := s.CapturesOf(page.URL)
	if err != nil || len(got) != 1 || got[0].BlockDigest != want {
		t.Fatalf("read back: %v, %+v", err, got)
	}

	exportedDigest := func() (string, warc.Report) {
		t.Helper()
		res, err := s.Export(ctx, ExportOptions{Dir: t.TempDir(), URLPrefix: page.URL}, nil)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(res.Files[0])
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		r := warc.NewReader(f)
		d := ""
		for {
			rec, err := r.Next()
			if err != nil {
				break
			}
			if rec.Type() == warc.TypeResponse {
				d = rec.Header.Get("WARC-Block-Digest")
			}
		}
		if _, err := f.Seek(0, 0); err != nil {
			t.Fatal(err)
		}
		rep, err := warc.Verify(f, res.Files[0])
		if err != nil {
			t.Fatal(err)
		}
		return d, rep
	}
	if d, rep := exportedDigest(); d != want || rep.Errors() != 0 {
		t.Fatalf("export: block digest %q, want %q; verify: %s", d, want, rep)
	}

	// Change the stored head, keeping the record's digest.
	err = s.db.Update(func(tx *bolt.Tx) error {
		caps := capsOf(tx)
		c, err := decodeCapture(caps, page.Key, caps.Get(page.Key))
		if err != nil {
			return err
		}
		c.ResponseHead = []byte(strings.Replace(string(c.ResponseHead), "KeEp", "KEEP", 1))
		v, err := encodeCapture(c, nil)
		if err != nil {
			return err
		}
		return caps.Put(page.Key, v)
	})
	if err != nil {
		t.Fatal(err)
	}
	d, rep := exportedDigest()
	if d != want {
		t.Errorf("export of a changed head: block digest %q, want the digest as received %q", d, want)
	}
	if rep.Errors() == 0 || !strings.Contains(rep.String(), "digest") {
		t.Errorf("verify of the export names no digest mismatch:\n%s", rep)
	}
	var problems []string
	if _, err := s.Verify(ctx, func(p string) { problems = append(problems, p) }); err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || !strings.Contains(problems[0], page.URL) || !strings.Contains(problems[0], want) {
		t.Errorf("store verify: %q, want one problem naming %s and %s", problems, page.URL, want)
	}
}
