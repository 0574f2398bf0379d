package auditparquetexporter // import "github.com/govaudit/govaudit/exporter/auditparquetexporter"

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/govaudit/govaudit/internal/archive"
)

// sealedFile is a data file renamed into place: its digest and index.
type sealedFile struct {
	rel    string
	digest archive.Digest
	index  *archive.Index
}

// Sealing turns an origin's open file into a sealed data file. Steps, each
// completed before the next:
//
//  1. complete the temporary data file, written as the records arrived
//     (stream), or rebuild it from the WAL segment if a write to it failed
//     or it was left by a crash; fsync it, chmod 0444, rename it to the data
//     path (writeData);
//  2. fsync the data directory, write the index (atomically), write each
//     checkpoint row as a checkpoint file (write-once), replace latest if
//     the checkpoint is newer, write the signed manifest listing the data
//     file, its index and its checkpoint files (write-once, chained to the
//     origin's previous manifest), and save the origin state (finish);
//  3. delete the WAL segment and fsync its directory.
//
// Every file's SHA-256 is computed while it is written, never read back.
// A failure in step 1 removes the temporary file (the records are in the
// WAL) and leaves the file open: it keeps receiving batches and is sealed
// again later, from the WAL. A failure after the rename leaves the file
// "sealing": the next attempt resumes at step 2, while new batches go to a
// new file. A crash at any point is repaired at start by replaying the WAL
// segment, which exists until step 3. Sealing errors never reach the
// sender of a batch: its records are durable in the WAL (see maintain).

// sealOpen seals origin's open file. Requires w.mu and no file sealing.
func (w *archiveWriter) sealOpen(ctx context.Context, o *originFiles) error {
	f := o.open
	if f.rows == 0 {
		if err := f.seg.remove(); err != nil {
			return err
		}
		o.open = nil
		return nil
	}
	if f.sealed == nil {
		f.sealStart = time.Now()
		s, err := w.writeData(f)
		if err != nil {
			return err
		}
		f.sealed = s
	}
	// From here on the file's rows are fixed: new batches go to a new file,
	// and a redelivery is checked against the sealed file (read back when
	// needed).
	o.open, o.sealing = nil, f
	o.prev, o.prevLoaded = nil, false
	return w.finishSeal(ctx, o)
}

// finishSeal completes the seal of o.sealing (steps 2 and 3). Requires w.mu.
func (w *archiveWriter) finishSeal(ctx context.Context, o *originFiles) error {
	f := o.sealing
	if err := w.finish(ctx, f); err != nil {
		return err
	}
	if err := f.seg.remove(); err != nil {
		return fmt.Errorf("deleting the write-ahead log segment of %s: %w", f.sealed.rel, err)
	}
	if err := w.syncDir(stepWALDirSync, filepath.Dir(f.seg.path)); err != nil {
		return err
	}
	o.sealing = nil
	w.tel.AuditparquetFilesSealed.Add(ctx, 1)
	w.tel.AuditparquetRowsWritten.Add(ctx, int64(f.rows))
	w.tel.AuditparquetBytesWritten.Add(ctx, f.sealed.digest.Size)
	if !f.sealStart.IsZero() {
		w.tel.AuditparquetSealDuration.Record(ctx, time.Since(f.sealStart).Seconds())
	}
	w.lastSeal.Store(w.now().UnixNano())
	if w.up != nil {
		w.up.sealed()
	}
	w.logger.Debug("sealed data file", zap.String("file", f.sealed.rel), zap.Int("rows", f.rows), zap.Int64("bytes", f.sealed.digest.Size))
	return nil
}

// syncDir fsyncs dir, the failpoint of step s first.
func (w *archiveWriter) syncDir(s step, dir string) error {
	if err := w.fail.at(s, dir); err != nil {
		return err
	}
	return archive.SyncDir(dir)
}

// writeData completes f's temporary data file, or rebuilds it from the
// WAL segment, and renames it into place (step 1 of sealing).
func (w *archiveWriter) writeData(f *openFile) (s *sealedFile, err error) {
	rel := archive.DataPath(f.origin, f.t)
	full, tmp := w.path(rel), w.path(archive.TempPath(rel))
	defer func() {
		if err != nil {
			err = fmt.Errorf("writing %s: %w", full, err)
		}
	}()
	d := f.data
	f.data = nil
	if d != nil && d.Rows() != int64(f.rows) { // cannot happen; never seal a file short
		w.logger.Error("temporary data file does not hold the open file's records; rebuilding it from the write-ahead log",
			zap.String("file", rel), zap.Int64("rows", d.Rows()), zap.Int("records", f.rows))
		d.Abort()
		d = nil
	}
	// Whatever happens now, a next attempt starts from the WAL segment.
	f.dataFailed = true
	if d == nil {
		if d, err = w.rebuildData(f, rel, tmp); err != nil {
			return nil, err
		}
	}
	dg, ix, err := d.Commit(func(s archive.CommitStep) error {
		switch s {
		case archive.CommitSync:
			return w.fail.at(stepTempSync, tmp)
		case archive.CommitChmod:
			// Read-only before it gets its final name: no sealed name is
			// ever writable.
			return w.fail.at(stepChmod, tmp)
		default:
			return w.fail.at(stepRename, full)
		}
	})
	if err != nil {
		return nil, err
	}
	return &sealedFile{rel: rel, digest: dg, index: ix}, nil
}

