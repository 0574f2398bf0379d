package mlgovernanceconnector // import "github.com/govaudit/govaudit/connector/mlgovernanceconnector"

import (
	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/capture"
)

// A contentKey is an attribute that carries content but that no
// convention's own table reads: the Vercel AI SDK's ai.* attributes, the
// Anthropic SDK's native ones, and content attributes a table does not
// map to a field yet. They go to a content field, under the content policy,
// whatever the span's convention (or none, with include_non_ml), so that
// they never reach attributes, where unmapped_attributes would apply to
// them instead.
type contentKey struct {
	key   string
	field capture.Field
	how   contentHow
}

type contentHow int

const (
	asText    contentHow = iota // the value as it is (contentAttr)
	asJSON                      // JSON text, validated (contentJSON)
	flattened                   // key is a prefix of flattened attributes (unflatten)
	dropped                     // derived data (embedding vectors): consumed, not stored
)

// contentKeys lists them per convention (docs/semantic-conventions.md).
var contentKeys = []contentKey{
	// Vercel AI SDK (ai 4/5, experimental_telemetry).
	{"ai.prompt", capture.Input, asJSON},
	{"ai.prompt.messages", capture.Input, asJSON},
	{"ai.prompt.tools", capture.SystemInstructions, asText}, // tool definitions, one JSON string each
	{"ai.schema", capture.SystemInstructions, asJSON},
	{"ai.response.text", capture.Output, asText},
	{"ai.response.toolCalls", capture.Output, asJSON},
	{"ai.response.object", capture.Output, asJSON},
	{"ai.response.reasoning", capture.Output, asText},
	{"ai.toolCall.args", capture.ToolArguments, asJSON},
	{"ai.toolCall.result", capture.ToolResult, asText},
	{"ai.value", capture.Input, asText},
	{"ai.values", capture.Input, asText},
	{"ai.embedding", capture.Input, dropped},
	{"ai.embeddings", capture.Input, dropped},
	// Anthropic SDK native instrumentation.
	{"anthropic.tool_result.content", capture.ToolResult, asText},
	// OpenTelemetry GenAI: tool definitions (opt-in); an evaluation's
	// explanation outside its event.
	{"gen_ai.tool.definitions", capture.SystemInstructions, asJSON},
	{"gen_ai.evaluation.explanation", capture.Output, asText},
	// OpenInference: tool definitions and the deprecated function call.
	{"llm.tools.", capture.SystemInstructions, flattened},
	{"tool.parameters", capture.SystemInstructions, asJSON},
	{"llm.function_call", capture.Output, asJSON},
	// OpenLLMetry: function definitions.
	{"llm.request.functions.", capture.SystemInstructions, flattened},
}

// contentParams are the members of an invocation parameters object
// (OpenInference llm.invocation_parameters, ml.parameters) that carry
// content: the provider APIs' request bodies put the system prompt, the
// messages and the tool definitions beside temperature and max_tokens.
var contentParams = map[string]capture.Field{
	"system":             capture.SystemInstructions,
	"system_prompt":      capture.SystemInstructions,
	"system_instruction": capture.SystemInstructions,
	"systemInstruction":  capture.SystemInstructions,
	"instructions":       capture.SystemInstructions,
	"preamble":           capture.SystemInstructions,
	"tools":              capture.SystemInstructions,
	"functions":          capture.SystemInstructions,
	"messages":           capture.Input,
	"prompt":             capture.Input,
	"input":              capture.Input,
	"inputs":             capture.Input,
	"contents":           capture.Input,
	"suffix":             capture.Input,
	"query":              capture.Input,
	"documents":          capture.RetrievalDocuments,
}

// mapContentKeys moves the contentKeys present and still unused into their
// content fields. It runs after the convention's own table.
func (b *builder) mapContentKeys() {
	for _, c := range contentKeys {
		switch c.how {
		case asText:
			b.contentAttr(c.field, c.key)
		case asJSON:
			b.contentJSON(c.field, c.key)
		case flattened:
			b.addContent(c.field, c.key[:len(c.key)-1], b.unflatten(c.key, nil))
		case dropped:
			if _, ok := b.get(c.key); ok {
				b.used[c.key] = true
			}
		}
	}
}
