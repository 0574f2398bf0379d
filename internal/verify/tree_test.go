package verify

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/govaudit/govaudit/internal/auditlog"
)

// TestHashChildren: HashChildren and the tree built with its arena (nodeArena) are RFC 6962's,
// as the merkle library (auditlog) computes them.
func TestHashChildren(t *testing.T) {
	l, r := bytes.Repeat([]byte{0xab}, 32), bytes.Repeat([]byte{0x01}, 32)
	if got, want := HashChildren(l, r), auditlog.Hasher.HashChildren(l, r); !bytes.Equal(got, want) {
		t.Fatalf("HashChildren = %x, rfc6962 %x", got, want)
	}
	mine, theirs := newTree(), auditlog.NewTree()
	if !bytes.Equal(mine.Root(), theirs.Root()) {
		t.Fatal("empty tree")
	}
	for i := range 3 * nodeChunk { // across the arena's chunks
		h := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		mine.Append(h[:])
		theirs.Append(h[:])
		if !bytes.Equal(mine.Root(), theirs.Root()) {
			t.Fatalf("size %d: root %x, auditlog %x", i+1, mine.Root(), theirs.Root())
		}
	}
}
