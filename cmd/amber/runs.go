package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newRunsCmd(stdout io.Writer) *cobra.Command {
	var db string
	var asJSON bool
	c := &cobra.Command{
		Use:   "runs [flags] [RUN-ID]",
		Short: "list crawl runs: when, seeds, settings, counts by status and reason",
		Example: `  amber runs
  amber runs 3          # one run in full: every setting and counter`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// The argument is checked before the archive is opened, so a
			// bad id is a usage error (exit 2) whether or not the archive
			// exists (issue 6: it was "no archive", exit 1, on a new file).
			var id uint64
			if len(args) == 1 {
				var err error
				if id, err = strconv.ParseUint(args[0], 10, 64); err != nil {
					return usagef("runs: %q is not a run id (a number from 'amber runs')", args[0])
				}
			}
			s, err := openStore(db, true)
			if err != nil {
				return err
			}
			defer s.Close()
			runs, err := s.Runs()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				r, err := s.Run(id)
				if err != nil {
					return fmt.Errorf("run %d: %w", id, err)
				}
				if asJSON {
					return json.NewEncoder(stdout).Encode(r)
				}
				fmt.Fprintf(stdout, "run %d  %s\n  started  %s\n", r.ID, r.Status, r.Started.UTC().Format(time.RFC3339))
				if r.Job != "" {
					fmt.Fprintf(stdout, "  job      %s\n", r.Job)
				}
				if !r.Ended.IsZero() {
					fmt.Fprintf(stdout, "  ended    %s\n", r.Ended.UTC().Format(time.RFC3339))
				}
				for _, sd := range r.Seeds {
					fmt.Fprintf(stdout, "  seed     %s\n", sd)
				}
				fmt.Fprintf(stdout, "  captured %d (%s), %d repeats stored once, %d failed, %d not followed, %d queued in all\n",
					r.Counts.Captures, human(r.Counts.Bytes), r.Counts.Revisits, r.Counts.Failed, r.Counts.Skipped, r.Counts.Queued)
				fmt.Fprintf(stdout, "  by status: %s\n  by reason: %s\n  settings:\n", countList(r.Counts.ByStatus), countList(r.Counts.ByReason))
				keys := make([]string, 0, len(r.Settings))
				for k := range r.Settings {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					fmt.Fprintf(stdout, "    --%s=%s\n", k, r.Settings[k])
				}
				return nil
			}
			if asJSON {
				enc := json.NewEncoder(stdout)
				for _, r := range runs {
					if err := enc.Encode(r); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tJOB\tSTARTED\tSTATUS\tCAPTURED\tFAILED\tSKIPPED\tBY STATUS\tSEEDS")
			for _, r := range runs {
				seeds := ""
				if len(r.Seeds) > 0 {
					seeds = r.Seeds[0]
					if len(r.Seeds) > 1 {
						seeds += fmt.Sprintf(" (+%d)", len(r.Seeds)-1)
					}
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", r.ID, dash(r.Job), r.Started.UTC().Format("2006-01-02 15:04"), r.Status,
					r.Counts.Captures, r.Counts.Failed, r.Counts.Skipped, countList(r.Counts.ByStatus), seeds)
			}
			return tw.Flush()
		},
	}
	dbFlag(c, &db)
	c.Flags().BoolVar(&asJSON, "json", false, "JSON output")
	return c
}
