package archive

import (
	"strings"
	"testing"
)

func TestSURT(t *testing.T) {
	long := "http://example.test/" + strings.Repeat("x", 2000)
	tests := []struct {
		url, want string
	}{
		{"http://www.Example.COM/Path/a?b=2&a=1#frag", "com,example)/Path/a?a=1&b=2"},
		{"https://example.com", "com,example)/"},
		{"https://user:pw@news.example.co.uk:8443/x", "uk,co,example,news:8443)/x"},
		{"http://[::1]:8080/", "[::1]:8080)/"},
		{"http://127.0.0.1/", "1,0,0,127)/"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			if got := surt(tc.url); got != tc.want {
				t.Errorf("surt = %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("long URLs are cut and stay distinct", func(t *testing.T) {
		a, b := surt(long+"a"), surt(long+"b")
		if len(a) > maxKey || a == b {
			t.Errorf("len %d, distinct %v", len(a), a != b)
		}
	})
	t.Run("seek prefix is a prefix of the SURT", func(t *testing.T) {
		for _, u := range []string{"https://www.example.com/2026/03/slug/?x=1", long} {
			for _, p := range []string{"https://www.example.com/", "https://www.example.com/2026/", "http://example.test/xxx"} {
				if strings.HasPrefix(u, p) && !strings.HasPrefix(surt(u), surtSeek(p)) {
					t.Errorf("surt(%q)=%q does not start with surtSeek(%q)=%q", u, surt(u), p, surtSeek(p))
				}
			}
		}
	})
}

func TestPayloadDigest(t *testing.T) {
	plain, _ := payloadDigest(nil, []byte("hello, world"))
	tests := []struct {
		name, head, body string
		want             string
		wantLen          int
	}{
		{"plain", "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", "hello, world", plain, 12},
		{"chunked", "HTTP/1.1 200 OK\r\ntransfer-encoding:  Chunked\r\n\r\n", "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n", plain, 12},
		{"chunked with trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "c\r\nhello, world\r\n0\r\nX-T: 1\r\n\r\n", plain, 12},
		{"gzip then chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "c\r\nhello, world\r\n0\r\n\r\n", plain, 12},
		{"truncated chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "c\r\nhello, wo", "", 9},
		{"not really chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "hello, world", plain, 12},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, n := payloadDigest([]byte(tc.head), []byte(tc.body))
			if tc.want != "" && got != tc.want {
				t.Errorf("digest %s, want %s", got, tc.want)
			}
			if n != tc.wantLen {
				t.Errorf("entity length %d, want %d", n, tc.wantLen)
			}
			if !strings.HasPrefix(got, "sha1:") || len(got) != 5+32 {
				t.Errorf("digest %q not sha1:BASE32", got)
			}
		})
	}
}
