package warc

// Abort stops writing without completing the current file: it is closed
// but keeps its `.open` name, so an interrupted export never leaves a
// partial file under a final name. Files completed before (rotated) keep
// their final names. Abort returns the `.open` path left behind, or "".
// Later writes fail with ErrClosed.
func (fw *FileWriter) Abort() string {
	left := ""
	if fw.f != nil {
		left = fw.f.Name()
		_ = fw.f.Sync()
		_ = fw.f.Close()
		fw.f, fw.w = nil, nil
	}
	fw.err = ErrClosed
	return left
}
