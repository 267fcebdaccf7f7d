package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/amberarchive/amber/archive"
)

const rootHelp = `amber keeps news sites and the sources they cite, exactly as served.

It crawls politely (robots.txt, one request at a time per host, Crawl-delay,
Retry-After), follows article links and "[Source]" links, and stores every
exchange byte for byte in one bbolt file (--db, default ./amber.db).

Exit codes: 0 done; 1 something failed (the message says what); 2 bad command
line; 3 the crawl finished but some URLs could not be captured; 130 stopped
(resume with "amber crawl --resume").`

func newRoot(ctx context.Context, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "amber",
		Short:         "archival crawler: crawl, keep, export and replay news sites and their sources",
		Long:          rootHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usagef("%s: %v (see 'amber %s --help')", c.Name(), err, c.Name())
	})
	root.AddCommand(
		newCrawlCmd(stdout, stderr),
		newRunsCmd(stdout),
		newLsCmd(stdout),
		newShowCmd(stdout),
		newWhyCmd(stdout),
		newDemoCmd(stdout, stderr),
		newReplayCmd(stdout, stderr),
		newExportCmd(stdout, stderr),
		newImportCmd(stdout, stderr),
		newVerifyCmd(stdout, stderr),
		newScheduleCmd(stdout, stderr),
		newJobsCmd(stdout),
		newRunCmd(stdout, stderr),
		newChangesCmd(stdout),
		newServeCmd(stdout, stderr),
	)
	for _, c := range root.Commands() {
		c.Args = wrapArgs(c.Args)
	}
	return root
}

// wrapArgs turns cobra's argument errors into usage errors (exit 2).
func wrapArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	if check == nil {
		return nil
	}
	return func(c *cobra.Command, args []string) error {
		if err := check(c, args); err != nil {
			return usagef("%s: %v (see 'amber %s --help')", c.Name(), err, c.Name())
		}
		return nil
	}
}

func isFlagError(err error) bool {
	return strings.HasPrefix(err.Error(), "unknown command") || strings.Contains(err.Error(), "unknown flag")
}

// dbFlag adds --db with the AMBER_DB default.
func dbFlag(c *cobra.Command, p *string) {
	def := os.Getenv("AMBER_DB")
	if def == "" {
		def = "amber.db"
	}
	c.Flags().StringVar(p, "db", def, "the archive file (env AMBER_DB)")
}

// openStore opens the archive; readOnly commands share the file with other
// readers but not with a running crawl.
func openStore(path string, readOnly bool) (*archive.Store, error) {
	if readOnly {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no archive at %s: crawl something first (amber crawl URL) or name the file with --db", path)
		}
	}
	return archive.Open(path, archive.Options{Timeout: 2 * time.Second, ReadOnly: readOnly})
}

// storeErr names the archive in an error read from it and, when the archive
// is damaged, says what to run.
func storeErr(db string, err error) error {
	if errors.Is(err, archive.ErrCorrupt) {
		return fmt.Errorf("%s: %w (run 'amber verify --db %s' to see all damage)", db, err, db)
	}
	return fmt.Errorf("%s: %w", db, err)
}
