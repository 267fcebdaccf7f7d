package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amberarchive/amber/testdata/fixture"
)

// The test binary doubles as the amber binary: with AMBER_RUN_MAIN=1 it runs
// main, so tests exercise the real process (signals, exit codes, locks)
// without a separate build step.
func TestMain(m *testing.M) {
	if os.Getenv("AMBER_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// amber prepares the amber command with args.
func amber(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "AMBER_RUN_MAIN=1", "AMBER_DB=")
	return cmd
}

type result struct {
	code           int
	stdout, stderr string
}

// runAmber runs amber to completion.
func runAmber(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := amber(ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("amber %v: %v", args, err)
	}
	return result{code, out.String(), errb.String()}
}

// siteArgs are the crawl flags that reach the fixture site on loopback, fast.
func siteArgs(srv *fixture.Server, db string) []string {
	args := []string{"--db", db, "--delay", "0", "--max-crawl-delay", "1ms", "--contact", "mailto:test@amber.invalid"}
	hosts := make([]string, 0)
	for h, a := range srv.Resolve() {
		hosts = append(hosts, h+"="+a)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		args = append(args, "--resolve", h)
	}
	return args
}

type lsLine struct {
	URL    string `json:"url"`
	Status int    `json:"status"`
	Run    uint64 `json:"run"`
	Reason string `json:"reason"`
	Digest string `json:"digest"`
	Length int64  `json:"length"`
	MIME   string `json:"mime"`
	TS     string `json:"timestamp"`
}

func lsJSON(t *testing.T, db string) []lsLine {
	t.Helper()
	r := runAmber(t, "ls", "--json", "--db", db)
	if r.code != 0 {
		t.Fatalf("amber ls --json: exit %d: %s", r.code, r.stderr)
	}
	var out []lsLine
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if line == "" {
			continue
		}
		var l lsLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("ls --json line %q: %v", line, err)
		}
		out = append(out, l)
	}
	return out
}

// checkOnce asserts that every URL a correct crawl fetches was captured
// exactly once, and nothing was captured twice.
func checkOnce(t *testing.T, srv *fixture.Server, lines []lsLine) {
	t.Helper()
	count := map[string]int{}
	for _, l := range lines {
		count[l.URL]++
	}
	for u, n := range count {
		if n != 1 {
			t.Errorf("%s captured %d times, want once", u, n)
		}
	}
	exp := srv.Expected()
	for _, u := range exp.Fetch() {
		if count[u] == 0 {
			t.Errorf("%s was never captured", u)
		}
	}
	for u, why := range exp.MustNot {
		if count[u] > 0 {
			t.Errorf("%s was captured but must not be (%s)", u, why)
		}
	}
}

