package crawler

// robots.txt per RFC 9309, built on github.com/temoto/robotstxt.
//
// The split between temoto and our own code:
//
//   - Ours: reading the file. We cap it at [MaxRobotsSize], strip a BOM, split
//     CR, LF and CRLF lines, drop comments, and keep only the lines that parse
//     (RFC 9309 §2.2). temoto instead fails the whole file on one bad line
//     (a "Crawl-delay: 5s", a rule before the first User-agent) and has no
//     size cap.
//   - Ours: group selection and rule matching. temoto picks a group by
//     prefix of the full User-Agent instead of the exact product token, does
//     not anchor wildcard rules at the path start, ranks wildcard rules by the
//     length of its compiled regexp, lets the first of two equal-length rules
//     win instead of Allow, treats `$` as an anchor anywhere, does not
//     normalise percent-encoding, and does not exempt /robots.txt itself.
//     Its rules are unexported, so the matcher needs its own rule table.
//   - temoto: Crawl-delay (float seconds, merged per agent) and Sitemap
//     collection, which it gets right. It parses a canonical copy of the file
//     that we render from our own group structure, so it sees only lines it
//     accepts and exactly the group boundaries RFC 9309 draws.

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/temoto/robotstxt"
)

// MaxRobotsSize is how much of a robots.txt is parsed: RFC 9309 §2.5 asks
// crawlers to parse at least 500 KiB. A fetcher may stop reading there.
const MaxRobotsSize = 500 << 10

// maxCrawlDelaySeconds clamps absurd Crawl-delay values before they reach
// temoto, whose float-to-Duration conversion would overflow. Callers apply
// their own, much lower, cap.
const maxCrawlDelaySeconds = 24 * 60 * 60

// invalidAgent stands in, in the copy given to temoto, for a User-agent line
// whose value holds no product token: the line still opens a group (whose
// rules then apply to nobody), and temoto needs some key for it. It cannot
// collide with a real token, which only has letters, '-' and '_'.
const invalidAgent = "%invalid"

// ProductToken extracts the robots product token from a full User-Agent:
// "amber/0.1 (+https://example.org/contact)" -> "amber". RFC 9309 §2.2.1
// limits a product token to letters, '-' and '_', so the token ends at the
// first other character; the result is empty when the User-Agent does not
// start with one.
func ProductToken(userAgent string) string {
	s := strings.TrimSpace(userAgent)
	i := 0
	for i < len(s) && isProductTokenChar(s[i]) {
		i++
	}
	return s[:i]
}

func isProductTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_'
}

// robotsState is how a robots.txt fetch turned out.
type robotsState int

const (
	robotsParsed      robotsState = iota // 2xx: the rules decide
	robotsAllowAll                       // 4xx: no restrictions
	robotsUnreachable                    // 5xx, network error, odd status: nothing allowed yet
)

// Robots is the robots.txt policy of one scheme://host:port. It is immutable
// once built and safe for concurrent use.
type Robots struct {
	state  robotsState
	reason string // how the fetch turned out, for explanations

	// groups maps a lower-case product token, or "*", to the rules of every
	// group that names it (RFC 9309 §2.2.1: same-agent groups are merged).
	groups map[string][]robotsRule

	// temoto holds the canonical copy's Crawl-delays and Sitemaps; temotoErr
	// is its parse error, which our rendering should never provoke (the fuzz
	// test checks that).
	temoto    *robotstxt.RobotsData
	temotoErr error
}

// robotsRule is one Allow or Disallow line.
type robotsRule struct {
	allow    bool
	pattern  string   // percent-normalised, as matched; its length ranks the rule
	parts    []string // pattern (without a final '$') split at '*'
	anchored bool     // the pattern ends in '$'
	line     int      // in the file, for explanations
	text     string   // "Disallow: /x/", as written
	explain  string   // "Disallow: /x/ (robots.txt line 3, group 'amber')"
}

