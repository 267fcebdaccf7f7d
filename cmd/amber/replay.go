package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/amberarchive/amber/replay"
)

const replayHelp = `Serve the archive in a local Wayback-style replay server.

Open the printed address in a browser:
  /                                the collection: runs, sites, newest captures, URL search
  /web/20160512000000/URL          the capture closest to a time (partial timestamps work)
  /web/URL                         the latest capture (a Memento TimeGate; honours Accept-Datetime)
  /web/*/URL   /web/*/URL*         every capture of a URL, or of a URL prefix
  /web/20160512000000id_/URL       the original bytes, unrewritten
  /timemap/link/URL                Memento TimeMap

Links in archived pages are rewritten to stay inside the archive, and a
Content-Security-Policy keeps archived pages from reaching the live web;
nothing is ever fetched from the live web. The server listens on 127.0.0.1
by default.

While a crawl holds the archive, "amber replay" cannot open it: run
"amber serve" to crawl on a schedule and replay in one process.`

func newReplayCmd(stdout, stderr io.Writer) *cobra.Command {
	var db, listen string
	var noBanner bool
	c := &cobra.Command{
		Use:     "replay [flags]",
		Short:   "replay the archive in a local Wayback-style server",
		Long:    replayHelp,
		Example: "  amber replay\n  amber replay --db demo-output/amber.db --listen 127.0.0.1:8090",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := openStore(db, true)
			if err != nil {
				return err
			}
			defer store.Close()
			h := replay.New(store, replay.Options{
				Banner: !noBanner,
				Logf:   log.New(stderr, "amber replay: ", log.LstdFlags).Printf,
			})
			return serveHTTP(cmd.Context(), listen, h, stdout, stderr, fmt.Sprintf("replaying %s", db))
		},
	}
	dbFlag(c, &db)
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address to serve on (keep it on loopback unless you mean to publish the archive)")
	c.Flags().BoolVar(&noBanner, "no-banner", false, "do not add the archived-copy banner to pages")
	return c
}

// serveHTTP serves h on addr until ctx is done, then shuts down gracefully.
// It prints the address actually bound, so ":0" is usable.
func serveHTTP(ctx context.Context, addr string, h http.Handler, stdout, stderr io.Writer, what string) error {
	ln, err := listen(addr, stderr)
	if err != nil {
		return err
	}
	return serveOn(ctx, ln, h, stdout, what)
}

// listen binds addr, warning when it is not a loopback address.
func listen(addr string, stderr io.Writer) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (is another server using it? pick another with --listen)", addr, err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		fmt.Fprintf(stderr, "warning: %s is reachable from other machines; the archive is published there\n", ln.Addr())
	}
	return ln, nil
}

// serveOn serves h on ln until ctx is done.
func serveOn(ctx context.Context, ln net.Listener, h http.Handler, stdout io.Writer, what string) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	fmt.Fprintf(stdout, "%s at http://%s/ (Ctrl-C to stop)\n", what, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
