package auditparquetexporter // import "github.com/govaudit/govaudit/exporter/auditparquetexporter"

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/record"
)

// sealedFile is a data file renamed into place.
type sealedFile struct {
	rel  string
	size int64
	sum  []byte
}

// Sealing turns an origin's open file into a sealed data file. Steps, each
// completed before the next:
//
//  1. write the rows to TempPath(data) with record.WriterOptions, fsync it,
//     chmod 0444, rename it to the data path (writeData);
//  2. fsync the data directory, write the index (atomically), write each
//     checkpoint row as a checkpoint file (write-once), replace latest if
//     the checkpoint is newer, write the signed manifest listing the data
//     file, its index and its checkpoint files (write-once, chained to the
//     origin's previous manifest), and save the origin state (finish);
//  3. delete the WAL segment and fsync its directory.
//
// A failure in step 1 removes the temporary file (the rows are still in the
// WAL and in memory) and leaves the file open: it keeps receiving batches
// and is sealed again later. A failure after the rename leaves the file
// "sealing": the next attempt resumes at step 2, while new batches go to a
// new file. A crash at any point is repaired at start by replaying the WAL
// segment, which exists until step 3. Sealing errors never reach the
// sender of a batch: its records are durable in the WAL (see maintain).

// sealOpen seals origin's open file. Requires w.mu and no file sealing.
func (w *archiveWriter) sealOpen(ctx context.Context, o *originFiles) error {
	f := o.open
	if len(f.rows) == 0 {
		if err := f.seg.remove(); err != nil {
			return err
		}
		o.open = nil
		return nil
	}
	if f.sealed == nil {
		f.sealStart = time.Now()
		s, err := w.writeData(archive.DataPath(f.origin, f.t), f.rows)
		if err != nil {
			return err
		}
		f.sealed = s
	}
	// From here on the file's rows are fixed: new batches go to a new file,
	// and the sealed file's ids are those a redelivery is checked against.
	o.open, o.sealing = nil, f
	o.prev, o.prevLoaded = f.ids, true
	return w.finishSeal(ctx, o)
}

// finishSeal completes the seal of o.sealing (steps 2 and 3). Requires w.mu.
func (w *archiveWriter) finishSeal(ctx context.Context, o *originFiles) error {
	f := o.sealing
	if err := w.finish(ctx, f.origin, f.sealed, f.rows); err != nil {
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
	w.tel.AuditparquetRowsWritten.Add(ctx, int64(len(f.rows)))
	w.tel.AuditparquetBytesWritten.Add(ctx, f.sealed.size)
	if !f.sealStart.IsZero() {
		w.tel.AuditparquetSealDuration.Record(ctx, time.Since(f.sealStart).Seconds())
	}
	w.lastSeal.Store(w.now().UnixNano())
	if w.up != nil {
		w.up.sealed()
	}
	w.logger.Debug("sealed data file", zap.String("file", f.sealed.rel), zap.Int("rows", len(f.rows)), zap.Int64("bytes", f.sealed.size))
	return nil
}

// syncDir fsyncs dir, the failpoint of step s first.
func (w *archiveWriter) syncDir(s step, dir string) error {
	if err := w.fail.at(s, dir); err != nil {
		return err
	}
	return archive.SyncDir(dir)
}

// writeData writes rows as the sealed data file rel (step 1 of sealing).
func (w *archiveWriter) writeData(rel string, rows []record.Record) (s *sealedFile, err error) {
	full := w.path(rel)
	dir := filepath.Dir(full)
	if err := archive.MkdirAll(dir); err != nil {
		return nil, err
	}
	if _, err := os.Lstat(full); err == nil {
		return nil, fmt.Errorf("%s already exists; a sealed file is never rewritten", full)
	}
	tmp := w.path(archive.TempPath(rel))
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				out.Close()
			}
			os.Remove(tmp) // our own partial file: the rows are still in the WAL
			err = fmt.Errorf("writing %s: %w", full, err)
		}
	}()
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(out, h)}
	if err := w.fail.at(stepTempWrite, tmp); err != nil {
		return nil, err
	}
	if err := archive.WriteRows(cw, rows); err != nil {
		return nil, err
	}
	if err := w.fail.at(stepTempSync, tmp); err != nil {
		return nil, err
	}
	if err := out.Sync(); err != nil {
		return nil, err
	}
	closed = true
	if err := out.Close(); err != nil {
		return nil, err
	}
	// Read-only before it gets its final name: no sealed name is ever writable.
	if err := w.fail.at(stepChmod, tmp); err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp, 0o444); err != nil {
		return nil, err
	}
	if err := w.fail.at(stepRename, full); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, full); err != nil {
		return nil, err
	}
	return &sealedFile{rel: rel, size: cw.n, sum: sumOf(h)}, nil
}

