package archive

import (
	"context"
	"fmt"
	"io"
)

// A FileAt is a file of the archive opened for reading at offsets: a
// local RegularFile, or an object of a bucket (Store.OpenAt). Its size is
// fixed at open and bounds every read.
type FileAt interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

var _ FileAt = (*RegularFile)(nil)

// OpenFileAt opens the file at rel (a slash path relative to root) for
// reading at offsets, refusing one of more than max bytes: OpenRegular for
// a directory, Store.OpenAt for a bucket. The caller closes it.
func OpenFileAt(root, rel string, max int64) (FileAt, error) {
	if !IsRemote(root) {
		f, err := OpenRegular(root, rel, max)
		if err != nil {
			return nil, err // not a nil *RegularFile in a non-nil FileAt
		}
		return f, nil
	}
	s, err := StoreOf(root)
	if err != nil {
		return nil, err
	}
	return s.OpenAt(rel, max)
}

// objectAt reads one version of an object by ranges: each ReadAt is one
// GetObject with a Range (objectstore.Client.ReadAt), checked against the
// size the version had in the listing.
//
// Its last tailSize bytes are fetched once, on the first read that falls
// in them, and kept: a reader of a data file reads the 8-byte footer
// length and then the footer just before it, two round trips where one
// does. Other reads (a bloom filter's header and block, which parquet-go
// writes after each row group, a column chunk) are one request each, of
// exactly the bytes asked for.
type objectAt struct {
	s            *s3Store
	name         string // s3://bucket/prefix/rel, for errors
	key, version string
	size         int64
	tailOff      int64
	tail         []byte // nil until fetched
}

// tailSize is how many bytes at the end of an object objectAt fetches in
// one request: a data file's footer is about 7 KiB per row group of the
// record schema (40,916 bytes for 6 row groups of the benchmark archive),
// so a file of up to 9 row groups is opened with one request beside the
// 4-byte magic; a longer footer is read by its own range.
const tailSize = 64 << 10

// OpenAt opens the version of rel that Read would read, for reading at
// offsets. Nothing is fetched yet.
func (s *s3Store) OpenAt(rel string, limit int64) (FileAt, error) {
	key, v, err := s.pick(rel, limit)
	if err != nil {
		return nil, err
	}
	return &objectAt{s: s, name: s.loc.String() + "/" + rel, key: key, version: v.VersionID, size: v.Size,
		tailOff: max(0, v.Size-tailSize)}, nil
}

func (o *objectAt) Size() int64 { return o.size }

func (o *objectAt) Close() error { o.tail = nil; return nil }

// ReadAt reads len(p) bytes at off, all inside the size the object had in
// the listing.
func (o *objectAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > o.size || int64(len(p)) > o.size-off {
		return 0, fmt.Errorf("%s: read of %d bytes at %d, past its %d bytes", o.name, len(p), off, o.size)
	}
	if off >= o.tailOff {
		if o.tail == nil {
			tail := make([]byte, o.size-o.tailOff)
			if err := o.read(tail, o.tailOff); err != nil {
				return 0, err
			}
			o.tail = tail
		}
		return copy(p, o.tail[off-o.tailOff:]), nil
	}
	if err := o.read(p, off); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (o *objectAt) read(p []byte, off int64) error {
	err := o.s.c.ReadAt(context.Background(), o.s.loc.Bucket, o.key, o.version, o.size, p, off)
	if err != nil {
		return fmt.Errorf("%s: %w", o.name, err)
	}
	return nil
}
