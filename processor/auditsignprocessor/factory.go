package auditsignprocessor

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"

	"github.com/govaudit/govaudit/processor/auditsignprocessor/internal/metadata"
)

// defaultCheckpointInterval is the default of checkpoint_interval.
const defaultCheckpointInterval = time.Second

// NewFactory returns the factory of the auditsign processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{CheckpointInterval: defaultCheckpointInterval}
}

func createLogs(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	return newAuditSign(set, cfg.(*Config), next)
}
