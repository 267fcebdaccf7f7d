package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/testdata/fixture"
)

// Environment knobs. Every one is optional; README.md lists them.
const (
	envArticles = "AMBER_BENCH_ARTICLES" // comma-separated site sizes, e.g. "1000,3000"
	envLarge    = "AMBER_BENCH_LARGE"    // "1": add the large sizes to the default list
	envPerHost  = "AMBER_BENCH_PER_HOST" // comma-separated --per-host values; default "1,8"
	envParallel = "AMBER_BENCH_PARALLEL" // --parallel; default 8
	envKeep     = "AMBER_BENCH_KEEP"     // a folder: keep each run's amber.db and output there
)

var (
	defaultSizes = []int{1000, 3000}
	largeSizes   = []int{10000, 20000} // 20,000 articles: about 104,000 captures
)

// workDir holds the amber binary built once for the whole test binary.
var workDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "amber-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	workDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	printSummary(os.Stdout)
	os.Exit(code)
}

// results gathers every measured run by benchmark name, so that
// "-count 3" ends with min/median/max per benchmark (printSummary).
var results = struct {
	sync.Mutex
	order []string
	m     map[string]map[string][]float64 // name -> metric -> one value per run
}{m: map[string]map[string][]float64{}}

// record keeps one run's figures for the summary.
func record(b *testing.B, metrics map[string]float64) {
	name := strings.TrimSuffix(b.Name(), fmt.Sprintf("-%d", runtime.GOMAXPROCS(0)))
	results.Lock()
	defer results.Unlock()
	byMetric := results.m[name]
	if byMetric == nil {
		byMetric = map[string][]float64{}
		results.m[name] = byMetric
		results.order = append(results.order, name)
	}
	for k, v := range metrics {
		byMetric[k] = append(byMetric[k], v)
	}
}

// printSummary writes min/median/max of every recorded metric, one line
// per benchmark and metric.
func printSummary(w io.Writer) {
	results.Lock()
	defer results.Unlock()
	if len(results.order) == 0 {
		return
	}
	fmt.Fprintf(w, "\nsummary over runs (min / median / max):\n")
	for _, name := range results.order {
		byMetric := results.m[name]
		keys := make([]string, 0, len(byMetric))
		for k := range byMetric {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := append([]float64(nil), byMetric[k]...)
			sort.Float64s(v)
			med := v[len(v)/2]
			if len(v)%2 == 0 {
				med = (v[len(v)/2-1] + v[len(v)/2]) / 2
			}
			fmt.Fprintf(w, "%-52s %-18s n=%d  %10.4g / %10.4g / %10.4g\n", name, k, len(v), v[0], med, v[len(v)-1])
		}
	}
}

// sizes returns the site sizes (articles) to crawl.
func sizes(tb testing.TB) []int {
	if v := os.Getenv(envArticles); v != "" {
		return intList(tb, envArticles, v)
	}
	out := append([]int(nil), defaultSizes...)
	if os.Getenv(envLarge) == "1" {
		out = append(out, largeSizes...)
	}
	return out
}

func intList(tb testing.TB, name, v string) []int {
	tb.Helper()
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			tb.Fatalf("%s=%q: want positive integers separated by commas", name, v)
		}
		out = append(out, n)
	}
	return out
}

func envInt(tb testing.TB, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		return intList(tb, name, v)[0]
	}
	return def
}

func perHosts(tb testing.TB) []int {
	if v := os.Getenv(envPerHost); v != "" {
		return intList(tb, envPerHost, v)
	}
	return []int{1, 8}
}

var (
	buildOnce sync.Once
	amberBin  string
	buildErr  error
)

// amber builds cmd/amber from the module root once per test binary.
func amber(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
		if err != nil {
			buildErr = fmt.Errorf("go list -m: %w", err)
			return
		}
		root := strings.TrimSpace(string(out))
		bin := filepath.Join(workDir, "amber")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/amber")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/amber: %w\n%s", err, out)
			return
		}
		amberBin = bin
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return amberBin
}

// site starts the fixture with n articles and closes it when tb ends.
func site(tb testing.TB, n int) *fixture.Server {
	tb.Helper()
	srv, err := fixture.Start(fixture.Options{Articles: n})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	// Render every page once before measuring, as a static-file server
	// has its files ready: the fixture shares the two cores with the
	// crawler, and rendering on demand measured the fixture too.
	if err := srv.Warm(); err != nil {
		tb.Fatal(err)
	}
	return srv
}

// resolveArgs turns the fixture's host map into --resolve flags.
func resolveArgs(srv *fixture.Server) []string {
	var args []string
	m := srv.Resolve()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "--resolve", k+"="+m[k])
	}
	return args
}

