package auditlog

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// TestHasherDifferential: Hasher and NodeArena hash as the merkle library's
// rfc6962.DefaultHasher does — node hashes of random 32-byte children and
// of children of other lengths (a damaged or hostile proof), and the roots
// of random trees of every size from 0 to 2,000, incrementally, restored
// and cloned — and proofs built with them verify with rfc6962.
func TestHasherDifferential(t *testing.T) {
	ref := rfc6962.DefaultHasher
	rnd := rand.New(rand.NewPCG(4, 2026))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		return b
	}
	if !bytes.Equal(Hasher.EmptyRoot(), ref.EmptyRoot()) || Hasher.Size() != ref.Size() {
		t.Fatal("EmptyRoot or Size differs from rfc6962")
	}
	var arena NodeArena
	for _, n := range [][2]int{{32, 32}, {0, 0}, {31, 32}, {32, 33}, {64, 32}, {1, 1}} {
		for range 200 {
			l, r := random(n[0]), random(n[1])
			want := ref.HashChildren(l, r)
			if got := Hasher.HashChildren(l, r); !bytes.Equal(got, want) {
				t.Fatalf("Hasher.HashChildren(%d, %d bytes) = %x, rfc6962 %x", n[0], n[1], got, want)
			}
			if got := arena.HashChildren(l, r); !bytes.Equal(got, want) {
				t.Fatalf("NodeArena.HashChildren(%d, %d bytes) = %x, rfc6962 %x", n[0], n[1], got, want)
			}
			if leaf := append(l, r...); !bytes.Equal(Hasher.HashLeaf(leaf), ref.HashLeaf(leaf)) {
				t.Fatalf("HashLeaf(%d bytes) differs from rfc6962", len(leaf))
			}
		}
	}

	const maxSize = 2000
	for seed := range 3 {
		rnd = rand.New(rand.NewPCG(uint64(seed), 2026))
		leaves := make([][]byte, maxSize)
		for i := range leaves {
			leaves[i] = ref.HashLeaf(random(1 + rnd.IntN(64)))
		}
		tree := NewTree()
		want := (&compact.RangeFactory{Hash: ref.HashChildren}).NewEmptyRange(0)
		var roots [][]byte // every root of tree, kept: arena hashes must never change
		for size := 0; size <= maxSize; size++ {
			if size > 0 {
				tree.Append(leaves[size-1])
				if err := want.Append(leaves[size-1], nil); err != nil {
					t.Fatal(err)
				}
			}
			wantRoot := ref.EmptyRoot()
			if size > 0 {
				var err error
				if wantRoot, err = want.GetRootHash(nil); err != nil {
					t.Fatal(err)
				}
			}
			root := tree.Root()
			if !bytes.Equal(root, wantRoot) {
				t.Fatalf("seed %d size %d: root %x, rfc6962 %x", seed, size, root, wantRoot)
			}
			roots = append(roots, root)
			if size%97 != 0 && size != maxSize {
				continue
			}
			restored, err := RestoreTree(uint64(size), tree.Hashes())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(restored.Root(), wantRoot) || !bytes.Equal(tree.Clone().Root(), wantRoot) {
				t.Fatalf("seed %d size %d: restored or cloned root differs", seed, size)
			}
			if size == 0 {
				continue
			}
			i := uint64(rnd.IntN(size))
			path, err := InclusionProof(leaves, i, uint64(size))
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyInclusion(ref, i, uint64(size), leaves[i], path, wantRoot); err != nil {
				t.Fatalf("seed %d size %d: inclusion proof of %d does not verify with rfc6962: %v", seed, size, i, err)
			}
			size1 := uint64(1 + rnd.IntN(size))
			cons, err := ConsistencyProof(leaves, size1, uint64(size))
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyConsistency(ref, size1, uint64(size), cons, roots[size1], wantRoot); err != nil {
				t.Fatalf("seed %d: consistency proof %d..%d does not verify with rfc6962: %v", seed, size1, size, err)
			}
		}
		// The roots handed out earlier still hold what they held: the
		// arena never reuses space.
		check := NewTree()
		for size, root := range roots {
			if size > 0 {
				check.Append(leaves[size-1])
			}
			if !bytes.Equal(root, check.Root()) {
				t.Fatalf("seed %d: the root of size %d changed after later appends", seed, size)
			}
		}
	}
}

// TestNodeArenaAllocations: a node hash costs no allocation of its own, one
// chunk per nodeChunk hashes (rfc6962's HashChildren costs several each).
func TestNodeArenaAllocations(t *testing.T) {
	l, r := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	var a NodeArena
	if n := testing.AllocsPerRun(10*nodeChunk, func() { a.HashChildren(l, r) }); n > 1.0/nodeChunk+1e-9 {
		t.Errorf("NodeArena.HashChildren: %.4f allocations per node, want at most 1/%d", n, nodeChunk)
	}
	if n := testing.AllocsPerRun(1000, func() { Hasher.HashChildren(l, r) }); n > 1 {
		t.Errorf("Hasher.HashChildren: %.1f allocations per node, want 1 (the result)", n)
	}
	tree := NewTree()
	leaf := Hasher.HashLeaf(nil)
	if n := testing.AllocsPerRun(10*nodeChunk, func() { tree.Append(leaf) }); n > 0.1 {
		t.Errorf("Tree.Append: %.3f allocations per leaf, want < 0.1", n)
	}
}
