// Package wacz packages an amber archive as a WACZ 1.1.1 file
// (https://specs.webrecorder.net/wacz/1.1.1/), the format ReplayWeb.page and
// pywb open without reading whole WARC files.
//
// # Layout
//
// A WACZ written by [Write] is a ZIP file whose entries are all stored
// (not recompressed; the WARCs are already gzip per record):
//
//	archive/*.warc.gz           the WARC files of archive.Store.Export
//	indexes/index.cdx.gz        the sorted CDXJ index in gzip members of 256 lines
//	indexes/index.idx           one line per member: first key, offset, length, sha256
//	pages/pages.jsonl           seed and article pages: url, ts, title, extracted text
//	datapackage.json            every other entry with its sha256 and size
//	datapackage-digest.json     the sha256 of datapackage.json
//
// The compressed index is always written, also for small archives, so
// there is one code path to test and readers load only the blocks they
// need.
//
// The file is written as PATH.open and renamed when complete; the WARC
// files are exported into a temporary folder beside it first.
package wacz

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/amberarchive/amber/archive"
)

// Version is the WACZ version written.
const Version = "1.1.1"

// linesPerBlock is how many CDXJ lines go in one gzip member of
// index.cdx.gz (browsertrix-crawler's choice).
const linesPerBlock = 256

// Options says what to package and how to describe it.
type Options struct {
	// Export selects the captures and fills warcinfo; its Dir and NoIndex
	// are ignored.
	Export archive.ExportOptions
	// Path is the .wacz file to write.
	Path string
	// Title and Description go in datapackage.json.
	Title, Description string
	// Now dates datapackage.json; default time.Now.
	Now func() time.Time
}

// Result says what Write wrote.
type Result struct {
	Path   string
	Export archive.ExportResult // Files name entries under archive/ (already removed from disk)
	Pages  int
	Bytes  int64 // size of the .wacz file
}

// Resource is one entry of datapackage.json's resources.
type Resource struct {
	Name  string `json:"name"`
	Path  string `json:"path"`
	Hash  string `json:"hash"`
	Bytes int64  `json:"bytes"`
}

// DataPackage is datapackage.json.
type DataPackage struct {
	Profile      string     `json:"profile"`
	WACZVersion  string     `json:"wacz_version"`
	Title        string     `json:"title,omitempty"`
	Description  string     `json:"description,omitempty"`
	Created      string     `json:"created"`
	Modified     string     `json:"modified"`
	Software     string     `json:"software,omitempty"`
	MainPageURL  string     `json:"mainPageUrl,omitempty"`
	MainPageDate string     `json:"mainPageDate,omitempty"`
	Resources    []Resource `json:"resources"`
}

// Digest is datapackage-digest.json.
type Digest struct {
	Path string `json:"path"`
	Hash string `json:"hash"`
}

// Page is one line of pages/pages.jsonl.
type Page struct {
	ID    string `json:"id,omitempty"`
	URL   string `json:"url"`
	TS    string `json:"ts"`
	Title string `json:"title,omitempty"`
	Text  string `json:"text,omitempty"`
	Size  int64  `json:"size,omitempty"`
}

// Write exports the selected captures of store and packages them as a
// WACZ file at opts.Path. progress is passed to the export. When ctx is
// cancelled or a write fails, the partial file keeps its `.open` name.
func Write(ctx context.Context, store *archive.Store, opts Options, progress func(archive.ExportProgress)) (Result, error) {
	res := Result{Path: opts.Path}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	dir := filepath.Dir(opts.Path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, fmt.Errorf("wacz %s: %w", opts.Path, err)
	}
	tmp, err := os.MkdirTemp(dir, ".amber-wacz-*")
	if err != nil {
		return res, fmt.Errorf("wacz %s: %w", opts.Path, err)
	}
	defer os.RemoveAll(tmp)
	eo := opts.Export
	eo.Dir, eo.NoIndex = tmp, false
	ex, err := store.Export(ctx, eo, progress)
	res.Export = ex
	if err != nil {
		return res, fmt.Errorf("wacz %s: %w", opts.Path, err)
	}
	lines, err := readLines(ex.Index)
	if err != nil {
		return res, fmt.Errorf("wacz %s: %w", opts.Path, err)
	}
	pages, err := Pages(ctx, store, opts.Export)
	if err != nil {
		return res, fmt.Errorf("wacz %s: pages: %w", opts.Path, err)
	}
	res.Pages = len(pages)

	open := opts.Path + ".open"
	f, err := os.OpenFile(open, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return res, fmt.Errorf("wacz: %w", err)
	}
	zw := &zipWriter{zw: zip.NewWriter(f), mod: opts.Now().UTC()}
	err = func() error {
		for _, p := range ex.Files {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := zw.addFile("archive/"+filepath.Base(p), p); err != nil {
				return err
			}
		}
		cdx, idx, err := compressIndex(lines)
		if err != nil {
			return err
		}
		if err := zw.add("indexes/index.cdx.gz", cdx); err != nil {
			return err
		}
		if err := zw.add("indexes/index.idx", idx); err != nil {
			return err
		}
		if err := zw.add("pages/pages.jsonl", pagesJSONL(pages)); err != nil {
			return err
		}
		now := opts.Now().UTC().Format(time.RFC3339)
		dp := DataPackage{Profile: "data-package", WACZVersion: Version, Title: opts.Title, Description: opts.Description,
			Created: now, Modified: now, Software: eo.Software, Resources: zw.resources}
		if len(pages) > 0 {
			dp.MainPageURL, dp.MainPageDate = pages[0].URL, pages[0].TS
		}
		dpb, err := json.MarshalIndent(dp, "", "  ")
		if err != nil {
			return err
		}
		if err := zw.add("datapackage.json", dpb); err != nil {
			return err
		}
		sum := sha256.Sum256(dpb)
		db, err := json.MarshalIndent(Digest{Path: "datapackage.json", Hash: "sha256:" + hex.EncodeToString(sum[:])}, "", "  ")
		if err != nil {
			return err
		}
		if err := zw.add("datapackage-digest.json", db); err != nil {
			return err
		}
		return zw.zw.Close()
	}()
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, fmt.Errorf("wacz %s: %w", open, err)
	}
	if err := os.Rename(open, opts.Path); err != nil {
		return res, fmt.Errorf("wacz: %w", err)
	}
	if fi, err := os.Stat(opts.Path); err == nil {
		res.Bytes = fi.Size()
	}
	return res, nil
}

