package crawler

import (
	"bytes"
	"net/url"
	"strings"

	"github.com/PuerkitoBio/goquery"
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
