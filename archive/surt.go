package archive

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
)

// maxKey caps the variable part of keys. bbolt allows 32 KiB, but long keys
// bloat branch pages; longer values are cut and made unique with a hash.
const maxKey = 1024

// surt returns the IA-style Sort-friendly URI Reordering Transform of u used
// for capture keys: scheme dropped, host lower-cased, "www." stripped and
// reversed with commas, ")" then path and query with the query arguments
// sorted, fragment dropped. It is lossy (http and https, www and bare host
// share keys), so the exact URL is kept in the capture. Keys longer than
// maxKey are cut and get the sha1 of the full URL appended.
//
// It is kept in this one function so that the warc package's canonical SURT
// can replace it.
func surt(u string) string {
	s := surtUncapped(u)
	if len(s) > maxKey {
		sum := sha1.Sum([]byte(u))
		s = s[:maxKey-41] + "#" + hex.EncodeToString(sum[:])
	}
	return s
}

func surtUncapped(u string) string {
	host, rest, ok := splitURL(u)
	if !ok {
		return escapeNUL(u)
	}
	path, query := rest, ""
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		path, query = rest[:i], rest[i+1:]
	}
	if path == "" {
		path = "/"
	}
	var b strings.Builder
	b.WriteString(surtHost(host))
	b.WriteByte(')')
	b.WriteString(path)
	if query != "" {
		args := strings.Split(query, "&")
		slices.Sort(args)
		b.WriteByte('?')
		b.WriteString(strings.Join(args, "&"))
	}
	return escapeNUL(b.String())
}

// splitURL splits an absolute URL into its host[:port] (userinfo dropped)
// and the rest (path and query, fragment dropped).
func splitURL(u string) (host, rest string, ok bool) {
	i := strings.Index(u, "://")
	if i < 0 {
		return "", "", false
	}
	s := u[i+3:]
	if j := strings.IndexByte(s, '#'); j >= 0 {
		s = s[:j]
	}
	end := strings.IndexAny(s, "/?")
	if end < 0 {
		end = len(s)
	}
	host, rest = s[:end], s[end:]
	if at := strings.LastIndexByte(host, '@'); at >= 0 {
		host = host[at+1:]
	}
	return host, rest, true
}

// surtHost turns "www.Example.com:8080" into "com,example:8080".
func surtHost(host string) string {
	host = strings.ToLower(host)
	port := ""
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		host, port = host[:i], host[i:]
	}
	if strings.HasPrefix(host, "[") { // IPv6 literal: not reversed
		return host + port
	}
	host = strings.TrimSuffix(host, ".")
	host = strings.TrimPrefix(host, "www.")
	parts := strings.Split(host, ".")
	slices.Reverse(parts)
	return strings.Join(parts, ",") + port
}

// surtSeek returns the SURT key prefix under which every capture whose URL
// starts with prefix is found, or "" when prefix does not fix the host
// (then every key must be scanned).
func surtSeek(prefix string) string {
	host, rest, ok := splitURL(prefix)
	if !ok || !strings.HasPrefix(rest, "/") || strings.Contains(prefix, "#") {
		return ""
	}
	// The query is reordered by surt, so only the path is a prefix.
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest = rest[:i]
	}
	s := escapeNUL(surtHost(host) + ")" + rest)
	if len(s) > maxKey-41 {
		s = s[:maxKey-41]
	}
	return s
}

// escapeNUL keeps 0x00, the key separator, out of SURTs.
func escapeNUL(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "%00")
}

// captureKey is SURT + 0x00 + big-endian unix nanoseconds.
func captureKey(surtKey string, nanos int64) []byte {
	k := make([]byte, 0, len(surtKey)+9)
	k = append(k, surtKey...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, uint64(nanos))
}

// urlKey is the key of a URL in the per-run seen, skips and failures
// buckets: the URL itself, or a cut URL and its sha256 when it is too long.
func urlKey(u string) []byte {
	if len(u) <= maxKey {
		return []byte(u)
	}
	sum := sha256.Sum256([]byte(u))
	return []byte(u[:maxKey-65] + "#" + hex.EncodeToString(sum[:]))
}

// queueKey is hostKey + 0x00 + big-endian seq, so one host's items sort
// together in queue order.
func queueKey(hostKey string, seq uint64) []byte {
	h := urlKey(hostKey)
	k := make([]byte, 0, len(h)+9)
	k = append(k, h...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, seq)
}

// hostKeyOf derives scheme://host:port from a URL, for items that come
// without a HostKey.
func hostKeyOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}
