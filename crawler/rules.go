package crawler

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/amberarchive/amber/archive"
)

// Default link patterns, shaped like WordPress news sites such as China
// Digital Times.
const (
	// DefaultArticlePattern matches article paths such as /2016/06/some-slug/.
	DefaultArticlePattern = `^/\d{4}/\d{2}/[^/?#]+/?$`
	// DefaultFollowPattern matches navigation pages: the front page, /page/N/,
	// /category/a/b/ (and its pages) and date archives /YYYY/, /YYYY/MM/.
	DefaultFollowPattern = `^/(?:(?:page/\d+|category(?:/[^/?#]+)+|\d{4}(?:/\d{2}){0,2}(?:/page/\d+)?)/?)?$`
	// DefaultSourceText is the anchor text that marks a cited source.
	DefaultSourceText = "[Source]"
)

// Rules decide which links found on a page are followed, and say why.
// The zero value follows nothing; start from [DefaultRules].
type Rules struct {
	// Article matches the path, plus "?" and the query when there is one, of
	// same-site article links. Nil matches nothing.
	Article *regexp.Regexp
	// Follow matches the path (+query) of same-site navigation pages,
	// followed to discover articles. Nil matches nothing.
	Follow *regexp.Regexp
	// SourceText marks source anchors; compared with the anchor text after
	// trimming spaces, case-insensitively. Empty disables text matching.
	SourceText string
	// SourceSelector is an optional CSS selector for source anchors; the
	// crawler tests it with goquery and sets [Link.SourceSel].
	SourceSelector string
	// Requisites turns on fetching page requisites (images, stylesheets,
	// scripts, icons, CSS url()s).
	Requisites bool
	// MaxDepth limits link hops (L) from the seed; 0 means unlimited.
	MaxDepth int
	// Scope lists extra hosts treated as on-site: "cdn.example.com",
	// "example.org:8080", or "*.example.com" for every subdomain (and the
	// domain itself). A leading "www." is ignored as in [SameSite].
	Scope []string
	// TrapRepeat refuses a URL whose path has one segment TrapRepeat times
	// or more (/a/b/a/b/a/, /x/x/x/): the mark of relative links that
	// recurse on a server answering every path, a classic crawler trap.
	// 0 turns the check off.
	TrapRepeat int
}

// DefaultRules returns the rules amber crawls with unless told otherwise:
// WordPress-shaped article and navigation patterns, "[Source]" anchors,
// requisites on, no depth limit.
func DefaultRules() Rules {
	return Rules{
		Article:    regexp.MustCompile(DefaultArticlePattern),
		Follow:     regexp.MustCompile(DefaultFollowPattern),
		SourceText: DefaultSourceText,
		Requisites: true,
		TrapRepeat: DefaultTrapRepeat,
	}
}

// DefaultTrapRepeat is how many times one path segment may appear before a
// URL is taken for a trap (Heritrix's PathologicalPathDecideRule allows a
// segment twice, too).
const DefaultTrapRepeat = 3

// LinkKind says what kind of element or reference a link came from.
type LinkKind int

// Link kinds. The zero value, Other, is never followed.
const (
	Other      LinkKind = iota // anything else: <link rel=alternate|canonical|next>, <form action>, ...
	Anchor                     // <a href>, <area href>
	Image                      // <img src|srcset>, <picture><source srcset>, <input type=image>
	Stylesheet                 // <link rel=stylesheet href>
	Script                     // <script src>
	Icon                       // <link rel=icon|apple-touch-icon|mask-icon href>
	CSSURL                     // url() or @import in a stylesheet or style attribute
	Media                      // <video poster|src>, <audio src>, <source src>, <track src>, <embed src>, <object data>
	Iframe                     // <iframe src>, <frame src>: embedded pages, not followed
)

var kindNames = [...]string{"other", "anchor", "image", "stylesheet", "script", "icon", "css-url", "media", "iframe"}

// String returns the kind's lower-case name.
func (k LinkKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("LinkKind(%d)", int(k))
}

// requisite reports whether links of this kind are page requisites.
func (k LinkKind) requisite() bool {
	switch k {
	case Image, Stylesheet, Script, Icon, CSSURL, Media:
		return true
	}
	return false
}

