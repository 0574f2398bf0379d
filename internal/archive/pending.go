package archive

import (
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Pending describes what an exporter has acknowledged but not yet sealed
// into data files: the segments of its write-ahead log (wal/origin=*/).
// A verify or query run sees none of these records until they are sealed.
type Pending struct {
	Segments int `json:"segments"`
	// Entries counts the complete entries (one acknowledged batch each)
	// by their framing; payloads are neither read nor checked.
	Entries int   `json:"entries"`
	Bytes   int64 `json:"bytes"`
	// Oldest is when the oldest segment was opened (from its name, else
	// its modification time); zero when there is no segment.
	Oldest time.Time `json:"oldest,omitzero"`
}

// ReadPending counts the write-ahead log segments under root/wal. It only
// reads: the entry headers, seeking over payloads. A missing wal/ directory
// is no pending record.
//
// A bucket root has none: the write-ahead log stays on the collector's
// local disk and is never uploaded.
func ReadPending(root string) (Pending, error) {
	var p Pending
	if IsRemote(root) {
		return p, nil
	}
	dirs, err := os.ReadDir(filepath.Join(root, WALDir))
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	for _, d := range dirs {
		if !d.IsDir() || !strings.HasPrefix(d.Name(), "origin=") {
			continue
		}
		dir := filepath.Join(root, WALDir, d.Name())
		files, err := os.ReadDir(dir)
		if err != nil {
			return p, err
		}
		for _, f := range files {
			name, ok := strings.CutSuffix(f.Name(), WALExt)
			if !ok || !f.Type().IsRegular() {
				continue
			}
			fi, err := f.Info()
			if err != nil {
				continue // removed since listed: sealed meanwhile
			}
			opened, err := time.Parse(FileTimeFormat, name)
			if err != nil {
				opened = fi.ModTime()
			}
			n, err := countEntries(filepath.Join(dir, f.Name()), fi.Size())
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return p, err
			}
			p.Segments++
			p.Entries += n
			p.Bytes += fi.Size()
			if p.Oldest.IsZero() || opened.Before(p.Oldest) {
				p.Oldest = opened.UTC()
			}
		}
	}
	return p, nil
}

// countEntries returns the number of complete entries of the segment at
// path, of the given size: it reads each 8-byte header and skips its
// payload, stopping at a torn or oversized last entry.
func countEntries(path string, size int64) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	magic := make([]byte, len(WALMagic))
	if _, err := io.ReadFull(f, magic); err != nil || string(magic) != WALMagic {
		return 0, nil // empty or not a segment: nothing countable
	}
	off, n := int64(len(WALMagic)), 0
	var hdr [8]byte
	for {
		if _, err := f.ReadAt(hdr[:], off); err != nil {
			return n, nil // end of the segment, or a torn header
		}
		next := off + 8 + int64(binary.BigEndian.Uint32(hdr[0:4]))
		if next > size {
			return n, nil // a torn last entry: recovery discards it
		}
		off = next
		n++
	}
}
