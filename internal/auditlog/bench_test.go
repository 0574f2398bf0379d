package auditlog

import (
	"encoding/binary"
	"testing"
)

// BenchmarkTreeAppend measures appending one leaf hash to the compact range
// of a growing tree (what auditsign does per record). Checkpoint signing
// (root of a million-leaf tree + Ed25519 note) is BenchmarkCheckpoint in
// processor/auditsignprocessor.
func BenchmarkTreeAppend(b *testing.B) {
	leaves := make([][]byte, 1<<16)
	for i := range leaves {
		leaves[i] = Hasher.HashLeaf(binary.BigEndian.AppendUint64(nil, uint64(i)))
	}
	tree := NewTree()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tree.Append(leaves[i&(len(leaves)-1)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "leaves/s")
}

// BenchmarkRoot measures the root of a tree of 2^20-1 leaves (the worst
// case: 20 subtree roots to fold), computed before each checkpoint.
func BenchmarkRoot(b *testing.B) {
	tree := NewTree()
	for i := range 1<<20 - 1 {
		tree.Append(Hasher.HashLeaf(binary.BigEndian.AppendUint64(nil, uint64(i))))
	}
	b.ReportAllocs()
	for b.Loop() {
		tree.Root()
	}
}
