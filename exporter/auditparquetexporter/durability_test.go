package auditparquetexporter

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/govaudit/govaudit/exporter/auditparquetexporter/internal/metadata"
	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

// telemetryExporter starts an exporter on root with its own telemetry.
func telemetryExporter(t *testing.T, cfg *Config) (exporter.Logs, *componenttest.Telemetry) {
	t.Helper()
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { tt.Shutdown(context.Background()) })
	set := exportertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tt.NewTelemetrySettings()
	return startExporter(t, cfg, set), tt
}

func concat(bs ...[]record.Record) []record.Record {
	var out []record.Record
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

// TestWALFailureIsUndone: a failed WAL fsync is undone (the segment holds
// only the acknowledged entries) and answered at once with a retryable
// error; the retried batch is archived once.
func TestWALFailureIsUndone(t *testing.T) {
	inj := newInjector()
	setWriterHook(t, func(w *archiveWriter) { w.fail = inj.fail })
	root := t.TempDir()
	exp, tt := telemetryExporter(t, testConfig(root))
	s := newStream("host-a", 1)
	b1, b2 := s.batch(t, 3), s.batch(t, 4)
	consume(t, exp, b1)
	inj.arm(1, stepWALSync)
	began := time.Now()
	err := exp.ConsumeLogs(context.Background(), toLogs(b2))
	t.Logf("a failed fsync was undone and refused in %v", time.Since(began)) // measured, not asserted
	if err == nil || consumererror.IsPermanent(err) || !strings.Contains(err.Error(), "records not written (retry)") {
		t.Fatalf("ConsumeLogs with a failing fsync = %v, want a retryable error", err)
	}
	wal := walFiles(t, root)
	recs, torn, err := readSegment(wal[0])
	if err != nil || torn != 0 || len(recs) != len(b1) {
		t.Fatalf("WAL after the undo: %d records, %d torn bytes, %v; want exactly the %d acknowledged", len(recs), torn, err, len(b1))
	}
	if got := sumAttr(t, tt, "otelcol_auditparquet_errors", "operation", "append"); got != 1 {
		t.Errorf("errors{operation=append} = %d, want 1", got)
	}
	consume(t, exp, b2) // the client retries
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkArchive(t, root, concat(b1, b2))
}

// TestWALUndoFailureStopsWriter: when the undo of a failed append fails
// too, the writer refuses every later batch at once, naming the cause, and
// counts it; shutdown seals nothing; the next start archives what the WAL
// holds (here the whole entry whose fsync failed).
func TestWALUndoFailureStopsWriter(t *testing.T) {
	inj := newInjector()
	setWriterHook(t, func(w *archiveWriter) { w.fail = inj.fail })
	root := t.TempDir()
	exp, tt := telemetryExporter(t, testConfig(root))
	s := newStream("host-a", 1)
	b1, b2, b3 := s.batch(t, 3), s.batch(t, 4), s.batch(t, 2)
	consume(t, exp, b1)
	inj.arm(1, stepWALSync, stepWALUndo)
	err := exp.ConsumeLogs(context.Background(), toLogs(b2))
	if err == nil || consumererror.IsPermanent(err) || !strings.Contains(err.Error(), "undoing it failed too") || !strings.Contains(err.Error(), "restart required") {
		t.Fatalf("ConsumeLogs = %v, want the undo failure and restart required", err)
	}
	inj.clear()
	err = exp.ConsumeLogs(context.Background(), toLogs(b3))
	if err == nil || !strings.Contains(err.Error(), "restart required") || !strings.Contains(err.Error(), "injected fault at wal_undo") {
		t.Fatalf("ConsumeLogs after the writer stopped = %v, want a refusal naming the cause", err)
	}
	if got := sumAttr(t, tt, "otelcol_auditparquet_errors", "operation", "wal_undo"); got != 1 {
		t.Errorf("errors{operation=wal_undo} = %d, want 1", got)
	}
	if got := sumAttr(t, tt, "otelcol_auditparquet_errors", "operation", "refused"); got != 1 {
		t.Errorf("errors{operation=refused} = %d, want 1", got)
	}
	err = exp.Shutdown(context.Background())
	if err == nil || !strings.Contains(err.Error(), "recovered at the next start") {
		t.Fatalf("Shutdown = %v", err)
	}
	if files, _ := archive.DataFiles(root); len(files) != 0 {
		t.Fatalf("sealed at shutdown of a stopped writer: %v", files)
	}
	if got := restart(t, root); got[actionReplayed] != 1 {
		t.Errorf("recovery actions %v", got)
	}
	checkArchive(t, root, concat(b1, b2))
}

// TestRedeliveryByRecordID: a leaf below the next index is skipped only if
// the archive holds the same record id at that (epoch, leaf), in the open
// file or — after a restart — in the last sealed file; otherwise the batch
// is refused whole with a permanent error naming record, origin, epoch and
// leaf, and counted. A checkpoint record with a new record id but the same
// note is a redelivery.
func TestRedeliveryByRecordID(t *testing.T) {
	root := t.TempDir()
	exp, tt := telemetryExporter(t, testConfig(root))
	s := newStream("host-a", 7)
	b1 := s.batch(t, 4)
	consume(t, exp, b1)

	// Another writer's leaves at the same indexes (other record ids).
	other := newStream("host-a", 7)
	other.rnd.Uint64() // other ids
	forged := other.batch(t, 2)
	checkConflict := func(exp exporter.Logs) {
		t.Helper()
		err := exp.ConsumeLogs(context.Background(), toLogs(forged))
		if !consumererror.IsPermanent(err) {
			t.Fatalf("ConsumeLogs(conflicting leaves) = %v, want a permanent error", err)
		}
		for _, want := range []string{"record " + forged[0].ID + " (origin host-a, epoch 7, leaf 0): the archive holds record " + b1[0].ID,
			"record " + forged[1].ID + " (origin host-a, epoch 7, leaf 1)", "none of them was archived"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
	}
	checkConflict(exp)
	if got := sumAttr(t, tt, "otelcol_auditparquet_errors", "operation", "record_conflict"); got != 1 {
		t.Errorf("errors{operation=record_conflict} = %d, want 1", got)
	}
	// The same records again, and the same checkpoint under a new record id.
	again := s.checkpoint(t)
	if again.ID == b1[len(b1)-1].ID || again.Checkpoint != b1[len(b1)-1].Checkpoint {
		t.Fatal("test setup: want the same note under a new record id")
	}
	consume(t, exp, append(append([]record.Record{}, b1...), again))
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	// After a restart the ids come from the last sealed file.
	exp, tt = telemetryExporter(t, testConfig(root))
	consume(t, exp, b1)
	checkConflict(exp)
	b2 := s.batch(t, 2)
	consume(t, exp, b2)
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sumMetric(t, tt, "otelcol_auditparquet_records_deduplicated", ""); got != int64(len(b1)) {
		t.Errorf("records_deduplicated after the restart = %d, want %d", got, len(b1))
	}
	checkArchive(t, root, concat(b1, b2))
}

// fakeClock is a settable clock for archiveWriter.now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestSealWaitsForCoverage: a full file is sealed only once every epoch in
// it is covered — by a checkpoint at least as large as its highest leaf
// plus one, or by a later epoch's leaf 0 — or, failing that, max_age after
// it became due.
func TestSealWaitsForCoverage(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	var w *archiveWriter
	setWriterHook(t, func(aw *archiveWriter) { w, aw.now = aw, clock.now })
	root := t.TempDir()
	cfg := testConfig(root)
	cfg.Rotation.MaxRows = 4
	cfg.Rotation.MaxAge = time.Hour
	exp := startExporter(t, cfg, exportertest.NewNopSettings(metadata.Type))
	tick := func() { // what the age loop does at a tick
		w.mu.Lock()
		defer w.mu.Unlock()
		w.maintain(context.Background(), "host-a", w.now())
	}
	nfiles := func() int {
		files, _ := archive.DataFiles(root)
		return len(files)
	}

	// Covered by a checkpoint arriving in a later batch.
	e1 := newStream("host-a", 1)
	var leaves []record.Record
	for range 5 {
		leaves = append(leaves, e1.record())
	}
	consume(t, exp, leaves)
	if n := nfiles(); n != 0 {
		t.Fatalf("full but uncovered file sealed (%d files)", n)
	}
	cp := e1.checkpoint(t)
	consume(t, exp, []record.Record{cp})
	if n := nfiles(); n != 1 {
		t.Fatalf("covered full file not sealed (%d files)", n)
	}

	// Covered by the next epoch's start record.
	tail := []record.Record{e1.record(), e1.record(), e1.record(), e1.record()}
	consume(t, exp, tail)
	e2 := newStream("host-a", 2)
	start := e2.batch(t, 1)
	consume(t, exp, start)
	if n := nfiles(); n != 2 {
		t.Fatalf("file covered by a later epoch's leaf 0 not sealed (%d files)", n)
	}

	// Never covered: sealed max_age after it became due.
	orphan := []record.Record{e2.record(), e2.record(), e2.record(), e2.record()}
	consume(t, exp, orphan)
	clock.add(time.Hour - time.Second)
	tick()
	if n := nfiles(); n != 2 {
		t.Fatalf("uncovered file sealed before max_age (%d files)", n)
	}
	clock.add(time.Second)
	tick()
	if n := nfiles(); n != 3 {
		t.Fatalf("uncovered file not sealed max_age after it became due (%d files)", n)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkArchive(t, root, concat(leaves, []record.Record{cp}, tail, start, orphan))
}

const (
	lockDirEnv = "AUDITPARQUET_LOCK_DIR"
)

// TestLockHolderChild is the other process of TestOneWriter: it starts an
// exporter on $AUDITPARQUET_LOCK_DIR, prints "started", and shuts it down
// when its stdin closes.
func TestLockHolderChild(t *testing.T) {
	dir := os.Getenv(lockDirEnv)
	if dir == "" {
		t.Skip("helper process of TestOneWriter")
	}
	exp := startExporter(t, testConfig(dir), exportertest.NewNopSettings(metadata.Type))
	fmt.Println("started")
	os.Stdin.Read(make([]byte, 1)) // until the parent closes it
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestOneWriter: a second exporter on the same directory — in this process
// or in another — fails to start, naming the directory and the holder, and
// touches nothing; once the first shuts down, it starts.
func TestOneWriter(t *testing.T) {
	root := t.TempDir()
	first := startExporter(t, testConfig(root), exportertest.NewNopSettings(metadata.Type))
	recs := newStream("host-a", 1).batch(t, 3)
	consume(t, first, recs)
	wal := walFiles(t, root)

	second, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), testConfig(root))
	if err != nil {
		t.Fatal(err)
	}
	err = second.Start(context.Background(), componenttest.NewNopHost())
	host, _ := os.Hostname()
	for _, want := range []string{"archive directory in use by another writer: " + root, fmt.Sprintf("held by pid=%d host=%s started=", os.Getpid(), host)} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("second Start in process = %v, want an error containing %q", err, want)
		}
	}
	if got := walFiles(t, root); len(got) != 1 || got[0] != wal[0] {
		t.Fatalf("the refused writer touched the live WAL: %v", got)
	}
	if err := second.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	consume(t, first, newStream("host-b", 1).batch(t, 1)) // still the writer
	if err := first.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if files, _ := archive.DataFiles(root); len(files) != 2 {
		t.Fatalf("data files %v", files)
	}
	if _, err := os.Stat(filepath.Join(root, archive.LockName)); err != nil {
		t.Fatal(err)
	}

	// Another process holds it.
	child := startLockHolder(t, root)
	third, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), testConfig(root))
	if err != nil {
		t.Fatal(err)
	}
	err = third.Start(context.Background(), componenttest.NewNopHost())
	if want := fmt.Sprintf("%s is held by pid=%d ", root, child.pid); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Start while another process holds the directory = %v, want an error containing %q", err, want)
	}
	child.stop()
	fourth := startExporter(t, testConfig(root), exportertest.NewNopSettings(metadata.Type))
	if err := fourth.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

