package warc

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/amberarchive/amber/internal/pct"
)

// Session-id patterns stripped by the IA canonicaliser (surt's
// URLRegexTransformer). Compiled regexps are immutable and safe to share.
var (
	querySessionIDs = []*regexp.Regexp{
		regexp.MustCompile(`(?i)^(.*)(?:jsessionid=[0-9a-z]{32})(?:&(.*))?$`),
		regexp.MustCompile(`(?i)^(.*)(?:phpsessid=[0-9a-z]{32})(?:&(.*))?$`),
		regexp.MustCompile(`(?i)^(.*)(?:sid=[0-9a-z]{32})(?:&(.*))?$`),
		regexp.MustCompile(`(?i)^(.*)(?:aspsessionid[a-z]{8}=[a-z]{24})(?:&(.*))?$`),
		regexp.MustCompile(`(?i)^(.*)(?:cfid=[^&]+&cftoken=[^&]+)(?:&(.*))?$`),
	}
	pathSessionIDs = []*regexp.Regexp{
		regexp.MustCompile(`(?i)^(.*/)(\((?:[a-z]\([0-9a-z]{24}\))+\)/)([^\?]+\.aspx.*)$`),
		regexp.MustCompile(`(?i)^(.*/)(\([0-9a-z]{24}\)/)([^\?]+\.aspx.*)$`),
	}
	wwwPrefix = regexp.MustCompile(`^www\d*\.`)
)

// hasScheme reports whether s starts with a URI scheme and its colon,
// as `^[a-zA-Z][a-zA-Z0-9+\-.]*:` matches; the regexp cost as much as the
// rest of SURT for a plain URL.
func hasScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return true
		default:
			return false
		}
	}
	return false
}

// dropTabsAndNewlines is built once: building a Replacer per call was a
// visible share of indexing an export.
var dropTabsAndNewlines = strings.NewReplacer("\t", "", "\r", "", "\n", "")

// SURT returns the sort-friendly URI reordering key of rawurl as pywb,
// cdxj-indexer and the Wayback Machine compute it (the `surt` package's
// default IA canonicaliser): scheme, userinfo, fragment and default port
// dropped; host, path and query lowercased; a leading `www\d*.` and session
// ids stripped; query arguments sorted; an empty `?` and a trailing `/`
// (except the root) dropped; host labels reversed and joined by commas,
// then `)`. "http://www.Example.com/A/?b=1&a=2" becomes
// "com,example)/a?a=2&b=1". URIs without an authority (urn:, mailto:) pass
// through lowercased; an empty URL gives "-".
func SURT(rawurl string) (string, error) {
	s := strings.TrimSpace(rawurl)
	if strings.ContainsAny(s, "\t\r\n") {
		s = dropTabsAndNewlines.Replace(s)
	}
	if s == "" {
		return "-", nil
	}
	if strings.HasPrefix(s, "filedesc") {
		return s, nil
	}
	if !hasScheme(s) {
		s = "http://" + s
	}
	// "http://https://host" seen in real crawls: keep the innermost scheme.
	for {
		rest, ok := cutHTTPScheme(s)
		if !ok {
			break
		}
		if _, again := cutHTTPScheme(rest); !again {
			break
		}
		s = rest
	}
	i := strings.IndexByte(s, ':')
	scheme, rest := strings.ToLower(s[:i]), s[i+1:]

	// Fragment goes first, then the query.
	if j := strings.IndexByte(rest, '#'); j >= 0 {
		rest = rest[:j]
	}
	var query string
	hasQuery := false
	if j := strings.IndexByte(rest, '?'); j >= 0 {
		rest, query, hasQuery = rest[:j], rest[j+1:], true
	}

	var authority, path string
	switch {
	case strings.HasPrefix(rest, "//"):
		rest = rest[2:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			authority, path = rest, ""
		} else {
			authority, path = rest[:j], rest[j:]
		}
		if authority == "" && strings.HasPrefix(scheme, "http") {
			// "http:////www.vikings.com": the host hides in the path.
			p := strings.TrimLeft(path, "/")
			host, after, _ := strings.Cut(p, "/")
			authority, path = host, "/"+after
		}
	case scheme == "dns":
		authority = rest
	default:
		// Not hierarchical: keep it, lowercased like the IA tools do.
		out := scheme + ":" + strings.ToLower(rest)
		if hasQuery && query != "" {
			out += "?" + strings.ToLower(query)
		}
		return out, nil
	}

	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		authority = authority[at+1:]
	}
	host, port := authority, ""
	if strings.HasPrefix(host, "[") {
		if j := strings.IndexByte(host, ']'); j >= 0 {
			host, port = host[:j+1], strings.TrimPrefix(host[j+1:], ":")
		}
	} else if j := strings.LastIndexByte(host, ':'); j >= 0 {
		host, port = host[:j], host[j+1:]
	}
	if port != "" {
		if _, err := strconv.Atoi(port); err != nil {
			return "", fmt.Errorf("warc: surt: bad port in %q", rawurl)
		}
		p, _ := strconv.Atoi(port)
		port = strconv.Itoa(p)
		if (scheme == "http" && p == 80) || (scheme == "https" && p == 443) {
			port = ""
		}
	}
	host = canonHost(host)
	// The regexps below run only when the literal text they need is
	// there: most URLs have none, and the regexps were most of SURT's
	// cost. path and query are printable ASCII by then (escapeOnce), so
	// ASCII case folding is all (?i) can do to them.
	if scheme != "dns" && strings.HasPrefix(host, "www") {
		host = wwwPrefix.ReplaceAllString(host, "")
	}

	if scheme != "dns" {
		path = escapeOnce(normalizePath(unescapeRepeatedly(path)))
		path = strings.ToLower(path)
		for _, re := range pathSessionIDs {
			if !strings.Contains(path, ".aspx") {
				break
			}
			if m := re.FindStringSubmatch(path); m != nil {
				path = m[1] + m[3]
			}
		}
		if len(path) > 1 && strings.HasSuffix(path, "/") {
			path = path[:len(path)-1]
		}
	}

	if hasQuery && query != "" {
		query = escapeOnce(unescapeRepeatedly(query))
		if lq := strings.ToLower(query); strings.Contains(lq, "sessionid") || strings.Contains(lq, "sid=") || strings.Contains(lq, "cfid=") {
			for _, re := range querySessionIDs {
				if m := re.FindStringSubmatch(query); m != nil {
					query = m[1] + m[2]
				}
			}
		}
		query = alphaReorderQuery(strings.ToLower(query))
	}

	var b strings.Builder
	labels := strings.Split(host, ".")
	slices.Reverse(labels)
	b.WriteString(strings.Join(labels, ","))
	if port != "" {
		b.WriteString(":" + port)
	}
	b.WriteString(")")
	if path != "" {
		b.WriteString(path)
	} else if query != "" {
		b.WriteString("/")
	}
	if query != "" {
		b.WriteString("?" + query)
	}
	return b.String(), nil
}

