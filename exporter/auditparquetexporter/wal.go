package auditparquetexporter // import "github.com/govaudit/govaudit/exporter/auditparquetexporter"

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/record"
)

// The write-ahead log. A segment file is archive.WALMagic followed by
// entries framed as internal/archive specifies (length, CRC-32C, payload),
// one per batch (one ConsumeLogs, one origin), never split across entries
// or segments. The payload is an OTLP logs protobuf (plog.ProtoMarshaler)
// of the batch's records, converted with record.ToLogRecord (lossless). An
// append writes its entry at the end of the last good entry with one write
// and one fsync before the exporter acknowledges the records; a failed
// append is undone (truncated back and fsynced) before its error is
// returned. A crash can leave a torn last entry; a reader stops at the
// first entry that is short or fails its CRC (archive.WALReader), and
// recovery discards it.

// A segment is the open write-ahead log of one origin's next data file.
type segment struct {
	f    *os.File
	path string // OS path of the WAL file
	good int64  // offset after the last complete, synced entry
	fail failpoint
}

// An undoError is an append whose failure could not be undone: the segment may
// hold a partial or complete entry that was never acknowledged, and no
// later append may go after it. The writer stops (see archiveWriter.failed).
type undoError struct {
	cause, undo error
}

func (e *undoError) Error() string {
	return fmt.Sprintf("%v; undoing it failed too: %v", e.cause, e.undo)
}

func (e *undoError) Unwrap() []error { return []error{e.cause, e.undo} }

// createSegment creates a new, empty segment at path. On failure nothing
// is left but, if even its removal failed, an empty segment, which
// recovery removes.
func createSegment(path string, fail failpoint) (*segment, error) {
	if err := fail.at(stepSegmentCreate, path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	// The magic line is written and synced without the entry failpoints:
	// a failure here is a failed creation (stepSegmentCreate), not a
	// failed append.
	_, err = f.Write([]byte(archive.WALMagic))
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("write-ahead log %s: %w", path, err)
	}
	return &segment{f: f, path: path, good: int64(len(archive.WALMagic)), fail: fail}, nil
}

// encodeEntry returns the WAL entry payload holding recs.
func encodeEntry(recs []record.Record) ([]byte, error) {
	payload, err := (&plog.ProtoMarshaler{}).MarshalLogs(record.NewLogs("", recs))
	if err != nil {
		return nil, fmt.Errorf("write-ahead log: encode: %w", err)
	}
	return payload, nil
}

// encodeReceived returns the WAL entry payload holding the log records of ld, a
// batch as received whose every log record is a fresh record of the
// segment's origin. Its payload is ld's OTLP protobuf, as encodeEntry's
// would be but for what is not a record attribute (resource, scope, body):
// decodeEntry reads the same records back (record.FromLogRecord reads only
// the record's attributes), and the records need no conversion.
func encodeReceived(ld plog.Logs) ([]byte, error) {
	payload, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
	if err != nil {
		return nil, fmt.Errorf("write-ahead log: encode: %w", err)
	}
	return payload, nil
}

// decodeEntry returns the records of an entry's payload. It reads them with
// record.FromLogRecord and does not Validate them again: they were valid
// when acknowledged, and a later, stricter Validate must not make the
// recovery of acknowledged records fail.
func decodeEntry(payload []byte) ([]record.Record, error) {
	ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(payload)
	if err != nil {
		return nil, fmt.Errorf("entry with a valid checksum does not decode: %w", err)
	}
	recs := make([]record.Record, 0, ld.LogRecordCount())
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				r, err := record.FromLogRecord(lrs.At(k))
				if err != nil {
					return nil, err
				}
				recs = append(recs, r)
			}
		}
	}
	return recs, nil
}

