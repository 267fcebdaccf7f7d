package crawler

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/temoto/robotstxt"
)

func TestProductToken(t *testing.T) {
	tests := []struct {
		name, ua, want string
	}{
		{"amber UA", "amber/0.1 (+https://example.org/contact)", "amber"},
		{"bare token", "amber", "amber"},
		{"dash and underscore", "my_bot-x/2.0", "my_bot-x"},
		{"leading space", "  Amber/1", "Amber"},
		{"browser UA", "Mozilla/5.0 (compatible; mybot/1.0)", "Mozilla"},
		{"digits end the token", "bot2/1", "bot"},
		{"empty", "", ""},
		{"no token", "/1.0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ProductToken(tt.ua); got != tt.want {
				t.Errorf("ProductToken(%q) = %q, want %q", tt.ua, got, tt.want)
			}
		})
	}
}

// TestRobotsRFC9309 runs the behaviour RFC 9309 asks for, one case a row.
func TestRobotsRFC9309(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		token string
		path  string
		want  bool
	}{
		// Lines that do not parse are ignored, not fatal (§2.2).
		{"bad crawl-delay ignored", "User-agent: *\nCrawl-delay: 5s\nDisallow: /private/\n", "amber", "/private/x", false},
		{"rule before user-agent ignored", "Disallow: /\nUser-agent: *\nDisallow: /private/\n", "amber", "/public", true},
		{"garbage lines ignored", "User-agent: *\nthis is not a rule\n:::\nDisallow: /p\n", "amber", "/p", false},
		{"unknown field does not end the group", "User-agent: amber\nFoo: bar\nUser-agent: other\nDisallow: /\n", "amber", "/x", false},
		{"BOM skipped", "\uFEFFUser-agent: amber\nDisallow: /\n", "amber", "/x", false},
		{"partial BOM skipped", "\xEF\xBBUser-agent: amber\nDisallow: /\n", "amber", "/x", false},
		{"CRLF lines", "User-agent: amber\r\nDisallow: /x\r\nAllow: /x/y\r\n", "amber", "/x/z", false},
		{"CR-only lines", "User-agent: amber\rDisallow: /x\rAllow: /x/y\r", "amber", "/x/y", true},
		{"no final newline", "User-agent: amber\nDisallow: /x", "amber", "/x", false},
		{"comments stripped", "User-agent: amber # us\nDisallow: /x#y\n", "amber", "/x", false},
		{"missing colon accepted", "user-agent amber\ndisallow /x\n", "amber", "/x", false},
		{"misspelt disallow honoured", "User-agent: amber\nDisalow: /x\n", "amber", "/x", false},
		{"empty file", "", "amber", "/x", true},

		// Group selection (§2.2.1).
		{"token matches case-insensitively", "User-agent: AMBER\nDisallow: /\n", "amber", "/x", false},
		{"token is exact, not a prefix", "User-agent: amb\nDisallow: /\nUser-agent: *\nAllow: /\n", "amber", "/x", true},
		{"longer group name is not ours", "User-agent: amberbot\nDisallow: /\n", "amber", "/x", true},
		{"falls back to star", "User-agent: other\nAllow: /\nUser-agent: *\nDisallow: /\n", "amber", "/x", false},
		{"own group beats star", "User-agent: *\nDisallow: /\nUser-agent: amber\nDisallow: /y\n", "amber", "/x", true},
		{"no group at all allows", "User-agent: other\nDisallow: /\n", "amber", "/x", true},
		{"shared group, second agent", "User-agent: other\nUser-agent: amber\nDisallow: /x\n", "amber", "/x", false},
		{"shared group across blank line", "User-agent: other\n\nUser-agent: amber\nDisallow: /x\n", "amber", "/x", false},
		{"sitemap does not end the group", "User-agent: amber\nSitemap: https://a.test/s.xml\nUser-agent: *\nDisallow: /\n", "amber", "/x", false},
		{"same agent groups merged 1", "User-agent: amber\nDisallow: /a\nUser-agent: other\nDisallow: /\nUser-agent: amber\nDisallow: /b\n", "amber", "/a", false},
		{"same agent groups merged 2", "User-agent: amber\nDisallow: /a\nUser-agent: other\nDisallow: /\nUser-agent: amber\nDisallow: /b\n", "amber", "/b", false},
		{"rule after group closed stays in it", "User-agent: amber\nDisallow: /a\n\nDisallow: /b\n", "amber", "/b", false},
		{"group line with version", "User-agent: amber/0.1\nDisallow: /\n", "amber", "/x", false},
		{"group line without token matches nobody", "User-agent: *\nAllow: /\nUser-agent: /weird\nDisallow: /\n", "amber", "/x", true},
		{"crawl-delay closes the group", "User-agent: *\nCrawl-delay: 10\n\nUser-agent: other\nDisallow: /\n", "amber", "/x", true},
		{"bad crawl-delay does not close the group", "User-agent: amber\nCrawl-delay: soon\nUser-agent: other\nDisallow: /\n", "amber", "/x", false},
		{"empty rule closes the group", "User-agent: amber\nDisallow:\nUser-agent: other\nDisallow: /\n", "amber", "/x", true},

		// Longest match wins, in octets; Allow wins ties (§2.2.2).
		{"longer disallow wins", "User-agent: *\nAllow: /x/\nDisallow: /x/page\n", "amber", "/x/page.html", false},
		{"longer allow wins", "User-agent: *\nDisallow: /x/\nAllow: /x/page\n", "amber", "/x/page.html", true},
		{"allow wins a tie", "User-agent: *\nDisallow: /page\nAllow: /page\n", "amber", "/page", true},
		{"allow wins a tie, other order", "User-agent: *\nAllow: /page\nDisallow: /page\n", "amber", "/page", true},
		{"wildcard length is its octets", "User-agent: *\nAllow: /*.html\nDisallow: /dir/sub/\n", "amber", "/dir/sub/a.html", false},
		{"longer wildcard wins", "User-agent: *\nAllow: /page\nDisallow: /*.html\n", "amber", "/page.html", false},
		{"paths are case-sensitive", "User-agent: *\nDisallow: /X/\n", "amber", "/x/y", true},

		// Wildcards and the end anchor.
		{"star in the middle", "User-agent: *\nDisallow: /foo*bar\n", "amber", "/foo/x/bar", false},
		{"match anchored at start", "User-agent: *\nDisallow: /foo*bar\n", "amber", "/x/foo/bar", true},
		{"leading star", "User-agent: *\nDisallow: *.pdf\n", "amber", "/a/b.pdf", false},
		{"trailing star is a prefix", "User-agent: *\nDisallow: /fish*\n", "amber", "/fishheads", false},
		{"dollar anchors", "User-agent: *\nDisallow: /*.php$\n", "amber", "/a.php", false},
		{"dollar anchors, longer path", "User-agent: *\nDisallow: /*.php$\n", "amber", "/a.php?x", true},
		{"dollar on a literal", "User-agent: *\nDisallow: /x$\n", "amber", "/x/", true},
		{"dollar in the middle is literal", "User-agent: *\nDisallow: /a$b\n", "amber", "/a$b/c", false},
		{"two stars", "User-agent: *\nDisallow: /a*b*c$\n", "amber", "/aXbYbZc", false},
		{"two stars, no match", "User-agent: *\nDisallow: /a*b*c$\n", "amber", "/aXcYb", true},
		{"star then anchored tail overlaps", "User-agent: *\nDisallow: /*ab$\n", "amber", "/ab", false},

		// Percent-encoding (§2.2.2).
		{"encoded tilde in rule", "User-agent: *\nDisallow: /%7Ejoe\n", "amber", "/~joe/x", false},
		{"encoded tilde in path", "User-agent: *\nDisallow: /~joe\n", "amber", "/%7ejoe/x", false},
		{"hex case ignored", "User-agent: *\nDisallow: /a%2fb\n", "amber", "/a%2Fb", false},
		{"reserved stays encoded", "User-agent: *\nDisallow: /a/b\n", "amber", "/a%2Fb", true},
		{"UTF-8 rule vs encoded path", "User-agent: *\nDisallow: /ツ\n", "amber", "/%E3%83%84", false},
		{"space in rule", "User-agent: *\nDisallow: /a b\n", "amber", "/a%20b", false},
		{"query is matched", "User-agent: *\nDisallow: /p?z=\n", "amber", "/p?z=1&a=2", false},
		{"query is not reordered", "User-agent: *\nDisallow: /p?a=\n", "amber", "/p?z=1&a=2", true},
		{"query wildcard", "User-agent: *\nDisallow: /*?*sessionid=\n", "amber", "/a?x=1&sessionid=2", false},

		// Implicit and empty rules.
		{"robots.txt always allowed", "User-agent: *\nDisallow: /\n", "amber", "/robots.txt", true},
		{"robots.txt with query allowed", "User-agent: *\nDisallow: /\n", "amber", "/robots.txt?x=1", true},
		{"robots.txt encoded allowed", "User-agent: *\nDisallow: /\n", "amber", "/robots%2Etxt", true},
		{"robots.txt.bak not exempt", "User-agent: *\nDisallow: /\n", "amber", "/robots.txt.bak", false},
		{"empty disallow allows all", "User-agent: *\nDisallow:\n", "amber", "/x", true},
		{"empty path tested as root", "User-agent: *\nDisallow: /$\n", "amber", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRobots(200, []byte(tt.body), nil)
			got, rule := r.Test(tt.token, tt.path)
			if got != tt.want {
				t.Errorf("Test(%q, %q) = %v (%s), want %v", tt.token, tt.path, got, rule, tt.want)
			}
			if rule == "" {
				t.Error("empty explanation")
			}
		})
	}
}

