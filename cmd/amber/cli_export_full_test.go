package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportDiskFull (issue 3, point 8): an export onto a file system that
// fills up fails with a message naming the path and saying "no space",
// leaves no file under a final name that is not a whole WARC (nor an
// index, nor a .wacz), and, once space is freed, the same command
// succeeds. It needs root to mount a small tmpfs.
func TestExportDiskFull(t *testing.T) {
	t.Parallel()
	db := bigStore(t, 6) // 6 MiB of incompressible bodies
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	out := filepath.Join(dir, "out")
	wacz := filepath.Join(dir, "site.wacz")

	for _, args := range [][]string{
		{"export", "--db", db, "-o", out, "--max-size", "1MB"},
		{"export", "--db", db, "--format", "wacz", "-o", wacz},
	} {
		r := runAmber(t, args...)
		all := r.stdout + r.stderr
		if r.code != exitError {
			t.Errorf("%v on a full disk: exit %d, want %d\n%s", args, r.code, exitError, all)
		}
		if !strings.Contains(all, "no space") || !strings.Contains(all, dir) {
			t.Errorf("%v: the message does not name the path and say \"no space\":\n%s", args, all)
		}
		if !strings.Contains(all, "free space there") {
			t.Errorf("%v: the message does not say what to do about the full disk:\n%s", args, all)
		}
		if strings.Contains(all, "goroutine ") || strings.Contains(all, "panic:") {
			t.Fatalf("%v: stack trace:\n%s", args, all)
		}
	}
	// Whatever sits under a final name is whole; nothing else claims to be.
	done, _ := filepath.Glob(filepath.Join(out, "*.warc.gz"))
	checkWhole(t, done, 1)
	for _, f := range []string{filepath.Join(out, "index.cdxj"), wacz} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("a failed export left %s", f)
		}
	}
	// The WACZ's staging folder goes with it: a full disk is not left fuller.
	if staged, _ := filepath.Glob(filepath.Join(dir, ".amber-wacz-*")); len(staged) > 0 {
		t.Errorf("a failed WACZ export left its staging folder %v", staged)
	}

	// Free the space and run the same exports again.
	if err := exec.Command("mount", "-o", "remount,size=64m", dir).Run(); err != nil {
		t.Fatalf("remount bigger: %v", err)
	}
	for _, args := range [][]string{
		{"export", "--db", db, "-o", filepath.Join(dir, "again"), "--max-size", "1MB"},
		{"export", "--db", db, "--format", "wacz", "-o", wacz},
	} {
		if r := runAmber(t, args...); r.code != 0 {
			t.Fatalf("%v after freeing space: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
	if v := runAmber(t, append([]string{"verify"}, warcFiles(t, filepath.Join(dir, "again"))...)...); v.code != 0 {
		t.Errorf("verify after freeing space: exit %d\n%s%s", v.code, v.stdout, v.stderr)
	}
}
