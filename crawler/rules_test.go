package crawler

import (
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/amberarchive/amber/archive"
)

const cdtSeed = "https://chinadigitaltimes.net/"

// cdtPage is a page of the CDT site as the crawler would describe it.
func cdtPage(t testing.TB, raw string, reason archive.Reason, depth int) Page {
	t.Helper()
	return Page{
		URL:    mustURL(t, raw),
		Reason: reason,
		Hops:   strings.Repeat("L", depth),
		Depth:  depth,
		Seeds:  []*url.URL{mustURL(t, cdtSeed)},
	}
}

// TestDecideCDTFrontPage walks the links of a China Digital Times front page
// shaped like seed/cdt-article.txt: the article body with its two [Source]
// links (Xinhua, VOA), navigation, tags, the subscribe box, ads, share
// widgets and the page's requisites.
func TestDecideCDTFrontPage(t *testing.T) {
	r := DefaultRules()
	seed := cdtPage(t, cdtSeed, archive.ReasonSeed, 0)
	tests := []struct {
		name       string
		link       Link
		follow     bool
		reason     archive.Reason
		hop        byte
		depth      int
		whyContain string
	}{
		{name: "article", link: Link{URL: "https://chinadigitaltimes.net/2016/06/u-s-china-cyber-group-holds-first-talks/", Text: "U.S., China Cyber Group Holds First Talks", Kind: Anchor, Attr: "a@href"},
			follow: true, reason: archive.ReasonArticle, hop: 'L', depth: 1, whyContain: "article link (matches ^/\\d{4}"},
		{name: "article on www host without slash", link: Link{URL: "https://www.chinadigitaltimes.net/2016/06/some-post", Kind: Anchor},
			follow: true, reason: archive.ReasonArticle, hop: 'L', depth: 1, whyContain: "article link"},
		{name: "article over http", link: Link{URL: "http://chinadigitaltimes.net/2016/05/older-post/", Kind: Anchor},
			follow: true, reason: archive.ReasonArticle, hop: 'L', depth: 1},
		{name: "source xinhua", link: Link{URL: "http://news.xinhuanet.com/english/2015-12/02/c_134876399.htm", Text: " [Source] ", Kind: Anchor, Attr: "a@href"},
			follow: true, reason: archive.ReasonSource, hop: 'L', depth: 1, whyContain: `source link (anchor text "[Source]")`},
		{name: "source voa lower case", link: Link{URL: "http://www.voanews.com/content/us-china-cyber-talks/3340223.html", Text: "[source]", Kind: Anchor},
			follow: true, reason: archive.ReasonSource, hop: 'L', depth: 1},
		{name: "in-text off-site link", link: Link{URL: "http://www.voanews.com/content/us-china-cyber-talks/3340223.html", Text: "Nike Ching at Voice of America", Kind: Anchor},
			whyContain: "off-site link not marked [Source]"},
		{name: "page 2", link: Link{URL: "https://chinadigitaltimes.net/page/2/", Text: "Older posts", Kind: Anchor},
			follow: true, reason: archive.ReasonNav, hop: 'L', depth: 1, whyContain: "navigation link"},
		{name: "home", link: Link{URL: "https://chinadigitaltimes.net/", Text: "Home", Kind: Anchor},
			whyContain: "link to the page itself"},
		{name: "category", link: Link{URL: "https://chinadigitaltimes.net/china/cybersecurity/", Text: "Cybersecurity", Kind: Anchor},
			whyContain: "matches neither"},
		{name: "category with prefix", link: Link{URL: "https://chinadigitaltimes.net/category/china/politics/", Text: "Politics", Kind: Anchor},
			follow: true, reason: archive.ReasonNav, hop: 'L', depth: 1},
		{name: "month archive", link: Link{URL: "https://chinadigitaltimes.net/2016/06/", Text: "June 2016", Kind: Anchor},
			follow: true, reason: archive.ReasonNav, hop: 'L', depth: 1},
		{name: "tag", link: Link{URL: "https://chinadigitaltimes.net/tag/cybersecurity/", Text: "cybersecurity", Kind: Anchor},
			whyContain: "on-site link /tag/cybersecurity/ matches neither the article nor the navigation pattern"},
		{name: "subscribe", link: Link{URL: "https://chinadigitaltimes.net/subscribe/", Text: "Subscribe to CDT", Kind: Anchor},
			whyContain: "matches neither"},
		{name: "search", link: Link{URL: "https://chinadigitaltimes.net/?s=cyber", Kind: Anchor},
			whyContain: "matches neither"},
		{name: "comment reply", link: Link{URL: "https://chinadigitaltimes.net/2016/06/u-s-china-cyber-group-holds-first-talks/?replytocom=12", Text: "Reply", Kind: Anchor},
			whyContain: "matches neither"},
		{name: "google ad", link: Link{URL: "https://googleads.g.doubleclick.net/pagead/ads?client=ca-pub-1", Text: "Google Ads 1", Kind: Anchor},
			whyContain: "off-site link not marked [Source]"},
		{name: "lantern", link: Link{URL: "https://lantern.io/", Text: "Browsers Unbounded by Lantern", Kind: Anchor},
			whyContain: "off-site"},
		{name: "share twitter", link: Link{URL: "https://twitter.com/intent/tweet?url=https%3A%2F%2Fchinadigitaltimes.net%2F2016%2F06%2Fx%2F", Text: "Tweet", Kind: Anchor},
			whyContain: "off-site"},
		{name: "share by mail", link: Link{URL: "mailto:?subject=U.S.%2C%20China", Text: "Email", Kind: Anchor},
			whyContain: "mailto: link"},
		{name: "popup", link: Link{URL: "javascript:void(0)", Text: "Open popup", Kind: Anchor},
			whyContain: "javascript: link"},
		{name: "fragment only", link: Link{URL: "", Text: "Top", Kind: Anchor},
			whyContain: "fragment-only"},
		{name: "phone", link: Link{URL: "tel:+15105551234", Kind: Anchor}, whyContain: "tel: link"},
		{name: "same page fragment", link: Link{URL: "https://chinadigitaltimes.net/#comments", Kind: Anchor}, whyContain: "page itself"},
		{name: "stylesheet on cdn", link: Link{URL: "https://cdn.example.net/wp-content/themes/cdt/style.css", Kind: Stylesheet, Attr: "link@href", Rel: "stylesheet"},
			follow: true, reason: archive.ReasonRequisite, hop: 'E', depth: 0, whyContain: "page requisite (link@href)"},
		{name: "logo image", link: Link{URL: "https://chinadigitaltimes.net/wp-content/uploads/logo.png", Kind: Image, Attr: "img@src"},
			follow: true, reason: archive.ReasonRequisite, hop: 'E', depth: 0},
		{name: "script", link: Link{URL: "https://chinadigitaltimes.net/wp-includes/js/jquery.js", Kind: Script, Attr: "script@src"},
			follow: true, reason: archive.ReasonRequisite, hop: 'E', depth: 0},
		{name: "favicon", link: Link{URL: "https://chinadigitaltimes.net/favicon.ico", Kind: Icon, Attr: "link@href", Rel: "icon"},
			follow: true, reason: archive.ReasonRequisite, hop: 'E', depth: 0},
		{name: "video poster", link: Link{URL: "https://chinadigitaltimes.net/poster.jpg", Kind: Media, Attr: "video@poster"},
			follow: true, reason: archive.ReasonRequisite, hop: 'E', depth: 0},
		{name: "inline data image", link: Link{URL: "data:image/gif;base64,R0lGODlhAQABAAAAACw=", Kind: Image, Attr: "img@src"},
			whyContain: "data: link"},
		{name: "rss alternate", link: Link{URL: "https://chinadigitaltimes.net/feed/", Kind: Other, Attr: "link@href", Rel: "alternate"},
			whyContain: `link@href rel="alternate" is not a page requisite`},
		{name: "canonical", link: Link{URL: "https://chinadigitaltimes.net/", Kind: Other, Attr: "link@href", Rel: "canonical"},
			whyContain: "not a page requisite"},
		{name: "ad iframe", link: Link{URL: "https://googleads.g.doubleclick.net/pagead/ads", Kind: Iframe, Attr: "iframe@src"},
			whyContain: "embedded frame"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := r.Decide(seed, tt.link)
			if d.Follow != tt.follow {
				t.Fatalf("Follow = %v, want %v (why: %s)", d.Follow, tt.follow, d.Why)
			}
			if tt.follow && (d.Reason != tt.reason || d.Hop != tt.hop || d.Depth != tt.depth) {
				t.Errorf("got reason %q hop %c depth %d, want %q %c %d", d.Reason, d.Hop, d.Depth, tt.reason, tt.hop, tt.depth)
			}
			if d.Why == "" {
				t.Error("empty Why")
			}
			if !strings.Contains(d.Why, tt.whyContain) {
				t.Errorf("Why = %q, want it to contain %q", d.Why, tt.whyContain)
			}
		})
	}
}

