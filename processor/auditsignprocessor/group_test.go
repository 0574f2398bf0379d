package auditsignprocessor

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/processor/auditsignprocessor/internal/metadatatest"
)

// gateConsumer records what it accepts. While closed, a call carrying
// leaves blocks until the gate opens; refuse, if set, decides each call's
// result.
type gateConsumer struct {
	consumertest.LogsSink
	mu      sync.Mutex
	closed  bool
	open    chan struct{}
	blocked chan struct{} // receives when a call blocks
	refuse  func(ld plog.Logs) error
	calls   []plog.Logs // every call, accepted or not, leaves only
}

func newGate() *gateConsumer {
	return &gateConsumer{open: make(chan struct{}), blocked: make(chan struct{}, 16)}
}

func (g *gateConsumer) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed, g.open = true, make(chan struct{})
}

func (g *gateConsumer) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		g.closed = false
		close(g.open)
	}
}

func hasLeaves(ld plog.Logs) bool {
	found := false
	forEach(ld, func(lr plog.LogRecord) {
		if v, ok := lr.Attributes().Get("govaudit.record_type"); ok && v.Str() != "checkpoint" {
			found = true
		}
	})
	return found
}

func forEach(ld plog.Logs, f func(plog.LogRecord)) {
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				f(lrs.At(k))
			}
		}
	}
}

func (g *gateConsumer) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	leaves := hasLeaves(ld)
	g.mu.Lock()
	open, closed, refuse := g.open, g.closed, g.refuse
	if leaves {
		g.calls = append(g.calls, ld)
	}
	g.mu.Unlock()
	if leaves && closed {
		g.blocked <- struct{}{}
		<-open
	}
	if refuse != nil {
		if err := refuse(ld); err != nil {
			return err
		}
	}
	return g.LogsSink.ConsumeLogs(ctx, ld)
}

func (*gateConsumer) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (g *gateConsumer) leafCalls() []plog.Logs {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]plog.Logs(nil), g.calls...)
}