// append durably appends the records as one entry (one write, one fsync)
// and returns its size. If received is set, it holds exactly recs, as
// received, and is written as it is (see encodeReceived). On failure the segment is as before the call, or
// the error is an *undoError.
func (s *segment) append(recs []record.Record, received plog.Logs) (int64, error) {
	var payload []byte
	var err error
	if received != (plog.Logs{}) {
		payload, err = encodeReceived(received)
	} else {
		payload, err = encodeEntry(recs)
	}
	if err != nil {
		return 0, err
	}
	h, err := archive.WALHeader(payload)
	if err != nil {
		return 0, err
	}
	if err := s.writeAt(h[:], payload); err != nil {
		return 0, err
	}
	return int64(len(h) + len(payload)), nil
}

// writeAt writes the entry header h and its payload at s.good, syncs, and
// advances s.good. The payload is written from where the encoder left it,
// after the header, rather than copied behind it into one buffer (that copy
// and its allocation were 1% of the governance pipeline's CPU): two
// writes, one fsync. A crash between or during them leaves a torn last
// entry, as a crash during one write can, which readers stop at. On failure
// it undoes the write: truncates the file back to s.good and syncs, so the
// next append starts on a clean end. If that fails too, the error is an
// *undoError.
func (s *segment) writeAt(h, payload []byte) error {
	if err := s.fail.at(stepWALWrite, s.path); err != nil {
		// A torn write, as a full disk leaves it: the header and half the payload.
		s.f.WriteAt(h, s.good)
		s.f.WriteAt(payload[:len(payload)/2], s.good+int64(len(h)))
		return s.undo(fmt.Errorf("write-ahead log %s: %w", s.path, err))
	}
	if _, err := s.f.WriteAt(h, s.good); err != nil {
		return s.undo(fmt.Errorf("write-ahead log %s: %w", s.path, err))
	}
	if _, err := s.f.WriteAt(payload, s.good+int64(len(h))); err != nil {
		return s.undo(fmt.Errorf("write-ahead log %s: %w", s.path, err))
	}
	end := s.good + int64(len(h)+len(payload))
	// Drop anything after the entry: a torn entry left by a crash.
	if err := s.f.Truncate(end); err != nil {
		return s.undo(fmt.Errorf("write-ahead log %s: %w", s.path, err))
	}
	err := s.fail.at(stepWALSync, s.path)
	if err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		return s.undo(fmt.Errorf("write-ahead log %s: sync: %w", s.path, err))
	}
	s.good = end
	return nil
}

// undo truncates the segment to its last good entry and syncs it, and
// returns cause, or an *undoError if it could not.
func (s *segment) undo(cause error) error {
	err := s.fail.at(stepWALUndo, s.path)
	if err == nil {
		err = s.f.Truncate(s.good)
	}
	if err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		return &undoError{cause: cause, undo: err}
	}
	return cause
}

// remove closes and deletes the segment file. A segment already deleted (a
// retry after the directory sync failed) is not an error.
func (s *segment) remove() error {
	s.f.Close()
	if err := s.fail.at(stepSegmentDelete, s.path); err != nil {
		return err
	}
	if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// scanSegment calls f with the records of each complete entry of the
// segment at path, of size bytes, in order (one entry in memory at a
// time), and returns the number of trailing bytes after the last complete
// entry (a torn append that was never acknowledged).
func scanSegment(path string, size int64, f func([]record.Record) error) (torn int64, err error) {
	fh, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	rd := archive.NewWALReader(io.LimitReader(fh, size), size)
	for {
		payload, err := rd.Next()
		if err == io.EOF {
			return rd.Torn(), nil
		}
		if err != nil {
			return 0, fmt.Errorf("write-ahead log %s: %w", path, err)
		}
		recs, err := decodeEntry(payload)
		if err != nil {
			return 0, fmt.Errorf("write-ahead log %s: %w", path, err)
		}
		if err := f(recs); err != nil {
			return 0, err
		}
	}
}

// readSegment returns the records of every complete entry of the segment at
// path, and the number of trailing bytes after the last complete entry.
// Tests only: the writer scans segments (scanSegment).
func readSegment(path string) (recs []record.Record, torn int64, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	torn, err = scanSegment(path, fi.Size(), func(rs []record.Record) error {
		recs = append(recs, rs...)
		return nil
	})
	return recs, torn, err
}

var errSegmentOrigin = errors.New("write-ahead log holds a record of another origin")
