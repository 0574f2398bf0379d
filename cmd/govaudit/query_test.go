package main

import (
	"strings"
	"testing"
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
