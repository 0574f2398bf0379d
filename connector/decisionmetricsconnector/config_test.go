package decisionmetricsconnector

import (
	"path/filepath"
	"testing"

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
	}{
		{id: component.NewID(metadata.Type), expected: createDefaultConfig()},
		{id: component.NewIDWithName(metadata.Type, "custom"), expected: &Config{
			MaxLabelValues: 5, LatencyBuckets: []float64{0.1, 1, 10}, DecisionCacheSize: 0,
			Drift: drift.Config{Enabled: true, ReferenceSize: 500, WindowSize: 200, Bins: 5, Threshold: 0.1},
		}},
		{id: component.NewIDWithName(metadata.Type, "no_drift"), expected: func() component.Config {
			cfg := createDefaultConfig().(*Config)
			cfg.Drift.Enabled, cfg.Drift.Bins = false, 0
			return cfg
		}()},
		{id: component.NewIDWithName(metadata.Type, "bad_drift"), errorMsg: "drift: reference_size: 10, want 100 to 1000000\nbins: 100, want 2 to 50\nthreshold: 0, want above 0 and at most 100"},
		{id: component.NewIDWithName(metadata.Type, "zero_labels"), errorMsg: "max_label_values: 0, want 1 to 10000"},
		{id: component.NewIDWithName(metadata.Type, "bad_buckets"), errorMsg: "latency_buckets[1]: 0.5 is not above latency_buckets[0] (1); bounds must increase\n" +
			"latency_buckets[2]: -2, want a positive number of seconds"},
		{id: component.NewIDWithName(metadata.Type, "negative_cache"), errorMsg: "decision_cache_size: -1, want 0 to 10000000"},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
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
