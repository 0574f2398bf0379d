package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/govaudit/govaudit/internal/record"
)

// TestQueryBloomFilters: ids beyond what an audit index keeps exactly
// (archive.MaxExactIDs) are ruled out by the data files' own Parquet bloom
// filters: a trace id and a record id are found opening only their file.
func TestQueryBloomFilters(t *testing.T) {
	root := t.TempDir()
	writeBenchArchive(t, root, 3000, 1500, 1500, true) // 1,500 distinct traces a file
	recs := benchRecords("bench", 1795720303427918821, 3000)
	for _, args := range [][]string{
		{"--trace", recs[2100].TraceID},
		{"--record", recs[2100].ID},
	} {
		code, out, errs := runCmd(t, append([]string{"query", root, "--format", "csv", "--stats"}, args...)...)
		if code != exitOK || !strings.Contains(out, recs[2100].ID) || !strings.Contains(errs, "1 records; data files: 1 of 2 opened, 1 skipped") {
			t.Errorf("query %v: exit %d\n%s%s", args, code, out, errs)
		}
	}
	// An id in neither file: both ruled out without reading their rows.
	code, _, errs := runCmd(t, "query", root, "--trace", strings.Repeat("ab", 16), "--stats")
	if code != exitOK || !strings.Contains(errs, "0 records; data files: 0 of 2 opened") {
		t.Errorf("absent trace: exit %d %s", code, errs)
	}
}

// TestQueryDuplicates: a model call seen by two instrumentations is two
// records, both listed as evidence; the duplicate names the record that
// counts the call (column duplicate_of), stderr says how many duplicates
// were listed, and report counts the call once.
func TestQueryDuplicates(t *testing.T) {
	dir := t.TempDir()
	key, pub := keys(t, dir, "k1")
	root := filepath.Join(dir, "audit")
	writeArchiveWith(t, root, key, 12, 5, func(r *record.Record) {
		if r.ID == "rec-005" { // an inference record (odd index), duplicate of rec-001
			r.AddFlag(record.FlagDuplicate, "")
			r.Flags = append(r.Flags, record.FieldFlag(record.FlagDuplicateOf, "rec-001"))
		}
	})

	code, out, errs := runCmd(t, "query", root, "--type", "inference", "--format", "csv")
	if code != exitOK {
		t.Fatalf("query: exit %d %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 7 || !strings.HasSuffix(lines[0], ",duplicate_of,record_id") {
		t.Fatalf("query lists 6 inference records with a duplicate_of column:\n%s", out)
	}
	for _, l := range lines[1:] {
		dup := strings.HasSuffix(l, ",rec-001,rec-005")
		if strings.HasSuffix(l, ",rec-005") != dup || (!dup && !strings.Contains(l, ",,rec-")) {
			t.Errorf("row %q: only rec-005 names the record it duplicates", l)
		}
	}
	if !strings.Contains(errs, "note: 1 of 6 records duplicate another record's model call") {
		t.Errorf("stderr does not count the duplicate: %q", errs)
	}
	if _, _, errs := runCmd(t, "query", root, "--type", "workflow"); strings.Contains(errs, "duplicate") {
		t.Errorf("a query without duplicates notes one: %q", errs)
	}

	code, out, _ = runCmd(t, "report", "--key", pub, root)
	// gpt-4o: rec-001, rec-005 (the duplicate), rec-009.
	for _, want := range []string{"| inference | 6 |", "| openai | gpt-4o | — | 2 |",
		"1 of these records describe a model call another record already describes"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("report: exit %d, lacks %q (records listed, the call counted once):\n%s", code, want, out)
		}
	}
	code, out, _ = runCmd(t, "report", "--key", pub, "--format", "html", root)
	if code != exitOK || !strings.Contains(out, "1 of these records describe a model call") {
		t.Errorf("html report does not say the duplicate is counted once: exit %d", code)
	}
}
