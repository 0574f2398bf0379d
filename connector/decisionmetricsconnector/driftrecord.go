package decisionmetricsconnector // import "github.com/govaudit/govaudit/connector/decisionmetricsconnector"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/drift"
	"github.com/govaudit/govaudit/internal/record"
)

// Drift records: what the logs→logs instance writes when a statistic
// crosses its threshold.
const (
	// EventNameDrift is the event_name of a drift record.
	EventNameDrift = "drift.threshold_exceeded"

	// Keys of a drift record's attributes (its attributes column).
	attrDriftFeature        = "drift.feature"
	attrDriftStatistic      = "drift.statistic"
	attrDriftValue          = "drift.value"
	attrDriftThreshold      = "drift.threshold"
	attrDriftReferenceMode  = "drift.reference_mode"
	attrDriftReferenceSize  = "drift.reference_size"
	attrDriftReferenceSince = "drift.reference_since"
	attrDriftReferenceUntil = "drift.reference_until"
	attrDriftWindowSize     = "drift.window_size"
	attrDriftBins           = "drift.bins"
	attrDriftReferenceRate  = "drift.reference_rate"
	attrDriftWindowRate     = "drift.window_rate"
)

// driftRecords checks every tracker the batch changed against its
// threshold and returns a drift record for each that crossed it upwards:
// its statistic (PSI, or |z|) is above the threshold now and was not at
// the end of the last batch that changed it. A tracker re-arms when it is
// back at or below the threshold. Requires c.mu.
func (c *decisionConnector) driftRecords(now pcommon.Timestamp) []record.Record {
	d := &c.drift
	var recs []record.Record
	for _, k := range d.changed() {
		v, _ := d.trackers[k].Value()
		threshold := c.cfg.Drift.ThresholdOf(k.feature)
		above := exceeds(k.feature, v, threshold)
		crossed := above && !d.above[k]
		if above {
			d.above[k] = true
		} else {
			delete(d.above, k)
		}
		if !crossed {
			continue
		}
		r, err := c.driftRecord(k, v, threshold, now)
		if err != nil {
			c.logger.Error("drift record not built", zap.Error(err))
			continue
		}
		recs = append(recs, r)
	}
	return recs
}

// driftRecord is the governance record of tracker k crossing threshold
// with value v.
func (c *decisionConnector) driftRecord(k driftKey, v, threshold float64, now pcommon.Timestamp) (record.Record, error) {
	cfg := c.cfg.Drift
	t := c.drift.trackers[k]
	attrs := map[string]any{
		attrDriftFeature:       k.feature,
		attrDriftStatistic:     drift.StatisticOf(k.feature),
		attrDriftValue:         v,
		attrDriftThreshold:     threshold,
		attrDriftReferenceMode: string(cfg.Reference.Mode),
		attrDriftReferenceSize: t.ReferenceSize(),
		attrDriftWindowSize:    cfg.WindowSize,
	}
	if cfg.Reference.Mode == drift.ReferenceWindow {
		attrs[attrDriftReferenceSince] = cfg.Reference.Since.UTC().Format(time.RFC3339Nano)
		attrs[attrDriftReferenceUntil] = cfg.Reference.Until.UTC().Format(time.RFC3339Nano)
	}
	switch t := t.(type) {
	case *drift.RateTracker:
		attrs[attrDriftReferenceRate], attrs[attrDriftWindowRate] = t.Rates()
	default:
		attrs[attrDriftBins] = cfg.Bins
	}
	text, err := record.CanonicalJSON(attrs)
	if err != nil {
		return record.Record{}, err
	}
	at := int64(now)
	r := record.Record{
		SchemaVersion:    record.SchemaVersion,
		ID:               record.NewID(),
		Type:             record.TypeDrift,
		EventName:        EventNameDrift,
		StartTime:        at,
		ObservedTime:     at,
		RequestModel:     k.model,
		ModelVersion:     k.version,
		Attributes:       text,
		SourceConvention: record.SourceGovaudit,
	}
	r.ApplyCaps()
	return r, r.Validate()
}

// sendDrift sends the pending drift records and recs to the logs pipeline.
// A failure keeps them for the next batch rather than failing this one:
// the connector shares its senders with the audit pipeline, whose clients
// would otherwise retry records the archive already holds.
func (c *decisionConnector) sendDrift(ctx context.Context, recs []record.Record) {
	c.mu.Lock()
	all := append(c.drift.pending, recs...)
	c.drift.pending = nil
	c.mu.Unlock()
	if len(all) == 0 {
		return
	}
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("github.com/govaudit/govaudit/connector/decisionmetricsconnector")
	for i := range all {
		all[i].ToLogRecord(sl.LogRecords().AppendEmpty())
	}
	err := c.nextLogs.ConsumeLogs(ctx, ld)
	if err == nil {
		for _, r := range all {
			c.logger.Info("drift threshold crossed; drift record sent",
				zap.String("request_model", r.RequestModel), zap.String("model_version", r.ModelVersion),
				zap.String("record_id", r.ID))
		}
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	d := &c.drift
	d.pending = append(all, d.pending...)
	if n := len(d.pending) - maxPendingDrift; n > 0 {
		c.logger.Error("drift records dropped: the logs pipeline refused them and too many are pending",
			zap.Int("dropped", n))
		c.telemetry.DriftRecordsDropped.Add(ctx, int64(n))
		d.pending = d.pending[n:]
	}
	c.logger.Warn("drift records not delivered; resent with the next batch",
		zap.Int("pending", len(d.pending)), zap.Error(err))
}
