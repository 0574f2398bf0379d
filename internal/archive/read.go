package archive

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

// ErrCorrupt is wrapped by ReadFile's error when a data file is truncated or
// is not a readable Parquet file of records.
var ErrCorrupt = errors.New("corrupt or truncated data file")

// ReadFile reads every row of the data file at path (an OS path), in file
// order. Empty lists and leaf hashes come back as nil, their canonical
// in-memory form. A truncated or corrupt file yields an error wrapping
// ErrCorrupt and naming the file. path must be a regular file (see
// ReadRegular); readers of an archive use ReadDataFile and DecodeFile,
// which also refuse symbolic links leading out of the archive.
func ReadFile(path string) ([]record.Record, error) {
	data, err := ReadRegular(filepath.Dir(path), filepath.Base(path), MaxDataFileSize)
	if err != nil {
		return nil, err
	}
	return readParquet(path, data)
}

// ReadRows reads every row of the data file at rel (relative to root, as
// listed by DataFiles): ReadDataFile, then DecodeFile.
func ReadRows(root, rel string) ([]record.Record, error) {
	data, err := ReadDataFile(root, rel)
	if err != nil {
		return nil, err
	}
	return readParquet(rel, data)
}

// readParquet decodes a data file. It first checks with checkParquet that
// every size and count the file claims is bounded by its length (a hostile
// file would otherwise make parquet-go allocate gigabytes, which is fatal,
// not a panic); then parquet-go decodes it, skipping the page index and
// Bloom filters, which a reader of rows does not need (verify still checks
// their bytes: by the SHA-256 its signed manifest lists).
// openRows opens a data file's bytes for reading rows, once checkParquet
// has bounded every size it claims, without the page index and Bloom
// filters (a reader of rows does not need them). Errors wrap ErrCorrupt and
// name the file.
func openRows(name string, data []byte) (*parquet.File, error) {
	if err := checkParquet(data); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrCorrupt, err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)),
		parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrCorrupt, err)
	}
	return f, nil
}

