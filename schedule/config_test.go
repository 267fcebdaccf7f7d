package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

const goodConfig = `db = "amber.db"
timezone = "Asia/Shanghai"
contact = "mailto:ops@example.org"   # a crawl setting for every job

[[job]]
name = "cdt"
seeds = ["https://chinadigitaltimes.net/"]
schedule = "0 */6 * * *"
max_depth = 2
delay = "2s"
resolve = [
  "chinadigitaltimes.net=127.0.0.2",
]

[[job]]
name = "voa"
seeds = ["https://www.voanews.com/"]
schedule = "@every 30m"
timezone = "UTC"
contact = "mailto:voa@example.org"
max_body = "1MiB"
`

func TestParseConfig(t *testing.T) {
	f, err := Parse("amber.toml", []byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	if f.DB != "amber.db" || f.MaxConcurrentJobs != 1 || len(f.Jobs) != 2 {
		t.Fatalf("file %+v", f)
	}
	cdt, voa := f.Jobs[0], f.Jobs[1]
	if cdt.Settings.MaxDepth != 2 || cdt.Settings.Delay != 2*time.Second || cdt.Settings.Contact != "mailto:ops@example.org" ||
		cdt.Location.String() != "Asia/Shanghai" || len(cdt.Settings.Resolve) != 1 {
		t.Errorf("cdt: %+v", cdt)
	}
	if cdt.Settings.PerHost != 1 || cdt.Settings.Timeout != 60*time.Second {
		t.Errorf("cdt lost the defaults: %+v", cdt.Settings)
	}
	if voa.Settings.Contact != "mailto:voa@example.org" || voa.Settings.MaxDepth != 0 || voa.Location != time.UTC || voa.Settings.Delay != time.Second {
		t.Errorf("voa: %+v", voa)
	}
	if cfg, err := voa.Settings.Config(); err != nil || cfg.MaxBody != 1<<20 {
		t.Errorf("voa config: %v, max body %d", err, cfg.MaxBody)
	}
}

func TestConfigRefused(t *testing.T) {
	job := "[[job]]\nname = \"cdt\"\nseeds = [\"https://chinadigitaltimes.net/\"]\n" // lines 1-3
	cases := []struct {
		name, file string
		line       int
		want       string
	}{
		{"unknown job key", job + "max_dept = 2\n", 4, `unknown key "job.max_dept"`},
		{"unknown top key", "colour = \"red\"\n" + job, 1, `unknown key "colour"`},
		{"bad cron", job + "schedule = \"0 */6 * *\"\n", 4, "schedule"},
		{"bad descriptor", job + "schedule = \"@fortnightly\"\n", 4, "schedule"},
		{"bad duration", job + "delay = \"2 parsecs\"\n", 4, "delay"},
		{"negative delay", job + "delay = \"-1s\"\n", 4, "delay must not be negative"},
		{"wrong type", job + "max_depth = \"two\"\n", 4, "max_depth"},
		{"bad size", job + "max_body = \"12XB\"\n", 4, "max_body"},
		{"bad regexp", job + "article = \"(\"\n", 4, "article"},
		{"bad zone", job + "timezone = \"Mars/Olympus\"\n", 4, "timezone"},
		{"bad global zone", "timezone = \"Nowhere\"\n" + job, 1, "timezone"},
		{"bad global setting", "per_host = 0\n" + job, 1, "per_host must be at least 1"},
		{"missing seeds", "[[job]]\nname = \"cdt\"\nschedule = \"@daily\"\n", 1, "seeds are missing"},
		{"bad seed", "[[job]]\nname = \"cdt\"\nseeds = [\"ftp://x/\"]\n", 3, "seeds"},
		{"missing name", "[[job]]\nseeds = [\"https://a.example/\"]\n", 1, "name is missing"},
		{"duplicate name", job + job, 5, "used twice"},
		{"no jobs", "db = \"x.db\"\n", 0, "no [[job]]"},
		{"syntax", job + "delay = \n", 4, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("amber.toml", []byte(c.file))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a ConfigError", err)
			}
			if ce.Line != c.line || !strings.Contains(ce.Msg, c.want) {
				t.Fatalf("%q: line %d, want line %d mentioning %q", err, ce.Line, c.line, c.want)
			}
		})
	}
}

// Every flag that AddFlags defines has a config key, and every config key
// is a flag: the command line and the file cannot drift apart.
func TestEverySettingIsAFlagAndAKey(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	s := DefaultSettings()
	s.AddFlags(fs)
	keys := map[string]bool{}
	for _, k := range Keys() {
		keys[k] = true
		if fs.Lookup(FlagName(k)) == nil {
			t.Errorf("config key %s has no flag --%s", k, FlagName(k))
		}
	}
	fs.VisitAll(func(f *pflag.Flag) {
		if !keys[strings.ReplaceAll(f.Name, "-", "_")] {
			t.Errorf("flag --%s has no config key", f.Name)
		}
	})
	if m := s.Map(); len(m) != len(keys) || m["delay"] != "1s" {
		t.Errorf("Map: %v", m)
	}
}
