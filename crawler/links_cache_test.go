package crawler

import (
	"net/url"
	"strconv"
	"strings"
	"sync"
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
	"http://www.example.test/2016/06/other/",
	"http://www.example.test/2016/05/page/?p=2",
	"http://www.example.test/a/b/d?q=2",
	"http://www.example.test/a/b/",
	"http://www.example.test",
	"http://www.example.test//x",
	"http://www.example.test/%2e%2E/x/y",
	"http://[::1]:81/a/b/c",
	"https://www.example.test/a/b/c",
}

var cacheRefs = []string{
	"http://a.test/x", "HTTP://A.test/./y/../z", "https://a.test:443/", "http:/a.test/x", "http:x",
	"https:relative", "//cdn.test/s.css", "//cdn.test:80/s.css", "/about/", "/a/../b?c#d", "/",
	"/%zz", "/p q", "//", "http://", "https://[::1]/", "/wp-content/x.png?ver=1", "?q", "rel/x", "../up",
	"http://a.test/\\x", " /lead", "/tab\there", "/über", "mailto:x@y", "javascript:void(0)",
	"../../tag/x/", "page/2/", "?p=3", "?", "./", ".", "..", "../", "../..", "../../..", "../../../../../x",
	"a/../../b", "a/b/../../../c", "%2e%2E/x", ".%2e/x", "%2E./x", "%2e%2e/%2e/x", "..%2f/x", "...", ".../x",
	"a/./b/.", "x?y/../z", "x#y/../z", "x/..?q", "x/.#f", "x y/../z", "\u00fc/../x", "\xff/../x", "a//b/../..",
	"ws://x/", "ftp:x", "file:///etc/passwd", "file:x", "wss:y", "data:text/plain,x", "tel:+1", "a+b.c-d:x",
	"1a:x", "a:", ":x", "-:x", "x\\y", "x\ty", "x\ny", " x", "x ", "x\x00y", "x\x7fy", "%", "%2", "%2e",
	"C:/x", "c|/x", "//user:pw@h/", "/..", "/./x", "/.%2e/x", "?q#f", "??", "?#",
}

// resolveDirect is what ExtractLinks would answer without the cache.
func resolveDirect(t testing.TB, base, ref string) string {
	p := whatwg.NewParser(whatwg.WithPercentEncodeSinglePercentSign())
	b, err := p.Parse(base)
	if err != nil {
		t.Fatalf("base %q: %v", base, err)
	}
	return resolveParsed(b, ref)
}

// resolveParsed is resolveDirect for a parsed base.
func resolveParsed(b *whatwg.Url, ref string) string {
	if ref == "" || ref[0] == '#' {
		return ref
	}
	if u, err := b.Parse(ref); err == nil {
		return u.Href(false)
	}
	return ref
}

func mustParseWHATWG(t testing.TB, base string) *whatwg.Url {
	b, err := linkParser.Parse(base)
	if err != nil {
		t.Fatalf("base %q: %v", base, err)
	}
	return b
}

// TestResolveKeyIsPure checks the claim the link cache rests on: two pages
// that give a reference the same key resolve it to the same URL.
func TestResolveKeyIsPure(t *testing.T) {
	byKey := map[string]string{}
	from := map[string]string{}
	cached := 0
	for _, base := range cacheBases {
		scope := newResolveScope(mustParseWHATWG(t, base))
		for _, ref := range cacheRefs {
			key, ok := scope.key(nil, ref)
			if !ok {
				continue
			}
			cached++
			got := resolveDirect(t, base, ref)
			if prev, seen := byKey[string(key)]; seen && prev != got {
				t.Errorf("key %q: %q against %s gives %q, but against %s gives %q", key, ref, base, got, from[string(key)], prev)
			}
			byKey[string(key)], from[string(key)] = got, base
		}
	}
	if cached < len(cacheRefs)*len(cacheBases)/2 {
		t.Errorf("only %d (base, ref) pairs were cacheable; the cache would not help", cached)
	}
	// User info in the base is copied into relative links: never cached.
	if s := newResolveScope(mustParseWHATWG(t, "http://user:pw@www.example.test/p/")); s.all != "" {
		t.Errorf("a base with user info got a cache scope")
	}
}

