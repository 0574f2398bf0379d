package mlgovernanceconnector // import "github.com/govaudit/govaudit/connector/mlgovernanceconnector"

import (
	"context"
	"sort"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/capture"
	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/metadata"
	"github.com/govaudit/govaudit/internal/record"
)

// A governor turns spans and events into governance records. One governor
// serves both signals of a component (see factory.go), so events in the
// logs pipeline are attributed from spans seen in the traces pipeline.
type governor struct {
	cfg *Config
	// openInferenceKinds is the set of cfg.OpenInferenceSpanKinds.
	openInferenceKinds map[string]bool
	policy             *capture.Policy
	traces             *traceCache
	telemetry          *metadata.TelemetryBuilder
	logger             *zap.Logger
	now                func() time.Time
}

func newGovernor(cfg *Config, set component.TelemetrySettings) (*governor, error) {
	policy, err := capture.New(cfg.Capture)
	if err != nil {
		return nil, err
	}
	cache, err := newTraceCache(cfg.AttributionCacheSize)
	if err != nil {
		return nil, err
	}
	tel, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	kinds := make(map[string]bool, len(cfg.OpenInferenceSpanKinds))
	for _, k := range cfg.OpenInferenceSpanKinds {
		kinds[k] = true
	}
	return &governor{cfg: cfg, openInferenceKinds: kinds, policy: policy, traces: cache, telemetry: tel, logger: set.Logger, now: time.Now}, nil
}

// resourceInfo is what every record of one resource shares, computed once.
type resourceInfo struct {
	serviceName, serviceVersion, environment string
	json                                     string
	flags                                    []string
	attr                                     attribution
}

func (g *governor) resource(res pcommon.Resource) resourceInfo {
	b := newBuilder(res.Attributes())
	defer b.release()
	var info resourceInfo
	b.take(&info.serviceName, "service.name")
	b.take(&info.serviceVersion, "service.version")
	b.take(&info.environment, "deployment.environment.name", "deployment.environment") // the latter deprecated in semconv 1.27
	info.attr = readAttribution(res.Attributes())
	var truncated bool
	info.json, truncated = cappedJSON(g.protect(b.remaining()), g.cfg.MaxAttributesBytes)
	if truncated {
		b.flagField(record.FlagTruncated, "resource_attributes")
	}
	info.flags = b.flags
	return info
}

// tracesToRecords maps every ML span of td to a record. Records are emitted
// once the whole batch is mapped, so that duplicate model calls within it
// are flagged (duplicates.go).
func (g *governor) tracesToRecords(ctx context.Context, td ptrace.Traces) plog.Logs {
	out := plog.NewLogs()
	idx := indexSpans(td)
	type scoped struct {
		lrs  plog.LogRecordSlice
		recs []*pending
	}
	var scopes []scoped
	var all []*pending
	var t tally
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		info := g.resource(rs.Resource())
		var sc scoped
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				rec, skip := g.spanRecord(span, &info, idx)
				if skip != "" {
					t.skip("traces", skip)
					continue
				}
				if sc.lrs == (plog.LogRecordSlice{}) {
					sc.lrs = newScope(out, rs.Resource())
				}
				p := &pending{rec: rec, trace: span.TraceID()}
				p.call, p.isCall = newModelCall(&p.rec, span.SpanID(), span.ParentSpanID())
				sc.recs = append(sc.recs, p)
				all = append(all, p)
			}
		}
		if len(sc.recs) > 0 {
			scopes = append(scopes, sc)
		}
	}
	g.markDuplicates(all, idx)
	for _, sc := range scopes {
		sc.lrs.EnsureCapacity(len(sc.recs))
		for _, p := range sc.recs {
			g.emit(&t, &p.rec, sc.lrs)
		}
	}
	g.flush(ctx, &t)
	return out
}