func TestRobotsExplanation(t *testing.T) {
	r := NewRobots(200, []byte("User-agent: *\nAllow: /\n\nUser-agent: Amber\nDisallow: /private/\n"), nil)
	tests := []struct {
		name, token, path string
		want              bool
		rule              string
	}{
		{"own group rule", "amber", "/private/x", false, "Disallow: /private/ (robots.txt line 5, group 'Amber')"},
		{"own group, nothing matches", "amber", "/public", true, "no rule matches (robots.txt group 'amber')"},
		{"star group", "other", "/x", true, "Allow: / (robots.txt line 2, group '*')"},
		{"robots.txt", "amber", "/robots.txt", true, "/robots.txt is always allowed (RFC 9309 §2.2.2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rule := r.Test(tt.token, tt.path)
			if got != tt.want || rule != tt.rule {
				t.Errorf("Test(%q, %q) = %v, %q; want %v, %q", tt.token, tt.path, got, rule, tt.want, tt.rule)
			}
		})
	}
}

func TestNewRobotsStatus(t *testing.T) {
	body := []byte("User-agent: *\nDisallow: /private/\n")
	tests := []struct {
		name        string
		status      int
		err         error
		unavailable bool
		public      bool // may /public be fetched
		private     bool // may /private/x be fetched
	}{
		{"200 parsed", 200, nil, false, true, false},
		{"204 parsed (empty)", 204, nil, false, true, false},
		{"404 allows all", 404, nil, false, true, true},
		{"401 allows all", 401, nil, false, true, true},
		{"403 allows all", 403, nil, false, true, true},
		{"429 is overload, not permission: disallows all for now", 429, nil, true, false, false},
		{"500 disallows all", 500, nil, true, false, false},
		{"503 disallows all", 503, nil, true, false, false},
		{"network error disallows all", 0, errors.New("dial tcp: connection refused"), true, false, false},
		{"error wins over a status", 200, errors.New("read: connection reset"), true, false, false},
		{"unfollowed redirect", 301, nil, true, false, false},
		{"1xx", 100, nil, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := body
			if tt.status == 204 {
				b = nil
			}
			r := NewRobots(tt.status, b, tt.err)
			if got := r.Unavailable(); got != tt.unavailable {
				t.Errorf("Unavailable() = %v, want %v", got, tt.unavailable)
			}
			if r.Reason() == "" {
				t.Error("empty Reason()")
			}
			if got, rule := r.Test("amber", "/public"); got != tt.public {
				t.Errorf("Test(/public) = %v (%s), want %v", got, rule, tt.public)
			}
			want := tt.private
			if tt.status == 204 {
				want = true
			}
			if got, rule := r.Test("amber", "/private/x"); got != want {
				t.Errorf("Test(/private/x) = %v (%s), want %v", got, rule, want)
			}
			if ok, _ := r.Test("amber", "/robots.txt"); !ok {
				t.Error("/robots.txt not allowed")
			}
		})
	}
}

