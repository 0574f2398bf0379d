package auditparquetexporter // import "github.com/govaudit/govaudit/exporter/auditparquetexporter"

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/govaudit/govaudit/internal/record"
)

// The write-ahead log. A segment file is
//
//	walMagic || entry*
//	entry = uint32 BE payload length || uint32 BE CRC-32C(payload) || payload
//
// where payload is an OTLP logs protobuf (plog.ProtoMarshaler) holding the
// records of one append, converted with record.ToLogRecord (lossless). An
// append writes one entry at the end of the last good entry and fsyncs the
// file before the exporter acknowledges the records. A crash can leave a torn
// last entry; readSegment stops at the first entry that is short or fails its
// CRC, and the next append overwrites it.
const walMagic = "govaudit-wal/v1\n"

// maxWALEntry bounds an entry's payload, so that a corrupt length cannot make
// replay allocate without limit.
const maxWALEntry = 1 << 30

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// A segment is the open write-ahead log of one origin's next data file.
type segment struct {
	f    *os.File
	path string // OS path of the WAL file
	good int64  // offset after the last complete, synced entry
}

// createSegment creates a new, empty segment at path.
func createSegment(path string) (*segment, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	s := &segment{f: f, path: path}
	if err := s.writeAt([]byte(walMagic)); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return s, nil
}

// append durably appends the records as one entry and returns its size.
func (s *segment) append(recs []record.Record) (int64, error) {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	lrs.EnsureCapacity(len(recs))
	for i := range recs {
		recs[i].ToLogRecord(lrs.AppendEmpty())
	}
	payload, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
	if err != nil {
		return 0, fmt.Errorf("write-ahead log: encode: %w", err)
	}
	if len(payload) > maxWALEntry {
		return 0, fmt.Errorf("write-ahead log: entry of %d bytes exceeds %d", len(payload), maxWALEntry)
	}
	buf := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint32(buf[0:4], uint32(len(payload)))
	binary.BigEndian.PutUint32(buf[4:8], crc32.Checksum(payload, castagnoli))
	buf = append(buf, payload...)
	if err := s.writeAt(buf); err != nil {
		return 0, err
	}
	return int64(len(buf)), nil
}

// writeAt writes b at s.good, drops anything after it (a torn entry from a
// failed append), syncs, and advances s.good.
func (s *segment) writeAt(b []byte) error {
	if _, err := s.f.WriteAt(b, s.good); err != nil {
		return fmt.Errorf("write-ahead log %s: %w", s.path, err)
	}
	if err := s.f.Truncate(s.good + int64(len(b))); err != nil {
		return fmt.Errorf("write-ahead log %s: %w", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("write-ahead log %s: sync: %w", s.path, err)
	}
	s.good += int64(len(b))
	return nil
}

// remove closes and deletes the segment file.
func (s *segment) remove() error {
	s.f.Close()
	return os.Remove(s.path)
}

// readSegment returns the records of every complete entry of the segment at
// path, and the number of trailing bytes after the last complete entry (a torn
// append that was never acknowledged).
func readSegment(path string) (recs []record.Record, torn int64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if !bytes.HasPrefix(b, []byte(walMagic)) {
		if len(b) < len(walMagic) && bytes.HasPrefix([]byte(walMagic), b) {
			return nil, int64(len(b)), nil // crash while creating the segment
		}
		return nil, 0, fmt.Errorf("write-ahead log %s: not a govaudit WAL segment", path)
	}
	rest := b[len(walMagic):]
	var u plog.ProtoUnmarshaler
	for len(rest) >= 8 {
		n := binary.BigEndian.Uint32(rest[0:4])
		if n > maxWALEntry || uint64(len(rest)-8) < uint64(n) {
			break
		}
		payload := rest[8 : 8+n]
		if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(rest[4:8]) {
			break
		}
		ld, err := u.UnmarshalLogs(payload)
		if err != nil {
			return nil, 0, fmt.Errorf("write-ahead log %s: entry with a valid checksum does not decode: %w", path, err)
		}
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			sls := ld.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					r, err := record.FromLogRecord(lrs.At(k))
					if err != nil {
						return nil, 0, fmt.Errorf("write-ahead log %s: %w", path, err)
					}
					recs = append(recs, r)
				}
			}
		}
		rest = rest[8+n:]
	}
	return recs, int64(len(rest)), nil
}

var errSegmentOrigin = errors.New("write-ahead log holds a record of another origin")
