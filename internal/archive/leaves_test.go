package archive

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/govaudit/govaudit/internal/record"
)

func TestFindRecordAndLeaves(t *testing.T) {
	var rows []record.Record
	for i := range 3000 {
		r := record.Record{SchemaVersion: 1, ID: fmt.Sprintf("rec-%d", i), Type: record.TypeInference, StartTime: int64(i + 1), Provider: "p"}
		r.SetLeaf("o", 7, uint64(i))
		rows = append(rows, r)
	}
	rows = append(rows, record.Record{SchemaVersion: 1, ID: "rec-5", Type: record.TypeCheckpoint, Origin: "o", Epoch: 7, Checkpoint: "x"})
	var buf bytes.Buffer
	if err := WriteRows(&buf, rows); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	r, err := FindRecord("f", data, "rec-2500")
	if err != nil || r == nil || r.LeafIndex != 2500 || r.CheckLeafHash() != nil {
		t.Fatalf("FindRecord: %+v %v", r, err)
	}
	if r, err := FindRecord("f", data, "absent"); r != nil || err != nil {
		t.Errorf("absent: %v %v", r, err)
	}
	if !MayHoldID(data, "record_id", "rec-2500") || MayHoldID(data, "record_id", "absent") {
		t.Error("bloom filter")
	}
	n, cps := 0, 0
	if err := DecodeLeaves("f", data, func(l *LeafRow) {
		if l.Type == record.TypeCheckpoint {
			cps++
			return
		}
		if l.LeafIndex != uint64(n) || !bytes.Equal(l.LeafHash, rows[n].LeafHash) || l.Origin != "o" || l.Epoch != 7 {
			t.Fatalf("row %d: %+v", n, l)
		}
		n++
	}); err != nil || n != 3000 || cps != 1 {
		t.Fatalf("DecodeLeaves: %d leaves %d checkpoints %v", n, cps, err)
	}
	// Damaged bytes are an error naming the file, never a panic.
	for _, cut := range []int{len(data) / 2, len(data) - 10, 8} {
		bad := bytes.Clone(data[:cut])
		if _, err := FindRecord("f", bad, "rec-1"); !errors.Is(err, ErrCorrupt) {
			t.Errorf("FindRecord of %d bytes: %v", cut, err)
		}
		if err := DecodeLeaves("f", bad, func(*LeafRow) {}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("DecodeLeaves of %d bytes: %v", cut, err)
		}
	}
}
