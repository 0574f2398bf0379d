package auditparquetexporter // import "github.com/govaudit/govaudit/exporter/auditparquetexporter"

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
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
		walOf[archive.TempPath(archive.DataPath(s.origin, s.t))] = true
	}
	temps, err := w.tempDataFiles()
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

type walSegment struct {
	origin string
	t      time.Time
	rel    string
}

// segments lists the WAL segments under wal/origin=*/, in name order.
func (w *archiveWriter) segments() ([]walSegment, error) {
	dirs, err := os.ReadDir(w.path(archive.WALDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []walSegment
	for _, d := range dirs {
		origin, ok := strings.CutPrefix(d.Name(), "origin=")
		if !d.IsDir() || !ok || auditlog.ValidOrigin(origin) != nil {
			w.logger.Warn("unexpected entry in the write-ahead log directory; ignored", zap.String("entry", d.Name()))
			continue
		}
		files, err := os.ReadDir(w.path(path.Join(archive.WALDir, d.Name())))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			name, ok := strings.CutSuffix(f.Name(), archive.WALExt)
			if !ok {
				continue
			}
			t, err := time.Parse(archive.FileTimeFormat, name)
			if err != nil || archive.FileName(t) != name {
				return nil, fmt.Errorf("write-ahead log segment %q has an unexpected name", f.Name())
			}
			out = append(out, walSegment{origin: origin, t: t, rel: archive.WALPath(origin, t)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, nil
}

// tempDataFiles lists the temporary data files under records/.
func (w *archiveWriter) tempDataFiles() ([]string, error) {
	var out []string
	err := filepath.WalkDir(w.path(archive.RecordsDir), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() && strings.HasPrefix(d.Name(), ".") && strings.HasSuffix(d.Name(), archive.DataExt+archive.TempSuffix) {
			rel, err := filepath.Rel(w.root, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out, err
}

// replay seals one WAL segment left by a crash.
func (w *archiveWriter) replay(ctx context.Context, s walSegment) error {
	walPath := w.path(s.rel)
	recs, torn, err := readSegment(walPath)
	if err != nil {
		return err
	}
	if torn > 0 {
		w.countRecovery(ctx, actionTornTail)
		w.logger.Warn("discarded a partly written write-ahead log entry (never acknowledged)", zap.String("segment", walPath), zap.Int64("bytes", torn))
	}
	for i := range recs {
		if recs[i].Origin != s.origin {
			return fmt.Errorf("%s: record %s: %w %q", walPath, recs[i].ID, errSegmentOrigin, recs[i].Origin)
		}
	}
	st, err := w.state(s.origin)
	if err != nil {
		return err
	}
	if s.t.After(st.LastFile) {
		st.LastFile = s.t
	}
	fh, err := os.OpenFile(walPath, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	f := &openFile{origin: s.origin, t: s.t, seg: &segment{f: fh, path: walPath, fail: w.fail}, ids: newFileIDs(), leafMax: map[uint64]uint64{}}
	f.add(recs, 0, w.now())
	rel := archive.DataPath(s.origin, s.t)
	action := actionReplayed
	switch {
	case len(recs) == 0:
		action = actionEmptyWAL
	case exists(w.path(rel)):
		sealed, err := w.checkSealed(rel, recs)
		if err != nil {
			fh.Close()
			return err
		}
		f.sealed = sealed
		action = actionCompleted
	}
	o := w.files[s.origin]
	if o == nil {
		o = &originFiles{}
		w.files[s.origin] = o
	}
	o.open = f
	// Sealed whether covered or not: recovery leaves no segment behind.
	if err := w.sealNow(ctx, s.origin); err != nil {
		fh.Close()
		return fmt.Errorf("replaying %s: %w", walPath, err)
	}
	w.countRecovery(ctx, action)
	w.logger.Info("recovered write-ahead log segment", zap.String("segment", walPath), zap.String("action", action), zap.Int("records", len(recs)))
	return nil
}

// checkSealed checks that the sealed data file rel holds exactly the records
// of its WAL segment, and returns its size and hash.
func (w *archiveWriter) checkSealed(rel string, recs []record.Record) (*sealedFile, error) {
	full := w.path(rel)
	data, err := os.ReadFile(full)
	if err != nil {
		return nil, err
	}
	rows, err := archive.ReadFile(full)
	if err == nil && len(rows) != len(recs) {
		err = fmt.Errorf("%d rows, the write-ahead log has %d", len(rows), len(recs))
	}
	for i := 0; err == nil && i < len(rows); i++ {
		if rows[i].ID != recs[i].ID || !bytes.Equal(rows[i].LeafHash, recs[i].LeafHash) {
			err = fmt.Errorf("row %d is record %s, the write-ahead log has %s", i, rows[i].ID, recs[i].ID)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("sealed file %s does not match its write-ahead log segment; both are left for inspection: %w", full, err)
	}
	sum := sha256.Sum256(data)
	return &sealedFile{rel: rel, size: int64(len(data)), sum: sum[:]}, nil
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
