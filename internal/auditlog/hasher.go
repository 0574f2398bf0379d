package auditlog

import (
	"crypto/sha256"

	"github.com/transparency-dev/merkle"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Hasher is the RFC 6962 SHA-256 hasher of every govaudit tree (a
// merkle.LogHasher): rfc6962.DefaultHasher's leaf and empty-tree hashes,
// and its interior node hash computed without a hash.Hash per node.
var Hasher = nodeHasher{}

var _ merkle.LogHasher = Hasher

// nodeHasher is rfc6962.DefaultHasher with a cheaper HashChildren.
// Hand-written because rfc6962's HashChildren allocates a SHA-256 state, a
// prefix slice and its result for every node, and compact ranges hash a
// node for nearly every leaf appended (auditsign, the archive index,
// verify, prove). TestHasherDifferential compares the two.
type nodeHasher struct{}

// EmptyRoot returns SHA-256("").
func (nodeHasher) EmptyRoot() []byte { return rfc6962.DefaultHasher.EmptyRoot() }

// HashLeaf returns SHA-256(0x00 || leaf).
func (nodeHasher) HashLeaf(leaf []byte) []byte { return rfc6962.DefaultHasher.HashLeaf(leaf) }

// HashChildren returns SHA-256(0x01 || l || r) in a new 32-byte slice.
func (nodeHasher) HashChildren(l, r []byte) []byte {
	h, ok := nodeSum(l, r)
	if !ok {
		return rfc6962.DefaultHasher.HashChildren(l, r)
	}
	return h[:]
}

// Size returns 32.
func (nodeHasher) Size() int { return sha256.Size }

// nodeSum returns SHA-256(0x01 || l || r) hashed from a stack buffer, and
// false if l or r is not a 32-byte hash (a hostile or damaged proof may
// hold other lengths; rfc6962 hashes them as they are, and so must we).
func nodeSum(l, r []byte) ([sha256.Size]byte, bool) {
	if len(l) != sha256.Size || len(r) != sha256.Size {
		return [sha256.Size]byte{}, false
	}
	var b [1 + 2*sha256.Size]byte
	b[0] = rfc6962.RFC6962NodeHashPrefix
	copy(b[1:], l)
	copy(b[1+sha256.Size:], r)
	return sha256.Sum256(b[:]), true
}

// nodeChunk is how many node hashes a NodeArena allocates at once.
const nodeChunk = 128

// A NodeArena hashes nodes as Hasher.HashChildren does into 32-byte slices
// cut from a chunk of nodeChunk hashes: one allocation per 128 nodes
// instead of one or more per node. Hashes are never overwritten (the arena
// only hands out fresh space), so they may be kept; a compact range keeps
// only its right edge (about log2 of its size), so a tree pins at most
// that many 4 KiB chunks. Not safe for concurrent use: one arena per
// compact range (or per goroutine).
type NodeArena struct{ free []byte }

// HashChildren returns SHA-256(0x01 || l || r); a compact.HashFn.
func (a *NodeArena) HashChildren(l, r []byte) []byte {
	sum, ok := nodeSum(l, r)
	if !ok {
		return rfc6962.DefaultHasher.HashChildren(l, r)
	}
	if len(a.free) < sha256.Size {
		a.free = make([]byte, nodeChunk*sha256.Size)
	}
	h := a.free[:sha256.Size:sha256.Size] // capped: an append to h cannot reach the next hash
	a.free = a.free[sha256.Size:]
	*(*[sha256.Size]byte)(h) = sum
	return h
}