// KindOf classifies an element's URL attribute: tag and attr lower-case
// ("img", "srcset"), rel the element's rel attribute (for <link>).
// <link> is a requisite only for rel stylesheet and icons; rel alternate,
// canonical, next, prev, preconnect and the like give Other.
func KindOf(tag, attr, rel string) LinkKind {
	switch tag {
	case "a", "area":
		if attr == "href" {
			return Anchor
		}
	case "img":
		if attr == "src" || attr == "srcset" {
			return Image
		}
	case "input":
		if attr == "src" {
			return Image
		}
	case "picture":
		return Image
	case "source":
		if attr == "srcset" {
			return Image
		}
		return Media
	case "video", "audio", "track", "embed", "object":
		return Media
	case "script":
		if attr == "src" {
			return Script
		}
	case "iframe", "frame":
		return Iframe
	case "link":
		if attr == "href" {
			return relKind(rel)
		}
	case "style":
		return CSSURL
	}
	if attr == "style" {
		return CSSURL
	}
	return Other
}

// relKind classifies a <link> by its rel tokens.
func relKind(rel string) LinkKind {
	kind := Other
	for _, t := range strings.Fields(strings.ToLower(rel)) {
		switch t {
		case "stylesheet": // "alternate stylesheet" is still a stylesheet
			return Stylesheet
		case "icon", "apple-touch-icon", "apple-touch-icon-precomposed", "mask-icon":
			kind = Icon
		}
	}
	return kind
}

// Link is one URL found on a page.
type Link struct {
	URL       string   // absolute, as resolved by the caller ("" for a fragment-only link)
	Text      string   // anchor text, whitespace-collapsed
	Kind      LinkKind // what kind of element it came from
	Attr      string   // "a@href", "img@src", "img@srcset", "link@href", "script@src", "css@url" ...
	Rel       string   // the element's rel attribute, if any
	SourceSel bool     // the element matched Rules.SourceSelector
}

// Page is the page a link was found on.
type Page struct {
	URL    *url.URL
	Reason archive.Reason // why the page was fetched; for a redirect target, the reason of what redirected
	Hops   string         // the page's hop path
	Depth  int            // link hops from the seed
	Seeds  []*url.URL     // the run's seeds: they define "the site"
}

// Decision is what [Rules.Decide] concluded about one link.
type Decision struct {
	Follow bool           // queue the link
	Reason archive.Reason // article, nav, source or requisite; set whenever the link was classified
	Hop    byte           // archive.HopLink or archive.HopEmbed, with Reason
	Depth  int            // link hops from the seed to the linked URL, with Reason
	Why    string         // readable either way, e.g. "off-site link not marked [Source]"
}

