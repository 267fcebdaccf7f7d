package replay_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/crawler"
	"github.com/amberarchive/amber/replay"
	"github.com/amberarchive/amber/testdata/fixture"
)

const chromiumPath = "/usr/bin/chromium"

// crawlFixture crawls a 12-article fixture site into a new store, then
// stops the site, so nothing live is reachable afterwards.
func crawlFixture(t *testing.T) *archive.Store {
	t.Helper()
	srv, err := fixture.Start(fixture.Options{Articles: 12})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := crawler.DefaultConfig()
	cfg.Delay = 0
	cfg.MaxCrawlDelay = time.Millisecond
	cfg.Resolve = srv.Resolve()
	cfg.Contact = "mailto:test@amber.invalid"
	store, err := archive.Open(filepath.Join(t.TempDir(), "amber.db"), archive.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	run, err := store.CreateRun(ctx, archive.Run{Seeds: []string{srv.Seed()}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := crawler.New(cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(ctx, run.ID, []string{srv.Seed()}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	return store
}

// TestBrowserReplay loads an archived article in headless Chromium, checks
// that it rendered with its archived stylesheet (and the one that imports)
// and images, follows its [Source] link to the archived source page, checks
// that page's own stylesheet and images, and checks that the browser asked
// nothing of any origin but the replay server.
func TestBrowserReplay(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (apt-get install chromium); CI=true requires the browser test", chromiumPath)
		}
		t.Skipf("%s is missing: install Debian's chromium package to run the browser test", chromiumPath)
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	store := crawlFixture(t)

	// The article to read: the page a 200 Xinhua [Source] was cited from.
	var article, source string
	err := store.Captures(context.Background(), "", func(c *archive.Capture) error {
		if c.Reason == archive.ReasonSource && c.Status == 200 && strings.Contains(c.URL, "xinhua.test") {
			article, source = c.Parent, c.URL
			return errors.New("found")
		}
		return nil
	})
	if article == "" {
		t.Fatalf("no archived Xinhua source to follow (%v)", err)
	}

	ts := httptest.NewServer(replay.New(store, replay.Options{Banner: true}))
	defer ts.Close()

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	defer cancelAlloc()
	var mu sync.Mutex
	var requested []string
	status := map[string]int64{}
	listen := func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			requested = append(requested, e.Request.URL)
		case *network.EventResponseReceived:
			status[e.Response.URL] = e.Response.Status
		}
	}
	// Network events are on from the tab's start, so the listener sees
	// every request, the first navigation's included.
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(listen))
	defer cancel()
	if err := chromedp.Do(ctx); err != nil { // start the browser without a timeout
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return fmt.Sprint(v)
	}

	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(ts.URL+"/web/2016/"+article))
	if err != nil {
		t.Fatalf("article %s: %v", article, err)
	}
	if resp.Status != 200 {
		t.Fatalf("article %s answered %d", article, resp.Status)
	}
	// #8b0000 from style.css; the font from css/typography.css, which style.css @imports.
	if bg := eval(`getComputedStyle(document.querySelector('#masthead')).backgroundColor`); bg != "rgb(139, 0, 0)" {
		t.Errorf("masthead background %q: archived style.css not applied", bg)
	}
	if font := eval(`getComputedStyle(document.querySelector('h1.entry-title')).fontFamily`); !strings.Contains(font, "Helvetica Neue") {
		t.Errorf("h1 font %q: @imported typography.css not applied", font)
	}
	if w := eval(`document.querySelector('.entry-content img').naturalWidth`); w == "0" {
		t.Errorf("article image naturalWidth %s: archived image not loaded", w)
	}
	if w := eval(`document.querySelector('#masthead .logo img').naturalWidth`); w == "0" {
		t.Errorf("logo naturalWidth %s: archived image not loaded", w)
	}
	if b := eval(`document.getElementById('amber-replay-banner').textContent`); !strings.Contains(b, "Archived copy") {
		t.Errorf("banner text %q", b)
	}
	if title := eval(`document.title`); title == "" || strings.Contains(title, "amber replay") {
		t.Errorf("title %q is not the archived article's", title)
	}
	sourceHref := eval(`Array.from(document.querySelectorAll('a')).find(a => a.textContent.trim() === '[Source]' && a.href.includes('xinhua.test')).href`)
	if !strings.HasPrefix(sourceHref, ts.URL+"/web/") || !strings.HasSuffix(sourceHref, source) {
		t.Fatalf("[Source] link %q does not lead to the archived %s", sourceHref, source)
	}

	// Follow [Source] as a reader would, in this tab rather than a new one.
	resp, err = chromedp.RunResponse(ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		const a = Array.from(document.querySelectorAll('a')).find(a => a.href === `+jsString(sourceHref)+`);
		a.removeAttribute('target');
		a.click();
	})()`))
	if err != nil {
		t.Fatalf("following [Source] to %s: %v", sourceHref, err)
	}
	if resp.Status != 200 || resp.URL != sourceHref {
		t.Errorf("[Source] click: %d at %s, want 200 at %s", resp.Status, resp.URL, sourceHref)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.readyState === 'complete'`)); err != nil {
		t.Fatal(err)
	}
	if loc := eval(`location.href`); loc != sourceHref {
		t.Errorf("after the click the browser is at %s, want %s", loc, sourceHref)
	}
	headerBG := eval(`getComputedStyle(document.querySelector('.header')).backgroundColor`)
	headerImage := eval(`getComputedStyle(document.querySelector('.header')).backgroundImage`)
	if headerBG != "rgb(204, 0, 0)" || !strings.Contains(headerImage, ts.URL+"/web/") {
		t.Errorf("source page header: background %q, image %q: archived xinhua.css not applied", headerBG, headerImage)
	}
	if w := eval(`Math.min(...Array.from(document.images).map(i => i.naturalWidth))`); w == "0" || w == "Infinity" {
		t.Errorf("source page images not loaded (smallest naturalWidth %s)", w)
	}

	// A script in the archived page trying the live web is stopped by the
	// CSP: the attempts fail and the page sees a policy violation for each.
	const live = "http://xinhua.test:1/live-probe"
	eval(`window.__violations = []; document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.blockedURI)); 'ok'`)
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch('`+live+`').then(() => 'reached', () => 'blocked')`, chromedp.EvalAwaitPromise))
	if err != nil || got != "blocked" {
		t.Errorf("fetch of a live URL from an archived page: %q, %v", got, err)
	}
	eval(`new Image().src = '` + live + `?img'; 'ok'`)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.__violations.length >= 2`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Errorf("CSP violations for live requests: %s (%v)", eval(`JSON.stringify(window.__violations)`), err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(requested) < 8 {
		t.Errorf("only %d requests seen: network events not recorded?", len(requested))
	}
	for _, u := range requested {
		if !strings.HasPrefix(u, ts.URL+"/") && !strings.HasPrefix(u, "data:") && !strings.HasPrefix(u, live) {
			t.Errorf("request left the replay origin: %s", u)
		}
	}
	for u, st := range status {
		if strings.Contains(u, "im_/") || strings.Contains(u, "cs_/") {
			if st != 200 {
				t.Errorf("%s answered %d", u, st)
			}
		}
	}
	t.Logf("%d requests seen; article %s, source %s", len(requested), article, source)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "<", `\x3c`)
	return "'" + r.Replace(s) + "'"
}
