package crawler

import "net/url"

// SetExtractLinks makes the crawler find links with f instead of
// ExtractLinks until restore is called.
func SetExtractLinks(f func(base *url.URL, html []byte, sourceSelector string) []Link) (restore func()) {
	old := extractLinks
	extractLinks = f
	return func() { extractLinks = old }
}
