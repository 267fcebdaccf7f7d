package crawler

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/idna"

	"github.com/amberarchive/amber/internal/pct"
)

// MaxURLLength is the longest URL, in bytes, that [Canonical] accepts. Longer
// URLs are nearly always crawler traps (session ids, calendars, recursive
// relative links) and many servers refuse them anyway.
const MaxURLLength = 2048

// Canonical returns the URL the frontier keys on: lower-case scheme and host,
// IDN hosts to punycode, default port removed, dot segments resolved, empty
// path -> "/", fragment removed, percent-encoding normalised (unreserved
// characters decoded, hex upper-cased, bytes that may not appear in a URL
// encoded), query kept as is apart from that percent-encoding normalisation
// (parameter order matters to servers, and an empty "?" is kept). It rejects,
// with an error that reads as a reason, unsupported schemes (only http and
// https), an empty host, a bad port and URLs longer than [MaxURLLength] bytes.
//
// Canonical is idempotent: Canonical of a canonical URL is that URL.
func Canonical(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if len(raw) > MaxURLLength {
		return "", fmt.Errorf("crawler: url longer than %d bytes", MaxURLLength)
	}
	if raw == "" {
		return "", errors.New("crawler: empty url")
	}
	u, err := url.Parse(fixPercents(raw))
	if err != nil {
		return "", fmt.Errorf("crawler: unparsable url: %w", err)
	}
	s, err := canonicalURL(u)
	if err != nil {
		return "", err
	}
	if len(s) > MaxURLLength {
		return "", fmt.Errorf("crawler: url longer than %d bytes once normalised", MaxURLLength)
	}
	return s, nil
}

