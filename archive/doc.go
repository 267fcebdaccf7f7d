// Package archive is amber's store: one bbolt file holding every captured
// exchange byte for byte, content-addressed bodies, the crawl frontier, crawl
// runs and scheduled jobs.
package archive