// NewRobots interprets a robots.txt fetch per RFC 9309 §2.3.1:
//   - fetchErr != nil (network error, timeout, too many redirects): unreachable,
//     everything but /robots.txt disallowed until the caller fetches again;
//   - 2xx: the body is parsed, its first [MaxRobotsSize] bytes only;
//   - 4xx: no restrictions (§2.3.1.3);
//   - 5xx: unreachable (§2.3.1.4);
//   - anything else (1xx, a 3xx the caller did not follow, 0): unreachable,
//     since nothing can be concluded from it. Following up to five
//     redirects (§2.3.1.2) is the caller's job.
func NewRobots(status int, body []byte, fetchErr error) *Robots {
	switch {
	case fetchErr != nil:
		return &Robots{state: robotsUnreachable, reason: fmt.Sprintf("robots.txt unreachable: %v", fetchErr)}
	case status >= 200 && status < 300:
		r := parseRobots(body)
		r.reason = fmt.Sprintf("robots.txt HTTP %d", status)
		return r
	case status == http.StatusTooManyRequests:
		// 429 is a 4xx, which RFC 9309 §2.3.1.3 lets a crawler read as
		// "no restrictions"; but it is the site saying it is overloaded,
		// and crawling everything in answer would be the opposite of
		// polite. Like Google, amber treats it as unreachable: nothing is
		// fetched and robots.txt is asked for again later.
		return &Robots{state: robotsUnreachable, reason: "robots.txt unreachable: HTTP 429 (too many requests)"}
	case status >= 400 && status < 500:
		return &Robots{state: robotsAllowAll, reason: fmt.Sprintf("robots.txt HTTP %d: no restrictions", status)}
	case status >= 500 && status < 600:
		return &Robots{state: robotsUnreachable, reason: fmt.Sprintf("robots.txt unreachable: HTTP %d", status)}
	default:
		return &Robots{state: robotsUnreachable, reason: fmt.Sprintf("robots.txt unreachable: unexpected HTTP status %d", status)}
	}
}

// Unavailable reports whether robots.txt could not be had (5xx, network
// error): everything is disallowed for now and the caller should fetch it
// again later. RFC 9309 §2.3.1.4 calls this state "unreachable".
func (r *Robots) Unavailable() bool { return r.state == robotsUnreachable }

// Reason says how the robots.txt fetch turned out, e.g. "robots.txt
// unreachable: HTTP 503", for logs and reports.
func (r *Robots) Reason() string { return r.reason }

// Test reports whether the product token may fetch the request-target
// pathQuery (path and query, percent-encoded as on the wire), and the rule
// that decided, for explanations: e.g. (false, "Disallow: /private/
// (robots.txt line 4, group 'amber')"). The token is matched exactly and
// case-insensitively; pass [ProductToken] of the User-Agent, not the whole
// User-Agent. The query takes part in the match, in its original order.
func (r *Robots) Test(token, pathQuery string) (allowed bool, rule string) {
	path := normalizeRobotsPath(pathQuery)
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	// RFC 9309 §2.2.2: /robots.txt is implicitly allowed, also while the
	// file is unreachable, since fetching it again is how that state ends.
	if p, _, _ := strings.Cut(path, "?"); p == "/robots.txt" {
		return true, "/robots.txt is always allowed (RFC 9309 §2.2.2)"
	}
	switch r.state {
	case robotsAllowAll:
		return true, r.reason
	case robotsUnreachable:
		return false, r.reason + ": everything disallowed until it is fetched again"
	}
	key, rules, ok := r.group(token)
	if !ok {
		return true, fmt.Sprintf("no robots.txt group for '%s' or '*'", token)
	}
	var best *robotsRule
	for i := range rules {
		ru := &rules[i]
		// Longest pattern wins; on a tie Allow wins (RFC 9309 §2.2.2). Skip
		// rules that could not beat the current best before matching them.
		if best != nil && (len(ru.pattern) < len(best.pattern) ||
			len(ru.pattern) == len(best.pattern) && (best.allow || !ru.allow)) {
			continue
		}
		if ru.match(path) {
			best = ru
		}
	}
	if best == nil {
		return true, fmt.Sprintf("no rule matches (robots.txt group '%s')", key)
	}
	return best.allow, best.explain
}