func TestDecideByPageReason(t *testing.T) {
	r := DefaultRules()
	article := Link{URL: "https://chinadigitaltimes.net/2016/06/another-post/", Kind: Anchor, Attr: "a@href"}
	source := Link{URL: "http://news.xinhuanet.com/english/2015-12/02/c_134876399.htm", Text: "[Source]", Kind: Anchor}
	image := Link{URL: "http://news.xinhuanet.com/img/photo.jpg", Kind: Image, Attr: "img@src"}
	cssURL := Link{URL: "http://news.xinhuanet.com/img/bg.png", Kind: CSSURL, Attr: "css@url"}
	tests := []struct {
		name       string
		page       Page
		link       Link
		follow     bool
		reason     archive.Reason
		depth      int
		whyContain string
	}{
		{name: "article page expands articles", page: cdtPage(t, "https://chinadigitaltimes.net/2016/06/x/", archive.ReasonArticle, 1), link: article,
			follow: true, reason: archive.ReasonArticle, depth: 2},
		{name: "article page follows sources", page: cdtPage(t, "https://chinadigitaltimes.net/2016/06/x/", archive.ReasonArticle, 1), link: source,
			follow: true, reason: archive.ReasonSource, depth: 2},
		{name: "nav page expands", page: cdtPage(t, "https://chinadigitaltimes.net/page/3/", archive.ReasonNav, 2), link: article,
			follow: true, reason: archive.ReasonArticle, depth: 3},
		{name: "source page links not expanded", page: cdtPage(t, "http://news.xinhuanet.com/english/2015-12/02/c_134876399.htm", archive.ReasonSource, 2),
			link: Link{URL: "http://news.xinhuanet.com/english/2015-12/03/other.htm", Kind: Anchor}, whyContain: "source pages are not expanded"},
		{name: "source page [Source] links not expanded", page: cdtPage(t, "http://news.xinhuanet.com/a.htm", archive.ReasonSource, 2), link: source,
			whyContain: "source pages are not expanded"},
		{name: "source page on-site article link not expanded", page: cdtPage(t, "http://news.xinhuanet.com/a.htm", archive.ReasonSource, 2), link: article,
			whyContain: "source pages are not expanded"},
		{name: "source page requisites followed", page: cdtPage(t, "http://news.xinhuanet.com/a.htm", archive.ReasonSource, 2), link: image,
			follow: true, reason: archive.ReasonRequisite, depth: 2},
		{name: "stylesheet url() followed", page: cdtPage(t, "http://news.xinhuanet.com/style.css", archive.ReasonRequisite, 2), link: cssURL,
			follow: true, reason: archive.ReasonRequisite, depth: 2},
		{name: "requisite not expanded", page: cdtPage(t, "http://news.xinhuanet.com/frame.svg", archive.ReasonRequisite, 2), link: image,
			whyContain: "found in a requisite"},
		{name: "requisite anchors not expanded", page: cdtPage(t, "http://news.xinhuanet.com/doc.svg", archive.ReasonRequisite, 1), link: article,
			whyContain: "page requisites are not expanded"},
		{name: "redirect page not expanded", page: cdtPage(t, "https://chinadigitaltimes.net/x", archive.ReasonRedirect, 1), link: article,
			whyContain: "redirect pages are not expanded"},
		{name: "redirect page requisites followed", page: cdtPage(t, "https://chinadigitaltimes.net/x", archive.ReasonRedirect, 1), link: image,
			follow: true, reason: archive.ReasonRequisite, depth: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := r.Decide(tt.page, tt.link)
			if d.Follow != tt.follow {
				t.Fatalf("Follow = %v, want %v (why: %s)", d.Follow, tt.follow, d.Why)
			}
			if tt.follow && (d.Reason != tt.reason || d.Depth != tt.depth) {
				t.Errorf("got reason %q depth %d, want %q %d", d.Reason, d.Depth, tt.reason, tt.depth)
			}
			if !strings.Contains(d.Why, tt.whyContain) {
				t.Errorf("Why = %q, want it to contain %q", d.Why, tt.whyContain)
			}
		})
	}
}