// TestRobotsFetchLoopback fetches robots.txt from real loopback servers, the
// way the crawler does, and checks each outcome maps as RFC 9309 §2.3.1 asks.
func TestRobotsFetchLoopback(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "User-agent: amber\nDisallow: /private/\nCrawl-delay: 2\n")
	})
	mux.HandleFunc("/gone/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusNotFound)
	})
	mux.HandleFunc("/down/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// An address with nothing listening: a refused connection.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()

	client := &http.Client{Timeout: 5 * time.Second}
	fetch := func(u string) *Robots {
		resp, err := client.Get(u)
		if err != nil {
			return NewRobots(0, nil, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, MaxRobotsSize))
		return NewRobots(resp.StatusCode, body, err)
	}
	tests := []struct {
		name        string
		url         string
		unavailable bool
		private     bool
		delay       time.Duration
	}{
		{"200", srv.URL + "/ok/robots.txt", false, false, 2 * time.Second},
		{"404", srv.URL + "/gone/robots.txt", false, true, 0},
		{"503", srv.URL + "/down/robots.txt", true, false, 0},
		{"refused", dead + "/robots.txt", true, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fetch(tt.url)
			if r.Unavailable() != tt.unavailable {
				t.Errorf("Unavailable() = %v, want %v (%s)", r.Unavailable(), tt.unavailable, r.Reason())
			}
			if got, rule := r.Test("amber", "/private/x"); got != tt.private {
				t.Errorf("Test(/private/x) = %v (%s), want %v", got, rule, tt.private)
			}
			if got := r.CrawlDelay("amber"); got != tt.delay {
				t.Errorf("CrawlDelay = %v, want %v", got, tt.delay)
			}
		})
	}
}