func readParquet(name string, data []byte) (rows []record.Record, err error) {
	n, err := decodeRows(name, data, func(n int64, batch []record.Record) error {
		// Rows are kept as they decode, so memory follows the rows really
		// in the file, not the count its footer claims.
		if rows == nil {
			rows = make([]record.Record, 0, min(n, 1<<16))
		}
		rows = append(rows, batch...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if int64(len(rows)) != n {
		return nil, fmt.Errorf("%s: %w: read %d of %d rows", name, ErrCorrupt, len(rows), n)
	}
	return rows, nil
}

// EachRow reads the data file at rel (relative to root, as listed by
// DataFiles) and calls fn with its rows in file order, a batch of at most
// 1,024 decoded at a time: a reader that stops early (fn returns an error,
// which EachRow returns as is) decodes no further. The record fn gets is
// reused after fn returns: fn must copy what it keeps (its strings and
// slices may be kept). It returns how many rows were decoded. Damage is
// reported as by ReadRows, as far as the rows were read.
func EachRow(root, rel string, fn func(*record.Record) error) (decoded int, err error) {
	data, err := ReadDataFile(root, rel)
	if err != nil {
		return 0, err
	}
	n, err := decodeRows(rel, data, func(_ int64, batch []record.Record) error {
		decoded += len(batch)
		for i := range batch {
			if err := fn(&batch[i]); err != nil {
				return &stopped{err}
			}
		}
		return nil
	})
	var s *stopped
	switch {
	case errors.As(err, &s):
		return decoded, s.err
	case err != nil:
		return decoded, err
	case int64(decoded) != n:
		return decoded, fmt.Errorf("%s: %w: read %d of %d rows", rel, ErrCorrupt, decoded, n)
	}
	return decoded, nil
}

// stopped carries the error of EachRow's fn through decodeRows.
type stopped struct{ err error }

func (s *stopped) Error() string { return s.err.Error() }

// decodeRows decodes the rows of a data file's bytes in batches of at most
// 1,024 and calls each with the row count the footer claims and a batch,
// normalised (ReadFile's in-memory form), until the file ends or each
// returns an error, which decodeRows returns as is. It returns the claimed
// count. parquet-go may panic on malformed input; a reader of untrusted
// archives turns that into an error naming the file (a panic in each is
// not the file's: it goes on).
func decodeRows(name string, data []byte, each func(n int64, batch []record.Record) error) (n int64, err error) {
	inEach := false
	defer func() {
		if p := recover(); p != nil {
			if inEach {
				panic(p)
			}
			err = fmt.Errorf("%s: %w: %v", name, ErrCorrupt, p)
		}
	}()
	f, err := openRows(name, data)
	if err != nil {
		return 0, err
	}
	n = f.NumRows()
	rd := parquet.NewGenericReader[record.Record](f)
	defer rd.Close()
	batch := make([]record.Record, min(n, 1024))
	for read := int64(0); read < n; {
		clear(batch) // fresh values: the reader may reuse a destination's buffers
		k, rerr := rd.Read(batch[:min(int64(len(batch)), n-read)])
		for i := range batch[:k] {
			batch[i].Normalize()
		}
		read += int64(k)
		if k > 0 {
			inEach = true
			err := each(n, batch[:k])
			inEach = false
			if err != nil {
				return n, err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return n, fmt.Errorf("%s: row %d: %w: %v", name, read, ErrCorrupt, rerr)
		}
		if k == 0 {
			break
		}
	}
	return n, nil
}

// DataFiles returns the path (relative to root) of every data file under
// records/, in archive order: lexicographic, which is per origin, then in
// write order (see the package doc). It lists every *.parquet file, even one
// whose path ParseDataPath rejects, so that a verifier sees files it did not
// expect; it skips hidden and temporary files ("." or "_" prefix).
func DataFiles(root string) ([]string, error) {
	return listFiles(root, RecordsDir, DataExt)
}

// CheckpointFiles returns the path (relative to root) of every checkpoint
// file checkpoints/<origin>/<epoch>/<size>, sorted by origin, then epoch and
// size numerically. latest files are not listed; other files that do not
// have the checkpoint path shape are listed last, so a caller sees them.
func CheckpointFiles(root string) ([]string, error) {
	all, err := listNumbered(root, CheckpointsDir, func(p string) (string, []uint64, error) {
		o, e, s, err := ParseCheckpointPath(p)
		return o, []uint64{e, s}, err
	})
	out := all[:0]
	for _, p := range all {
		if path.Base(p) != LatestName || strings.Count(p, "/") != 2 {
			out = append(out, p)
		}
	}
	return out, err
}

// listNumbered lists the files under root/dir (see listFiles), sorted by
// the origin and then the numbers that parse reads from each path; paths
// parse rejects come last, in name order, so that a caller sees them.
func listNumbered(root, dir string, parse func(p string) (origin string, nums []uint64, err error)) ([]string, error) {
	all, err := listFiles(root, dir, "")
	if err != nil {
		return nil, err
	}
	type entry struct {
		p      string
		ok     bool
		origin string
		nums   []uint64
	}
	es := make([]entry, 0, len(all))
	for _, p := range all {
		o, nums, err := parse(p)
		es = append(es, entry{p, err == nil, o, nums})
	}
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		switch {
		case a.ok != b.ok:
			return a.ok
		case !a.ok:
			return a.p < b.p
		case a.origin != b.origin:
			return a.origin < b.origin
		}
		return slices.Compare(a.nums, b.nums) < 0
	})
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.p
	}
	return out, nil
}

// listFiles returns the files under root/dir whose name ends in ext,
// skipping hidden and private names, as sorted slash paths relative to root.
// It lists FIFOs, devices and sockets named like the files it lists,
// every symbolic link whatever its name (it never follows one), and, when
// ext is not empty, directories whose name ends in ext: the readers refuse
// them all with a problem naming them, instead of skipping them unseen.
// A missing dir yields no files. A bucket root is listed by listRemote.
func listFiles(root, dir, ext string) ([]string, error) {
	if IsRemote(root) {
		return listRemote(root, dir, ext)
	}
	var out []string
	err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == filepath.Join(root, dir) {
				return fs.SkipAll
			}
			return err
		}
		name := d.Name()
		if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			// Listed whatever its name: a symbolic link in place of a
			// partition directory would otherwise hide its files.
		case d.IsDir() && (ext == "" || !strings.HasSuffix(name, ext)):
			return nil
		case !strings.HasSuffix(name, ext):
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		if d.IsDir() {
			// A directory named like a data file is listed, so that a
			// reader reports it (ReadRegular refuses it) instead of
			// silently skipping what should be a file.
			return fs.SkipDir
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// CheckpointOfRow parses the signed note of a checkpoint row without
// verifying it (only to name its file or index it, never to trust it), and
// checks that it names the row's log.
func CheckpointOfRow(r *record.Record) (auditlog.Checkpoint, error) {
	c, err := auditlog.ParseUnverified(r.Checkpoint)
	if err != nil {
		return c, err
	}
	if c.Origin != r.Origin || c.Epoch != r.Epoch {
		return c, fmt.Errorf("checkpoint names log %s, row is in %s", auditlog.LogID(c.Origin, c.Epoch), auditlog.LogID(r.Origin, r.Epoch))
	}
	return c, nil
}

// MkdirAll creates dir and its missing parents (0755) and syncs each parent
// whose entry it created, so the new directories survive a crash.
func MkdirAll(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s: not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := MkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return SyncDir(parent)
}

// SyncDir fsyncs a directory, making renames and creations in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
