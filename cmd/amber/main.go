// Command amber crawls news sites politely into a bbolt archive, exports
// WARC, and replays what it kept. Run "amber --help" for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// softMemoryLimit is the Go runtime's soft memory limit (heap, stacks and
// runtime structures; not the store's memory map).
const softMemoryLimit = 64 << 20

func main() {
	// amber's live heap is small (tens of MB: the frontier and the bodies
	// live in bbolt), so collecting it twice as often as needed only burns
	// the CPU a crawl wants. GOGC in the environment still wins. The soft
	// limit keeps that headroom from growing the heap past what a long
	// crawl needs: near it the collector runs as often as it must, and a
	// larger live heap (a huge page) still gets the memory it needs.
	// GOMEMLIMIT in the environment wins too.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(softMemoryLimit)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		cancel()
		<-sigs
		fmt.Fprintln(os.Stderr, "amber: stopped at once; run the same command with --resume to go on")
		os.Exit(130)
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes, documented in the README and in --help.
const (
	exitOK       = 0
	exitError    = 1 // something failed; the message says what
	exitUsage    = 2 // bad command line
	exitFailures = 3 // the crawl finished but some URLs could not be captured
	exitStopped  = 130
)

// usageError marks errors in what the user typed: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// exitCodeError carries a non-zero exit code without an error message of its
// own (the command already printed its summary).
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// run is the whole program; errors become one line on stderr and an exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(ctx, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ec exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	fmt.Fprintln(stderr, "amber:", err)
	var ue usageError
	if errors.As(err, &ue) || isFlagError(err) {
		return exitUsage
	}
	return exitError
}