func TestRobotsCrawlDelay(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		token string
		want  time.Duration
	}{
		{"none", "User-agent: *\nDisallow: /x\n", "amber", 0},
		{"star group", "User-agent: *\nCrawl-delay: 3\n", "amber", 3 * time.Second},
		{"fraction", "User-agent: amber\nCrawl-delay: 2.5\n", "amber", 2500 * time.Millisecond},
		{"own group beats star", "User-agent: *\nCrawl-delay: 9\nUser-agent: amber\nCrawl-delay: 1\n", "amber", time.Second},
		{"own group without delay", "User-agent: *\nCrawl-delay: 9\n\nUser-agent: amber\nDisallow: /x\n", "amber", 0},
		{"prefix group is not ours", "User-agent: amb\nCrawl-delay: 9\n\nUser-agent: amber\nDisallow: /x\n", "amber", 0},
		{"invalid value ignored", "User-agent: amber\nCrawl-delay: 5s\n", "amber", 0},
		{"negative ignored", "User-agent: amber\nCrawl-delay: -1\n", "amber", 0},
		{"before any group ignored", "Crawl-delay: 7\nUser-agent: amber\nDisallow: /x\n", "amber", 0},
		{"shared group", "User-agent: a\nUser-agent: amber\nCrawl-delay: 4\nDisallow: /\n", "amber", 4 * time.Second},
		{"delay ends the user-agent run", "User-agent: amber\nCrawl-delay: 4\nUser-agent: b\nDisallow: /\n", "b", 0},
		{"delay after rules", "User-agent: amber\nDisallow: /x\nCrawl-delay: 4\n", "amber", 4 * time.Second},
		{"merged groups: last delay", "User-agent: amber\nCrawl-delay: 4\nUser-agent: b\nDisallow: /\nUser-agent: amber\nCrawl-delay: 6\n", "amber", 6 * time.Second},
		{"group after empty rule is separate", "User-agent: amber\nDisallow:\nUser-agent: b\nCrawl-delay: 6\n", "amber", 0},
		{"huge value clamped", "User-agent: amber\nCrawl-delay: 1e300\n", "amber", 24 * time.Hour},
		{"no group at all", "User-agent: other\nCrawl-delay: 4\n", "amber", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRobots(200, []byte(tt.body), nil)
			if r.temotoErr != nil {
				t.Fatalf("temoto rejected our canonical copy: %v", r.temotoErr)
			}
			if got := r.CrawlDelay(tt.token); got != tt.want {
				t.Errorf("CrawlDelay(%q) = %v, want %v", tt.token, got, tt.want)
			}
		})
	}
	t.Run("not parsed", func(t *testing.T) {
		for _, r := range []*Robots{NewRobots(404, nil, nil), NewRobots(503, nil, nil)} {
			if d := r.CrawlDelay("amber"); d != 0 {
				t.Errorf("CrawlDelay = %v, want 0 (%s)", d, r.Reason())
			}
		}
	})
}