// TestKillResume kills the crawler with SIGKILL at random moments, resumes
// each time, and checks that the finished archive holds every in-scope URL
// exactly once. The seed is printed so a failure can be replayed with
// AMBER_KILL_SEED.
func TestKillResume(t *testing.T) {
	seed := time.Now().UnixNano()
	if s := os.Getenv("AMBER_KILL_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	t.Logf("kill seed %d (set AMBER_KILL_SEED to repeat)", seed)
	rng := rand.New(rand.NewSource(seed))

	srv, db := startSite(t, 60)
	base := siteArgs(srv, db)
	base[3] = "5ms" // --delay: long enough for many kills to land mid-crawl

	kills := crawlWithKills(t, srv, db, base, rng, 20, 10*time.Millisecond, 150*time.Millisecond)
	if kills < 8 {
		t.Fatalf("the crawl finished after only %d kills; the test wants more (site too small?)", kills)
	}
	t.Logf("finished after %d kills", kills)
	checkOnce(t, srv, lsJSON(t, db))
	if r := runAmber(t, "verify", "--db", db); r.code != 0 {
		t.Errorf("amber verify after the kills: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// crawlWithKills crawls the fixture into db with the crawl flags base,
// killing amber with SIGKILL at up to wantKills random moments (minWait plus
// up to span after each start) and resuming after each kill, then lets the
// last resume finish. It returns how many kills landed.
func crawlWithKills(t *testing.T, srv *fixture.Server, db string, base []string, rng *rand.Rand, wantKills int, minWait, span time.Duration) int {
	t.Helper()
	first := append(append([]string{"crawl"}, base...), srv.Seed())
	resume := []string{"crawl", "--resume", "--db", db}
	kills, started := 0, false
	for attempt := 0; attempt < 10*wantKills+20; attempt++ {
		args := resume
		if !started {
			args = first
		}
		cmd := amber(context.Background(), args...)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var kill <-chan time.Time
		if kills < wantKills {
			kill = time.After(minWait + time.Duration(rng.Int63n(int64(span))))
		}
		select {
		case err := <-done:
			if err == nil {
				return kills
			}
			if strings.Contains(errb.String(), "nothing to resume in") {
				started = false // killed before the run was recorded: start again
				continue
			}
			if strings.Contains(errb.String(), "nothing to resume: run 1 finished") {
				return kills // killed after the run was marked finished: it is complete
			}
			t.Fatalf("amber %v: %v\nstderr: %q", args, err, errb.String())
		case <-kill:
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
			kills++
			started = true
		}
	}
	t.Fatalf("crawl did not finish after %d kills", kills)
	return kills
}

// TestInterruptResume stops a crawl with Ctrl-C: it exits 130, says how to
// resume, and the resumed crawl completes with nothing lost or doubled.
func TestInterruptResume(t *testing.T) {
	srv, db := startSite(t, 12)
	args := append(append([]string{"crawl"}, siteArgs(srv, db)...), srv.Seed())
	args[4] = "30ms" // --delay: slow enough to interrupt midway
	cmd := amber(context.Background(), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitStopped {
		t.Fatalf("after Ctrl-C: %v, want exit %d\n%s", err, exitStopped, errb.String())
	}
	if !strings.Contains(errb.String(), "amber crawl --resume --db "+db) {
		t.Errorf("stderr does not print the resume command:\n%s", errb.String())
	}
	if !strings.Contains(out.String(), "stopped") {
		t.Errorf("summary does not say the run stopped:\n%s", out.String())
	}
	r := runAmber(t, "crawl", "--resume", "--db", db)
	if r.code != 0 {
		t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
	}
	checkOnce(t, srv, lsJSON(t, db))
	runs := runAmber(t, "runs", "--db", db)
	if !strings.Contains(runs.stdout, "finished") {
		t.Errorf("amber runs does not show the run finished:\n%s", runs.stdout)
	}
}

// TestStoreInUse: a second amber process on the same store fails within
// seconds and says what to do, instead of hanging on the lock.
func TestStoreInUse(t *testing.T) {
	srv, db := startSite(t, 12)
	args := append(append([]string{"crawl"}, siteArgs(srv, db)...), srv.Seed())
	args[4] = "1s"
	cmd := amber(context.Background(), args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// Wait until the crawl has the store open (it has fetched something).
	deadline := time.Now().Add(20 * time.Second)
	for len(srv.Log()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("crawl never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, args := range [][]string{{"ls", "--db", db}, {"crawl", "--db", db, srv.Seed()}, {"replay", "--db", db, "--listen", "127.0.0.1:0"}} {
		start := time.Now()
		r := runAmber(t, args...)
		took := time.Since(start)
		if r.code != exitError {
			t.Errorf("%v while the store is in use: exit %d, want %d", args, r.code, exitError)
		}
		if !strings.Contains(r.stderr, "in use by another amber process") || !strings.Contains(r.stderr, "amber serve") {
			t.Errorf("%v: message does not say what to do: %q", args, r.stderr)
		}
		if took > 5*time.Second {
			t.Errorf("%v took %s to fail; want a few seconds at most", args, took)
		}
	}
}

// TestUsageErrors: bad command lines get one line saying what is wrong, and
// exit code 2; no stack traces.
func TestUsageErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "amber.db")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"crawl", "--db", db}, "give at least one seed URL"},
		{[]string{"crawl", "--db", db, "ftp://example.test/"}, "scheme"},
		{[]string{"crawl", "--db", db, "http://"}, "seed"},
		{[]string{"crawl", "--db", db, "--delay", "soon", "http://example.test/"}, "delay"},
		{[]string{"crawl", "--db", db, "--max-body", "12XB", "http://example.test/"}, "max-body"},
		{[]string{"crawl", "--db", db, "--article", "(", "http://example.test/"}, "--article"},
		{[]string{"crawl", "--db", db, "--resolve", "nohost", "http://example.test/"}, "HOST[:PORT]=ADDR"},
		{[]string{"crawl", "--db", db, "--resume", "http://example.test/"}, "--resume"},
		{[]string{"crawl", "--db", db, "--per-host", "0", "http://example.test/"}, "per-host"},
		{[]string{"show", "--db", db}, "show"},
		{[]string{"show", "--db", db, "--at", "2016x", "http://example.test/"}, "--at"},
		{[]string{"runs", "--db", db, "abc"}, "not a run id"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"ls", "--colour"}, "unknown flag"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) { checkUsageError(t, c.args, c.want) })
	}
	// Reading an archive that does not exist is not a usage error but says what to do.
	r := runAmber(t, "ls", "--db", filepath.Join(t.TempDir(), "none.db"))
	if r.code != exitError || !strings.Contains(r.stderr, "crawl something first") {
		t.Errorf("ls on a missing archive: exit %d, %q", r.code, r.stderr)
	}
}