type lockHolder struct {
	pid  int
	stop func()
}

// startLockHolder runs TestLockHolderChild on dir in a new process of this
// test binary and waits until its exporter started.
func startLockHolder(t *testing.T, dir string) lockHolder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHolderChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockDirEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "started" {
	}
	stop := func() {
		stdin.Close()
		io.Copy(io.Discard, stdout)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("lock holder: %v: %s", err, stderr.String())
		}
	}
	if sc.Err() != nil || cmd.ProcessState != nil {
		stop()
		t.Fatal("lock holder did not start")
	}
	return lockHolder{pid: cmd.Process.Pid, stop: stop}
}

// TestCheckpointFork: a different note for an archived (epoch, size) is
// not a redelivery: it is archived as a row (verify reports the fork), the
// checkpoint file keeps the first note, and the conflict is counted.
func TestCheckpointFork(t *testing.T) {
	root := t.TempDir()
	exp, tt := telemetryExporter(t, testConfig(root))
	s := newStream("host-a", 3)
	b1 := s.batch(t, 3)
	consume(t, exp, b1)
	first := b1[len(b1)-1]
	text, err := auditlog.Sign(testSigner(), "host-a", 3, 3, make([]byte, 32)) // another root at size 3
	if err != nil {
		t.Fatal(err)
	}
	fork := record.Record{SchemaVersion: 1, ID: s.id(), Type: record.TypeCheckpoint, EventName: record.EventNameCheckpoint,
		ObservedTime: first.ObservedTime, Origin: "host-a", Epoch: 3, Checkpoint: text}
	consume(t, exp, []record.Record{fork})
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, r := range readArchive(t, root) {
		if !r.IsLeaf() {
			notes = append(notes, r.Checkpoint)
		}
	}
	if len(notes) != 2 || notes[0] != first.Checkpoint || notes[1] != text {
		t.Errorf("checkpoint rows %q, want the first note and the fork", notes)
	}
	if b, err := os.ReadFile(filepath.Join(root, archive.CheckpointPath("host-a", 3, 3))); err != nil || string(b) != first.Checkpoint {
		t.Errorf("checkpoint file = %q, %v; want the first note", b, err)
	}
	if got := sumAttr(t, tt, "otelcol_auditparquet_errors", "operation", "checkpoint_conflict"); got != 1 {
		t.Errorf("errors{operation=checkpoint_conflict} = %d, want 1", got)
	}
}

