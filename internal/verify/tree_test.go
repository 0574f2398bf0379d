package verify

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// TestHashChildren: HashChildren and the tree verify builds are RFC 6962's,
// as the merkle library's own hasher (rfc6962.DefaultHasher) computes them
// (auditlog's TestHasherDifferential covers more sizes and inputs).
func TestHashChildren(t *testing.T) {
	l, r := bytes.Repeat([]byte{0xab}, 32), bytes.Repeat([]byte{0x01}, 32)
	if got, want := HashChildren(l, r), rfc6962.DefaultHasher.HashChildren(l, r); !bytes.Equal(got, want) {
		t.Fatalf("HashChildren = %x, rfc6962 %x", got, want)
	}
	mine, theirs := newTree(), (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	if !bytes.Equal(mine.Root(), rfc6962.DefaultHasher.EmptyRoot()) {
		t.Fatal("empty tree")
	}
	for i := range 3 * 1024 { // across the arena's chunks
		h := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		mine.Append(h[:])
		if err := theirs.Append(h[:], nil); err != nil {
			t.Fatal(err)
		}
		want, err := theirs.GetRootHash(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(mine.Root(), want) {
			t.Fatalf("size %d: root %x, rfc6962 %x", i+1, mine.Root(), want)
		}
	}
}