func TestRobotsSitemaps(t *testing.T) {
	body := "Sitemap: https://a.test/first.xml\nUser-agent: *\nDisallow: /x\n" +
		"sitemap: https://a.test/second.xml # a comment\nSITEMAP:https://a.test/third.xml extra\n"
	r := NewRobots(200, []byte(body), nil)
	want := []string{"https://a.test/first.xml", "https://a.test/second.xml", "https://a.test/third.xml"}
	got := r.Sitemaps()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Sitemaps() = %q, want %q", got, want)
	}
	got[0] = "changed"
	if r.Sitemaps()[0] != want[0] {
		t.Error("Sitemaps() returned shared storage")
	}
	if s := NewRobots(404, nil, nil).Sitemaps(); s != nil {
		t.Errorf("404 Sitemaps() = %q, want nil", s)
	}
}

func TestRobotsSizeCap(t *testing.T) {
	filler := func(n int) string {
		line := "# " + strings.Repeat("x", 97) + "\n" // 100 bytes
		return strings.Repeat(line, n/100)
	}
	head := "User-agent: *\nDisallow: /early\n"
	tests := []struct {
		name string
		body string
		path string
		want bool
	}{
		{"rule inside cap", head + filler(1000) + "Disallow: /late\n", "/late", false},
		{"rule past cap ignored", head + filler(MaxRobotsSize) + "Disallow: /late\n", "/late", true},
		{"rules before cap kept", head + filler(MaxRobotsSize) + "Disallow: /late\n", "/early", false},
		// The cap falls inside "Allow: /early-but-longer": the partial line
		// must not become a shorter rule ("Allow: /earl") that allows more.
		{"cut line dropped", head + filler(MaxRobotsSize-len(head)-100) + strings.Repeat("#", 100-len("Allow: /ear")) + "\nAllow: /early-but-longer\n", "/early", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRobots(200, []byte(tt.body), nil)
			if got, rule := r.Test("amber", tt.path); got != tt.want {
				t.Errorf("Test(%q) = %v (%s), want %v", tt.path, got, rule, tt.want)
			}
		})
	}
	t.Run("cut at a line end keeps the line", func(t *testing.T) {
		body := filler(MaxRobotsSize-100) + "User-agent: *\nDisallow: /x" + strings.Repeat("y", 100-len("User-agent: *\nDisallow: /x")-1) + "\n"
		if len(body) != MaxRobotsSize {
			t.Fatalf("setup: len %d", len(body))
		}
		r := NewRobots(200, []byte(body+"more"), nil)
		if ok, rule := r.Test("amber", "/x"+strings.Repeat("y", 80)); ok {
			t.Errorf("allowed (%s), want the last full line kept", rule)
		}
	})
}

// temotoAnswer is what temoto v1.1.2 alone says: "allow", "disallow", or
// "error" when it rejects the file.
func temotoAnswer(status int, body, agent, path string) string {
	rd, err := robotstxt.FromStatusAndString(status, body)
	if err != nil {
		return "error"
	}
	if rd.TestAgent(path, agent) {
		return "allow"
	}
	return "disallow"
}

