package verify

import (
	"crypto/sha256"

	"github.com/transparency-dev/merkle/compact"

	"github.com/govaudit/govaudit/internal/auditlog"
)

// HashChildren is RFC 6962's interior node hash, SHA-256(0x01 || left ||
// right) (section 2.1), as auditlog.Hasher (rfc6962.DefaultHasher) computes
// it, with one allocation instead of four: verify hashes a node for every
// leaf of the archive, prove for every leaf of a file (TestHashChildren
// compares the two).
func HashChildren(l, r []byte) []byte {
	var b [1 + 2*sha256.Size]byte
	b[0] = 0x01
	copy(b[1:], l)
	copy(b[1+sha256.Size:], r)
	h := sha256.Sum256(b[:])
	return h[:]
}

// nodeChunk is how many node hashes a tree's nodeArena allocates at once.
const nodeChunk = 1024

// A nodeArena hashes nodes as HashChildren does into 32-byte slices cut from
// a chunk of nodeChunk hashes: one allocation per 1,024 nodes instead of one
// per node (verify hashes a node for every leaf of the archive). The
// compact range keeps only the hashes of its right edge (about log2 of the
// tree size), so at most that many chunks stay reachable. Not safe for
// concurrent use: one arena per tree.
type nodeArena struct{ free []byte }

func (a *nodeArena) hashChildren(l, r []byte) []byte {
	var b [1 + 2*sha256.Size]byte
	b[0] = 0x01
	copy(b[1:], l)
	copy(b[1+sha256.Size:], r)
	if len(a.free) < sha256.Size {
		a.free = make([]byte, nodeChunk*sha256.Size)
	}
	h := a.free[:sha256.Size:sha256.Size]
	a.free = a.free[sha256.Size:]
	*(*[sha256.Size]byte)(h) = sha256.Sum256(b[:])
	return h
}

// A tree is auditlog.Tree with HashChildren: the right edge of an RFC 6962
// tree, enough to append leaves and compute the root, in a compact range
// (transparency-dev/merkle) whose node hashes come from the tree's arena.
type tree struct{ r *compact.Range }

func newTree() *tree {
	f := &compact.RangeFactory{Hash: (&nodeArena{}).hashChildren}
	return &tree{r: f.NewEmptyRange(0)}
}

func (t *tree) Size() uint64 { return t.r.End() }

func (t *tree) Append(leafHash []byte) {
	if err := t.r.Append(leafHash, nil); err != nil {
		panic(err) // only for a range not starting at 0
	}
}

// Root returns the root hash (the empty tree's for size 0).
func (t *tree) Root() []byte {
	if t.r.End() == 0 {
		return auditlog.Hasher.EmptyRoot()
	}
	root, err := t.r.GetRootHash(nil)
	if err != nil {
		panic(err)
	}
	return root
}