// TestCrawlPipedAndFailures: piped, the crawl prints no status line, only
// the summary; a URL that cannot be fetched makes exit code 3 and is listed
// with a readable reason; ls --json gives scripts every field.
func TestCrawlPipedAndFailures(t *testing.T) {
	srv, db := startSite(t, 12)
	down := "http://down.test:9/"
	args := append([]string{"crawl"}, siteArgs(srv, db)...)
	args = append(args, "--retries", "0", "--resolve", "down.test:9=127.0.0.1:9", srv.Seed(), down)
	r := runAmber(t, args...)
	if r.code != exitFailures {
		t.Fatalf("exit %d, want %d (a seed was unreachable)\n%s", r.code, exitFailures, r.stderr)
	}
	if strings.Contains(r.stderr, "\r") {
		t.Errorf("piped stderr carries a status line: %q", r.stderr)
	}
	if !strings.Contains(r.stdout, "run 1 finished") || !strings.Contains(r.stdout, "by status:") || !strings.Contains(r.stdout, "by reason:") {
		t.Errorf("summary lacks run id or counts:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, down) || !strings.Contains(r.stderr, "refused") {
		t.Errorf("failure of %s not listed with a readable reason:\n%s", down, r.stderr)
	}
	lines := lsJSON(t, db)
	if len(lines) < 50 {
		t.Fatalf("only %d captures", len(lines))
	}
	for _, l := range lines {
		if l.URL == "" || len(l.TS) != 14 || l.Run != 1 || l.Reason == "" || (l.Status == 200 && l.Digest == "") {
			t.Errorf("incomplete ls --json line: %+v", l)
		}
	}
	f := runAmber(t, "ls", "--failed", "--db", db)
	if !strings.Contains(f.stdout, down) {
		t.Errorf("ls --failed does not list %s:\n%s", down, f.stdout)
	}
	w := runAmber(t, "why", "--db", db, srv.URL("chinadigitaltimes.test")+"/tag/cybersecurity/")
	if !strings.Contains(w.stdout, "NOT fetched") {
		t.Errorf("why on a tag page does not say it was not fetched:\n%s%s", w.stdout, w.stderr)
	}
	s := runAmber(t, "show", "--db", db, srv.Seed())
	if s.code != 0 || !strings.Contains(s.stdout, "--- request ---") || !strings.Contains(s.stdout, "User-Agent: amber/") || !strings.Contains(s.stdout, "</html>") {
		t.Errorf("show does not print request, headers and body:\n%.2000s", s.stdout)
	}
	raw := runAmber(t, "show", "--raw", "--db", db, srv.Seed())
	if !strings.HasPrefix(raw.stdout, "HTTP/1.1 200") {
		t.Errorf("show --raw does not start with the status line: %.100q", raw.stdout)
	}
}

// TestProgressOnTerminal runs a crawl on a pseudo-terminal (util-linux
// script) and checks the live status line is drawn there.
func TestProgressOnTerminal(t *testing.T) {
	scriptPath, err := exec.LookPath("script")
	if err != nil {
		t.Skip("util-linux 'script' is not installed: no pseudo-terminal to test the status line on")
	}
	srv, db := startSite(t, 12)
	args := append(append([]string{"crawl"}, siteArgs(srv, db)...), srv.Seed())
	args[4] = "20ms" // --delay: the crawl lasts long enough for a few redraws
	line := os.Args[0]
	for _, a := range args {
		line += " '" + a + "'"
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, scriptPath, "-qec", line, "/dev/null")
	cmd.Env = append(os.Environ(), "AMBER_RUN_MAIN=1", "AMBER_DB=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("crawl on a terminal: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{"\r\x1b[Kfetched ", "queued ", "pages/s", "hosts waiting", "run 1 finished"} {
		if !strings.Contains(s, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, s)
		}
	}
}

// TestReplayCommand serves a crawled archive with "amber replay" and reads
// an archived page through it, then stops it with Ctrl-C.
func TestReplayCommand(t *testing.T) {
	srv, err := fixture.Start(fixture.Options{Articles: 12})
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "amber.db")
	if r := runAmber(t, append(append([]string{"crawl"}, siteArgs(srv, db)...), srv.Seed())...); r.code != 0 {
		t.Fatalf("crawl: exit %d\n%s", r.code, r.stderr)
	}
	seed := srv.Seed()
	srv.Close() // nothing live is reachable while replaying

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, base, errb := startServing(t, ctx, "replay", "--db", db, "--listen", "127.0.0.1:0")
	resp, err := http.Get(base + "web/" + seed)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Memento-Datetime") == "" || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("GET /web/%s: %d, Memento-Datetime %q, CSP %q", seed, resp.StatusCode, resp.Header.Get("Memento-Datetime"), resp.Header.Get("Content-Security-Policy"))
	}
	if !strings.Contains(string(body), "/web/") || !strings.Contains(string(body), "China Digital Times") {
		t.Errorf("replayed front page is not rewritten into the archive: %s %v\n%.1500s", resp.Request.URL, resp.Header, body)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("replay after Ctrl-C: %v (want a clean exit)\n%s", err, errb.String())
	}
}