// finish makes a renamed data file durable and writes what derives from
// it: its index, its checkpoint files and latest, its manifest, and the origin state
// (step 2 of sealing). Each part is idempotent, so a failed finish is
// simply run again.
func (w *archiveWriter) finish(ctx context.Context, origin string, s *sealedFile, rows []record.Record) error {
	if err := w.syncDir(stepDataDirSync, filepath.Dir(w.path(s.rel))); err != nil {
		return err
	}
	ix, err := archive.NewIndex(s.rel, rows, s.size, s.sum)
	if err != nil {
		return err
	}
	if err := w.fail.at(stepIndexWrite, w.path(archive.IndexPath(s.rel))); err != nil {
		return fmt.Errorf("writing the index of %s: %w", s.rel, err)
	}
	if err := archive.WriteIndex(w.root, ix); err != nil {
		return fmt.Errorf("writing the index of %s: %w", s.rel, err)
	}
	st, err := w.state(origin)
	if err != nil {
		return err
	}
	listed := []string{s.rel, archive.IndexPath(s.rel)}
	latest, newest := st.Latest, ""
	for i := range rows {
		r := &rows[i]
		if r.IsLeaf() {
			continue
		}
		c, err := archive.CheckpointOfRow(r)
		if err != nil {
			return err
		}
		if err := w.writeCheckpoint(ctx, origin, c.Epoch, c.Size, r.Checkpoint); err != nil {
			return err
		}
		listed = append(listed, archive.CheckpointPath(origin, c.Epoch, c.Size))
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
	st.add(rows)
	return w.saveState(origin, st)
}

// writeManifest writes the signed manifest of one seal, listing the files
// at paths (data file, index, checkpoint files) with the SHA-256 and size of
// their bytes on disk, chained to the origin's newest manifest. It does
// nothing if the newest manifest already lists the data file paths[0]: a
// seal finished again after a failure (or by recovery) whose manifest was
// written is not listed twice. See archive.Manifest for the format.
func (w *archiveWriter) writeManifest(origin string, st *originState, paths []string) error {
	if st.manifest.Lists(paths[0]) {
		return nil
	}
	rel, b, err := archive.NextManifest(w.root, w.signer, origin, st.manifest, paths)
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
		return fmt.Errorf("writing the manifest of %s: %w", paths[0], err)
	}
	m, err := archive.ReadManifestHead(w.root, origin)
	if err != nil {
		return err
	}
	st.manifest = m
	return nil
}

// writeCheckpoint writes a checkpoint file once. If the file already holds
// the same text it does nothing. If it holds another text — two different
// trees signed at one size, a fork — it keeps the first, logs and counts the
// conflict; both notes stay in the Parquet rows, where verify reports them.
func (w *archiveWriter) writeCheckpoint(ctx context.Context, origin string, epoch, size uint64, text string) error {
	p := w.path(archive.CheckpointPath(origin, epoch, size))
	old, err := os.ReadFile(p)
	switch {
	case err == nil && bytes.Equal(old, []byte(text)):
		return nil
	case err == nil:
		w.countError(ctx, "checkpoint_conflict")
		w.logger.Error("a different checkpoint of the same log and size is already archived; keeping the first (possible fork: run govaudit verify)",
			zap.String("file", p), zap.String("archived", string(old)), zap.String("received", text))
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if err := w.fail.at(stepCheckpointWrite, p); err != nil {
		return err
	}
	return archive.WriteFileAtomic(p, []byte(text), 0o444)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func sumOf(h hash.Hash) []byte { return h.Sum(nil) }
