package auditsignprocessor

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/govaudit/govaudit/processor/auditsignprocessor/internal/metadata"
)

// Reasons for opening an epoch (the "reason" attribute of
// otelcol_auditsign_epochs_opened and of the epoch start record).
const (
	reasonNoStorage     = "no_storage"     // no storage extension configured
	reasonNoState       = "no_state"       // storage holds no state yet
	reasonDirtyState    = "dirty_state"    // the last run stopped between persisting and releasing
	reasonCorruptState  = "corrupt_state"  // the state did not decode or was inconsistent
	reasonOriginChanged = "origin_changed" // the state belongs to another origin
)

// telemetry holds the processor's internal metrics (see metadata.yaml).
type telemetry struct {
	leaves      metric.Int64Counter
	checkpoints metric.Int64Counter
	epochs      metric.Int64Counter
	rejected    metric.Int64Counter
	treeSize    metric.Int64Gauge
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	m := set.MeterProvider.Meter(metadata.ScopeName)
	var t telemetry
	var err error
	if t.leaves, err = m.Int64Counter("otelcol_auditsign_leaves_appended",
		metric.WithDescription("Number of governance records appended to the Merkle log and accepted downstream."),
		metric.WithUnit("{records}")); err != nil {
		return nil, err
	}
	if t.checkpoints, err = m.Int64Counter("otelcol_auditsign_checkpoints_signed",
		metric.WithDescription("Number of checkpoints signed."),
		metric.WithUnit("{checkpoints}")); err != nil {
		return nil, err
	}
	if t.epochs, err = m.Int64Counter("otelcol_auditsign_epochs_opened",
		metric.WithDescription("Number of epochs opened, by reason."),
		metric.WithUnit("{epochs}")); err != nil {
		return nil, err
	}
	if t.rejected, err = m.Int64Counter("otelcol_auditsign_rejected_log_records",
		metric.WithDescription("Number of log records rejected because they are not valid governance records."),
		metric.WithUnit("{records}")); err != nil {
		return nil, err
	}
	if t.treeSize, err = m.Int64Gauge("otelcol_auditsign_tree_size",
		metric.WithDescription("Number of leaves in the current epoch's tree."),
		metric.WithUnit("{leaves}")); err != nil {
		return nil, err
	}
	return &t, nil
}

func (t *telemetry) epochOpened(reason string) {
	t.epochs.Add(context.Background(), 1, metric.WithAttributes(attribute.String("reason", reason)))
}