// TestServe runs a scheduled job and the replay server in one process: the
// job's captures become replayable while the process holds the store, and
// SIGTERM stops both with the run committed.
func TestServe(t *testing.T) {
	srv, err := fixture.Start(fixture.Options{Articles: 12})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfg := writeConfig(t, srv, "@every 1s", "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, base, errb := startServing(t, ctx, "serve", "--config", cfg, "--listen", "127.0.0.1:0")
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(base + "web/" + srv.Seed())
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job's capture of %s never became replayable\n%s", srv.Seed(), errb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitStopped {
		t.Errorf("serve after SIGTERM: %v, want exit %d\n%s", err, exitStopped, errb.String())
	}
	if !strings.Contains(errb.String(), "run start") {
		t.Errorf("serve logged no run start:\n%s", errb.String())
	}
}

// startServing starts amber with args (replay or serve on 127.0.0.1:0) and
// returns the process, the base URL it printed, and its stderr.
func startServing(t *testing.T, ctx context.Context, args ...string) (*exec.Cmd, string, *bytes.Buffer) {
	t.Helper()
	cmd := amber(ctx, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errb := &bytes.Buffer{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("amber %s printed no address: %v\n%s", args[0], err, errb.String())
	}
	i := strings.Index(line, "http://")
	if i < 0 {
		t.Fatalf("amber %s did not print its address: %q", args[0], line)
	}
	return cmd, strings.Fields(line[i:])[0], errb
}

// checkUsageError runs amber with bad args and checks what a user sees:
// exit 2 and one line starting "amber: " that mentions want, no stack trace.
func checkUsageError(t *testing.T, args []string, want string) {
	t.Helper()
	r := runAmber(t, args...)
	if r.code != exitUsage {
		t.Errorf("exit %d, want %d; stderr %q", r.code, exitUsage, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "amber: ") {
		t.Errorf("want one line starting 'amber: ', got %q", r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q does not mention %q", r.stderr, want)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
		t.Errorf("stack trace reached the user: %s", r.stderr)
	}
}

// startSite starts the fixture site with n articles, closed when the test
// ends, and names a fresh archive file for it.
func startSite(t *testing.T, n int) (*fixture.Server, string) {
	t.Helper()
	srv, err := fixture.Start(fixture.Options{Articles: n})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, filepath.Join(t.TempDir(), "amber.db")
}
