package crawler

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzRobots parses arbitrary robots.txt bodies. Parsing never fails or
// panics, temoto always accepts our canonical copy, /robots.txt is always
// allowed, Crawl-delay stays in range, and a path and its normalised form
// get the same answer (normalisation is idempotent).
func FuzzRobots(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "robots", "*.txt"))
	if err != nil {
		f.Fatal(err)
	}
	if len(seeds) == 0 {
		f.Fatal("no seeds in testdata/robots")
	}
	for _, name := range seeds {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "amber", "/private/x?y=%7e")
		f.Add(b, "otherbot", "/search?q=1&session5=2")
	}
	f.Fuzz(func(t *testing.T, body []byte, token, path string) {
		r := NewRobots(200, body, nil)
		if r.temotoErr != nil {
			t.Fatalf("temoto rejected our canonical copy: %v", r.temotoErr)
		}
		if ok, rule := r.Test(token, "/robots.txt"); !ok {
			t.Fatalf("/robots.txt disallowed by %s", rule)
		}
		if d := r.CrawlDelay(token); d < 0 || d > 24*time.Hour {
			t.Fatalf("CrawlDelay = %v", d)
		}
		n := normalizeRobotsPath(path)
		if nn := normalizeRobotsPath(n); nn != n {
			t.Fatalf("normalisation not idempotent: %q -> %q -> %q", path, n, nn)
		}
		got, _ := r.Test(token, path)
		if again, _ := r.Test(token, n); again != got {
			t.Fatalf("Test(%q) = %v but Test(%q) = %v", path, got, n, again)
		}
		_ = r.Sitemaps()
	})
}
