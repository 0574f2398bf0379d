package auditsignprocessor

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
	"github.com/govaudit/govaudit/processor/auditsignprocessor/internal/metadatatest"
)

func TestCheckpointsCoverEveryLeaf(t *testing.T) {
	key, vs := writeKey(t, "collector-key", 0o600)
	sink := new(consumertest.LogsSink)
	p := startProcessor(t, testConfig(key, true, 0), startFileStorage(t, t.TempDir()), sink)
	ctx := context.Background()
	for i, n := range []int{1, 3, 7, 16, 2} {
		if err := p.ConsumeLogs(ctx, batch(n, "b")); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	out := decodeAll(t, sink.AllLogs())
	cps := verify(t, out, note.VerifierList(vs))
	if len(cps) != 1 {
		t.Fatalf("%d logs, want 1", len(cps))
	}
	var list []auditlog.Checkpoint
	for _, l := range cps {
		list = l
	}
	// Interval 0: one checkpoint after the epoch start, one per batch.
	var sizes []uint64
	for _, cp := range list {
		sizes = append(sizes, cp.Size)
		if cp.KeyName != "collector-key" {
			t.Errorf("checkpoint names key %q", cp.KeyName)
		}
	}
	if want := []uint64{1, 2, 5, 12, 28, 30}; !equal(sizes, want) {
		t.Errorf("checkpoint sizes %v, want %v", sizes, want)
	}
	// Leaf 0 starts the epoch; with a fresh storage, the previous is unknown.
	first := out.leaves[0]
	if first.LeafIndex != 0 || first.Type != record.TypeLifecycle || first.EventName != EventNameEpochStart ||
		first.PreviousCheckpoint != "" || !strings.Contains(strings.Join(first.Flags, ","), record.FlagNoPreviousEpoch) ||
		first.Attributes != `{"reason":"no_state"}` {
		t.Errorf("first leaf = %+v", first)
	}
	// Each checkpoint record follows the records it covers.
	lastLeaf := -1
	for i, ld := range sink.AllLogs() {
		rec, _ := record.FromLogRecord(ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0))
		if rec.Type == record.TypeCheckpoint {
			cp, _ := auditlog.ParseUnverified(rec.Checkpoint)
			if int(cp.Size) != lastLeaf+1 {
				t.Errorf("release %d: checkpoint of size %d after leaf %d", i, cp.Size, lastLeaf)
			}
		} else {
			lastLeaf += ld.LogRecordCount()
		}
	}

	// A checkpoint opened with another key's verifier fails.
	_, other := writeKey(t, "collector-key", 0o600)
	var unverified *note.UnverifiedNoteError
	if _, err := auditlog.Open(out.checkpoints[0].Checkpoint, note.VerifierList(other)); !errors.As(err, &unverified) {
		t.Errorf("Open with another key: %v, want *note.UnverifiedNoteError", err)
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStartRejectsOpenKeyFile(t *testing.T) {
	key, _ := writeKey(t, "k", 0o644)
	p := newProcessor(t, nopSettings(), testConfig(key, false, 0), consumertest.NewNop())
	err := p.Start(context.Background(), componenttest.NewNopHost())
	if err == nil || !strings.HasPrefix(err.Error(), "signing_key_file: ") || !strings.Contains(err.Error(), "0644") {
		t.Fatalf("Start = %v, want a signing_key_file error naming mode 0644", err)
	}
	if err := p.ConsumeLogs(context.Background(), batch(1, "x")); !errors.Is(err, errNotRunning) {
		t.Errorf("ConsumeLogs after failed start = %v", err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestStartRejectsMissingStorage(t *testing.T) {
	key, _ := writeKey(t, "k", 0o600)
	p := newProcessor(t, nopSettings(), testConfig(key, true, 0), consumertest.NewNop())
	err := p.Start(context.Background(), componenttest.NewNopHost())
	if err == nil || err.Error() != `storage: extension "file_storage/audit" not found` {
		t.Fatalf("Start = %v", err)
	}
}

func TestConcurrentBatches(t *testing.T) {
	key, vs := writeKey(t, "k", 0o600)
	sink := new(consumertest.LogsSink)
	p := startProcessor(t, testConfig(key, true, 0), startFileStorage(t, t.TempDir()), sink)
	ctx := context.Background()
	const goroutines, batches = 8, 10
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				if err := p.ConsumeLogs(ctx, batch(1+(g+b)%5, "c")); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	out := decodeAll(t, sink.AllLogs())
	want := 1 // epoch start
	for g := 0; g < goroutines; g++ {
		for b := 0; b < batches; b++ {
			want += 1 + (g+b)%5
		}
	}
	if len(out.leaves) != want {
		t.Fatalf("%d leaves released, want %d", len(out.leaves), want)
	}
	cps := verify(t, out, note.VerifierList(vs)) // gapless permutation, one root per size, proofs
	// Concurrent requests share releases (group commit): with
	// checkpoint_interval 0, each release of leaves is followed by one
	// checkpoint, so there are as many checkpoints as leaf batches released,
	// at most one per request plus the epoch start.
	released := 0
	for _, ld := range sink.AllLogs() {
		if len(decodeAll(t, []plog.Logs{ld}).leaves) > 0 {
			released++
		}
	}
	for _, list := range cps {
		if n := len(list); n != released || n > 1+goroutines*batches || list[n-1].Size != uint64(want) {
			t.Errorf("%d checkpoints, last of size %d; want %d (one per leaf batch released, at most %d), %d", n, list[n-1].Size, released, 1+goroutines*batches, want)
		}
	}
	t.Logf("%d requests released in %d downstream batches", goroutines*batches, released-1)
}

// flakyConsumer forwards to a sink, failing while fail is set.
type flakyConsumer struct {
	consumertest.LogsSink
	fail  atomic.Bool
	calls atomic.Int64
}

func (f *flakyConsumer) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	f.calls.Add(1)
	if f.fail.Load() {
		return consumertest.NewErr(errors.New("archive unavailable")).ConsumeLogs(ctx, ld)
	}
	return f.LogsSink.ConsumeLogs(ctx, ld)
}

func (*flakyConsumer) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

// A refused batch may still have reached the archive (a timeout, a write
// that could not be undone), so its leaf indexes are never reused: the epoch
// ends and the next one's leaf 0 names both possible tree heads.
func TestDownstreamFailureOpensLinkedEpoch(t *testing.T) {
	key, vs := writeKey(t, "k", 0o600)
	next := new(flakyConsumer)
	dir := t.TempDir()
	host := startFileStorage(t, dir)
	p := startProcessor(t, testConfig(key, true, 0), host, next)
	ctx := context.Background()
	if err := p.ConsumeLogs(ctx, batch(3, "ok1")); err != nil {
		t.Fatal(err)
	}
	e1 := p.epoch
	next.fail.Store(true)
	failed := batch(4, "failed")
	if err := p.ConsumeLogs(ctx, failed); err == nil || !strings.Contains(err.Error(), "archive unavailable") {
		t.Fatalf("ConsumeLogs with failing downstream = %v", err)
	}
	// The failed batch's records carry leaves 4..7 of epoch 1.
	var failedHashes [][]byte
	for _, r := range decodeAll(t, []plog.Logs{failed}).leaves {
		if r.Epoch != e1 || r.LeafIndex < 4 || r.LeafIndex > 7 {
			t.Fatalf("failed record at %d/%d", r.Epoch, r.LeafIndex)
		}
		failedHashes = append(failedHashes, r.LeafHash)
	}
	// While downstream keeps failing, the new epoch's start record is retried
	// as it is: no further epoch opens.
	e2 := p.epoch
	if e2 <= e1 {
		t.Fatalf("epoch after the failure %d, want > %d", e2, e1)
	}
	if err := p.ConsumeLogs(ctx, batch(2, "failed-again")); err == nil {
		t.Fatal("ConsumeLogs succeeded while downstream fails")
	}
	if p.epoch != e2 {
		t.Fatalf("a second failure opened epoch %d; want the pending epoch %d kept", p.epoch, e2)
	}
	next.fail.Store(false)
	if err := p.ConsumeLogs(ctx, batch(5, "ok2")); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	out := decodeAll(t, next.AllLogs())
	verify(t, out, note.VerifierList(vs))
	logs := out.epochs()
	old, cur := logs[logKey{"collector-1.test", e1}], logs[logKey{"collector-1.test", e2}]
	if len(old) != 4 || len(cur) != 6 {
		t.Fatalf("epoch sizes %d and %d released, want 4 (start + 3) and 6 (start + 5)", len(old), len(cur))
	}
	for _, r := range out.leaves {
		if strings.HasPrefix(r.Input, "failed") {
			t.Fatalf("a record of a failed batch was released: %+v", r)
		}
	}
	start := cur[0]
	if start.EventName != EventNameEpochStart || start.PreviousCheckpoint == "" {
		t.Fatalf("start record = %+v", start)
	}
	link, err := auditlog.ParseEpochLink(start.Attributes)
	if err != nil {
		t.Fatal(err)
	}
	var oldHashes [][]byte
	for _, r := range old {
		oldHashes = append(oldHashes, r.LeafHash)
	}
	if link.Reason != reasonDownstreamError || link.PreviousEpoch != e1 || link.Acknowledged == nil || link.Released == nil {
		t.Fatalf("link = %+v", link)
	}
	if link.Acknowledged.Size != 4 || !bytes.Equal(link.Acknowledged.Root, auditlog.RootOf(oldHashes, 4)) {
		t.Errorf("acknowledged head %d %x, want the 4 released leaves' root", link.Acknowledged.Size, link.Acknowledged.Root)
	}
	withFailed := append(append([][]byte(nil), oldHashes...), failedHashes...)
	if link.Released.Size != 8 || !bytes.Equal(link.Released.Root, auditlog.RootOf(withFailed, 8)) {
		t.Errorf("released head %d %x, want the root over the failed batch too", link.Released.Size, link.Released.Root)
	}
	// The new epoch resumes after a clean restart.
	sink := new(consumertest.LogsSink)
	p2 := startProcessor(t, testConfig(key, true, 0), host, sink)
	if p2.epoch != e2 || p2.tree.Size() != 6 {
		t.Errorf("after restart: epoch %d size %d, want %d, 6", p2.epoch, p2.tree.Size(), e2)
	}
	if err := p2.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// A start record that was released but not acknowledged, then a crash: the
// restart emits the very same record (id, epoch, leaf 0) again, so the link
// to the previous epoch is never lost.
func TestRefusedStartRecordSurvivesRestart(t *testing.T) {
	key, _ := writeKey(t, "k", 0o600)
	next := new(flakyConsumer)
	host := startFileStorage(t, t.TempDir())
	ctx := context.Background()
	next.fail.Store(true)
	p1 := newProcessor(t, nopSettings(), testConfig(key, true, 0), next)
	if err := p1.Start(ctx, host); err != nil { // the start record is refused
		t.Fatal(err)
	}
	refused := decodeAll(t, []plog.Logs{p1.epochStart}).leaves
	if len(refused) != 1 {
		t.Fatal("no pending start record")
	}
	// Crash: p1 never runs again; its storage client is released.
	p1.mu.Lock()
	p1.stopped = true
	if p1.timer != nil {
		p1.timer.Stop()
	}
	p1.mu.Unlock()
	if err := p1.client.Close(ctx); err != nil {
		t.Fatal(err)
	}
	next.fail.Store(false)
	p2 := startProcessor(t, testConfig(key, true, 0), host, next)
	if err := p2.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	out := decodeAll(t, next.AllLogs())
	if len(out.leaves) != 1 {
		t.Fatalf("%d leaves, want the start record once", len(out.leaves))
	}
	got, want := out.leaves[0], refused[0]
	if got.ID != want.ID || got.Epoch != want.Epoch || got.LeafIndex != 0 || !bytes.Equal(got.LeafHash, want.LeafHash) {
		t.Errorf("start record after restart %s %d/%d, want the refused one %s %d/0", got.ID, got.Epoch, got.LeafIndex, want.ID, want.Epoch)
	}
}

func TestCheckpointEmitFailureRetried(t *testing.T) {
	key, vs := writeKey(t, "k", 0o600)
	// Accept records, refuse checkpoint records once.
	sink := new(consumertest.LogsSink)
	var refused atomic.Int64
	next, err := consumer.NewLogs(func(ctx context.Context, ld plog.Logs) error {
		rec, _ := record.FromLogRecord(ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0))
		if rec.Type == record.TypeCheckpoint && refused.Add(1) == 2 {
			return errors.New("checkpoint refused")
		}
		return sink.ConsumeLogs(ctx, ld)
	})
	if err != nil {
		t.Fatal(err)
	}
	p := startProcessor(t, testConfig(key, false, time.Hour), componenttest.NewNopHost(), next)
	ctx := context.Background()
	// Start signed size 1. The batch's checkpoint is not due (1h interval);
	// the timer's work signs size 4, and its first emission is refused...
	if err := p.ConsumeLogs(ctx, batch(3, "a")); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.settle(ctx, true) // as the timer would
	pending := p.pendingCheckpoint
	p.mu.Unlock()
	if pending == "" {
		t.Fatal("refused checkpoint is not pending")
	}
	// ...and retried with the next batch.
	if err := p.ConsumeLogs(ctx, batch(1, "b")); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	out := decodeAll(t, sink.AllLogs())
	verify(t, out, note.VerifierList(vs))
	var notes []string
	for _, c := range out.checkpoints {
		notes = append(notes, c.Checkpoint)
	}
	if len(notes) != 3 || notes[1] != pending {
		t.Fatalf("emitted checkpoints %d (second retried = %v), want 3", len(notes), len(notes) > 1 && notes[1] == pending)
	}
}

func TestTimerSignsCheckpoint(t *testing.T) {
	key, vs := writeKey(t, "k", 0o600)
	sink := new(consumertest.LogsSink)
	p := startProcessor(t, testConfig(key, false, 50*time.Millisecond), componenttest.NewNopHost(), sink)
	ctx := context.Background()
	if err := p.ConsumeLogs(ctx, batch(2, "t")); err != nil { // right after the start checkpoint: not due
		t.Fatal(err)
	}
	if n := len(decodeAll(t, sink.AllLogs()).checkpoints); n != 1 {
		t.Fatalf("%d checkpoints before the timer, want 1", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(decodeAll(t, sink.AllLogs()).checkpoints) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the timer signed no checkpoint")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	out := decodeAll(t, sink.AllLogs())
	cps := verify(t, out, note.VerifierList(vs))
	for _, list := range cps {
		if len(list) != 2 || list[1].Size != 3 { // Shutdown has nothing left to sign
			t.Errorf("checkpoints %d, last size %d; want 2, 3", len(list), list[len(list)-1].Size)
		}
	}
}

func TestRejectsNonGovernanceRecords(t *testing.T) {
	key, _ := writeKey(t, "k", 0o600)
	tt := componenttest.NewTelemetry()
	defer func() { _ = tt.Shutdown(context.Background()) }()
	set := nopSettings()
	set.TelemetrySettings = tt.NewTelemetrySettings()
	sink := new(consumertest.LogsSink)
	p := newProcessor(t, set, testConfig(key, false, 0), sink)
	ctx := context.Background()
	if err := p.Start(ctx, componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	ld := batch(3, "x")
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	lrs.AppendEmpty().Body().SetStr("plain log line")
	lrs.At(1).Attributes().PutStr("govaudit.record_type", "nonsense")
	before := sink.LogRecordCount()
	err := p.ConsumeLogs(ctx, ld)
	if !consumererror.IsPermanent(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
	for _, want := range []string{"2 of 4 log records", "log record 1: record_type \"nonsense\"", "log record 3: not a governance record"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if sink.LogRecordCount() != before {
		t.Error("a rejected batch was released")
	}
	// The next good batch continues at leaf 1 (after the epoch start).
	if err := p.ConsumeLogs(ctx, batch(1, "y")); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	out := decodeAll(t, sink.AllLogs())
	if len(out.leaves) != 2 || out.leaves[1].LeafIndex != 1 {
		t.Fatalf("leaves %d", len(out.leaves))
	}
	// The generated assertions also pin each metric's name, description, unit
	// and instrument to metadata.yaml.
	ignoreTime := metricdatatest.IgnoreTimestamp()
	metadatatest.AssertEqualAuditsignRejectedLogRecords(t, tt, []metricdata.DataPoint[int64]{{Value: 2}}, ignoreTime)
	metadatatest.AssertEqualAuditsignLeavesAppended(t, tt, []metricdata.DataPoint[int64]{{Value: 2}}, ignoreTime)
	metadatatest.AssertEqualAuditsignCheckpointsSigned(t, tt, []metricdata.DataPoint[int64]{{Value: 2}}, ignoreTime)
	metadatatest.AssertEqualAuditsignEpochsOpened(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("reason", reasonNoStorage)), Value: 1},
	}, ignoreTime)
	metadatatest.AssertEqualAuditsignTreeSize(t, tt, []metricdata.DataPoint[int64]{{Value: 2}}, ignoreTime)
}

// TestCrashBetweenPersistAndRelease abandons a processor after it persisted
// dirty state and released a batch but before it learned the outcome, as if
// the process died, and starts a new one on the same storage.
func TestCrashBetweenPersistAndRelease(t *testing.T) {
	key, vs := writeKey(t, "k", 0o600)
	dir := t.TempDir()
	host := startFileStorage(t, dir)
	sink := new(consumertest.LogsSink)
	var crash atomic.Bool
	next, err := consumer.NewLogs(func(ctx context.Context, ld plog.Logs) error {
		if err := sink.ConsumeLogs(ctx, ld); err != nil { // the records reach the archive...
			return err
		}
		if crash.Load() {
			runtime.Goexit() // ...and the process dies before ConsumeLogs returns
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p1 := startProcessor(t, testConfig(key, true, 0), host, next)
	for _, n := range []int{2, 3} {
		if err := p1.ConsumeLogs(ctx, batch(n, "before")); err != nil {
			t.Fatal(err)
		}
	}
	crash.Store(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p1.ConsumeLogs(ctx, batch(4, "crash"))
	}()
	<-done
	crash.Store(false)
	// The dead process's storage file lock is released; nothing else of p1 runs.
	if err := p1.client.Close(ctx); err != nil {
		t.Fatal(err)
	}
	lastBefore := p1.lastCheckpoint

	p2 := startProcessor(t, testConfig(key, true, 0), host, next)
	if err := p2.ConsumeLogs(ctx, batch(2, "after")); err != nil {
		t.Fatal(err)
	}
	if err := p2.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	out := decodeAll(t, sink.AllLogs())
	cps := verify(t, out, note.VerifierList(vs)) // no two roots at one (origin, epoch, size)
	logs := out.epochs()
	if len(logs) != 2 {
		t.Fatalf("%d epochs, want 2", len(logs))
	}
	e1, e2 := out.leaves[0].Epoch, p2.epoch
	if e2 <= e1 {
		t.Fatalf("new epoch %d not after %d", e2, e1)
	}
	old := logs[logKey{"collector-1.test", e1}]
	if len(old) != 1+2+3+4 {
		t.Errorf("old epoch released %d leaves, want 10", len(old))
	}
	// The old epoch's last checkpoint covers 6 leaves; the crashed batch is
	// its unsealed tail.
	oldCps := cps[logKey{"collector-1.test", e1}]
	if last := oldCps[len(oldCps)-1]; last.Size != 6 || last.Note != lastBefore {
		t.Errorf("old epoch last checkpoint size %d", last.Size)
	}
	start := logs[logKey{"collector-1.test", e2}][0]
	if start.EventName != EventNameEpochStart || start.PreviousCheckpoint != lastBefore || len(start.Flags) != 0 {
		t.Errorf("new epoch start record = %+v", start)
	}
	// Its link names the old epoch's heads before and after the crashed
	// batch; the archive (the sink) holds the latter.
	link, err := auditlog.ParseEpochLink(start.Attributes)
	if err != nil {
		t.Fatal(err)
	}
	var oldHashes [][]byte
	for _, r := range old {
		oldHashes = append(oldHashes, r.LeafHash)
	}
	if link.Reason != reasonDirtyState || link.PreviousEpoch != e1 || link.Acknowledged == nil || link.Released == nil ||
		link.Acknowledged.Size != 6 || !bytes.Equal(link.Acknowledged.Root, auditlog.RootOf(oldHashes, 6)) ||
		link.Released.Size != 10 || !bytes.Equal(link.Released.Root, auditlog.RootOf(oldHashes, 10)) {
		t.Errorf("link = %+v", link)
	}
	if _, err := auditlog.Open(start.PreviousCheckpoint, note.VerifierList(vs)); err != nil {
		t.Errorf("previous checkpoint does not verify: %v", err)
	}
	if n := len(logs[logKey{"collector-1.test", e2}]); n != 3 {
		t.Errorf("new epoch has %d leaves, want 3", n)
	}
}

func TestCleanRestartResumesEpoch(t *testing.T) {
	key, vs := writeKey(t, "k", 0o600)
	host := startFileStorage(t, t.TempDir())
	sink := new(consumertest.LogsSink)
	ctx := context.Background()
	p1 := startProcessor(t, testConfig(key, true, time.Hour), host, sink)
	if err := p1.ConsumeLogs(ctx, batch(5, "run1")); err != nil {
		t.Fatal(err)
	}
	if err := p1.Shutdown(ctx); err != nil { // final checkpoint: size 6
		t.Fatal(err)
	}
	// Key rotation: the restarted processor signs with a new key.
	key2, vs2 := writeKey(t, "k2", 0o600)
	p2 := startProcessor(t, testConfig(key2, true, 0), host, sink)
	if err := p2.ConsumeLogs(ctx, batch(3, "run2")); err != nil {
		t.Fatal(err)
	}
	if err := p2.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	out := decodeAll(t, sink.AllLogs())
	logs := out.epochs()
	if len(logs) != 1 {
		t.Fatalf("%d epochs, want 1 (resumed)", len(logs))
	}
	for _, rs := range logs {
		if len(rs) != 9 || rs[6].Input != "run2 prompt 0" {
			t.Fatalf("leaves %d; leaf 6 = %q", len(rs), rs[6].Input)
		}
	}
	// Verifiers accept the set of both keys; the checkpoints stay consistent
	// across the restart and the rotation.
	both := note.VerifierList(vs, vs2)
	cps := verify(t, out, both)
	for _, list := range cps {
		var got []string
		for _, cp := range list {
			got = append(got, cp.KeyName)
		}
		// 1 (start), 6 (shutdown), 6 (re-emitted on resume), 9.
		if want := "k,k,k,k2"; strings.Join(got, ",") != want {
			t.Errorf("checkpoint keys %v, want %s", got, want)
		}
	}
	if _, err := auditlog.Open(out.checkpoints[len(out.checkpoints)-1].Checkpoint, note.VerifierList(vs)); err == nil {
		t.Error("the old key alone verified a checkpoint signed after rotation")
	}
}
