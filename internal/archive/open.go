package archive

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Size caps of the files a reader of an archive accepts. An archive may be
// hostile: a reader allocates no more than a file's real size, and never
// more than these caps, before it has checked what it reads.
const (
	// MaxDataFileSize bounds a data file. Data files are read whole; the
	// writer rotates files long before this size.
	MaxDataFileSize = 1 << 30
	// MaxCheckpointFileSize bounds a checkpoint file and a latest pointer: a
	// signed note is a few hundred bytes (auditlog parses at most 16 KiB).
	MaxCheckpointFileSize = 64 << 10
	// MaxIndexFileSize bounds an audit index (JSON, Bloom filters included:
	// about 1.6 bytes per distinct id).
	MaxIndexFileSize = 64 << 20
)

// ErrNotRegular is wrapped by the error of a reader of the archive when a
// path is not a regular file inside the archive: a symbolic link, a named
// pipe, a device, a socket or a directory. Reading a FIFO would block
// forever and a device such as /dev/zero never ends, so readers refuse them
// before opening anything.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by the error of a reader of the archive when a file
// is larger than the cap for its kind.
var ErrTooLarge = errors.New("file too large")

// ReadDataFile reads the data file at rel (a slash path relative to root, as
// listed by DataFiles) with ReadRegular and the cap MaxDataFileSize.
func ReadDataFile(root, rel string) ([]byte, error) {
	return ReadRegular(root, rel, MaxDataFileSize)
}

// ReadCheckpointFile reads a checkpoint file or latest pointer at rel
// (relative to root) with ReadRegular and the cap MaxCheckpointFileSize.
func ReadCheckpointFile(root, rel string) ([]byte, error) {
	return ReadRegular(root, rel, MaxCheckpointFileSize)
}

// ReadRegular reads the file at rel, a slash path relative to the archive
// root, if it is a regular file of at most max bytes. It never follows a
// symbolic link, in rel's last element or in the directories between root
// and it, so it reads nothing outside the archive; and it never blocks on a
// named pipe or reads from a device. Errors name the path and wrap
// ErrNotRegular, ErrTooLarge, or the underlying fs error (fs.ErrNotExist
// for a missing file).
//
// The file is checked with Lstat before it is opened, opened with
// O_NOFOLLOW|O_NONBLOCK (a FIFO swapped in after the check opens without
// blocking, a symlink fails), and checked again with Stat on the open file,
// so a swap between the check and the open is caught (TOCTOU). At most the
// size Stat reported is read, and the read fails if the file grew or shrank.
//
// For a bucket root (see IsRemote) it reads the object with the same
// path rules and cap (Store.Read).
func ReadRegular(root, rel string, max int64) ([]byte, error) {
	if IsRemote(root) {
		s, err := StoreOf(root)
		if err != nil {
			return nil, err
		}
		return s.Read(rel, max)
	}
	f, err := OpenRegular(root, rel, max)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data := make([]byte, f.size)
	if _, err := io.ReadFull(f.f, data); err != nil {
		return nil, fmt.Errorf("%s: read %d bytes: %w", f.name, f.size, err)
	}
	var one [1]byte
	if n, _ := f.f.Read(one[:]); n != 0 {
		return nil, fmt.Errorf("%s: file grew while being read", f.name)
	}
	return data, nil
}

// insideRoot returns root joined with rel after checking that rel is a
// local slash path (no "..", not absolute).
func insideRoot(root, rel string) (string, error) {
	if !fs.ValidPath(rel) || rel == "." || strings.Contains(rel, `\`) {
		return "", fmt.Errorf("%q: not a path inside the archive", rel)
	}
	return filepath.Join(root, filepath.FromSlash(rel)), nil
}

// checkParents checks that every directory between root and rel's file is a
// real directory, not a symbolic link that could lead out of the archive.
func checkParents(root, rel string) error {
	dir := path.Dir(rel)
	if dir == "." {
		return nil
	}
	p := root
	for _, el := range strings.Split(dir, "/") {
		p = filepath.Join(p, el)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s: %w: want a directory, found %s", p, ErrNotRegular, kind(fi.Mode()))
		}
	}
	return nil
}

func regular(name string, fi fs.FileInfo, max int64) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: %w: %s", name, ErrNotRegular, kind(fi.Mode()))
	}
	if fi.Size() > max {
		return fmt.Errorf("%s: %w: %d bytes, at most %d accepted", name, ErrTooLarge, fi.Size(), max)
	}
	return nil
}

// kind names a file mode's type for an error message.
func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a directory"
	case m.IsRegular():
		return "a regular file"
	}
	return "an irregular file"
}
