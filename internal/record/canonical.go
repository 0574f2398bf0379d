package record

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"
)

// Magic starts every canonical encoding; a future schema gets a new one.
const Magic = "govaudit-record/v1\n"

// AppendCanonical appends the canonical encoding of r to b and returns the
// extended slice. The encoding is specified in the package doc.
func (r *Record) AppendCanonical(b []byte) []byte {
	return r.appendFields(append(b, Magic...))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, list []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(list)))
	for _, s := range list {
		b = appendString(b, s)
	}
	return b
}

// Canonical returns the canonical encoding of r.
func (r *Record) Canonical() []byte { return r.AppendCanonical(make([]byte, 0, 1024)) }

// AppendLeafHash appends the RFC 6962 leaf hash of r's canonical encoding,
// SHA-256(0x00 || Canonical()), to b. It does not allocate when b has room
// for the 32 bytes (a caller's array: AppendLeafHash(h[:0])): the encoding
// goes to a pooled buffer. It does not read or set r.LeafHash.
func (r *Record) AppendLeafHash(b []byte) []byte {
	bp := hashBufs.Get().(*[]byte)
	buf := r.AppendCanonical(append((*bp)[:0], 0x00)) // 0x00: the RFC 6962 leaf prefix
	sum := sha256.Sum256(buf)
	if cap(buf) <= maxPooledBuf {
		*bp = buf
		hashBufs.Put(bp)
	}
	return append(b, sum[:]...)
}

// ComputeLeafHash returns the RFC 6962 leaf hash of r's canonical encoding:
// SHA-256(0x00 || Canonical()), in a new slice. It does not read or set
// r.LeafHash.
func (r *Record) ComputeLeafHash() []byte { return r.AppendLeafHash(make([]byte, 0, sha256.Size)) }

// hashBufs recycles encoding buffers: hashing is on every hot path
// (auditsign, verify), and GenAI records encode to about 1 KB. Buffers
// grown beyond maxPooledBuf by a large record (content is capped at 16 MiB)
// are left to the garbage collector rather than kept for small ones.
var hashBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

const maxPooledBuf = 64 << 10

// SetLeaf assigns r's position in a log and its leaf hash.
func (r *Record) SetLeaf(origin string, epoch, index uint64) {
	r.Origin, r.Epoch, r.LeafIndex = origin, epoch, index
	r.LeafHash = r.ComputeLeafHash()
}

// LeafHashMismatchError reports a record whose content no longer hashes to
// its stored leaf hash.
type LeafHashMismatchError struct {
	Stored, Computed []byte
}

func (e *LeafHashMismatchError) Error() string {
	return fmt.Sprintf("leaf hash mismatch: stored %x, computed %x", e.Stored, e.Computed)
}

// CheckLeafHash recomputes r's leaf hash and compares it with r.LeafHash.
// It allocates only to report a mismatch.
func (r *Record) CheckLeafHash() error {
	var h [sha256.Size]byte
	if computed := r.AppendLeafHash(h[:0]); !bytes.Equal(computed, r.LeafHash) {
		return &LeafHashMismatchError{Stored: r.LeafHash, Computed: bytes.Clone(computed)}
	}
	return nil
}
