package mlgovernanceconnector // import "github.com/govaudit/govaudit/connector/mlgovernanceconnector"

import (
	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/capture"
	"github.com/govaudit/govaudit/internal/record"
)

// openLLMetryRequestTypes maps llm.request.type (OpenLLMetry's LLMRequestTypeValues).
var openLLMetryRequestTypes = map[string]struct {
	typ record.Type
	op  string
}{
	"chat":       {record.TypeInference, "chat"},
	"completion": {record.TypeInference, "text_completion"},
	"embedding":  {record.TypeEmbedding, "embeddings"},
	"rerank":     {record.TypeRetrieval, "rerank"},
}

// openLLMetrySpanKinds maps traceloop.span.kind (TraceloopSpanKindValues).
var openLLMetrySpanKinds = map[string]struct {
	typ record.Type
	op  string
}{
	"workflow": {record.TypeWorkflow, "invoke_workflow"},
	"task":     {record.TypeWorkflow, "task"},
	"agent":    {record.TypeAgent, "invoke_agent"},
	"tool":     {record.TypeToolCall, "execute_tool"},
}

// isOpenLLMetry reports whether the span was written by OpenLLMetry
// (Traceloop): its own llm.request.type or traceloop.* keys, or the
// flattened gen_ai.prompt.N / gen_ai.completion.N content.
func isOpenLLMetry(b *builder) bool {
	for _, k := range []string{"llm.request.type", "traceloop.span.kind", "traceloop.entity.name", "traceloop.workflow.name"} {
		if _, ok := b.attrs.Get(k); ok {
			return true
		}
	}
	return b.hasPrefix("gen_ai.prompt.") || b.hasPrefix("gen_ai.completion.")
}

// mapOpenLLMetry reads the OpenLLMetry attributes; the gen_ai.* names it
// shares with the GenAI conventions are read by mapGenAI afterwards.
func (b *builder) mapOpenLLMetry() record.Type {
	r := &b.rec
	var typ record.Type
	if rt, ok := b.str("llm.request.type"); ok {
		if m, known := openLLMetryRequestTypes[rt]; known {
			typ, r.Operation = m.typ, m.op
		} else {
			b.flag(record.FlagUnknownOperation)
			typ, r.Operation = record.TypeInference, rt
		}
	}
	// traceloop.span.kind stays in Attributes; only its meaning is read.
	var kind string
	if v, ok := b.attrs.Get("traceloop.span.kind"); ok {
		kind = b.text(v, true)
		if m, known := openLLMetrySpanKinds[kind]; known && typ == "" {
			typ, r.Operation = m.typ, m.op
		}
	}
	switch kind {
	case "tool":
		b.take(&r.ToolName, "traceloop.entity.name")
		b.contentAttr(capture.ToolArguments, "traceloop.entity.input")
		b.contentAttr(capture.ToolResult, "traceloop.entity.output")
	case "agent":
		b.take(&r.AgentName, "traceloop.entity.name")
	}
	b.contentAttr(capture.Input, "traceloop.entity.input")
	b.contentAttr(capture.Output, "traceloop.entity.output")

	b.addContent(capture.Input, "gen_ai.prompt", b.unflatten("gen_ai.prompt.", nil))
	completions := b.unflatten("gen_ai.completion.", nil)
	b.addContent(capture.Output, "gen_ai.completion", completions)
	if list, ok := completions.([]any); ok && len(r.FinishReasons) == 0 {
		for _, c := range list {
			if m, ok := c.(map[string]any); ok {
				if fr, ok := m["finish_reason"].(string); ok {
					r.FinishReasons = append(r.FinishReasons, fr)
				}
			}
		}
	}

	b.param("top_k", "llm.top_k")
	b.param("frequency_penalty", "llm.frequency_penalty")
	b.param("presence_penalty", "llm.presence_penalty")
	b.param("stop_sequences", "llm.chat.stop_sequences")
	b.param("stream", "llm.is_streaming")
	return typ
}
