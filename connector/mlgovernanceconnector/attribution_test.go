package mlgovernanceconnector

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var (
	traceA  = pcommon.TraceID{0xa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	rootID  = pcommon.SpanID{1, 1, 1, 1, 1, 1, 1, 1}
	midID   = pcommon.SpanID{2, 2, 2, 2, 2, 2, 2, 2}
	childID = pcommon.SpanID{3, 3, 3, 3, 3, 3, 3, 3}
)

// appendSpan adds a span to td (one resource, one scope) and returns it.
func appendSpan(td ptrace.Traces, trace pcommon.TraceID, id, parent pcommon.SpanID) ptrace.Span {
	if td.ResourceSpans().Len() == 0 {
		td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	}
	s := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
	s.SetTraceID(trace)
	s.SetSpanID(id)
	s.SetParentSpanID(parent)
	return s
}

func rootSpan(td ptrace.Traces) {
	s := appendSpan(td, traceA, rootID, pcommon.SpanID{})
	s.SetName("POST /chat")
	s.Attributes().PutStr("http.request.method", "POST")
	s.Attributes().PutStr("user.id", "u-1")
	s.Attributes().PutStr("session.id", "s-1")
}

func chatSpan(td ptrace.Traces, id, parent pcommon.SpanID) {
	s := appendSpan(td, traceA, id, parent)
	s.SetName("chat")
	s.Attributes().PutStr("gen_ai.operation.name", "chat")
	s.Attributes().PutStr("gen_ai.request.model", "m")
}

func TestAttributionThroughAncestorsInBatch(t *testing.T) {
	p := newPipeline(t, keyedDefaultConfig())
	td := ptrace.NewTraces()
	chatSpan(td, childID, midID) // children end, and are listed, first
	mid := appendSpan(td, traceA, midID, rootID)
	mid.Attributes().PutStr("tenant.id", "t-1") // a non-ML middle span
	rootSpan(td)
	require.NoError(t, p.traces.ConsumeTraces(context.Background(), td))
	recs := p.records(t)
	require.Len(t, recs, 1, "only the chat span is an ML span")
	assert.Equal(t, "u-1", recs[0].UserID)
	assert.Equal(t, "s-1", recs[0].SessionID)
	assert.Equal(t, "t-1", recs[0].TenantID)
}

func TestAttributionAcrossBatches(t *testing.T) {
	tests := []struct {
		name      string
		cacheSize int
		parentFst bool
		wantUser  string
	}{
		{"parent first, cache", 100, true, "u-1"},
		{"parent first, no cache", 0, true, ""},
		// The usual order: the parent ends after its child. The child
		// record cannot be attributed; govaudit query --user joins
		// through the trace id instead.
		{"child first", 100, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := keyedDefaultConfig()
			cfg.AttributionCacheSize = tt.cacheSize
			p := newPipeline(t, cfg)
			parent, child := ptrace.NewTraces(), ptrace.NewTraces()
			rootSpan(parent)
			chatSpan(child, childID, rootID)
			batches := []ptrace.Traces{child, parent}
			if tt.parentFst {
				batches = []ptrace.Traces{parent, child}
			}
			for _, td := range batches {
				require.NoError(t, p.traces.ConsumeTraces(context.Background(), td))
			}
			recs := p.records(t)
			require.Len(t, recs, 1)
			assert.Equal(t, tt.wantUser, recs[0].UserID)
		})
	}
}

// TestEventAttributedFromSpans: the logs side uses the cache the traces side filled.
func TestEventAttributedFromSpans(t *testing.T) {
	p := newPipeline(t, keyedDefaultConfig())
	td := ptrace.NewTraces()
	rootSpan(td)
	require.NoError(t, p.traces.ConsumeTraces(context.Background(), td))

	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("gen_ai.user.message")
	lr.SetTraceID(traceA)
	lr.SetSpanID(childID)
	lr.Body().SetEmptyMap().PutStr("content", "hi")
	require.NoError(t, p.logs.ConsumeLogs(context.Background(), ld))
	recs := p.records(t)
	require.Len(t, recs, 1)
	assert.Equal(t, "u-1", recs[0].UserID)
	assert.Equal(t, "s-1", recs[0].SessionID)
	assert.Empty(t, recs[0].Flags)
}

func TestAttributionFromResource(t *testing.T) {
	p := newPipeline(t, keyedDefaultConfig())
	td := ptrace.NewTraces()
	chatSpan(td, childID, pcommon.SpanID{})
	td.ResourceSpans().At(0).Resource().Attributes().PutStr("tenant.id", "from-resource")
	td.ResourceSpans().At(0).Resource().Attributes().PutStr("user.id", "svc-user")
	span := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	span.Attributes().PutStr("user.id", "span-user")
	require.NoError(t, p.traces.ConsumeTraces(context.Background(), td))
	recs := p.records(t)
	require.Len(t, recs, 1)
	assert.Equal(t, "span-user", recs[0].UserID, "the span wins over its resource")
	assert.Equal(t, "from-resource", recs[0].TenantID)
}

func TestTraceCacheEvicts(t *testing.T) {
	c, err := newTraceCache(2)
	require.NoError(t, err)
	for i := byte(1); i <= 3; i++ {
		c.remember(pcommon.TraceID{i}, attribution{user: string('a' + rune(i))})
	}
	assert.Equal(t, attribution{}, c.get(pcommon.TraceID{1}), "least recently used is evicted")
	assert.Equal(t, "d", c.get(pcommon.TraceID{3}).user)
	c.remember(pcommon.TraceID{3}, attribution{user: "other", session: "s"})
	assert.Equal(t, attribution{user: "d", session: "s"}, c.get(pcommon.TraceID{3}), "known values win, gaps are filled")
}

// TestConcurrentSides consumes on both sides at once, as the collector may;
// run with -race.
func TestConcurrentSides(t *testing.T) {
	p := newPipeline(t, keyedDefaultConfig())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			assert.NoError(t, p.logs.ConsumeLogs(context.Background(), readLogs(t, "genai_logs.json")))
		}
	}()
	for range 20 {
		require.NoError(t, p.traces.ConsumeTraces(context.Background(), readTraces(t, "genai_traces.json")))
	}
	<-done
	assert.Equal(t, 20*5+20*6, p.sink.LogRecordCount())
}
