package crawler

import (
	"bytes"
	"net/url"
	"strings"
	"sync"

	"github.com/PuerkitoBio/goquery"
	whatwg "github.com/nlnwa/whatwg-url/url"
)

// ExtractLinks returns every link of an HTML page, in document order: anchors
// (with their text, rel and whether they match sourceSelector), images,
// srcsets, media, stylesheets and icons, scripts, frames, and the url()s of
// <style> elements and style attributes. Relative references are resolved
// against the page's <base href> when it has one, else against base, with
// the WHATWG URL rules colly uses; a reference that cannot be resolved is
// kept as written, so the rules can say why it is not followed. It is a pure
// function: the crawl calls it on each HTML page colly fetched, and it can
// be fuzzed on its own. An empty or invalid sourceSelector marks nothing.
func ExtractLinks(base *url.URL, html []byte, sourceSelector string) []Link {
	// Building a goquery document was half of this function's cost, and
	// this function a sixth of a crawl's CPU. A page is walked token by
	// token instead, mirroring the HTML tree builder closely enough to know
	// each element, its document order and each anchor's text; the few
	// constructs where the tree builder moves or clones elements, and any
	// selector the walk cannot evaluate, go to the DOM (links_tokens.go).
	if sourceSelector == "" {
		if links, ok := extractLinksTokens(base, html); ok {
			return links
		}
	}
	return extractLinksDOM(base, html, sourceSelector)
}

// extractLinksDOM is ExtractLinks on a goquery document: the reference the
// token walk is tested against, and the path for pages and selectors the
// walk leaves to it.
func extractLinksDOM(base *url.URL, html []byte, sourceSelector string) []Link {
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(html))
	if err != nil || base == nil {
		return nil
	}
	href, hasBase := doc.Find("base[href]").First().Attr("href")
	abs, ok := pageResolver(base, href, hasBase)
	if !ok {
		return nil
	}
	// Links are grouped as colly's callbacks used to find them (anchors,
	// then media, <link>, scripts, frames, <style>, style attributes), in
	// document order within a group: the store keeps the first decision
	// about a URL, and an anchor's explains more than a <link rel>'s.
	var groups [7][]Link
	group := 0
	add := func(l Link) { groups[group] = append(groups[group], l) }
	doc.Find("a[href], area[href], img[src], img[srcset], source[src], source[srcset], video[poster], video[src], audio[src], input[src], embed[src], link[href], script[src], iframe[src], frame[src], style, [style]").Each(func(_ int, s *goquery.Selection) {
		n := s.Get(0)
		name := n.Data
		attr := func(k string) string {
			for _, a := range n.Attr {
				if a.Key == k {
					return a.Val
				}
			}
			return ""
		}
		has := func(k string) bool {
			for _, a := range n.Attr {
				if a.Key == k {
					return true
				}
			}
			return false
		}
		switch name {
		case "a", "area":
			group = 0
			if has("href") {
				l := Link{URL: abs(strings.TrimSpace(attr("href"))), Text: collapse(s.Text()), Kind: Anchor, Attr: name + "@href", Rel: attr("rel")}
				// goquery compiles the selector; an invalid one matches nothing.
				if sourceSelector != "" && s.Is(sourceSelector) {
					l.SourceSel = true
				}
				add(l)
			}
		case "img", "source", "video", "audio", "input", "embed":
			group = 1
			for _, a := range []string{"src", "poster"} {
				if v := strings.TrimSpace(attr(a)); v != "" {
					add(Link{URL: abs(v), Kind: KindOf(name, a, ""), Attr: name + "@" + a})
				}
			}
			if v := attr("srcset"); v != "" {
				for _, u := range ExtractSrcset(v) {
					add(Link{URL: abs(u), Kind: KindOf(name, "srcset", ""), Attr: name + "@srcset"})
				}
			}
		case "link":
			group = 2
			if has("href") {
				rel := strings.ToLower(attr("rel"))
				add(Link{URL: abs(strings.TrimSpace(attr("href"))), Kind: KindOf("link", "href", rel), Attr: "link@href", Rel: rel})
			}
		case "script":
			group = 3
			if has("src") {
				add(Link{URL: abs(strings.TrimSpace(attr("src"))), Kind: Script, Attr: "script@src"})
			}
		case "iframe", "frame":
			group = 4
			if has("src") {
				add(Link{URL: abs(strings.TrimSpace(attr("src"))), Kind: Iframe, Attr: name + "@src"})
			}
		case "style":
			group = 5
			for _, u := range CSSLinks([]byte(s.Text())) {
				add(Link{URL: abs(u), Kind: CSSURL, Attr: "style@url"})
			}
		}
		if has("style") {
			group = 6
			for _, u := range CSSLinks([]byte(attr("style"))) {
				add(Link{URL: abs(u), Kind: CSSURL, Attr: name + "@style"})
			}
		}
	})
	var links []Link
	for _, g := range groups {
		links = append(links, g...)
	}
	return links
}

