package crawler

import (
	"hash/maphash"
	"net/url"
	"strings"
	"sync"

	whatwg "github.com/nlnwa/whatwg-url/url"
)

// linkParser parses as colly's Request.AbsoluteURL does. A parser holds
// only its options and is never written after it is made, so every page
// and worker can share one (the package's own Parse shares its default).
var linkParser = whatwg.NewParser(whatwg.WithPercentEncodeSinglePercentSign())

// pageResolver returns the function that makes a page's references
// absolute: against its first <base href> when hasBase (and that href is
// usable), else against base; ok is false when base itself cannot be
// parsed, and then the page yields no links. The function is for one
// goroutine: it reuses a buffer from call to call.
func pageResolver(base *url.URL, baseHref string, hasBase bool) (abs func(string) string, ok bool) {
	// References are resolved as colly's Request.AbsoluteURL does (the
	// WHATWG parser with colly's options), but the base is parsed once per
	// page: AbsoluteURL re-parses it for every link, which was the largest
	// single cost of a crawl in the profile.
	resolver, err := linkParser.Parse(base.String())
	if err != nil {
		return nil, false
	}
	if hasBase {
		if href := strings.TrimSpace(baseHref); href != "" && !strings.HasPrefix(href, "#") {
			if bu, err := resolver.Parse(href); err == nil {
				resolver = bu
			}
		}
	}
	return resolveAgainst(resolver), true
}

// resolveAgainst is pageResolver's function for a parsed base.
func resolveAgainst(resolver *whatwg.Url) func(string) string {
	scope := newResolveScope(resolver)
	var key []byte // the page's keys are built here: a lookup allocates nothing
	return func(ref string) string {
		if ref == "" {
			return ""
		}
		if ref[0] == '#' {
			return ref // colly gives "" for fragment-only links: kept as written
		}
		if canonicalAbsolute(ref) {
			return ref
		}
		var cacheable bool
		key, cacheable = scope.key(key[:0], ref)
		if cacheable {
			if a, ok := resolved.get(key); ok {
				return a
			}
		}
		a := ref
		if u, err := resolver.Parse(ref); err == nil {
			a = u.Href(false)
		}
		if cacheable {
			resolved.put(key, a)
		}
		return a
	}
}

// resolved memoises link resolutions: a site's navigation, sidebars and
// footers repeat the same links on every page, and the WHATWG parser was
// the largest cost of ExtractLinks. A key holds everything of the base
// and the reference that the parser reads for that reference (see
// resolveScope.key), so a cached answer is the one the parser would give.
var resolved = newResolveCache()

// resolvedMax bounds the cache; a full shard starts again empty, which
// costs a few re-parses and keeps memory flat on a crawl of any size.
const resolvedMax = 1 << 14

// resolvedMaxRef is the longest reference cached: data: URLs and the like
// are rarely repeated, and would make the bound on entries a poor bound on
// memory.
const resolvedMaxRef = 1 << 10

// resolveShards spreads the cache over locks: several workers extract
// links at once, and one lock taken for every link would serialise them.
const resolveShards = 32

type resolveCache struct {
	seed   maphash.Seed
	shards [resolveShards]resolveShard
}

type resolveShard struct {
	mu sync.Mutex
	m  map[string]string
	_  [64 - 16]byte // a shard's lock on a cache line of its own
}

func newResolveCache() *resolveCache {
	c := &resolveCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = make(map[string]string)
	}
	return c
}

func (c *resolveCache) shard(k []byte) *resolveShard {
	return &c.shards[maphash.Bytes(c.seed, k)%resolveShards]
}

func (c *resolveCache) get(k []byte) (string, bool) {
	s := c.shard(k)
	s.mu.Lock()
	v, ok := s.m[string(k)]
	s.mu.Unlock()
	return v, ok
}

func (c *resolveCache) put(k []byte, v string) {
	s := c.shard(k)
	s.mu.Lock()
	if len(s.m) >= resolvedMax/resolveShards {
		clear(s.m)
	}
	s.m[string(k)] = v
	s.mu.Unlock()
}

// reset empties the cache, for tests that need it cold.
func (c *resolveCache) reset() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.m)
		s.mu.Unlock()
	}
}

// resolveScope is what of a page's base the cache keys hold: the parts of
// "scheme://host:port/path" that each kind of reference reads. Its zero
// value caches nothing.
type resolveScope struct {
	all    string // "https://host:port/dir/name": the base without query or fragment
	scheme int    // len("https:")
	host   int    // len("https://host:port")
	dir    int    // len("https://host:port/dir/"), or host when the path is empty
}

