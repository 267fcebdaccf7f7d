package crawler_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/crawler"
	"github.com/amberarchive/amber/testdata/fixture"
)

// TestCrawlFollowsTheLinkRules crawls the fixture site with the default
// rules and checks, URL by URL, that what a correct crawl fetches was
// captured exactly once with the status the fixture answers, that nothing
// it must not fetch was fetched or even contacted, and that every capture
// says why it was fetched (issue 2, point 2).
func TestCrawlFollowsTheLinkRules(t *testing.T) {
	t.Parallel()
	srv := startFixture(t, fixture.Options{Articles: 12})
	e := srv.Expected()
	r := mustCrawl(t, baseConfig(t, srv.Resolve()), srv.Seed())
	caps := r.captures(t)

	for _, u := range e.Fetch() {
		cs := caps[u]
		if len(cs) != 1 {
			t.Errorf("%s captured %d times, want once", u, len(cs))
			continue
		}
		if got, want := cs[0].Status, e.Status[u]; got != want {
			t.Errorf("%s captured with status %d, the site answers %d", u, got, want)
		}
	}
	for u, why := range e.MustNot {
		if len(caps[u]) > 0 {
			t.Errorf("%s was captured but must not be (%s)", u, why)
		}
	}
	for _, h := range []string{fixture.Ads, fixture.Twitter, fixture.Facebook} {
		if n := srv.Requests(h); n != 0 {
			t.Errorf("%s received %d requests, want none", h, n)
		}
	}
	// Only the listed URLs, the sitemap and the wp-json Link are the
	// crawler's choice; a default crawl follows neither.
	fetch := map[string]bool{}
	for _, u := range e.Fetch() {
		fetch[u] = true
	}
	for u := range caps {
		if !fetch[u] {
			t.Errorf("captured %s, which a default crawl does not fetch", u)
		}
	}
	if got, want := r.stats.Fetched, int64(len(e.Fetch())); got != want {
		t.Errorf("Stats.Fetched = %d, want %d", got, want)
	}
	if r.stats.Failed != 0 {
		t.Errorf("Stats.Failed = %d, want 0", r.stats.Failed)
	}

	articles := map[string]bool{}
	for _, u := range e.Articles {
		articles[u] = true
	}
	redirectTargets := map[string]string{} // target -> redirecting URL
	for from, to := range e.Redirects {
		redirectTargets[to] = from
	}

	check := func(u string, c *archive.Capture) {
		t.Helper()
		parentCaptured := len(caps[c.Parent]) > 0
		switch {
		case u == e.Seed:
			if c.Reason != archive.ReasonSeed || c.Parent != "" || c.Hops != "" || c.Depth != 0 {
				t.Errorf("seed %s: reason %q parent %q hops %q depth %d; want seed, no parent, no hops, depth 0", u, c.Reason, c.Parent, c.Hops, c.Depth)
			}
		case slices.Contains(e.Robots, u):
			if c.Reason != archive.ReasonRobots || c.Hops != "P" {
				t.Errorf("robots %s: reason %q hops %q; want robots, P", u, c.Reason, c.Hops)
			}
		case redirectTargets[u] != "" && !articles[u]:
			// A redirect target first met through the redirect.
			if c.Reason != archive.ReasonRedirect || c.Parent != redirectTargets[u] || c.Anchor != "Location" || !strings.HasSuffix(c.Hops, "R") {
				t.Errorf("redirect target %s: reason %q parent %q anchor %q hops %q; want redirect from %s, Location, ...R",
					u, c.Reason, c.Parent, c.Anchor, c.Hops, redirectTargets[u])
			}
		case slices.Contains(e.Sources, u):
			if c.Reason != archive.ReasonSource || c.Anchor != "[Source]" || !articles[c.Parent] || !strings.HasSuffix(c.Hops, "L") {
				t.Errorf("source %s: reason %q anchor %q parent %q hops %q; want source, [Source], an article parent, ...L",
					u, c.Reason, c.Anchor, c.Parent, c.Hops)
			}
		case articles[u]:
			if c.Reason != archive.ReasonArticle || c.Anchor == "" || !parentCaptured || !strings.HasSuffix(c.Hops, "L") || c.Depth != len(c.Hops) {
				t.Errorf("article %s: reason %q anchor %q parent %q hops %q depth %d; want article, link text, a captured parent, ...L, depth = hops",
					u, c.Reason, c.Anchor, c.Parent, c.Hops, c.Depth)
			}
		case slices.Contains(e.Nav, u):
			if c.Reason != archive.ReasonNav || !parentCaptured || !strings.HasSuffix(c.Hops, "L") {
				t.Errorf("nav %s: reason %q parent %q hops %q; want nav, a captured parent, ...L", u, c.Reason, c.Parent, c.Hops)
			}
		case slices.Contains(e.Requisites, u):
			if c.Reason != archive.ReasonRequisite || !parentCaptured || !strings.HasSuffix(c.Hops, "E") || c.Anchor == "" {
				t.Errorf("requisite %s: reason %q parent %q anchor %q hops %q; want requisite, a captured parent, an attribute, ...E",
					u, c.Reason, c.Parent, c.Anchor, c.Hops)
			}
		}
		// Whatever the kind, the hop path names how it was reached.
		if c.Reason != archive.ReasonSeed && c.Reason != archive.ReasonRobots {
			if pc := caps[c.Parent]; len(pc) == 1 && c.Hops != pc[0].Hops+c.Hops[len(c.Hops)-1:] {
				t.Errorf("%s: hops %q do not extend its parent %s's hops %q by one", u, c.Hops, c.Parent, pc[0].Hops)
			}
		}
	}
	for u, cs := range caps {
		for _, c := range cs {
			check(u, c)
		}
	}

	// Each kind is actually present, so the checks above were not vacuous.
	byReason := map[archive.Reason]int{}
	for _, cs := range caps {
		for _, c := range cs {
			byReason[c.Reason]++
		}
	}
	for _, reason := range []archive.Reason{archive.ReasonSeed, archive.ReasonRobots, archive.ReasonArticle,
		archive.ReasonNav, archive.ReasonSource, archive.ReasonRequisite, archive.ReasonRedirect} {
		if byReason[reason] == 0 {
			t.Errorf("no capture with reason %s", reason)
		}
	}
	// A 301 keeps the reason of what redirected: the slashless article link.
	for from, to := range e.Redirects {
		c := caps[from]
		if len(c) != 1 {
			continue
		}
		if c[0].Location != to {
			t.Errorf("%s: Location %q, want %q", from, c[0].Location, to)
		}
		if articles[from] && c[0].Reason != archive.ReasonArticle {
			t.Errorf("slashless article %s: reason %q, want article", from, c[0].Reason)
		}
	}

	// Why a URL was not fetched, for each kind of refusal.
	cdt := srv.URL(fixture.CDT)
	var disallowed, further, tag, share string
	for u, why := range e.MustNot {
		switch {
		case strings.HasPrefix(why, "disallowed by"):
			disallowed = u
		case strings.HasPrefix(why, "linked from a source page"):
			further = u
		case strings.HasPrefix(u, cdt+"/tag/"):
			tag = u
		case strings.HasPrefix(u, srv.URL(fixture.Twitter)+"/intent/"):
			share = u
		}
	}
	notFetched := []struct {
		name, url string
		want      []string // substrings of the skip's Why
	}{
		{"tag page", tag, []string{"neither the article nor the navigation pattern"}},
		{"robots-disallowed source", disallowed, []string{"robots.txt disallows", "Disallow: /investigates/"}},
		{"link on a source page", further, []string{"source pages are not expanded"}},
		{"share widget", share, []string{"off-site link not marked [Source]"}},
		{"ad", srv.URL(fixture.Ads) + "/click?ad=1&slot=sidebar-top", []string{"off-site link not marked [Source]"}},
		{"subscribe box", cdt + "/subscribe/", []string{"neither the article nor the navigation pattern"}},
		// Linked from the subscribe box and <link rel=alternate>; the
		// store keeps the first decision, the anchor's.
		{"feed", cdt + "/feed/", []string{"neither the article nor the navigation pattern"}},
	}
	for _, tt := range notFetched {
		t.Run("why not "+tt.name, func(t *testing.T) {
			if tt.url == "" {
				t.Fatalf("the fixture's Expected has no %s", tt.name)
			}
			why, ok := r.skipWhy(t, tt.url)
			if !ok {
				t.Fatalf("store.Why(%s) has no skipped decision: %+v", tt.url, r.why(t, tt.url))
			}
			if !containsFold(why, tt.want...) {
				t.Errorf("store.Why(%s) says %q, want it to mention %q", tt.url, why, tt.want)
			}
		})
	}
	t.Run("why fetched", func(t *testing.T) {
		src := e.Sources[0]
		var captured *archive.Decision
		for _, d := range r.why(t, src) {
			if d.Kind == archive.DecisionCaptured {
				captured = &d
			}
		}
		if captured == nil || captured.Reason != archive.ReasonSource || captured.Anchor != "[Source]" || captured.Parent == "" {
			t.Errorf("store.Why(%s) = %+v, want a captured decision with reason source, anchor [Source] and its parent", src, r.why(t, src))
		}
	})
}