// pageResolver returns the function that makes a page's references
// absolute: against its first <base href> when hasBase (and that href is
// usable), else against base; ok is false when base itself cannot be
// parsed, and then the page yields no links.
func pageResolver(base *url.URL, baseHref string, hasBase bool) (abs func(string) string, ok bool) {
	// References are resolved as colly's Request.AbsoluteURL does (the
	// WHATWG parser with colly's options), but the base is parsed once per
	// page: AbsoluteURL re-parses it for every link, which was the largest
	// single cost of a crawl in the profile.
	parser := whatwg.NewParser(whatwg.WithPercentEncodeSinglePercentSign())
	resolver, err := parser.Parse(base.String())
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
	scope := resolvedScope(resolver)
	return func(ref string) string {
		if ref == "" {
			return ""
		}
		if strings.HasPrefix(ref, "#") {
			return ref // colly gives "" for fragment-only links: kept as written
		}
		key, cacheable := resolvedKey(scope, ref)
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
	}, true
}

// resolved memoises link resolutions that do not depend on the page's
// path: a site's navigation, sidebars and footers repeat the same links on
// every page, and the WHATWG parser was the largest cost of ExtractLinks.
// The answer for such a link is a pure function of the key resolvedKey
// gives it, so a cached answer is the one the parser would give.
var resolved = resolveCache{m: make(map[string]string)}

// resolvedMax bounds the cache; when full it starts again empty, which
// costs a few re-parses and keeps memory flat on a crawl of any size.
const resolvedMax = 1 << 12

type resolveCache struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *resolveCache) get(k string) (string, bool) {
	c.mu.Lock()
	v, ok := c.m[k]
	c.mu.Unlock()
	return v, ok
}

func (c *resolveCache) put(k, v string) {
	c.mu.Lock()
	if len(c.m) >= resolvedMax {
		clear(c.m)
	}
	c.m[k] = v
	c.mu.Unlock()
}

// resolvedScope is the part of base that a scheme-relative or path-absolute
// reference keeps ("https:" and "https://host:port"), or "" when base has
// user info or is not http(s): then nothing is cached.
func resolvedScope(base *whatwg.Url) string {
	p := base.Protocol()
	if (p != "http:" && p != "https:") || base.Username() != "" || base.Password() != "" {
		return ""
	}
	return p + "//" + base.Host()
}

// resolvedKey returns the cache key of ref against a base of scope, and
// whether ref's resolution depends only on that key. Per the WHATWG URL
// parser: "http://" or "https://" followed by an authority ignores the base
// entirely; "//authority" keeps only the base's scheme; a path-absolute
// "/path" keeps its scheme, host and port. Anything with a tab, newline,
// backslash or leading control character or space is left to the parser
// every time, since the parser rewrites those before it decides.
func resolvedKey(scope, ref string) (string, bool) {
	if scope == "" || len(ref) < 2 {
		return "", false
	}
	for i := 0; i < len(ref); i++ {
		if c := ref[i]; c <= ' ' || c == '\\' || c >= 0x7f {
			return "", false
		}
	}
	switch {
	case hasPrefixFold(ref, "http://") || hasPrefixFold(ref, "https://"):
		return ref, true
	case ref[0] == '/' && ref[1] == '/':
		scheme := scope[:strings.IndexByte(scope, ':')+1]
		return scheme + "\x00" + ref, true
	case ref[0] == '/':
		return scope + "\x00" + ref, true
	}
	return "", false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
