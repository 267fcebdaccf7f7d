package warc

// RecordBatch holds records encoded by [FileWriter.Encode] until
// [FileWriter.WriteBatch] writes them. The zero value is empty and ready;
// a batch is reusable and keeps its memory.
type RecordBatch struct {
	recs []*Record
	lens []int
	data []byte
}

// Len returns the encoded bytes the batch holds.
func (b *RecordBatch) Len() int { return len(b.data) }

// Records returns the number of records the batch holds.
func (b *RecordBatch) Records() int { return len(b.recs) }

// keepBatchBytes is the most memory an emptied batch keeps: one huge
// record should not pin its size for the rest of an export.
const keepBatchBytes = 4 << 20

func (b *RecordBatch) reset() {
	clear(b.recs)
	b.recs, b.lens, b.data = b.recs[:0], b.lens[:0], b.data[:0]
	if cap(b.data) > keepBatchBytes {
		b.data = nil
	}
}

// Encode completes rec as [FileWriter.WriteRecord] does (record ID,
// digests, Content-Length) and adds its on-disk bytes to b. Nothing is
// written until WriteBatch; the block may be reused as soon as Encode
// returns.
func (fw *FileWriter) Encode(b *RecordBatch, rec *Record, block []byte) error {
	if fw.err != nil {
		return fw.err
	}
	// Compressed straight into the batch: a record's bytes are not copied
	// from the encoder's buffer.
	start := len(b.data)
	data, err := fw.enc.appendRecord(b.data, rec, block)
	if err != nil {
		return err
	}
	b.recs = append(b.recs, rec)
	b.lens = append(b.lens, len(data)-start)
	b.data = data
	return nil
}

// WriteBatch writes the records of b in order, rotating files between
// them exactly as consecutive WriteRecord calls would, and empties b. It
// returns their positions and sets each record's Offset and Length.
//
// The bytes and files are those WriteRecord would give; the difference is
// one write per file rather than one per record. Small appends cost the
// file system far more per byte than large ones, and an export's request
// and metadata records are a few hundred bytes each. On error, the
// positions of the records written before it are returned.
func (fw *FileWriter) WriteBatch(b *RecordBatch) ([]Position, error) {
	defer b.reset()
	if fw.err != nil {
		return nil, fw.err
	}
	out := make([]Position, 0, len(b.recs))
	data := b.data
	run, runBytes := 0, 0 // records and bytes held for the open file
	flush := func() error {
		if run == 0 {
			return nil
		}
		off := fw.w.Offset()
		if err := fw.w.put(data[:runBytes]); err != nil {
			fw.err = fw.named(err)
			return fw.err
		}
		for i, end := len(out), len(out)+run; i < end; i++ {
			pos := Position{Filename: fw.w.opts.Filename, Offset: off, Length: int64(b.lens[i])}
			b.recs[i].Offset, b.recs[i].Length = pos.Offset, pos.Length
			out = append(out, pos)
			off += pos.Length
		}
		fw.nrec += run
		data = data[runBytes:]
		run, runBytes = 0, 0
		return nil
	}
	for _, n := range b.lens {
		if fw.full(fw.nrec+run, int64(runBytes+n)) {
			if err := flush(); err != nil {
				return out, err
			}
			if err := fw.closeFile(); err != nil {
				return out, err
			}
		}
		if fw.f == nil {
			if err := fw.openFile(); err != nil {
				return out, err
			}
		}
		run++
		runBytes += n
	}
	return out, flush()
}
