package archive

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv("AMBER_ARCHIVE_HELPER") != "" {
		// Run as TestHelperProcess's child: no leak check.
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}

// newStore opens a store in a fresh temporary directory and closes it when
// the test ends.
func newStore(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "amber.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// TestHelperProcess is not a test: run by TestOpenLocked in a child process,
// it opens the store named in the environment, says "ready" and holds the
// lock until its stdin closes.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv("AMBER_ARCHIVE_HELPER")
	if path == "" {
		t.Skip("helper process only")
	}
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_ = s.Close()
	os.Exit(0)
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "amber.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "AMBER_ARCHIVE_HELPER="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("helper said %q, %v", line, err)
	}

	for _, tc := range []struct {
		name     string
		readOnly bool
	}{{"read-write", false}, {"read-only", true}} {
		t.Run(tc.name, func(t *testing.T) {
			timeout := 300 * time.Millisecond
			start := time.Now()
			s, err := Open(path, Options{Timeout: timeout, ReadOnly: tc.readOnly})
			took := time.Since(start)
			if err == nil {
				_ = s.Close()
				t.Fatal("Open of a locked store succeeded")
			}
			if !errors.Is(err, ErrLocked) {
				t.Errorf("error %v does not wrap ErrLocked", err)
			}
			want := path + " is in use by another amber process; stop it or use `amber serve` to crawl and replay in one process"
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
			if took > timeout+time.Second {
				t.Errorf("Open took %v with a %v timeout", took, timeout)
			}
		})
	}
}

func TestOpenDamaged(t *testing.T) {
	// A real store with some data, to truncate and garble.
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	s, err := Open(good, Options{})
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.CreateRun(context.Background(), Run{})
	if err != nil {
		t.Fatal(err)
	}
	var caps []*Capture
	for i := range 50 {
		caps = append(caps, testCapture(fmt.Sprintf("http://example.test/%d", i), time.Unix(1700000000, 0), randomBody(t, 40<<10, int64(i))))
	}
	if _, err := s.Commit(context.Background(), run.ID, Batch{Captures: caps}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}

	// A bbolt file that is not an amber store.
	foreign := filepath.Join(dir, "foreign.db")
	db, err := bolt.Open(foreign, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		content []byte // nil: use the file at path as is
		path    string
		want    error
	}{
		{name: "garbage", content: []byte(strings.Repeat("this is not a database\n", 1000)), want: ErrCorrupt},
		{name: "short garbage", content: []byte("hello"), want: ErrCorrupt},
		{name: "truncated mid-data", content: goodBytes[:1<<20], want: ErrCorrupt},
		{name: "truncated to one page", content: goodBytes[:4096], want: ErrCorrupt},
		{name: "meta pages zeroed", content: append(make([]byte, 8192), goodBytes[8192:]...), want: ErrCorrupt},
		{name: "foreign bbolt file", path: foreign, want: ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if tc.content != nil {
				path = filepath.Join(t.TempDir(), "bad.db")
				if err := os.WriteFile(path, tc.content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s, err := Open(path, Options{Timeout: 200 * time.Millisecond})
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v does not wrap %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestOpenNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "amber.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, []byte{0, 0, 0, 99})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err == nil {
		_ = s.Close()
		t.Fatal("Open of a newer schema succeeded")
	}
	if !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "upgrade amber") {
		t.Errorf("error %v: want ErrSchema saying to upgrade", err)
	}
}

func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "amber.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	run, err := s.CreateRun(ctx, Run{})
	if err != nil {
		t.Fatal(err)
	}
	c := testCapture("http://example.test/", time.Unix(1700000000, 0), []byte("hi"))
	if _, err := s.Commit(ctx, run.ID, Batch{Captures: []*Capture{c}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	got, err := ro.CapturesOf("http://example.test/")
	if err != nil || len(got) != 1 {
		t.Fatalf("CapturesOf = %d captures, %v; want 1", len(got), err)
	}
	if _, err := ro.Commit(ctx, run.ID, Batch{}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Commit on read-only store: %v, want ErrReadOnly", err)
	}
	if _, err := ro.CreateRun(ctx, Run{}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("CreateRun on read-only store: %v, want ErrReadOnly", err)
	}
}

func TestClosed(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "amber.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Commit(context.Background(), 0, Batch{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Close: %v, want ErrClosed", err)
	}
	if _, err := s.Runs(); !errors.Is(err, ErrClosed) {
		t.Errorf("Runs after Close: %v, want ErrClosed", err)
	}
}
