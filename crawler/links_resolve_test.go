package crawler

import (
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// resolvePage is a fixture page's base and the references it resolves.
type resolvePage struct {
	base *url.URL
	refs []string
}

// resolvePages are the fixture site's pages with their href and src
// values, as a crawl of it resolves them (srcsets and CSS aside).
func resolvePages(b *testing.B) []resolvePage {
	pages, err := fixturePages()
	if err != nil {
		b.Fatal(err)
	}
	attr := regexp.MustCompile(`(?i)\s(?:href|src)\s*=\s*"([^"]*)"`)
	var out []resolvePage
	for u, page := range pages {
		base, err := url.Parse(u)
		if err != nil || base.Scheme == "" {
			continue
		}
		p := resolvePage{base: base}
		for _, m := range attr.FindAllSubmatch(page, -1) {
			p.refs = append(p.refs, strings.TrimSpace(string(m[1])))
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].base.String() < out[j].base.String() })
	return out
}

// freshBase is base as a page the crawl has not seen: the last segment of
// its path gets a suffix n, so its own directory is new but its ancestors
// are the site's.
func freshBase(base *url.URL, n int) *url.URL {
	u := *base
	p := strings.TrimSuffix(u.Path, "/")
	u.Path = p + "-" + strconv.Itoa(n) + u.Path[len(p):]
	u.RawPath = ""
	return &u
}

// BenchmarkResolve times resolving a fixture page's links (one op is one
// page): "revisit" against pages the cache has seen, "fresh" against pages
// it has not (as a crawl sees each page), and "fresh-parallel" with every
// worker at it, which shows lock contention.
func BenchmarkResolve(b *testing.B) {
	pages := resolvePages(b)
	refs := 0
	for _, p := range pages {
		refs += len(p.refs)
	}
	b.Logf("%d pages, %d references", len(pages), refs)
	run := func(p resolvePage) {
		abs, ok := pageResolver(p.base, "", false)
		if !ok {
			b.Fatalf("%s: no resolver", p.base)
		}
		for _, r := range p.refs {
			abs(r)
		}
	}
	b.Run("revisit", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			run(pages[i%len(pages)])
			i++
		}
	})
	var n atomic.Int64
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			i := int(n.Add(1))
			p := pages[i%len(pages)]
			run(resolvePage{freshBase(p.base, i), p.refs})
		}
	})
	b.Run("fresh-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(4) // 4×GOMAXPROCS workers
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := int(n.Add(1))
				p := pages[i%len(pages)]
				run(resolvePage{freshBase(p.base, i), p.refs})
			}
		})
	})
}
