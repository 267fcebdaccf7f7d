package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"sync"

	"github.com/spf13/cobra"

	"github.com/amberarchive/amber/replay"
)

const serveHelp = `Run the scheduled crawl jobs and the replay server in one process.

bbolt lets one process write a store at a time, so a crawl and a separate
"amber replay" cannot share it; "amber serve" does both: the jobs of
--config run on their schedules (as with "amber schedule") while the archive
is replayed at --listen (as with "amber replay"), new captures showing up as
they are committed.

Ctrl-C or SIGTERM stops both: the run in progress commits what is in flight
and is marked stopped; the next start resumes it. Exit code 130 then.`

func newServeCmd(stdout, stderr io.Writer) *cobra.Command {
	var f jobFlags
	var addr string
	var noBanner bool
	c := &cobra.Command{
		Use:     "serve [flags] [URL...]",
		Short:   "scheduled crawls and the replay server in one process",
		Long:    serveHelp,
		Example: "  amber serve --config amber.toml\n  amber serve --config amber.toml --listen 127.0.0.1:8090",
		RunE: func(cmd *cobra.Command, args []string) error {
			store, s, err := startJobs(cmd, &f, args, "serve", stderr)
			if err != nil {
				return err
			}
			defer store.Close()
			db := store.Path()
			ln, err := listen(addr, stderr)
			if err != nil {
				return err
			}
			// The scheduler failing (a store error) stops the server too.
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			var wg sync.WaitGroup
			var schedErr error
			wg.Add(1)
			go func() {
				defer wg.Done()
				if schedErr = s.Run(ctx); schedErr != nil {
					cancel()
				}
			}()
			h := replay.New(store, replay.Options{Banner: !noBanner, Logf: log.New(stderr, "amber serve: ", log.LstdFlags).Printf})
			herr := serveOn(ctx, ln, h, stdout, fmt.Sprintf("replaying %s", db))
			cancel()
			wg.Wait()
			if schedErr != nil {
				return schedErr
			}
			if herr != nil {
				return herr
			}
			if cmd.Context().Err() != nil {
				fmt.Fprintf(stderr, "stopped; runs in progress were committed and resume on the next start\n")
				return exitCodeError{exitStopped}
			}
			return nil
		},
	}
	addJobFlags(c, &f, true)
	c.Flags().StringVar(&addr, "listen", "127.0.0.1:8080", "address of the replay server")
	c.Flags().BoolVar(&noBanner, "no-banner", false, "do not add the archived-copy banner to pages")
	return c
}
