package auditparquetexporter

import (
	"sync"
	"testing"
	"time"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/record"
)

// TestGroupCommitWAL sends requests from concurrent senders through the
// real auditsign processor into this exporter (auditsign's group commit
// releases requests that arrive while a release is in flight as one batch:
// one write-ahead log entry, one fsync). Before shutdown it reads the
// write-ahead log itself and asserts:
//
//   - every acknowledged record is in the WAL exactly once;
//   - WAL order is tree order: each epoch's leaves appear in the WAL with
//     leaf indexes 0, 1, 2, ... in that order;
//   - requests shared fsyncs (fewer WAL entries with leaves than requests).
//
// After shutdown the archive must hold every acknowledged record once and
// verify.
func TestGroupCommitWAL(t *testing.T) {
	var writer *archiveWriter
	setWriterHook(t, func(w *archiveWriter) {
		writer = w
		// A slower fsync, as on a busy disk, so that requests queue.
		w.fail = func(s step, _ string) error {
			if s == stepWALSync {
				time.Sleep(2 * time.Millisecond)
			}
			return nil
		}
	})
	env := newPipelineEnv(t)
	env.exporterConfig = func(c *Config) {
		c.Rotation.MaxRows = 1 << 30 // nothing sealed before the WAL is read
		c.Rotation.MaxAge = time.Hour
	}
	c := env.start(t)
	const senders, requests = 8, 12
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range requests {
				ids, err := c.send(1 + (g*requests+k)%9)
				if err != nil {
					t.Errorf("sender %d request %d: %v", g, k, err)
					return
				}
				mu.Lock()
				for _, id := range ids {
					acked[id] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	writer.mu.Lock()
	segs, err := writer.segments()
	if err != nil {
		t.Fatal(err)
	}
	var wal []record.Record
	for _, s := range segs {
		recs, torn, err := readSegment(writer.path(s.Path))
		if err != nil || torn != 0 {
			t.Fatalf("%s: %v (torn %d)", s.Path, err, torn)
		}
		wal = append(wal, recs...)
	}
	pending, err := archive.ReadPending(env.archive)
	writer.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	next := map[uint64]uint64{}
	checkpoints := 0
	for _, r := range wal {
		seen[r.ID]++
		if !r.IsLeaf() {
			checkpoints++ // emitted alone: one entry each
			continue
		}
		if r.LeafIndex != next[r.Epoch] {
			t.Fatalf("WAL holds leaf %d of epoch %d where leaf %d is due: WAL order is not tree order", r.LeafIndex, r.Epoch, next[r.Epoch])
		}
		next[r.Epoch]++
	}
	for id := range acked {
		if seen[id] != 1 {
			t.Errorf("acknowledged record %s is %d times in the WAL", id, seen[id])
		}
	}
	leafEntries := pending.Entries - checkpoints - 1 // and the epoch start record's
	t.Logf("%d requests of %d records in %d WAL entries with leaves (%d entries in all, %d checkpoints)",
		senders*requests, len(acked), leafEntries, pending.Entries, checkpoints)
	if leafEntries >= senders*requests {
		t.Errorf("%d WAL entries with leaves for %d concurrent requests: no request shared an fsync", leafEntries, senders*requests)
	}

	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
	got := archivedIDs(t, env.archive)
	for id := range acked {
		if got[id] != 1 {
			t.Errorf("acknowledged record %s archived %d times", id, got[id])
		}
	}
	if rep := verifyArchive(t, env.archive, env.verifier); !rep.OK() {
		t.Errorf("the archive does not verify:\n%s", reportText(rep))
	}
}
