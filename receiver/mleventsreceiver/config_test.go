package mleventsreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/govaudit/govaudit/receiver/mleventsreceiver/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		id       component.ID
		expected func(*Config)
		wantErr  string // exact Validate error
		// unmarshalErr is a substring of the Unmarshal error: confmap wraps
		// it in multi-line context of its own.
		unmarshalErr string
	}{
		{id: component.NewID(metadata.Type), expected: func(*Config) {}},
		{
			id: component.NewIDWithName(metadata.Type, "custom"),
			expected: func(c *Config) {
				c.NetAddr.Endpoint = "0.0.0.0:9999"
				c.MaxRequestBodySize = 1 << 20
				c.MaxAttributesBytes = 4096
				c.MaxEventsPerRequest = 50
				c.Auth = configoptional.Some(confighttp.AuthConfig{
					Config: configauth.Config{AuthenticatorID: component.MustNewID("bearertokenauth")},
				})
				c.CloudEvents.Path = "/events"
				c.MLflow.Path = "/hooks/mlflow"
				c.MLflow.Secret = "govaudit-test-secret"
				c.MLflow.TimestampTolerance = time.Minute
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "mlflow_only"),
			expected: func(c *Config) {
				c.CloudEvents.Enabled = false
				c.MLflow.Secret = "govaudit-test-secret"
			},
		},
		{id: component.NewIDWithName(metadata.Type, "empty_endpoint"), wantErr: "endpoint must not be empty"},
		{id: component.NewIDWithName(metadata.Type, "open_network"), wantErr: errOpenCloudEvents.Error() + "\n" + errOpenMLflow.Error()},
		{id: component.NewIDWithName(metadata.Type, "open_mlflow"), wantErr: "mlflow::secret: required when endpoint is not a loopback address and mlflow::enabled without auth " +
			"(set mlflow::secret to the MLflow webhook secret, or insecure_allow_unauthenticated: true to accept unsigned deliveries)"},
		{
			id: component.NewIDWithName(metadata.Type, "insecure"),
			expected: func(c *Config) {
				c.NetAddr.Endpoint = "0.0.0.0:8737"
				c.InsecureAllowUnauthenticated = true
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "mlflow_signed"),
			expected: func(c *Config) {
				c.NetAddr.Endpoint = "[::]:8738"
				c.CloudEvents.Enabled = false
				c.MLflow.Secret = "govaudit-test-secret"
			},
		},
		{id: component.NewIDWithName(metadata.Type, "localhost"), expected: func(c *Config) { c.NetAddr.Endpoint = "localhost:8737" }},
		{id: component.NewIDWithName(metadata.Type, "relative_path"), wantErr: `cloudevents::path: "events" must start with "/"`},
		{id: component.NewIDWithName(metadata.Type, "wildcard_path"), wantErr: `mlflow::path: "/v1/{id}": character '{' not allowed (want letters, digits, "-._~/")`},
		{id: component.NewIDWithName(metadata.Type, "trailing_slash"), wantErr: `cloudevents::path: "/v1/" must not end with "/" (it would match every path below it)`},
		{id: component.NewIDWithName(metadata.Type, "same_path"), wantErr: "cloudevents::path and mlflow::path must differ"},
		{id: component.NewIDWithName(metadata.Type, "nothing_enabled"), wantErr: "cloudevents::enabled and mlflow::enabled are both false: the receiver would serve nothing"},
		{id: component.NewIDWithName(metadata.Type, "zero_tolerance"), wantErr: "mlflow::timestamp_tolerance must be > 0 and <= 24h0m0s"},
		{id: component.NewIDWithName(metadata.Type, "small_attributes"), wantErr: "max_attributes_bytes must be between 1024 and 16777216"},
		{
			id: component.NewIDWithName(metadata.Type, "deprecated_size"), // the old name of max_attributes_bytes
			expected: func(c *Config) {
				c.MaxAttributesBytes = 4096
				c.deprecatedAttributesSize = true
			},
		},
		{id: component.NewIDWithName(metadata.Type, "deprecated_size_small"), wantErr: "max_attributes_bytes must be between 1024 and 16777216"},
		{id: component.NewIDWithName(metadata.Type, "both_sizes"), unmarshalErr: "max_attributes_size: deprecated name of max_attributes_bytes, set only max_attributes_bytes"},
		{id: component.NewIDWithName(metadata.Type, "no_events"), wantErr: "max_events_per_request must be between 1 and 10000"},
		{id: component.NewIDWithName(metadata.Type, "too_many_events"), wantErr: "max_events_per_request must be between 1 and 10000"},
		{id: component.NewIDWithName(metadata.Type, "typo"), unmarshalErr: "'mleventsreceiver.MLflowConfig' has invalid keys: secrett"},
		{id: component.NewIDWithName(metadata.Type, "typo_top"), unmarshalErr: "unknown keys max_attribute_size (want one of auth, cloudevents, compression_algorithms, cors, dialer, endpoint, "},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig().(*Config)
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			if tt.unmarshalErr != "" {
				assert.ErrorContains(t, sub.Unmarshal(cfg), tt.unmarshalErr)
				return
			}
			require.NoError(t, sub.Unmarshal(cfg))

			if tt.wantErr != "" {
				assert.EqualError(t, confmap.Validate(cfg), tt.wantErr)
				return
			}
			require.NoError(t, confmap.Validate(cfg))
			want := NewFactory().CreateDefaultConfig().(*Config)
			tt.expected(want)
			assert.Equal(t, want, cfg)
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, "127.0.0.1:8737", cfg.NetAddr.Endpoint)
	assert.Equal(t, "/v1/events", cfg.CloudEvents.Path)
	assert.Equal(t, "/v1/mlflow", cfg.MLflow.Path)
	assert.True(t, cfg.CloudEvents.Enabled)
	assert.True(t, cfg.MLflow.Enabled)
	assert.Equal(t, 5*time.Minute, cfg.MLflow.TimestampTolerance)
	assert.Equal(t, 65536, cfg.MaxAttributesBytes)
	assert.Equal(t, 1000, cfg.MaxEventsPerRequest)
	assert.Empty(t, string(cfg.MLflow.Secret))
	require.NoError(t, confmap.Validate(cfg))
}