// TestRobotsTemotoDeviations shows why the wrapper exists: for each documented
// deviation of temoto from RFC 9309 (notes, section 3), temoto's own answer
// differs and ours is the RFC's.
func TestRobotsTemotoDeviations(t *testing.T) {
	big := "User-agent: *\n" + strings.Repeat("# "+strings.Repeat("x", 97)+"\n", MaxRobotsSize/100+1) + "Disallow: /\n"
	tests := []struct {
		name  string
		body  string
		agent string // what a temoto user passes (colly passes the full UA)
		path  string
		want  bool // RFC 9309
	}{
		{"1 wildcard not anchored", "User-agent: *\nDisallow: /foo*bar\n", "amber", "/x/foo/bar", true},
		{"2 wildcard length from regexp", "User-agent: *\nAllow: /*.html\nDisallow: /dir/sub/\n", "amber", "/dir/sub/a.html", false},
		{"3 equal length, first wins", "User-agent: *\nDisallow: /page\nAllow: /page\n", "amber", "/page", true},
		{"4 no percent normalisation, rule encoded", "User-agent: *\nDisallow: /%7Ejoe\n", "amber", "/~joe", false},
		{"4 no percent normalisation, path encoded", "User-agent: *\nDisallow: /~joe\n", "amber", "/%7Ejoe", false},
		{"5 robots.txt not exempt", "User-agent: *\nDisallow: /\n", "amber", "/robots.txt", true},
		{"6 bad crawl-delay fails the file", "User-agent: *\nCrawl-delay: 5s\nDisallow: /private/\n", "amber", "/public", true},
		{"6 rule before user-agent fails the file", "Disallow: /x\nUser-agent: *\nDisallow: /private/\n", "amber", "/public", true},
		{"7 group matched by prefix of the UA", "User-agent: amber\nDisallow: /\n", "amberbot/1.0 (+https://a.test)", "/x", true},
		{"7 short group name is a prefix", "User-agent: amb\nDisallow: /\n", "amber/0.1", "/x", true},
		{"8 no size cap", big, "amber", "/x", true},
		{"extra: dollar inside a pattern", "User-agent: *\nDisallow: /a$b\n", "amber", "/a$b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := map[bool]string{true: "allow", false: "disallow"}[tt.want]
			if raw := temotoAnswer(200, tt.body, tt.agent, tt.path); raw == want {
				t.Errorf("temoto alone already answers %s: the case does not show a deviation", raw)
			}
			got, rule := NewRobots(200, []byte(tt.body), nil).Test(ProductToken(tt.agent), tt.path)
			if got != tt.want {
				t.Errorf("Test = %v (%s), want %v", got, rule, tt.want)
			}
		})
	}
}

// googleCase is one IsUserAgentAllowed expectation from google/robotstxt's
// robots_test.cc; see google-robots-cases.md in the interop folder.
type googleCase struct {
	Test      string `json:"test"`
	SrcLine   int    `json:"src_line"`
	RobotsTxt string `json:"robots_txt"`
	UserAgent string `json:"user_agent"`
	URL       string `json:"url"`
	Allowed   bool   `json:"allowed"`
}

// googleDeviations are the Google expectations that RFC 9309 answers
// otherwise, keyed by robots_test.cc line; the value is why. Everything else
// must pass as Google says.
var googleDeviations = map[int]string{
	// GoogleOnly_IndexHTMLisDirectory: Google reads "Allow: /x/index.html"
	// as also allowing "/x/", an extension RFC 9309 does not have.
	505: "Google-only: index.html also allows its directory",
	// ID_Encoding: RFC 9309 §2.2.2 says octets outside ASCII in the URI MUST
	// be percent-encoded before comparison. Google leaves a raw UTF-8 path
	// as is (it expects callers to pass it encoded), so it cannot match
	// the encoded rule.
	419: "RFC §2.2.2: raw UTF-8 in the URI is percent-encoded before comparison",
	430: "RFC §2.2.2: raw UTF-8 in the URI is percent-encoded before comparison",
	// ID_Encoding: RFC 9309 §2.2.2 says a percent-encoded unreserved
	// character MUST be decoded before comparison, so "/%62%61%7A" is "/baz".
	// Google compares the escapes literally.
	441: "RFC §2.2.2: %62%61%7A is baz",
}

