package mleventsreceiver // import "github.com/govaudit/govaudit/receiver/mleventsreceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/govaudit/govaudit/receiver/mleventsreceiver/internal/metadata"
)

// Defaults. Port 8737 avoids the defaults of common contrib receivers on the
// same collector: 8080 (webhookevent), 8088 (splunk_hec), 4317/4318 (otlp).
const (
	defaultEndpoint           = "127.0.0.1:8737"
	defaultCloudEventsPath    = "/v1/events"
	defaultMLflowPath         = "/v1/mlflow"
	defaultTimestampTolerance = 5 * time.Minute
	defaultMaxAttributesBytes = 64 << 10
	// defaultMaxEventsPerRequest keeps a full 20 MiB batch of small events
	// within a few times its size in memory (BenchmarkLargeBatchMemory),
	// while a batch of registry or review events rarely holds more than a
	// few dozen.
	defaultMaxEventsPerRequest = 1000
)

// NewFactory returns the factory of the mlevents receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = defaultEndpoint
	return &Config{
		ServerConfig: server,
		CloudEvents: CloudEventsConfig{
			Enabled: true,
			Path:    defaultCloudEventsPath,
		},
		MLflow: MLflowConfig{
			Enabled:            true,
			Path:               defaultMLflowPath,
			TimestampTolerance: defaultTimestampTolerance,
		},
		MaxAttributesBytes:  defaultMaxAttributesBytes,
		MaxEventsPerRequest: defaultMaxEventsPerRequest,
	}
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	if cfg.(*Config).deprecatedAttributesSize {
		set.Logger.Warn(deprecatedAttributesSizeKey + " is deprecated: rename it " + attributesBytesKey)
	}
	return newReceiver(cfg.(*Config), set, next)
}
