package replay

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/amberarchive/amber/internal/pct"
)

// tsLayout is the 14-digit Wayback timestamp, UTC.
const tsLayout = "20060102150405"

// maxTargetLen caps the archived URL a request may name.
const maxTargetLen = 8 << 10

// Modifiers, as in pywb. Only id_ changes what is served (the original
// bytes); the others say where a link was found, which decides the banner
// (pages only) and is kept on the links of the resource itself.
const (
	modPage   = ""    // a page: rewritten, with the banner
	modMain   = "mp_" // same as a page
	modRaw    = "id_" // the original bytes, unrewritten, no banner
	modFrame  = "if_" // rewritten, no banner (iframes, or a reader who wants none)
	modFrame2 = "fr_" // same as if_
	modImage  = "im_" // image
	modCSS    = "cs_" // stylesheet
	modJS     = "js_" // script
	modEmbed  = "oe_" // object, embed, audio, video
)

var knownMods = map[string]bool{
	modMain: true, modRaw: true, modFrame: true, modFrame2: true,
	modImage: true, modCSS: true, modJS: true, modEmbed: true,
}

// kind is what a /web/ request asks for.
type kind int

const (
	kindMemento kind = iota // /web/TS[mod]/URL: the capture closest to TS
	kindLatest              // /web/URL: TimeGate (Accept-Datetime) or the latest capture
	kindList                // /web/*/URL or /web/*/URL*: the captures of a URL or prefix
)

// target is a parsed /web/ request.
type target struct {
	Kind   kind
	TS     string    // the timestamp as given: 1 to 14 digits ("" for kindLatest and kindList)
	Time   time.Time // TS padded to 14 digits (earliest instant it names), UTC
	Mod    string    // modifier: "", "id_", "im_", ...
	URL    string    // the archived URL, absolute, scheme http or https
	Prefix bool      // kindList only: URL is a prefix (it ended in '*')
}

// errBadRequest is wrapped by every parse error; the server answers 400.
var errBadRequest = errors.New("replay: bad request")

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}

// parseReplayURL parses what follows "/web/" in a request target (path and
// query, as sent): "TS[mod]/URL", "*/URL", "*/URL*" or "URL". The archived
// URL keeps its own query; a missing scheme means http, and "http:/host"
// (a slash folded by some clients) is mended.
func parseReplayURL(rest string) (target, error) {
	var t target
	if len(rest) > maxTargetLen+32 {
		return t, badRequest("url longer than %d bytes", maxTargetLen)
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c < 0x20 || c == 0x7f {
			return t, badRequest("control character in url")
		}
	}
	seg, after, hasSlash := strings.Cut(rest, "/")
	switch {
	case seg == "*" && hasSlash:
		t.Kind = kindList
		rest = after
		if strings.HasSuffix(rest, "*") {
			t.Prefix = true
			rest = strings.TrimSuffix(rest, "*")
		}
	case hasSlash && isTimestampSegment(seg):
		ts, mod := splitMod(seg)
		if len(ts) > 14 {
			return t, badRequest("timestamp %q longer than 14 digits", ts)
		}
		if mod != "" && !knownMods[mod] {
			return t, badRequest("unknown modifier %q", mod)
		}
		if ts == "" {
			t.Kind = kindLatest
		} else {
			tm, err := parseTimestamp(ts)
			if err != nil {
				return t, err
			}
			t.Kind, t.TS, t.Time = kindMemento, ts, tm
		}
		t.Mod = mod
		rest = after
	default:
		t.Kind = kindLatest
	}
	u, err := parseArchivedURL(rest, t.Prefix)
	if err != nil {
		return t, err
	}
	t.URL = u
	return t, nil
}

// isTimestampSegment reports whether seg looks like "DIGITS", "DIGITSmod_"
// or "mod_" (a modifier alone, for the latest capture).
func isTimestampSegment(seg string) bool {
	ts, mod := splitMod(seg)
	if ts == "" && mod == "" {
		return false
	}
	for i := 0; i < len(ts); i++ {
		if ts[i] < '0' || ts[i] > '9' {
			return false
		}
	}
	return true
}

// splitMod splits "20160512im_" into "20160512" and "im_".
func splitMod(seg string) (ts, mod string) {
	if n := len(seg); n >= 3 && seg[n-1] == '_' && isLower(seg[n-2]) && isLower(seg[n-3]) {
		return seg[:n-3], seg[n-3:]
	}
	return seg, ""
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }

// parseTimestamp pads a 1- to 14-digit timestamp to the earliest instant it
// names ("2016" is 2016-01-01 00:00:00 UTC) and checks that it is a real
// date and time.
func parseTimestamp(ts string) (time.Time, error) {
	const pad = "00000101000000"
	if ts == "" || len(ts) > 14 {
		return time.Time{}, badRequest("timestamp %q is not 1 to 14 digits", ts)
	}
	for i := 0; i < len(ts); i++ {
		if ts[i] < '0' || ts[i] > '9' {
			return time.Time{}, badRequest("timestamp %q is not 1 to 14 digits", ts)
		}
	}
	full := ts + pad[len(ts):]
	if len(ts) < 4 {
		// A year needs four digits; "2" is not the year 2000.
		return time.Time{}, badRequest("timestamp %q: give at least the year (YYYY)", ts)
	}
	tm, err := time.ParseInLocation(tsLayout, full, time.UTC)
	if err != nil {
		return time.Time{}, badRequest("timestamp %q is not a valid date and time (YYYYMMDDhhmmss)", ts)
	}
	return tm, nil
}

