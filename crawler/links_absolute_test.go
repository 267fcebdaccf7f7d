package crawler

import (
	"testing"
)

// canonicalCases are references canonicalAbsolute must accept (true) or
// leave to the parser (false).
var canonicalCases = []struct {
	ref  string
	want bool
}{
	{"http://chinadigitaltimes.net/2016/05/a-slug/", true},
	{"https://www.nytimes.com/2016/05/01/world/asia/china.html?ref=x&b=c#frag", true},
	{"http://chinadigitaltimes.test:41234/tag/x/", true},
	{"http://a.b/%E4%B8%AD?q=%20", true},
	{"http://a.b/", true},
	{"http://a.b//double//slash", true},
	{"http://a.b/x?y=.#..", true},
	{"http://a.b", false},            // the parser adds "/"
	{"HTTP://a.b/", false},           // scheme case
	{"http://A.b/", false},           // host case
	{"http://a.b:80/", false},        // default port
	{"https://a.b:443/", false},      // default port
	{"http://a.b:080/", false},       // leading zero
	{"http://a.b:/", false},          // empty port
	{"http://a.b:99999/", false},     // out of range
	{"http://a.b/./x", false},        // dot segment
	{"http://a.b/x/..", false},       // dot segment
	{"http://a.b/%2e%2E/x", false},   // encoded dot segment
	{"http://a.b/x y", false},        // space
	{"http://a.b/x\\y", false},       // backslash
	{"http://a.b/x'y", false},        // quote (query set of special schemes)
	{"http://a.b/x%zz", false},       // lone percent sign
	{"http://a.b/中", false},          // non-ASCII
	{"http://user@a.b/", false},      // userinfo
	{"http://1.2.3/", false},         // IPv4 to parse
	{"http://127.0.0.1/", false},     // IPv4
	{"http://xn--fiqs8s.cn/", false}, // punycode
	{"http://a..b/", false},          // empty label
	{"http://-a.b/", false},          // hyphen at a label's edge
	{"http://a.b./", false},          // trailing dot
	{"http://[::1]/", false},         // IPv6
	{"ftp://a.b/", false},
	{"//a.b/x", false},
	{"/x/y", false},
}

// TestCanonicalAbsolute checks the table, and that the parser gives back
// every accepted reference unchanged, absolute or against a base.
func TestCanonicalAbsolute(t *testing.T) {
	base := mustParseWHATWG(t, "https://base.test:8443/dir/page?q#f")
	for _, tc := range canonicalCases {
		if got := canonicalAbsolute(tc.ref); got != tc.want {
			t.Errorf("canonicalAbsolute(%q) = %v, want %v", tc.ref, got, tc.want)
		}
		if tc.want {
			if got := resolveParsed(base.Clone(), tc.ref); got != tc.ref {
				t.Errorf("the parser gives %q for %q", got, tc.ref)
			}
		}
	}
}

// FuzzCanonicalAbsolute checks, for references built from fuzzed parts,
// that whatever canonicalAbsolute accepts the WHATWG parser gives back
// unchanged.
func FuzzCanonicalAbsolute(f *testing.F) {
	for _, tc := range canonicalCases {
		f.Add(tc.ref, "")
	}
	f.Add("http://a.b", "/x/%2E/y?z#w")
	f.Add("https://a-b.c:1", "/%41?%7e#%")
	base := mustParseWHATWG(f, "http://base.test/a/b")
	f.Fuzz(func(t *testing.T, head, tail string) {
		ref := head + tail
		if len(ref) > 300 || !canonicalAbsolute(ref) {
			return
		}
		if got := resolveParsed(base.Clone(), ref); got != ref {
			t.Fatalf("accepted %q, the parser gives %q", ref, got)
		}
		u, err := linkParser.Parse(ref)
		if err != nil {
			t.Fatalf("accepted %q, the parser refuses it: %v", ref, err)
		}
		if got := u.Href(false); got != ref {
			t.Fatalf("accepted %q, the parser gives %q", ref, got)
		}
	})
}
