package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/govaudit/govaudit/internal/verify/scan"
)

// TestFormatProgress: the progress line gives files, records, the rate and
// the time left from the rows of the files opened so far; the last line
// the total time.
func TestFormatProgress(t *testing.T) {
	for _, c := range []struct {
		p    scan.Progress
		want string
	}{
		{scan.Progress{TotalFiles: 4}, "verifying: 0/4 files, 0 records"},
		{scan.Progress{Files: 1, TotalFiles: 4, Rows: 512000, EstimatedRows: 1000000, Elapsed: 1280 * time.Millisecond},
			"verifying: 1/4 files, 512,000 of ~1,000,000 records, 400,000 records/s, ETA 1.2s"},
		{scan.Progress{Files: 2, TotalFiles: 40, Rows: 1000000, EstimatedRows: 20000000, Elapsed: 4 * time.Second},
			"verifying: 2/40 files, 1,000,000 of ~20,000,000 records, 250,000 records/s, ETA 1m16s"},
		{scan.Progress{Files: 4, TotalFiles: 4, Rows: 1000000, EstimatedRows: 1000000, Elapsed: 2500 * time.Millisecond, Done: true},
			"verifying: 4/4 files, 1,000,000 records, 400,000 records/s, done in 2.5s"},
	} {
		if got := formatProgress(c.p); got != c.want {
			t.Errorf("formatProgress(%+v)\n got %q\nwant %q", c.p, got, c.want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := group(n); got != want {
			t.Errorf("group(%d) = %q, want %q", n, got, want)
		}
	}
	// Not a terminal: no progress printer.
	if progress(&bytes.Buffer{}) != nil {
		t.Error("progress printer for a buffer")
	}
}