// timestamp formats t as a 14-digit Wayback timestamp.
func timestamp(t time.Time) string { return t.UTC().Format(tsLayout) }

// parseArchivedURL checks and completes the archived URL named in a request.
// A prefix may stop anywhere, even inside the host.
func parseArchivedURL(s string, prefix bool) (string, error) {
	if s == "" {
		return "", badRequest("no url after the timestamp")
	}
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
	case strings.HasPrefix(lower, "http:/"), strings.HasPrefix(lower, "https:/"):
		i := strings.IndexByte(s, ':')
		s = s[:i] + ":/" + s[i+1:]
	case strings.HasPrefix(lower, "//"):
		s = "http:" + s
	default:
		if i := strings.Index(s, "://"); i >= 0 && !strings.ContainsAny(s[:i], "/?#") {
			return "", badRequest("only http and https urls are archived, not %q", s[:i])
		}
		s = "http://" + s
	}
	if len(s) > maxTargetLen {
		return "", badRequest("url longer than %d bytes", maxTargetLen)
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", badRequest("unparsable url")
	}
	if u.Host == "" && !prefix {
		return "", badRequest("url has no host")
	}
	if !prefix && !validHost(u.Hostname()) {
		return "", badRequest("url has no valid host")
	}
	if u.User != nil && !prefix {
		// Credentials are never archived; a URL with them is a trick.
		return "", badRequest("url with user info")
	}
	// Keep the scheme and host as typed for exact matching, lower-cased.
	i := strings.Index(s, "://")
	scheme := asciiLower(s[:i])
	rest := s[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host := asciiLower(rest[:end])
	rest = rest[end:]
	if j := strings.IndexByte(rest, '#'); j >= 0 {
		rest = rest[:j]
	}
	if rest == "" && !prefix {
		rest = "/"
	}
	return scheme + "://" + host + rest, nil
}

// path returns the request path of t, the inverse of parseReplayURL.
func (t target) path() string {
	switch t.Kind {
	case kindList:
		s := "/web/*/" + t.URL
		if t.Prefix {
			s += "*"
		}
		return s
	case kindLatest:
		if t.Mod != "" {
			return "/web/" + t.Mod + "/" + t.URL
		}
		return "/web/" + t.URL
	default:
		return "/web/" + t.TS + t.Mod + "/" + t.URL
	}
}

// canonical returns the form of an absolute URL that the crawler stores:
// lower-case scheme and host, no default port, empty path as "/",
// unreserved percent-escapes decoded and hex upper-cased, no fragment. It
// returns s unchanged when it does not parse.
func canonical(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Host)
	if p := u.Port(); (u.Scheme == "http" && p == "80") || (u.Scheme == "https" && p == "443") {
		host = strings.TrimSuffix(host, ":"+p)
	}
	path := normalizeEscapes(u.EscapedPath())
	if path == "" {
		path = "/"
	}
	out := u.Scheme + "://" + host + path
	if u.RawQuery != "" || u.ForceQuery {
		out += "?" + normalizeEscapes(u.RawQuery)
	}
	return out
}

// normalizeEscapes decodes percent-escapes of unreserved characters and
// upper-cases the hex of the others.
func normalizeEscapes(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			h, ok1 := pct.Unhex(s[i+1])
			l, ok2 := pct.Unhex(s[i+2])
			if ok1 && ok2 {
				c := h<<4 | l
				if pct.IsUnreserved(c) {
					b.WriteByte(c)
				} else {
					b.WriteByte('%')
					b.WriteString(strings.ToUpper(s[i+1 : i+3]))
				}
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// variants lists the URLs under which u may have been archived, most
// likely first: as given, canonical, the other scheme, with or without
// "www.".
func variants(u string) []string {
	out := make([]string, 0, 6)
	add := func(s string) {
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	add(u)
	c := canonical(u)
	add(c)
	other := ""
	switch {
	case strings.HasPrefix(c, "http://"):
		other = "https://" + c[len("http://"):]
	case strings.HasPrefix(c, "https://"):
		other = "http://" + c[len("https://"):]
	}
	if other != "" {
		add(other)
	}
	for _, s := range []string{c, other} {
		if s == "" {
			continue
		}
		i := strings.Index(s, "://") + 3
		if strings.HasPrefix(s[i:], "www.") {
			add(s[:i] + s[i+4:])
		} else {
			add(s[:i] + "www." + s[i:])
		}
	}
	return out
}

// resourceKey identifies a resource the way capture keys do (scheme and
// "www." ignored, fragment dropped): two URLs with one key are the same
// resource, so a redirect from one to the other is a self-redirect.
func resourceKey(s string) string {
	c := canonical(s)
	if i := strings.Index(c, "://"); i >= 0 {
		c = c[i+3:]
	}
	return strings.TrimPrefix(c, "www.")
}

// asciiLower lower-cases ASCII letters only, leaving other bytes (even
// invalid UTF-8) as they are.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// validHost reports whether h (without port) can be a host name or an IP
// address: letters, digits, '-', '_', '.', ':' (IPv6), '%' (IDN escapes),
// and not only dots.
func validHost(h string) bool {
	letters := false
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c >= 0x80:
			letters = true
		case c == '-' || c == '_' || c == '.' || c == ':' || c == '%':
		default:
			return false
		}
	}
	return letters
}
