package mlgovernanceconnector // import "github.com/govaudit/govaudit/connector/mlgovernanceconnector"

import (
	"sort"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/govaudit/govaudit/internal/record"
)

// One model call, two spans. An application instrumented twice gets two
// nested spans per provider call: since @anthropic-ai/sdk 0.13x the SDK
// emits its own anthropic.messages.create span under the span of
// OpenLLMetry or OpenInference; a LangChain app may have an OpenInference
// LLM span around the official OpenAI instrumentation's chat span. Both
// records are kept (each instrumentation captures different fields), but
// one is flagged "duplicate" and "duplicate_of:<record_id>" of the other,
// and counts of decisions skip it (record.IsDuplicate).
//
// Two records are the same call when they are in the same trace, one span
// is an ancestor of the other, both are inference or embedding records of
// the same provider (normalised) with a model in common (request or
// response), and their times overlap. The inner one is flagged when both
// arrive in one batch, or when the outer one arrived first. Records are
// sealed once emitted, so when the inner span arrived in an earlier batch
// (children usually end, and are exported, first), the outer one is
// flagged instead: either way one record of the pair counts the call.

// A modelCall is what is remembered of a model call record to find its
// duplicates, in the same batch or, through the trace cache, a later one.
type modelCall struct {
	span, parent pcommon.SpanID
	provider     string
	models       [2]string // request, response model
	start, end   int64
	id           string // record_id
	duplicate    bool
}

func newModelCall(r *record.Record, span, parent pcommon.SpanID) (modelCall, bool) {
	if r.Type != record.TypeInference && r.Type != record.TypeEmbedding ||
		r.Provider == "" || r.RequestModel == "" && r.ResponseModel == "" ||
		r.StartTime == 0 || r.EndTime == 0 || span.IsEmpty() {
		return modelCall{}, false
	}
	return modelCall{span: span, parent: parent, provider: r.Provider, models: [2]string{r.RequestModel, r.ResponseModel},
		start: r.StartTime, end: r.EndTime, id: r.ID}, true
}

// sameCall reports whether a and b may describe one model call (all but the
// nesting, which needs the trace).
func (a *modelCall) sameCall(b *modelCall) bool {
	if a.provider != b.provider || a.start > b.end || b.start > a.end {
		return false
	}
	for _, m := range a.models {
		if m != "" && (m == b.models[0] || m == b.models[1]) {
			return true
		}
	}
	return false
}

// A pending record waits in tracesToRecords until the batch's duplicates
// are known.
type pending struct {
	rec    record.Record
	trace  pcommon.TraceID
	call   modelCall
	isCall bool
}

// markDuplicates flags the duplicate model calls among recs, the records of
// one batch, against each other and the calls remembered from earlier
// batches of their traces, then remembers the batch's calls.
func (g *governor) markDuplicates(recs []*pending, idx batchIndex) {
	byTrace := map[pcommon.TraceID][]*pending{}
	for _, p := range recs {
		if p.isCall {
			byTrace[p.trace] = append(byTrace[p.trace], p)
		}
	}
	for trace, calls := range byTrace {
		cached := g.traces.modelCalls(trace)
		if len(calls) == 1 && len(cached) == 0 {
			// The common case: one model call of its trace in the batch
			// and none remembered. It can only be an ancestor of itself
			// (a parent cycle), which the general path below also finds;
			// walking idx alone spares its maps and closures (four
			// allocations per trace).
			p := calls[0]
			s, ok := p.call.parent, !p.call.parent.IsEmpty()
			for n := 0; ok && n < maxAncestors && !s.IsEmpty(); n++ {
				if s == p.call.span && p.call.sameCall(&p.call) {
					markDuplicate(p, p.call.id)
					break
				}
				var node spanNode
				node, ok = idx[spanKey{trace, s}]
				s = node.parent
			}
			g.traces.rememberCalls(trace, []modelCall{p.call})
			continue
		}
		cachedBySpan := make(map[pcommon.SpanID]*modelCall, len(cached))
		for i := range cached {
			cachedBySpan[cached[i].span] = &cached[i]
		}
		batch := make(map[pcommon.SpanID]*pending, len(calls))
		for _, p := range calls {
			batch[p.call.span] = p
		}
		// parentOf follows the batch's spans (ML or not), then the
		// remembered calls.
		parentOf := func(s pcommon.SpanID) (pcommon.SpanID, bool) {
			if n, ok := idx[spanKey{trace, s}]; ok {
				return n.parent, true
			}
			if c, ok := cachedBySpan[s]; ok {
				return c.parent, true
			}
			return pcommon.SpanID{}, false
		}
		isAncestor := func(anc, s pcommon.SpanID) bool {
			p, ok := parentOf(s)
			for n := 0; ok && n < maxAncestors && !p.IsEmpty(); n++ {
				if p == anc {
					return true
				}
				p, ok = parentOf(p)
			}
			return false
		}
		for _, p := range calls {
			if of := outerCall(&p.call, batch, cachedBySpan, parentOf); of != "" {
				markDuplicate(p, of)
				continue
			}
			// The inner span arrived in an earlier batch: its record is
			// sealed, so this (outer) one is the duplicate. Prefer a
			// record that counts.
			var of *modelCall
			for i := range cached {
				c := &cached[i]
				if _, inBatch := batch[c.span]; inBatch || !p.call.sameCall(c) || !isAncestor(p.call.span, c.span) {
					continue
				}
				if of == nil || of.duplicate && !c.duplicate {
					of = c
				}
			}
			if of != nil {
				markDuplicate(p, of.id)
			}
		}
		remembered := make([]modelCall, 0, len(calls))
		for _, p := range calls {
			remembered = append(remembered, p.call)
		}
		g.traces.rememberCalls(trace, remembered)
	}
}

// outerCall returns the record id of the nearest ancestor of c, in the batch
// or remembered, that is the same model call, or "".
func outerCall(c *modelCall, batch map[pcommon.SpanID]*pending, cached map[pcommon.SpanID]*modelCall, parentOf func(pcommon.SpanID) (pcommon.SpanID, bool)) string {
	s, ok := c.parent, !c.parent.IsEmpty()
	for n := 0; ok && n < maxAncestors && !s.IsEmpty(); n++ {
		if p, in := batch[s]; in && c.sameCall(&p.call) {
			return p.call.id
		}
		if m, in := cached[s]; in && c.sameCall(m) {
			return m.id
		}
		s, ok = parentOf(s)
	}
	return ""
}

// markDuplicate flags p as a duplicate of record id.
func markDuplicate(p *pending, id string) {
	p.call.duplicate = true
	r := &p.rec
	r.Flags = append(r.Flags, record.FlagDuplicate, record.FieldFlag(record.FlagDuplicateOf, id))
	r.ApplyCaps()
	sort.Strings(r.Flags)
}