func TestDecideSettings(t *testing.T) {
	article := Link{URL: "https://chinadigitaltimes.net/2016/06/another-post/", Kind: Anchor}
	source := Link{URL: "http://news.xinhuanet.com/a.htm", Text: "[Source]", Kind: Anchor}
	image := Link{URL: "https://cdn.example.net/a.jpg", Kind: Image, Attr: "img@srcset"}
	with := func(f func(*Rules)) Rules {
		r := DefaultRules()
		f(&r)
		return r
	}
	tests := []struct {
		name       string
		rules      Rules
		page       Page
		link       Link
		follow     bool
		reason     archive.Reason
		depth      int
		whyContain string
	}{
		{name: "depth within limit", rules: with(func(r *Rules) { r.MaxDepth = 2 }),
			page: cdtPage(t, "https://chinadigitaltimes.net/2016/06/x/", archive.ReasonArticle, 1), link: article,
			follow: true, reason: archive.ReasonArticle, depth: 2},
		{name: "depth beyond limit", rules: with(func(r *Rules) { r.MaxDepth = 2 }),
			page: cdtPage(t, "https://chinadigitaltimes.net/2016/06/x/", archive.ReasonArticle, 2), link: article,
			reason: archive.ReasonArticle, depth: 3, whyContain: "depth 3 exceeds --max-depth 2"},
		{name: "source beyond limit", rules: with(func(r *Rules) { r.MaxDepth = 1 }),
			page: cdtPage(t, "https://chinadigitaltimes.net/2016/06/x/", archive.ReasonArticle, 1), link: source,
			reason: archive.ReasonSource, depth: 2, whyContain: "depth 2 exceeds --max-depth 1"},
		{name: "requisites ignore depth", rules: with(func(r *Rules) { r.MaxDepth = 1 }),
			page: cdtPage(t, "https://chinadigitaltimes.net/2016/06/x/", archive.ReasonArticle, 1), link: image,
			follow: true, reason: archive.ReasonRequisite, depth: 1},
		{name: "unlimited depth", rules: DefaultRules(),
			page: cdtPage(t, "https://chinadigitaltimes.net/2016/06/x/", archive.ReasonArticle, 500), link: article,
			follow: true, reason: archive.ReasonArticle, depth: 501},
		{name: "requisites off", rules: with(func(r *Rules) { r.Requisites = false }),
			page: cdtPage(t, cdtSeed, archive.ReasonSeed, 0), link: image,
			reason: archive.ReasonRequisite, whyContain: "requisites are turned off"},
		{name: "source by selector", rules: with(func(r *Rules) { r.SourceSelector = "a.source-link" }),
			page: cdtPage(t, cdtSeed, archive.ReasonSeed, 0), link: Link{URL: "https://www.nytimes.com/2016/06/x.html", Text: "The New York Times", Kind: Anchor, SourceSel: true},
			follow: true, reason: archive.ReasonSource, depth: 1, whyContain: `matches selector "a.source-link"`},
		{name: "selector miss", rules: with(func(r *Rules) { r.SourceSelector = "a.source-link"; r.SourceText = "" }),
			page: cdtPage(t, cdtSeed, archive.ReasonSeed, 0), link: source,
			whyContain: `off-site link not marked by selector "a.source-link"`},
		{name: "custom source text", rules: with(func(r *Rules) { r.SourceText = "来源" }),
			page: cdtPage(t, cdtSeed, archive.ReasonSeed, 0), link: Link{URL: "http://news.xinhuanet.com/a.htm", Text: " 来源 ", Kind: Anchor},
			follow: true, reason: archive.ReasonSource, depth: 1},
		{name: "on-site source that is not an article", rules: DefaultRules(),
			page: cdtPage(t, cdtSeed, archive.ReasonSeed, 0), link: Link{URL: "https://chinadigitaltimes.net/space/Grass-Mud_Horse", Text: "[Source]", Kind: Anchor},
			follow: true, reason: archive.ReasonSource, depth: 1, whyContain: "on-site source link"},
		{name: "on-site source that is an article", rules: DefaultRules(),
			page: cdtPage(t, cdtSeed, archive.ReasonSeed, 0), link: Link{URL: "https://chinadigitaltimes.net/2015/12/older/", Text: "[Source]", Kind: Anchor},
			follow: true, reason: archive.ReasonArticle, depth: 1},
		{name: "scope host", rules: with(func(r *Rules) { r.Scope = []string{"china.hrw.example"} }),
			page: cdtPage(t, cdtSeed, archive.ReasonSeed, 0), link: Link{URL: "https://china.hrw.example/2016/01/report/", Kind: Anchor},
			follow: true, reason: archive.ReasonArticle, depth: 1},
		{name: "scope wildcard", rules: with(func(r *Rules) { r.Scope = []string{"*.cdt.example"} }),
			page: cdtPage(t, cdtSeed, archive.ReasonSeed, 0), link: Link{URL: "https://blog.cdt.example/page/2/", Kind: Anchor},
			follow: true, reason: archive.ReasonNav, depth: 1},
		{name: "scope port mismatch", rules: with(func(r *Rules) { r.Scope = []string{"cdt.example:8080"} }),
			page: cdtPage(t, cdtSeed, archive.ReasonSeed, 0), link: Link{URL: "http://cdt.example:9090/2016/01/x/", Kind: Anchor},
			whyContain: "off-site"},
		{name: "custom article pattern", rules: with(func(r *Rules) { r.Article = regexp.MustCompile(`^/article/\d+$`) }),
			page: cdtPage(t, cdtSeed, archive.ReasonSeed, 0), link: Link{URL: "https://chinadigitaltimes.net/article/42", Kind: Anchor},
			follow: true, reason: archive.ReasonArticle, depth: 1},
		{name: "zero rules follow nothing", rules: Rules{},
			page: cdtPage(t, cdtSeed, archive.ReasonSeed, 0), link: article, whyContain: "matches neither"},
		{name: "no seeds: page's site", rules: DefaultRules(),
			page: Page{URL: mustURL(t, "https://chinadigitaltimes.net/"), Reason: archive.ReasonSeed}, link: article,
			follow: true, reason: archive.ReasonArticle, depth: 1},
		{name: "relative link refused", rules: DefaultRules(),
			page: cdtPage(t, cdtSeed, archive.ReasonSeed, 0), link: Link{URL: "/2016/06/x/", Kind: Anchor}, whyContain: "relative link"},
		{name: "unparsable relative link", rules: DefaultRules(),
			page: cdtPage(t, cdtSeed, archive.ReasonSeed, 0), link: Link{URL: "/a%zz", Kind: Anchor}, whyContain: "unparsable link"},
		{name: "ftp refused", rules: DefaultRules(),
			page: cdtPage(t, cdtSeed, archive.ReasonSeed, 0), link: Link{URL: "ftp://example.com/a", Kind: Anchor}, whyContain: "unsupported scheme ftp:"},
		{name: "fixture port is the site", rules: DefaultRules(),
			page: Page{URL: mustURL(t, "http://127.0.0.1:8080/"), Reason: archive.ReasonSeed, Seeds: []*url.URL{mustURL(t, "http://127.0.0.1:8080/")}},
			link: Link{URL: "http://127.0.0.1:8081/2016/06/x/", Kind: Anchor}, whyContain: "off-site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.rules.Decide(tt.page, tt.link)
			if d.Follow != tt.follow {
				t.Fatalf("Follow = %v, want %v (why: %s)", d.Follow, tt.follow, d.Why)
			}
			if (tt.follow || tt.reason != "") && (d.Reason != tt.reason || d.Depth != tt.depth) {
				t.Errorf("got reason %q depth %d, want %q %d", d.Reason, d.Depth, tt.reason, tt.depth)
			}
			if !strings.Contains(d.Why, tt.whyContain) {
				t.Errorf("Why = %q, want it to contain %q", d.Why, tt.whyContain)
			}
		})
	}
}

