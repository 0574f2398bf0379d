package auditparquetexporter // import "github.com/govaudit/govaudit/exporter/auditparquetexporter"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/govaudit/govaudit/exporter/auditparquetexporter/internal/metadata"
)

const (
	defaultMaxRows  = 100_000
	defaultMaxBytes = 256 << 20
	defaultMaxAge   = 5 * time.Minute
)

// NewFactory returns a factory for the auditparquet exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithLogs(createLogsExporter, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	// The queue is off by default: ConsumeLogs then returns only once the
	// records are in the fsynced write-ahead log, so auditsign's success
	// means "durable". An in-memory queue would acknowledge records that a
	// crash loses, leaving a gap in the log. Enabled, it keeps one consumer.
	queue := exporterhelper.NewDefaultQueueConfig()
	queue.NumConsumers = 1 // rows must stay in leaf order
	// Retry is off by default: in the synchronous logs/audit pipeline,
	// exporterhelper's retry would hold the request (and auditsign's lock)
	// for up to max_elapsed_time, so a full disk would block every client
	// until its timeout. A failed write is undone and returned at once as a
	// retryable error; the client SDK retries.
	retry := configretry.NewDefaultBackOffConfig()
	retry.Enabled = false
	return &Config{
		Rotation:      RotationConfig{MaxRows: defaultMaxRows, MaxBytes: defaultMaxBytes, MaxAge: defaultMaxAge},
		TimeoutConfig: exporterhelper.NewDefaultTimeoutConfig(),
		QueueConfig:   configoptional.Default(queue),
		BackOffConfig: retry,
		S3:            configoptional.Default(S3Config{Retention: RetentionConfig{Mode: RetentionCompliance}}),
	}
}

// createLogsExporter creates one archive writer per component instance. Only
// the logs signal exists, so no sharedcomponent is needed; two instances must
// not share a directory (see README).
func createLogsExporter(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	w, err := newArchiveWriter(c, set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, set, cfg, w.consumeLogs,
		exporterhelper.WithStart(w.start),
		exporterhelper.WithShutdown(w.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(c.TimeoutConfig),
		exporterhelper.WithQueue(c.QueueConfig),
		exporterhelper.WithRetry(c.BackOffConfig),
	)
}
