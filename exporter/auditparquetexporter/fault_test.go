package auditparquetexporter

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/govaudit/govaudit/internal/archive"
)

// An injector fails write steps of the exporter through its failpoint.
type injector struct {
	mu    sync.Mutex
	armed map[step]int // step -> failures left; -1 until cleared
	hits  map[step]int // step -> failures injected
	// after, if set, fails the armed steps only right after this step.
	after step
	last  step // the step reached last
}

func newInjector() *injector { return &injector{armed: map[step]int{}, hits: map[step]int{}} }

func (in *injector) fail(s step, path string) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	prev := in.last
	in.last = s
	n := in.armed[s]
	if n == 0 || in.after != "" && prev != in.after {
		return nil
	}
	if n > 0 {
		in.armed[s] = n - 1
	}
	in.hits[s]++
	return fmt.Errorf("injected fault at %s (%s): %w", s, filepath.Base(path), syscall.ENOSPC)
}

// arm fails each step of ss n times (-1: until clear).
func (in *injector) arm(n int, ss ...step) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, s := range ss {
		in.armed[s] = n
	}
}

func (in *injector) clear() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.armed = map[step]int{}
}

func (in *injector) count(s step) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.hits[s]
}

// sealSteps are the steps after a batch is durable: their failure must
// never reach the sender.
var sealSteps = map[step]bool{
	stepTempWrite: true, stepTempSync: true, stepChmod: true, stepRename: true, stepDataDirSync: true,
	stepIndexWrite: true, stepCheckpointWrite: true, stepLatestWrite: true, stepManifestWrite: true, stepStateSave: true, stepSegmentDelete: true,
}

// faultBatches are the sizes of the requests of one fault case: with
// max_rows 4 (plus auditsign's checkpoint record after each), most cross
// the rotation boundary.
var faultBatches = []int{3, 5, 2, 6, 1, 7, 3, 4, 5}

const (
	armAt   = 2 // the fault is armed before this request
	clearAt = 6 // and cleared before this one
)

// TestFaultMatrix fails every write step of the exporter in turn, once and
// persistently (for four requests), under the real auditsign processor
// with a file_storage state, with requests that cross max_rows. Then either
// the fault is cleared, more requests sent and the collector shut down, or
// the collector is abandoned as by kill -9 while the fault lasts (right
// after the request it hit, or at the end of the persistent window). Then
// it is restarted on the same directories (recovery) and one more request
// sent. It asserts:
//
//   - every record whose request to auditsign succeeded is archived exactly
//     once (every data file read back, records matched by id);
//   - no record of a failed request is archived, unless the WAL undo failed
//     during that request (then its records are all archived once, or none);
//   - a failure after the batch is durable (sealing) never fails a request;
//   - the injected fault really fired;
//   - nothing is left in the WAL and the archive verifies (internal/verify:
//     every record covered by a signature or a covered epoch link).
func TestFaultMatrix(t *testing.T) {
	type point struct {
		name  string
		steps []step // failed together
		after step   // only right after this step, if set
	}
	var points []point
	for _, s := range steps {
		switch s {
		case stepWALUndo:
			// An undo follows a failed write: fail both.
			points = append(points, point{name: string(s), steps: []step{s, stepWALSync}})
		case stepWALDirSync:
			// The WAL directory is synced after a segment is created and
			// after one is deleted: fail each.
			points = append(points, point{name: string(s) + "_create", steps: []step{s}},
				point{name: string(s) + "_delete", steps: []step{s}, after: stepSegmentDelete})
		default:
			points = append(points, point{name: string(s), steps: []step{s}})
		}
	}
	cases := 0
	for _, p := range points {
		for _, mode := range []struct {
			name string
			n    int
		}{{"once", 1}, {"persistent", -1}} {
			for _, crash := range []bool{false, true} {
				cases++
				end := "shutdown"
				if crash {
					end = "crash"
				}
				t.Run(p.name+"/"+mode.name+"/"+end, func(t *testing.T) {
					runFaultCase(t, p.steps, p.after, mode.n, crash)
				})
			}
		}
	}
	t.Logf("fault matrix: %d steps, %d fault points x 2 modes (once, persistent) x 2 ends (shutdown, crash) = %d cases",
		len(steps), len(points), cases)
}

