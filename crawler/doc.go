// Package crawler fetches sites politely and hands every exchange, byte for
// byte, to a [Store].
//
// # Pipeline
//
// A run's frontier lives in the store. The scheduler reads a few queued items
// per host at a time, hands them to a bounded set of workers, and the worker
// fetches through colly, whose transport is a [Transport] that tees the
// connection: the request as sent and the response as received (status line,
// header order and case, chunked framing, content-coding, non-UTF-8 bytes)
// are kept, while colly's parser gets a decoded copy. The capture, the
// frontier item it completes and the links it adds are committed in one
// [archive.Batch], so a killed crawl resumes with nothing lost and nothing
// captured twice. That commit runs beside the workers (a bounded number at
// once): the worker and the host's request slot are free once the response
// is read, while the store makes the page durable, and the crawl ends only
// when every fetched page is committed.
//
// # Connections
//
// The [Transport] keeps HTTP/1.1 connections alive and reuses them, at most
// PerHost per host, idle ones closed after 15 s and when the crawl ends:
// a crawl costs sites (and amber) one TCP and TLS handshake per connection,
// not per request. Reuse must not blur the record, so a connection is bound
// to one exchange at a time (when net/http hands it over, before the request
// is written), and the tee follows each response's framing to the byte:
// anything past the message (a Content-Length that lies, junk after the last
// chunk, an answer nobody asked for) is neither recorded nor parsed, and
// closes the connection. So do a body cut at --max-body and any error. When
// net/http resends a request because the server had closed the idle
// connection, the record is the resent exchange; a server that times out is
// not asked twice. The stored request no longer carries "Connection: close".
// TransportOptions.NoKeepAlive restores one connection per request; it is not
// a crawl flag, since reuse changes nothing a site or the archive sees but
// the number of handshakes.
//
// # Politeness
//
//   - robots.txt per scheme://host:port, RFC 9309 ([Robots]), fetched through
//     the same transport (so it is archived), cached for a day in the store.
//     2xx: obey; 4xx: allow all, except 429 (the site is overloaded); 429,
//     5xx or unreachable: fetch nothing from the host, retry later, give up
//     after a few tries with a reason.
//   - At most PerHost requests in flight per host (default 1); request starts
//     at least max(Delay, Crawl-delay) apart, Crawl-delay capped.
//   - 429 and 503 pause only that host, for Retry-After (seconds or an HTTP
//     date) or an exponential backoff. A 429/503 that will be retried is not
//     stored; the last answer is.
//   - The User-Agent names amber, its version and the operator's contact.
//
// # Link rules
//
// [Rules.Decide] says, for every link of every fetched page, whether it is
// followed and why not; both answers are stored, so "amber why URL" can
// explain any URL.
package crawler
