package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/amberarchive/amber/archive"
)

func newLsCmd(stdout io.Writer) *cobra.Command {
	var db string
	var asJSON, failed bool
	var run uint64
	c := &cobra.Command{
		Use:   "ls [flags] [URL-PREFIX]",
		Short: "list captures: time, status, type, size, why fetched, URL",
		Long: `List the captures in the archive, in URL order then time order.

With a URL prefix, only captures whose URL starts with it. --json prints one
JSON object per line (url, timestamp, status, mime, length, digest, run,
reason, parent, hops) for scripts. --failed lists the URLs that could not be
captured instead, with the reason.`,
		Example: `  amber ls
  amber ls https://chinadigitaltimes.net/2016/
  amber ls --json | jq -r 'select(.reason=="source") | .url'
  amber ls --failed --run 3`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix := ""
			if len(args) == 1 {
				prefix = args[0]
			}
			s, err := openStore(db, true)
			if err != nil {
				return err
			}
			defer s.Close()
			if failed {
				return lsFailed(stdout, s, run, asJSON)
			}
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			enc := json.NewEncoder(stdout)
			enc.SetEscapeHTML(false)
			if !asJSON {
				fmt.Fprintln(tw, "TIME\tSTATUS\tTYPE\tSIZE\tREASON\tURL")
			}
			err = s.Captures(cmd.Context(), prefix, func(c *archive.Capture) error {
				if run != 0 && c.Run != run {
					return nil
				}
				if asJSON {
					return enc.Encode(captureJSON(c))
				}
				size := human(c.BodyLen)
				if c.Truncated != "" {
					size += " (cut: " + c.Truncated + ")"
				}
				reason := string(c.Reason)
				if c.RevisitOf != nil {
					reason += " (repeat)"
				}
				_, err := fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", c.Time.UTC().Format("2006-01-02 15:04:05"), c.Status, dash(c.MIME), size, reason, c.URL)
				return err
			})
			if err != nil {
				tw.Flush()
				return storeErr(db, err)
			}
			return tw.Flush()
		},
	}
	dbFlag(c, &db)
	c.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line")
	c.Flags().BoolVar(&failed, "failed", false, "list URLs that could not be captured, with why")
	c.Flags().Uint64Var(&run, "run", 0, "only this crawl run")
	return c
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// captureJSON is the stable shape scripts read from "ls --json".
func captureJSON(c *archive.Capture) map[string]any {
	m := map[string]any{
		"url":         c.URL,
		"timestamp":   c.Time.UTC().Format("20060102150405"),
		"time":        c.Time.UTC().Format(time.RFC3339Nano),
		"status":      c.Status,
		"mime":        c.MIME,
		"length":      c.BodyLen,
		"digest":      c.PayloadDigest,
		"run":         c.Run,
		"reason":      c.Reason,
		"parent":      c.Parent,
		"anchor":      c.Anchor,
		"hops":        c.Hops,
		"ip":          c.IP,
		"duration_ms": c.Duration.Milliseconds(),
	}
	if c.Truncated != "" {
		m["truncated"] = c.Truncated
	}
	if c.RevisitOf != nil {
		m["revisit"] = true
	}
	if c.Location != "" {
		m["location"] = c.Location
	}
	return m
}

func lsFailed(w io.Writer, s *archive.Store, run uint64, asJSON bool) error {
	runs := []uint64{run}
	if run == 0 {
		rs, err := s.Runs()
		if err != nil {
			return err
		}
		runs = runs[:0]
		for _, r := range rs {
			runs = append(runs, r.ID)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, id := range runs {
		fs, err := s.Failures(id)
		if err != nil {
			return err
		}
		for _, f := range fs {
			if asJSON {
				if err := enc.Encode(map[string]any{"url": f.URL, "time": f.Time, "run": id, "reason": f.Reason, "parent": f.Parent, "tries": f.Tries, "error": f.Err}); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(w, "run %d  %s  %s\n", id, f.URL, f.Err)
		}
	}
	return nil
}