// TestRedeliveryFromAnOlderFile: a crash after batches that were written but
// never acknowledged can leave the last acknowledged batch in a sealed file
// older than the previous one (rotations between them); its redelivery is
// still recognised by record id — in the same run and after a restart —
// instead of being refused for ever as a conflict. TestCrash found it.
func TestRedeliveryFromAnOlderFile(t *testing.T) {
	root := t.TempDir()
	cfg := testConfig(root)
	cfg.Rotation.MaxRows = 3 // every batch below fills a file and seals it
	exp := startExporter(t, cfg, exportertest.NewNopSettings(metadata.Type))
	s := newStream("host-a", 3)
	acked := s.batch(t, 2)
	consume(t, exp, acked)
	later := [][]record.Record{s.batch(t, 2), s.batch(t, 2)} // "never acknowledged"
	for _, b := range later {
		consume(t, exp, b)
	}
	files, err := archive.OriginDataFiles(root, "host-a")
	if err != nil || len(files) < 3 {
		t.Fatalf("want at least 3 sealed files, got %v (%v)", files, err)
	}
	consume(t, exp, acked) // the redelivery: a duplicate, not a conflict
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	exp = startExporter(t, cfg, exportertest.NewNopSettings(metadata.Type))
	consume(t, exp, acked) // again after a restart
	last := s.batch(t, 1)
	consume(t, exp, last)
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := append(append(append(append([]record.Record{}, acked...), later[0]...), later[1]...), last...)
	checkArchive(t, root, want)
}