// zipWriter adds stored entries and remembers each one's hash and size.
type zipWriter struct {
	zw        *zip.Writer
	mod       time.Time
	resources []Resource
}

func (z *zipWriter) create(name string) (io.Writer, error) {
	return z.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: z.mod})
}

func (z *zipWriter) note(name string, sum []byte, n int64) {
	if name == "datapackage.json" || name == "datapackage-digest.json" {
		return
	}
	z.resources = append(z.resources, Resource{Name: filepath.Base(name), Path: name,
		Hash: "sha256:" + hex.EncodeToString(sum), Bytes: n})
}

func (z *zipWriter) add(name string, data []byte) error {
	w, err := z.create(name)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	z.note(name, sum[:], int64(len(data)))
	return nil
}

func (z *zipWriter) addFile(name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := z.create(name)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), f)
	if err != nil {
		return fmt.Errorf("add %s: %w", path, err)
	}
	z.note(name, h.Sum(nil), n)
	return nil
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if sc.Text() != "" {
			out = append(out, sc.Text())
		}
	}
	return out, sc.Err()
}

// compressIndex builds index.cdx.gz (sorted lines, linesPerBlock per gzip
// member) and index.idx (a `!meta` line, then the first key and timestamp
// of each member with its offset, length and sha256).
func compressIndex(lines []string) (cdx, idx []byte, err error) {
	var out, ib bytes.Buffer
	ib.WriteString(`!meta 0 {"format": "cdxj-gzip-1.0", "filename": "index.cdx.gz"}` + "\n")
	for start := 0; start < len(lines); start += linesPerBlock {
		block := lines[start:min(start+linesPerBlock, len(lines))]
		off := out.Len()
		zw, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
		if err != nil {
			return nil, nil, err
		}
		for _, l := range block {
			io.WriteString(zw, l)
			io.WriteString(zw, "\n")
		}
		if err := zw.Close(); err != nil {
			return nil, nil, err
		}
		member := out.Bytes()[off:]
		sum := sha256.Sum256(member)
		key, ts, _ := strings.Cut(block[0], " ")
		ts, _, _ = strings.Cut(ts, " ")
		fmt.Fprintf(&ib, "%s %s {\"offset\": %d, \"length\": %d, \"digest\": \"sha256:%s\", \"filename\": \"index.cdx.gz\"}\n",
			key, ts, off, len(member), hex.EncodeToString(sum[:]))
	}
	return out.Bytes(), ib.Bytes(), nil
}

func pagesJSONL(pages []Page) []byte {
	var b bytes.Buffer
	b.WriteString(`{"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}` + "\n")
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, p := range pages {
		enc.Encode(p) // strings only: cannot fail
	}
	return b.Bytes()
}

// Pages lists the pages of the selected captures worth a search entry:
// seeds and articles answered 200 with text/html, with their title and
// visible text (content-coding and charset decoded).
func Pages(ctx context.Context, store *archive.Store, sel archive.ExportOptions) ([]Page, error) {
	var seeds, pages []Page
	err := store.Captures(ctx, sel.URLPrefix, func(c *archive.Capture) error {
		if !sel.Includes(c) || c.Status != 200 || c.MIME != "text/html" ||
			(c.Reason != archive.ReasonSeed && c.Reason != archive.ReasonArticle) {
			return nil
		}
		body, err := store.Body(ctx, c)
		if err != nil {
			return err
		}
		title, text := Extract(c.ResponseHead, body)
		p := Page{
			ID:  fmt.Sprintf("%x", sha256.Sum256(c.Key))[:32],
			URL: c.URL, TS: c.Time.UTC().Format("2006-01-02T15:04:05.000Z"),
			Title: title, Text: text, Size: c.BodyLen,
		}
		if c.Reason == archive.ReasonSeed {
			seeds = append(seeds, p)
		} else {
			pages = append(pages, p)
		}
		return nil
	})
	// Seeds first (the first is mainPageUrl), then by time.
	byTime := func(a, b Page) int { return strings.Compare(a.TS+a.URL, b.TS+b.URL) }
	slices.SortFunc(seeds, byTime)
	slices.SortFunc(pages, byTime)
	return append(seeds, pages...), err
}
