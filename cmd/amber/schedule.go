package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/schedule"
)

const scheduleHelp = `Run crawl jobs when their schedules say, until stopped (Ctrl-C or SIGTERM).

Jobs are named in a config file (--config amber.toml):

  db = "amber.db"                   # relative to the config file
  timezone = "Asia/Shanghai"        # default zone of the schedules (else local time)
  max_concurrent_jobs = 1           # jobs crawling at once on the store
  contact = "mailto:you@example.org"  # a crawl setting here applies to every job

  [[job]]
  name = "cdt"
  seeds = ["https://chinadigitaltimes.net/"]
  schedule = "0 */6 * * *"          # cron; also "@every 30m", "@daily", "CRON_TZ=UTC 0 6 * * *"
  max_depth = 2                     # every flag of amber crawl, in snake_case
  delay = "2s"

or, for one job, with flags: amber schedule --name cdt --schedule @daily [crawl flags] URL...

Re-crawls are incremental: requests carry If-None-Match/If-Modified-Since
from the last answer kept, a 304 is stored without a body, and an unchanged
body is stored once. A job never overlaps itself; a run missed while amber was
down runs once at start; a stopped run is resumed, not restarted. State (next
run, last result) is kept in the store: see amber jobs.`

// jobFlags name the jobs: a config file, or one job given by flags.
type jobFlags struct {
	config   string
	db       string
	name     string
	schedule string
	timezone string
	maxJobs  int
	settings schedule.Settings
}

func addJobFlags(c *cobra.Command, f *jobFlags, withJob bool) {
	c.Flags().StringVar(&f.config, "config", "", "the config file naming the store and the jobs (amber.toml)")
	dbFlag(c, &f.db)
	if !withJob {
		return
	}
	f.settings = schedule.DefaultSettings()
	c.Flags().StringVar(&f.name, "name", "", "without --config: the job's name")
	c.Flags().StringVar(&f.schedule, "schedule", "", "without --config: cron expression or @daily, @every 30m")
	c.Flags().StringVar(&f.timezone, "timezone", "", "without --config: time zone of the schedule (default local)")
	c.Flags().IntVar(&f.maxJobs, "max-concurrent-jobs", 1, "jobs crawling at once on the store")
	f.settings.AddFlags(c.Flags())
}

// loadJobs reads the jobs of --config, or the one job of the flags. The
// returned path is the store's.
func loadJobs(fs *pflag.FlagSet, f *jobFlags, seeds []string, cmd string) (*schedule.File, string, error) {
	if f.config != "" {
		if len(seeds) > 0 || f.name != "" {
			return nil, "", usagef("%s: give either --config or --name, --schedule and seed URLs, not both", cmd)
		}
		file, err := schedule.Load(f.config)
		if err != nil {
			var ce *schedule.ConfigError
			if errors.As(err, &ce) {
				return nil, "", usagef("%s: %v", cmd, err)
			}
			return nil, "", err
		}
		db := f.db
		if file.DB != "" && !fs.Changed("db") {
			db = file.DB
			if !filepath.IsAbs(db) {
				db = filepath.Join(filepath.Dir(f.config), db)
			}
		}
		if fs.Changed("max-concurrent-jobs") {
			file.MaxConcurrentJobs = f.maxJobs
		}
		return file, db, nil
	}
	if f.name == "" {
		return nil, "", usagef("%s: give --config amber.toml, or --name NAME --schedule EXPR and seed URLs", cmd)
	}
	j, err := schedule.NewJob(f.name, seeds, f.schedule, f.timezone, f.settings)
	if err != nil {
		return nil, "", usagef("%s: %v", cmd, err)
	}
	return &schedule.File{DB: f.db, MaxConcurrentJobs: max(f.maxJobs, 1), Jobs: []schedule.Job{j}}, f.db, nil
}

// newScheduler builds the scheduler of file on store, logging each run's
// start and end to stderr. amber serve runs the same in its own process.
func newScheduler(store *archive.Store, file *schedule.File, stderr io.Writer) (*schedule.Scheduler, error) {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	return schedule.New(store, file.Jobs, schedule.Options{MaxConcurrent: file.MaxConcurrentJobs, Log: log})
}

