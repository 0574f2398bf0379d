package mlgovernanceconnector

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/govaudit/govaudit/internal/record"
)

// Span ids of testdata/duplicate_traces.json.
const (
	dupTraceloop   = "d100000000000002" // OpenLLMetry anthropic.chat, outer
	dupNative1     = "d100000000000003" // Anthropic SDK span inside it
	dupSecondCall  = "d100000000000004" // a later call of the same model, not nested
	dupOpenInf     = "d200000000000002" // OpenInference LLM span, outer
	dupNative2     = "d200000000000003" // Anthropic SDK span inside it
	dupJudge       = "d200000000000004" // another model, same trace
	dupRootT1      = "d100000000000001"
	dupRootT2      = "d200000000000001"
	dupInputTokens = 88 + 88 + 88 + 30 // what the providers reported: four calls
)

// splitTraces returns the spans of td whose ids keep accepts, with their
// resources and scopes.
func splitTraces(td ptrace.Traces, keep func(spanID string) bool) ptrace.Traces {
	out := ptrace.NewTraces()
	td.CopyTo(out)
	rss := out.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			sss.At(j).Spans().RemoveIf(func(s ptrace.Span) bool { return !keep(s.SpanID().String()) })
		}
	}
	return out
}

func bySpanID(recs []record.Record) map[string]record.Record {
	m := map[string]record.Record{}
	for _, r := range recs {
		m[r.SpanID] = r
	}
	return m
}

// checkCountedOnce checks that the records that count (not duplicates) hold
// each model call once: the input tokens the providers reported.
func checkCountedOnce(t *testing.T, recs []record.Record) {
	t.Helper()
	var tokens int64
	for i := range recs {
		r := &recs[i]
		if r.Type == record.TypeInference && !r.IsDuplicate() && r.InputTokens != nil {
			tokens += *r.InputTokens
		}
	}
	assert.Equal(t, int64(dupInputTokens), tokens)
}

func dupFlags(of string) []string {
	return []string{record.FlagDuplicate, record.FlagDuplicateOf + ":span:" + of, record.FlagRedacted}
}

func TestDuplicatesOneBatch(t *testing.T) {
	p := newPipeline(t, goldenConfig())
	require.NoError(t, p.traces.ConsumeTraces(context.Background(), readTraces(t, "duplicate_traces.json")))
	recs := p.records(t)
	got := bySpanID(recs)
	assert.Equal(t, dupFlags(dupTraceloop), got[dupNative1].Flags, "the inner span is the duplicate")
	assert.Equal(t, dupFlags(dupOpenInf), got[dupNative2].Flags)
	for _, s := range []string{dupTraceloop, dupOpenInf, dupSecondCall, dupJudge} {
		r := got[s]
		assert.False(t, r.IsDuplicate(), s)
	}
	// Both records of a pair agree on what was called.
	for _, pair := range [][2]string{{dupTraceloop, dupNative1}, {dupOpenInf, dupNative2}} {
		outer, inner := got[pair[0]], got[pair[1]]
		assert.Equal(t, "anthropic", outer.Provider)
		assert.Equal(t, outer.Provider, inner.Provider)
		assert.Equal(t, []string{"stop"}, inner.FinishReasons, "end_turn normalised")
		assert.Equal(t, "u-dup", inner.UserID)
		assert.NotEmpty(t, inner.InputDigest, "the duplicate keeps its own content")
	}
	assert.Equal(t, "claude-3-5-haiku-latest", got[dupOpenInf].RequestModel, "from llm.invocation_parameters")
	assert.Equal(t, "claude-3-5-haiku-20241022", got[dupOpenInf].ResponseModel)
	assert.Equal(t, []string{"stop"}, got[dupOpenInf].FinishReasons, "llm.finish_reason end_turn")
	assert.Equal(t, "support_agent", got[dupOpenInf].AgentName, "graph.node.id")
	checkCountedOnce(t, recs)
}

