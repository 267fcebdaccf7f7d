package warc

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"
)

func TestCheckDigest(t *testing.T) {
	data := []byte("hello world")
	s1 := sha1.Sum(data)
	s256 := sha256.Sum256(data)
	tests := []struct {
		name, value string
		wantOK      bool
		wantAlgo    string
		wantErr     bool
	}{
		{"base32", BlockDigest(data), true, "sha1", false},
		{"SHA-1 label", "SHA-1:" + BlockDigest(data)[5:], true, "sha1", false},
		{"hex", "sha1:" + hex.EncodeToString(s1[:]), true, "sha1", false},
		{"base64", "sha1:" + base64.StdEncoding.EncodeToString(s1[:]), true, "sha1", false},
		{"base64url", "sha1:" + base64.URLEncoding.EncodeToString(s1[:]), true, "sha1", false},
		{"sha256 hex", "sha256:" + hex.EncodeToString(s256[:]), true, "sha256", false},
		{"md5", "md5:5eb63bbbe01eeed093cb22bb8f5acdc3", true, "md5", false},
		{"mismatch", BlockDigest([]byte("other")), false, "sha1", false},
		{"no label", "B2LTWWPUOYAH7UIPQ7ZUPQ4VMBSVC36A", false, "", true},
		{"unknown algo", "crc32:abcd", false, "", true},
		{"bad encoding", "sha1:1112H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ", false, "sha1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, algo, err := CheckDigest(tt.value, data)
			if ok != tt.wantOK || algo != tt.wantAlgo || (err != nil) != tt.wantErr {
				t.Errorf("CheckDigest(%q) = %v, %q, %v", tt.value, ok, algo, err)
			}
			if err != nil && !errors.Is(err, ErrDigest) {
				t.Errorf("error %v is not ErrDigest", err)
			}
		})
	}
}

func TestDechunk(t *testing.T) {
	tests := []struct {
		name, in, want string
		truncated      bool
	}{
		{"two chunks", "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n", "hello world", false},
		{"trailer", "3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n", "abc", false},
		{"LF only", "3\nabc\n0\n\n", "abc", false},
		{"cut short", "a\r\nabc", "abc", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Dechunk([]byte(tt.in))
			if string(got) != tt.want || errors.Is(err, ErrTruncated) != tt.truncated {
				t.Errorf("Dechunk = %q, %v", got, err)
			}
		})
	}
}

func TestPayloadDigestChunked(t *testing.T) {
	block := []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
	got, err := PayloadDigest(block)
	if err != nil || got != BlockDigest([]byte("hello")) {
		t.Errorf("PayloadDigest = %s, %v", got, err)
	}
	_, raw := SplitHTTP(block)
	for _, tt := range []struct{ value, form string }{
		{BlockDigest([]byte("hello")), PayloadDechunked},
		{BlockDigest(raw), PayloadRaw},
	} {
		ok, form, err := CheckPayloadDigest(tt.value, block)
		if !ok || form != tt.form || err != nil {
			t.Errorf("CheckPayloadDigest(%s) = %v, %q, %v; want %q", tt.value, ok, form, err, tt.form)
		}
	}
	h, err := ParseHTTPHead([]byte("HTTP/1.1 301 Moved\r\nLocation: http://a.test/b\r\nContent-Type: Text/HTML; charset=x\r\n\r\n"))
	if err != nil || h.Status != 301 || h.Location() != "http://a.test/b" || h.ContentType() != "text/html" {
		t.Errorf("ParseHTTPHead = %+v, %v", h, err)
	}
}
