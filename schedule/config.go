package schedule

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/robfig/cron/v3"

	"github.com/amberarchive/amber/crawler"
)

// File is a parsed config file (amber.toml): the store, and the jobs.
type File struct {
	Path              string
	DB                string // the store file, relative to the working directory; "" when not set
	Timezone          string // the default time zone of the jobs' schedules
	MaxConcurrentJobs int    // jobs run at once on the store (default 1)
	Jobs              []Job
}

// Job is one named crawl with a schedule.
type Job struct {
	Name     string
	Seeds    []string       // canonical URLs
	Schedule string         // cron expression or @every/@daily..., as written; "" runs only on demand
	Location *time.Location // time zone of the schedule
	Settings Settings

	cron cron.Schedule // nil when Schedule is ""
}

// NewJob checks a job and parses its schedule in tz ("" for the local time
// zone). Errors name the setting at fault, with flag-style names
// ("schedule", "timezone", "seeds", or a [*SettingError]).
func NewJob(name string, seeds []string, schedule, tz string, settings Settings) (Job, error) {
	j := Job{Name: name, Schedule: strings.TrimSpace(schedule), Settings: settings}
	if strings.TrimSpace(name) == "" {
		return j, &SettingError{Name: "name", Msg: "is missing: every job needs a name"}
	}
	if len(seeds) == 0 {
		return j, &SettingError{Name: "seeds", Msg: "are missing: give at least one seed URL"}
	}
	for _, s := range seeds {
		cu, err := crawler.Canonical(s)
		if err != nil {
			return j, &SettingError{Name: "seeds", Msg: fmt.Sprintf("%q: %v", s, err)}
		}
		j.Seeds = append(j.Seeds, cu)
	}
	loc := time.Local
	if tz != "" {
		var err error
		if loc, err = time.LoadLocation(tz); err != nil {
			return j, &SettingError{Name: "timezone", Msg: fmt.Sprintf("%q is not a time zone (try \"UTC\" or \"Asia/Shanghai\")", tz)}
		}
	}
	j.Location = loc
	if j.Schedule != "" {
		sched, err := ParseSchedule(j.Schedule, loc)
		if err != nil {
			return j, &SettingError{Name: "schedule", Msg: err.Error()}
		}
		j.cron = sched
	}
	if _, err := settings.Config(); err != nil {
		return j, err
	}
	return j, nil
}

// ParseSchedule reads a standard 5-field cron expression ("0 */6 * * *"), a
// descriptor (@daily, @hourly, @every 30m), optionally prefixed with
// CRON_TZ=Zone, and evaluates it in loc unless it names its own zone.
func ParseSchedule(expr string, loc *time.Location) (cron.Schedule, error) {
	sched, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, fmt.Errorf("%q is not a cron expression (%v); try \"0 */6 * * *\", \"@daily\" or \"@every 30m\"", expr, err)
	}
	if ss, ok := sched.(*cron.SpecSchedule); ok && loc != nil &&
		!strings.HasPrefix(expr, "CRON_TZ=") && !strings.HasPrefix(expr, "TZ=") {
		ss.Location = loc
	}
	if cd, ok := sched.(cron.ConstantDelaySchedule); ok && cd.Delay < time.Second {
		return nil, fmt.Errorf("%q: @every needs at least 1s", expr)
	}
	return sched, nil
}

// Next returns the first time after t that the job's schedule wants a run,
// or the zero time for a job without a schedule.
func (j Job) Next(t time.Time) time.Time {
	if j.cron == nil {
		return time.Time{}
	}
	return j.cron.Next(t)
}

// ConfigError is a config file the scheduler refuses, with the line at
// fault (0 when it is not known).
type ConfigError struct {
	Path string
	Line int
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

// fileTOML is the top level of the file. The embedded Settings are crawl
// defaults for every job.
type fileTOML struct {
	DB                string           `toml:"db"`
	Timezone          string           `toml:"timezone"`
	MaxConcurrentJobs int              `toml:"max_concurrent_jobs"`
	Job               []toml.Primitive `toml:"job"`
	Settings
}

type jobTOML struct {
	Name     string   `toml:"name"`
	Seeds    []string `toml:"seeds"`
	Schedule string   `toml:"schedule"`
	Timezone string   `toml:"timezone"`
	Settings
}

// Load reads and checks a config file. Everything wrong with it (unknown
// keys, bad cron expressions, durations or time zones, missing seeds,
// duplicate names) is refused here, with the line and the reason.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse is [Load] on data already read; path names it in errors.
func Parse(path string, data []byte) (*File, error) {
	pos := scanPositions(data)
	ft := fileTOML{Settings: DefaultSettings()}
	md, err := toml.Decode(string(data), &ft)
	if err != nil {
		return nil, tomlError(path, pos, -1, err)
	}
	f := &File{Path: path, DB: ft.DB, Timezone: ft.Timezone, MaxConcurrentJobs: ft.MaxConcurrentJobs}
	if f.MaxConcurrentJobs == 0 {
		f.MaxConcurrentJobs = 1
	}
	if f.MaxConcurrentJobs < 0 {
		return nil, &ConfigError{path, pos.line(-1, "max_concurrent_jobs"), "max_concurrent_jobs must be at least 1"}
	}
	if ft.Timezone != "" {
		if _, err := time.LoadLocation(ft.Timezone); err != nil {
			return nil, &ConfigError{path, pos.line(-1, "timezone"), fmt.Sprintf("timezone %q is not a time zone (try \"UTC\" or \"Asia/Shanghai\")", ft.Timezone)}
		}
	}
	if _, err := ft.Settings.Config(); err != nil {
		return nil, settingError(path, pos, -1, err)
	}
	names := map[string]int{}
	for i, prim := range ft.Job {
		jt := jobTOML{Settings: ft.Settings}
		if err := md.PrimitiveDecode(prim, &jt); err != nil {
			return nil, tomlError(path, pos, i, err)
		}
		tz := jt.Timezone
		if tz == "" {
			tz = ft.Timezone
		}
		j, err := NewJob(jt.Name, jt.Seeds, jt.Schedule, tz, jt.Settings)
		if err != nil {
			return nil, settingError(path, pos, i, err)
		}
		if prev, dup := names[j.Name]; dup {
			return nil, &ConfigError{path, pos.line(i, "name"), fmt.Sprintf("job name %q is used twice (first on line %d)", j.Name, pos.line(prev, "name"))}
		}
		names[j.Name] = i
		f.Jobs = append(f.Jobs, j)
	}
	if undec := md.Undecoded(); len(undec) > 0 {
		k := undec[0]
		line, where := 0, "at the top level"
		if len(k) == 2 && k[0] == "job" {
			line, where = pos.unknown(k[1]), "in a [[job]]"
		} else if len(k) == 1 {
			line = pos.line(-1, k[0])
		}
		return nil, &ConfigError{path, line, fmt.Sprintf("unknown key %q %s (crawl settings are the flags of amber crawl in snake_case, e.g. max_depth; see amber schedule --help)", k.String(), where)}
	}
	if len(f.Jobs) == 0 {
		return nil, &ConfigError{path, 0, "no [[job]] defined"}
	}
	return f, nil
}

// Job returns the job called name.
func (f *File) Job(name string) (Job, bool) {
	for _, j := range f.Jobs {
		if j.Name == name {
			return j, true
		}
	}
	return Job{}, false
}

// tomlErrLine matches the decode errors of toml that are not ParseErrors.
var tomlErrLine = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "([^"]*)"\): (.*)$`)