// TestDuplicatesAcrossBatches sends the two spans of one call in different
// batches, in both orders. Records are sealed once emitted, so the record
// of the later batch is the one flagged.
func TestDuplicatesAcrossBatches(t *testing.T) {
	td := readTraces(t, "duplicate_traces.json")
	inner := map[string]bool{dupNative1: true, dupNative2: true}
	tests := []struct {
		name       string
		first      func(string) bool
		duplicates map[string]string // span -> span of the record it duplicates
	}{
		{
			// Children end first, so this is the usual order.
			name:       "inner_first",
			first:      func(s string) bool { return inner[s] },
			duplicates: map[string]string{dupTraceloop: dupNative1, dupOpenInf: dupNative2},
		},
		{
			name:       "outer_first",
			first:      func(s string) bool { return !inner[s] },
			duplicates: map[string]string{dupNative1: dupTraceloop, dupNative2: dupOpenInf},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPipeline(t, goldenConfig())
			require.NoError(t, p.traces.ConsumeTraces(context.Background(), splitTraces(td, tt.first)))
			require.NoError(t, p.traces.ConsumeTraces(context.Background(), splitTraces(td, func(s string) bool { return !tt.first(s) })))
			recs := p.records(t)
			require.Len(t, recs, 6) // the two HTTP roots have no ML meaning
			for span, r := range bySpanID(recs) {
				if of, dup := tt.duplicates[span]; dup {
					assert.Equal(t, dupFlags(of), r.Flags, span)
				} else {
					assert.False(t, r.IsDuplicate(), span)
				}
			}
			checkCountedOnce(t, recs)
		})
	}
}

// TestDuplicatesNoCache: without the trace cache, pairs are found within a
// batch only.
func TestDuplicatesNoCache(t *testing.T) {
	cfg := goldenConfig()
	cfg.AttributionCacheSize = 0
	td := readTraces(t, "duplicate_traces.json")
	p := newPipeline(t, cfg)
	require.NoError(t, p.traces.ConsumeTraces(context.Background(), splitTraces(td, func(s string) bool { return s == dupNative1 })))
	require.NoError(t, p.traces.ConsumeTraces(context.Background(), splitTraces(td, func(s string) bool { return s != dupNative1 })))
	got := bySpanID(p.records(t))
	isDup := func(span string) bool { r := got[span]; return r.IsDuplicate() }
	assert.False(t, isDup(dupNative1))
	assert.False(t, isDup(dupTraceloop), "the pair spans two batches")
	assert.True(t, isDup(dupNative2), "this pair is in one batch")
}

func TestSameCall(t *testing.T) {
	base := modelCall{provider: "anthropic", models: [2]string{"claude-3-5-haiku-latest", "claude-3-5-haiku-20241022"}, start: 10, end: 20}
	tests := []struct {
		name  string
		other modelCall
		want  bool
	}{
		{"same", base, true},
		{"response model only", modelCall{provider: "anthropic", models: [2]string{"", "claude-3-5-haiku-20241022"}, start: 5, end: 25}, true},
		{"request matches response", modelCall{provider: "anthropic", models: [2]string{"claude-3-5-haiku-20241022", ""}, start: 5, end: 25}, true},
		{"touching", modelCall{provider: "anthropic", models: base.models, start: 20, end: 30}, true},
		{"after", modelCall{provider: "anthropic", models: base.models, start: 21, end: 30}, false},
		{"other provider", modelCall{provider: "aws.bedrock", models: base.models, start: 10, end: 20}, false},
		{"other model", modelCall{provider: "anthropic", models: [2]string{"claude-3-5-sonnet-latest", ""}, start: 10, end: 20}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, base.sameCall(&tt.other))
			assert.Equal(t, tt.want, tt.other.sameCall(&base), "symmetric")
		})
	}
}

