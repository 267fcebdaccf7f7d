package crawler

import "net/url"

// SetExtractLinks makes the crawler find links with f instead of
// ExtractLinks until restore is called. It changes a package variable: a
// test using it must not call t.Parallel (it then runs while no other
// crawl does).
func SetExtractLinks(f func(base *url.URL, html []byte, sourceSelector string) []Link) (restore func()) {
	old := extractLinks
	extractLinks = f
	return func() { extractLinks = old }
}
