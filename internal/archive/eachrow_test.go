package archive

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/govaudit/govaudit/internal/record"
)

// TestEachRow: EachRow hands the rows of a data file in order, equal to
// ReadRows'; an error from fn stops it after the batch in hand (1,024 rows
// decoded, not the file) and comes back as is; a truncated file is
// reported as ReadRows reports it.
func TestEachRow(t *testing.T) {
	root := t.TempDir()
	rows := make([]record.Record, 3000)
	for i := range rows {
		rows[i] = record.Record{SchemaVersion: 1, ID: fmt.Sprintf("r-%04d", i), Type: record.TypeInference,
			StartTime: int64(i), UserID: fmt.Sprintf("u%d", i%7), FinishReasons: []string{"stop"}}
		rows[i].SetLeaf("o", 1, uint64(i))
	}
	var buf bytes.Buffer
	if err := WriteRows(&buf, rows); err != nil {
		t.Fatal(err)
	}
	rel := DataPath("o", time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
	full := filepath.Join(root, filepath.FromSlash(rel))
	os.MkdirAll(filepath.Dir(full), 0o755)
	os.WriteFile(full, buf.Bytes(), 0o444)

	want, err := ReadRows(root, rel)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	var reasons [][]string
	n, err := EachRow(root, rel, func(r *record.Record) error {
		ids, reasons = append(ids, r.ID), append(reasons, r.FinishReasons)
		return nil
	})
	if err != nil || n != 3000 || len(ids) != 3000 {
		t.Fatalf("EachRow: %d decoded, %d rows, %v", n, len(ids), err)
	}
	for i := range want {
		if ids[i] != want[i].ID || len(reasons[i]) != 1 || reasons[i][0] != "stop" {
			t.Fatalf("row %d: %s %v, want %s %v", i, ids[i], reasons[i], want[i].ID, want[i].FinishReasons)
		}
	}

	enough := errors.New("enough")
	seen := 0
	n, err = EachRow(root, rel, func(*record.Record) error {
		if seen++; seen == 3 {
			return enough
		}
		return nil
	})
	if err != enough || n != 1024 || seen != 3 {
		t.Errorf("stopped EachRow: %d decoded, %d seen, %v; want 1024, 3, enough", n, seen, err)
	}

	os.Chmod(full, 0o644)
	os.WriteFile(full, buf.Bytes()[:buf.Len()/2], 0o444)
	_, werr := ReadRows(root, rel)
	_, err = EachRow(root, rel, func(*record.Record) error { return nil })
	if werr == nil || err == nil || err.Error() != werr.Error() {
		t.Errorf("truncated: EachRow %v, ReadRows %v", err, werr)
	}
}
