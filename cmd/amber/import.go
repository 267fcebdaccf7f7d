package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/amberarchive/amber/archive"
)

func newImportCmd(stdout, stderr io.Writer) *cobra.Command {
	var db string
	var verbose bool
	c := &cobra.Command{
		Use:   "import [flags] FILE...",
		Short: "read WARC files written by other tools (wget, Heritrix, warcio, browsertrix) into the archive",
		Long: `Read WARC files into the archive as captures of one new run (job "import",
reason "import"; 'amber runs' lists it with the files it read).

Each response record becomes a capture, with the request record paired to it
(WARC-Concurrent-To, or the same URI and date) and what a metadata record
says (via, hop path, fetch time, outlinks). An identical-payload revisit
becomes a capture with its original's body, found in the archive or in the
files read; a server-not-modified revisit becomes a 304 capture. Resource
records, responses without an HTTP message and revisits whose original is
nowhere are skipped, each with its reason. Known defects of real files
(whole-file gzip, <...> around URIs, truncated .open files) are reported
and what can be read is imported. ARC files are refused.

Every record imported is remembered by its WARC-Record-ID in the same
commit as its capture: importing the same file again stores nothing twice,
and an interrupted import is finished by running it again.

Exit code 1 when a file could not be read at all.`,
		Example: `  amber import crawl-from-wget.warc.gz heritrix-*.warc.gz
  amber import -v export/*.warc.gz`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore(db, false)
			if err != nil {
				return err
			}
			defer s.Close()
			res, err := s.Import(cmd.Context(), args, func(e archive.ImportEvent) {
				if e.Action != archive.ImportStored || verbose {
					fmt.Fprintln(stdout, e)
				}
			})
			fmt.Fprintf(stdout, "run %d: %d captures imported (%s) from %d files; %d already in the archive, %d records skipped, %d defects reported, %d files unreadable\n",
				res.Run, res.Stored, human(res.Bytes), res.Files-res.FailedFiles, res.Duplicates, res.Skipped, res.Defects, res.FailedFiles)
			if err != nil {
				if cmd.Context().Err() != nil {
					fmt.Fprintln(stderr, "amber: import stopped; what was committed is kept: run the same import again to finish")
					return exitCodeError{exitStopped}
				}
				return err
			}
			if res.FailedFiles > 0 {
				return exitCodeError{exitError}
			}
			return nil
		},
	}
	dbFlag(c, &db)
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "also list every capture stored")
	return c
}