// tomlError places an error of the toml package on its line; in job i (-1:
// the top level), the line is that of the key in that job.
func tomlError(path string, pos positions, i int, err error) error {
	var line int
	var key, msg string
	var pe toml.ParseError
	if ppe := (*toml.ParseError)(nil); errors.As(err, &ppe) {
		line, key, msg = ppe.Position.Line, ppe.LastKey, ppe.Message
	} else if errors.As(err, &pe) {
		line, key, msg = pe.Position.Line, pe.LastKey, pe.Message
	} else if m := tomlErrLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		key, msg = m[2], m[3]
	} else {
		return &ConfigError{path, 0, err.Error()}
	}
	if leaf, ok := strings.CutPrefix(key, "job."); ok && i >= 0 {
		key = leaf
		if n := pos.line(i, leaf); n > 0 {
			line = n
		}
	}
	if key != "" {
		msg = key + ": " + msg
	}
	return &ConfigError{path, line, msg}
}

// settingError places a bad setting of job i (-1: the top level) on its
// line, naming it by its key.
func settingError(path string, pos positions, i int, err error) error {
	var se *SettingError
	if !errors.As(err, &se) {
		return &ConfigError{path, pos.header(i), err.Error()}
	}
	key := strings.ReplaceAll(se.Name, "-", "_")
	line := pos.line(i, key)
	if line == 0 && i >= 0 {
		// Inherited from the top level, or a missing key: point at
		// the setting there, else at the job.
		if line = pos.line(-1, key); line == 0 {
			line = pos.header(i)
		}
	}
	return &ConfigError{path, line, key + " " + se.Msg}
}

// positions are the lines of the keys of a config file: the top level and
// each [[job]] table. It is a plain line scanner, enough for the flat files
// amber reads (multi-line arrays are skipped over, not looked into).
type positions struct {
	top     map[string]int
	jobs    []map[string]int
	headers []int // line of each [[job]]
	used    map[int]bool
}

func scanPositions(data []byte) positions {
	p := positions{top: map[string]int{}, used: map[int]bool{}}
	cur := p.top
	depth := 0 // open [ of a multi-line array
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if depth > 0 {
			depth += strings.Count(line, "[") - strings.Count(line, "]")
			continue
		}
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "[["):
			name := strings.TrimSpace(strings.Trim(strings.SplitN(line, "#", 2)[0], "[] \t"))
			if name == "job" {
				cur = map[string]int{}
				p.jobs = append(p.jobs, cur)
				p.headers = append(p.headers, n)
			} else {
				cur = map[string]int{}
			}
			continue
		case strings.HasPrefix(line, "["):
			cur = map[string]int{}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.Trim(strings.TrimSpace(k), `"'`)
		if _, seen := cur[k]; !seen {
			cur[k] = n
		}
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, "[") {
			depth = strings.Count(v, "[") - strings.Count(v, "]")
		}
	}
	return p
}

// line returns the line of key in job i (-1: the top level), 0 if absent.
func (p positions) line(i int, key string) int {
	if i < 0 {
		return p.top[key]
	}
	if i < len(p.jobs) {
		return p.jobs[i][key]
	}
	return 0
}

// header returns the line of the i-th [[job]].
func (p positions) header(i int) int {
	if i >= 0 && i < len(p.headers) {
		return p.headers[i]
	}
	return 0
}

// unknown returns the first line, not reported before, where key is set in
// a job.
func (p positions) unknown(key string) int {
	for _, m := range p.jobs {
		if n, ok := m[key]; ok && !p.used[n] {
			p.used[n] = true
			return n
		}
	}
	return 0
}
