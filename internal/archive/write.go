package archive

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/govaudit/govaudit/internal/record"
)

// An atomicFile is a file written under its temporary name (TempPath) and
// renamed to its final name by Commit, so that a final name never holds a
// partial file. It hashes and counts what is written, so that its digest is
// known without reading it back.
type atomicFile struct {
	path, tmp string
	f         *os.File
	h         hash.Hash
	n         int64
	err       error // the first write error
}

// createAtomic creates the temporary file of path (an OS path) for writing,
// replacing a leftover of an earlier attempt, and the missing directories
// above it.
func createAtomic(path string) (*atomicFile, error) {
	dir := filepath.Dir(path)
	if err := MkdirAll(dir); err != nil {
		return nil, err
	}
	tmp := filepath.Join(dir, "."+filepath.Base(path)+TempSuffix)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	return &atomicFile{path: path, tmp: tmp, f: f, h: sha256.New()}, nil
}

// Write writes p to the temporary file and the hash. After an error every
// later Write fails with it.
func (a *atomicFile) Write(p []byte) (int, error) {
	if a.err != nil {
		return 0, a.err
	}
	n, err := a.f.Write(p)
	a.h.Write(p[:n])
	a.n += int64(n)
	if err != nil {
		a.err = err
	}
	return n, err
}

// Digest returns the digest of what was written, as the file at rel.
func (a *atomicFile) Digest(rel string) Digest {
	d := Digest{Path: rel, Size: a.n}
	a.h.Sum(d.SHA256[:0])
	return d
}

// A CommitStep is one step of atomicFile.Commit, named to its hook.
type CommitStep int

// The steps of Commit, in order.
const (
	CommitSync   CommitStep = iota // fsync the temporary file
	CommitChmod                    // set its final mode
	CommitRename                   // rename it to its final name
)

// Commit makes the file durable under its final name: it fsyncs and closes
// the temporary file, sets perm and renames it. Before each step it calls
// hook, if not nil, and fails with its error (writers inject faults there).
// It does not fsync the directory: the caller does, once for the files of
// one directory (WriteFileAtomic does it at once). On failure the
// temporary file is removed.
func (a *atomicFile) Commit(perm fs.FileMode, hook func(CommitStep) error) (err error) {
	defer func() {
		if err != nil {
			a.Abort()
		}
	}()
	step := func(s CommitStep) error {
		if hook == nil {
			return nil
		}
		return hook(s)
	}
	if a.err != nil {
		return a.err
	}
	if err := step(CommitSync); err != nil {
		return err
	}
	if err := a.f.Sync(); err != nil {
		return err
	}
	f := a.f
	a.f = nil
	if err := f.Close(); err != nil {
		return err
	}
	if err := step(CommitChmod); err != nil {
		return err
	}
	if err := os.Chmod(a.tmp, perm); err != nil {
		return err
	}
	if err := step(CommitRename); err != nil {
		return err
	}
	return os.Rename(a.tmp, a.path)
}

// Abort closes and removes the temporary file (never a final one).
func (a *atomicFile) Abort() {
	if a.f != nil {
		a.f.Close()
		a.f = nil
	}
	os.Remove(a.tmp)
}

// WriteFileAtomic writes data to path so that a crash leaves either the old
// file or the new one: it writes TempPath(path), syncs it, sets perm, renames
// it over path and syncs the directory. Missing directories are created.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	a, err := createAtomic(path)
	if err != nil {
		return err
	}
	if _, err := a.Write(data); err != nil {
		a.Abort()
		return err
	}
	if err := a.Commit(perm, nil); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// RowGroupRows is the number of rows of a data file's row groups (the last
// may hold fewer): a writer holds one row group's encoded pages in memory
// before it writes them out, whatever the size of the file.
const RowGroupRows = 10_000

// dataWriterOptions are the writer options of every data file: the
// record package's, in row groups of RowGroupRows.
func dataWriterOptions() []parquet.WriterOption {
	return append(record.WriterOptions(), parquet.MaxRowsPerRowGroup(RowGroupRows))
}