func runFaultCase(t *testing.T, armed []step, after step, n int, crash bool) {
	inj := newInjector()
	inj.after = after
	var writer *archiveWriter
	setWriterHook(t, func(w *archiveWriter) {
		writer = w
		w.fail = inj.fail
		w.sealBackoff = [2]time.Duration{} // retry sealing at every request
	})
	env := newPipelineEnv(t)
	env.exporterConfig = func(c *Config) {
		c.Rotation.MaxRows = 4
		c.Rotation.MaxAge = time.Hour // only max_rows and shutdown seal
	}
	c := env.start(t)
	acked := map[string]bool{}
	type failedReq struct {
		ids        []string
		undoFailed bool
		err        error
	}
	var failed []failedReq
	undoHits := 0
	fired := func() bool { return inj.count(armed[0]) > 0 }
	for k, size := range faultBatches {
		if k == armAt {
			inj.arm(n, armed...)
		}
		if k == clearAt {
			if crash {
				break // killed while the fault lasts
			}
			inj.clear()
		}
		ids, err := c.send(size)
		if err == nil {
			for _, id := range ids {
				acked[id] = true
			}
		} else {
			undo := inj.count(stepWALUndo) > undoHits && armed[0] == stepWALUndo
			undoHits = inj.count(stepWALUndo)
			failed = append(failed, failedReq{ids: ids, undoFailed: undo, err: err})
			if sealSteps[armed[0]] || after == stepSegmentDelete {
				t.Errorf("request %d failed although only sealing was failing: %v", k, err)
			}
		}
		if crash && n == 1 && fired() {
			break // killed right after the fault, before anything repairs it
		}
	}
	inj.clear()
	for _, s := range armed {
		if inj.count(s) == 0 {
			t.Fatalf("the fault at %s never fired", s)
		}
	}
	if crash {
		c.crash(writer)
	} else {
		stopErr := c.stop()
		writerStopped := armed[0] == stepWALUndo
		if stopErr != nil && !writerStopped {
			t.Errorf("shutdown: %v", stopErr)
		}
		if writerStopped && (stopErr == nil || !strings.Contains(stopErr.Error(), "recovered at the next start")) {
			t.Errorf("shutdown of a stopped writer = %v, want it to leave the WAL for recovery", stopErr)
		}
	}

	// Restart on the same directories: recovery, then one more request.
	c = env.start(t)
	ids, err := c.send(2)
	if err != nil {
		t.Fatalf("request after the restart: %v", err)
	}
	for _, id := range ids {
		acked[id] = true
	}
	if err := c.stop(); err != nil {
		t.Fatalf("shutdown after the restart: %v", err)
	}

	got := archivedIDs(t, env.archive)
	for id := range acked {
		if got[id] != 1 {
			t.Errorf("acknowledged record %s archived %d times", id, got[id])
		}
	}
	for _, f := range failed {
		n := 0
		for _, id := range f.ids {
			if got[id] > 1 {
				t.Errorf("record %s archived %d times", id, got[id])
			}
			n += got[id]
		}
		switch {
		case n == 0:
		case f.undoFailed && n == len(f.ids):
			t.Logf("request whose WAL undo failed archived whole at recovery (%d records)", n)
		default:
			t.Errorf("%d of %d records of a failed request archived (undo failed: %v): %v", n, len(f.ids), f.undoFailed, f.err)
		}
	}
	if len(failed) > 0 {
		t.Logf("%d of %d requests failed; first: %v", len(failed), len(faultBatches), failed[0].err)
	}
	filepath.WalkDir(env.archive, func(p string, d fs.DirEntry, _ error) error {
		if strings.HasSuffix(p, archive.WALExt) || strings.HasSuffix(p, archive.TempSuffix) {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
	if rep := verifyArchive(t, env.archive, env.verifier); !rep.OK() {
		t.Errorf("the archive does not verify:\n%s", reportText(rep))
	}
}
