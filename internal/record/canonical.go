package record

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"sync"
)

// Magic starts every canonical encoding; a future schema gets a new one.
const Magic = "govaudit-record/v1\n"

// AppendCanonical appends the canonical encoding of r to b and returns the
// extended slice. The encoding is specified in the package doc.
func (r *Record) AppendCanonical(b []byte) []byte {
	b = append(b, Magic...)
	v := reflect.ValueOf(r).Elem()
	for _, f := range fields {
		if f.number == 0 {
			continue
		}
		fv := v.Field(f.index)
		switch f.kind {
		case kindString:
			if s := fv.String(); s != "" {
				b = append(b, byte(f.number))
				b = appendString(b, s)
			}
		case kindInt64:
			if n := fv.Int(); n != 0 {
				b = append(b, byte(f.number))
				b = binary.BigEndian.AppendUint64(b, uint64(n))
			}
		case kindUint64:
			if n := fv.Uint(); n != 0 {
				b = append(b, byte(f.number))
				b = binary.BigEndian.AppendUint64(b, n)
			}
		case kindInt64Ptr:
			if !fv.IsNil() {
				b = append(b, byte(f.number))
				b = binary.BigEndian.AppendUint64(b, uint64(fv.Elem().Int()))
			}
		case kindFloat64Ptr:
			if !fv.IsNil() {
				b = append(b, byte(f.number))
				b = binary.BigEndian.AppendUint64(b, math.Float64bits(fv.Elem().Float()))
			}
		case kindStrings:
			if n := fv.Len(); n > 0 {
				b = append(b, byte(f.number))
				b = binary.AppendUvarint(b, uint64(n))
				for i := 0; i < n; i++ {
					b = appendString(b, fv.Index(i).String())
				}
			}
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Canonical returns the canonical encoding of r.
func (r *Record) Canonical() []byte { return r.AppendCanonical(make([]byte, 0, 512)) }

// ComputeLeafHash returns the RFC 6962 leaf hash of r's canonical encoding:
// SHA-256(0x00 || Canonical()). It does not read or set r.LeafHash.
func (r *Record) ComputeLeafHash() []byte {
	bp := hashBufs.Get().(*[]byte)
	buf := r.AppendCanonical(append((*bp)[:0], 0x00)) // 0x00: the RFC 6962 leaf prefix
	sum := sha256.Sum256(buf)
	*bp = buf
	hashBufs.Put(bp)
	return sum[:]
}

// hashBufs recycles encoding buffers: hashing is on every hot path
// (auditsign, verify), and GenAI records encode to about 1 KB.
var hashBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

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
func (r *Record) CheckLeafHash() error {
	h := r.ComputeLeafHash()
	if !bytes.Equal(h, r.LeafHash) {
		return &LeafHashMismatchError{Stored: r.LeafHash, Computed: h}
	}
	return nil
}
