// Package bench holds amber's end-to-end benchmarks (issue 2): the amber
// binary crawls a big generated fixture site on loopback with --delay 0,
// and wget crawls the same site for comparison. It has no code of its own
// beyond this comment; see README.md for how to run it and what it
// measured.
//
// # Benchmarks
//
//   - BenchmarkCrawl builds cmd/amber once and runs "amber crawl" as a
//     subprocess against fixture.Start sites of several sizes; it reports
//     pages/s, MB/s, the amber process's peak RSS and store bytes per page.
//   - BenchmarkCrawlInProcess runs the same crawl through crawler.New and
//     Run in the test process, so "go test -cpuprofile" profiles amber's
//     hot path.
//   - BenchmarkWget crawls the same site with wget --recursive --warc-file
//     through a small forwarding proxy (wget cannot map host names to
//     loopback addresses itself), and BenchmarkProxy measures what that
//     proxy costs per request.
//
// Sizes and settings come from AMBER_BENCH_* environment variables, listed
// in README.md.
package bench