// TestCrawlRulesAreConfigurable changes one rule at a time and checks the
// crawl changes accordingly (issue 2, point 2: "the rules are configurable").
func TestCrawlRulesAreConfigurable(t *testing.T) {
	t.Parallel()
	sourceHosts := []string{fixture.Xinhua, fixture.VOA, fixture.NYTimes, fixture.Reuters}

	tests := []struct {
		name  string
		rules func(*crawler.Rules)
		check func(t *testing.T, srv *fixture.Server, r crawlResult, caps map[string][]*archive.Capture)
	}{
		{
			name:  "no requisites",
			rules: func(r *crawler.Rules) { r.Requisites = false },
			check: func(t *testing.T, srv *fixture.Server, r crawlResult, caps map[string][]*archive.Capture) {
				e := srv.Expected()
				for u, cs := range caps {
					if c := cs[0]; c.Reason == archive.ReasonRequisite || strings.HasPrefix(c.MIME, "image/") || c.MIME == "text/css" {
						t.Errorf("captured %s (%s, %s) with requisites off", u, c.Reason, c.MIME)
					}
				}
				for _, u := range e.Articles[:3] {
					if len(caps[u]) == 0 {
						t.Errorf("article %s not captured with requisites off", u)
					}
				}
				css := e.Requisites[0]
				if why, ok := r.skipWhy(t, css); !ok || !containsFold(why, "requisites are turned off") {
					t.Errorf("Why(%s) = %q, want it to say requisites are turned off", css, why)
				}
			},
		},
		{
			name: "custom article pattern",
			// Tag pages become articles too, and the pattern now wants the
			// trailing slash, so the slashless article link is refused.
			rules: func(r *crawler.Rules) { r.Article = regexp.MustCompile(`^/(\d{4}/\d{2}/[^/?#]+|tag/[^/?#]+)/$`) },
			check: func(t *testing.T, srv *fixture.Server, r crawlResult, caps map[string][]*archive.Capture) {
				e, cdt := srv.Expected(), srv.URL(fixture.CDT)
				tags := 0
				for u, cs := range caps {
					if strings.HasPrefix(u, cdt+"/tag/") {
						tags++
						if cs[0].Reason != archive.ReasonArticle {
							t.Errorf("tag page %s captured as %s, want article", u, cs[0].Reason)
						}
					}
				}
				if tags == 0 {
					t.Errorf("no tag page captured with the custom article pattern")
				}
				for from := range e.Redirects {
					if !strings.HasPrefix(from, cdt) {
						continue
					}
					if len(caps[from]) != 0 {
						t.Errorf("slashless %s captured, though the custom pattern wants the slash", from)
					}
					if why, ok := r.skipWhy(t, from); !ok || !containsFold(why, "matches neither") {
						t.Errorf("Why(%s) = %q, want it to say it matches neither pattern", from, why)
					}
				}
			},
		},
		{
			name:  "custom source text",
			rules: func(r *crawler.Rules) { r.SourceText = "Share on Facebook" },
			check: func(t *testing.T, srv *fixture.Server, r crawlResult, caps map[string][]*archive.Capture) {
				e := srv.Expected()
				for _, h := range sourceHosts {
					if n := srv.Requests(h); n != 0 {
						t.Errorf("%s received %d requests, though [Source] no longer marks sources", h, n)
					}
				}
				n := 0
				for u, cs := range caps {
					if strings.HasPrefix(u, srv.URL(fixture.Facebook)+"/sharer/") {
						n++
						if c := cs[0]; c.Reason != archive.ReasonSource || c.Anchor != "Share on Facebook" {
							t.Errorf("%s: reason %q anchor %q, want source, Share on Facebook", u, c.Reason, c.Anchor)
						}
					}
				}
				if n == 0 {
					t.Errorf("no facebook share page captured with SourceText %q", "Share on Facebook")
				}
				src := e.Sources[0]
				if why, ok := r.skipWhy(t, src); !ok || !containsFold(why, "off-site link not marked Share on Facebook") {
					t.Errorf("Why(%s) = %q, want it to say the link is not marked Share on Facebook", src, why)
				}
			},
		},
		{
			name: "source selector",
			rules: func(r *crawler.Rules) {
				r.SourceText = ""
				r.SourceSelector = `blockquote a[target="_blank"]`
			},
			check: func(t *testing.T, srv *fixture.Server, r crawlResult, caps map[string][]*archive.Capture) {
				e := srv.Expected()
				for _, u := range e.Sources {
					cs := caps[u]
					if len(cs) != 1 {
						t.Errorf("source %s captured %d times with the selector, want once", u, len(cs))
						continue
					}
					if cs[0].Reason != archive.ReasonSource && cs[0].Reason != archive.ReasonRedirect {
						t.Errorf("source %s captured as %s", u, cs[0].Reason)
					}
				}
			},
		},
		{
			name:  "max depth 1",
			rules: func(r *crawler.Rules) { r.MaxDepth = 1 },
			check: func(t *testing.T, srv *fixture.Server, r crawlResult, caps map[string][]*archive.Capture) {
				e := srv.Expected()
				for u, cs := range caps {
					if c := cs[0]; c.Depth > 1 {
						t.Errorf("%s captured at depth %d (hops %q) with MaxDepth 1", u, c.Depth, c.Hops)
					}
				}
				// The oldest article is only on /page/2/, categories and
				// related posts: two links from the seed.
				oldest := e.Articles[0]
				if len(caps[oldest]) != 0 {
					t.Errorf("%s captured with MaxDepth 1", oldest)
				}
				if why, ok := r.skipWhy(t, oldest); !ok || !containsFold(why, "exceeds --max-depth 1") {
					t.Errorf("Why(%s) = %q, want it to name the depth limit", oldest, why)
				}
				// Requisites do not count: the front page's stylesheet is in.
				if len(caps[e.Requisites[0]]) != 1 {
					t.Errorf("requisite %s not captured with MaxDepth 1", e.Requisites[0])
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startFixture(t, fixture.Options{Articles: 12})
			cfg := baseConfig(t, srv.Resolve())
			tt.rules(&cfg.Rules)
			r := mustCrawl(t, cfg, srv.Seed())
			tt.check(t, srv, r, r.captures(t))
		})
	}
}