// crawlResult is one amber crawl, measured from outside the process.
type crawlResult struct {
	wall     time.Duration
	captures int64
	bytes    int64 // raw response bytes captured (Counts.Bytes)
	maxRSS   int64 // bytes: peak RSS (VmHWM) of the amber process
	ruRSS    int64 // bytes: ru_maxrss from wait4, floored by this process's peak (see sampleMem)
	anon     int64 // peak RssAnon (heap, stacks), sampled from /proc
	file     int64 // peak RssFile: mostly the bbolt file's mmap
	dbSize   int64
	user     time.Duration
	sys      time.Duration
	fixture  time.Duration // CPU of this test process (the fixture server) during the crawl
	run      archive.Run
}

// loadavg returns the 1-minute load average, to show how busy the machine
// was besides the benchmark (other builds and tests share the 2 cores).
func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(data))[0]
}

type memPeaks struct{ hwm, anon, file int64 }

// sampleMem reads /proc/PID/status every 20 ms until the returned function
// is called (after Wait), and returns the process's own peak RSS (VmHWM)
// and the peaks of RssAnon and RssFile. Zero where /proc is missing.
//
// Not ru_maxrss from wait4: on Linux it is max(the child's peak, the
// spawner's peak at fork), because exec folds the old image's high-water
// mark into the new one, and Go spawns with vfork semantics; this test
// process (fixture and all) would set the floor. And RSS alone cannot tell
// the Go heap (RssAnon) from the pages of the mmap'd bbolt file the
// process has touched (RssFile); these two can.
func sampleMem(pid int) func() memPeaks {
	var (
		mu   sync.Mutex
		pk   memPeaks
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	path := fmt.Sprintf("/proc/%d/status", pid)
	read := func() {
		data, err := os.ReadFile(path)
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(data), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok || (k != "RssAnon" && k != "RssFile" && k != "VmHWM") {
				continue
			}
			f := strings.Fields(v)
			if len(f) < 1 {
				continue
			}
			n, _ := strconv.ParseInt(f[0], 10, 64)
			n <<= 10 // kB
			mu.Lock()
			switch k {
			case "RssAnon":
				pk.anon = max(pk.anon, n)
			case "RssFile":
				pk.file = max(pk.file, n)
			default:
				pk.hwm = max(pk.hwm, n)
			}
			mu.Unlock()
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				read()
			}
		}
	}()
	return func() memPeaks {
		close(done)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return pk
	}
}

