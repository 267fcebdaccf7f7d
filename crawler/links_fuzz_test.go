package crawler

import (
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/amberarchive/amber/testdata/chaos"
)

// FuzzExtractLinks feeds arbitrary HTML and source selectors to
// ExtractLinks: it must never panic, must be deterministic, and every link
// must carry its attribute and a kind consistent with it.
func FuzzExtractLinks(f *testing.F) {
	f.Add([]byte(chaos.XSSPage), "a.source")
	f.Add([]byte(`<html><head><base href="/b/"><link rel="stylesheet icon" href="s.css"><style>@import "x.css"; a{background:url(i.png)}</style></head><body><a href="../x" rel=nofollow>[Source]</a><img src=a.png srcset="b.png 2x, c,d.png 3x"><video poster=p.jpg src=v.mp4></video><iframe src=//ads.test/></iframe><p style="background:url('q.gif')">t</p><area href="javascript:x"><a href="http://[::1">bad</a></body></html>`), "a:contains('Source')")
	f.Add([]byte("<a href=\"\x00\xff%zz\">\xed\xa0\x80</a>"), "[[[")
	f.Add([]byte(""), "")
	// The fixture site's stylesheets and scripts, as bodies a server may
	// label text/html.
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "fixture", "site", "*", "*"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, "")
		}
	}
	base, _ := url.Parse("http://www.example.test/2016/05/page/")
	f.Fuzz(func(t *testing.T, html []byte, sel string) {
		links := ExtractLinks(base, html, sel)
		if again := ExtractLinks(base, html, sel); !reflect.DeepEqual(links, again) {
			t.Fatalf("not deterministic")
		}
		for _, l := range links {
			tag, attr, ok := strings.Cut(l.Attr, "@")
			if !ok || tag == "" || attr == "" {
				t.Fatalf("link %+v has no tag@attr", l)
			}
			if l.Kind == Anchor && tag != "a" && tag != "area" {
				t.Fatalf("anchor from <%s>: %+v", tag, l)
			}
			if l.Text != "" && l.Kind != Anchor {
				t.Fatalf("text on a %s link: %+v", l.Kind, l)
			}
			if l.SourceSel && (sel == "" || l.Kind != Anchor) {
				t.Fatalf("SourceSel without a selector or on a non-anchor: %+v", l)
			}
			// What the crawl queues must canonicalise stably.
			if cu, err := Canonical(l.URL); err == nil {
				if again, err := Canonical(cu); err != nil || again != cu {
					t.Fatalf("Canonical not idempotent on %q: %q then %q (%v)", l.URL, cu, again, err)
				}
			}
		}
	})
}
