package chaos

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"strings"
)

// Case is one misbehaviour: where it is served and what amber must do.
type Case struct {
	Name   string // short id, used by the tests
	Host   string // host name for [Server.URL]: "www", "cal", "tls", ...
	Path   string // entry path, linked from the index
	What   string // the misbehaviour
	Expect string // amber's expected behaviour
}

// Cases lists every misbehaviour, in the order of the table in the package
// documentation. The index page links to each entry URL.
var Cases = []Case{
	{"slowloris", "slowloris", "/c/drip", "head, then one body byte every 100 ms, forever", "capture cut at --timeout, Truncated=time"},
	{"silent", "silent", "/c/silent", "reads the request, never answers", "failure after --timeout (and retries): timeout"},
	{"tarpit", "tarpit", "/c/tarpit", "accepts the connection, never reads or answers", "failure after --timeout: timeout"},
	{"reset", "www", "/c/reset", "Content-Length 10000, 3000 bytes, then TCP RST", "capture of the 3000 bytes, Truncated=disconnect"},
	{"cl-long", "www", "/c/cl-long", "Content-Length 5000, 1000 bytes, then FIN", "capture of the 1000 bytes, Truncated=disconnect"},
	{"cl-short", "www", "/c/cl-short", "Content-Length 100, 1000 bytes sent", "capture of exactly 100 bytes, not truncated"},
	{"bad-chunk", "www", "/c/bad-chunk", "chunked body whose second chunk size is \"zz\"", "capture of what arrived, Truncated=disconnect"},
	{"empty", "www", "/c/empty", "closes the connection without a byte", "failure: EOF"},
	{"garbage-status", "www", "/c/garbage", "status line \"HTTP/1.1 abc\"", "failure: malformed HTTP status code"},
	{"not-http", "www", "/c/not-http", "answers with an SSH banner", "failure: malformed HTTP response"},
	{"header-flood", "www", "/c/headers", "2 MiB of response headers", "failure: header too long, no memory blow-up"},
	{"fake-gzip", "www", "/c/fake-gzip", "Content-Encoding: gzip on a plain body", "capture as sent; links parsed from the raw body and followed"},
	{"gzip-bomb", "bomb", "/c/bomb", "1 MiB of gzip that decodes to 1 GiB", "raw 1 MiB kept whole; decoded copy capped at 8x--max-body"},
	{"endless", "endless", "/c/endless", "chunked body that never ends", "capture cut at --max-body, Truncated=length"},
	{"50mb", "big", "/c/50mb", "a 50 MB page", "capture cut at --max-body, Truncated=length"},
	{"binary-html", "www", "/c/binary", "64 KiB of random bytes as text/html", "capture byte for byte; no links, no crash"},
	{"bad-utf8", "www", "/c/bad-utf8", "invalid UTF-8 under charset=utf-8", "capture byte for byte; its link followed"},
	{"lying-charset", "www", "/c/lying-charset", "says Shift_JIS and iso-8859-1, sends UTF-8", "capture byte for byte; its link followed"},
	{"10k-links", "www", "/c/10k", "10,000 links on one page", "one capture; each link decided and recorded (Skip)"},
	{"calendar", "cal", "/t/cal/2024/01/", "endless next-month links", "cut by --max-per-host: Skip \"per-host page budget\""},
	{"session-ids", "www", "/t/sess?PHPSESSID=0123456789abcdef0123456789abcdef", "a fresh PHPSESSID / jsessionid / sid in every link", "fetched once without the id; Skip \"session id ... fetched as\""},
	{"echo-trap", "www", "/t/echo/", "every path answers with a relative link one level deeper", "cut when a segment repeats 3 times: Skip \"crawler trap\""},
	{"redirect-loop", "www", "/c/loop-a", "/c/loop-a -> /c/loop-b -> /c/loop-a", "each captured once; the loop ends at the seen set"},
	{"self-redirect", "www", "/c/self", "301 to itself", "captured once"},
	{"redirect-chain", "chain", "/c/hop/0", "30 redirects in a row", "hops 0-10 captured; hop 11 Skip \"redirect chain longer than 10 hops\""},
	{"redirect-ftp", "www", "/c/to-ftp", "302 to ftp://", "3xx captured; Skip \"redirect Location not followed: unsupported scheme\""},
	{"redirect-js", "www", "/c/to-js", "302 to javascript:", "3xx captured; Skip naming javascript:"},
	{"redirect-file", "www", "/c/to-file", "302 to file:///etc/passwd", "3xx captured; Skip naming file"},
	{"redirect-data", "www", "/c/to-data", "302 to data:", "3xx captured; Skip naming data:"},
	{"redirect-none", "www", "/c/to-nowhere", "302 without Location", "3xx captured, nothing followed"},
	{"redirect-tls", "www", "/c/to-tls", "302 to an https host with a bad certificate", "3xx captured; the target fails with a certificate reason"},
	{"bad-cert", "tls", "/c/secure", "TLS certificate for example.com, self-signed", "failure naming the certificate (robots.txt unreachable)"},
	{"relative", "www", "/c/rel/dir/page", "../, ./, ?query and //host links", "each resolved against the page and captured"},
	{"base", "www", "/c/based", "<base href> in the head", "relative links resolved against the base"},
	{"schemes", "www", "/c/schemes", "javascript:, data:, mailto:, tel:, ftp:, file:, #, empty and broken links", "each Skip with the scheme or the defect named"},
	{"hosts-paths", "www", "/c/hosts", "IDN host, %-encoded host and path, a space, a 3000-byte path", "IDN as punycode, escapes normalised; the long URL Skip \"longer than 2048\""},
	{"robots-huge", "robots-huge", "/c/page", "2 MiB robots.txt, a rule beyond 500 KiB", "rules within 500 KiB obeyed (/c/private/ skipped), the rule beyond ignored (/c/late/ fetched)"},
	{"robots-html", "robots-html", "/c/page", "robots.txt is an HTML page", "no rules: everything allowed"},
	{"robots-redirect", "robots-redirect", "/c/page", "robots.txt redirects to the real file", "redirect followed; its rules obeyed (/c/private/ skipped)"},
	{"robots-401", "robots-401", "/c/page", "robots.txt answers 401", "4xx: everything allowed"},
	{"robots-403", "robots-403", "/c/page", "robots.txt answers 403", "4xx: everything allowed"},
	{"robots-500", "robots-500", "/c/page", "robots.txt answers 500", "5xx: nothing fetched; failure \"robots.txt ... unavailable\""},
	{"robots-slow", "robots-slow", "/c/page", "robots.txt never answers", "host given up after --timeout: failure \"could not be reached for its robots.txt\""},
	{"unreachable", "down", "/c/page", "connection refused", "failure: connection refused"},
	{"status-401", "www", "/c/401", "401 page", "captured with status 401"},
	{"status-403", "www", "/c/403", "403 page", "captured with status 403"},
	{"status-500", "www", "/c/500", "500 page", "captured with status 500"},
	{"429-storm", "busy", "/c/storm", "429 with Retry-After: 0 on every try", "retried --retries times, then the last 429 stored once"},
	{"429-far", "busy", "/c/far", "429 with Retry-After of a day", "not waited for: the 429 stored at once"},
	{"hostile", "www", "/c/xss", "title, URLs, headers and <base> carrying script injections", "captured as sent; replay escapes it on amber's pages and confines it with CSP"},
}

// index links to every case's entry URL, and to the pages robots.txt rules
// apply to.
func (s *Server) index(w http.ResponseWriter) {
	var b strings.Builder
	b.WriteString("<ul>\n")
	for _, c := range Cases {
		fmt.Fprintf(&b, "<li><a href=\"%s\">%s</a>: %s</li>\n", html.EscapeString(s.URL(c.Host, c.Path)), c.Name, html.EscapeString(c.What))
	}
	for _, h := range []string{"robots-huge", "robots-redirect"} {
		fmt.Fprintf(&b, "<li><a href=\"%s\">private</a></li>\n", s.URL(h, "/c/private/p"))
	}
	fmt.Fprintf(&b, "<li><a href=\"%s\">late</a></li>\n", s.URL("robots-huge", "/c/late/p"))
	b.WriteString("</ul>\n")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = io.WriteString(w, "<!doctype html><html><head><title>chaos</title></head><body><h1>A hostile web</h1>"+b.String()+"</body></html>\n")
}
