package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/crawler"
	"github.com/amberarchive/amber/wacz"
)

func newExportCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		db, out, format, since, until, prefix, operator, maxSize, filePrefix string
		runs                                                                 []uint
	)
	c := &cobra.Command{
		Use:   "export -o DIR [flags]",
		Short: "write captures as WARC 1.1 files with a CDXJ index, or as one WACZ file",
		Long: `Write the archive's captures as standard WARC 1.1 files (one gzip member per
record, PREFIX-TIMESTAMP-SERIAL-HOST.warc.gz, rotated near --max-size) and a
sorted CDXJ index (DIR/index.cdxj) beside them; or, with --format wacz, as
one WACZ 1.1.1 file that ReplayWeb.page opens (-o names the .wacz file).

Each file starts with a warcinfo record (software, operator, robots policy,
User-Agent, the runs it holds). Each capture is a response (the bytes as
received), a request and a metadata record (via, hop path, fetch time,
outlinks). A repeat of a payload already exported is a revisit pointing at
it; when the original is not part of this export the repeat is written in
full, so every export replays on its own. Record IDs derive from the
captures, so exporting again gives the same IDs.

Files are written as NAME.open and renamed when complete: an interrupted
export never leaves a partial file under a final name.

Times (--since, --until) are RFC 3339 (2016-05-12T10:00:00Z), a date
(2016-05-12) or 14 digits (20160512100000), in UTC.`,
		Example: `  amber export -o out/
  amber export -o out/ --run 3 --url-prefix https://chinadigitaltimes.net/
  amber export --format wacz -o site.wacz --since 2016-05-01`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("export: -o is required (a folder for WARC files, or a .wacz file with --format wacz)")
			}
			var runIDs []uint64
			for _, r := range runs {
				runIDs = append(runIDs, uint64(r))
			}
			opts := archive.ExportOptions{Dir: out, Runs: runIDs, URLPrefix: prefix, Operator: operator,
				Prefix: filePrefix, Software: "amber/" + crawler.Version,
				UserAgent: func(r archive.Run) string {
					if ua := r.Settings["user-agent"]; ua != "" {
						return ua
					}
					if strings.HasPrefix(r.Job, "import") {
						return ""
					}
					return crawler.UserAgent(r.Settings["contact"])
				}}
			var err error
			if opts.Since, err = parseTime(since); err != nil {
				return usagef("export: --since: %v", err)
			}
			if opts.Until, err = parseTime(until); err != nil {
				return usagef("export: --until: %v", err)
			}
			if opts.MaxSize, err = parseByteSize(maxSize); err != nil {
				return usagef("export: --max-size: %v", err)
			}
			switch format {
			case "warc":
			case "wacz":
				if !strings.HasSuffix(out, ".wacz") {
					return usagef("export: with --format wacz, -o names the .wacz file to write (got %q)", out)
				}
			default:
				return usagef("export: --format is warc or wacz, not %q", format)
			}
			s, err := openStore(db, true)
			if err != nil {
				return err
			}
			defer s.Close()
			if format == "warc" {
				removeStaleOpen(out, filePrefix, stderr)
			}
			err = runExport(cmd.Context(), s, opts, format, stdout, stderr)
			// A damaged body surfaced as "store file is corrupt" without
			// saying which file: name it and what to run (issue 6).
			if errors.Is(err, archive.ErrCorrupt) {
				return fmt.Errorf("%w; the archive %s is damaged: amber verify --db %s lists what", err, db, db)
			}
			return err
		},
	}
	fl := c.Flags()
	dbFlag(c, &db)
	fl.StringVarP(&out, "output", "o", "", "folder for the WARC files and index.cdxj (created if missing); with --format wacz, the .wacz file")
	fl.StringVar(&format, "format", "warc", "warc (WARC files + CDXJ) or wacz (one WACZ 1.1.1 file)")
	fl.UintSliceVar(&runs, "run", nil, "export only this run's captures (repeatable; see 'amber runs')")
	fl.StringVar(&since, "since", "", "only captures made at or after this time")
	fl.StringVar(&until, "until", "", "only captures made before this time")
	fl.StringVar(&prefix, "url-prefix", "", "only captures whose URL starts with this")
	fl.StringVar(&operator, "operator", "", "warcinfo operator (default: the runs' --contact)")
	fl.StringVar(&maxSize, "max-size", "1GB", "rotate WARC files near this size")
	fl.StringVar(&filePrefix, "prefix", "amber", "WARC file name prefix")
	return c
}

