package crawler

import (
	"net/url"
	"testing"

	whatwg "github.com/nlnwa/whatwg-url/url"
)

// cacheBases are pages whose links share cache keys or must not.
var cacheBases = []string{
	"http://www.example.test/2016/05/page/",
	"http://www.example.test/a/b/c?q=1#f",
	"http://www.example.test:8080/x/",
	"https://www.example.test/2016/05/page/",
	"https://other.test/",
	"http://user:pw@www.example.test/p/",
	"http://127.0.0.2:8000/deep/er/",
}

var cacheRefs = []string{
	"http://a.test/x", "HTTP://A.test/./y/../z", "https://a.test:443/", "http:/a.test/x", "http:x",
	"https:relative", "//cdn.test/s.css", "//cdn.test:80/s.css", "/about/", "/a/../b?c#d", "/",
	"/%zz", "/p q", "//", "http://", "https://[::1]/", "/wp-content/x.png?ver=1", "?q", "rel/x", "../up",
	"http://a.test/\\x", " /lead", "/tab\there", "/über", "mailto:x@y", "javascript:void(0)",
}

// resolveDirect is what ExtractLinks would answer without the cache.
func resolveDirect(t testing.TB, base, ref string) string {
	p := whatwg.NewParser(whatwg.WithPercentEncodeSinglePercentSign())
	b, err := p.Parse(base)
	if err != nil {
		t.Fatalf("base %q: %v", base, err)
	}
	if u, err := b.Parse(ref); err == nil {
		return u.Href(false)
	}
	return ref
}

// TestResolvedKeyIsPure checks the claim the link cache rests on: two pages
// that give a reference the same key resolve it to the same URL.
func TestResolvedKeyIsPure(t *testing.T) {
	p := whatwg.NewParser(whatwg.WithPercentEncodeSinglePercentSign())
	byKey := map[string]string{}
	from := map[string]string{}
	cached := 0
	for _, base := range cacheBases {
		b, err := p.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		scope := resolvedScope(b)
		for _, ref := range cacheRefs {
			key, ok := resolvedKey(scope, ref)
			if !ok {
				continue
			}
			cached++
			got := resolveDirect(t, base, ref)
			if prev, seen := byKey[key]; seen && prev != got {
				t.Errorf("key %q: %q against %s gives %q, but against %s gives %q", key, ref, base, got, from[key], prev)
			}
			byKey[key], from[key] = got, base
		}
	}
	if cached < len(cacheRefs) {
		t.Errorf("only %d (base, ref) pairs were cacheable; the cache would not help", cached)
	}
	// User info in the base is copied into path-absolute links: never cached.
	if b, _ := p.Parse("http://user:pw@www.example.test/p/"); resolvedScope(b) != "" {
		t.Errorf("a base with user info got a cache scope")
	}
}

// TestExtractLinksSameWithCache: a page's links resolve the same whether
// the cache is cold or warm, and match the parser's own answers.
func TestExtractLinksSameWithCache(t *testing.T) {
	for _, base := range cacheBases {
		bu, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		page := ""
		for _, ref := range cacheRefs {
			page += `<a href="` + ref + `">x</a>`
		}
		resolved.mu.Lock()
		clear(resolved.m)
		resolved.mu.Unlock()
		cold := ExtractLinks(bu, []byte(page), "")
		warm := ExtractLinks(bu, []byte(page), "")
		if len(cold) != len(cacheRefs) || len(warm) != len(cold) {
			t.Fatalf("%s: %d and %d links, want %d", base, len(cold), len(warm), len(cacheRefs))
		}
		for i, ref := range cacheRefs {
			want := resolveDirect(t, base, ref)
			if ref == "" || ref[0] == '#' {
				continue
			}
			if cold[i].URL != want || warm[i].URL != want {
				t.Errorf("%s + %q: cold %q, warm %q, parser %q", base, ref, cold[i].URL, warm[i].URL, want)
			}
		}
	}
}

// FuzzResolvedKey: for any reference and any two of the bases, equal keys
// mean equal resolutions.
func FuzzResolvedKey(f *testing.F) {
	for _, r := range cacheRefs {
		f.Add(r, uint8(0), uint8(3))
	}
	p := whatwg.NewParser(whatwg.WithPercentEncodeSinglePercentSign())
	f.Fuzz(func(t *testing.T, ref string, i, j uint8) {
		a, b := cacheBases[int(i)%len(cacheBases)], cacheBases[int(j)%len(cacheBases)]
		ua, _ := p.Parse(a)
		ub, _ := p.Parse(b)
		ka, oka := resolvedKey(resolvedScope(ua), ref)
		kb, okb := resolvedKey(resolvedScope(ub), ref)
		if oka && okb && ka == kb {
			if ra, rb := resolveDirect(t, a, ref), resolveDirect(t, b, ref); ra != rb {
				t.Fatalf("key %q: %q resolves to %q against %s but %q against %s", ka, ref, ra, a, rb, b)
			}
		}
	})
}