// newResolveScope returns base's scope, or the zero scope when base has
// user info (which the parser copies into relative references) or is not
// http(s).
func newResolveScope(base *whatwg.Url) resolveScope {
	p := base.Protocol()
	if (p != "http:" && p != "https:") || base.Username() != "" || base.Password() != "" {
		return resolveScope{}
	}
	all := p + "//" + base.Host() + base.Pathname()
	if strings.IndexByte(all, 0) >= 0 {
		return resolveScope{} // a NUL would make keys ambiguous (the parser encodes it anyway)
	}
	host := len(p) + 2 + len(base.Host())
	return resolveScope{all: all, scheme: len(p), host: host, dir: host + strings.LastIndexByte(all[host:], '/') + 1}
}

// key appends to dst the cache key of ref against a base of scope s, and
// reports whether ref's resolution is a function of that key alone.
//
// The WHATWG parser first trims C0 controls and spaces from the ends of a
// reference and deletes its tabs and newlines, and reads a backslash as a
// slash in http(s): a reference with any of those is left to the parser
// every time, so below, each byte of ref is the code point the parser
// reads. Against an http(s) base without user info, the parser then reads
//   - for "http://..." or "https://...", and for a scheme that is not
//     special ("mailto:", "javascript:", "data:" ...): nothing of the base;
//   - for "//authority...": the base's scheme;
//   - for a path-absolute "/path": its scheme, host and port;
//   - for "?query": its scheme, host, port and whole path (not its query);
//   - for a path-relative "a/../b" or "../x": its scheme, host, port and
//     directory, of which the ".." segments of ref drop the last ones
//     before anything of ref is added; so the key holds only the segments
//     that survive, and every page of a site shares "../../tag/x/" once
//     they are at the same depth below the same ancestor.
//
// Each kind has its own tag byte, and a NUL (which neither a reference
// here nor a scope holds) ends the part of the base, so no two kinds or
// bases share a key. Anything else (a special scheme other than
// "http(s)://", a reference that long) is left to the parser.
func (s resolveScope) key(dst []byte, ref string) ([]byte, bool) {
	if s.all == "" || ref == "" || len(ref) > resolvedMaxRef || ref[0] == ' ' || ref[len(ref)-1] == ' ' {
		return dst, false
	}
	for i := 0; i < len(ref); i++ {
		if c := ref[i]; c < ' ' || c == '\\' {
			return dst, false
		}
	}
	var tag byte
	var part string
	switch ref[0] {
	case '#':
		return dst, false // reads the base's query too; ExtractLinks keeps these as written
	case '?':
		tag, part = 'q', s.all
	case '/':
		if len(ref) > 1 && ref[1] == '/' {
			tag, part = 's', s.all[:s.scheme]
		} else {
			tag, part = 'p', s.all[:s.host]
		}
	default:
		if n := schemeLen(ref); n > 0 {
			if !baseFree(ref[:n], ref[n+1:]) {
				return dst, false
			}
			tag = 'a'
		} else {
			tag, part = 'r', s.all[:s.dirAbove(dirPops(ref))]
		}
	}
	dst = append(dst, tag)
	dst = append(dst, part...)
	dst = append(dst, 0)
	return append(dst, ref...), true
}

// dirAbove returns the length of the part of s.all that keeps all but the
// last pops segments of the base's directory (the segments before the
// base path's last "/"; none are kept when there are fewer).
func (s resolveScope) dirAbove(pops int) int {
	if pops == 0 || s.dir == s.host {
		return s.dir
	}
	// The directory is "/" followed by one "seg/" per segment: keep the
	// first slash and as many segments as survive.
	segs := strings.Count(s.all[s.host:s.dir], "/") - 1
	keep := max(segs-pops, 0)
	end := s.host + 1
	for ; keep > 0; keep-- {
		end += strings.IndexByte(s.all[end:], '/') + 1
	}
	return end
}

// schemeLen returns the length of ref's scheme when it starts with one
// (the parser's "scheme state": an ASCII letter, then letters, digits,
// "+", "-" or ".", then ":"), else 0.
func schemeLen(ref string) int {
	if c := ref[0] | 0x20; c < 'a' || c > 'z' {
		return 0
	}
	for i := 1; i < len(ref); i++ {
		switch c := ref[i]; {
		case c == ':':
			return i
		case 'a' <= c|0x20 && c|0x20 <= 'z', '0' <= c && c <= '9', c == '+', c == '-', c == '.':
		default:
			return 0
		}
	}
	return 0
}

// baseFree reports whether the parser reads nothing of an http(s) base
// for a reference with this scheme, followed by rest: a scheme that is not
// special never reads the base, and "http:" or "https:" reads it unless
// "//" and an authority follow (it is "http:x", relative to an http base).
// The other special schemes are left to the parser.
func baseFree(scheme, rest string) bool {
	switch {
	case strings.EqualFold(scheme, "http"), strings.EqualFold(scheme, "https"):
		return strings.HasPrefix(rest, "//")
	case strings.EqualFold(scheme, "ws"), strings.EqualFold(scheme, "wss"),
		strings.EqualFold(scheme, "ftp"), strings.EqualFold(scheme, "file"):
		return false
	}
	return true
}

