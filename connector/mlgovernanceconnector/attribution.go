package mlgovernanceconnector // import "github.com/govaudit/govaudit/connector/mlgovernanceconnector"

import (
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Attribution keys, most specific first: the OTel user.id / session.id
// (also OpenInference's), the deprecated enduser.id, OpenLLMetry's
// association properties and the OpenAI "user" request parameter that
// OpenLLMetry records as llm.user.
var (
	userKeys    = []string{"user.id", "enduser.id", "traceloop.association.properties.user_id", "llm.user"}
	sessionKeys = []string{"session.id", "traceloop.association.properties.session_id"}
	tenantKeys  = []string{"tenant.id", "traceloop.association.properties.tenant_id"}
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

// traceCache remembers the attribution of recent traces, so spans and
// events arriving in a later batch than their annotated ancestor are
// attributed. Parents usually end, and are exported, after their children,
// so this cannot catch every case: govaudit query --user also joins
// through trace ids. A nil traceCache remembers nothing.
type traceCache struct {
	lru *lru.Cache[pcommon.TraceID, attribution]
}

func newTraceCache(size int) (*traceCache, error) {
	if size == 0 {
		return nil, nil
	}
	c, err := lru.New[pcommon.TraceID, attribution](size)
	if err != nil {
		return nil, err
	}
	return &traceCache{lru: c}, nil
}

func (c *traceCache) get(trace pcommon.TraceID) attribution {
	if c == nil || trace.IsEmpty() {
		return attribution{}
	}
	a, _ := c.lru.Get(trace)
	return a
}

// remember merges a into the trace's entry; values already known win.
func (c *traceCache) remember(trace pcommon.TraceID, a attribution) {
	if c == nil || trace.IsEmpty() || a.empty() {
		return
	}
	old, ok := c.lru.Get(trace)
	if ok {
		merged := old
		merged.fill(a)
		if merged == old {
			return
		}
		a = merged
	}
	c.lru.Add(trace, a)
}
