package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amberarchive/amber/testdata/fixture"
)

// crawledStore crawls a small fixture site into a fresh store and returns
// its path.
func crawledStore(t *testing.T, articles int) (*fixture.Server, string) {
	t.Helper()
	srv, err := fixture.Start(fixture.Options{Articles: articles})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	db := filepath.Join(t.TempDir(), "amber.db")
	if r := runAmber(t, append(append([]string{"crawl"}, siteArgs(srv, db)...), srv.Seed())...); r.code != 0 {
		t.Fatalf("crawl: exit %d\n%s", r.code, r.stderr)
	}
	return srv, db
}

// TestDamagedStoreCLI (issue 6, point 3): a store file truncated or with
// flipped bytes is refused on open or reported by amber verify, with a
// message that names the file and says it is damaged; never a panic or a
// stack trace, never exit 0. (A second process on one store: TestStoreInUse.)
func TestDamagedStoreCLI(t *testing.T) {
	t.Parallel()
	_, db := crawledStore(t, 12)
	good, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	// The first zstd frame after the meta pages is a stored body.
	zstdAt := bytes.Index(good[8192:], []byte{0x28, 0xb5, 0x2f, 0xfd})
	if zstdAt < 0 {
		t.Fatal("no zstd frame in the store file")
	}
	zstdAt += 8192
	damage := []struct {
		name string
		edit func([]byte) []byte
	}{
		// bbolt grows its file ahead of use: cut inside the pages in use.
		{"truncated to half of the pages in use", func(b []byte) []byte { return b[:usedBytes(t, b)/2] }},
		{"last page in use cut", func(b []byte) []byte { return b[:usedBytes(t, b)-100] }},
		{"truncated to one page", func(b []byte) []byte { return b[:4096] }},
		{"truncated to 100 bytes", func(b []byte) []byte { return b[:100] }},
		{"empty file", func(b []byte) []byte { return nil }},
		{"meta pages zeroed", func(b []byte) []byte { clear(b[:8192]); return b }},
		{"garbage", func(b []byte) []byte { return bytes.Repeat([]byte("not a bbolt file "), 1000) }},
		{"zstd frames flipped", func(b []byte) []byte {
			// Every zstd frame (bodies, capture records): one of them in
			// a free page would be a harmless flip.
			for at := zstdAt; at >= 0 && at+40 < len(b); {
				for i := at + 8; i < at+40; i++ {
					b[i] ^= 0xff
				}
				next := bytes.Index(b[at+40:], []byte{0x28, 0xb5, 0x2f, 0xfd})
				if next < 0 {
					break
				}
				at += 40 + next
			}
			return b
		}},
		{"root page flipped", func(b []byte) []byte {
			// The root page of the tree, from the newest meta page: a
			// page every reader walks (a free page could be flipped
			// harmlessly).
			ps := int(binary.NativeEndian.Uint32(b[16+8:]))
			meta := 0
			if binary.NativeEndian.Uint64(b[ps+16+48:]) > binary.NativeEndian.Uint64(b[16+48:]) {
				meta = ps
			}
			root := int(binary.NativeEndian.Uint64(b[meta+16+16:]))
			for i := root * ps; i < (root+1)*ps && i < len(b); i++ {
				b[i] ^= 0x5a
			}
			return b
		}},
	}
	for _, d := range damage {
		t.Run(d.name, func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "amber.db")
			if err := os.WriteFile(bad, d.edit(bytes.Clone(good)), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"verify", "--db", bad}, {"ls", "--db", bad}, {"export", "--db", bad, "-o", filepath.Join(t.TempDir(), "out")}} {
				r := runAmber(t, args...)
				all := r.stdout + r.stderr
				if strings.Contains(all, "goroutine ") || strings.Contains(all, "panic:") {
					t.Fatalf("%v: a stack trace reached the user:\n%.3000s", args, all)
				}
				if args[0] == "verify" {
					if r.code != exitError {
						t.Errorf("%v on a damaged store: exit %d, want %d\n%s", args, r.code, exitError, all)
					}
					if !containsAny(all, "corrupt", "damaged", "invalid", "truncated", "checksum", "mismatch") {
						t.Errorf("%v: message does not say the store is damaged:\n%s", args, all)
					}
				}
				// Whatever fails names the damaged file.
				if r.code != 0 && !strings.Contains(all, bad) {
					t.Errorf("%v: exit %d without naming the file:\n%s", args, r.code, all)
				}
			}
		})
	}
}

func containsAny(s string, subs ...string) bool {
	s = strings.ToLower(s)
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestDiskFullCrawl (issue 6, point 3): a crawl on a file system that fills
// up stops with a non-zero exit and a message naming the store and "no
// space"; after space is freed, amber crawl --resume finishes and every URL
// is captured exactly once. It needs root to mount a small tmpfs.
func TestDiskFullCrawl(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	srv, err := fixture.Start(fixture.Options{Articles: 60})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	db := filepath.Join(dir, "amber.db")
	// Leave about 1 MiB free: the crawl's bodies need several.
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 7<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runAmber(t, append(append([]string{"crawl"}, siteArgs(srv, db)...), srv.Seed())...)
	if r.code == 0 || r.code == exitUsage {
		t.Fatalf("crawl on a full disk: exit %d, want a failure\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "no space") || !strings.Contains(r.stderr, db) {
		t.Errorf("the message does not name the file and say \"no space\":\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:") {
		t.Fatalf("stack trace:\n%s", r.stderr)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	res := runAmber(t, "crawl", "--resume", "--db", db)
	if res.code != 0 {
		t.Fatalf("resume after freeing space: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	checkOnce(t, srv, lsJSON(t, db))
	if v := runAmber(t, "verify", "--db", db); v.code != 0 {
		t.Errorf("verify after the disk-full crawl: exit %d\n%s%s", v.code, v.stdout, v.stderr)
	}
}

// usedBytes reads the high-water mark of a bbolt file from its first meta
// page: page size × the next page id to allocate (native byte order).
func usedBytes(t *testing.T, b []byte) int {
	t.Helper()
	ps := int(binary.NativeEndian.Uint32(b[16+8:]))
	hwm := int(binary.NativeEndian.Uint64(b[16+40:]))
	if ps2 := ps; ps2 > 0 && len(b) >= 2*ps {
		if h2 := int(binary.NativeEndian.Uint64(b[ps+16+40:])); h2 > hwm {
			hwm = h2
		}
	}
	if ps < 512 || hwm*ps > len(b) {
		t.Fatalf("unexpected meta page: page size %d, %d pages, file %d bytes", ps, hwm, len(b))
	}
	return hwm * ps
}
