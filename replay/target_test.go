package replay

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseReplayURL(t *testing.T) {
	d := func(s string) time.Time {
		tm, err := time.Parse(tsLayout, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		in   string
		want target
	}{
		{"20160512000000/https://cdt.test/2016/05/x/", target{Kind: kindMemento, TS: "20160512000000", Time: d("20160512000000"), URL: "https://cdt.test/2016/05/x/"}},
		{"2016/https://cdt.test/", target{Kind: kindMemento, TS: "2016", Time: d("20160101000000"), URL: "https://cdt.test/"}},
		{"201605/cdt.test/a?b=1&c=2", target{Kind: kindMemento, TS: "201605", Time: d("20160501000000"), URL: "http://cdt.test/a?b=1&c=2"}},
		{"20160512104200im_/http://cdt.test/i.png", target{Kind: kindMemento, TS: "20160512104200", Time: d("20160512104200"), Mod: "im_", URL: "http://cdt.test/i.png"}},
		{"20160512id_/HTTP://CDT.Test/Path", target{Kind: kindMemento, TS: "20160512", Time: d("20160512000000"), Mod: "id_", URL: "http://cdt.test/Path"}},
		{"2016/http:/cdt.test/folded", target{Kind: kindMemento, TS: "2016", Time: d("20160101000000"), URL: "http://cdt.test/folded"}},
		{"2016///cdt.test/x", target{Kind: kindMemento, TS: "2016", Time: d("20160101000000"), URL: "http://cdt.test/x"}},
		{"https://cdt.test", target{Kind: kindLatest, URL: "https://cdt.test/"}},
		{"id_/https://cdt.test/", target{Kind: kindLatest, Mod: "id_", URL: "https://cdt.test/"}},
		{"*/https://cdt.test/a", target{Kind: kindList, URL: "https://cdt.test/a"}},
		{"*/https://cdt.test/2016/*", target{Kind: kindList, Prefix: true, URL: "https://cdt.test/2016/"}},
		{"*/cdt*", target{Kind: kindList, Prefix: true, URL: "http://cdt"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseReplayURL(tt.in)
			if err != nil {
				t.Fatalf("parseReplayURL(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("parseReplayURL(%q)\n got  %+v\n want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseReplayURLBad(t *testing.T) {
	for _, in := range []string{
		"",
		"2016/",
		"20161301000000/http://bad.month/",
		"20160230000000/http://bad.day/",
		"20160512250000/http://bad.hour/",
		"123456789012345/http://too.long/",
		"201/http://no.year/",
		"2016zz_/http://bad.modifier/",
		"2016/ftp://wrong.scheme/",
		"2016/javascript://x/",
		"2016/http://",
		"2016/http://user:pw@host.test/",
		"2016/http://host.test/\x00",
		"2016/http://host.test/\r\nSet-Cookie: x=1",
		"2016/" + strings.Repeat("a", maxTargetLen),
	} {
		if got, err := parseReplayURL(in); !errors.Is(err, errBadRequest) {
			t.Errorf("parseReplayURL(%q) = %+v, %v; want a bad request", in, got, err)
		}
	}
}

func TestCanonicalAndVariants(t *testing.T) {
	for in, want := range map[string]string{
		"HTTP://Example.TEST:80/a%7e/%2f?x=%41": "http://example.test/a~/%2F?x=A",
		"https://x.test:443":                    "https://x.test/",
		"http://x.test:8080/a#frag":             "http://x.test:8080/a",
		"not a url":                             "not a url",
	} {
		if got := canonical(in); got != want {
			t.Errorf("canonical(%q) = %q, want %q", in, got, want)
		}
	}
	got := variants("http://www.x.test/a")
	want := []string{"http://www.x.test/a", "https://www.x.test/a", "http://x.test/a", "https://x.test/a"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("variants = %q, want %q", got, want)
	}
	if resourceKey("http://www.x.test/a") != resourceKey("https://x.test/a#f") {
		t.Error("resourceKey differs across scheme and www")
	}
	if resourceKey("http://x.test/a") == resourceKey("http://x.test/a/") {
		t.Error("resourceKey folds the trailing slash")
	}
}

// FuzzParseReplayURL checks that parsing never panics, that what it
// accepts is an http(s) URL with a host and a valid time, and that the
// path built from a parse parses back to the same target.
func FuzzParseReplayURL(f *testing.F) {
	file, err := os.Open("testdata/replay-urls.txt")
	if err != nil {
		f.Fatal(err)
	}
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			f.Add(line)
		}
	}
	file.Close()
	f.Fuzz(func(t *testing.T, in string) {
		got, err := parseReplayURL(in)
		if err != nil {
			if !errors.Is(err, errBadRequest) {
				t.Fatalf("error %v does not wrap errBadRequest", err)
			}
			return
		}
		if !strings.HasPrefix(got.URL, "http://") && !strings.HasPrefix(got.URL, "https://") {
			t.Fatalf("accepted %q as url %q", in, got.URL)
		}
		if got.Kind == kindMemento && (got.Time.IsZero() || len(got.TS) < 4 || len(got.TS) > 14) {
			t.Fatalf("accepted %q with timestamp %q", in, got.TS)
		}
		p := got.path()
		again, err := parseReplayURL(strings.TrimPrefix(p, "/web/"))
		if err != nil {
			t.Fatalf("path %q of %q does not parse: %v", p, in, err)
		}
		if again != got {
			t.Fatalf("round trip of %q: %+v, then %+v", in, got, again)
		}
	})
}