// Decide says whether the link l found on page p is followed, as what, and
// why. Only Follow means "queue it"; Reason, Hop and Depth are also set on a
// link that was classified and then refused (for example for depth), so the
// refusal can be explained.
//
// The rules:
//
//   - Links that cannot be fetched are not followed: empty or fragment-only,
//     javascript:, data:, mailto:, tel: and any scheme but http and https.
//   - Requisites (Image, Stylesheet, Script, Icon, CSSURL, Media) are
//     followed with reason requisite and hop E when r.Requisites is on, from
//     any archived page and off-site too (CDNs). They do not count toward
//     MaxDepth: their Depth is the page's. A requisite page (an image, a
//     stylesheet) is not expanded, except that a stylesheet's url() and
//     @import references (CSSURL) are followed.
//   - Iframes and Other links (<link rel=alternate|canonical|next>, ...) are
//     not followed.
//   - Anchors are followed only from expandable pages: seeds and pages
//     fetched as article or nav (a redirect target carries the reason of
//     what redirected to it). Source pages are not expanded.
//   - An anchor on the site (SameSite with any seed, or a host in r.Scope)
//     whose path (+query) matches r.Article is an article (hop L); else, if
//     its text equals r.SourceText or it matched the source selector, it is
//     a source (hop L); else, if it matches r.Follow, it is a navigation page
//     (hop L); else it is not followed (tags, subscribe pages, search).
//   - An off-site anchor is followed only as a source; ads and sharing links
//     are not followed.
//   - Anchors count toward MaxDepth: the linked URL's depth is the page's
//     plus one, and beyond r.MaxDepth (when > 0) it is not followed.
func (r Rules) Decide(p Page, l Link) Decision {
	u, why := fetchable(l.URL)
	if u == nil {
		return Decision{Why: why}
	}
	if seg, n := repeatedSegment(u.EscapedPath()); r.TrapRepeat > 0 && n >= r.TrapRepeat {
		return Decision{Why: fmt.Sprintf("crawler trap: path segment %q appears %d times", seg, n)}
	}
	if p.URL != nil && l.Kind == Anchor && sameDocument(p.URL, u) {
		return Decision{Why: "link to the page itself"}
	}
	attr := l.Attr
	if attr == "" {
		attr = l.Kind.String()
	}

	if l.Kind.requisite() {
		d := Decision{Reason: archive.ReasonRequisite, Hop: archive.HopEmbed, Depth: p.Depth}
		switch {
		case !r.Requisites:
			d.Why = fmt.Sprintf("page requisite (%s) but requisites are turned off", attr)
		case p.Reason == archive.ReasonRequisite && l.Kind != CSSURL:
			d.Why = fmt.Sprintf("%s found in a requisite: only a stylesheet's url() and @import are followed", attr)
		default:
			d.Follow = true
			d.Why = fmt.Sprintf("page requisite (%s)", attr)
		}
		return d
	}

	switch l.Kind {
	case Anchor:
	case Iframe:
		return Decision{Why: fmt.Sprintf("embedded frame (%s) not followed: frames are mostly ads and players", attr)}
	default:
		if l.Rel != "" {
			return Decision{Why: fmt.Sprintf("%s rel=%q is not a page requisite", attr, l.Rel)}
		}
		return Decision{Why: fmt.Sprintf("%s is neither an anchor nor a page requisite", attr)}
	}

	switch p.Reason {
	case archive.ReasonSeed, archive.ReasonArticle, archive.ReasonNav:
	case archive.ReasonSource:
		return Decision{Why: "source pages are not expanded"}
	case archive.ReasonRequisite:
		return Decision{Why: "page requisites are not expanded"}
	default:
		return Decision{Why: fmt.Sprintf("%s pages are not expanded", reasonName(p.Reason))}
	}

	isSource, sourceWhy := r.isSource(l)
	d := Decision{Hop: archive.HopLink, Depth: p.Depth + 1}
	if r.onSite(p, u) {
		target := u.EscapedPath()
		if target == "" {
			target = "/"
		}
		if u.RawQuery != "" || u.ForceQuery {
			target += "?" + u.RawQuery
		}
		switch {
		case r.Article != nil && r.Article.MatchString(target):
			d.Reason = archive.ReasonArticle
			d.Why = fmt.Sprintf("article link (matches %s)", r.Article)
		case isSource:
			d.Reason = archive.ReasonSource
			d.Why = "on-site source link (" + sourceWhy + ")"
		case r.Follow != nil && r.Follow.MatchString(target):
			d.Reason = archive.ReasonNav
			d.Why = fmt.Sprintf("navigation link (matches %s)", r.Follow)
		default:
			return Decision{Why: fmt.Sprintf("on-site link %s matches neither the article nor the navigation pattern", target)}
		}
	} else {
		if !isSource {
			return Decision{Why: "off-site link not marked " + r.sourceName()}
		}
		d.Reason = archive.ReasonSource
		d.Why = "source link (" + sourceWhy + ")"
	}
	if r.MaxDepth > 0 && d.Depth > r.MaxDepth {
		d.Why = fmt.Sprintf("%s: depth %d exceeds --max-depth %d", d.Why, d.Depth, r.MaxDepth)
		return d
	}
	d.Follow = true
	return d
}

// repeatedSegment returns the non-empty path segment that appears most often
// in path, and how often.
func repeatedSegment(path string) (string, int) {
	count := map[string]int{}
	best, n := "", 0
	for _, seg := range strings.Split(path, "/") {
		if seg == "" {
			continue
		}
		count[seg]++
		if count[seg] > n {
			best, n = seg, count[seg]
		}
	}
	return best, n
}

