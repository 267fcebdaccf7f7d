package archive

import "time"

// Reason says why a URL was fetched. It is recorded on every capture and every
// frontier item so that any capture can be explained.
type Reason string

// The reasons a URL is fetched.
const (
	ReasonSeed      Reason = "seed"      // given on the command line or in a job
	ReasonArticle   Reason = "article"   // same-site link matching the article pattern
	ReasonNav       Reason = "nav"       // same-site navigation page (archive, category)
	ReasonSource    Reason = "source"    // a "[Source]" anchor: fetched off-site, not expanded
	ReasonRequisite Reason = "requisite" // image, stylesheet, script, icon, CSS url()
	ReasonRedirect  Reason = "redirect"  // the Location of a 3xx capture
	ReasonRobots    Reason = "robots"    // robots.txt fetched before a host's first request
	ReasonImport    Reason = "import"    // read from a WARC file written elsewhere
)

// Hop codes, as in Heritrix's hop path: each fetch appends one letter to its
// parent's path, so "LLE" is an image on a page two links from a seed.
const (
	HopLink     = 'L'
	HopEmbed    = 'E'
	HopRedirect = 'R'
	HopPrereq   = 'P'
)

// Truncation reasons, as in WARC-Truncated.
const (
	TruncLength     = "length"     // body longer than the configured cap
	TruncTime       = "time"       // the fetch ran out of time mid-body
	TruncDisconnect = "disconnect" // the server closed or reset the connection mid-body
)

// Capture is one HTTP exchange exactly as it crossed the wire, with why and how
// it was fetched. The crawler fills every field except those marked "set by
// the store".
type Capture struct {
	URL      string        // the URL requested, absolute
	Method   string        // GET, HEAD, ...
	Time     time.Time     // when the request started (UTC, nanoseconds kept)
	Duration time.Duration // from the start of the request to the last byte read
	IP       string        // the remote IP address the connection went to

	Request      []byte // the request as sent: request line, headers, body
	ResponseHead []byte // status line and headers as received, ending in CRLF CRLF
	Body         []byte // the response body as received: chunked framing and content-coding kept

	Status    int    // HTTP status code
	MIME      string // Content-Type without parameters, lower case
	Truncated string // "", TruncLength, TruncTime or TruncDisconnect

	Reason      Reason   // why it was fetched
	Parent      string   // the page whose link led here ("" for seeds)
	Anchor      string   // the link's text, or the attribute it came from (img@src)
	Hops        string   // hop path from the seed, e.g. "LLE"
	Depth       int      // link hops (L) from the seed
	Run         uint64   // the crawl run that fetched it
	Outlinks    []string // links found in the body (for WARC metadata records)
	Location    string   // the resolved Location of a redirect, if any
	Conditional bool     // the request carried If-None-Match/If-Modified-Since
	// WARCRecordID is set on captures imported from a WARC file: the
	// WARC-Record-ID of the response or revisit record read. Commit records
	// it in the imported bucket so the same record is never imported twice.
	WARCRecordID string `json:",omitempty"`

	// Set by the store.
	Key           []byte // the capture's key in the store
	BodyDigest    string // "sha256:" + hex of Body: the content address
	BodyLen       int64  // len(Body)
	PayloadDigest string // "sha1:" + base32 over the entity body, transfer-coding removed, content-coding kept
	// BlockDigest is "sha1:" + base32 over ResponseHead then Body, as
	// received (for an imported capture, as stored: an imported revisit's
	// Body is its original's, dechunked when that was): the response record's
	// WARC-Block-Digest, computed when the exchange is committed, so that
	// an export states the digest of the bytes that crossed the wire and
	// does not hash them again. Set for captures with a body; "" for the
	// others (and for captures stored before schema 5), whose digest the
	// export computes.
	BlockDigest string
	RevisitOf   []byte // key of the earlier capture with the same payload, if any
}

// Item is one URL in a run's frontier: queued, then fetched or failed.
type Item struct {
	URL       string    // absolute, canonical (see crawler canonicalisation)
	HostKey   string    // scheme://host:port: the politeness and robots unit
	Reason    Reason    // why it is wanted
	Via       Reason    // for a redirect target: why the URL that redirected here was wanted
	Parent    string    // the page that linked here
	Anchor    string    // the link text or attribute
	Hops      string    // hop path from the seed
	Depth     int       // link hops from the seed
	Redirects int       // redirect hops taken to get here
	Tries     int       // failed attempts so far
	NotBefore time.Time // do not fetch before this time (Retry-After, backoff)
	Seq       uint64    // queue position; set by the store
}

// Skip records a link that was seen and deliberately not fetched, and why, so
// that a user can ask why a URL is missing from the archive.
type Skip struct {
	URL    string
	Parent string
	Anchor string
	Why    string // e.g. "off-site link, not a [Source] anchor"
}

// Failure records a URL that could not be captured, with a readable reason.
type Failure struct {
	URL    string
	Time   time.Time
	Reason Reason
	Parent string
	Tries  int
	Err    string // e.g. "dial tcp: no such host", "robots.txt disallows /private/"
}

// RobotsEntry is a cached robots.txt answer for one scheme://host:port.
type RobotsEntry struct {
	HostKey string
	Fetched time.Time
	Status  int    // HTTP status, 0 for a network error
	Body    []byte // at most 500 KiB
	Err     string
}

// Counts are a run's counters. Keys of the maps are HTTP status codes as text
// ("200", "404", "failed") and reasons ("article", "source", ...).
type Counts struct {
	Captures int64
	Bytes    int64 // raw response bytes captured
	Failed   int64
	Skipped  int64
	Queued   int64 // items ever queued
	Revisits int64 // captures whose payload was already stored
	ByStatus map[string]int64
	ByReason map[string]int64
}

// Run is one crawl: its seeds, its settings and its counters.
type Run struct {
	ID       uint64
	Job      string // scheduled job name, "" for a manual crawl
	Started  time.Time
	Ended    time.Time // zero while running or after a kill
	Status   string    // RunRunning, RunStopped, RunFinished, RunFailed
	Seeds    []string
	Settings map[string]string // every crawl setting, as given (for warcinfo and resume)
	Counts   Counts
}

// Run statuses.
const (
	RunRunning  = "running"
	RunStopped  = "stopped"  // interrupted (Ctrl-C, SIGTERM); resumable
	RunFinished = "finished" // frontier empty
	RunFailed   = "failed"   // stopped by an error; resumable
)

// Batch is everything one fetch changes, committed in one transaction so that
// a kill at any moment leaves the store consistent: the capture is stored if
// and only if its frontier item is gone from the queue.
type Batch struct {
	Done     []Item     // items to remove from the queue (fetched, failed for good, or skipped)
	Requeue  []Item     // items to keep queued with new Tries/NotBefore (same Seq)
	Captures []*Capture // exchanges to store
	Enqueue  []Item     // candidate URLs: the store queues those not yet seen in this run
	Skipped  []Skip
	Failures []Failure
	Robots   []RobotsEntry
	// Counted names, once per page, the hosts whose per-run page budget
	// (--max-per-host) this batch spends, so that a resumed crawl goes on
	// from the same count (Store.HostPages).
	Counted []string
}

// BatchResult tells the caller what a commit did.
type BatchResult struct {
	Queued []Item // the Enqueue items that were new to the run, with Seq set
}
