// Package warc reads and writes WARC 1.1 files, indexes them as CDXJ and
// canonicalises URLs as SURT keys.
//
// # Shape
//
// The package is shaped like the standard library's archive/tar: a [Writer]
// writes one record at a time (one gzip member per record, so every record
// has an offset and an on-disk length an index can point at), and a [Reader]
// returns one [Record] at a time from [Reader.Next] and is itself an
// io.Reader for the current record's block. [FileWriter] adds file naming,
// rotation and the `.open` → final rename dance on top of [Writer].
//
// # Tolerance
//
// Real WARC files are often defective: wget writes `<...>` around
// WARC-Target-URI, some tools gzip the whole file as one member, crashes leave
// truncated `.open` files. The Reader reads what can be read and names each
// defect in [Record.Defects] (per record) or [Reader.Defects] (per file)
// instead of failing. [Verify] turns those defects, plus digest and
// header-rule checks, into a [Report].
//
// # Digests
//
// Block digests cover the block as stored. Payload digests of HTTP records
// cover the entity body with transfer coding removed (de-chunked) and content
// coding kept; [CheckPayloadDigest] also accepts the raw chunked digest that
// some tools write, and says which form matched.
//
// # Index
//
// [Index] produces CDXJ lines byte-for-byte like webrecorder's cdxj-indexer
// (pywb's format), keyed by [SURT].
package warc