// dirPops returns how many segments of the base's directory the path of a
// path-relative ref removes: the parser's path state appends each segment
// and drops the last one at each ".." (or its percent-encoded forms), so
// the ones it drops beyond those ref appended come from the directory.
func dirPops(ref string) (pops int) {
	if end := strings.IndexAny(ref, "?#"); end >= 0 {
		ref = ref[:end]
	}
	if strings.IndexByte(ref, '.') < 0 && !strings.Contains(ref, "%2") {
		return 0 // no dot segment at all: the common case
	}
	pushed := 0
	for seg, rest, more := "", ref, true; more; {
		seg, rest, more = strings.Cut(rest, "/")
		switch {
		case isDotDot(seg):
			if pushed > 0 {
				pushed--
			} else {
				pops++
			}
		case isDot(seg):
		default:
			pushed++
		}
	}
	return pops
}

// isDot and isDotDot are the parser's single- and double-dot path segment
// tests, on a segment as written: the parser percent-encodes neither "."
// nor a valid "%2e", and nothing else becomes one.
func isDot(seg string) bool { return seg == "." || strings.EqualFold(seg, "%2e") }

func isDotDot(seg string) bool {
	switch len(seg) {
	case 2:
		return seg == ".."
	case 4:
		return strings.EqualFold(seg, ".%2e") || strings.EqualFold(seg, "%2e.")
	case 6:
		return strings.EqualFold(seg, "%2e%2e")
	}
	return false
}

// canonicalAbsolute reports whether ref is an absolute http or https URL
// that the WHATWG parser gives back unchanged, whatever the base: a
// lower-case scheme and host name, a port that is not the default, a path
// and query of characters no percent-encode set holds, no dot segments.
// Absolute links to a site's own articles are most of a news page's links
// and are rarely repeated from page to page, so the resolution cache did
// not spare their parse, which was 5% of a crawl's CPU at 100,000 pages.
// It says no to anything it is unsure of; the parser then answers.
func canonicalAbsolute(ref string) bool {
	var rest string
	switch {
	case strings.HasPrefix(ref, "http://"):
		rest = ref[len("http://"):]
	case strings.HasPrefix(ref, "https://"):
		rest = ref[len("https://"):]
	default:
		return false
	}
	end := strings.IndexByte(rest, '/')
	if end < 0 {
		return false // the parser adds the path "/"
	}
	host, port, hasPort := strings.Cut(rest[:end], ":")
	if !canonicalHostName(host) {
		return false
	}
	if hasPort {
		if port == "" || len(port) > 5 || port[0] == '0' || port == "80" || port == "443" {
			return false // empty, leading zeros and default ports are rewritten
		}
		n := 0
		for i := 0; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return false
			}
			n = n*10 + int(port[i]-'0')
		}
		if n > 65535 {
			return false
		}
	}
	inPath := true
	seg := end + 1 // start of the current path segment in rest
	for i := end + 1; i <= len(rest); i++ {
		var c byte = '/'
		if i < len(rest) {
			c = rest[i]
		}
		if inPath && (c == '/' || c == '?' || c == '#') {
			if s := rest[seg:i]; s == "." || s == ".." {
				return false // dot segments are removed
			}
			seg = i + 1
			if c != '/' {
				inPath = false
			}
			continue
		}
		if i == len(rest) {
			break
		}
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~!$&()*+,;=:@/?#", c) >= 0:
		case c == '%':
			if i+2 >= len(rest) || !isHex(rest[i+1]) || !isHex(rest[i+2]) {
				return false
			}
			if inPath && (rest[i+1] == '2' && (rest[i+2] == 'e' || rest[i+2] == 'E')) {
				return false // %2e may make a dot segment
			}
		default:
			return false // quotes, spaces, brackets, backslashes, controls, non-ASCII
		}
	}
	return true
}

// canonicalHostName reports whether host is a domain name the WHATWG host
// parser keeps as it is: lower-case ASCII letters, digits and inner
// hyphens, non-empty labels, no punycode, and a last label that does not
// start with a digit (which would make it an IPv4 address to parse).
func canonicalHostName(host string) bool {
	if host == "" || len(host) > 253 {
		return false
	}
	label := 0 // start of the current label
	for i := 0; i <= len(host); i++ {
		if i == len(host) || host[i] == '.' {
			l := host[label:i]
			if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' || strings.HasPrefix(l, "xn--") {
				return false
			}
			if i == len(host) && '0' <= l[0] && l[0] <= '9' {
				return false
			}
			label = i + 1
			continue
		}
		c := host[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