// TestResolveKeyCases pins which references are cached, and which pages
// share an entry: sharing is the point of the cache, and each "never"
// is a rewrite by the parser that the key does not model.
func TestResolveKeyCases(t *testing.T) {
	never := []string{
		" /lead", "/lead ", "/tab\there", "x\ny", "x\ry", "\x01x", "x\x00", "x\\y", "/\\evil.test/",
		"http:x", "https:x", "http:/a.test/", "ws://x/", "WSS://x/", "ftp://x/", "file:///x", "#f", "",
		strings.Repeat("x", resolvedMaxRef+1),
	}
	s := newResolveScope(mustParseWHATWG(t, "http://www.example.test/2016/05/page/"))
	for _, ref := range never {
		if k, ok := s.key(nil, ref); ok {
			t.Errorf("%q is cached as %q", ref, k)
		}
	}
	same := []struct{ a, b, ref string }{
		{"http://h.test/2016/05/a/", "http://h.test/2016/06/b/", "../../tag/x/"},
		{"http://h.test/2016/05/a/", "http://h.test/2017/06/b/", "../../../about/"},
		{"http://h.test/2016/05/a/", "http://h.test/x/", "../../../../about/"}, // both run out of segments
		{"http://h.test/d/a.html", "http://h.test/d/b.html?x", "c.html"},
		{"http://h.test/d/a.html", "http://h.test/e/b.html", "x/../../c.html"},
		{"http://h.test/a/b/", "http://h.test/a/c/", "x/../../y/../z"},
		{"http://h.test/d/a?x=1", "http://h.test/d/a?y=2#z", "?p=3"},
		{"http://h.test/a", "https://i.test/b", "mailto:x@y"},
		{"http://h.test/a", "https://i.test/b", "http://j.test/"},
		{"http://h.test/a", "http://h.test:80/b", "/c"},
		{"http://h.test/a", "http://i.test:8/b", "//c.test/"},
	}
	for _, c := range same {
		ka, oka := newResolveScope(mustParseWHATWG(t, c.a)).key(nil, c.ref)
		kb, okb := newResolveScope(mustParseWHATWG(t, c.b)).key(nil, c.ref)
		if !oka || !okb || string(ka) != string(kb) {
			t.Errorf("%q against %s and %s: keys %q (%v) and %q (%v), want one", c.ref, c.a, c.b, ka, oka, kb, okb)
		}
		if ra, rb := resolveDirect(t, c.a, c.ref), resolveDirect(t, c.b, c.ref); ra != rb {
			t.Errorf("%q: %q against %s, %q against %s", c.ref, ra, c.a, rb, c.b)
		}
	}
	differ := []struct{ a, b, ref string }{
		{"http://h.test/2016/05/a/", "http://h.test/2016/06/b/", "../x/"},
		{"http://h.test/2016/05/a/", "http://h.test/2016/05/a/b/", "../../../x"},
		{"http://h.test/d/a", "http://h.test/d/b", "?p=3"},
		{"http://h.test/d/", "http://h.test//d/", "x"},
		{"http://h.test/", "http://h.test//", "x"},
		{"http://h.test/a", "https://h.test/a", "/c"},
		{"http://h.test/a", "http://h.test:81/a", "/c"},
		{"http://h.test/a", "https://h.test/a", "//c.test/"},
		{"http://h.test/a/b/", "http://h.test/a/c/", "x/../y"},
	}
	for _, c := range differ {
		ka, _ := newResolveScope(mustParseWHATWG(t, c.a)).key(nil, c.ref)
		kb, _ := newResolveScope(mustParseWHATWG(t, c.b)).key(nil, c.ref)
		if string(ka) == string(kb) {
			t.Errorf("%q against %s and %s: one key %q", c.ref, c.a, c.b, ka)
		}
	}
}

// TestDirPops counts, as the parser's path state would, the segments of
// the base directory a reference removes.
func TestDirPops(t *testing.T) {
	for ref, want := range map[string]int{
		"x": 0, "../x": 1, "../../x/": 2, "..": 1, "../..": 2, "a/../../b": 1, "a/b/../../../c": 1,
		"%2e%2E/x": 1, ".%2e/%2E./x": 2, "./../x": 1, "x/..?../..": 0, "..#/../..": 1, "...": 0, "..%2f..": 0,
		"a//../..": 0, "a//../../..": 1, ".": 0, "./": 0,
	} {
		if got := dirPops(ref); got != want {
			t.Errorf("dirPops(%q) = %d, want %d", ref, got, want)
		}
	}
}

// TestExtractLinksSameWithCache: a page's links resolve the same whether
// the cache is cold or warm, and match the parser's own answers.
func TestExtractLinksSameWithCache(t *testing.T) {
	refs := make([]string, 0, len(cacheRefs))
	for _, ref := range cacheRefs {
		if !strings.ContainsAny(ref, "\"\x00") {
			refs = append(refs, ref)
		}
	}
	for _, base := range cacheBases {
		bu, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		page := ""
		for _, ref := range refs {
			page += `<a href="` + ref + `">x</a>`
		}
		resolved.reset()
		cold := ExtractLinks(bu, []byte(page), "")
		warm := ExtractLinks(bu, []byte(page), "")
		if len(cold) != len(refs) || len(warm) != len(cold) {
			t.Fatalf("%s: %d and %d links, want %d", base, len(cold), len(warm), len(refs))
		}
		for i, ref := range refs {
			want := resolveDirect(t, bu.String(), strings.TrimSpace(ref))
			if cold[i].URL != want || warm[i].URL != want {
				t.Errorf("%s + %q: cold %q, warm %q, parser %q", base, ref, cold[i].URL, warm[i].URL, want)
			}
		}
	}
}

