package decisionmetricsconnector

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/drift"
	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	tests := []struct {
		id       component.ID
		expected component.Config
		errorMsg string
		// unmarshalError is a part of the error of loading the config.
		unmarshalError string
	}{
		{id: component.NewID(metadata.Type), expected: createDefaultConfig()},
		{id: component.NewIDWithName(metadata.Type, "custom"), expected: &Config{
			MaxLabelValues: 5, LatencyBuckets: []float64{0.1, 1, 10}, DecisionCacheSize: 0,
			Drift: drift.Config{
				Enabled: true, Reference: drift.ReferenceConfig{Mode: drift.ReferenceFirstRecords, Size: 500},
				WindowSize: 200, Bins: 5, Threshold: 0.1,
				Thresholds:       map[string]float64{"feature.income": 0.2, "error_rate": 4, "psi": 0.15},
				DeclaredFeatures: false, MaxFeatures: 5, MaxCategories: 50, MaxModelVersions: 10,
			},
		}},
		{id: component.NewIDWithName(metadata.Type, "reference_window"), expected: func() component.Config {
			cfg := createDefaultConfig().(*Config)
			cfg.Drift.Reference = drift.ReferenceConfig{Mode: drift.ReferenceWindow, Size: 5000,
				Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}
			return cfg
		}()},
		{id: component.NewIDWithName(metadata.Type, "no_drift"), expected: func() component.Config {
			cfg := createDefaultConfig().(*Config)
			cfg.Drift.Enabled, cfg.Drift.Bins = false, 0
			return cfg
		}()},
		{id: component.NewIDWithName(metadata.Type, "bad_drift"), errorMsg: "drift: reference::size: 10, want 100 to 1000000\n" +
			"bins: 100, want 2 to 50\n" +
			"threshold: 0, want above 0 and at most 100\n" +
			"thresholds::feature.income: -1, want above 0 and at most 100\n" +
			"thresholds::latency: unknown feature or statistic (want psi, z, error_rate, input_tokens, outcome, output_tokens, prediction, refusal_rate, score, or feature.<name> for a declared feature)"},
		{id: component.NewIDWithName(metadata.Type, "bad_window"), unmarshalError: `'drift.reference.until' parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"`},
		{id: component.NewIDWithName(metadata.Type, "window_without_until"), errorMsg: "drift: reference::until: required when reference::mode is window (an RFC 3339 time, e.g. 2026-01-01T00:00:00Z)"},
		{id: component.NewIDWithName(metadata.Type, "bad_mode"), unmarshalError: `'drift.reference.mode' unknown reference mode "sliding" (want first_records or window)`},
		{id: component.NewIDWithName(metadata.Type, "old_reference_size"), unmarshalError: "'drift' has invalid keys: reference_size"},
		{id: component.NewIDWithName(metadata.Type, "zero_labels"), errorMsg: "max_label_values: 0, want 1 to 10000"},
		{id: component.NewIDWithName(metadata.Type, "bad_buckets"), errorMsg: "latency_buckets::1: 0.5 is not above latency_buckets::0 (1); bounds must increase\n" +
			"latency_buckets::2: -2, want a positive number of seconds"},
		{id: component.NewIDWithName(metadata.Type, "negative_cache"), errorMsg: "decision_cache_size: -1, want 0 to 10000000"},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			if tt.unmarshalError != "" {
				err := sub.Unmarshal(cfg)
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.unmarshalError)
				return
			}
			require.NoError(t, sub.Unmarshal(cfg))
			if tt.errorMsg != "" {
				assert.EqualError(t, confmap.Validate(cfg), tt.errorMsg)
				return
			}
			require.NoError(t, confmap.Validate(cfg))
			assert.Equal(t, tt.expected, cfg)
		})
	}
}

func TestValidateEmptyBuckets(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.LatencyBuckets = nil
	assert.EqualError(t, cfg.Validate(), "latency_buckets: empty, want at least one bound in seconds")
}