// WriteRows writes rows as one data file (see DataWriter). Verification
// does not depend on these bytes: a data file is checked by the SHA-256 its
// signed manifest lists (see Manifest) and by its rows' leaf hashes, so a
// later parquet-go or other writer options may write other bytes for the
// same rows.
func WriteRows(w io.Writer, rows []record.Record) error {
	pw := parquet.NewGenericWriter[record.Record](w, dataWriterOptions()...)
	if _, err := pw.Write(rows); err != nil {
		return err
	}
	return pw.Close()
}

// A DataWriter writes the data file DataPath(origin, t) of an archive as its
// rows arrive: each full row group goes to the temporary file, so the rows
// are not kept in memory, and the file's index is built along (an
// IndexBuilder). Commit writes the footer and renames the file into place.
type DataWriter struct {
	rel  string
	file *atomicFile
	pw   *parquet.GenericWriter[record.Record]
	ix   *IndexBuilder
}

// CreateData starts the data file rel (a DataPath) under root. It fails if
// the data file exists: a sealed file is never rewritten.
func CreateData(root, rel string) (*DataWriter, error) {
	ix, err := NewIndexBuilder(rel)
	if err != nil {
		return nil, err
	}
	full := filepath.Join(root, filepath.FromSlash(rel))
	if _, err := os.Lstat(full); err == nil {
		return nil, fmt.Errorf("%s already exists; a sealed file is never rewritten", full)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	file, err := createAtomic(full)
	if err != nil {
		return nil, err
	}
	return &DataWriter{rel: rel, file: file, ix: ix,
		pw: parquet.NewGenericWriter[record.Record](file, dataWriterOptions()...)}, nil
}

// Write appends rows to the file. After an error the writer is unusable
// (Abort it).
func (d *DataWriter) Write(rows []record.Record) error {
	for i := range rows {
		if err := d.ix.Add(&rows[i]); err != nil {
			return err
		}
	}
	_, err := d.pw.Write(rows)
	return err
}

// Rows returns the number of rows written.
func (d *DataWriter) Rows() int64 { return d.ix.Rows() }

// Commit completes the file (the last row group and the footer) and renames
// it into place with mode 0444 (see atomicFile.Commit, whose steps it passes
// to hook). It returns the file's digest and index. On failure the
// temporary file is removed.
func (d *DataWriter) Commit(hook func(CommitStep) error) (Digest, *Index, error) {
	if err := d.pw.Close(); err != nil {
		d.file.Abort()
		return Digest{}, nil, err
	}
	dg := d.file.Digest(d.rel)
	if err := d.file.Commit(0o444, hook); err != nil {
		return Digest{}, nil, err
	}
	return dg, d.ix.Index(dg.Size, dg.SHA256[:]), nil
}

// Abort removes the temporary file.
func (d *DataWriter) Abort() { d.file.Abort() }

// TempDataFiles lists the temporary data files (TempPath of a data path)
// under root/records/, which a writer's crash may leave.
func TempDataFiles(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(filepath.Join(root, RecordsDir), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() && strings.HasPrefix(d.Name(), ".") && strings.HasSuffix(d.Name(), DataExt+TempSuffix) {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out, err
}

// LastDataFile returns the path of origin's newest data file under root,
// or "" if it has none.
func LastDataFile(root, origin string) (string, error) {
	files, err := OriginDataFiles(root, origin)
	if err != nil || len(files) == 0 {
		return "", err
	}
	return files[len(files)-1], nil
}

// OriginDataFiles returns the paths of origin's data files under root,
// oldest first (file names are times).
func OriginDataFiles(root, origin string) ([]string, error) {
	dir := path.Join(RecordsDir, "origin="+origin)
	dates, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(dir)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range dates { // ReadDir sorts by name
		if !d.IsDir() || !strings.HasPrefix(d.Name(), "date=") {
			continue
		}
		files, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(dir), d.Name()))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if n := f.Name(); strings.HasSuffix(n, DataExt) && !strings.HasPrefix(n, ".") {
				out = append(out, path.Join(dir, d.Name(), n))
			}
		}
	}
	return out, nil
}
