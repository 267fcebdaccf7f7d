package warc

import "testing"

func TestSURT(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://www.archive.org/", "org,archive)/"},
		{"http://archive.org/goo/?", "org,archive)/goo"},
		{"http://archive.org/goo/", "org,archive)/goo"},
		{"http://archive.org", "org,archive)/"},
		{"https://www2.Example.COM:443/A/B.html#frag", "com,example)/a/b.html"},
		{"http://example.com:8080/", "com,example:8080)/"},
		{"http://user:pw@example.com/x", "com,example)/x"},
		{"http://example.com/?b&a", "com,example)/?a&b"},
		{"http://example.com/p?a=2&b&a=1", "com,example)/p?a=1&a=2&b"},
		{"http://example.com/p?jsessionid=0123456789abcdef0123456789ABCDEF&x=1", "com,example)/p?x=1"},
		{"http://example.com/a/./b/../c//d", "com,example)/a/c/d"},
		{"http://example.com/a%20b", "com,example)/a%20b"},
		{"http://example.com/%7Euser", "com,example)/~user"},
		{"http://httpbin.org/post?foo=bar", "org,httpbin)/post?foo=bar"},
		{"https://img1.zoubanio.com/icon/u3927203-87.jpg", "com,zoubanio,img1)/icon/u3927203-87.jpg"},
		{"http://127.0.0.1:8000/x", "1,0,0,127:8000)/x"},
		{"http://3279880203/blah", "11,0,127,195)/blah"},
		{"example.com/path", "com,example)/path"},
		{"http://https://order.example.com/", "com,example,order)/"},
		{"urn:X-Foo:bar", "urn:x-foo:bar"},
		{"dns:www.example.com", "com,example,www)"},
		{"", "-"},
		{"filedesc:foo.arc.gz", "filedesc:foo.arc.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := SURT(tt.in)
			if err != nil {
				t.Fatalf("SURT(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("SURT(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