// CrawlDelay is the Crawl-delay of the group that applies to the token (0 if
// none). Crawl-delay is not part of RFC 9309; the value comes from temoto.
func (r *Robots) CrawlDelay(token string) time.Duration {
	if r.temoto == nil {
		return 0
	}
	key, _, ok := r.group(token)
	if !ok {
		return 0
	}
	// temoto picks the group whose name is the longest prefix of the agent it
	// is given. Passing the exact key we selected, which the canonical copy
	// always contains, makes that group itself the longest prefix.
	return r.temoto.FindGroup(key).CrawlDelay
}

// Sitemaps lists the Sitemap URLs of the file, in order (RFC 9309 §2.2.4).
func (r *Robots) Sitemaps() []string {
	if r.temoto == nil || len(r.temoto.Sitemaps) == 0 {
		return nil
	}
	return append([]string(nil), r.temoto.Sitemaps...)
}

// group selects the rules for a product token: the group naming the token
// exactly, case-insensitively, else the "*" group (RFC 9309 §2.2.1).
func (r *Robots) group(token string) (key string, rules []robotsRule, ok bool) {
	key = strings.ToLower(token)
	if key != "" && key != "*" {
		if rules, ok = r.groups[key]; ok {
			return key, rules, true
		}
	}
	rules, ok = r.groups["*"]
	return "*", rules, ok
}

// match reports whether the rule matches the normalised path. Matching is
// anchored at the path start; '*' matches any run of octets; a final '$'
// anchors at the end. Since a rule matches a prefix of the path, taking each
// '*'-separated literal at its leftmost position is always right.
func (ru *robotsRule) match(path string) bool {
	first := ru.parts[0]
	if !strings.HasPrefix(path, first) {
		return false
	}
	last := len(ru.parts) - 1
	if last == 0 {
		return !ru.anchored || len(path) == len(first)
	}
	pos := len(first)
	for _, lit := range ru.parts[1:last] {
		j := strings.Index(path[pos:], lit)
		if j < 0 {
			return false
		}
		pos += j + len(lit)
	}
	tail := ru.parts[last]
	if ru.anchored {
		return len(path)-len(tail) >= pos && strings.HasSuffix(path, tail)
	}
	return strings.Contains(path[pos:], tail)
}

// robotsGroup is one group as written: its user-agent lines and its rules.
type robotsGroup struct {
	agents   []string // lower-case tokens, "*", or "" for a line without a token
	agentRaw []string // as written, for explanations
	rules    []robotsRule
	closed   bool   // a rule (even an empty one) or Crawl-delay ended the user-agent run
	delay    string // last valid Crawl-delay, canonical decimal seconds
	hasDelay bool
}