func newScheduleCmd(stdout, stderr io.Writer) *cobra.Command {
	var f jobFlags
	c := &cobra.Command{
		Use:   "schedule [flags] [URL...]",
		Short: "run crawl jobs on their schedules (cron), incrementally, until stopped",
		Long:  scheduleHelp,
		Example: `  amber schedule --config amber.toml
  amber schedule --name cdt --schedule "0 */6 * * *" --timezone Asia/Shanghai https://chinadigitaltimes.net/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, s, err := startJobs(cmd, &f, args, "schedule", stderr)
			if err != nil {
				return err
			}
			defer store.Close()
			if err := s.Run(cmd.Context()); err != nil {
				return err
			}
			if cmd.Context().Err() != nil {
				fmt.Fprintf(stderr, "stopped; runs in progress were committed and resume on the next start\n")
				return exitCodeError{exitStopped}
			}
			return nil
		},
	}
	addJobFlags(c, &f, true)
	return c
}

// startJobs loads the jobs of a command (schedule, serve), opens their store
// for writing and builds their scheduler, saying each job's schedule.
func startJobs(cmd *cobra.Command, f *jobFlags, args []string, name string, stderr io.Writer) (*archive.Store, *schedule.Scheduler, error) {
	file, db, err := loadJobs(cmd.Flags(), f, args, name)
	if err != nil {
		return nil, nil, err
	}
	store, err := openStore(db, false)
	if err != nil {
		return nil, nil, err
	}
	s, err := newScheduler(store, file, stderr)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	for _, j := range file.Jobs {
		fmt.Fprintf(stderr, "job %s: %s\n", j.Name, describeSchedule(j))
	}
	return store, s, nil
}

func describeSchedule(j schedule.Job) string {
	if j.Schedule == "" {
		return "no schedule (amber run " + j.Name + ")"
	}
	return fmt.Sprintf("%q in %s", j.Schedule, j.Location)
}

// jobFromStore rebuilds a job from its newest run (seeds and settings), for
// amber run with --db only.
func jobFromStore(store *archive.Store, name string) (schedule.Job, error) {
	last, err := store.LastRun(name)
	if errors.Is(err, archive.ErrNotFound) {
		return schedule.Job{}, fmt.Errorf("no job %q in %s; name its config with --config", name, store.Path())
	}
	if err != nil {
		return schedule.Job{}, err
	}
	st := schedule.DefaultSettings()
	fs := pflag.NewFlagSet("job", pflag.ContinueOnError)
	st.AddFlags(fs)
	if err := applySettings(fs, last.Settings); err != nil {
		return schedule.Job{}, fmt.Errorf("job %q: run %d: %w", name, last.ID, err)
	}
	return schedule.NewJob(name, last.Seeds, "", "", st)
}

// openJobsStore opens the store of --config or --db.
func openJobsStore(fs *pflag.FlagSet, f *jobFlags, readOnly bool, cmd string) (*archive.Store, *schedule.File, error) {
	var file *schedule.File
	db := f.db
	if f.config != "" {
		var err error
		if file, db, err = loadJobs(fs, f, nil, cmd); err != nil {
			return nil, nil, err
		}
	}
	if readOnly {
		if _, err := os.Stat(db); err != nil {
			return nil, nil, fmt.Errorf("no archive at %s: nothing has run yet (amber run JOB --config FILE)", db)
		}
	}
	store, err := openStore(db, readOnly)
	return store, file, err
}

func newRunCmd(stdout, stderr io.Writer) *cobra.Command {
	var f jobFlags
	c := &cobra.Command{
		Use:   "run [flags] JOB",
		Short: "run one job now (resuming its last run if that did not finish)",
		Example: `  amber run cdt --config amber.toml
  amber run cdt --db amber.db      # with the seeds and settings of its last run`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runJobNow(cmd.Context(), cmd.Flags(), &f, args[0], stdout, stderr)
		},
	}
	addJobFlags(c, &f, false)
	return c
}

func runJobNow(ctx context.Context, fs *pflag.FlagSet, f *jobFlags, name string, stdout, stderr io.Writer) error {
	store, file, err := openJobsStore(fs, f, false, "run")
	if err != nil {
		return err
	}
	defer store.Close()
	if file == nil {
		j, err := jobFromStore(store, name)
		if err != nil {
			return err
		}
		file = &schedule.File{Jobs: []schedule.Job{j}}
	} else if _, ok := file.Job(name); !ok {
		return usagef("run: no job %q in %s", name, f.config)
	}
	s, err := newScheduler(store, file, stderr)
	if err != nil {
		return err
	}
	run, err := s.RunJob(ctx, name)
	if run.ID != 0 {
		summary(stdout, run, statsOf(run), store.Path())
	}
	if err != nil {
		return err
	}
	switch run.Status {
	case archive.RunStopped:
		fmt.Fprintf(stderr, "stopped; resume with: amber run %s (the same flags)\n", name)
		return exitCodeError{exitStopped}
	case archive.RunFailed:
		return fmt.Errorf("run %d of job %s failed; amber run %s resumes it", run.ID, name, name)
	}
	if run.Counts.Failed > 0 {
		fails, _ := store.Failures(run.ID)
		printFailures(stderr, fails)
		return exitCodeError{exitFailures}
	}
	return nil
}