func runExport(ctx context.Context, s *archive.Store, opts archive.ExportOptions, format string, stdout, stderr io.Writer) error {
	prog := startExportProgress(stderr)
	var res archive.ExportResult
	var err error
	var pages int
	if format == "wacz" {
		var wr wacz.Result
		wr, err = wacz.Write(ctx, s, wacz.Options{Export: opts, Path: opts.Dir,
			Title: "amber archive", Description: "Exported by amber/" + crawler.Version}, prog.update)
		res, pages = wr.Export, wr.Pages
		res.Partial = "" // the WACZ's staging folder, .open file and all, is removed
	} else {
		res, err = s.Export(ctx, opts, prog.update)
	}
	prog.stop()
	if err != nil {
		if ctx.Err() != nil {
			msg := "amber: export stopped"
			if res.Partial != "" {
				msg += "; the file being written is left as " + res.Partial + " (not a complete WARC: delete it, or export again)"
			}
			fmt.Fprintln(stderr, msg)
			return exitCodeError{exitStopped}
		}
		return exportFailed(err, res.Partial)
	}
	if res.Captures == 0 {
		fmt.Fprintln(stderr, "amber: export: no capture matches; nothing written")
	}
	summary := fmt.Sprintf("%d captures (%d responses, %d revisits), %d records, %s",
		res.Captures, res.Responses, res.Revisits, res.Records, human(res.Bytes))
	if format == "wacz" {
		fmt.Fprintf(stdout, "wrote %s: %s, %d pages\n", opts.Dir, summary, pages)
		return nil
	}
	fmt.Fprintf(stdout, "wrote %d WARC file%s to %s: %s\n", len(res.Files), plural(len(res.Files)), opts.Dir, summary)
	for _, f := range res.Files {
		fmt.Fprintln(stdout, "  "+f)
	}
	if res.Index != "" {
		fmt.Fprintln(stdout, "  "+res.Index)
	}
	return nil
}

// exportProgress is the export's status line.
type exportProgress struct {
	*statusLine
	captures, records, size atomic.Int64
	file                    atomic.Value
}

func startExportProgress(w io.Writer) *exportProgress {
	p := &exportProgress{statusLine: newStatusLine(w)}
	p.file.Store("")
	p.begin(func(elapsed time.Duration) string {
		return fmt.Sprintf("exported %d captures · %d records · %s · %.1f MB/s · %s",
			p.captures.Load(), p.records.Load(), human(p.size.Load()),
			float64(p.size.Load())/1e6/max(elapsed.Seconds(), 1e-3), filepath.Base(p.file.Load().(string)))
	})
	return p
}

func (p *exportProgress) update(e archive.ExportProgress) {
	p.captures.Store(e.Captures)
	p.records.Store(e.Records)
	p.size.Store(e.Bytes)
	p.file.Store(e.File)
}

// parseTime reads a time given on the command line, in UTC.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "20060102150405", "200601021504", "2006010215", "20060102", "200601", "2006"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (try 2016-05-12, 2016-05-12T10:00:00Z or 20160512100000)", s)
}

// parseByteSize reads sizes like 1GB, 500MB, 64MiB or a number of bytes.
func parseByteSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"gib", 1 << 30}, {"mib", 1 << 20}, {"kib", 1 << 10}, {"gb", 1e9}, {"mb", 1e6}, {"kb", 1e3}, {"g", 1e9}, {"m", 1e6}, {"k", 1e3}, {"b", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.n
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a size (try 1GB, 500MB or a number of bytes)", s)
	}
	return n * mult, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// exportFailed adds to a failed export's error what the user can do: a
// full disk needs room (or another -o), and a file left half written is
// not a WARC. The store itself is untouched by a failed export.
func exportFailed(err error, partial string) error {
	if partial != "" {
		err = fmt.Errorf("%w; %s is left incomplete (not a WARC: delete it, or let the next export to that folder remove it)", err, partial)
	}
	if errors.Is(err, syscall.ENOSPC) {
		err = fmt.Errorf("%w; the disk is full: free space there, or export elsewhere with -o, and run the same command again", err)
	}
	return err
}

// removeStaleOpen deletes the PREFIX-*.warc.gz.open files a killed or
// stopped export left in dir. They are incomplete by definition (a file
// is renamed when whole), and the export that follows writes the same
// names: without this, "export again", as the stop message advises,
// failed with "file exists" (issue 6).
func removeStaleOpen(dir, prefix string, stderr io.Writer) {
	stale, _ := filepath.Glob(filepath.Join(dir, prefix+"-*.warc.gz.open"))
	for _, p := range stale {
		if err := os.Remove(p); err == nil {
			fmt.Fprintf(stderr, "amber: removed %s, left incomplete by an interrupted export\n", p)
		}
	}
}