func (p *auditSign) queued() int {
	p.qmu.Lock()
	defer p.qmu.Unlock()
	return len(p.queue)
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// send starts ConsumeLogs of ld in a goroutine; the channel receives its
// result.
func send(ctx context.Context, p *auditSign, ld plog.Logs) <-chan error {
	c := make(chan error, 1)
	go func() { c <- p.ConsumeLogs(ctx, ld) }()
	return c
}

// inputs returns the Input field of every leaf in ld, in order.
func inputs(t *testing.T, ld plog.Logs) []string {
	var out []string
	for _, r := range decodeAll(t, []plog.Logs{ld}).leaves {
		out = append(out, r.Input)
	}
	return out
}

// queueBehind holds a release in flight (a, blocked downstream) and queues
// the batches of bs behind it in that order; it returns their result
// channels, a's first.
func queueBehind(t *testing.T, p *auditSign, g *gateConsumer, ctxs []context.Context, a plog.Logs, bs ...plog.Logs) []<-chan error {
	t.Helper()
	g.close()
	res := []<-chan error{send(context.Background(), p, a)}
	<-g.blocked // a is downstream
	for i, b := range bs {
		ctx := context.Background()
		if ctxs != nil && ctxs[i] != nil {
			ctx = ctxs[i]
		}
		res = append(res, send(ctx, p, b))
		waitFor(t, "request queued", func() bool { return p.queued() == i+1 })
	}
	return res
}

// Requests that arrive while a release is in flight are released together,
// as one downstream batch, their leaves in arrival order; each is
// acknowledged with the batch.
func TestGroupCommitOrder(t *testing.T) {
	key, vs := writeKey(t, "k", 0o600)
	g := newGate()
	tt := componenttest.NewTelemetry()
	defer func() { _ = tt.Shutdown(context.Background()) }()
	set := nopSettings()
	set.TelemetrySettings = tt.NewTelemetrySettings()
	p := newProcessor(t, set, testConfig(key, true, 0), g)
	if err := p.Start(context.Background(), startFileStorage(t, t.TempDir())); err != nil {
		t.Fatal(err)
	}
	res := queueBehind(t, p, g, nil, batch(2, "A"), batch(3, "B"), batch(1, "C"), batch(2, "D"))
	g.release()
	for i, c := range res {
		if err := <-c; err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	calls := g.leafCalls()
	// The epoch start record, A, then B, C and D as one batch.
	if len(calls) != 3 {
		t.Fatalf("%d downstream batches with leaves, want 3 (start, A, B+C+D)", len(calls))
	}
	got := strings.Join(inputs(t, calls[2]), ",")
	want := "B prompt 0,B prompt 1,B prompt 2,C prompt 0,D prompt 0,D prompt 1"
	if got != want {
		t.Fatalf("grouped batch holds %s, want %s", got, want)
	}
	leaves := decodeAll(t, calls[2:]).leaves
	for i, r := range leaves {
		if r.LeafIndex != uint64(3+i) { // after the start record and A's 2
			t.Fatalf("grouped leaf %d (%s) has index %d, want %d: tree order must be release order", i, r.Input, r.LeafIndex, 3+i)
		}
	}
	// Two releases: A alone, then B, C and D together.
	metadatatest.AssertEqualAuditsignGroupRequests(t, tt, []metricdata.HistogramDataPoint[int64]{{
		Count: 2, Sum: 4, Bounds: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		BucketCounts: []uint64{1, 0, 1, 0, 0, 0, 0, 0, 0}, Min: metricdata.NewExtrema[int64](1), Max: metricdata.NewExtrema[int64](3),
	}}, metricdatatest.IgnoreTimestamp())
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	verify(t, decodeAll(t, g.AllLogs()), note.VerifierList(vs))
}

// A group refused downstream fails every request in it and ends the epoch
// as a refused single request does: the next epoch's start record names the
// tree head including the whole refused group.
func TestGroupCommitRefused(t *testing.T) {
	key, vs := writeKey(t, "k", 0o600)
	g := newGate()
	p := startProcessor(t, testConfig(key, true, 0), startFileStorage(t, t.TempDir()), g)
	e1 := p.epoch
	g.refuse = func(ld plog.Logs) error {
		for _, in := range inputs(t, ld) {
			if strings.HasPrefix(in, "B") {
				return errors.New("archive unavailable")
			}
		}
		return nil
	}
	res := queueBehind(t, p, g, nil, batch(2, "A"), batch(3, "B"), batch(4, "C"))
	g.release()
	if err := <-res[0]; err != nil {
		t.Fatalf("A: %v", err)
	}
	for i, c := range res[1:] {
		if err := <-c; err == nil || !strings.Contains(err.Error(), "archive unavailable") {
			t.Fatalf("request %d of the refused group: %v, want the downstream error", i+1, err)
		}
	}
	if p.epoch == e1 {
		t.Fatal("the refused group did not end the epoch")
	}
	if err := p.ConsumeLogs(context.Background(), batch(1, "D")); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := decodeAll(t, g.AllLogs())
	verify(t, out, note.VerifierList(vs))
	for _, r := range out.leaves {
		if strings.HasPrefix(r.Input, "B") || strings.HasPrefix(r.Input, "C") {
			t.Fatalf("record %q of the refused group was accepted", r.Input)
		}
	}
	start := out.epochs()[logKey{p.origin, p.epoch}][0]
	link, err := auditlog.ParseEpochLink(start.Attributes)
	if err != nil {
		t.Fatal(err)
	}
	// Start record + A = 3 acknowledged; + B and C = 10 released.
	if link.Reason != reasonDownstreamError || link.Acknowledged.Size != 3 || link.Released.Size != 10 {
		t.Fatalf("link = %s, acknowledged %d, released %d; want downstream_error, 3, 10", link.Reason, link.Acknowledged.Size, link.Released.Size)
	}
}

// A request whose context ends while it waits in the queue leaves it: none
// of its records is released, the others are.
func TestGroupCommitCancelledWhileQueued(t *testing.T) {
	key, vs := writeKey(t, "k", 0o600)
	g := newGate()
	p := startProcessor(t, testConfig(key, true, 0), startFileStorage(t, t.TempDir()), g)
	ctx, cancel := context.WithCancel(context.Background())
	res := queueBehind(t, p, g, []context.Context{ctx, nil}, batch(1, "A"), batch(2, "B"), batch(2, "C"))
	cancel()
	if err := <-res[1]; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: %v, want context.Canceled", err)
	}
	if n := p.queued(); n != 1 {
		t.Fatalf("%d requests queued after the cancellation, want 1", n)
	}
	g.release()
	for _, i := range []int{0, 2} {
		if err := <-res[i]; err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := decodeAll(t, g.AllLogs())
	verify(t, out, note.VerifierList(vs))
	var got []string
	for _, r := range out.leaves {
		got = append(got, r.Input)
		if strings.HasPrefix(r.Input, "B") {
			t.Fatalf("record %q of the cancelled request was released", r.Input)
		}
	}
	if len(got) != 4 { // start, A, C, C
		t.Fatalf("released %v, want the start record, A's and C's", got)
	}
}

// A group holds at most limits.records records and limits.bytes bytes; a
// request above a limit goes alone, never split.
func TestGroupLimits(t *testing.T) {
	key, _ := writeKey(t, "k", 0o600)
	for _, c := range []struct {
		name   string
		limits groupLimits
		sizes  []int // requests queued behind the one in flight
		want   []int // leaves per downstream batch after it
	}{
		{"records", groupLimits{records: 10, bytes: 1 << 30}, []int{6, 3, 4, 20, 1}, []int{9, 4, 20, 1}},
		{"bytes", groupLimits{records: 1 << 20, bytes: 1}, []int{2, 2, 3}, []int{2, 2, 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newGate()
			p := startProcessor(t, testConfig(key, false, time.Hour), nil, g)
			p.limits = c.limits
			var lds []plog.Logs
			for _, n := range c.sizes {
				lds = append(lds, batch(n, "x"))
			}
			res := queueBehind(t, p, g, nil, batch(1, "first"), lds...)
			g.release()
			for _, r := range res {
				if err := <-r; err != nil {
					t.Fatal(err)
				}
			}
			var got []int
			for _, ld := range g.leafCalls()[2:] { // after the start record and "first"
				got = append(got, ld.LogRecordCount())
			}
			if !equalInts(got, c.want) {
				t.Fatalf("downstream batches of %v records, want %v", got, c.want)
			}
			if err := p.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func equalInts(a, b []int) bool {
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

// Shutdown while requests are queued: they are refused, never released.
func TestGroupCommitAfterShutdown(t *testing.T) {
	key, _ := writeKey(t, "k", 0o600)
	g := newGate()
	p := startProcessor(t, testConfig(key, false, time.Hour), nil, g)
	res := queueBehind(t, p, g, nil, batch(1, "A"), batch(2, "B"))
	done := make(chan error, 1)
	go func() { done <- p.Shutdown(context.Background()) }() // waits for A's release
	g.release()
	if err := <-res[0]; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	err := <-res[1]
	if err != nil && !errors.Is(err, errNotRunning) {
		t.Fatalf("request queued at shutdown: %v", err)
	}
	if err == nil {
		// It was released before Shutdown took the lock: then it must be
		// downstream.
		found := false
		for _, ld := range g.AllLogs() {
			for _, in := range inputs(t, ld) {
				found = found || strings.HasPrefix(in, "B")
			}
		}
		if !found {
			t.Fatal("a request acknowledged at shutdown is not downstream")
		}
	}
}
