package decisionmetricsconnector // import "github.com/govaudit/govaudit/connector/decisionmetricsconnector"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"

	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/drift"
	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/metadata"
)

const (
	defaultMaxLabelValues    = 100
	defaultDecisionCacheSize = 100000
)

// defaultLatencyBuckets suit model calls: from 50 ms (a classic model or a
// cached answer) to two minutes (a long generation or an agent step).
var defaultLatencyBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}

// NewFactory returns the factory of the decisionmetrics connector.
func NewFactory() connector.Factory {
	return connector.NewFactory(
		metadata.Type,
		createDefaultConfig,
		connector.WithLogsToMetrics(createLogsToMetrics, metadata.LogsToMetricsStability),
		connector.WithLogsToLogs(createLogsToLogs, metadata.LogsToLogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		MaxLabelValues:    defaultMaxLabelValues,
		LatencyBuckets:    append([]float64(nil), defaultLatencyBuckets...),
		DecisionCacheSize: defaultDecisionCacheSize,
		Drift:             drift.DefaultConfig(),
	}
}

func createLogsToMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Logs, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return newConnector(cfg.(*Config), set.TelemetrySettings, tb, next, nil), nil
}

// createLogsToLogs makes the instance that writes drift records (and no
// metric); see decisionConnector.
func createLogsToLogs(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Logs, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return newConnector(cfg.(*Config), set.TelemetrySettings, tb, nil, next), nil
}
