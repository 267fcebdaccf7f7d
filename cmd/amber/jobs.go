package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/crawler"
	"github.com/amberarchive/amber/schedule"
)

// statsOf gives summary the elapsed time of a run.
func statsOf(r archive.Run) crawler.Stats {
	var st crawler.Stats
	if !r.Ended.IsZero() {
		st.Elapsed = r.Ended.Sub(r.Started)
	}
	return st
}

// jobLine is one job as amber jobs --json prints it.
type jobLine struct {
	Name       string    `json:"name"`
	Schedule   string    `json:"schedule,omitempty"`
	Timezone   string    `json:"timezone,omitempty"`
	Next       time.Time `json:"next,omitzero"`
	LastRun    uint64    `json:"last_run,omitempty"`
	LastStatus string    `json:"last_status,omitempty"`
	LastStart  time.Time `json:"last_start,omitzero"`
	LastEnd    time.Time `json:"last_end,omitzero"`
	Captures   int64     `json:"captures"`
	NotMod     int64     `json:"not_modified"`
	Failed     int64     `json:"failed"`
	Runs       int       `json:"runs"`
}

func newJobsCmd(stdout io.Writer) *cobra.Command {
	var f jobFlags
	var asJSON bool
	c := &cobra.Command{
		Use:   "jobs [flags]",
		Short: "list scheduled jobs: next run, last run and its result",
		Example: `  amber jobs --config amber.toml
  amber jobs --db amber.db --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, file, err := openJobsStore(cmd.Flags(), &f, true, "jobs")
			if err != nil {
				return err
			}
			defer store.Close()
			states, err := store.Jobs()
			if err != nil {
				return err
			}
			byName := map[string]archive.JobState{}
			for _, st := range states {
				byName[st.Name] = st
			}
			var lines []jobLine
			add := func(name string, j *schedule.Job) {
				st := byName[name]
				l := jobLine{Name: name, Next: st.Next, LastRun: st.LastRun, LastStatus: st.LastStatus,
					LastStart: st.LastStart, LastEnd: st.LastEnd, Runs: len(st.History)}
				if j != nil {
					l.Schedule, l.Timezone = j.Schedule, j.Location.String()
				}
				if st.LastRun != 0 {
					if r, err := store.Run(st.LastRun); err == nil {
						l.LastStatus = r.Status
						l.Captures, l.NotMod, l.Failed = r.Counts.Captures, r.Counts.ByStatus["304"], r.Counts.Failed
					}
				}
				lines = append(lines, l)
			}
			if file != nil {
				for i := range file.Jobs {
					add(file.Jobs[i].Name, &file.Jobs[i])
					delete(byName, file.Jobs[i].Name)
				}
			}
			rest := make([]string, 0, len(byName))
			for n := range byName {
				rest = append(rest, n)
			}
			sort.Strings(rest)
			for _, n := range rest {
				add(n, nil)
			}
			if asJSON {
				enc := json.NewEncoder(stdout)
				for _, l := range lines {
					if err := enc.Encode(l); err != nil {
						return err
					}
				}
				return nil
			}
			if len(lines) == 0 {
				fmt.Fprintln(stdout, "no jobs yet (amber schedule --config FILE, amber run JOB --config FILE)")
				return nil
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "JOB\tSCHEDULE\tNEXT RUN\tLAST RUN\tSTATUS\tSTARTED\tENDED\tCAPTURED\t304\tFAILED")
			for _, l := range lines {
				sched := l.Schedule
				if sched == "" {
					sched = "-"
				}
				last := "-"
				if l.LastRun != 0 {
					last = fmt.Sprint(l.LastRun)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", l.Name, sched, stamp(l.Next), last,
					dash(l.LastStatus), stamp(l.LastStart), stamp(l.LastEnd), l.Captures, l.NotMod, l.Failed)
			}
			return tw.Flush()
		},
	}
	addJobFlags(c, &f, false)
	c.Flags().BoolVar(&asJSON, "json", false, "one JSON object per job")
	return c
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
