package crawler

import (
	"net/url"
	"strings"
	"testing"
)

func TestCanonical(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr string // substring of the error; "" for success
	}{
		{name: "case port dots fragment", in: "HTTP://Example.COM:80/a/./b/../c#x", want: "http://example.com/a/c"},
		{name: "already canonical", in: "https://chinadigitaltimes.net/2016/06/u-s-china-cyber-group-holds-first-talks/", want: "https://chinadigitaltimes.net/2016/06/u-s-china-cyber-group-holds-first-talks/"},
		{name: "idn host", in: "http://bücher.example/", want: "http://xn--bcher-kva.example/"},
		{name: "idn upper case", in: "http://BÜCHER.example/x", want: "http://xn--bcher-kva.example/x"},
		{name: "punycode kept", in: "http://xn--bcher-kva.example/", want: "http://xn--bcher-kva.example/"},
		{name: "tilde decoded", in: "http://example.com/%7euser/", want: "http://example.com/~user/"},
		{name: "unreserved letters decoded", in: "http://example.com/%41%62%2D%5f", want: "http://example.com/Ab-_"},
		{name: "encoded slash kept, hex upper", in: "http://example.com/a%2fb", want: "http://example.com/a%2Fb"},
		{name: "encoded reserved kept", in: "http://example.com/a%3Fb%23c", want: "http://example.com/a%3Fb%23c"},
		{name: "space in path", in: "http://example.com/a b", want: "http://example.com/a%20b"},
		{name: "surrounding spaces trimmed", in: "  http://example.com/a  ", want: "http://example.com/a"},
		{name: "plus kept", in: "http://example.com/a+b?q=a+b", want: "http://example.com/a+b?q=a+b"},
		{name: "non-ascii path encoded", in: "http://example.com/中国", want: "http://example.com/%E4%B8%AD%E5%9B%BD"},
		{name: "stray percent encoded", in: "http://example.com/100%/x%zz", want: "http://example.com/100%25/x%25zz"},
		{name: "empty path", in: "http://example.com", want: "http://example.com/"},
		{name: "empty path with query", in: "http://example.com?a=1", want: "http://example.com/?a=1"},
		{name: "https default port", in: "https://example.com:443/", want: "https://example.com/"},
		{name: "http on 443 keeps port", in: "http://example.com:443/", want: "http://example.com:443/"},
		{name: "non-default port", in: "http://127.0.0.1:8080/x", want: "http://127.0.0.1:8080/x"},
		{name: "port leading zeros", in: "http://example.com:0080/", want: "http://example.com/"},
		{name: "empty port", in: "http://example.com:/", want: "http://example.com/"},
		{name: "ipv6", in: "http://[2001:DB8::1]:80/", want: "http://[2001:db8::1]/"},
		{name: "query order kept", in: "http://example.com/?b=2&a=1", want: "http://example.com/?b=2&a=1"},
		{name: "empty query kept", in: "http://example.com/p?", want: "http://example.com/p?"},
		{name: "query hex normalised", in: "http://example.com/?q=%7e%2f%e4", want: "http://example.com/?q=~%2F%E4"},
		{name: "query space encoded", in: "http://example.com/?q=a b", want: "http://example.com/?q=a%20b"},
		{name: "query question mark kept", in: "http://example.com/?u=http://x/?y", want: "http://example.com/?u=http://x/?y"},
		{name: "dots beyond root", in: "http://example.com/../../a", want: "http://example.com/a"},
		{name: "trailing dot segment", in: "http://example.com/a/b/..", want: "http://example.com/a/"},
		{name: "encoded dot segment", in: "http://example.com/a/%2E%2E/b", want: "http://example.com/b"},
		{name: "double slash kept", in: "http://example.com//a//b", want: "http://example.com//a//b"},
		{name: "userinfo kept", in: "http://user:pw@Example.com/", want: "http://user:pw@example.com/"},
		{name: "ftp rejected", in: "ftp://example.com/", wantErr: "unsupported scheme"},
		{name: "javascript rejected", in: "javascript:alert(1)", wantErr: "unsupported scheme"},
		{name: "relative rejected", in: "/a/b", wantErr: "no scheme"},
		{name: "empty host", in: "http:///a", wantErr: "empty host"},
		{name: "opaque", in: "http:example.com", wantErr: "no host"},
		{name: "empty", in: "  ", wantErr: "empty url"},
		{name: "too long", in: "http://example.com/" + strings.Repeat("a", 2048), wantErr: "longer than 2048"},
		{name: "grows too long", in: "http://example.com/" + strings.Repeat("é", 500), wantErr: "longer than 2048"},
		{name: "bad port", in: "http://example.com:99999/", wantErr: "invalid port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonical(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Canonical(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "crawler: ") {
					t.Errorf("error %q lacks the crawler: prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Canonical(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Canonical(%q) = %q, want %q", tt.in, got, tt.want)
			}
			again, err := Canonical(got)
			if err != nil || again != got {
				t.Errorf("Canonical not idempotent: %q -> %q, %v", got, again, err)
			}
		})
	}
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return u
}

