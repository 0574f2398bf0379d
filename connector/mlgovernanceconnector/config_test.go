package mlgovernanceconnector

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/capture"
	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/metadata"
)

const testKey = "govaudit-test-digest-key-0123456789"

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		id       component.ID
		expected component.Config
		errorMsg string
	}{
		{
			id:       component.NewID(metadata.Type),
			errorMsg: "capture: digest_key: no digest key configured, but input (digest), output (digest), system_instructions (digest), tool_arguments (digest), tool_result (digest), retrieval_documents (digest), unmapped_attributes (digest) need one: set digest_key::file or digest_key::value",
		},
		{
			id: component.NewIDWithName(metadata.Type, "keyed"),
			expected: func() component.Config {
				cfg := createDefaultConfig().(*Config)
				cfg.Capture.DigestKey.Value = testKey
				return cfg
			}(),
		},
		{
			id: component.NewIDWithName(metadata.Type, "full"),
			expected: &Config{
				IncludeNonML:           true,
				AttributionCacheSize:   500,
				MaxAttributesBytes:     8192,
				OpenInferenceSpanKinds: []string{"LLM", "EMBEDDING", "RETRIEVER", "TOOL", "AGENT", "CHAIN"},
				Capture: capture.Config{
					Input:              capture.ModeRedact,
					Output:             capture.ModeKeep,
					SystemInstructions: capture.ModeDigest,
					ToolArguments:      capture.ModeRedact,
					ToolResult:         capture.ModeDrop,
					RetrievalDocuments: capture.ModeDigest,
					MaxContentBytes:    4096,
					UnmappedAttributes: capture.UnmappedDigest,
					AllowedAttributes:  []string{"telemetry.sdk.*", "server.address", "http.response.status_code", "gen_ai.usage.*"},
					DigestKey:          capture.KeyConfig{File: "/etc/govaudit/digest.key", ID: "audit-2026"},
					Redact: capture.RedactConfig{
						Builtin: []capture.Pattern{capture.PatternEmail, capture.PatternCard},
						Custom:  []capture.CustomPattern{{Name: "employee_id", Pattern: `EMP-\d{6}`}},
					},
				},
			},
		},
		{
			// No digest anywhere, so no key; an empty allow-list allows nothing.
			id: component.NewIDWithName(metadata.Type, "unmapped_drop"),
			expected: func() component.Config {
				cfg := createDefaultConfig().(*Config)
				c := &cfg.Capture
				c.UnmappedAttributes = capture.UnmappedDrop
				c.AllowedAttributes = []string{}
				c.Input, c.Output, c.SystemInstructions = capture.ModeDrop, capture.ModeDrop, capture.ModeDrop
				c.ToolArguments, c.ToolResult, c.RetrievalDocuments = capture.ModeDrop, capture.ModeDrop, capture.ModeDrop
				return cfg
			}(),
		},
		{
			id:       component.NewIDWithName(metadata.Type, "bad_unmapped"),
			errorMsg: "decoding failed due to the following error(s):\n\n'capture.unmapped_attributes' unknown unmapped attribute mode \"redact\" (want one of digest, drop, keep)",
		},
		{
			id:       component.NewIDWithName(metadata.Type, "bad_allowed"),
			errorMsg: "capture: allowed_attributes::0: \"*\" would allow every attribute: set unmapped_attributes: keep instead\nallowed_attributes::1 \"gen_ai.*.id\": '*' is only allowed at the end (a prefix)",
		},
		{
			id:       component.NewIDWithName(metadata.Type, "bad_mode"),
			errorMsg: "decoding failed due to the following error(s):\n\n'capture.input' unknown capture mode \"hash\" (want one of keep, digest, redact, drop)",
		},
		{
			id:       component.NewIDWithName(metadata.Type, "bad_pattern"),
			errorMsg: "decoding failed due to the following error(s):\n\n'capture.redact.builtin[1]' unknown redaction pattern \"ssn\" (want one of email, phone, card, iban)",
		},
		{
			id:       component.NewIDWithName(metadata.Type, "bad_regex"),
			errorMsg: "capture: redact::custom::0 \"account\": error parsing regexp: missing closing ): `ACC-(\\d+`",
		},
		{
			// The spec's spelling only: a lower-case kind is refused, not folded.
			id: component.NewIDWithName(metadata.Type, "bad_kinds"),
			errorMsg: "openinference_span_kinds: unknown kind \"llm\" (want any of AGENT, CHAIN, EMBEDDING, EVALUATOR, GUARDRAIL, LLM, PROMPT, RERANKER, RETRIEVER, TOOL)\n" +
				"openinference_span_kinds: unknown kind \"TEMPLATE\" (want any of AGENT, CHAIN, EMBEDDING, EVALUATOR, GUARDRAIL, LLM, PROMPT, RERANKER, RETRIEVER, TOOL)",
		},
		{
			id:       component.NewIDWithName(metadata.Type, "negative_cache"),
			errorMsg: "attribution_cache_size: must not be negative\nmax_attributes_bytes: 10, want at least 256",
		},
	}
	// Validate reads digest_key::file: rows naming the testdata path are
	// validated with a real key there, and compared with the path as loaded.
	const testdataDigestKey = "/etc/govaudit/digest.key"
	keyFile := filepath.Join(t.TempDir(), "digest.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(testKey+"\n"), 0o600))
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			err = sub.Unmarshal(cfg)
			if err == nil {
				c := &cfg.(*Config).Capture.DigestKey
				if c.File == testdataDigestKey {
					c.File = keyFile
				}
				err = confmap.Validate(cfg)
			}
			if tt.errorMsg != "" {
				assert.EqualError(t, err, tt.errorMsg)
				return
			}
			require.NoError(t, err)
			if c := &cfg.(*Config).Capture.DigestKey; c.File == keyFile {
				c.File = testdataDigestKey
			}
			assert.Equal(t, tt.expected, cfg)
		})
	}
}

// TestValidateReadsDigestKeyFile: `otelcol-govaudit validate` runs Validate,
// which reads digest_key::file as start-up does, so a missing or short key
// fails validation, not only the first start.
func TestValidateReadsDigestKeyFile(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short.key")
	require.NoError(t, os.WriteFile(short, []byte("0123\n"), 0o600))
	for path, want := range map[string]string{
		filepath.Join(dir, "missing.key"): "capture: digest_key::file: open " + filepath.Join(dir, "missing.key") + ": no such file or directory",
		short:                             "capture: digest_key::file " + short + ": key is 4 bytes, want at least 32",
	} {
		cfg := createDefaultConfig().(*Config)
		cfg.Capture.DigestKey.File = path
		assert.EqualError(t, confmap.Validate(cfg), want)
		_, err := NewFactory().CreateTracesToLogs(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
		assert.EqualError(t, err, strings.TrimPrefix(want, "capture: "), "start-up refuses it with the same words")
	}
}

func TestMaxAttributesBytesBounds(t *testing.T) {
	cfg := keyedDefaultConfig()
	cfg.MaxAttributesBytes = 16<<20 + 1
	assert.EqualError(t, cfg.Validate(), "max_attributes_bytes: 16777217, want at most 16777216 (the record's cap of attributes)")
	cfg.MaxAttributesBytes = 16 << 20
	assert.NoError(t, cfg.Validate())
}