// TestDuplicatesCaptured reads spans captured from @anthropic-ai/sdk 1.14
// under Traceloop's and OpenInference's instrumentation (testdata/capture):
// each call has two records, one flagged, and the records that count hold
// the tokens the (fake) API reported once.
func TestDuplicatesCaptured(t *testing.T) {
	p := newPipeline(t, keyedDefaultConfig())
	require.NoError(t, p.traces.ConsumeTraces(context.Background(), readTraces(t, "anthropic_captured_traces.json")))
	recs := p.records(t)
	require.Len(t, recs, 4, "two instrumentations, two calls; the app's HTTP spans have no ML meaning")
	var counted, flagged int
	var in, out int64
	for i := range recs {
		r := &recs[i]
		assert.Equal(t, "anthropic", r.Provider)
		assert.Equal(t, "claude-3-5-haiku-latest", r.RequestModel)
		assert.Equal(t, "claude-3-5-haiku-20241022", r.ResponseModel)
		assert.Equal(t, []string{"stop"}, r.FinishReasons, r.EventName)
		assert.Equal(t, "u-dup", r.UserID)
		if r.IsDuplicate() {
			flagged++
			assert.Equal(t, "anthropic.messages.create", r.EventName, "the SDK's span is the inner one")
			continue
		}
		counted++
		in += *r.InputTokens
		out += *r.OutputTokens
	}
	assert.Equal(t, 2, counted)
	assert.Equal(t, 2, flagged)
	assert.Equal(t, int64(2*88), in)
	assert.Equal(t, int64(2*20), out)
}

func TestTraceCacheBoundsCalls(t *testing.T) {
	c, err := newTraceCache(2)
	require.NoError(t, err)
	trace := pcommon.TraceID{1}
	for i := 0; i < maxCallsPerTrace+8; i++ {
		c.rememberCalls(trace, []modelCall{{span: pcommon.SpanID{byte(i)}, id: fmt.Sprint(i)}})
	}
	calls := c.modelCalls(trace)
	require.Len(t, calls, maxCallsPerTrace)
	assert.Equal(t, "8", calls[0].id, "the oldest are forgotten first")
	c.remember(trace, attribution{user: "u"})
	assert.Len(t, c.modelCalls(trace), maxCallsPerTrace, "attribution and calls share the entry")
	var nilCache *traceCache
	nilCache.rememberCalls(trace, calls)
	assert.Nil(t, nilCache.modelCalls(trace))
}

// TestDuplicatesSingleCallPath checks that a trace's only model call in a
// batch, which markDuplicates handles without its maps, gets the flags the
// general path gives it: run alone and beside an unrelated call of another
// provider in the same trace (which takes the general path), including
// hostile parent cycles.
func TestDuplicatesSingleCallPath(t *testing.T) {
	trace := pcommon.TraceID{1}
	a, x := pcommon.SpanID{0xa}, pcommon.SpanID{0xb}
	call := modelCall{span: a, provider: "openai", models: [2]string{"gpt-4o", ""}, start: 1, end: 2, id: "span:a"}
	other := modelCall{span: pcommon.SpanID{0xc}, provider: "anthropic", models: [2]string{"claude", ""}, start: 1, end: 2, id: "span:c"}
	for _, tc := range []struct {
		name   string
		parent pcommon.SpanID
		idx    batchIndex
		dup    bool
	}{
		{name: "root", dup: false},
		{name: "unknown parent", parent: x, dup: false},
		{name: "parent not a call", parent: x, idx: batchIndex{{trace, x}: {}}, dup: false},
		{name: "own parent", parent: a, dup: true},
		{name: "cycle through a span", parent: x, idx: batchIndex{{trace, x}: {parent: a}, {trace, a}: {parent: x}}, dup: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var flags [2][]string
			for i, withOther := range []bool{false, true} {
				g := &governor{}
				c := call
				c.parent = tc.parent
				p := &pending{rec: record.Record{Type: record.TypeInference}, trace: trace, call: c, isCall: true}
				recs := []*pending{p}
				if withOther {
					recs = append(recs, &pending{rec: record.Record{Type: record.TypeInference}, trace: trace, call: other, isCall: true})
				}
				g.markDuplicates(recs, tc.idx)
				assert.Equal(t, tc.dup, p.call.duplicate, "with another call: %v", withOther)
				flags[i] = p.rec.Flags
			}
			assert.Equal(t, flags[0], flags[1], "both paths flag alike")
		})
	}
}
