package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/amberarchive/amber/archive"
)

// changeLine is one change as amber changes --json prints it.
type changeLine struct {
	Kind        string `json:"kind"`
	URL         string `json:"url"`
	Reason      string `json:"reason"`
	Parent      string `json:"parent,omitempty"`
	StatusA     int    `json:"status_before"`
	StatusB     int    `json:"status_after"`
	DigestA     string `json:"digest_before,omitempty"`
	DigestB     string `json:"digest_after,omitempty"`
	NotModified bool   `json:"not_modified,omitempty"`
	Why         string `json:"why"`
	RunA        uint64 `json:"run_before"`
	RunB        uint64 `json:"run_after"`
}

func newChangesCmd(stdout io.Writer) *cobra.Command {
	var f jobFlags
	var since string
	var asJSON bool
	c := &cobra.Command{
		Use:   "changes [flags] JOB",
		Short: "new, changed and gone URLs between two runs of a job",
		Long: `List the URLs that are new, changed (another payload or status) or gone (404/410
now, or captured before and not now: no longer linked) between two runs of a
job: by default its last two runs, or --since RUN and its latest run. Articles
and sources are marked by why they were fetched.`,
		Example: `  amber changes cdt --config amber.toml
  amber changes cdt --db amber.db --since 12 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			// --since is checked before the archive is opened: a bad id is
			// a usage error even where no archive exists yet (issue 6).
			if since != "" {
				if _, err := strconv.ParseUint(since, 10, 64); err != nil {
					return usagef("changes: --since %q is not a run id (see amber jobs, amber runs)", since)
				}
			}
			store, _, err := openJobsStore(cmd.Flags(), &f, true, "changes")
			if err != nil {
				return err
			}
			defer store.Close()
			ids, err := jobRuns(store, name)
			if err != nil {
				return err
			}
			var a, b uint64
			if since != "" {
				a, err = strconv.ParseUint(since, 10, 64)
				if err != nil {
					return usagef("changes: --since %q is not a run id (see amber jobs, amber runs)", since)
				}
				if len(ids) == 0 || ids[len(ids)-1] == a {
					return fmt.Errorf("changes: job %s has no run after run %d", name, a)
				}
				b = ids[len(ids)-1]
			} else {
				if len(ids) < 2 {
					return fmt.Errorf("changes: job %s has %d run(s); it takes two to compare", name, len(ids))
				}
				a, b = ids[len(ids)-2], ids[len(ids)-1]
			}
			changes, err := store.Changes(a, b)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(stdout)
				for _, c := range changes {
					l := changeLine{Kind: c.Kind, URL: c.URL, Reason: string(c.Reason), Parent: c.Parent,
						StatusA: c.StatusA, StatusB: c.StatusB, DigestA: c.DigestA, DigestB: c.DigestB,
						NotModified: c.NotModifiedB, Why: c.Why, RunA: a, RunB: b}
					if err := enc.Encode(l); err != nil {
						return err
					}
				}
				return nil
			}
			counts := map[string]int{}
			for _, c := range changes {
				counts[c.Kind]++
			}
			rb, _ := store.Run(b)
			fmt.Fprintf(stdout, "job %s: run %d -> run %d (%s): %d new, %d changed, %d gone\n", name, a, b, rb.Status,
				counts[archive.ChangeNew], counts[archive.ChangeChanged], counts[archive.ChangeGone])
			for _, c := range changes {
				fmt.Fprintf(stdout, "%-7s  %-9s  %s  (%s)\n", c.Kind, c.Reason, c.URL, c.Why)
			}
			return nil
		},
	}
	addJobFlags(c, &f, false)
	c.Flags().StringVar(&since, "since", "", "compare this run with the job's latest (default: the last two runs)")
	c.Flags().BoolVar(&asJSON, "json", false, "one JSON object per change")
	return c
}

// jobRuns returns the IDs of the runs of job, oldest first.
func jobRuns(store *archive.Store, job string) ([]uint64, error) {
	runs, err := store.Runs()
	if err != nil {
		return nil, err
	}
	var ids []uint64
	for _, r := range runs {
		if r.Job == job {
			ids = append(ids, r.ID)
		}
	}
	return ids, nil
}
