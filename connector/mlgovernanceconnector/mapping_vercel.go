package mlgovernanceconnector // import "github.com/govaudit/govaudit/connector/mlgovernanceconnector"

import (
	"strings"

	"github.com/govaudit/govaudit/internal/record"
)

// vercelOperations maps the Vercel AI SDK's ai.operationId (also the span
// name) to the record type and operation (ai-sdk.dev/docs/ai-sdk-core/telemetry).
// The provider calls (do*) are the model decisions. The SDK's language model
// interface takes a list of messages whatever the function, so every text
// and object call is "chat". The functions that wrap them (ai.generateText,
// ...) span every step of a call, their usage is the sum of their steps and
// their model is the one of the steps: they become workflow records, so a
// model call is counted once.
var vercelOperations = map[string]struct {
	typ record.Type
	op  string
}{
	"ai.generateText.doGenerate":   {record.TypeInference, "chat"},
	"ai.streamText.doStream":       {record.TypeInference, "chat"},
	"ai.generateObject.doGenerate": {record.TypeInference, "chat"},
	"ai.streamObject.doStream":     {record.TypeInference, "chat"},
	"ai.embed.doEmbed":             {record.TypeEmbedding, "embeddings"},
	"ai.embedMany.doEmbed":         {record.TypeEmbedding, "embeddings"},
	"ai.toolCall":                  {record.TypeToolCall, "execute_tool"},
	"ai.generateText":              {record.TypeWorkflow, "invoke_workflow"},
	"ai.streamText":                {record.TypeWorkflow, "invoke_workflow"},
	"ai.generateObject":            {record.TypeWorkflow, "invoke_workflow"},
	"ai.streamObject":              {record.TypeWorkflow, "invoke_workflow"},
	"ai.embed":                     {record.TypeWorkflow, "invoke_workflow"},
	"ai.embedMany":                 {record.TypeWorkflow, "invoke_workflow"},
}

// vercelOperation returns the AI SDK operation of a span: its ai.operationId,
// or, for a span without one, its name when it is an "ai.*" span carrying
// the SDK's model or tool call attributes. "" means not an AI SDK span.
func vercelOperation(b *builder, spanName string) string {
	if v, ok := b.attrs.Get("ai.operationId"); ok {
		return b.text(v, false)
	}
	if strings.HasPrefix(spanName, "ai.") && (hasAttr(b, "ai.model.provider") || hasAttr(b, "ai.toolCall.name")) {
		return spanName
	}
	return ""
}

// mapVercel reads the AI SDK attributes of a span whose operation is op.
// ai.operationId stays in Attributes. Content attributes (ai.prompt*,
// ai.response.text, ai.toolCall.args, ...) are contentKeys; the gen_ai.*
// attributes of the provider calls are read by mapGenAI afterwards.
func (b *builder) mapVercel(op string) record.Type {
	r := &b.rec
	m, known := vercelOperations[op]
	if !known {
		b.flag(record.FlagUnknownOperation)
		m.typ, m.op = record.TypeWorkflow, op
		if strings.Contains(op, ".do") {
			m.typ = record.TypeInference // a provider call of a function govaudit does not know yet
		}
	}
	r.Operation = m.op
	switch m.typ {
	case record.TypeToolCall:
		b.take(&r.ToolName, "ai.toolCall.name")
		b.take(&r.ToolCallID, "ai.toolCall.id")
		return m.typ
	case record.TypeWorkflow:
		// ai.model.*, ai.usage.* and the final finish reason stay in
		// Attributes: the steps' records hold them.
		return m.typ
	}
	b.takeProvider(vercelProvider, "ai.model.provider", "gen_ai.system")
	b.take(&r.RequestModel, "gen_ai.request.model", "ai.model.id")
	b.take(&r.ResponseModel, "gen_ai.response.model", "ai.response.model")
	if r.FinishReasons = b.stringList("gen_ai.response.finish_reasons"); len(r.FinishReasons) == 0 {
		r.FinishReasons = b.stringList("ai.response.finishReason")
	}
	// Usage: gen_ai.usage.* (read by mapGenAI) when present, else the SDK's
	// own names: promptTokens/completionTokens (ai 3 and 4),
	// inputTokens/outputTokens (ai 5), tokens (embeddings).
	if !hasAttr(b, "gen_ai.usage.input_tokens") {
		for _, k := range []string{"ai.usage.inputTokens", "ai.usage.promptTokens", "ai.usage.tokens"} {
			if r.InputTokens == nil {
				r.InputTokens = b.count(k, "input_tokens")
			}
		}
	}
	if !hasAttr(b, "gen_ai.usage.output_tokens") {
		for _, k := range []string{"ai.usage.outputTokens", "ai.usage.completionTokens"} {
			if r.OutputTokens == nil {
				r.OutputTokens = b.count(k, "output_tokens")
			}
		}
	}
	return m.typ
}