// selfCPU is the user+system CPU time of this process so far: the
// fixture's share of the machine while amber crawls it, since little else
// runs in the test process then (the /proc sampler of sampleMem).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// crawlOnce runs "amber crawl" on srv into a fresh store and measures it.
func crawlOnce(b *testing.B, srv *fixture.Server, dir string, perHost, parallel int) crawlResult {
	b.Helper()
	bin := amber(b)
	db := filepath.Join(dir, "amber.db")
	args := []string{"crawl", "--db", db, "--delay", "0", "--parallel", strconv.Itoa(parallel),
		"--per-host", strconv.Itoa(perHost),
		// xinhua.test asks for Crawl-delay: 2; a cap of 0 makes the
		// delay max(--delay, min(Crawl-delay, 0)) = 0. robots.txt rules
		// are still obeyed.
		"--max-crawl-delay", "0s",
		"--contact", "mailto:bench@amber.invalid"}
	args = append(args, resolveArgs(srv)...)
	args = append(args, srv.Seed())
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	self0 := selfCPU()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	mem := sampleMem(cmd.Process.Pid)
	err := cmd.Wait()
	wall := time.Since(start)
	peaks := mem()
	fixtureCPU := selfCPU() - self0
	if err != nil {
		b.Fatalf("amber crawl: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	res := crawlResult{
		wall:    wall,
		maxRSS:  peaks.hwm,
		ruRSS:   ru.Maxrss << 10, // KiB on Linux
		anon:    peaks.anon,
		file:    peaks.file,
		user:    cmd.ProcessState.UserTime(),
		sys:     cmd.ProcessState.SystemTime(),
		fixture: fixtureCPU,
	}
	if res.maxRSS == 0 { // no /proc
		res.maxRSS = res.ruRSS
	}
	out, err := exec.Command(bin, "runs", "--json", "--db", db).Output()
	if err != nil {
		b.Fatalf("amber runs --json: %v", err)
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &res.run); err != nil {
		b.Fatalf("amber runs --json: %v\n%s", err, out)
	}
	if res.run.Status != archive.RunFinished {
		b.Fatalf("run %d ended %s, want %s", res.run.ID, res.run.Status, archive.RunFinished)
	}
	res.captures, res.bytes = res.run.Counts.Captures, res.run.Counts.Bytes
	fi, err := os.Stat(db)
	if err != nil {
		b.Fatal(err)
	}
	res.dbSize = fi.Size()
	if bd, err := storeBreakdown(db); err == nil {
		b.Logf("store %s: %.1f MB file; %s", filepath.Base(db), float64(res.dbSize)/1e6, bd)
	} else {
		b.Logf("store breakdown: %v", err)
	}
	if keep := os.Getenv(envKeep); keep != "" {
		name := fmt.Sprintf("%s-%d", strings.ReplaceAll(b.Name(), "/", "_"), time.Now().UnixNano())
		_ = os.MkdirAll(keep, 0o755)
		_ = os.Rename(db, filepath.Join(keep, name+".db"))
		_ = os.WriteFile(filepath.Join(keep, name+".out"), append(stdout.Bytes(), stderr.Bytes()...), 0o644)
	}
	return res
}

// BenchmarkCrawl runs the amber binary on generated sites of each size and
// reports, per crawl: pages/s (captures committed per second of the amber
// process's wall time), MB/s of raw response bytes captured, the process's
// peak RSS, store bytes per capture, and CPU seconds per 1,000 pages.
func BenchmarkCrawl(b *testing.B) {
	amber(b)
	parallel := envInt(b, envParallel, 8)
	for _, n := range sizes(b) {
		for _, ph := range perHosts(b) {
			b.Run(fmt.Sprintf("articles=%d/per-host=%d", n, ph), func(b *testing.B) {
				srv := site(b, n)
				want := len(srv.Expected().Fetch())
				var (
					total crawlResult
					peak  int64
					anon  int64
					file  int64
				)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					srv.ResetLog()
					r := crawlOnce(b, srv, b.TempDir(), ph, parallel)
					if int(r.captures) < want {
						b.Errorf("captured %d pages, the fixture expects at least %d", r.captures, want)
					}
					total.wall += r.wall
					total.captures += r.captures
					total.bytes += r.bytes
					total.dbSize += r.dbSize
					total.user += r.user
					total.sys += r.sys
					peak = max(peak, r.maxRSS)
					anon = max(anon, r.anon)
					file = max(file, r.file)
					record(b, map[string]float64{
						"pages/s":               float64(r.captures) / r.wall.Seconds(),
						"MB/s":                  float64(r.bytes) / 1e6 / r.wall.Seconds(),
						"peakRSS-MB":            float64(r.maxRSS) / (1 << 20),
						"anonRSS-MB":            float64(r.anon) / (1 << 20),
						"fileRSS-MB":            float64(r.file) / (1 << 20),
						"store-B/page":          float64(r.dbSize) / float64(r.captures),
						"pages":                 float64(r.captures),
						"cpu-s/1kpages":         (r.user + r.sys).Seconds() / float64(r.captures) * 1000,
						"fixture-cpu-s/1kpages": r.fixture.Seconds() / float64(r.captures) * 1000,
					})
					b.Logf("run %d: %d captures (fixture expects %d), %.1f MB raw, %s wall, %.0f pages/s, peak RSS %.1f MB (anon %.1f, file %.1f; ru_maxrss %.1f), store %.1f MB, load %s",
						i, r.captures, want, float64(r.bytes)/1e6, r.wall.Round(time.Millisecond),
						float64(r.captures)/r.wall.Seconds(), float64(r.maxRSS)/(1<<20), float64(r.anon)/(1<<20), float64(r.file)/(1<<20), float64(r.ruRSS)/(1<<20), float64(r.dbSize)/1e6, loadavg())
				}
				b.StopTimer()
				sec := total.wall.Seconds()
				b.ReportMetric(float64(total.captures)/sec, "pages/s")
				b.ReportMetric(float64(total.bytes)/1e6/sec, "MB/s")
				b.ReportMetric(float64(peak)/(1<<20), "peakRSS-MB")
				b.ReportMetric(float64(anon)/(1<<20), "anonRSS-MB")
				b.ReportMetric(float64(file)/(1<<20), "fileRSS-MB")
				b.ReportMetric(float64(total.dbSize)/float64(total.captures), "store-B/page")
				b.ReportMetric(float64(total.captures)/float64(b.N), "pages")
				b.ReportMetric((total.user+total.sys).Seconds()/float64(total.captures)*1000, "cpu-s/1kpages")
				b.ReportMetric(0, "ns/op") // a whole crawl per op; pages/s says it better
			})
		}
	}
}
