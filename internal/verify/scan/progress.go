package scan

import (
	"sync"
	"time"
)

// Progress is how far Archive has read the data files.
type Progress struct {
	// Files counts the data files checked, of TotalFiles; RecordFiles
	// those of them read as records (verify.ReadLeaves sent them to the
	// record path: a problem to name, or the report asked for records).
	Files, TotalFiles, RecordFiles int
	// Rows counts the rows read so far; EstimatedRows estimates the rows of
	// all the data files from those opened so far (0 before any is).
	Rows, EstimatedRows int64
	// Elapsed is the time since Archive started reading data files.
	Elapsed time.Duration
	// Done is set on the last call, once every data file was checked.
	Done bool
}

// progressInterval is how often a progressCounter reports.
const progressInterval = 250 * time.Millisecond

// A progressCounter collects the workers' progress and reports it at most
// every progressInterval, from one goroutine at a time.
type progressCounter struct {
	report func(Progress)
	start  time.Time

	mu       sync.Mutex
	p        Progress
	opened   int   // files whose row count is known
	openRows int64 // their rows
	last     time.Time
}

func newProgressCounter(files int, report func(Progress)) *progressCounter {
	return &progressCounter{report: report, start: time.Now(), p: Progress{TotalFiles: files}}
}

// FileRows notes a file's row count (the estimate's basis).
func (c *progressCounter) FileRows(rows int64) {
	if c == nil || c.report == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opened++
	c.openRows += rows
}

// RowsRead adds n rows read.
func (c *progressCounter) RowsRead(n int) {
	if c == nil || c.report == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.p.Rows += int64(n)
	c.maybeReport()
}

// fileDone notes a file checked; records is set for a file decoded as
// records, whose rows (not counted by RowsRead) are rows.
func (c *progressCounter) fileDone(records bool, rows int64) {
	if c == nil || c.report == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.p.Files++
	if records {
		c.p.RecordFiles++
	}
	c.p.Rows += rows
	c.maybeReport()
}

// finish reports the last progress.
func (c *progressCounter) finish() {
	if c == nil || c.report == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.p.Done = true
	c.p.EstimatedRows = c.p.Rows
	c.p.Elapsed = time.Since(c.start)
	c.report(c.p)
}

func (c *progressCounter) maybeReport() {
	now := time.Now()
	if now.Sub(c.last) < progressInterval {
		return
	}
	c.last = now
	c.p.Elapsed = now.Sub(c.start)
	if c.opened > 0 {
		c.p.EstimatedRows = max(c.p.Rows, c.openRows*int64(c.p.TotalFiles)/int64(c.opened))
	}
	c.report(c.p)
}
