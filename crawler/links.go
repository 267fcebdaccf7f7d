package crawler

import (
	"bytes"
	"net/url"
	"strings"

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
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(html))
	if err != nil || base == nil {
		return nil
	}
	// References are resolved as colly's Request.AbsoluteURL does (the
	// WHATWG parser with colly's options), but the base is parsed once per
	// page: AbsoluteURL re-parses it for every link, which was the largest
	// single cost of a crawl in the profile.
	parser := whatwg.NewParser(whatwg.WithPercentEncodeSinglePercentSign())
	resolver, err := parser.Parse(base.String())
	if err != nil {
		return nil
	}
	if href, ok := doc.Find("base[href]").First().Attr("href"); ok {
		if href = strings.TrimSpace(href); href != "" && !strings.HasPrefix(href, "#") {
			if bu, err := resolver.Parse(href); err == nil {
				resolver = bu
			}
		}
	}
	abs := func(ref string) string {
		if ref == "" {
			return ""
		}
		if strings.HasPrefix(ref, "#") {
			return ref // colly gives "" for fragment-only links: kept as written
		}
		if a, err := resolver.Parse(ref); err == nil {
			return a.Href(false)
		}
		return ref
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
