package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/crawler"
)

func newWhyCmd(stdout io.Writer) *cobra.Command {
	var db string
	c := &cobra.Command{
		Use:   "why [flags] URL",
		Short: "say why a URL was or was not fetched",
		Long: `Say everything the archive knows about a URL: when and why it was queued
(reason, the page that linked to it, the link text, the hop path), its
captures, and if it was not fetched, why not (robots.txt, link rules, depth,
failures).`,
		Example: `  amber why http://ads.test/click?id=1
  amber why https://chinadigitaltimes.net/tag/cybersecurity/`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore(db, true)
			if err != nil {
				return err
			}
			defer s.Close()
			u := args[0]
			if cu, err := crawler.Canonical(u); err == nil {
				u = cu
			}
			ds, err := s.Why(u)
			if err != nil {
				return err
			}
			if len(ds) == 0 && u != args[0] {
				if ds, err = s.Why(args[0]); err != nil {
					return err
				}
			}
			if len(ds) == 0 {
				fmt.Fprintf(stdout, "%s: never seen; no page in the archive links to it (or it was found only as a link that the rules ignored before it could be recorded)\n", u)
				return nil
			}
			for _, d := range ds {
				fmt.Fprintln(stdout, describe(d))
			}
			return nil
		},
	}
	dbFlag(c, &db)
	return c
}

// describe says one decision in a line a person reads.
func describe(d archive.Decision) string {
	when := ""
	if !d.Time.IsZero() {
		when = " at " + d.Time.UTC().Format(time.RFC3339)
	}
	from := ""
	if d.Parent != "" {
		from = " from " + d.Parent
		if d.Anchor != "" {
			from += fmt.Sprintf(" (%q)", d.Anchor)
		}
	}
	switch d.Kind {
	case archive.DecisionCaptured:
		return fmt.Sprintf("run %d: captured%s, status %d, as %s%s, hop path %s", d.Run, when, d.Status, d.Reason, from, dash(d.Hops))
	case archive.DecisionQueued:
		return fmt.Sprintf("run %d: queued as %s%s, hop path %s (%s)", d.Run, d.Reason, from, dash(d.Hops), d.State)
	case archive.DecisionSkipped:
		return fmt.Sprintf("run %d: NOT fetched: %s%s", d.Run, d.Why, from)
	case archive.DecisionFailed:
		return fmt.Sprintf("run %d: FAILED%s: %s%s", d.Run, when, d.Why, from)
	}
	return fmt.Sprintf("run %d: %s %s%s", d.Run, d.Kind, d.Why, from)
}
