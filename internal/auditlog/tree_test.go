package auditlog

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"testing"
)

func hd(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ctLeafInputs and ctRoots are the RFC 6962 reference vectors of
// transparency-dev/merkle (testonly/constants.go), from the Certificate
// Transparency test suite: ctRoots[n] is the root of the tree over the first
// n leaf inputs.
var ctLeafInputs = []string{"", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"}

var ctRoots = []string{
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", // SHA-256(""), RFC 6962 section 2.1
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}

func ctLeaves(t testing.TB) [][]byte {
	leaves := make([][]byte, len(ctLeafInputs))
	for i, in := range ctLeafInputs {
		leaves[i] = Hasher.HashLeaf(hd(t, in))
	}
	return leaves
}

// testLeaves returns n distinct leaf hashes.
func testLeaves(n int) [][]byte {
	leaves := make([][]byte, n)
	for i := range leaves {
		leaves[i] = Hasher.HashLeaf([]byte(fmt.Sprintf("leaf %d", i)))
	}
	return leaves
}

func TestTreeRootKnownAnswers(t *testing.T) {
	leaves := ctLeaves(t)
	tree := NewTree()
	for n, want := range ctRoots {
		if n > 0 {
			tree.Append(leaves[n-1])
		}
		if got := tree.Root(); hex.EncodeToString(got) != want {
			t.Errorf("size %d: Root = %x, want %s", n, got, want)
		}
		if got := RootOf(leaves, uint64(n)); hex.EncodeToString(got) != want {
			t.Errorf("size %d: RootOf = %x, want %s", n, got, want)
		}
		if tree.Size() != uint64(n) {
			t.Errorf("Size = %d, want %d", tree.Size(), n)
		}
	}
}

func TestRestoreTree(t *testing.T) {
	leaves := testLeaves(40)
	for n := 0; n <= len(leaves); n++ {
		tree, err := RestoreTree(uint64(n), NewTreeOf(leaves[:n]).Hashes())
		if err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		if !bytes.Equal(tree.Root(), RootOf(leaves, uint64(n))) {
			t.Fatalf("size %d: restored root differs", n)
		}
		if n < len(leaves) { // a restored tree keeps growing correctly
			tree.Append(leaves[n])
			if !bytes.Equal(tree.Root(), RootOf(leaves, uint64(n+1))) {
				t.Fatalf("size %d: root after append to restored tree differs", n+1)
			}
		}
	}
	if _, err := RestoreTree(3, testLeaves(1)); err == nil {
		t.Error("RestoreTree(3, 1 hash) succeeded; size 3 needs 2 hashes")
	}
}

// NewTreeOf is a test helper: the tree over leaves.
func NewTreeOf(leaves [][]byte) *Tree {
	t := NewTree()
	for _, l := range leaves {
		t.Append(l)
	}
	return t
}

// TestCloneIsIndependent guards rollback in the auditsign processor:
// appending to a clone must not change the original (compact.Range appends
// in place into its hash slice, which a shallow copy would share).
func TestCloneIsIndependent(t *testing.T) {
	leaves := testLeaves(40)
	for n := 0; n <= 20; n++ {
		orig := NewTreeOf(leaves[:n])
		clone := orig.Clone()
		for _, l := range leaves[n : n+20] {
			clone.Append(l)
		}
		if !bytes.Equal(orig.Root(), RootOf(leaves, uint64(n))) || orig.Size() != uint64(n) {
			t.Fatalf("size %d: original changed after appending to its clone", n)
		}
		if !bytes.Equal(clone.Root(), RootOf(leaves, uint64(n+20))) {
			t.Fatalf("size %d: clone root wrong", n)
		}
		// The original still grows into the right tree.
		orig.Append(leaves[n])
		if !bytes.Equal(orig.Root(), RootOf(leaves, uint64(n+1))) {
			t.Fatalf("size %d: original grows wrong after clone", n)
		}
	}
}

func TestInclusionProofs(t *testing.T) {
	leaves := testLeaves(33)
	for size := uint64(1); size <= uint64(len(leaves)); size++ {
		root := RootOf(leaves, size)
		for i := uint64(0); i < size; i++ {
			p, err := InclusionProof(leaves, i, size)
			if err != nil {
				t.Fatalf("InclusionProof(%d, %d): %v", i, size, err)
			}
			if err := VerifyInclusion(i, size, leaves[i], p, root); err != nil {
				t.Fatalf("VerifyInclusion(%d, %d): %v", i, size, err)
			}
			// Corrupt inputs must fail.
			if err := VerifyInclusion(i, size, leaves[(i+1)%uint64(len(leaves))], p, root); err == nil {
				t.Fatalf("VerifyInclusion(%d, %d) accepted another leaf", i, size)
			}
			if len(p) > 0 {
				bad := append([][]byte(nil), p...)
				bad[0] = flip(bad[0])
				if err := VerifyInclusion(i, size, leaves[i], bad, root); err == nil {
					t.Fatalf("VerifyInclusion(%d, %d) accepted a corrupt proof", i, size)
				}
			}
			if size > 1 {
				if err := VerifyInclusion((i+1)%size, size, leaves[i], p, root); err == nil {
					t.Fatalf("VerifyInclusion(%d, %d) accepted the wrong index", i, size)
				}
			}
		}
	}
}

// TestInclusionProofKnownAnswer checks one path against the CT vectors:
// leaf 0 of 8 is proven by leaf 1, node (1,1) and node (2,1).
func TestInclusionProofKnownAnswer(t *testing.T) {
	p, err := InclusionProof(ctLeaves(t), 0, 8)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
	}
	if len(p) != len(want) {
		t.Fatalf("proof has %d hashes, want %d", len(p), len(want))
	}
	for i := range want {
		if hex.EncodeToString(p[i]) != want[i] {
			t.Errorf("proof[%d] = %x, want %s", i, p[i], want[i])
		}
	}
}

func TestConsistencyProofs(t *testing.T) {
	leaves := testLeaves(20)
	for s1 := uint64(1); s1 <= 20; s1++ {
		for s2 := s1; s2 <= 20; s2++ {
			r1, r2 := RootOf(leaves, s1), RootOf(leaves, s2)
			p, err := ConsistencyProof(leaves, s1, s2)
			if err != nil {
				t.Fatalf("ConsistencyProof(%d, %d): %v", s1, s2, err)
			}
			if err := VerifyConsistency(s1, s2, p, r1, r2); err != nil {
				t.Fatalf("VerifyConsistency(%d, %d): %v", s1, s2, err)
			}
			if s1 < s2 {
				if err := VerifyConsistency(s1, s2, p, flip(r1), r2); err == nil {
					t.Fatalf("VerifyConsistency(%d, %d) accepted a wrong old root", s1, s2)
				}
				if err := VerifyConsistency(s1, s2, p, r1, flip(r2)); err == nil {
					t.Fatalf("VerifyConsistency(%d, %d) accepted a wrong new root", s1, s2)
				}
			}
		}
	}
	// A forked tree (one leaf replaced) is not consistent with the original.
	forked := append([][]byte(nil), leaves...)
	forked[3] = Hasher.HashLeaf([]byte("forged"))
	p, err := ConsistencyProof(forked, 8, 12)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyConsistency(8, 12, p, RootOf(leaves, 8), RootOf(forked, 12)); err == nil {
		t.Error("VerifyConsistency accepted a fork")
	}
}

// flip returns a copy of b with its first bit flipped.
func flip(b []byte) []byte {
	c := append([]byte(nil), b...)
	c[0] ^= 1
	return c
}