// parseRobots reads a 2xx robots.txt body. It never fails: lines that do not
// parse are skipped (RFC 9309 §2.2).
func parseRobots(body []byte) *Robots {
	body = capRobots(body)
	// A UTF-8 byte order mark, or a truncated one, may open the file.
	switch {
	case len(body) >= 3 && body[0] == 0xEF && body[1] == 0xBB && body[2] == 0xBF:
		body = body[3:]
	case len(body) >= 2 && body[0] == 0xEF && body[1] == 0xBB:
		body = body[2:]
	case len(body) >= 1 && body[0] == 0xEF:
		body = body[1:]
	}

	var (
		groups   []*robotsGroup
		cur      *robotsGroup
		sitemaps []string
		lineNo   int
	)
	for len(body) > 0 {
		var raw []byte
		i := robotsIndexEOL(body)
		switch {
		case i < 0:
			raw, body = body, nil
		case body[i] == '\r' && i+1 < len(body) && body[i+1] == '\n':
			raw, body = body[:i], body[i+2:]
		default:
			raw, body = body[:i], body[i+1:]
		}
		lineNo++
		key, value, ok := splitRobotsLine(string(raw))
		if !ok {
			continue
		}
		switch key {
		case "user-agent":
			if cur == nil || cur.closed {
				cur = &robotsGroup{}
				groups = append(groups, cur)
			}
			cur.agents = append(cur.agents, robotsAgentKey(value))
			cur.agentRaw = append(cur.agentRaw, value)
		case "allow", "disallow":
			if cur == nil {
				continue // a rule outside any group applies to nobody
			}
			cur.closed = true
			if value == "" {
				continue // empty rule: matches nothing (RFC 9309 §2.2.2)
			}
			cur.rules = append(cur.rules, newRobotsRule(key == "allow", value, lineNo))
		case "crawl-delay":
			// Crawl-delay is outside RFC 9309 (§2.2.4 lets crawlers read
			// other records). We read it as temoto, Bing and Yandex do: a
			// member of the group, so like a rule it ends the user-agent
			// run, and "User-agent: *", "Crawl-delay: 10", "User-agent: x"
			// makes two groups, as the site owner meant. A line that does
			// not parse is ignored and ends nothing.
			if cur == nil {
				continue
			}
			// The checks temoto makes; a value it would reject is dropped
			// here, instead of failing temoto's whole parse.
			f, err := strconv.ParseFloat(value, 64)
			if err != nil || f < 0 || math.IsNaN(f) {
				continue
			}
			if f > maxCrawlDelaySeconds { // +Inf included
				f = maxCrawlDelaySeconds
			}
			cur.delay, cur.hasDelay, cur.closed = strconv.FormatFloat(f, 'f', -1, 64), true, true
		case "sitemap":
			// temoto splits values at white space; so do we, before it sees them.
			if f := strings.Fields(value); len(f) > 0 {
				sitemaps = append(sitemaps, f[0])
			}
		}
	}

	r := &Robots{state: robotsParsed, groups: make(map[string][]robotsRule)}
	for _, g := range groups {
		for i, a := range g.agents {
			if a == "" {
				continue
			}
			name := a
			if a != "*" {
				name = g.agentRaw[i]
				if n := ProductToken(name); n != "" {
					name = n
				}
			}
			rules := r.groups[a]
			if rules == nil {
				rules = []robotsRule{} // a group with no rules still takes the agent
			}
			for _, ru := range g.rules {
				ru.explain = fmt.Sprintf("%s (robots.txt line %d, group '%s')", ru.text, ru.line, name)
				rules = append(rules, ru)
			}
			r.groups[a] = rules
		}
	}
	r.temoto, r.temotoErr = robotstxt.FromString(renderForTemoto(groups, sitemaps))
	return r
}

// renderForTemoto writes the canonical copy temoto parses: every group's
// user-agent lines, its Crawl-delay, and one placeholder rule where the
// group ends, since temoto starts a new group only at a user-agent line that
// follows a non-empty rule or a Crawl-delay, and an empty "Disallow:" ends a
// group too. The placeholder's path does not matter: temoto's rule matching
// is never used.
func renderForTemoto(groups []*robotsGroup, sitemaps []string) string {
	var b strings.Builder
	for _, g := range groups {
		for _, a := range g.agents {
			if a == "" {
				a = invalidAgent
			}
			b.WriteString("User-agent: " + a + "\n")
		}
		if g.hasDelay {
			b.WriteString("Crawl-delay: " + g.delay + "\n")
		}
		if g.closed && !g.hasDelay {
			b.WriteString("Disallow: /robots.txt\n")
		}
	}
	for _, s := range sitemaps {
		b.WriteString("Sitemap: " + s + "\n")
	}
	return b.String()
}

// capRobots keeps the first MaxRobotsSize bytes. If that cuts a line, the
// partial line is dropped rather than read as a shorter, different rule. A
// body of exactly MaxRobotsSize bytes may itself be a cut copy (a fetcher
// that stopped reading), so it is treated the same way.
func capRobots(body []byte) []byte {
	if len(body) < MaxRobotsSize {
		return body
	}
	if len(body) > MaxRobotsSize && (body[MaxRobotsSize] == '\n' || body[MaxRobotsSize] == '\r') {
		return body[:MaxRobotsSize]
	}
	body = body[:MaxRobotsSize]
	if c := body[len(body)-1]; c == '\n' || c == '\r' {
		return body
	}
	for i := len(body) - 1; i >= 0; i-- {
		if body[i] == '\n' || body[i] == '\r' {
			return body[:i+1]
		}
	}
	return nil
}

