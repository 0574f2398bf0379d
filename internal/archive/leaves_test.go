package archive

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/govaudit/govaudit/internal/record"
)

func TestFindRecordAndLeaves(t *testing.T) {
	var rows []record.Record
	for i := range 3000 {
		r := record.Record{SchemaVersion: 1, ID: fmt.Sprintf("rec-%d", i), Type: record.TypeInference, StartTime: int64(i + 1), Provider: "p"}
		if i%7 == 0 {
			r.FinishReasons = []string{"stop", "length"}
		}
		r.SetLeaf("o", 7, uint64(i))
		rows = append(rows, r)
	}
	rows = append(rows, record.Record{SchemaVersion: 1, ID: "rec-5", Type: record.TypeCheckpoint, Origin: "o", Epoch: 7, Checkpoint: "x"})
	var buf bytes.Buffer
	if err := WriteRows(&buf, rows); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "f.parquet"), data, 0o444)
	f, err := OpenDataFile(root, "f.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, row, err := f.FindRecord("rec-2500")
	want := rows[2500]
	want.Normalize()
	if err != nil || r == nil || row != 2500 || fmt.Sprint(*r) != fmt.Sprint(want) || r.CheckLeafHash() != nil {
		t.Fatalf("FindRecord: %+v %d %v", r, row, err)
	}
	if r, _, err := f.FindRecord("rec-5"); r == nil || r.Type == record.TypeCheckpoint || err != nil {
		t.Errorf("rec-5 (also a checkpoint row's id): %+v %v", r, err)
	}
	if r, _, err := f.FindRecord("absent"); r != nil || err != nil {
		t.Errorf("absent: %v %v", r, err)
	}
	if !f.MayContain("record_id", "rec-2500") || f.MayContain("record_id", "absent") {
		t.Error("bloom filter")
	}
	n, cps := 0, 0
	if err := f.Leaves(func(row int64, l *LeafRow) bool {
		if l.Checkpoint {
			cps++
			return string(l.Note) == "x"
		}
		if row != int64(n) || l.LeafIndex != uint64(n) || !bytes.Equal(l.LeafHash, rows[n].LeafHash) || string(l.Origin) != "o" || l.Epoch != 7 {
			t.Fatalf("row %d: %+v", n, l)
		}
		n++
		return true
	}); err != nil || n != 3000 || cps != 1 {
		t.Fatalf("Leaves: %d leaves %d checkpoints %v", n, cps, err)
	}
	// Damaged bytes are an error naming the file, never a panic.
	for _, cut := range []int{len(data) / 2, len(data) - 10, 8} {
		bad, err := OpenDataBytes("f", bytes.Clone(data[:cut]))
		if err == nil {
			_, _, err = bad.FindRecord("rec-1")
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("FindRecord in %d bytes: %v", cut, err)
		}
	}
}

// TestOpenRegular: the file is read at offsets within the size it had when
// opened, with ReadRegular's refusals.
func TestOpenRegular(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "a"), []byte("0123456789"), 0o644)
	os.Symlink(filepath.Join(root, "a"), filepath.Join(root, "link"))
	f, err := OpenRegular(root, "a", 100)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 4)
	if n, err := f.ReadAt(b, 6); n != 4 || err != nil || string(b) != "6789" {
		t.Errorf("ReadAt: %q %v", b[:n], err)
	}
	if _, err := f.ReadAt(b, 7); err == nil {
		t.Error("read past the end accepted")
	}
	os.Truncate(filepath.Join(root, "a"), 5)
	if _, err := f.ReadAt(b, 4); err == nil {
		t.Error("read of a truncated file accepted")
	}
	if _, err := OpenRegular(root, "link", 100); !errors.Is(err, ErrNotRegular) {
		t.Errorf("symbolic link: %v", err)
	}
	if _, err := OpenRegular(root, "a", 4); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the cap: %v", err)
	}
	if _, err := OpenRegular(root, "../x", 4); err == nil {
		t.Error("path outside the root accepted")
	}
}
