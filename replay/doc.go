// Package replay serves what amber archived as a local Wayback: an
// [http.Handler] ([Server]) that reads captures through a small [Source]
// (which *archive.Store satisfies) and answers with the archived responses,
// their links rewritten so that a reader stays inside the archive.
//
// # URLs
//
// The server is mounted at the root of its origin (rewritten links are
// root-relative):
//
//	/                              the collection: crawl runs, sites, article
//	                               count, a search box (URL prefix), newest captures
//	/web/TS[mod]/URL               the capture of URL closest in time to TS
//	/web/URL                       Memento TimeGate: a redirect to the capture
//	                               closest to Accept-Datetime, or to the latest
//	/web/*/URL                     every capture of URL, as a calendar
//	/web/*/URL*                    every URL starting with URL, with counts
//	/timemap/link/URL              Memento TimeMap (application/link-format)
//	/timemap/json/URL              the same, one JSON object per capture
//	/cdx?url=URL[&matchType=prefix][&from=TS][&to=TS][&limit=N]
//	                               captures as newline-delimited JSON (pywb-like)
//	/search?q=PREFIX               the search box: redirects to /web/*/PREFIX*
//
// TS is 4 to 14 digits, YYYYMMDDhhmmss in UTC; a partial timestamp names
// the earliest instant it covers ("2016" is 2016-01-01 00:00:00). The
// archived URL follows as typed, with its own query; a missing scheme
// means http. A malformed timestamp or URL gets 400.
//
// # Modifiers
//
// As in pywb, a modifier may follow the timestamp:
//
//	(none), mp_   a page: rewritten, with the banner (when Options.Banner)
//	if_, fr_      rewritten, without the banner (frames; or a reader who
//	              wants the page as it was, unadorned)
//	im_, cs_, js_, oe_
//	              an image, a stylesheet, a script, an embed: rewritten
//	              (stylesheets) or served as they are, without banner
//	id_           the original entity, unrewritten: transfer-coding removed,
//	              Content-Encoding kept and declared, no banner
//
// Rewritten pages link to images with im_, stylesheets with cs_, scripts
// with js_, frames with if_, media and embeds with oe_, and pages with no
// modifier, all at the timestamp of the capture being shown, so that each
// resource is the one closest to the page's own time.
//
// # Choosing a capture
//
// A request is answered with the capture closest to the asked time by
// |Δt| (the earlier of two equally close), among the GET captures of the
// URL as asked or, failing that, as the crawler stores it (canonical form,
// the other scheme, with or without "www."). When the capture shown is not
// from the asked time, the banner says so and Content-Location names the
// exact memento. A redirect capture (3xx with a Location) is replayed as a
// redirect to the target at the same asked time, unless it redirects to
// the same resource (a self-redirect, as pywb skips) or its chain,
// followed inside the archive, comes back (the /x <-> /x/ loop): then the
// next closest capture is tried. A revisit (RevisitOf set) is replayed with
// its own response head and the stored body; a 304 answer to a conditional
// re-crawl is replayed as the latest earlier full capture. A URL without
// captures gets a 404 page listing captures from the same directory or
// site.
//
// # Fidelity
//
// The archived status line, Content-Type (with its charset), Last-Modified,
// Content-Language and Content-Disposition are kept; each archived header
// is also sent as X-Archive-Orig-Name. Headers that describe the archived
// connection (Connection, Transfer-Encoding, Content-Length, ...) or would
// act on the reader's browser (Set-Cookie, Content-Security-Policy,
// Strict-Transport-Security, Link, Refresh, Alt-Svc, CORS, ...) are not
// copied. Bodies are de-chunked and decoded (gzip, deflate, br, zstd), and
// in HTML (href, src, srcset, <base>, meta refresh, style attributes and
// <style>) and CSS (url(), @import) links are rewritten; everything else is
// copied byte for byte, so a GBK page stays GBK. Mementos carry
// Memento-Datetime and a Link header (original, timegate, timemap, first,
// last, prev, next).
//
// # Containment
//
// Every archived response carries a Content-Security-Policy confining it
// to the replay origin (default-src 'self' 'unsafe-inline' 'unsafe-eval'
// data: blob:, form-action 'self'), so neither a link the rewriter missed
// nor a URL built by a script can load anything from the live web; id_
// responses are also sandboxed (no scripts). Replay never fetches anything
// but the archive: there is no live proxying. Strings from the archive
// shown on amber's own pages go through html/template.
//
// # Caveats
//
//   - All archived sites share one origin, so an archived page's scripts
//     can read amber's own pages and other archived pages (all public,
//     read-only); cookies and storage are shared between archived sites.
//   - CSP cannot stop a script from navigating the whole window to a live
//     URL (location = "https://..."); without client-side rewriting (pywb's
//     wombat.js) such a navigation leaves the archive. Links and forms in
//     the page itself are rewritten, and a root-relative request made by a
//     script is sent back into the archive by its Referer.
//   - Only the first 14 digits of time are used: captures of one URL within
//     the same second share a replay URL (the closest is shown).
//   - JavaScript is not rewritten.
package replay
