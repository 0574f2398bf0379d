package auditparquetexporter // import "github.com/govaudit/govaudit/exporter/auditparquetexporter"

import (
	"context"
	"fmt"
	"os"

	"go.uber.org/zap"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/record"
)

// Recovery actions, the "action" attribute of the recovery metric.
const (
	actionReplayed    = "wal_replayed"   // a WAL segment was sealed into a data file
	actionCompleted   = "seal_completed" // a data file was sealed but its index, checkpoints or state were not
	actionTempRebuilt = "temp_rebuilt"   // a temporary data file was rebuilt from its WAL segment
	actionTempKept    = "temp_orphan"    // a temporary data file without WAL segment was left in place
	actionTornTail    = "wal_torn_tail"  // an unacknowledged, partly written WAL entry was discarded
	actionEmptyWAL    = "wal_empty"      // a WAL segment without records was removed
)

// recover repairs what a crash (or a writer stopped by a WAL failure it
// could not undo) left: it seals every WAL segment into its data file (or
// completes the seal of a data file that already exists), whether its
// records are covered by a checkpoint or not, and reports temporary files.
// Requires w.mu.
func (w *archiveWriter) recover(ctx context.Context) error {
	segments, err := w.segments()
	if err != nil {
		return err
	}
	walOf := map[string]bool{}
	for _, s := range segments {
		walOf[archive.TempPath(archive.DataPath(s.Origin, s.Time))] = true
	}
	temps, err := archive.TempDataFiles(w.root)
	if err != nil {
		return err
	}
	for _, tmp := range temps {
		if walOf[tmp] {
			w.countRecovery(ctx, actionTempRebuilt)
			w.logger.Warn("temporary data file left by a crash; rebuilding it from its write-ahead log segment", zap.String("file", tmp))
			continue
		}
		w.countRecovery(ctx, actionTempKept)
		w.logger.Error("temporary data file without write-ahead log segment; it is not part of the archive and is left in place for inspection", zap.String("file", w.path(tmp)))
	}
	for _, s := range segments {
		if err := w.replay(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// segments lists the WAL segments, in name order; it logs what else is
// in the WAL directory.
func (w *archiveWriter) segments() ([]archive.WALSegment, error) {
	segs, skipped, err := archive.WALSegments(w.root)
	for _, name := range skipped {
		w.logger.Warn("unexpected entry in the write-ahead log directory; ignored", zap.String("entry", name))
	}
	return segs, err
}

// replay seals one WAL segment left by a crash, reading it one entry at a
// time.
func (w *archiveWriter) replay(ctx context.Context, s archive.WALSegment) error {
	walPath := w.path(s.Path)
	fi, err := os.Stat(walPath)
	if err != nil {
		return err
	}
	st, err := w.state(s.Origin)
	if err != nil {
		return err
	}
	if s.Time.After(st.LastFile) {
		st.LastFile = s.Time
	}
	rel := archive.DataPath(s.Origin, s.Time)
	sealed := exists(w.path(rel))
	// The file is rebuilt from the segment (dataFailed: no temporary file
	// of this run holds its records).
	f := &openFile{origin: s.Origin, t: s.Time, leafMax: map[uint64]uint64{}, dataFailed: true}
	var keys []rowKey // to check a data file already sealed
	now := w.now()
	torn, err := scanSegment(walPath, fi.Size(), func(recs []record.Record) error {
		for i := range recs {
			r := &recs[i]
			if r.Origin != s.Origin {
				return fmt.Errorf("%s: record %s: %w %q", walPath, r.ID, errSegmentOrigin, r.Origin)
			}
			if sealed {
				keys = append(keys, rowKey{r.ID, string(r.LeafHash)})
			}
		}
		f.add(recs, 0, now)
		st.add(recs)
		return nil
	})
	if err != nil {
		return err
	}
	if torn > 0 {
		w.countRecovery(ctx, actionTornTail)
		w.logger.Warn("discarded a partly written write-ahead log entry (never acknowledged)", zap.String("segment", walPath), zap.Int64("bytes", torn))
	}
	fh, err := os.OpenFile(walPath, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	f.seg = &segment{f: fh, path: walPath, good: fi.Size() - torn, fail: w.fail}
	action := actionReplayed
	switch {
	case f.rows == 0:
		action = actionEmptyWAL
	case sealed:
		sf, err := w.checkSealed(rel, keys)
		if err != nil {
			fh.Close()
			return err
		}
		f.sealed = sf
		action = actionCompleted
	}
	o := w.files[s.Origin]
	if o == nil {
		o = &originFiles{}
		w.files[s.Origin] = o
	}
	o.open = f
	// Sealed whether covered or not: recovery leaves no segment behind.
	if err := w.sealNow(ctx, s.Origin); err != nil {
		fh.Close()
		return fmt.Errorf("replaying %s: %w", walPath, err)
	}
	w.countRecovery(ctx, action)
	w.logger.Info("recovered write-ahead log segment", zap.String("segment", walPath), zap.String("action", action), zap.Int("records", f.rows))
	return nil
}

// A rowKey identifies a row: its record id and leaf hash.
type rowKey struct{ id, leafHash string }

// checkSealed checks that the sealed data file rel holds exactly the records
// of its WAL segment (keys, in order), and returns its digest and index.
func (w *archiveWriter) checkSealed(rel string, keys []rowKey) (*sealedFile, error) {
	full := w.path(rel)
	data, err := archive.ReadDataFile(w.root, rel)
	if err != nil {
		return nil, err
	}
	rows, err := archive.DecodeFile(full, data)
	if err == nil && len(rows) != len(keys) {
		err = fmt.Errorf("%d rows, the write-ahead log has %d", len(rows), len(keys))
	}
	for i := 0; err == nil && i < len(rows); i++ {
		if (rowKey{rows[i].ID, string(rows[i].LeafHash)}) != keys[i] {
			err = fmt.Errorf("row %d is record %s, the write-ahead log has %s", i, rows[i].ID, keys[i].id)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("sealed file %s does not match its write-ahead log segment; both are left for inspection: %w", full, err)
	}
	d := archive.DigestOf(rel, data)
	ix, err := archive.NewIndex(rel, rows, d.Size, d.SHA256[:])
	if err != nil {
		return nil, err
	}
	return &sealedFile{rel: rel, digest: d, index: ix}, nil
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
