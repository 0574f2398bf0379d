package proof

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/govaudit/govaudit/internal/auditlog"
)

// TestAuditPathFromLeaves: the path built from node hashes is the one
// auditlog builds from all leaves, for every index of every size to 40; a
// missing leaf or a short answer is an error, never a path.
func TestAuditPathFromLeaves(t *testing.T) {
	var leaves [][]byte
	for i := range 40 {
		h := auditlog.Hasher.HashLeaf([]byte(fmt.Sprint(i)))
		leaves = append(leaves, h)
	}
	read := 0
	fetch := FromLeaves(func(begin, end uint64, yield func([]byte)) error {
		for _, h := range leaves[begin:end] {
			read++
			yield(h)
		}
		return nil
	})
	for size := uint64(1); size <= 40; size++ {
		for index := uint64(0); index < size; index++ {
			want, err := auditlog.InclusionProof(leaves, index, size)
			if err != nil {
				t.Fatal(err)
			}
			read = 0
			got, err := AuditPath(index, size, fetch)
			if err != nil || len(got) != len(want) {
				t.Fatalf("%d of %d: %d hashes, want %d (%v)", index, size, len(got), len(want), err)
			}
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("%d of %d: hash %d differs", index, size, i)
				}
			}
			if uint64(read) != size-1 {
				t.Errorf("%d of %d: %d leaves read, want %d (each but the proven one, once)", index, size, read, size-1)
			}
		}
	}
	missing := errors.New("leaf missing")
	if _, err := AuditPath(3, 8, FromLeaves(func(begin, end uint64, yield func([]byte)) error { return missing })); !errors.Is(err, missing) {
		t.Errorf("missing leaf: %v", err)
	}
	if _, err := AuditPath(3, 8, FromLeaves(func(begin, end uint64, yield func([]byte)) error { return nil })); err == nil {
		t.Error("no leaves: a path")
	}
	if _, err := AuditPath(3, 8, func(ids []NodeID) ([][]byte, error) { return nil, nil }); err == nil {
		t.Error("no node hashes: a path")
	}
}