// TestResolveCachedEveryPair resolves every reference against every base
// with a cache warmed by all the others: each answer is the parser's.
func TestResolveCachedEveryPair(t *testing.T) {
	resolved.reset()
	for round := 0; round < 2; round++ {
		for _, base := range cacheBases {
			b := mustParseWHATWG(t, base)
			abs := resolveAgainst(b)
			for _, ref := range cacheRefs {
				if got, want := abs(ref), resolveParsed(mustParseWHATWG(t, base), ref); got != want {
					t.Errorf("round %d: %q against %s: %q, parser %q", round, ref, base, got, want)
				}
			}
		}
	}
}

// fuzzHosts are the scopes FuzzResolveCached draws bases from: same and
// different schemes, hosts and ports, and user info (never cached).
var fuzzHosts = []string{
	"http://h.test", "https://h.test", "http://h.test:8080", "http://H.TEST:80", "http://[::1]", "http://u:p@h.test", "http://10.0.0.1",
}

// FuzzResolveCached: for two pages of related bases (a common path and
// tails of their own, a query, a fragment) and any reference, what the
// page resolver answers, from a cache warmed by the other page and by
// every earlier input, is what the WHATWG parser answers; and equal keys
// mean equal answers.
func FuzzResolveCached(f *testing.F) {
	for i, ref := range cacheRefs {
		f.Add(ref, "2016/", "05/page/", "06/other/x", uint8(i), uint8(i*7))
	}
	f.Add("../../tag/x/", "2016/", "05/a/", "06/b/", uint8(0), uint8(0))
	f.Add("../../../x", "a/", "b/c/", "d/", uint8(0), uint8(0))
	f.Add("x/../../y", "", "a/b/", "c/", uint8(1), uint8(1))
	f.Add("%2e%2e/%2E./z", "a/b/", "c/d", "e/", uint8(2), uint8(3))
	f.Add("?p=2", "a", "?x", "?y#z", uint8(4), uint8(4))
	f.Add("p\\..\\..\\q", "a/", "b\\c/", "d/", uint8(5), uint8(5))
	f.Fuzz(func(t *testing.T, ref, common, tailA, tailB string, hostA, hostB uint8) {
		if len(ref) > 200 || len(common)+len(tailA)+len(tailB) > 200 {
			// Length changes nothing the key models (TestResolveKeyCases
			// covers the cap), and minimising long inputs stalls the fuzzer.
			return
		}
		baseA := fuzzHosts[int(hostA)%len(fuzzHosts)] + "/" + common + tailA
		baseB := fuzzHosts[int(hostB)%len(fuzzHosts)] + "/" + common + tailB
		ua, errA := linkParser.Parse(baseA)
		ub, errB := linkParser.Parse(baseB)
		if errA != nil || errB != nil {
			return
		}
		sa, sb := newResolveScope(ua), newResolveScope(ub)
		ka, oka := sa.key(nil, ref)
		kb, okb := sb.key(nil, ref)
		wantA, wantB := resolveParsed(ua.Clone(), ref), resolveParsed(ub.Clone(), ref)
		if oka && okb && string(ka) == string(kb) && wantA != wantB {
			t.Fatalf("key %q: %q resolves to %q against %s but %q against %s", ka, ref, wantA, baseA, wantB, baseB)
		}
		if got := resolveAgainst(ua)(ref); got != wantA {
			t.Fatalf("%q against %s: %q, parser %q", ref, baseA, got, wantA)
		}
		if got := resolveAgainst(ub)(ref); got != wantB {
			t.Fatalf("%q against %s (after %s): %q, parser %q", ref, baseB, baseA, got, wantB)
		}
	})
}

// TestResolveConcurrent has workers share the cache, as a crawl's do, for
// the race detector, with shards filling and clearing under them.
func TestResolveConcurrent(t *testing.T) {
	resolved.reset()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				base := cacheBases[(w+i)%len(cacheBases)] + "n" + strconv.Itoa(i%40)
				b := mustParseWHATWG(t, base)
				abs := resolveAgainst(b)
				for _, ref := range cacheRefs[:20] {
					if got, want := abs(ref+strconv.Itoa(i)), resolveParsed(b.Clone(), ref+strconv.Itoa(i)); got != want {
						t.Errorf("%q against %s: %q, parser %q", ref, base, got, want)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
