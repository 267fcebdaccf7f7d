package warc

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileWriterRotation(t *testing.T) {
	dir := t.TempDir()
	fw, err := NewFileWriter(FileWriterOptions{
		Dir: dir, Prefix: "amber", Host: "crawlhost", FirstSerial: 7, MaxSize: 2000,
		Writer: WriterOptions{Now: fixedClock(), NewRecordID: seqIDs()},
		Warcinfo: func(name string) Header {
			return Header{{Name: "software", Value: "amber test"}, {Name: "isPartOf", Value: name}}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var positions []Position
	// Random bytes do not compress, so this record alone exceeds MaxSize.
	big := make([]byte, 5000)
	rand.NewChaCha8([32]byte{1}).Read(big)
	blocks := [][]byte{[]byte("one"), []byte("two"), big, []byte("four")}
	for i, b := range blocks {
		rec := NewRecord(TypeResource, "http://a.test/"+string(rune('a'+i)), fixedClock()(), "application/octet-stream")
		p, err := fw.WriteRecord(rec, b)
		if err != nil {
			t.Fatal(err)
		}
		positions = append(positions, p)
		// While writing, the file exists only under its .open name.
		if _, err := os.Stat(filepath.Join(dir, p.Filename+".open")); err != nil {
			t.Errorf("record %d: %s.open missing while writing: %v", i, p.Filename, err)
		}
		if _, err := os.Stat(filepath.Join(dir, p.Filename)); err == nil {
			t.Errorf("record %d: final name %s exists before Close", i, p.Filename)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"amber-20240501120000-00007-crawlhost.warc.gz",
		"amber-20240501120000-00007-crawlhost.warc.gz",
		"amber-20240501120000-00008-crawlhost.warc.gz", // oversize record alone
		"amber-20240501120000-00009-crawlhost.warc.gz",
	}
	for i, p := range positions {
		if p.Filename != want[i] {
			t.Errorf("record %d in %s, want %s", i, p.Filename, want[i])
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("dir holds %d entries, want 3", len(entries))
	}
	if got := fw.Files(); len(got) != 3 {
		t.Errorf("Files() = %v", got)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".open") {
			t.Errorf("%s left as .open after Close", e.Name())
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		r := NewReader(f)
		rec, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if rec.Type() != TypeWarcinfo || rec.Header.Get("WARC-Filename") != e.Name() {
			t.Errorf("%s: first record %s filename %q, want warcinfo naming the file", e.Name(), rec.Type(), rec.Header.Get("WARC-Filename"))
		}
		if b, _ := r.ReadBlock(); !strings.Contains(string(b), "isPartOf: "+e.Name()) {
			t.Errorf("%s: warcinfo block from callback missing: %q", e.Name(), b)
		}
		// Every reported position reads back the record it names.
		for i, p := range positions {
			if p.Filename != e.Name() {
				continue
			}
			if _, err := f.Seek(p.Offset, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			one := NewReader(io.LimitReader(f, p.Length))
			rec, err := one.Next()
			if err != nil {
				t.Fatalf("record %d at %s:%d: %v", i, p.Filename, p.Offset, err)
			}
			b, _ := one.ReadBlock()
			if !bytes.Equal(b, blocks[i]) {
				t.Errorf("record %d: block differs", i)
			}
			if rec.Length != p.Length {
				t.Errorf("record %d: length %d, want %d", i, rec.Length, p.Length)
			}
		}
		f.Close()
	}
	if _, err := fw.WriteRecord(NewRecord(TypeResource, "http://a.test/", fixedClock()(), "text/plain"), nil); err == nil {
		t.Errorf("write after Close succeeded")
	}
}

func TestFileWriterErrorNamesPath(t *testing.T) {
	// Tests may run as root, where permission bits do not stop writes: a
	// directory "under a regular file" cannot exist for anyone.
	file := filepath.Join(t.TempDir(), "plainfile")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(file, "warcs")
	fw, err := NewFileWriter(FileWriterOptions{Dir: dir, Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = fw.WriteRecord(NewRecord(TypeResource, "http://a.test/", fixedClock()(), "text/plain"), []byte("x"))
	if err == nil {
		t.Fatal("write under a regular file succeeded")
	}
	if !strings.Contains(err.Error(), dir) || !strings.HasPrefix(err.Error(), "warc: ") {
		t.Errorf("error %q does not name %s", err, dir)
	}
}