func robotsIndexEOL(b []byte) int {
	for i, c := range b {
		if c == '\n' || c == '\r' {
			return i
		}
	}
	return -1
}

// splitRobotsLine parses one line into a lower-case known key and its value.
// Comments are dropped. Like Google's and temoto's parsers we also accept a
// missing colon ("Disallow /x") and a few common misspellings of disallow:
// reading them is the polite choice, since they can only restrict us more.
func splitRobotsLine(line string) (key, value string, ok bool) {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	line = strings.TrimSpace(line)
	if line == "" {
		return "", "", false
	}
	if i := strings.IndexByte(line, ':'); i >= 0 {
		key, value = line[:i], line[i+1:]
	} else if i := strings.IndexAny(line, " \t"); i >= 0 {
		key, value = line[:i], line[i+1:]
	} else {
		key = line
	}
	key = strings.ToLower(strings.TrimSpace(key))
	value = strings.TrimSpace(value)
	switch key {
	case "user-agent", "useragent":
		return "user-agent", value, true
	case "allow":
		return "allow", value, true
	case "disallow", "dissallow", "dissalow", "disalow", "diasllow", "disallaw":
		return "disallow", value, true
	case "crawl-delay", "crawldelay":
		return "crawl-delay", value, true
	case "sitemap", "site-map":
		return "sitemap", value, true
	}
	return "", "", false
}

// robotsAgentKey turns a user-agent line's value into its group key: "*" for the
// catch-all, else the lower-case product token at its start (so "FooBot/2.1"
// and "foobot extra words" both name "foobot"), or "" when there is none.
func robotsAgentKey(value string) string {
	if value == "*" || strings.HasPrefix(value, "*") && len(value) > 1 && (value[1] == ' ' || value[1] == '\t') {
		return "*"
	}
	return strings.ToLower(ProductToken(value))
}

// newRobotsRule compiles an Allow or Disallow value.
func newRobotsRule(allow bool, value string, line int) robotsRule {
	p := value
	// RFC 9309 wants paths to start with '/'. Like temoto we read "x" as
	// "/x", the polite reading; a leading '*' is kept as the wildcard.
	if p[0] != '/' && p[0] != '*' {
		p = "/" + p
	}
	p = normalizeRobotsPath(p)
	verb := "Disallow"
	if allow {
		verb = "Allow"
	}
	ru := robotsRule{allow: allow, pattern: p, line: line, text: verb + ": " + value}
	if strings.HasSuffix(p, "$") {
		ru.anchored = true
		p = p[:len(p)-1]
	}
	ru.parts = strings.Split(p, "*")
	return ru
}

const robotsUpperHex = "0123456789ABCDEF"

// normalizeRobotsPath brings a rule pattern or a request-target to the one
// form RFC 9309 §2.2.2 compares: a percent-encoded unreserved character is
// decoded (/%7Ejoe is /~joe), other escapes get upper-case hex, and octets
// outside printable ASCII are percent-encoded. A '%' that starts no escape is
// encoded as %25 on both sides alike. '*' and '$' pass through unchanged.
func normalizeRobotsPath(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '%' || c <= ' ' || c >= 0x7F {
			clean = false
			break
		}
	}
	if clean {
		return s // the common case: no allocation
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && robotsIsHex(s[i+1]) && robotsIsHex(s[i+2]):
			v := robotsUnhex(s[i+1])<<4 | robotsUnhex(s[i+2])
			if robotsIsUnreserved(v) {
				b.WriteByte(v)
			} else {
				b.WriteByte('%')
				b.WriteByte(robotsUpperHex[v>>4])
				b.WriteByte(robotsUpperHex[v&15])
			}
			i += 2
		case c == '%' || c <= ' ' || c >= 0x7F:
			b.WriteByte('%')
			b.WriteByte(robotsUpperHex[c>>4])
			b.WriteByte(robotsUpperHex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func robotsIsHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func robotsUnhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// robotsIsUnreserved is RFC 3986's unreserved set: ALPHA / DIGIT / "-" / "." / "_" / "~".
func robotsIsUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