// fixPercents encodes each "%" that starts no valid escape as "%25", as
// browsers do, so that url.Parse accepts what a server would receive.
func fixPercents(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			_, ok1 := pct.Unhex(at(s, i+1))
			_, ok2 := pct.Unhex(at(s, i+2))
			if !ok1 || !ok2 {
				b.WriteString("%25")
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// at returns s[i], or 0 past the end.
func at(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// canonicalURL does the work of Canonical on a parsed URL.
func canonicalURL(u *url.URL) (string, error) {
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case "http", "https":
	case "":
		return "", errors.New("crawler: relative url has no scheme")
	default:
		return "", fmt.Errorf("crawler: unsupported scheme %q (only http and https are crawled)", scheme)
	}
	if u.Opaque != "" {
		return "", errors.New("crawler: url has no host (missing \"//\" after the scheme)")
	}
	host, err := canonicalHost(u.Hostname())
	if err != nil {
		return "", err
	}
	port, err := canonicalPort(scheme, u.Port())
	if err != nil {
		return "", err
	}

	var b strings.Builder
	b.Grow(len(u.Host) + len(u.RawPath) + len(u.Path) + len(u.RawQuery) + 16)
	b.WriteString(scheme)
	b.WriteString("://")
	if u.User != nil {
		// Kept: credentials select a different resource on some servers.
		b.WriteString(u.User.String())
		b.WriteByte('@')
	}
	if strings.Contains(host, ":") {
		b.WriteByte('[')
		b.WriteString(host)
		b.WriteByte(']')
	} else {
		b.WriteString(host)
	}
	if port != "" {
		b.WriteByte(':')
		b.WriteString(port)
	}
	path := removeDotSegments(normalizeEscapes(u.EscapedPath(), false))
	if path == "" {
		path = "/"
	}
	b.WriteString(path)
	if u.ForceQuery || u.RawQuery != "" {
		b.WriteByte('?')
		b.WriteString(normalizeEscapes(u.RawQuery, true))
	}
	return b.String(), nil
}

// hostProfile converts internationalised host names to punycode. It is lenient
// about characters such as "_" that real hosts use although STD3 forbids them.
func hostProfile() *idna.Profile {
	return idna.New(idna.MapForLookup(), idna.StrictDomainName(false), idna.Transitional(false))
}

// canonicalHost lower-cases a host name and converts IDNs to punycode.
func canonicalHost(h string) (string, error) {
	if h == "" {
		return "", errors.New("crawler: url has an empty host")
	}
	if strings.Contains(h, ":") { // IPv6 literal; a zone's "%" must stay escaped
		return strings.ReplaceAll(strings.ToLower(h), "%", "%25"), nil
	}
	ascii := true
	for i := 0; i < len(h); i++ {
		if h[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if !ascii {
		a, err := hostProfile().ToASCII(h)
		if err != nil {
			return "", fmt.Errorf("crawler: invalid international host name %q: %w", h, err)
		}
		h = a
	}
	if h == "" {
		return "", errors.New("crawler: url has an empty host")
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !pct.IsUnreserved(c) && !strings.ContainsRune("!$&'()*+,;=", rune(c)) {
			return "", fmt.Errorf("crawler: invalid character %q in host %q", c, h)
		}
	}
	return strings.ToLower(h), nil
}

// canonicalPort returns the port to keep: "" for the scheme's default port,
// else the number without leading zeros.
func canonicalPort(scheme, p string) (string, error) {
	if p == "" {
		return "", nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("crawler: invalid port %q", p)
	}
	if n == defaultPort(scheme) {
		return "", nil
	}
	return strconv.Itoa(n), nil
}

// defaultPort is the port a scheme implies, 0 if unknown.
func defaultPort(scheme string) int {
	switch strings.ToLower(scheme) {
	case "http":
		return 80
	case "https":
		return 443
	}
	return 0
}

// isAllowed reports whether c may appear literally in a path (or query, when
// query is true). Reserved characters are kept as they are because encoding or
// decoding them changes the meaning for the server.
func isAllowed(c byte, query bool) bool {
	if pct.IsUnreserved(c) {
		return true
	}
	switch c {
	case '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@', '/':
		return true
	case '?':
		return query
	}
	return false
}

const upperHex = "0123456789ABCDEF"

// normalizeEscapes decodes percent-encoded unreserved characters, upper-cases
// the hex of the other escapes, encodes a "%" that starts no valid escape, and
// encodes every byte that may not appear literally.
func normalizeEscapes(s string, query bool) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			hi, ok1 := pct.Unhex(s[i+1])
			lo, ok2 := pct.Unhex(s[i+2])
			if ok1 && ok2 {
				d := hi<<4 | lo
				if pct.IsUnreserved(d) {
					b.WriteByte(d)
				} else {
					b.WriteByte('%')
					b.WriteByte(upperHex[d>>4])
					b.WriteByte(upperHex[d&15])
				}
				i += 2
				continue
			}
		}
		if c != '%' && isAllowed(c, query) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
	return b.String()
}

// removeDotSegments is RFC 3986 section 5.2.4 on an absolute path.
func removeDotSegments(p string) string {
	if !strings.Contains(p, ".") {
		return p
	}
	in := p
	out := make([]string, 0, strings.Count(p, "/")+1)
	// Work segment by segment: every segment but the first starts with "/".
	segs := strings.Split(in, "/")
	// segs[0] is "" for an absolute path; a relative path cannot reach here
	// because an http URL with a host always has an absolute or empty path.
	trailing := false
	for i, s := range segs {
		if i == 0 {
			continue
		}
		last := i == len(segs)-1
		switch s {
		case ".":
			trailing = last
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			trailing = last
		default:
			out = append(out, s)
			trailing = false
		}
	}
	res := "/" + strings.Join(out, "/")
	if trailing && !strings.HasSuffix(res, "/") {
		res += "/"
	}
	return res
}

// Resolve resolves a link found on the page at base. It trims the spaces
// around the reference and drops tabs and newlines inside it, as browsers do,
// treats "\" as "/" before the query, and rejects with a readable reason
// links that cannot be crawled: javascript:, data:, mailto:, tel: and other
// non-HTTP schemes, empty and fragment-only links. The fragment is kept; use
// [Canonical] for the frontier key.
func Resolve(base *url.URL, ref string) (*url.URL, error) {
	ref = cleanRef(ref)
	if ref == "" {
		return nil, errors.New("crawler: empty link")
	}
	if ref[0] == '#' {
		return nil, errors.New("crawler: fragment-only link (same page)")
	}
	if scheme, ok := refScheme(ref); ok {
		if err := schemeRejection(scheme); err != nil {
			return nil, err
		}
	}
	if base == nil {
		return nil, errors.New("crawler: no base url to resolve against")
	}
	u, err := base.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("crawler: unparsable link: %w", err)
	}
	if err := schemeRejection(u.Scheme); err != nil {
		return nil, err
	}
	if u.Host == "" {
		return nil, errors.New("crawler: link has an empty host")
	}
	return u, nil
}

// cleanRef strips what browsers strip from an href: leading and trailing C0
// controls and spaces, and every tab and newline; backslashes before the
// query or fragment become slashes (http URLs only, as the URL standard says).
func cleanRef(ref string) string {
	ref = strings.TrimFunc(ref, func(r rune) bool { return r <= ' ' })
	if strings.ContainsAny(ref, "\t\n\r") {
		ref = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(ref)
	}
	if strings.Contains(ref, `\`) {
		scheme, hasScheme := refScheme(ref)
		if !hasScheme || scheme == "http" || scheme == "https" {
			end := strings.IndexAny(ref, "?#")
			if end < 0 {
				end = len(ref)
			}
			ref = strings.ReplaceAll(ref[:end], `\`, "/") + ref[end:]
		}
	}
	return ref
}

// refScheme returns the lower-cased scheme of an absolute reference.
func refScheme(ref string) (string, bool) {
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.':
			if i == 0 {
				return "", false
			}
		case c == ':':
			if i == 0 {
				return "", false
			}
			return strings.ToLower(ref[:i]), true
		default:
			return "", false
		}
	}
	return "", false
}

// schemeRejection explains why a scheme is not crawled, nil for http(s).
func schemeRejection(scheme string) error {
	switch s := strings.ToLower(scheme); s {
	case "http", "https":
		return nil
	case "javascript", "data", "mailto", "tel", "sms", "about", "blob":
		return fmt.Errorf("crawler: %s: link", s)
	case "":
		return errors.New("crawler: link has no scheme")
	default:
		return fmt.Errorf("crawler: unsupported scheme %s: (only http and https are crawled)", s)
	}
}

// HostKey returns "scheme://host:port" with the port always explicit: the
// unit of politeness and of robots.txt. Scheme and host are lower-cased.
func HostKey(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		if p := defaultPort(scheme); p != 0 {
			port = strconv.Itoa(p)
		}
	}
	host := strings.ToLower(u.Hostname())
	if port == "" {
		if strings.Contains(host, ":") {
			return scheme + "://[" + host + "]"
		}
		return scheme + "://" + host
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// SameSite reports whether a and b are on the same site: the same host,
// ignoring case and one leading "www.", and the same port. A scheme's default
// port counts as no port, so http://example.com and https://www.example.com
// are the same site while http://127.0.0.1:8080 and http://127.0.0.1:8081 are
// not (test fixtures differ only by port).
func SameSite(a, b *url.URL) bool {
	if a == nil || b == nil {
		return false
	}
	return siteHost(a.Hostname()) == siteHost(b.Hostname()) && sitePort(a) == sitePort(b)
}

// siteHost lower-cases h and drops one leading "www.".
func siteHost(h string) string {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	return strings.TrimPrefix(h, "www.")
}

// sitePort returns u's port, "" when it is the scheme's default.
func sitePort(u *url.URL) string {
	p := u.Port()
	if p == "" {
		return ""
	}
	if n, err := strconv.Atoi(p); err == nil && n == defaultPort(u.Scheme) {
		return ""
	}
	return strings.TrimLeft(p, "0")
}

// sessionParams are query parameters (lower-cased) that carry a session id.
// A site that puts a fresh one in every link makes each page look new to a
// crawler: an endless trap. "sid" and "s" are too common as ordinary
// parameters to strip on the name alone: they count only when their value
// looks like a token (see sessionValue).
var sessionParams = map[string]bool{
	"phpsessid": true, "jsessionid": true, "sessionid": true, "session_id": true,
	"sessid": true, "aspsessionid": true, "cfid": true, "cftoken": true,
	"oscsid": true, "zenid": true, "sid": false, "s": false,
}

// sessionValue reports whether v looks like a session token: 16 or more
// letters and digits, mixed or hexadecimal.
func sessionValue(v string) bool {
	if len(v) < 16 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// StripSessionIDs removes session ids from a canonical URL: query
// parameters such as PHPSESSID, jsessionid and ASPSESSIONIDxxxx, and the
// ";jsessionid=..." path parameter of Java servers. It returns the URL
// without them and the names it removed (none: the URL unchanged). The rest
// of the query keeps its order and spelling.
func StripSessionIDs(canonical string) (string, []string) {
	var removed []string
	u := canonical
	rest := ""
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u, rest = canonical[:i], canonical[i+1:]
	}
	// ;jsessionid=XYZ in the path, up to the next "/" or the end.
	if i := strings.Index(strings.ToLower(u), ";jsessionid="); i >= 0 {
		end := strings.IndexByte(u[i+1:], '/')
		if end < 0 {
			u = u[:i]
		} else {
			u = u[:i] + u[i+1+end:]
		}
		removed = append(removed, "jsessionid")
	}
	if rest == "" {
		if len(removed) == 0 {
			return canonical, nil
		}
		if strings.HasSuffix(canonical, "?") {
			return u + "?", removed
		}
		return u, removed
	}
	var kept []string
	for _, kv := range strings.Split(rest, "&") {
		name, val, _ := strings.Cut(kv, "=")
		ln := strings.ToLower(name)
		always, known := sessionParams[ln]
		if strings.HasPrefix(ln, "aspsessionid") {
			always, known = true, true
		}
		if known && (always || sessionValue(val)) {
			removed = append(removed, name)
			continue
		}
		kept = append(kept, kv)
	}
	if len(removed) == 0 {
		return canonical, nil
	}
	if len(kept) == 0 {
		return u, removed
	}
	return u + "?" + strings.Join(kept, "&"), removed
}
