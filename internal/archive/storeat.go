package archive

import (
	"context"
	"fmt"
	"io"
	"slices"
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

// objectAt reads one version of an object by ranges: each request is one
// GetObject with a Range (objectstore.Client.ReadAt), checked against the
// size the version had in the listing.
//
// A reader of a data file makes many small reads: the magic, the footer
// length and the footer, a bloom filter's header and one 32-byte block
// per row group, and one chunk per column and row group, most of them a
// few hundred bytes. One request each costs a round trip each (a few ms
// on a local gateway, tens of ms on S3), more than the bytes. So a read
// smaller than blockSize is served from blockSize-aligned blocks of the
// object, fetched on first use (the one or two a read spans, in one
// request) and kept, at most maxBlocks of them, the least recently used
// dropped first: the chunks of one row group, or its bloom filters, which
// parquet-go writes side by side, come in a few requests. A read of
// blockSize or more is one request of exactly its bytes, not kept.
type objectAt struct {
	s            *s3Store
	name         string // s3://bucket/prefix/rel, for errors
	key, version string
	size         int64
	blocks       map[int64][]byte // block number -> its bytes
	used         []int64          // block numbers, least recently used first
}

// blockSize and maxBlocks bound the blocks objectAt keeps: 16 MiB per open
// object at most. maxBlocks is a variable for tests.
const blockSize = 128 << 10

var maxBlocks = 128

// OpenAt opens the version of rel that Read would read, for reading at
// offsets. Nothing is fetched yet.
func (s *s3Store) OpenAt(rel string, limit int64) (FileAt, error) {
	key, v, err := s.pick(rel, limit)
	if err != nil {
		return nil, err
	}
	return &objectAt{s: s, name: s.loc.String() + "/" + rel, key: key, version: v.VersionID, size: v.Size,
		blocks: map[int64][]byte{}}, nil
}

func (o *objectAt) Size() int64 { return o.size }

func (o *objectAt) Close() error { o.blocks, o.used = nil, nil; return nil }

// ReadAt reads len(p) bytes at off, all inside the size the object had in
// the listing.
func (o *objectAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > o.size || int64(len(p)) > o.size-off {
		return 0, fmt.Errorf("%s: read of %d bytes at %d, past its %d bytes", o.name, len(p), off, o.size)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if len(p) >= blockSize {
		if err := o.read(p, off); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	first, last := off/blockSize, (off+int64(len(p))-1)/blockSize // last ≤ first+1
	lo, hi := int64(-1), int64(-1)
	for b := first; b <= last; b++ {
		if _, ok := o.blocks[b]; ok {
			o.touch(b) // not dropped to make room for the other
		} else {
			if lo < 0 {
				lo = b
			}
			hi = b
		}
	}
	if lo >= 0 {
		start, end := lo*blockSize, min((hi+1)*blockSize, o.size)
		buf := make([]byte, end-start)
		if err := o.read(buf, start); err != nil {
			return 0, err
		}
		for b := lo; b <= hi; b++ {
			o.keep(b, buf[(b-lo)*blockSize:min((b-lo+1)*blockSize, int64(len(buf)))])
		}
	}
	n := 0
	for b := first; b <= last; b++ {
		blk := o.blocks[b]
		lo := max(off+int64(n)-b*blockSize, 0)
		n += copy(p[n:], blk[lo:])
	}
	return n, nil
}

// keep adds block b, dropping the least recently used beyond maxBlocks.
func (o *objectAt) keep(b int64, data []byte) {
	if len(o.used) >= maxBlocks {
		delete(o.blocks, o.used[0])
		o.used = o.used[1:]
	}
	o.blocks[b] = data
	o.used = append(o.used, b)
}

// touch makes block b the most recently used.
func (o *objectAt) touch(b int64) {
	if i := slices.Index(o.used, b); i >= 0 && i < len(o.used)-1 {
		o.used = append(append(o.used[:i], o.used[i+1:]...), b)
	}
}

func (o *objectAt) read(p []byte, off int64) error {
	err := o.s.c.ReadAt(context.Background(), o.s.loc.Bucket, o.key, o.version, o.size, p, off)
	if err != nil {
		return fmt.Errorf("%s: %w", o.name, err)
	}
	return nil
}