// spanRecord maps one span. It returns the reason a span produces no record
// ("" when it does): no ML meaning (with include_non_ml off), or an
// OpenInference span kind not in openinference_span_kinds. It records the
// span's attribution in the trace cache either way.
func (g *governor) spanRecord(span ptrace.Span, info *resourceInfo, idx batchIndex) (record.Record, string) {
	b := newBuilder(span.Attributes())
	defer b.release()
	var typ record.Type
	skip := ""
	switch vercelOp := vercelOperation(b, span.Name()); {
	case hasAttr(b, "openinference.span.kind"):
		b.rec.SourceConvention = record.SourceOpenInference
		var kind string
		typ, kind = b.mapOpenInference()
		if _, known := openInferenceKinds[kind]; known && !g.openInferenceKinds[kind] {
			skip = skipExcludedKind
		}
	case vercelOp != "":
		b.rec.SourceConvention = record.SourceVercelAI
		typ = b.mapVercel(vercelOp)
	case isOpenLLMetry(b):
		b.rec.SourceConvention = record.SourceOpenLLMetry
		typ = b.mapOpenLLMetry()
	case isClassicML(b):
		b.rec.SourceConvention = record.SourceClassicML
		typ = b.mapClassicML()
	case isGenAI(b):
		b.rec.SourceConvention = record.SourceOTelGenAI
	}
	if b.rec.SourceConvention != "" {
		if t := b.mapGenAI(); typ == "" {
			typ = t
		}
		if typ == "" {
			typ = record.TypeInference // a GenAI span without an operation name: a model call
		}
	}
	b.mapContentKeys()

	// Attribution: the span, its ancestors in this batch, earlier batches of
	// the trace, the resource.
	b.takeAttribution()
	own := attribution{user: b.rec.UserID, session: b.rec.SessionID, tenant: b.rec.TenantID}
	resolved := own
	resolved.fill(idx.ancestors(span.TraceID(), span.ParentSpanID()))
	resolved.fill(g.traces.get(span.TraceID()))
	g.traces.remember(span.TraceID(), resolved)
	resolved.fill(info.attr)

	if skip != "" {
		return record.Record{}, skip
	}
	if b.rec.SourceConvention == "" {
		if !g.cfg.IncludeNonML {
			return record.Record{}, skipNonML
		}
		typ = record.TypeWorkflow
		b.flag(record.FlagUnknownOperation)
	}
	r := &b.rec
	r.Type = typ
	r.EventName = b.clean(span.Name())
	b.time(&r.StartTime, "start_time", uint64(span.StartTimestamp()))
	b.time(&r.EndTime, "end_time", uint64(span.EndTimestamp()))
	r.TraceID = traceHex(span.TraceID())
	r.SpanID = spanHex(span.SpanID())
	r.ParentSpanID = spanHex(span.ParentSpanID())
	r.StatusCode = statusCode(span.Status().Code())
	r.UserID, r.SessionID, r.TenantID = resolved.user, resolved.session, resolved.tenant
	b.spanEvents(span.Events())
	g.finish(b, info)
	return b.rec, ""
}

// spanEvents reads the span events that older instrumentations used for
// content (gen_ai.content.prompt / gen_ai.content.completion, deprecated)
// and the exception type of a failed call.
func (b *builder) spanEvents(events ptrace.SpanEventSlice) {
	for i := 0; i < events.Len(); i++ {
		e := events.At(i)
		eb := newBuilder(e.Attributes())
		switch e.Name() {
		case "gen_ai.content.prompt":
			eb.contentAttr(capture.Input, "gen_ai.prompt")
		case "gen_ai.content.completion":
			eb.contentAttr(capture.Output, "gen_ai.completion")
		case "exception":
			if b.rec.ErrorType == "" {
				eb.take(&b.rec.ErrorType, "exception.type")
			}
		}
		for f := range eb.content {
			for _, p := range eb.content[f] {
				b.addContent(capture.Field(f), "event."+e.Name()+"."+p.key, p.value)
			}
		}
		for _, fl := range eb.flags {
			b.flag(fl)
		}
		eb.release()
	}
}

