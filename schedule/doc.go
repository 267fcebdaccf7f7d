// Package schedule runs named crawl jobs on cron schedules, incrementally,
// on one store.
//
// # Config
//
// [Load] reads a TOML file (amber.toml): the store (db), a default time zone,
// max_concurrent_jobs, crawl settings that apply to every job, and one
// [[job]] table per job with its name, seeds, schedule, optional timezone
// and crawl settings. Every flag of `amber crawl` is a setting, under its
// name in snake_case ([Settings], [Keys]); the command line and the file go
// through the same [Settings.Config]. Unknown keys, bad cron expressions,
// durations, sizes, regular expressions and time zones, missing seeds and
// duplicate names are refused with the line ([ConfigError]).
//
// Schedules are standard 5-field cron expressions or descriptors ("0 */6 *
// * *", "@daily", "@every 30m"), in the job's time zone unless they name
// their own with CRON_TZ=.
//
// # Scheduling
//
// A [Scheduler] keeps each job's next run time and last result in the
// store, so a restart neither loses nor repeats a run: an unfinished run
// (stopped, killed, failed) is resumed at start; a slot missed while amber
// was down runs once at start; a job never overlaps itself; at most
// Options.MaxConcurrent jobs crawl at once (default 1). The clock is
// injected (Options.Now, Options.After).
//
// # Incremental crawls
//
// [CrawlRunner] sends If-None-Match / If-Modified-Since from the newest
// full answer kept for each URL; a 304 is stored as a capture marked
// Conditional (the WARC exporter writes a server-not-modified revisit), and
// a 200 with a known payload is stored as a revisit of the earlier body. A
// 304 page is not parsed, so its links are taken from its previous capture:
// what it led to in that run's frontier is queued again. Unchanged
// articles therefore still have their sources and requisites re-checked,
// and changed listing pages (200) reveal new articles as usual.
//
// [archive.Store.Changes] reports new, changed and gone URLs between two
// runs.
//
// # Caveats
//
//   - Links re-queued for a 304 page keep the reason, anchor and hop path
//     they had last time; links skipped last time are not recorded again in
//     the new run (amber why shows the earlier run's decision).
//   - The links of a 304 page come from its previous capture's run; a page
//     whose earlier run was cut short (max_pages) may lead to fewer URLs.
//   - Store.Changes, a resumed incremental run and the run after a finished
//     one read every capture of the store once (captures are keyed by URL,
//     not by run; a finished run's frontier keeps only what its captures do
//     not say).
package schedule