// fetchable parses a link's URL, or says why it cannot be fetched.
func fetchable(raw string) (*url.URL, string) {
	raw = strings.TrimSpace(raw)
	if raw == "" || raw[0] == '#' {
		return nil, "empty or fragment-only link"
	}
	if s, ok := refScheme(raw); ok {
		if err := schemeRejection(s); err != nil {
			return nil, strings.TrimPrefix(err.Error(), "crawler: ")
		}
	} else {
		if _, err := url.Parse(raw); err != nil {
			return nil, "unparsable link: " + strings.TrimPrefix(err.Error(), "parse ")
		}
		return nil, "relative link (the caller must resolve it)"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "unparsable link: " + strings.TrimPrefix(err.Error(), "parse ")
	}
	if u.Host == "" {
		return nil, "link has an empty host"
	}
	return u, ""
}

// sameDocument reports whether a and b differ at most by fragment.
func sameDocument(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host) &&
		a.EscapedPath() == b.EscapedPath() && a.RawQuery == b.RawQuery && a.ForceQuery == b.ForceQuery &&
		a.Opaque == b.Opaque
}

// reasonName names a reason for a message.
func reasonName(r archive.Reason) string {
	if r == "" {
		return "unclassified"
	}
	return string(r)
}

// isSource reports whether l is marked as a source link, and how.
func (r Rules) isSource(l Link) (bool, string) {
	if l.SourceSel {
		return true, fmt.Sprintf("matches selector %q", r.SourceSelector)
	}
	if r.SourceText != "" && strings.EqualFold(strings.TrimSpace(l.Text), strings.TrimSpace(r.SourceText)) {
		return true, fmt.Sprintf("anchor text %q", strings.TrimSpace(r.SourceText))
	}
	return false, ""
}

// sourceName names the source marker for a message.
func (r Rules) sourceName() string {
	switch {
	case r.SourceText != "" && r.SourceSelector != "":
		return fmt.Sprintf("%s nor matching %q", r.SourceText, r.SourceSelector)
	case r.SourceText != "":
		return r.SourceText
	case r.SourceSelector != "":
		return fmt.Sprintf("by selector %q", r.SourceSelector)
	}
	return "as a source"
}

// onSite reports whether u is on the site of the run: SameSite with a seed or
// the page's own site when there are no seeds, or in the scope list.
func (r Rules) onSite(p Page, u *url.URL) bool {
	if len(p.Seeds) == 0 && p.URL != nil && SameSite(p.URL, u) {
		return true
	}
	for _, s := range p.Seeds {
		if SameSite(s, u) {
			return true
		}
	}
	return inScope(r.Scope, u)
}

// inScope reports whether u's host (and port) is listed in scope.
func inScope(scope []string, u *url.URL) bool {
	if len(scope) == 0 {
		return false
	}
	host, port := siteHost(u.Hostname()), sitePort(u)
	for _, s := range scope {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" {
			continue
		}
		// Accept "host", "host:port" and URLs alike.
		if !strings.Contains(s, "://") {
			s = "http://" + s
		}
		su, err := url.Parse(s)
		if err != nil || su.Hostname() == "" {
			continue
		}
		if sp := sitePort(su); sp != "" && sp != port {
			continue
		}
		sh := siteHost(su.Hostname())
		if rest, ok := strings.CutPrefix(sh, "*."); ok {
			if host == rest || strings.HasSuffix(host, "."+rest) {
				return true
			}
			continue
		}
		if sh == host {
			return true
		}
	}
	return false
}

// ExtractSrcset returns the URLs of a srcset attribute, in order, following
// the HTML standard's parser: a URL may contain commas, and descriptors
// ("2x", "480w") are dropped.
func ExtractSrcset(value string) []string {
	var urls []string
	s := value
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
	i := 0
	for i < len(s) {
		// Skip whitespace and commas before a candidate.
		for i < len(s) && (isSpace(s[i]) || s[i] == ',') {
			i++
		}
		if i >= len(s) {
			break
		}
		start := i
		for i < len(s) && !isSpace(s[i]) {
			i++
		}
		u := s[start:i]
		if strings.HasSuffix(u, ",") {
			// A URL ending in commas ends the candidate without descriptors.
			u = strings.TrimRight(u, ",")
		} else {
			// Skip descriptors up to a comma outside parentheses.
			depth := 0
			for i < len(s) {
				c := s[i]
				if c == '(' {
					depth++
				} else if c == ')' && depth > 0 {
					depth--
				} else if c == ',' && depth == 0 {
					i++
					break
				}
				i++
			}
		}
		if u != "" {
			urls = append(urls, u)
		}
	}
	return urls
}