// finish applies the capture policy and fills the fields every record
// shares: ids, resource, parameters, remaining attributes, flags. Last, it
// applies the record's caps (record.ApplyCaps) to every field.
func (g *governor) finish(b *builder, info *resourceInfo) {
	r := &b.rec
	r.SchemaVersion = record.SchemaVersion
	r.ID = record.NewID()
	r.ObservedTime = g.now().UnixNano()
	r.ServiceName, r.ServiceVersion, r.DeploymentEnvironment = info.serviceName, info.serviceVersion, info.environment
	r.ResourceAttributes = info.json
	for _, f := range info.flags {
		b.flag(f)
	}
	g.protectParams(b)
	if len(b.params) > 0 {
		// Whole keys while they fit, so that capped parameters stay JSON.
		var truncated bool
		if r.Parameters, truncated = cappedJSON(b.params, maxParametersBytes); truncated {
			b.flagField(record.FlagTruncated, "parameters")
		}
	}
	g.applyPolicy(b)
	attrs, truncated := cappedJSON(g.protect(b.remaining()), g.cfg.MaxAttributesBytes)
	r.Attributes = attrs
	if truncated {
		b.flagField(record.FlagTruncated, "attributes")
	}
	r.FinishReasons = normalizeFinishReasons(r.FinishReasons)
	r.Flags = b.flags
	r.ApplyCaps()
	r.Flags = sortedFlags(r.Flags)
}

// maxParametersBytes is the record's cap of the parameters column.
var maxParametersBytes, _ = record.Cap("parameters")

// applyPolicy turns the collected content parts into the record's content
// and digest fields under the capture policy.
func (g *governor) applyPolicy(b *builder) {
	r := &b.rec
	targets := [...]struct{ content, digest *string }{
		capture.Input:              {&r.Input, &r.InputDigest},
		capture.Output:             {&r.Output, &r.OutputDigest},
		capture.SystemInstructions: {&r.SystemInstructions, &r.SystemInstructionsDigest},
		capture.ToolArguments:      {&r.ToolArguments, &r.ToolArgumentsDigest},
		capture.ToolResult:         {&r.ToolResult, &r.ToolResultDigest},
		capture.RetrievalDocuments: {&r.RetrievalDocuments, &r.RetrievalDocumentsDigest},
	}
	for f, t := range targets {
		text := contentText(b.content[f])
		if text == "" {
			continue
		}
		res := g.policy.Apply(capture.Field(f), text)
		*t.content, *t.digest = res.Content, res.Digest
		if res.Digest != "" {
			r.DigestKeyID = g.policy.KeyID()
		}
		if res.Truncated {
			b.flagField(record.FlagTruncated, capture.Field(f).String())
		}
		if res.Redacted {
			b.flag(record.FlagRedacted)
		}
		if res.Dropped {
			b.flag(record.FlagDropped)
		}
	}
}

// contentText renders the parts of one content field: a single text part
// (a string, or JSON text) as it is, a single structured part as canonical
// JSON, several parts as a canonical JSON object keyed by source attribute
// (JSON text parts nested in it, compacted).
func contentText(parts []contentPart) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		switch v := parts[0].value.(type) {
		case string:
			return v
		case jsonText:
			return string(v)
		}
		s, _ := record.CanonicalJSON(parts[0].value)
		return s
	}
	m := make(map[string]any, len(parts))
	for _, p := range parts {
		m[p.key] = p.value
	}
	s, _ := record.CanonicalJSON(m)
	return s
}

// emit validates r and appends it to lrs. A record that fails validation is
// a connector bug: it is logged and counted, never sent.
func (g *governor) emit(t *tally, r *record.Record, lrs plog.LogRecordSlice) {
	if err := r.Validate(); err != nil {
		g.logger.Error("dropping invalid governance record", zap.String("trace_id", r.TraceID), zap.String("span_id", r.SpanID), zap.Error(err))
		t.skip("records", skipInvalidRecord)
		return
	}
	r.ToLogRecord(lrs.AppendEmpty())
	t.record(r)
}

// Reasons an item produced no record (attribute "reason" of
// otelcol_mlgovernance_items_skipped; metadata.yaml lists them).
const (
	skipNonML          = "non_ml"          // no ML convention recognised, include_non_ml is false
	skipGovauditRecord = "govaudit_record" // already a governance record (a logs pipeline loop)
	skipInvalidRecord  = "invalid_record"  // the record failed Validate: a connector bug, logged
	skipExcludedKind   = "excluded_kind"   // an OpenInference span kind not in openinference_span_kinds
)