// canonHost applies the Google canonicaliser's host rules (unescape,
// collapse "..", trim dots, numeric IPv4 forms, lowercase, escape).
func canonHost(h string) string {
	h = unescapeRepeatedly(h)
	for strings.Contains(h, "..") {
		h = strings.ReplaceAll(h, "..", ".")
	}
	h = strings.Trim(h, ".")
	if h != "" && strings.Trim(h, "0123456789") == "" {
		if n, err := strconv.ParseUint(h, 10, 64); err == nil {
			n &= 0xffffffff
			return fmt.Sprintf("%d.%d.%d.%d", n>>24, n>>16&0xff, n>>8&0xff, n&0xff)
		}
	}
	return escapeOnce(strings.ToLower(h))
}

// normalizePath resolves "." and ".." segments and collapses repeated
// slashes, keeping a trailing slash (GoogleURLCanonicalizer.normalizePath).
func normalizePath(p string) string {
	if p == "" {
		return "/"
	}
	if isNormalPath(p) {
		return p
	}
	parts := strings.Split(p, "/")[1:]
	var kept []string
	for _, s := range parts {
		switch s {
		case ".":
		case "..":
			if len(kept) > 0 {
				kept = kept[:len(kept)-1]
			} else {
				kept = append(kept, s)
			}
		default:
			kept = append(kept, s)
		}
	}
	var b strings.Builder
	b.WriteString("/")
	for i, s := range kept {
		if i == len(kept)-1 {
			b.WriteString(s)
		} else if s != "" {
			b.WriteString(s + "/")
		}
	}
	return b.String()
}

// isNormalPath reports whether normalizePath would return p unchanged:
// it starts with a slash and has no empty (but for a trailing one), "."
// or ".." segment.
func isNormalPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for rest := p[1:]; ; {
		seg, after, more := strings.Cut(rest, "/")
		if seg == "." || seg == ".." || (seg == "" && more) {
			return false
		}
		if !more {
			return true
		}
		rest = after
	}
}

func unescapeOnce(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			hi, ok1 := pct.Unhex(s[i+1])
			lo, ok2 := pct.Unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, hi<<4|lo)
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return string(b)
}

func unescapeRepeatedly(s string) string {
	for {
		u := unescapeOnce(s)
		if u == s {
			return s
		}
		s = u
	}
}

// escapeOnce percent-encodes bytes outside printable ASCII, plus '%' and
// '#', as Python's quote with the canonicaliser's safe set does.
func escapeOnce(s string) string {
	const hexd = "0123456789ABCDEF"
	i := 0
	for i < len(s) && s[i] > 0x20 && s[i] < 0x7f && s[i] != '%' && s[i] != '#' {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || c == '%' || c == '#' {
			b.WriteByte('%')
			b.WriteByte(hexd[c>>4])
			b.WriteByte(hexd[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// alphaReorderQuery sorts query arguments by (name, value) bytewise, with
// "a" before "a=" before "a=x", like the IA canonicaliser.
func alphaReorderQuery(q string) string {
	if len(q) <= 1 {
		return q
	}
	args := strings.Split(q, "&")
	slices.SortStableFunc(args, func(a, b string) int {
		an, av, aok := strings.Cut(a, "=")
		bn, bv, bok := strings.Cut(b, "=")
		if c := strings.Compare(an, bn); c != 0 {
			return c
		}
		if aok != bok {
			if !aok {
				return -1
			}
			return 1
		}
		return strings.Compare(av, bv)
	})
	return strings.Join(args, "&")
}

// cutHTTPScheme strips a leading "http://" or "https://" (any case).
func cutHTTPScheme(s string) (string, bool) {
	l := strings.ToLower(s)
	for _, p := range [...]string{"http://", "https://"} {
		if strings.HasPrefix(l, p) {
			return s[len(p):], true
		}
	}
	return s, false
}
