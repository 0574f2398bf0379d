package mlgovernanceconnector // import "github.com/govaudit/govaudit/connector/mlgovernanceconnector"

import (
	"strings"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Attribution keys, most specific first: the OTel user.id / session.id
// (also OpenInference's), the deprecated enduser.id, OpenLLMetry's
// association properties, the OpenAI "user" request parameter that
// OpenLLMetry records as llm.user, and the Vercel AI SDK's telemetry
// metadata (experimental_telemetry.metadata: the AI SDK documents no key,
// so the spellings applications use: userId, userID, user_id).
var (
	userKeys = []string{"user.id", "enduser.id", "traceloop.association.properties.user_id", "llm.user",
		"ai.telemetry.metadata.userId", "ai.telemetry.metadata.userID", "ai.telemetry.metadata.user_id"}
	sessionKeys = []string{"session.id", "traceloop.association.properties.session_id",
		"ai.telemetry.metadata.sessionId", "ai.telemetry.metadata.sessionID", "ai.telemetry.metadata.session_id"}
	tenantKeys = []string{"tenant.id", "traceloop.association.properties.tenant_id",
		"ai.telemetry.metadata.tenantId", "ai.telemetry.metadata.tenantID", "ai.telemetry.metadata.tenant_id"}
)

// attribution is who a record is about.
type attribution struct {
	user, session, tenant string
}

func (a attribution) complete() bool { return a.user != "" && a.session != "" && a.tenant != "" }
func (a attribution) empty() bool    { return a == attribution{} }

// fill sets a's empty fields from o.
func (a *attribution) fill(o attribution) {
	set(&a.user, o.user)
	set(&a.session, o.session)
	set(&a.tenant, o.tenant)
}

// readAttribution reads the attribution keys of attrs without consuming them.
func readAttribution(attrs pcommon.Map) attribution {
	first := func(keys []string) string {
		for _, k := range keys {
			if v, ok := attrs.Get(k); ok {
				if s := v.AsString(); s != "" {
					return strings.ToValidUTF8(s, "\uFFFD")
				}
			}
		}
		return ""
	}
	return attribution{user: first(userKeys), session: first(sessionKeys), tenant: first(tenantKeys)}
}

// takeAttribution reads the span's own attribution into the record fields,
// consuming the keys used.
func (b *builder) takeAttribution() {
	b.take(&b.rec.UserID, userKeys...)
	b.take(&b.rec.SessionID, sessionKeys...)
	b.take(&b.rec.TenantID, tenantKeys...)
}

// spanKey identifies a span across the resources of one batch.
type spanKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

type spanNode struct {
	parent pcommon.SpanID
	attr   attribution
}

// batchIndex holds every span of a batch, ML or not, with its parent and
// own attribution: instrumentations usually set user.id only on the
// application's (non-ML) parent span.
type batchIndex map[spanKey]spanNode

func indexSpans(td ptrace.Traces) batchIndex {
	idx := batchIndex{}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				s := spans.At(k)
				idx[spanKey{s.TraceID(), s.SpanID()}] = spanNode{parent: s.ParentSpanID(), attr: readAttribution(s.Attributes())}
			}
		}
	}
	return idx
}

// maxAncestors bounds the walk up the tree (and breaks parent cycles in bad input).
const maxAncestors = 64

// ancestors returns the attribution found on the ancestors of a span whose
// parent is parent, nearest first.
func (idx batchIndex) ancestors(trace pcommon.TraceID, parent pcommon.SpanID) attribution {
	var a attribution
	for n := 0; n < maxAncestors && !parent.IsEmpty() && !a.complete(); n++ {
		node, ok := idx[spanKey{trace, parent}]
		if !ok {
			break
		}
		a.fill(node.attr)
		parent = node.parent
	}
	return a
}

// traceCache remembers, per recent trace, its attribution, so spans and
// events arriving in a later batch than their annotated ancestor are
// attributed, and its model calls, so a call seen by two instrumentations
// in different batches is recorded as a duplicate (duplicates.go). Parents
// usually end, and are exported, after their children, so this cannot catch
// every attribution: govaudit query --user also joins through trace ids. A
// nil traceCache remembers nothing.
type traceCache struct {
	// mu makes each read-modify-write of an entry atomic: both pipelines
	// and concurrent batches share the cache.
	mu  sync.Mutex
	lru *lru.Cache[pcommon.TraceID, *traceState]
}

// traceState is what the cache holds for one trace.
type traceState struct {
	attr  attribution
	calls []modelCall // oldest first, at most maxCallsPerTrace
}

func newTraceCache(size int) (*traceCache, error) {
	if size == 0 {
		return nil, nil
	}
	c, err := lru.New[pcommon.TraceID, *traceState](size)
	if err != nil {
		return nil, err
	}
	return &traceCache{lru: c}, nil
}

func (c *traceCache) get(trace pcommon.TraceID) attribution {
	if c == nil || trace.IsEmpty() {
		return attribution{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.lru.Get(trace); ok {
		return st.attr
	}
	return attribution{}
}

// remember merges a into the trace's entry; values already known win.
func (c *traceCache) remember(trace pcommon.TraceID, a attribution) {
	if c == nil || trace.IsEmpty() || a.empty() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.lru.Get(trace); ok {
		st.attr.fill(a)
		return
	}
	c.lru.Add(trace, &traceState{attr: a})
}

// maxCallsPerTrace bounds the model calls remembered per trace (an agent
// loop may make hundreds); the oldest are forgotten first. The two spans of
// one call end within milliseconds of each other, so recent calls are the
// ones that matter. A call is about 200 bytes: with the default 10000
// traces, at most about 64 MiB.
const maxCallsPerTrace = 32

// modelCalls returns a copy of the model calls remembered for trace.
func (c *traceCache) modelCalls(trace pcommon.TraceID) []modelCall {
	if c == nil || trace.IsEmpty() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.lru.Get(trace); ok {
		return append([]modelCall(nil), st.calls...)
	}
	return nil
}

// rememberCalls appends calls to the trace's entry.
func (c *traceCache) rememberCalls(trace pcommon.TraceID, calls []modelCall) {
	if c == nil || trace.IsEmpty() || len(calls) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.lru.Get(trace)
	if !ok {
		st = &traceState{}
		c.lru.Add(trace, st)
	}
	st.calls = append(st.calls, calls...)
	if n := len(st.calls) - maxCallsPerTrace; n > 0 {
		st.calls = append(st.calls[:0:0], st.calls[n:]...)
	}
}
