package auditlog

import (
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
)

// rangeFactory builds the short-lived ranges of nodeHash.
var rangeFactory = &compact.RangeFactory{Hash: Hasher.HashChildren}

// newRange returns an empty range, or one restored from hashes, whose node
// hashes come from an arena of its own (NodeArena): a Tree's Append
// allocates once per 128 nodes.
func newRange(size uint64, hashes [][]byte) (*compact.Range, error) {
	f := &compact.RangeFactory{Hash: (&NodeArena{}).HashChildren}
	return f.NewRange(0, size, hashes)
}

// A Tree is the right edge of an append-only RFC 6962 tree: O(log n) hashes
// (a compact range [0, size)), enough to append leaves and compute the root.
// Not safe for concurrent use (its node arena is its own, so distinct
// trees, clones included, are independent).
type Tree struct {
	r *compact.Range
}

// NewTree returns an empty tree.
func NewTree() *Tree {
	r, _ := newRange(0, nil) // size 0 with no hashes cannot fail
	return &Tree{r: r}
}

// RestoreTree rebuilds a tree of the given size from the hashes of its
// compact range (as returned by Hashes). The tree keeps its own copy of the
// slice: compact.Range appends in place, so a shared backing array would let
// one tree overwrite another's hashes.
func RestoreTree(size uint64, hashes [][]byte) (*Tree, error) {
	r, err := newRange(size, append([][]byte(nil), hashes...))
	if err != nil {
		return nil, err
	}
	return &Tree{r: r}, nil
}

// Size returns the number of leaves.
func (t *Tree) Size() uint64 { return t.r.End() }

// Hashes returns a copy of the compact range hashes, for persisting with
// the size.
func (t *Tree) Hashes() [][]byte { return append([][]byte(nil), t.r.Hashes()...) }

// Append adds a leaf hash.
func (t *Tree) Append(leafHash []byte) {
	if err := t.r.Append(leafHash, nil); err != nil {
		panic(err) // only for a range not starting at 0, which Tree never has
	}
}

// Root returns the RFC 6962 root hash (the empty-tree hash for size 0).
func (t *Tree) Root() []byte {
	if t.r.End() == 0 {
		return Hasher.EmptyRoot()
	}
	root, err := t.r.GetRootHash(nil)
	if err != nil {
		panic(err)
	}
	return root
}

// Clone returns an independent copy of t.
func (t *Tree) Clone() *Tree {
	c, err := RestoreTree(t.Size(), t.Hashes())
	if err != nil {
		panic(err)
	}
	return c
}

// RootOf returns the root of the tree over leaves[:size].
// Requires size <= len(leaves).
func RootOf(leaves [][]byte, size uint64) []byte {
	t := NewTree()
	for _, l := range leaves[:size] {
		t.Append(l)
	}
	return t.Root()
}

// nodeHash returns the hash of the subtree at (level, index) over leaves.
func nodeHash(leaves [][]byte, id compact.NodeID) []byte {
	begin := id.Index << id.Level
	end := min(begin+(1<<id.Level), uint64(len(leaves)))
	// The hash of a perfect subtree does not depend on its position, and
	// compact.Range computes roots only for ranges starting at 0.
	r := rangeFactory.NewEmptyRange(0)
	for _, l := range leaves[begin:end] {
		if err := r.Append(l, nil); err != nil {
			panic(err)
		}
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		panic(err)
	}
	return root
}

func rehash(leaves [][]byte, nodes proof.Nodes) ([][]byte, error) {
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		hashes[i] = nodeHash(leaves, id)
	}
	return nodes.Rehash(hashes, Hasher.HashChildren)
}

// InclusionProof returns the audit path of leaf index in the tree of size
// leaves[:size]. Requires index < size <= len(leaves).
func InclusionProof(leaves [][]byte, index, size uint64) ([][]byte, error) {
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, err
	}
	return rehash(leaves[:size], nodes)
}

// ConsistencyProof returns the proof that the tree of size1 is a prefix of
// the tree of size2. Requires size1 <= size2 <= len(leaves).
func ConsistencyProof(leaves [][]byte, size1, size2 uint64) ([][]byte, error) {
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, err
	}
	return rehash(leaves[:size2], nodes)
}

// VerifyInclusion checks an inclusion proof (see proof.VerifyInclusion).
func VerifyInclusion(index, size uint64, leafHash []byte, path [][]byte, root []byte) error {
	return proof.VerifyInclusion(Hasher, index, size, leafHash, path, root)
}

// VerifyConsistency checks a consistency proof (see proof.VerifyConsistency).
func VerifyConsistency(size1, size2 uint64, p [][]byte, root1, root2 []byte) error {
	return proof.VerifyConsistency(Hasher, size1, size2, p, root1, root2)
}
