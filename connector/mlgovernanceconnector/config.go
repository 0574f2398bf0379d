package mlgovernanceconnector // import "github.com/govaudit/govaudit/connector/mlgovernanceconnector"

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/component"

	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/capture"
	"github.com/govaudit/govaudit/internal/record"
)

// Config is the configuration of the mlgovernance connector.
type Config struct {
	// IncludeNonML makes spans and log records without any ML meaning into
	// records too (type workflow, empty source_convention, flag
	// unknown_operation), for audits that want the whole request chain.
	// Default false: they are skipped and counted in
	// otelcol_mlgovernance_items_skipped.
	IncludeNonML bool `mapstructure:"include_non_ml"`

	// AttributionCacheSize is the number of traces whose user, session and
	// tenant are remembered (least recently used first out), so a span
	// arriving in a later batch than its annotated ancestor is attributed.
	// 0 disables the cache. 0 ≤ AttributionCacheSize. Default 10000.
	AttributionCacheSize int `mapstructure:"attribution_cache_size"`

	// MaxAttributesBytes caps the canonical JSON of the remaining span
	// attributes and of the resource attributes, each; keys that do not fit
	// are left out (in key order) and the record is flagged "truncated".
	// 256 ≤ MaxAttributesBytes ≤ 16777216 (record.MaxLarge). Default 16384.
	MaxAttributesBytes int `mapstructure:"max_attributes_bytes"`

	// OpenInferenceSpanKinds lists the openinference.span.kind values whose
	// spans become records: LLM, EMBEDDING, RETRIEVER, RERANKER, TOOL,
	// AGENT, CHAIN, GUARDRAIL, EVALUATOR, PROMPT (the spec's spelling).
	// Spans of the other known kinds are skipped and counted in
	// otelcol_mlgovernance_items_skipped (reason excluded_kind); their user and
	// session still attribute the spans below them. A kind the spec does
	// not define is recorded, flagged unknown_operation. Default: all but
	// CHAIN and PROMPT, which LangChain emits for every prompt template,
	// output parser and runnable sequence; [] records no OpenInference span.
	OpenInferenceSpanKinds []string `mapstructure:"openinference_span_kinds"`

	// Capture is the capture policy for content fields and for attribute
	// values that no mapping reads (unmapped_attributes, allowed_attributes).
	Capture capture.Config `mapstructure:"capture"`
}

var _ component.Config = (*Config)(nil)

// minAttributesBytes leaves room for a few typical attributes.
const minAttributesBytes = 256

var errNegativeCacheSize = errors.New("attribution_cache_size: must not be negative")

// Validate checks the connector settings; the capture policy validates itself
// (its errors are prefixed "capture: ").
func (c *Config) Validate() error {
	var errs []error
	if c.AttributionCacheSize < 0 {
		errs = append(errs, errNegativeCacheSize)
	}
	if c.MaxAttributesBytes < minAttributesBytes {
		errs = append(errs, fmt.Errorf("max_attributes_bytes: %d, want at least %d", c.MaxAttributesBytes, minAttributesBytes))
	}
	if c.MaxAttributesBytes > record.MaxLarge {
		errs = append(errs, fmt.Errorf("max_attributes_bytes: %d, want at most %d (the record's cap of attributes)", c.MaxAttributesBytes, record.MaxLarge))
	}
	for _, k := range c.OpenInferenceSpanKinds {
		if _, known := openInferenceKinds[k]; !known {
			errs = append(errs, fmt.Errorf("openinference_span_kinds: unknown kind %q (want any of %s)", k, strings.Join(sortedKinds(), ", ")))
		}
	}
	return errors.Join(errs...)
}

func sortedKinds() []string {
	kinds := make([]string, 0, len(openInferenceKinds))
	for k := range openInferenceKinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}