func TestDefaultPatterns(t *testing.T) {
	r := DefaultRules()
	tests := []struct {
		path    string
		article bool
		nav     bool
	}{
		{"/2016/06/u-s-china-cyber-group-holds-first-talks/", true, false},
		{"/2016/06/slug", true, false},
		{"/2016/06/slug/?amp", false, false},
		{"/2016/06/slug/feed/", false, false},
		{"/", false, true},
		{"/page/2/", false, true},
		{"/page/2", false, true},
		{"/page/x/", false, false},
		{"/category/china/", false, true},
		{"/category/china/politics/page/3/", false, true},
		{"/2016/", false, true},
		{"/2016/06/", false, true},
		{"/2016/06/page/2/", false, true},
		{"/tag/cyber/", false, false},
		{"/?s=cyber", false, false},
		{"/subscribe/", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := r.Article.MatchString(tt.path); got != tt.article {
				t.Errorf("Article matches %q = %v, want %v", tt.path, got, tt.article)
			}
			if got := r.Follow.MatchString(tt.path); got != tt.nav {
				t.Errorf("Follow matches %q = %v, want %v", tt.path, got, tt.nav)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		tag, attr, rel string
		want           LinkKind
	}{
		{"a", "href", "", Anchor},
		{"area", "href", "", Anchor},
		{"img", "src", "", Image},
		{"img", "srcset", "", Image},
		{"source", "srcset", "", Image},
		{"source", "src", "", Media},
		{"video", "poster", "", Media},
		{"script", "src", "", Script},
		{"link", "href", "stylesheet", Stylesheet},
		{"link", "href", "alternate stylesheet", Stylesheet},
		{"link", "href", "Shortcut Icon", Icon},
		{"link", "href", "apple-touch-icon", Icon},
		{"link", "href", "alternate", Other},
		{"link", "href", "canonical", Other},
		{"link", "href", "next", Other},
		{"embed", "src", "", Media},
		{"object", "data", "", Media},
		{"iframe", "src", "", Iframe},
		{"div", "style", "", CSSURL},
		{"form", "action", "", Other},
	}
	for _, tt := range tests {
		t.Run(tt.tag+"@"+tt.attr+" "+tt.rel, func(t *testing.T) {
			if got := KindOf(tt.tag, tt.attr, tt.rel); got != tt.want {
				t.Errorf("KindOf(%q, %q, %q) = %v, want %v", tt.tag, tt.attr, tt.rel, got, tt.want)
			}
		})
	}
	if s := LinkKind(99).String(); s != "LinkKind(99)" {
		t.Errorf("String of unknown kind = %q", s)
	}
}

func TestExtractSrcset(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "empty", in: "  ", want: nil},
		{name: "single", in: "a.jpg", want: []string{"a.jpg"}},
		{name: "descriptors", in: "a.jpg 1x, b.jpg 2x", want: []string{"a.jpg", "b.jpg"}},
		{name: "widths and newlines", in: "\n  small.jpg 480w,\n  large.jpg 1080w\n", want: []string{"small.jpg", "large.jpg"}},
		{name: "comma in url", in: "https://cdn.example/i.jpg?w=1,2 1x, /b.jpg 2x", want: []string{"https://cdn.example/i.jpg?w=1,2", "/b.jpg"}},
		// As in browsers: a comma inside a run of non-space is part of the URL.
		{name: "no spaces after comma", in: "a.jpg,b.jpg 2x", want: []string{"a.jpg,b.jpg"}},
		{name: "trailing commas", in: "a.jpg,, ,b.jpg,", want: []string{"a.jpg", "b.jpg"}},
		{name: "parenthesised descriptor", in: "a.jpg (x, y), b.jpg", want: []string{"a.jpg", "b.jpg"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExtractSrcset(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ExtractSrcset(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func BenchmarkDecide(b *testing.B) {
	r := DefaultRules()
	r.Scope = []string{"*.cdt.example"}
	p := cdtPage(b, cdtSeed, archive.ReasonSeed, 0)
	links := []Link{
		{URL: "https://chinadigitaltimes.net/2016/06/u-s-china-cyber-group-holds-first-talks/", Kind: Anchor},
		{URL: "http://news.xinhuanet.com/english/2015-12/02/c_134876399.htm", Text: "[Source]", Kind: Anchor},
		{URL: "https://chinadigitaltimes.net/tag/cybersecurity/", Kind: Anchor},
		{URL: "https://googleads.g.doubleclick.net/pagead/ads?client=ca-pub-1", Text: "Google Ads 1", Kind: Anchor},
		{URL: "https://chinadigitaltimes.net/wp-content/uploads/logo.png", Kind: Image, Attr: "img@src"},
		{URL: "javascript:void(0)", Kind: Anchor},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Decide(p, links[i%len(links)])
	}
}
