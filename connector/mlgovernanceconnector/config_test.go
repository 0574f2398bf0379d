package mlgovernanceconnector

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

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
			errorMsg: "capture: digest_key: no digest key configured, but input (digest), output (digest), system_instructions (digest), tool_arguments (digest), tool_result (digest), retrieval_documents (digest), unmapped_attributes (digest) need one: set digest_key.file or digest_key.value",
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
				IncludeNonML:         true,
				AttributionCacheSize: 500,
				MaxAttributesBytes:   8192,
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
			errorMsg: "capture: allowed_attributes[0]: \"*\" would allow every attribute: set unmapped_attributes: keep instead\nallowed_attributes[1] \"gen_ai.*.id\": '*' is only allowed at the end (a prefix)",
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
			errorMsg: "capture: redact.custom[0] \"account\": error parsing regexp: missing closing ): `ACC-(\\d+`",
		},
		{
			id:       component.NewIDWithName(metadata.Type, "negative_cache"),
			errorMsg: "attribution_cache_size: must not be negative\nmax_attributes_bytes: 10, want at least 256",
		},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			err = sub.Unmarshal(cfg)
			if err == nil {
				err = confmap.Validate(cfg)
			}
			if tt.errorMsg != "" {
				assert.EqualError(t, err, tt.errorMsg)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.expected, cfg)
		})
	}
}

func TestMaxAttributesBytesBounds(t *testing.T) {
	cfg := keyedDefaultConfig()
	cfg.MaxAttributesBytes = 16<<20 + 1
	assert.EqualError(t, cfg.Validate(), "max_attributes_bytes: 16777217, want at most 16777216 (the record's cap of attributes)")
	cfg.MaxAttributesBytes = 16 << 20
	assert.NoError(t, cfg.Validate())
}