// googlePath is GetPathParamsQuery of google/robotstxt: the path, params and
// query of a URL, fragment dropped, "/" when there is none.
func googlePath(u string) string {
	start := 0
	if strings.HasPrefix(u, "//") {
		start = 2
	}
	early := strings.IndexAny(u[start:], "/?;")
	proto := strings.Index(u[start:], "://")
	switch {
	case proto < 0 || early >= 0 && early < proto:
		proto = start
	default:
		proto += start + 3
	}
	ps := strings.IndexAny(u[proto:], "/?;")
	if ps < 0 {
		return "/"
	}
	ps += proto
	end := len(u)
	if h := strings.IndexByte(u[start:], '#'); h >= 0 {
		if h+start < ps {
			return "/"
		}
		end = h + start
	}
	if u[ps] != '/' {
		return "/" + u[ps:end]
	}
	return u[ps:end]
}

func TestGooglePath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "/"}, {"http://www.example.com", "/"}, {"http://www.example.com/a/", "/a/"},
		{"http://www.example.com/a/b?c=http://d.e/", "/a/b?c=http://d.e/"},
		{"http://www.example.com/a/b?c=d&e=f#fragment", "/a/b?c=d&e=f"},
		{"example.com", "/"}, {"example.com/a", "/a"}, {"a", "/"}, {"a/", "/"}, {"/a", "/a"},
		{"a/b", "/b"}, {"example.com?a", "/?a"}, {"example.com/a;b#c", "/a;b"}, {"//a/b/c", "/b/c"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := googlePath(tt.in); got != tt.want {
				t.Errorf("googlePath(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestRobotsGoogleCases runs google/robotstxt's conformance expectations.
func TestRobotsGoogleCases(t *testing.T) {
	dir := os.Getenv("AMBER_INTEROP")
	if dir == "" {
		t.Skip("AMBER_INTEROP is unset: it names the folder of third-party samples (google-robots-cases.json)")
	}
	data, err := os.ReadFile(filepath.Join(dir, "google-robots-cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []googleCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 100 {
		t.Fatalf("only %d cases read", len(cases))
	}
	seen := map[int]bool{}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/line%d", c.Test, c.SrcLine), func(t *testing.T) {
			want := c.Allowed
			why, deviates := googleDeviations[c.SrcLine]
			if deviates {
				seen[c.SrcLine] = true
				want = !want
			}
			got, rule := NewRobots(200, []byte(c.RobotsTxt), nil).Test(c.UserAgent, googlePath(c.URL))
			if got != want {
				t.Errorf("agent %q url %q: got %v (%s), want %v (Google says %v)", c.UserAgent, c.URL, got, rule, want, c.Allowed)
			}
			if deviates {
				t.Logf("differs from Google on purpose: %s", why)
			}
		})
	}
	for line := range googleDeviations {
		if !seen[line] {
			t.Errorf("listed deviation at robots_test.cc line %d matches no case", line)
		}
	}
}

// BenchmarkRobotsTest measures Test against a 200-rule file, with literal,
// wildcard and encoded paths.
func BenchmarkRobotsTest(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("User-agent: *\nDisallow: /\n\nUser-agent: amber\n")
	for i := range 200 {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&sb, "Disallow: /section%d/private/\n", i)
		case 1:
			fmt.Fprintf(&sb, "Allow: /section%d/*.html$\n", i)
		case 2:
			fmt.Fprintf(&sb, "Disallow: /*?*session%d=\n", i)
		default:
			fmt.Fprintf(&sb, "Allow: /2024/%02d/*/\n", i%12)
		}
	}
	r := NewRobots(200, []byte(sb.String()), nil)
	paths := []string{
		"/2024/05/some-article-slug/",
		"/section100/private/x.html",
		"/search?q=x&session50=1",
		"/%7Euser/page%20with%20spaces",
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r.Test("amber", paths[i%len(paths)])
	}
}