// rebuildData writes the temporary data file of f from its WAL segment.
func (w *archiveWriter) rebuildData(f *openFile, rel, tmp string) (*archive.DataWriter, error) {
	if err := w.fail.at(stepTempWrite, tmp); err != nil {
		return nil, err
	}
	d, err := archive.CreateData(w.root, rel)
	if err != nil {
		return nil, err
	}
	if _, err = scanSegment(f.seg.path, f.seg.good, d.Write); err == nil && d.Rows() != int64(f.rows) {
		err = fmt.Errorf("the write-ahead log segment holds %d records, %d expected", d.Rows(), f.rows)
	}
	if err != nil {
		d.Abort()
		return nil, err
	}
	return d, nil
}

// finish makes f's renamed data file durable and writes what derives from
// it: its index, its checkpoint files and latest, its manifest, and the
// origin state (step 2 of sealing). Each part is idempotent, so a failed
// finish is simply run again.
func (w *archiveWriter) finish(ctx context.Context, f *openFile) error {
	s, origin := f.sealed, f.origin
	if err := w.syncDir(stepDataDirSync, filepath.Dir(w.path(s.rel))); err != nil {
		return err
	}
	ixRel := archive.IndexPath(s.rel)
	ix, err := s.index.Marshal()
	if err != nil {
		return err
	}
	if err := w.fail.at(stepIndexWrite, w.path(ixRel)); err != nil {
		return fmt.Errorf("writing the index of %s: %w", s.rel, err)
	}
	if err := archive.WriteFileAtomic(w.path(ixRel), ix, 0o444); err != nil {
		return fmt.Errorf("writing the index of %s: %w", s.rel, err)
	}
	st, err := w.state(origin)
	if err != nil {
		return err
	}
	listed := []archive.Digest{s.digest, archive.DigestOf(ixRel, ix)}
	latest, newest := st.Latest, ""
	for i := range f.checkpoints {
		r := &f.checkpoints[i]
		c, err := archive.CheckpointOfRow(r)
		if err != nil {
			return err
		}
		rel := archive.CheckpointPath(origin, c.Epoch, c.Size)
		onDisk, err := w.writeCheckpoint(ctx, rel, r.Checkpoint)
		if err != nil {
			return err
		}
		listed = append(listed, archive.DigestOf(rel, onDisk))
		if id := (checkpointID{c.Epoch, c.Size}); latest.less(id) {
			latest, newest = id, r.Checkpoint
		}
	}
	if newest != "" { // latest is replaced once per file, by its newest checkpoint
		p := w.path(archive.LatestPath(origin))
		if err := w.fail.at(stepLatestWrite, p); err != nil {
			return err
		}
		if err := archive.WriteFileAtomic(p, []byte(newest), 0o444); err != nil {
			return err
		}
		st.Latest = latest
	}
	if err := w.writeManifest(origin, st, listed); err != nil {
		return err
	}
	return w.saveState(origin, st)
}

// writeManifest writes the signed manifest of one seal, listing files
// (data file first, its index, checkpoint files) by the SHA-256 and size of
// their bytes on disk, chained to the origin's newest manifest, and keeps
// the new head in memory. It does nothing if the newest manifest already
// lists the data file: a seal finished again after a failure (or by
// recovery) whose manifest was written is not listed twice. See
// archive.Manifest for the format.
func (w *archiveWriter) writeManifest(origin string, st *originState, files []archive.Digest) error {
	if st.manifest.Lists(files[0].Path) {
		return nil
	}
	rel, b, head, err := archive.SignNextManifest(w.signer, origin, st.manifest, files)
	if err != nil {
		return err
	}
	p := w.path(rel)
	if err := w.fail.at(stepManifestWrite, p); err != nil {
		return err
	}
	if exists(p) {
		// Never overwrite a signed manifest: the head read at start is
		// stale only if another writer shares the directory.
		return fmt.Errorf("%s already exists; a manifest is never rewritten", p)
	}
	if err := archive.WriteFileAtomic(p, b, 0o444); err != nil {
		return fmt.Errorf("writing the manifest of %s: %w", files[0].Path, err)
	}
	st.manifest = head
	return nil
}

// writeCheckpoint writes the checkpoint file rel once, and returns the
// bytes it holds. If the file already holds the same text it does nothing.
// If it holds another text — two different trees signed at one size, a
// fork — it keeps the first, logs and counts the conflict; both notes stay
// in the Parquet rows, where verify reports them.
func (w *archiveWriter) writeCheckpoint(ctx context.Context, rel, text string) ([]byte, error) {
	p := w.path(rel)
	old, err := os.ReadFile(p)
	switch {
	case err == nil && bytes.Equal(old, []byte(text)):
		return old, nil
	case err == nil:
		w.countError(ctx, "checkpoint_conflict")
		w.logger.Error("a different checkpoint of the same log and size is already archived; keeping the first (possible fork: run govaudit verify)",
			zap.String("file", p), zap.String("archived", string(old)), zap.String("received", text))
		return old, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	if err := w.fail.at(stepCheckpointWrite, p); err != nil {
		return nil, err
	}
	return []byte(text), archive.WriteFileAtomic(p, []byte(text), 0o444)
}
