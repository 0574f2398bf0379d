package archive

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/govaudit/govaudit/internal/auditlog"
)

// WALMagic is the first line of a write-ahead log segment
// (wal/origin=<origin>/<name>.wal, see WALPath). A segment is
//
//	WALMagic || entry*
//	entry = uint32 BE payload length || uint32 BE CRC-32C(payload) || payload
//
// where each entry holds one acknowledged batch of records; the writer
// (the auditparquet exporter) chooses the payload's encoding. An entry is
// written with one fsync (one or two writes); a crash can leave a torn last
// entry, which a reader stops at (see WALReader).
const WALMagic = "govaudit-wal/v1\n"

// MaxWALEntry bounds an entry's payload, so that a corrupt length cannot
// make a reader allocate without limit.
const MaxWALEntry = 1 << 30

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// WALEntry returns the framed entry holding payload.
func WALEntry(payload []byte) ([]byte, error) {
	h, err := WALHeader(payload)
	if err != nil {
		return nil, err
	}
	return append(h[:], payload...), nil
}

// WALHeader returns the 8 bytes that precede payload in its entry, for a
// writer that writes them and the payload without copying the payload
// into one buffer.
func WALHeader(payload []byte) ([8]byte, error) {
	var h [8]byte
	if len(payload) > MaxWALEntry {
		return h, fmt.Errorf("write-ahead log: entry of %d bytes exceeds %d", len(payload), MaxWALEntry)
	}
	binary.BigEndian.PutUint32(h[0:4], uint32(len(payload)))
	binary.BigEndian.PutUint32(h[4:8], crc32.Checksum(payload, castagnoli))
	return h, nil
}

// ErrNotWAL is wrapped by a WALReader's error for a file that does not
// start with WALMagic.
var ErrNotWAL = errors.New("not a govaudit WAL segment")

// A WALReader reads the complete entries of a segment one at a time, so
// that memory follows the largest entry, not the segment.
type WALReader struct {
	r       *bufio.Reader
	size    int64 // of the segment
	off     int64 // after the last complete entry
	payload []byte
	started bool
	done    bool
}

// NewWALReader reads the segment of size bytes that r holds.
func NewWALReader(r io.Reader, size int64) *WALReader {
	return &WALReader{r: bufio.NewReaderSize(r, 1<<16), size: size}
}

// Next returns the payload of the next complete entry (valid until the
// next call), or io.EOF after the last one. It stops at the first entry
// that is short, oversized or fails its CRC: a torn append that was never
// acknowledged (see Torn).
func (w *WALReader) Next() ([]byte, error) {
	if w.done {
		return nil, io.EOF
	}
	if !w.started {
		w.started = true
		magic := make([]byte, len(WALMagic))
		n, err := io.ReadFull(w.r, magic)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if !bytes.Equal(magic[:n], []byte(WALMagic)[:n]) {
			return nil, ErrNotWAL
		}
		if n < len(WALMagic) { // a crash while the segment was created
			w.done = true
			return nil, io.EOF
		}
		w.off = int64(n)
	}
	var hdr [8]byte
	if _, err := io.ReadFull(w.r, hdr[:]); err != nil {
		return w.stop(err)
	}
	n := binary.BigEndian.Uint32(hdr[0:4])
	if n > MaxWALEntry || int64(n) > w.size-w.off-8 {
		return w.stop(io.ErrUnexpectedEOF)
	}
	if cap(w.payload) < int(n) {
		w.payload = make([]byte, n)
	}
	p := w.payload[:n]
	if _, err := io.ReadFull(w.r, p); err != nil {
		return w.stop(err)
	}
	if crc32.Checksum(p, castagnoli) != binary.BigEndian.Uint32(hdr[4:8]) {
		return w.stop(io.ErrUnexpectedEOF)
	}
	w.off += 8 + int64(n)
	return p, nil
}

func (w *WALReader) stop(err error) ([]byte, error) {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		w.done = true
		return nil, io.EOF
	}
	return nil, err
}

// Torn returns, once Next returned io.EOF, the bytes after the last
// complete entry.
func (w *WALReader) Torn() int64 { return w.size - w.off }

// A WALSegment is a write-ahead log segment found under wal/.
type WALSegment struct {
	Origin string
	Time   time.Time // names the segment and the data file it becomes
	Path   string    // WALPath(Origin, Time)
}

// WALSegments lists the segments under root/wal/origin=*/, in path order.
// Entries of wal/ that are not origin directories are returned in skipped;
// a file with the segment extension but not a segment name is an error.
func WALSegments(root string) (segs []WALSegment, skipped []string, err error) {
	dirs, err := os.ReadDir(filepath.Join(root, WALDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	for _, d := range dirs {
		origin, ok := strings.CutPrefix(d.Name(), "origin=")
		if !d.IsDir() || !ok || auditlog.ValidOrigin(origin) != nil {
			skipped = append(skipped, d.Name())
			continue
		}
		files, err := os.ReadDir(filepath.Join(root, WALDir, d.Name()))
		if err != nil {
			return nil, nil, err
		}
		for _, f := range files {
			if !strings.HasSuffix(f.Name(), WALExt) {
				continue
			}
			p := path.Join(WALDir, d.Name(), f.Name())
			o, t, err := ParseWALPath(p)
			if err != nil {
				return nil, nil, err
			}
			segs = append(segs, WALSegment{Origin: o, Time: t, Path: p})
		}
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].Path < segs[j].Path })
	return segs, skipped, nil
}
