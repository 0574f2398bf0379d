package mlgovernanceconnector // import "github.com/govaudit/govaudit/connector/mlgovernanceconnector"

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/metadata"
	"github.com/govaudit/govaudit/internal/record"
)

// Reasons an item produced no record (attribute "reason" of mlgovernance.items.skipped).
const (
	skipNonML          = "non_ml"          // no ML convention recognised, include_non_ml is false
	skipGovauditRecord = "govaudit_record" // already a governance record (a logs pipeline loop)
	skipInvalidRecord  = "invalid_record"  // the record failed Validate: a connector bug, logged
)

// telemetry holds the connector's own metrics (metadata.yaml, telemetry).
type telemetry struct {
	produced metric.Int64Counter
	skipped  metric.Int64Counter
	flagged  metric.Int64Counter
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	m := set.MeterProvider.Meter(metadata.ScopeName)
	var t telemetry
	var errs [3]error
	t.produced, errs[0] = m.Int64Counter("mlgovernance.records.produced",
		metric.WithDescription("Governance records produced, by record_type and source_convention."),
		metric.WithUnit("{record}"))
	t.skipped, errs[1] = m.Int64Counter("mlgovernance.items.skipped",
		metric.WithDescription("Spans and log records that produced no record, by signal and reason (non_ml, govaudit_record)."),
		metric.WithUnit("{item}"))
	t.flagged, errs[2] = m.Int64Counter("mlgovernance.records.flagged",
		metric.WithDescription("Records carrying a quality flag, by flag (a record with two flags counts once per flag)."),
		metric.WithUnit("{record}"))
	return &t, errors.Join(errs[:]...)
}

func (t *telemetry) recordProduced(ctx context.Context, r *record.Record) {
	t.produced.Add(ctx, 1, metric.WithAttributes(
		attribute.String("record_type", string(r.Type)),
		attribute.String("source_convention", r.SourceConvention)))
	for _, f := range r.Flags {
		t.flagged.Add(ctx, 1, metric.WithAttributes(attribute.String("flag", f)))
	}
}

func (t *telemetry) recordSkipped(ctx context.Context, signal, reason string) {
	t.skipped.Add(ctx, 1, metric.WithAttributes(attribute.String("signal", signal), attribute.String("reason", reason)))
}
