package archive

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// A RegularFile is a file of the archive opened for reading at offsets
// (OpenRegular): a reader of a data file reads its footer, a bloom filter
// block or one column's chunk, not the whole file.
type RegularFile struct {
	f    *os.File
	name string
	size int64
}

// OpenRegular opens the file at rel (a slash path relative to root) for
// reading at offsets, with the checks of ReadRegular: a regular file inside
// the archive of at most max bytes, reached through no symbolic link,
// opened without following one or blocking on a FIFO, and checked again
// once open. Its size is fixed at open: a read past it fails, and so does
// a read that finds the file shorter than it was (truncated meanwhile).
// The caller closes it.
//
// ReadRegular reads local files through it; a bucket root is refused
// (OpenFileAt opens both).
func OpenRegular(root, rel string, max int64) (*RegularFile, error) {
	if IsRemote(root) {
		return nil, fmt.Errorf("%s: reading at offsets: %w", root, errors.ErrUnsupported)
	}
	full, err := insideRoot(root, rel)
	if err != nil {
		return nil, err
	}
	if err := checkParents(root, rel); err != nil {
		return nil, err
	}
	fi, err := os.Lstat(full)
	if err != nil {
		return nil, err
	}
	if err := regular(full, fi, max); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(full, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%s: %w: a symbolic link", full, ErrNotRegular)
		}
		return nil, err
	}
	fi, err = f.Stat()
	if err == nil {
		err = regular(full, fi, max)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &RegularFile{f: f, name: full, size: fi.Size()}, nil
}

// OpenDataFile opens the data file at rel (as listed by DataFiles) for
// reading column by column (see DataFile), with OpenFileAt and the cap
// MaxDataFileSize: only its footer is read now. Close the DataFile to
// close the file. In a bucket (IsRemote) the reads are ranged GETs of the
// object's retained version (Store.OpenAt).
func OpenDataFile(root, rel string) (*DataFile, error) {
	rf, err := OpenFileAt(root, rel, MaxDataFileSize)
	if err != nil {
		return nil, err
	}
	df, err := OpenDataReader(rel, rf, rf.Size())
	if err != nil {
		rf.Close()
		return nil, err
	}
	df.closer = rf
	return df, nil
}

// Size returns the file's size when it was opened.
func (r *RegularFile) Size() int64 { return r.size }

// ReadAt reads len(p) bytes at off, all inside the size the file had when
// opened.
func (r *RegularFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > r.size || int64(len(p)) > r.size-off {
		return 0, fmt.Errorf("%s: read of %d bytes at %d, past its %d bytes", r.name, len(p), off, r.size)
	}
	n, err := r.f.ReadAt(p, off)
	if n < len(p) {
		if err == nil || err == io.EOF {
			err = fmt.Errorf("%s: shorter than its %d bytes: truncated while being read", r.name, r.size)
		}
		return n, err
	}
	return n, nil
}

// Close closes the file.
func (r *RegularFile) Close() error { return r.f.Close() }
