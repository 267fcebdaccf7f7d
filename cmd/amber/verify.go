package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/amberarchive/amber/warc"
)

func newVerifyCmd(stdout, stderr io.Writer) *cobra.Command {
	var db string
	c := &cobra.Command{
		Use:   "verify [flags] [WARC-FILE...]",
		Short: "check WARC files (any tool's) or, with no file, the archive itself",
		Long: `With files: read each WARC file (ours or any other tool's) and check every
record: block and payload digests, mandatory and forbidden fields, dates
and record IDs, Content-Length and the end-of-record marker, record-at-a-time
gzip, truncation and trailing garbage. Each problem is printed with the
record's offset.

Without files: check the archive (--db): bbolt's page consistency, every
stored body against its sha256 address, and every capture's references
(its body, the capture it repeats).

Exit code 0 when nothing is wrong (warnings allowed), 1 on any error.`,
		Example: `  amber verify out/*.warc.gz
  amber verify --db amber.db`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return verifyStore(cmd, db, stdout)
			}
			bad := 0
			for _, path := range args {
				f, err := os.Open(path)
				if err != nil {
					fmt.Fprintf(stdout, "%s: cannot read: %v\n", path, err)
					bad++
					continue
				}
				rep, err := warc.Verify(bufio.NewReaderSize(f, 256<<10), path)
				f.Close()
				fmt.Fprint(stdout, rep)
				if err != nil {
					fmt.Fprintf(stdout, "  error: reading stopped: %v\n", err)
					bad++
				} else if rep.Errors() > 0 {
					bad++
				}
			}
			if len(args) > 1 {
				fmt.Fprintf(stdout, "%d of %d files have errors\n", bad, len(args))
			}
			if bad > 0 {
				return exitCodeError{exitError}
			}
			return nil
		},
	}
	dbFlag(c, &db)
	return c
}

func verifyStore(cmd *cobra.Command, db string, stdout io.Writer) error {
	s, err := openStore(db, true)
	if err != nil {
		return err
	}
	defer s.Close()
	vs, err := s.Verify(cmd.Context(), func(problem string) {
		fmt.Fprintln(stdout, "  error: "+problem)
	})
	if err != nil {
		return err
	}
	problems := fmt.Sprintf("%d problems", vs.Problems)
	if vs.Problems == 1 {
		problems = "1 problem"
	}
	fmt.Fprintf(stdout, "%s: %d captures (%d against their block digests), %d bodies (%d chunks), %d payload digests checked; %s\n",
		db, vs.Captures, vs.BlockDigests, vs.Bodies, vs.Chunks, vs.PayloadDigests, problems)
	if vs.Problems > 0 {
		return exitCodeError{exitError}
	}
	return nil
}
