package auditparquetexporter // import "github.com/govaudit/govaudit/exporter/auditparquetexporter"

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/govaudit/govaudit/exporter/auditparquetexporter/internal/metadata"
)

// telemetry holds the exporter's own metrics (see metadata.yaml).
type telemetry struct {
	filesSealed  metric.Int64Counter
	rowsWritten  metric.Int64Counter
	bytesWritten metric.Int64Counter
	sealDuration metric.Float64Histogram
	recovery     metric.Int64Counter
	rejected     metric.Int64Counter
	deduplicated metric.Int64Counter
	errorCount   metric.Int64Counter
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	m := set.MeterProvider.Meter(metadata.ScopeName)
	var t telemetry
	var errs, err error
	t.filesSealed, err = m.Int64Counter("otelcol_auditparquet_files_sealed", metric.WithUnit("{file}"),
		metric.WithDescription("Number of data files sealed (written, synced, renamed, made read-only)."))
	errs = errors.Join(errs, err)
	t.rowsWritten, err = m.Int64Counter("otelcol_auditparquet_rows_written", metric.WithUnit("{row}"),
		metric.WithDescription("Number of rows written to sealed data files."))
	errs = errors.Join(errs, err)
	t.bytesWritten, err = m.Int64Counter("otelcol_auditparquet_bytes_written", metric.WithUnit("By"),
		metric.WithDescription("Bytes of sealed data files written."))
	errs = errors.Join(errs, err)
	t.sealDuration, err = m.Float64Histogram("otelcol_auditparquet_seal_duration", metric.WithUnit("s"),
		metric.WithDescription("Time to seal one data file, including its index and checkpoint files."))
	errs = errors.Join(errs, err)
	t.recovery, err = m.Int64Counter("otelcol_auditparquet_recovery_actions", metric.WithUnit("{action}"),
		metric.WithDescription("Recovery actions taken at start, by action."))
	errs = errors.Join(errs, err)
	t.rejected, err = m.Int64Counter("otelcol_auditparquet_records_rejected", metric.WithUnit("{record}"),
		metric.WithDescription("Log records rejected because they are not valid sealed governance records."))
	errs = errors.Join(errs, err)
	t.deduplicated, err = m.Int64Counter("otelcol_auditparquet_records_deduplicated", metric.WithUnit("{record}"),
		metric.WithDescription("Records skipped because they were already archived (queue redelivery)."))
	errs = errors.Join(errs, err)
	t.errorCount, err = m.Int64Counter("otelcol_auditparquet_errors", metric.WithUnit("{error}"),
		metric.WithDescription("Errors while writing, by operation."))
	errs = errors.Join(errs, err)
	return &t, errs
}

func (t *telemetry) recovered(ctx context.Context, action string) {
	t.recovery.Add(ctx, 1, metric.WithAttributes(attribute.String("action", action)))
}

func (t *telemetry) errors(ctx context.Context, op string) {
	t.errorCount.Add(ctx, 1, metric.WithAttributes(attribute.String("operation", op)))
}