func TestResolve(t *testing.T) {
	const base = "https://chinadigitaltimes.net/2016/06/u-s-china-cyber-group/"
	tests := []struct {
		name    string
		ref     string
		want    string
		wantErr string
	}{
		{name: "relative", ref: "other-post/", want: "https://chinadigitaltimes.net/2016/06/u-s-china-cyber-group/other-post/"},
		{name: "root relative", ref: "/page/2/", want: "https://chinadigitaltimes.net/page/2/"},
		{name: "parent", ref: "../", want: "https://chinadigitaltimes.net/2016/06/"},
		{name: "parent beyond root", ref: "../../../../x", want: "https://chinadigitaltimes.net/x"},
		{name: "protocol relative", ref: "//news.xinhuanet.com/english/2015-12/02/c_134876399.htm", want: "https://news.xinhuanet.com/english/2015-12/02/c_134876399.htm"},
		{name: "absolute", ref: "http://www.voanews.com/a/us-china-cyber/3340223.html", want: "http://www.voanews.com/a/us-china-cyber/3340223.html"},
		{name: "spaces around", ref: "  \n /tag/cybersecurity/ \t", want: "https://chinadigitaltimes.net/tag/cybersecurity/"},
		{name: "newline inside", ref: "/2016/06/a\nb/", want: "https://chinadigitaltimes.net/2016/06/ab/"},
		{name: "backslashes", ref: `\2016\06\x?a\b`, want: `https://chinadigitaltimes.net/2016/06/x?a\b`},
		{name: "query only", ref: "?replytocom=5", want: "https://chinadigitaltimes.net/2016/06/u-s-china-cyber-group/?replytocom=5"},
		{name: "fragment kept", ref: "/a#b", want: "https://chinadigitaltimes.net/a#b"},
		{name: "upper-case scheme", ref: "HTTPS://Example.com/", want: "https://Example.com/"},
		{name: "javascript", ref: "javascript:void(0)", wantErr: "javascript: link"},
		{name: "javascript spaced upper", ref: "  JavaScript:window.open('x')", wantErr: "javascript: link"},
		{name: "data", ref: "data:image/png;base64,iVBOR", wantErr: "data: link"},
		{name: "mailto", ref: "mailto:cdt@example.org", wantErr: "mailto: link"},
		{name: "tel", ref: "tel:+15555555", wantErr: "tel: link"},
		{name: "ftp", ref: "ftp://example.com/f", wantErr: "unsupported scheme ftp:"},
		{name: "fragment only", ref: "#comments", wantErr: "fragment-only"},
		{name: "empty", ref: "   ", wantErr: "empty link"},
		{name: "bad escape", ref: "http://exa%zzmple.com/", wantErr: "unparsable"},
	}
	b := mustURL(t, base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(b, tt.ref)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve(%q) = %v, %v; want error containing %q", tt.ref, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.ref, err)
			}
			if got.String() != tt.want {
				t.Errorf("Resolve(%q) = %q, want %q", tt.ref, got, tt.want)
			}
		})
	}
	if _, err := Resolve(nil, "/a"); err == nil {
		t.Error("Resolve(nil, /a): want error")
	}
}

func TestHostKey(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"http://Example.com/a", "http://example.com:80"},
		{"https://example.com/", "https://example.com:443"},
		{"HTTPS://example.com:8443/", "https://example.com:8443"},
		{"http://127.0.0.1:54321/x", "http://127.0.0.1:54321"},
		{"http://[::1]/", "http://[::1]:80"},
		{"http://[::1]:81/", "http://[::1]:81"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := HostKey(mustURL(t, tt.in)); got != tt.want {
				t.Errorf("HostKey(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSameSite(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"https://chinadigitaltimes.net/", "https://chinadigitaltimes.net/2016/06/x/", true},
		{"https://chinadigitaltimes.net/", "https://www.chinadigitaltimes.net/", true},
		{"https://WWW.chinadigitaltimes.net/", "https://chinadigitaltimes.net/", true},
		{"http://chinadigitaltimes.net/", "https://chinadigitaltimes.net/", true},
		{"http://example.com:80/", "http://example.com/", true},
		{"https://chinadigitaltimes.net/", "https://china.chinadigitaltimes.net/", false},
		{"https://chinadigitaltimes.net/", "https://chinadigitaltimes.net.evil.example/", false},
		{"https://www.www.example.com/", "https://example.com/", false},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8081/", false},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080/a", true},
		{"http://example.com:8080/", "http://example.com/", false},
	}
	for _, tt := range tests {
		t.Run(tt.a+" "+tt.b, func(t *testing.T) {
			a, b := mustURL(t, tt.a), mustURL(t, tt.b)
			if got := SameSite(a, b); got != tt.want {
				t.Errorf("SameSite(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := SameSite(b, a); got != tt.want {
				t.Errorf("SameSite not symmetric for %q, %q", tt.a, tt.b)
			}
		})
	}
	if SameSite(nil, mustURL(t, "http://a/")) {
		t.Error("SameSite(nil, x) = true")
	}
}

func FuzzCanonical(f *testing.F) {
	for _, s := range []string{
		"HTTP://Example.COM:80/a/./b/../c#x",
		"http://bücher.example/",
		"http://example.com/%7e%2f%zz?q=a b&x=%e4#f",
		"https://[::1]:443/..//./a/",
		"http://u:p@example.com:0080",
		"http://example.com/a/b/..",
		"http://[fe80::1%25en0]/",
		"http://0%X000000000000",
		"https://chinadigitaltimes.net/2016/06/u-s-china-cyber-group-holds-first-talks/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := Canonical(in)
		if err != nil {
			return
		}
		if len(c) > MaxURLLength {
			t.Fatalf("Canonical(%q) = %q: longer than %d", in, c, MaxURLLength)
		}
		c2, err := Canonical(c)
		if err != nil {
			t.Fatalf("Canonical(%q) = %q, which Canonical rejects: %v", in, c, err)
		}
		if c2 != c {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, c, c2)
		}
		if _, err := url.Parse(c); err != nil {
			t.Fatalf("Canonical(%q) = %q does not parse: %v", in, c, err)
		}
	})
}
