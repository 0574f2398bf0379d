package mlgovernanceconnector // import "github.com/govaudit/govaudit/connector/mlgovernanceconnector"

import (
	"context"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/capture"
	"github.com/govaudit/govaudit/internal/record"
)

// GenAI event names (OpenTelemetry GenAI semantic conventions, gen-ai-events.md).
const (
	eventSystemMessage    = "gen_ai.system.message"
	eventUserMessage      = "gen_ai.user.message"
	eventAssistantMessage = "gen_ai.assistant.message"
	eventToolMessage      = "gen_ai.tool.message"
	eventChoice           = "gen_ai.choice"
	eventOperationDetails = "gen_ai.client.inference.operation.details"
	eventEvaluationResult = "gen_ai.evaluation.result"
)

// eventContentFields says which content field holds the body of each
// message event. Assistant messages in an event stream are chat history
// sent to the model, hence input; the model's answer is gen_ai.choice.
var eventContentFields = map[string]capture.Field{
	eventSystemMessage:    capture.SystemInstructions,
	eventUserMessage:      capture.Input,
	eventAssistantMessage: capture.Input,
	eventToolMessage:      capture.ToolResult,
	eventChoice:           capture.Output,
}

// logsToRecords maps every GenAI event of ld to a record.
func (g *governor) logsToRecords(ctx context.Context, ld plog.Logs) plog.Logs {
	out := plog.NewLogs()
	var t tally
	defer g.flush(ctx, &t)
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		var info *resourceInfo // computed on the first event that needs it
		var lrs plog.LogRecordSlice
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			logs := sls.At(j).LogRecords()
			for k := 0; k < logs.Len(); k++ {
				lr := logs.At(k)
				if record.IsRecord(lr) {
					t.skip("logs", skipGovauditRecord)
					continue
				}
				name := eventName(lr)
				if !strings.HasPrefix(name, "gen_ai.") && !g.cfg.IncludeNonML {
					t.skip("logs", skipNonML)
					continue
				}
				if info == nil {
					ri := g.resource(rl.Resource())
					info = &ri
				}
				rec := g.eventRecord(lr, name, info)
				if lrs == (plog.LogRecordSlice{}) {
					lrs = newScope(out, rl.Resource())
				}
				g.emit(&t, &rec, lrs)
			}
		}
	}
	return out
}

// eventName returns the event name from the EventName field or, for SDKs
// that predate it, the event.name attribute.
func eventName(lr plog.LogRecord) string {
	if n := lr.EventName(); n != "" {
		return n
	}
	if v, ok := lr.Attributes().Get("event.name"); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

// eventRecord maps one log record. Events are linked to their span by the
// log record's trace and span ids.
func (g *governor) eventRecord(lr plog.LogRecord, name string, info *resourceInfo) record.Record {
	b := newBuilder(lr.Attributes())
	defer b.release()
	b.used["event.name"] = true
	r := &b.rec
	r.EventName = b.clean(name)
	if strings.HasPrefix(name, "gen_ai.") {
		r.SourceConvention = record.SourceOTelGenAI
	}
	b.mapGenAI() // events keep their own type; the operation name goes to Operation
	b.mapContentKeys()

	switch field, isMessage := eventContentFields[name]; {
	case isMessage:
		r.Type = record.TypeContent
		body := b.raw(lr.Body())
		b.addContent(field, "body", body)
		if m, ok := body.(map[string]any); ok {
			if id, ok := m["id"].(string); ok && name == eventToolMessage {
				r.ToolCallID = id
			}
			if fr, ok := m["finish_reason"].(string); ok && name == eventChoice {
				r.FinishReasons = []string{fr}
			}
		}
	case name == eventOperationDetails:
		// The details event carries the span's attributes (messages,
		// parameters, usage), read by mapGenAI above.
		r.Type = record.TypeContent
	case name == eventEvaluationResult:
		r.Type = record.TypeEvaluation
		set(&r.Operation, "evaluate")
		r.Score = b.float("gen_ai.evaluation.score.value")
		b.take(&r.Prediction, "gen_ai.evaluation.score.label")
		b.contentAttr(capture.Output, "gen_ai.evaluation.explanation")
		b.take(&r.Reference, "gen_ai.response.id")
	case r.SourceConvention != "":
		// An unknown gen_ai.* event: keep its body under the input policy
		// rather than let unknown content through unprotected.
		r.Type = record.TypeContent
		b.flag(record.FlagUnknownOperation)
		b.addContent(capture.Input, "body", b.raw(lr.Body()))
	default: // include_non_ml
		r.Type = record.TypeWorkflow
		b.flag(record.FlagUnknownOperation)
		b.addContent(capture.Input, "body", b.raw(lr.Body()))
	}

	r.TraceID = traceHex(lr.TraceID())
	r.SpanID = spanHex(lr.SpanID())
	if r.SourceConvention != "" && (r.TraceID == "" || r.SpanID == "") {
		b.flag(record.FlagMissingSpanLink)
	}
	ts := lr.Timestamp()
	if ts == 0 {
		ts = lr.ObservedTimestamp()
	}
	b.time(&r.StartTime, "start_time", uint64(ts))

	b.takeAttribution()
	a := attribution{user: r.UserID, session: r.SessionID, tenant: r.TenantID}
	a.fill(g.traces.get(lr.TraceID()))
	a.fill(info.attr)
	r.UserID, r.SessionID, r.TenantID = a.user, a.session, a.tenant

	g.finish(b, info)
	return b.rec
}
