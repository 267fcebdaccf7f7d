package schedule

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/amberarchive/amber/crawler"
)

// Settings are the crawl settings of `amber crawl` and of a job: one field
// per flag, whose TOML key is the flag's name in snake_case (--max-crawl-delay
// is max_crawl_delay). [Settings.AddFlags] defines the flags from the same
// fields, and [Settings.Config] is the one place where they become a
// [crawler.Config], so the command line and a config file cannot drift apart.
type Settings struct {
	Delay          time.Duration `toml:"delay"`
	PerHost        int           `toml:"per_host"`
	Parallel       int           `toml:"parallel"`
	UserAgent      string        `toml:"user_agent"`
	Contact        string        `toml:"contact"`
	Article        string        `toml:"article"`
	Follow         string        `toml:"follow"`
	SourceText     string        `toml:"source_text"`
	SourceSelector string        `toml:"source_selector"`
	NoRequisites   bool          `toml:"no_requisites"`
	MaxPages       int           `toml:"max_pages"`
	MaxPerHost     int           `toml:"max_per_host"`
	MaxDepth       int           `toml:"max_depth"`
	MaxBody        string        `toml:"max_body"`
	Resolve        []string      `toml:"resolve"`
	IgnoreRobots   bool          `toml:"ignore_robots"`
	Insecure       bool          `toml:"insecure"`
	Timeout        time.Duration `toml:"timeout"`
	MaxCrawlDelay  time.Duration `toml:"max_crawl_delay"`
	Retries        int           `toml:"retries"`
	Scope          []string      `toml:"scope"`
}

// DefaultSettings are the polite defaults of [crawler.DefaultConfig] and
// [crawler.DefaultRules].
func DefaultSettings() Settings {
	def := crawler.DefaultConfig()
	rules := crawler.DefaultRules()
	return Settings{
		Delay:         def.Delay,
		PerHost:       def.PerHost,
		Parallel:      def.Parallel,
		Article:       rules.Article.String(),
		Follow:        rules.Follow.String(),
		SourceText:    rules.SourceText,
		MaxBody:       "64MiB",
		Timeout:       def.Timeout,
		MaxCrawlDelay: def.MaxCrawlDelay,
		Retries:       def.Retries,
	}
}

// AddFlags defines one flag per setting on fs, bound to s; the flags'
// defaults are s's values at the time of the call.
func (s *Settings) AddFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&s.Delay, "delay", s.Delay, "least time between the starts of two requests to one host")
	fs.IntVar(&s.PerHost, "per-host", s.PerHost, "requests in flight at once per host")
	fs.IntVar(&s.Parallel, "parallel", s.Parallel, "hosts fetched at once")
	fs.StringVar(&s.UserAgent, "user-agent", s.UserAgent, "User-Agent to send (default \"amber/VERSION (+CONTACT)\")")
	fs.StringVar(&s.Contact, "contact", s.Contact, "a URL or mailto: where site owners can reach you; put in the User-Agent")
	fs.StringVar(&s.Article, "article", s.Article, "regular expression on the path of article pages (followed to any depth)")
	fs.StringVar(&s.Follow, "follow", s.Follow, "regular expression on the path of navigation pages (archives, categories)")
	fs.StringVar(&s.SourceText, "source-text", s.SourceText, "anchor text of links to cited sources (trimmed, any case)")
	fs.StringVar(&s.SourceSelector, "source-selector", s.SourceSelector, "CSS selector that also marks source links, e.g. 'a.source'")
	fs.BoolVar(&s.NoRequisites, "no-requisites", s.NoRequisites, "do not fetch images, stylesheets and scripts of archived pages")
	fs.IntVar(&s.MaxPages, "max-pages", s.MaxPages, "stop after this many fetches (0: no limit)")
	fs.IntVar(&s.MaxPerHost, "max-per-host", s.MaxPerHost, "fetch at most this many pages from one host in a run, a cut for crawler traps; a resumed run goes on from its count (0: no limit)")
	fs.IntVar(&s.MaxDepth, "max-depth", s.MaxDepth, "follow links at most this many hops from the seeds (0: no limit)")
	fs.StringVar(&s.MaxBody, "max-body", s.MaxBody, "truncate (and mark) bodies longer than this")
	fs.StringArrayVar(&s.Resolve, "resolve", s.Resolve, "HOST[:PORT]=ADDR: reach HOST at ADDR instead of DNS (repeatable)")
	fs.BoolVar(&s.IgnoreRobots, "ignore-robots", s.IgnoreRobots, "do not obey robots.txt (recorded in the run and the WARC)")
	fs.BoolVar(&s.Insecure, "insecure", s.Insecure, "accept invalid TLS certificates (recorded in the run)")
	fs.DurationVar(&s.Timeout, "timeout", s.Timeout, "longest time for one request, body included")
	fs.DurationVar(&s.MaxCrawlDelay, "max-crawl-delay", s.MaxCrawlDelay, "longest robots.txt Crawl-delay honoured")
	fs.IntVar(&s.Retries, "retries", s.Retries, "extra attempts after a network error or 429/503")
	fs.StringArrayVar(&s.Scope, "scope", s.Scope, "another host to treat as part of the site (repeatable)")
}