// TestWALEntryBytes: entries written as a header and a payload (two
// writes) are byte for byte archive.WALEntry's framing after WALMagic, for
// both payload encodings (records, and a batch as received), and read back.
func TestWALEntryBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.wal")
	seg, err := createSegment(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer seg.f.Close()
	s := newStream("wal.bytes", 1)
	first, second := s.batch(t, 3), s.batch(t, 2)
	received := toLogs(second)
	want := []byte(archive.WALMagic)
	for i, step := range []struct {
		recs     []record.Record
		received plog.Logs
		encode   func() ([]byte, error)
	}{
		{first, plog.Logs{}, func() ([]byte, error) { return encodeEntry(first) }},
		{second, received, func() ([]byte, error) { return encodeReceived(received) }},
	} {
		n, err := seg.append(step.recs, step.received)
		if err != nil {
			t.Fatal(err)
		}
		payload, err := step.encode()
		if err != nil {
			t.Fatal(err)
		}
		entry, err := archive.WALEntry(payload)
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len(entry)) {
			t.Errorf("entry %d: append returned %d bytes, entry is %d", i, n, len(entry))
		}
		want = append(want, entry...)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("segment is %d bytes, want WALMagic and the two framed entries (%d bytes)", len(got), len(want))
	}
	if seg.good != int64(len(want)) {
		t.Errorf("good = %d, want %d", seg.good, len(want))
	}
	recs, torn, err := readSegment(path)
	all := concat(first, second) // each batch ends with a checkpoint record
	if err != nil || torn != 0 || len(recs) != len(all) {
		t.Fatalf("readSegment: %d records, torn %d, %v; want %d, 0, nil", len(recs), torn, err, len(all))
	}
	for i, r := range recs {
		if want := all[i]; r.ID != want.ID || !bytes.Equal(r.LeafHash, want.LeafHash) {
			t.Errorf("record %d: %s, want %s", i, r.ID, want.ID)
		}
	}
}
