package mlgovernanceconnector // import "github.com/govaudit/govaudit/connector/mlgovernanceconnector"

import (
	"strings"
)

// providerAliases maps the provider names of the conventions govaudit reads
// (OpenInference llm.provider / llm.system, LangChain's ls_provider, the
// deprecated gen_ai.system values, the Vercel AI SDK's provider ids without
// their ".chat"/".responses" suffix) to the OpenTelemetry GenAI
// gen_ai.provider.name values, so that one `query --provider` finds a
// provider's records whichever instrumentation wrote them
// (https://opentelemetry.io/docs/specs/semconv/registry/attributes/gen-ai/).
// Values not listed are kept (lower-cased).
var providerAliases = map[string]string{
	"amazon":           "aws.bedrock", // OpenInference llm.system
	"amazon-bedrock":   "aws.bedrock", // Vercel @ai-sdk/amazon-bedrock
	"aws":              "aws.bedrock", // OpenInference llm.provider
	"bedrock":          "aws.bedrock", // LangChain ls_provider
	"bedrock_converse": "aws.bedrock",
	"azure":            "azure.ai.openai", // OpenInference llm.provider, Vercel @ai-sdk/azure
	"azure-openai":     "azure.ai.openai",
	"azure_openai":     "azure.ai.openai",
	"az.ai.openai":     "azure.ai.openai",    // gen_ai.system before semconv 1.37
	"az.ai.inference":  "azure.ai.inference", // gen_ai.system before semconv 1.37
	"google":           "gcp.gen_ai",         // OpenInference llm.provider: any Google endpoint
	"google_genai":     "gcp.gemini",         // LangChain ls_provider
	"gemini":           "gcp.gemini",
	"vertexai":         "gcp.vertex_ai", // OpenInference llm.system
	"vertex_ai":        "gcp.vertex_ai",
	"google_vertexai":  "gcp.vertex_ai", // LangChain ls_provider
	"mistral":          "mistral_ai",    // Vercel @ai-sdk/mistral
	"mistralai":        "mistral_ai",    // OpenInference, LangChain
	"xai":              "x_ai",
	"watsonx":          "ibm.watsonx.ai",
}

// normalizeProvider returns the gen_ai.provider.name value for a provider
// name read from any convention: lower-cased, aliases replaced.
func normalizeProvider(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if a, ok := providerAliases[v]; ok {
		return a
	}
	return v
}

// vercelProvider normalises a Vercel AI SDK provider id (ai.model.provider,
// and the gen_ai.system it copies there): "<provider>.<api>" such as
// openai.responses, openai.chat, anthropic.messages, mistral.chat,
// google.generative-ai, google.vertex.chat, azure.responses,
// amazon-bedrock. The API part is dropped (it stays visible in the
// attribute) and the provider part goes through providerAliases; Google's
// Gemini API and Vertex AI share the "google" prefix and are told apart
// here.
func vercelProvider(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	switch {
	case v == "google.vertex" || strings.HasPrefix(v, "google.vertex."):
		return "gcp.vertex_ai"
	case v == "google.generative-ai" || strings.HasPrefix(v, "google.generative-ai."):
		return "gcp.gemini"
	}
	if i := strings.IndexByte(v, '.'); i > 0 {
		v = v[:i]
	}
	return normalizeProvider(v)
}

// finishReasonAliases maps finish reasons to the values of the OpenTelemetry
// GenAI conventions and OpenAI (stop, length, content_filter, tool_calls,
// error): the Vercel AI SDK's hyphenated forms, Anthropic's stop_reason,
// Gemini's finishReason, OpenAI's deprecated function_call. Others are kept
// lower-cased ("other", "unknown", a provider's own value).
var finishReasonAliases = map[string]string{
	"tool-calls":     "tool_calls", // Vercel AI SDK
	"content-filter": "content_filter",
	"tool_call":      "tool_calls",
	"tool_use":       "tool_calls", // Anthropic
	"function_call":  "tool_calls", // OpenAI, deprecated
	"end_turn":       "stop",       // Anthropic
	"stop_sequence":  "stop",
	"max_tokens":     "length", // Anthropic, Gemini MAX_TOKENS
	"safety":         "content_filter",
	"refusal":        "content_filter", // Anthropic
}

// normalizeFinishReasons normalises each reason in place (see
// finishReasonAliases) and returns the list.
func normalizeFinishReasons(reasons []string) []string {
	for i, r := range reasons {
		r = strings.ToLower(strings.TrimSpace(r))
		if a, ok := finishReasonAliases[r]; ok {
			r = a
		}
		reasons[i] = r
	}
	return reasons
}