// Map returns every setting by flag name, as text, the way a run records
// its settings (lists joined with commas).
func (s Settings) Map() map[string]string {
	fs := pflag.NewFlagSet("settings", pflag.ContinueOnError)
	c := s
	c.AddFlags(fs)
	m := map[string]string{}
	fs.VisitAll(func(fl *pflag.Flag) {
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			m[fl.Name] = strings.Join(sv.GetSlice(), ",")
			return
		}
		m[fl.Name] = fl.Value.String()
	})
	return m
}

// Keys returns the TOML key of every setting, in field order.
func Keys() []string {
	t := reflect.TypeOf(Settings{})
	keys := make([]string, t.NumField())
	for i := range keys {
		keys[i] = t.Field(i).Tag.Get("toml")
	}
	return keys
}

// FlagName turns a TOML key into its flag name: max_crawl_delay is
// max-crawl-delay.
func FlagName(key string) string { return strings.ReplaceAll(key, "_", "-") }

// SettingError is a setting with a bad value. Name is the flag's name
// (max-body), so the command line can say --max-body and a config file
// max_body.
type SettingError struct {
	Name string
	Msg  string // e.g. "must not be negative"
}

func (e *SettingError) Error() string { return "--" + e.Name + " " + e.Msg }

func bad(name, format string, a ...any) error {
	return &SettingError{Name: name, Msg: fmt.Sprintf(format, a...)}
}

// Config checks the settings and turns them into a crawler configuration.
// A bad value gives a [*SettingError] naming the setting.
func (s Settings) Config() (crawler.Config, error) {
	cfg := crawler.DefaultConfig()
	cfg.Delay, cfg.PerHost, cfg.Parallel = s.Delay, s.PerHost, s.Parallel
	cfg.UserAgent, cfg.Contact = s.UserAgent, s.Contact
	cfg.MaxPages, cfg.IgnoreRobots, cfg.Insecure = s.MaxPages, s.IgnoreRobots, s.Insecure
	cfg.MaxPerHost = s.MaxPerHost
	cfg.Timeout, cfg.MaxCrawlDelay, cfg.Retries = s.Timeout, s.MaxCrawlDelay, s.Retries
	switch {
	case s.Delay < 0:
		return cfg, bad("delay", "must not be negative")
	case s.PerHost < 1:
		return cfg, bad("per-host", "must be at least 1")
	case s.Parallel < 1:
		return cfg, bad("parallel", "must be at least 1")
	case s.MaxPages < 0:
		return cfg, bad("max-pages", "must not be negative")
	case s.MaxPerHost < 0:
		return cfg, bad("max-per-host", "must not be negative")
	case s.MaxDepth < 0:
		return cfg, bad("max-depth", "must not be negative")
	case s.Retries < 0:
		return cfg, bad("retries", "must not be negative")
	}
	var err error
	if cfg.MaxBody, err = ParseSize(s.MaxBody); err != nil {
		return cfg, bad("max-body", "%v", err)
	}
	r := crawler.DefaultRules()
	if r.Article, err = regexp.Compile(s.Article); err != nil {
		return cfg, bad("article", "is not a valid regular expression: %v", err)
	}
	if r.Follow, err = regexp.Compile(s.Follow); err != nil {
		return cfg, bad("follow", "is not a valid regular expression: %v", err)
	}
	r.SourceText = s.SourceText
	r.SourceSelector = s.SourceSelector
	r.Requisites = !s.NoRequisites
	r.MaxDepth = s.MaxDepth
	r.Scope = s.Scope
	cfg.Rules = r
	cfg.Resolve = map[string]string{}
	for _, m := range s.Resolve {
		host, addr, ok := strings.Cut(m, "=")
		if !ok || host == "" || addr == "" {
			return cfg, bad("resolve", "%q: want HOST[:PORT]=ADDR, e.g. example.test:8080=127.0.0.2:8080", m)
		}
		cfg.Resolve[strings.ToLower(host)] = addr
	}
	return cfg, nil
}

// ParseSize reads 1048576, 64MiB, 10MB, 512k.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"gib", 1 << 30}, {"mib", 1 << 20}, {"kib", 1 << 10}, {"gb", 1e9}, {"mb", 1e6}, {"kb", 1e3}, {"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}, {"b", 1}} {
		if strings.HasSuffix(t, u.suf) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suf)), u.m
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size (try 64MiB, 10MB or a number of bytes)", s)
	}
	return n * mult, nil
}
