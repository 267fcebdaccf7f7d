// Package archive is amber's store: one bbolt file holding every captured
// exchange byte for byte, content-addressed bodies, the crawl frontier, crawl
// runs and scheduled jobs.
//
// # Use
//
// [Open] a file, [Store.CreateRun], then [Store.Commit] a [Batch] for each
// fetch: the capture, the frontier items it finishes and the links it
// found go in one transaction, so a crawl killed at any moment resumes
// exactly ([Store.QueueHosts], [Store.PeekQueue]). Captures are read back
// with [Store.Captures], [Store.CapturesOf], [Store.Capture] and
// [Store.Body]; [Store.Why] explains a URL; [Store.Verify] checks the file.
//
// # Layout
//
// Top-level buckets (schema version 5, in meta):
//
//	meta      "schema" -> be32 version. Open refuses a newer version.
//	runs      be64(run ID) -> Run
//	urls      SURT(url) -> be32 URL id, given in order of first capture
//	caps      be32(URL id) be64(unix ns of Time) -> Capture metadata
//	          (Request and ResponseHead inline, Body not: BodyDigest names it).
//	          A capture's key everywhere else (Capture.Key, RevisitOf, pdig,
//	          imported) is its logical key, SURT(url) 0x00 be64(unix ns),
//	          and captures are listed in logical key order; the SURT is
//	          stored once per URL so that re-captures cost 12 key bytes
//	          (captable.go). A taken key gets +1 ns until free, so no
//	          capture overwrites another; keys of one URL sort in time order.
//	          Schema 3 files kept captures under logical keys in a captures
//	          bucket; Open moves them, a batch per transaction (migrate.go).
//	bodies    sha256(raw body) be32(chunk index) -> zstd(at most 1 MiB raw)
//	bodyinfo  sha256(raw body) -> be64 raw length, be32 chunk count
//	pdig      payload digest ("sha1:BASE32") -> key of the first capture with it
//	robots    scheme://host:port -> RobotsEntry (the latest fetched)
//	jobs      job name -> JobState (next run, last run and its result,
//	          history of run IDs); created by the first UpdateJob
//	imported  WARC-Record-ID 0x00 target URI -> key of the capture imported
//	          from that record (so importing a file twice stores nothing
//	          twice); written in the capture's own commit
//	frontier  be64(run ID) -> nested bucket per run with:
//	            seen      url -> state (queued/done), reason, parent, anchor, hops, seq, time;
//	                      when the run finishes, entries a capture of the run
//	                      repeats are dropped and "compacted" is set (compact.go)
//	            queue     HostKey 0x00 be64(seq) -> Item
//	            skips     url -> Skip (the first decision only)
//	            failures  url -> Failure (the latest)
//	            hostpages HostKey -> be64 pages of the --max-per-host budget spent
//
// Values other than bodies are a version byte (1) followed by JSON, so the
// encoding can change without a new file. Capture records are written in
// version 3: binary, the listing fields flag-coded and the heads compressed
// (zstd with a built-in dictionary) or, for a re-capture, a line delta of
// an earlier self-contained capture of the same URL (codec.go has the exact
// format); versions 1 and 2 are still read. Keys longer than 1 KiB are cut
// and made unique with a hash of the whole (sha1 of the URL for SURTs,
// sha256 for frontier keys). The SURT of capture keys is IA-style: scheme
// dropped, host lower-cased, "www." dropped and reversed with commas, ")"
// then path and sorted query, fragment dropped. It is lossy, so the exact
// URL is in the value and readers filter on it.
//
// Identical bodies are stored once. A capture whose non-empty, untruncated
// payload digest was seen before gets RevisitOf (the key of the first
// capture with that payload), which the WARC exporter writes as a revisit.
//
// # Export and import
//
// [Store.Export] writes selected captures as WARC 1.1 files (through
// warc.FileWriter: `.open` then rename, rotation) and a sorted CDXJ index;
// record IDs are derived from capture keys, so re-exports match.
// [Store.Import] reads WARC files written elsewhere into a new run (job
// "import"), remembering each record's WARC-Record-ID in the imported
// bucket in the capture's own commit, so nothing is imported twice.
//
// # Scheduled jobs and changes
//
// [Store.UpdateJob], [Store.Job] and [Store.Jobs] keep each scheduled job's
// [JobState] (package schedule drives them). For incremental re-crawls,
// [Store.Validators] gives the ETag and Last-Modified of a URL's newest full
// answer (a reverse cursor over that URL's captures only), and
// [Store.Queued] lists what a run queued with its parent page, so a page
// that answers 304 can have its links from last time queued again.
// [Store.Changes] compares two runs: new, changed and gone URLs, a 304
// standing for the answer before it.
//
// # Commits
//
// Bodies are hashed and compressed in the caller's goroutine. One writer
// goroutine then puts the batches of concurrent callers in one bbolt
// transaction (group commit, up to 256 batches) and answers each caller
// after the fsync; if that transaction fails, each batch is retried alone
// so one bad batch fails only its own caller. A failed commit (disk full,
// say) rolls back entirely and names the file in its error.
//
// # Caveats
//
//   - bbolt allows one process at a time: while a crawl holds the file,
//     another Open (even read-only) fails with [ErrLocked] after
//     Options.Timeout. Replay a running crawl from the same process
//     (`amber serve`).
//   - The file never shrinks; deleted pages are reused. Compact offline
//     with `bbolt compact`.
//   - bbolt can panic on a damaged file. Open, reads and commits recover
//     and return errors wrapping [ErrCorrupt]; a panic while opening may
//     leave the file descriptor (and its lock) open until the process ends.
//   - Listings and Verify read in pages of short transactions, so a
//     long listing does not block commits, but it may see commits made
//     while it runs.
package archive