// A tally counts one batch's records and skipped items for the
// component's own metrics, which flush then adds once per attribute set:
// metric.WithAttributes builds an attribute set (three allocations) per
// call, which per record was ~6% of the connector's allocations.
type tally struct {
	produced map[producedKey]int64
	flagged  map[string]int64
	skipped  map[skippedKey]int64
}

type producedKey struct {
	typ        record.Type
	convention string
}

type skippedKey struct{ signal, reason string }

// record counts r in otelcol_mlgovernance_records_produced, and once per
// flag in otelcol_mlgovernance_records_flagged.
func (t *tally) record(r *record.Record) {
	if t.produced == nil {
		t.produced = map[producedKey]int64{}
	}
	t.produced[producedKey{r.Type, r.SourceConvention}]++
	for _, f := range r.Flags {
		if t.flagged == nil {
			t.flagged = map[string]int64{}
		}
		t.flagged[f]++
	}
}

// skip counts an item that produced no record in
// otelcol_mlgovernance_items_skipped.
func (t *tally) skip(signal, reason string) {
	if t.skipped == nil {
		t.skipped = map[skippedKey]int64{}
	}
	t.skipped[skippedKey{signal, reason}]++
}

// flush adds t's counts to the component's metrics.
func (g *governor) flush(ctx context.Context, t *tally) {
	for k, n := range t.produced {
		g.telemetry.RecordsProduced.Add(ctx, n, metric.WithAttributes(
			attribute.String("record_type", string(k.typ)),
			attribute.String("source_convention", k.convention)))
	}
	for f, n := range t.flagged {
		g.telemetry.RecordsFlagged.Add(ctx, n, metric.WithAttributes(attribute.String("flag", f)))
	}
	for k, n := range t.skipped {
		g.telemetry.ItemsSkipped.Add(ctx, n, metric.WithAttributes(attribute.String("signal", k.signal), attribute.String("reason", k.reason)))
	}
}

// newScope starts a resource in out, copying the source resource so that
// exporters other than auditparquet still see where records came from.
func newScope(out plog.Logs, res pcommon.Resource) plog.LogRecordSlice {
	rl := out.ResourceLogs().AppendEmpty()
	res.CopyTo(rl.Resource())
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	return sl.LogRecords()
}

func hasAttr(b *builder, key string) bool {
	_, ok := b.attrs.Get(key)
	return ok
}

func statusCode(c ptrace.StatusCode) string {
	switch c {
	case ptrace.StatusCodeOk:
		return "ok"
	case ptrace.StatusCodeError:
		return "error"
	}
	return ""
}

func traceHex(id pcommon.TraceID) string {
	if id.IsEmpty() {
		return ""
	}
	return id.String()
}

func spanHex(id pcommon.SpanID) string {
	if id.IsEmpty() {
		return ""
	}
	return id.String()
}

func sortedFlags(flags []string) []string {
	if len(flags) == 0 {
		return nil
	}
	out := append([]string(nil), flags...)
	sort.Strings(out)
	return out
}

// tracesConnector is the traces -> logs side of a governor.
type tracesConnector struct {
	*governor
	next     consumer.Logs
	shutdown func()
}

func (c *tracesConnector) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (c *tracesConnector) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	out := c.tracesToRecords(ctx, td)
	if out.LogRecordCount() == 0 {
		return nil
	}
	return c.next.ConsumeLogs(ctx, out)
}

func (c *tracesConnector) Start(context.Context, component.Host) error { return nil }

func (c *tracesConnector) Shutdown(context.Context) error {
	c.shutdown()
	return nil
}

// logsConnector is the logs -> logs side of a governor.
type logsConnector struct {
	*governor
	next     consumer.Logs
	shutdown func()
}

func (c *logsConnector) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (c *logsConnector) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	out := c.logsToRecords(ctx, ld)
	if out.LogRecordCount() == 0 {
		return nil
	}
	return c.next.ConsumeLogs(ctx, out)
}

func (c *logsConnector) Start(context.Context, component.Host) error { return nil }

func (c *logsConnector) Shutdown(context.Context) error {
	c.shutdown()
	return nil
}
