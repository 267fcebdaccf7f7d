package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/amberarchive/amber/schedule"
	"github.com/amberarchive/amber/testdata/fixture"
)

// writeConfig writes an amber.toml with one job on the fixture site.
func writeConfig(t *testing.T, srv *fixture.Server, sched string, extra string) string {
	t.Helper()
	dir := t.TempDir()
	var resolve []string
	for h, a := range srv.Resolve() {
		resolve = append(resolve, fmt.Sprintf("%q", h+"="+a))
	}
	sort.Strings(resolve)
	cfg := fmt.Sprintf(`db = "amber.db"
timezone = "Asia/Shanghai"
contact = "mailto:test@amber.invalid"

[[job]]
name = "cdt"
seeds = [%q]
schedule = %q
delay = "0s"
max_crawl_delay = "1ms"
resolve = [%s]
%s`, srv.Seed(), sched, strings.Join(resolve, ", "), extra)
	path := filepath.Join(dir, "amber.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRunJobsChanges runs a job twice from its config with an article
// edited in between, then reads the job's state and the change report.
func TestRunJobsChanges(t *testing.T) {
	srv, err := fixture.Start(fixture.Options{Articles: 12})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfg := writeConfig(t, srv, "0 6 * * *", "")

	if r := runAmber(t, "run", "cdt", "--config", cfg); r.code != 0 && r.code != exitFailures {
		t.Fatalf("run 1: exit %d\n%s", r.code, r.stderr)
	} else if !strings.Contains(r.stderr, "run start") || !strings.Contains(r.stderr, "run end") {
		t.Errorf("no start and end lines on stderr: %s", r.stderr)
	}
	srv.EditArticle(2, "An editor note: this post was updated")
	r := runAmber(t, "run", "cdt", "--config", cfg)
	if r.code != 0 && r.code != exitFailures {
		t.Fatalf("run 2: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "304") {
		t.Errorf("run 2 summary shows no 304s: %s", r.stdout)
	}

	r = runAmber(t, "jobs", "--config", cfg, "--json")
	if r.code != 0 {
		t.Fatalf("jobs: exit %d: %s", r.code, r.stderr)
	}
	var j jobLine
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &j); err != nil {
		t.Fatalf("jobs --json %q: %v", r.stdout, err)
	}
	if j.Name != "cdt" || j.LastRun != 2 || j.LastStatus != "finished" || j.Runs != 2 || j.Next.IsZero() || j.NotMod == 0 {
		t.Errorf("jobs: %+v", j)
	}
	// 06:00 in Shanghai is 22:00 UTC.
	if j.Next.UTC().Hour() != 22 {
		t.Errorf("next run %s, want 22:00 UTC (06:00 Asia/Shanghai)", j.Next.UTC())
	}

	// amber runs names the job of each run, so scheduled runs stand out.
	r = runAmber(t, "runs", "--db", filepath.Join(filepath.Dir(cfg), "amber.db"))
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 3 || !strings.Contains(lines[0], "JOB") ||
		!strings.Contains(lines[1], " cdt ") || !strings.Contains(lines[2], " cdt ") {
		t.Errorf("amber runs does not name the job of both runs:\n%s", r.stdout)
	}
	r = runAmber(t, "changes", "cdt", "--db", filepath.Join(filepath.Dir(cfg), "amber.db"), "--json")
	if r.code != 0 {
		t.Fatalf("changes: exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var c changeLine
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &c) != nil || c.Kind != "changed" || c.Reason != "article" || c.RunA != 1 || c.RunB != 2 {
		t.Fatalf("changes: want one changed article between runs 1 and 2, got %s", r.stdout)
	}
	r = runAmber(t, "changes", "cdt", "--config", cfg, "--since", "1")
	if r.code != 0 || !strings.Contains(r.stdout, "0 new, 1 changed, 0 gone") {
		t.Errorf("changes --since 1: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
}

// TestConfigErrors: a bad config is refused at start, naming the line.
func TestConfigErrors(t *testing.T) {
	srv, err := fixture.Start(fixture.Options{Articles: 12})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cases := []struct {
		name, sched, extra, want string
	}{
		{"unknown key", "@daily", "max_dept = 2\n", `:12: unknown key "job.max_dept"`},
		{"bad cron", "0 */6 * *", "", ":8: schedule"},
		{"bad duration", "@daily", "timeout = \"soon\"\n", ":12: timeout"},
		{"bad zone", "@daily", "timezone = \"Mars/Olympus\"\n", ":12: timezone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := writeConfig(t, srv, c.sched, c.extra)
			for _, cmd := range [][]string{{"schedule", "--config", cfg}, {"run", "cdt", "--config", cfg}} {
				r := runAmber(t, cmd...)
				if r.code != exitUsage || !strings.Contains(r.stderr, "amber.toml"+c.want) {
					t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", cmd, r.code, r.stderr, c.want)
				}
			}
		})
	}
}

// TestScheduleRunsAndStops: amber schedule runs a due job (a run missed
// while it was down: the job was never run) and SIGTERM stops it cleanly.
func TestScheduleRunsAndStops(t *testing.T) {
	srv, err := fixture.Start(fixture.Options{Articles: 12})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfg := writeConfig(t, srv, "@every 1h", "")
	// A first run by hand, then a stopped one is left for schedule to resume.
	if r := runAmber(t, "run", "cdt", "--config", cfg); r.code != 0 && r.code != exitFailures {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := amber(ctx, "schedule", "--config", cfg)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	var seen []string
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if strings.HasPrefix(sc.Text(), "job cdt: ") {
			break // it is scheduled and waiting: the next run is an hour away
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		seen = append(seen, sc.Text())
	}
	err = cmd.Wait()
	if cmd.ProcessState.ExitCode() != exitStopped {
		t.Fatalf("schedule after SIGTERM: %v, want exit %d\n%s", err, exitStopped, strings.Join(seen, "\n"))
	}
	for _, l := range seen {
		if strings.Contains(l, "run start") {
			t.Errorf("a run started although the job's next slot is an hour away: %s", l)
		}
	}
}

// TestEveryCrawlFlagHasAConfigKey: each flag of amber crawl, but --db,
// --resume and --help, is a job setting in snake_case.
func TestEveryCrawlFlagHasAConfigKey(t *testing.T) {
	keys := map[string]bool{}
	for _, k := range schedule.Keys() {
		keys[k] = true
	}
	c := newCrawlCmd(io.Discard, io.Discard)
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if notSettings[f.Name] {
			return
		}
		if !keys[strings.ReplaceAll(f.Name, "-", "_")] {
			t.Errorf("amber crawl --%s has no config key", f.Name)
		}
	})
}
