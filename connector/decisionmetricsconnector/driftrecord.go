package decisionmetricsconnector // import "github.com/govaudit/govaudit/connector/decisionmetricsconnector"

import (
	"context"
	"sort"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/govaudit/govaudit/internal/record"
)

// Drift records: what the logs→logs instance writes when a PSI crosses
// drift.threshold.
const (
	// EventNameDrift is the event_name of a drift record.
	EventNameDrift = "drift.threshold_exceeded"
	// StatisticPSI is the statistic a drift record names.
	StatisticPSI = "psi"

	// Keys of a drift record's attributes (its attributes column).
	attrDriftFeature       = "drift.feature"
	attrDriftStatistic     = "drift.statistic"
	attrDriftValue         = "drift.value"
	attrDriftThreshold     = "drift.threshold"
	attrDriftReferenceSize = "drift.reference_size"
	attrDriftWindowSize    = "drift.window_size"
	attrDriftBins          = "drift.bins"
)

// driftRecords checks every tracker the batch changed against
// drift.threshold and returns a drift record for each that crossed it
// upwards: its PSI is above the threshold now and was not at the end of
// the last batch that changed it. A tracker re-arms when its PSI is back at
// or below the threshold. Requires c.mu.
func (c *decisionConnector) driftRecords(now pcommon.Timestamp) []record.Record {
	var keys []driftKey
	for k := range c.driftTouched {
		psi, ok := c.drift[k].PSI()
		if !ok {
			continue
		}
		above := psi > c.cfg.Drift.Threshold
		if above && !c.driftAbove[k] {
			keys = append(keys, k)
		}
		if above {
			c.driftAbove[k] = true
		} else {
			delete(c.driftAbove, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		x, y := keys[i], keys[j]
		return x.model+"\x00"+x.version+"\x00"+x.feature < y.model+"\x00"+y.version+"\x00"+y.feature
	})
	recs := make([]record.Record, 0, len(keys))
	for _, k := range keys {
		psi, _ := c.drift[k].PSI()
		r, err := c.driftRecord(k, psi, now)
		if err != nil {
			c.logger.Error("drift record not built", zap.Error(err))
			continue
		}
		recs = append(recs, r)
	}
	return recs
}

// driftRecord is the governance record of tracker k crossing the threshold
// with value psi.
func (c *decisionConnector) driftRecord(k driftKey, psi float64, now pcommon.Timestamp) (record.Record, error) {
	d := c.cfg.Drift
	attrs, err := record.CanonicalJSON(map[string]any{
		attrDriftFeature:       k.feature,
		attrDriftStatistic:     StatisticPSI,
		attrDriftValue:         psi,
		attrDriftThreshold:     d.Threshold,
		attrDriftReferenceSize: d.ReferenceSize,
		attrDriftWindowSize:    d.WindowSize,
		attrDriftBins:          d.Bins,
	})
	if err != nil {
		return record.Record{}, err
	}
	t := int64(now)
	r := record.Record{
		SchemaVersion:    record.SchemaVersion,
		ID:               record.NewID(),
		Type:             record.TypeDrift,
		EventName:        EventNameDrift,
		StartTime:        t,
		ObservedTime:     t,
		RequestModel:     k.model,
		ModelVersion:     k.version,
		Attributes:       attrs,
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
	all := append(c.driftPending, recs...)
	c.driftPending = nil
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
	c.driftPending = append(all, c.driftPending...)
	if n := len(c.driftPending) - maxPendingDrift; n > 0 {
		c.logger.Error("drift records dropped: the logs pipeline refused them and too many are pending",
			zap.Int("dropped", n))
		c.driftPending = c.driftPending[n:]
	}
	c.logger.Warn("drift records not delivered; resent with the next batch",
		zap.Int("pending", len(c.driftPending)), zap.Error(err))
}
