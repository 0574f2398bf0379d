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

// seal turns origin's open file into a sealed data file. Steps, each
// completed before the next:
//
//  1. write the rows to TempPath(data) with record.WriterOptions, fsync it,
//     chmod 0444, rename it to the data path, fsync the directory;
//  2. write the index (atomically);
//  3. write each checkpoint row as a checkpoint file (write-once) and
//     replace latest if the checkpoint is newer;
//  4. save the origin state, then delete the WAL segment.
//
// A failure in step 1 removes the temporary file (the rows are still in the
// WAL and in memory) and leaves the file open, to be sealed again; a failure
// after the rename resumes at step 2. A crash at any point is repaired at
// start by replaying the WAL segment, which exists until step 4 ends.
func (w *archiveWriter) seal(origin string) error {
	f := w.open[origin]
	if f == nil {
		return nil
	}
	ctx := context.Background()
	if len(f.rows) == 0 {
		if err := f.seg.remove(); err != nil {
			return err
		}
		delete(w.open, origin)
		return nil
	}
	start := time.Now()
	rel := archive.DataPath(origin, f.t)
	if f.sealed == nil {
		s, err := w.writeData(rel, f.rows)
		if err != nil {
			w.countError(ctx, "seal")
			return err
		}
		f.sealed = s
	}
	if err := w.finish(ctx, origin, f.sealed, f.rows); err != nil {
		w.countError(ctx, "seal")
		return err
	}
	if err := f.seg.remove(); err != nil {
		return err
	}
	if err := archive.SyncDir(filepath.Dir(f.seg.path)); err != nil {
		return err
	}
	delete(w.open, origin)
	w.tel.AuditparquetFilesSealed.Add(ctx, 1)
	w.tel.AuditparquetRowsWritten.Add(ctx, int64(len(f.rows)))
	w.tel.AuditparquetBytesWritten.Add(ctx, f.sealed.size)
	w.tel.AuditparquetSealDuration.Record(ctx, time.Since(start).Seconds())
	w.logger.Debug("sealed data file", zap.String("file", rel), zap.Int("rows", len(f.rows)), zap.Int64("bytes", f.sealed.size))
	return nil
}

// writeData writes rows as the sealed data file rel (step 1 of seal).
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
	defer func() {
		if err != nil {
			out.Close()
			os.Remove(tmp) // our own partial file: the rows are still in the WAL
			err = fmt.Errorf("writing %s: %w", full, err)
		}
	}()
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(out, h)}
	if err := archive.WriteRows(cw, rows); err != nil {
		return nil, err
	}
	if err := out.Sync(); err != nil {
		return nil, err
	}
	if err := out.Close(); err != nil {
		return nil, err
	}
	// Read-only before it gets its final name: no sealed name is ever writable.
	if err := os.Chmod(tmp, 0o444); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, full); err != nil {
		return nil, err
	}
	if err := archive.SyncDir(dir); err != nil {
		return nil, err
	}
	return &sealedFile{rel: rel, size: cw.n, sum: sumOf(h)}, nil
}

// finish writes what derives from a sealed data file: its index, its
// checkpoint files and latest, and the origin state (steps 2-4 of seal).
func (w *archiveWriter) finish(ctx context.Context, origin string, s *sealedFile, rows []record.Record) error {
	ix, err := archive.NewIndex(s.rel, rows, s.size, s.sum)
	if err != nil {
		return err
	}
	if err := archive.WriteIndex(w.root, ix); err != nil {
		return fmt.Errorf("writing the index of %s: %w", s.rel, err)
	}
	st, err := w.state(origin)
	if err != nil {
		return err
	}
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
		if id := (checkpointID{c.Epoch, c.Size}); latest.less(id) {
			latest, newest = id, r.Checkpoint
		}
	}
	if newest != "" { // latest is replaced once per file, by its newest checkpoint
		if err := archive.WriteFileAtomic(w.path(archive.LatestPath(origin)), []byte(newest), 0o444); err != nil {
			return err
		}
		st.Latest = latest
	}
	st.add(rows)
	return w.saveState(origin, st)
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
