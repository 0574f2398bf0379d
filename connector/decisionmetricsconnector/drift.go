package decisionmetricsconnector // import "github.com/govaudit/govaudit/connector/decisionmetricsconnector"

import (
	"context"
	"encoding/json"
	"math"
	"sort"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/drift"
	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/metadata"
	"github.com/govaudit/govaudit/internal/record"
)

// Drift metrics (gauges, no unit).
const (
	metricDriftPSI       = "govaudit.drift.psi"
	metricDriftRateZ     = "govaudit.drift.rate_z"
	metricDriftThreshold = "govaudit.drift.threshold"
)

// Reasons of otelcol_decisionmetrics_drift_values_skipped set here (the
// others are drift.Result reasons) and of _drift_features_unread.
const (
	skipModelVersionCap = "model_version_cap"
	skipFeatureCap      = "feature_cap"
	skipUnsupported     = "unsupported_value"
	unreadNotCaptured   = "not_captured"
	unreadNotAnObject   = "not_an_object"
)

// driftKey names one drift tracker; model and version are label values
// (bounded by max_label_values).
type driftKey struct{ model, version, feature string }

func (k driftKey) less(o driftKey) bool {
	if k.model != o.model {
		return k.model < o.model
	}
	if k.version != o.version {
		return k.version < o.version
	}
	return k.feature < o.feature
}

// driftState is the drift part of a connector. Memory is bounded by
// drift.max_model_versions × (7 built-in + drift.max_features declared)
// trackers, each as internal/drift documents.
type driftState struct {
	trackers map[driftKey]drift.Measure
	// versions are the model versions that have trackers, with how many
	// declared features each tracks (at most drift.max_features).
	versions map[modelRef]int
	// touched are the trackers the current batch changed.
	touched map[driftKey]struct{}
	// above are the trackers whose statistic was above its threshold at
	// the end of the last batch that changed them: a drift record was
	// written when they crossed, and none is until they fall back.
	above map[driftKey]bool
	// pending are drift records the logs pipeline refused, resent before
	// the next batch's (at most maxPendingDrift, oldest dropped).
	pending []record.Record
	counts  driftCounts
}

// maxPendingDrift bounds the drift records kept for resending.
const maxPendingDrift = 1000

// driftCounts are the batch's counts for the component's own telemetry.
type driftCounts struct {
	skipped map[string]int64 // reason -> values
	capped  int64
	unread  map[string]int64 // reason -> records
}

func newDriftState() driftState {
	return driftState{
		trackers: map[driftKey]drift.Measure{}, versions: map[modelRef]int{},
		touched: map[driftKey]struct{}{}, above: map[driftKey]bool{},
		counts: driftCounts{skipped: map[string]int64{}, unread: map[string]int64{}},
	}
}

// takeCounts returns the batch's counts and starts new ones; it also ends
// the batch's set of touched trackers. Requires c.mu.
func (d *driftState) takeCounts() driftCounts {
	clear(d.touched)
	out := d.counts
	d.counts = driftCounts{skipped: map[string]int64{}, unread: map[string]int64{}}
	return out
}

// record adds the counts to the component's telemetry.
func (n driftCounts) record(ctx context.Context, tb *metadata.TelemetryBuilder) {
	for reason, v := range n.skipped {
		tb.DriftValuesSkipped.Add(ctx, v, metric.WithAttributes(attribute.String("reason", reason)))
	}
	if n.capped > 0 {
		tb.DriftValuesCapped.Add(ctx, n.capped)
	}
	for reason, v := range n.unread {
		tb.DriftFeaturesUnread.Add(ctx, v, metric.WithAttributes(attribute.String("reason", reason)))
	}
}

// driftValue is one value of a decision for a drift tracker: a number, a
// category, or an event of a rate.
type driftValue struct {
	feature string
	kind    byte // 'n' number, 'c' category, 'r' rate
	num     float64
	cat     string
	event   bool
}

// addDrift adds a decision's values to its model version's drift
// trackers. Requires c.mu.
func (c *decisionConnector) addDrift(r *record.Record, outcome string) {
	cfg := &c.cfg.Drift
	if !cfg.Enabled {
		return
	}
	d := &c.drift
	vals := make([]driftValue, 0, 8)
	if r.Score != nil {
		vals = append(vals, driftValue{feature: drift.FeatureScore, kind: 'n', num: *r.Score})
	}
	if r.InputTokens != nil {
		vals = append(vals, driftValue{feature: drift.FeatureInputTokens, kind: 'n', num: float64(*r.InputTokens)})
	}
	if r.OutputTokens != nil {
		vals = append(vals, driftValue{feature: drift.FeatureOutputTokens, kind: 'n', num: float64(*r.OutputTokens)})
	}
	vals = append(vals, driftValue{feature: drift.FeatureOutcome, kind: 'c', cat: outcome})
	if r.Prediction != "" {
		vals = append(vals, driftValue{feature: drift.FeaturePrediction, kind: 'c', cat: drift.Category(r.Prediction)})
	}
	vals = append(vals, driftValue{feature: drift.FeatureErrorRate, kind: 'r', event: outcome == outcomeError})
	classic := r.SourceConvention == record.SourceClassicML
	if !classic {
		// Refusals are a GenAI notion; a classic model's rate would be 0.
		vals = append(vals, driftValue{feature: drift.FeatureRefusalRate, kind: 'r', event: drift.IsRefusal(r.FinishReasons)})
	}
	builtin := len(vals)
	if classic && cfg.DeclaredFeatures {
		vals = c.declaredValues(r, vals)
	}

	model, version := c.limit(labelRequestModel, r.RequestModel), c.limit(labelModelVersion, r.ModelVersion)
	ref := modelRef{model, version}
	declared, ok := d.versions[ref]
	if !ok {
		if len(d.versions) >= cfg.MaxModelVersions {
			d.counts.skipped[skipModelVersionCap] += int64(len(vals))
			return
		}
		d.versions[ref] = 0
	}
	at := r.EventTime()
	for i, v := range vals {
		k := driftKey{model, version, v.feature}
		t := d.trackers[k]
		if t == nil {
			if i >= builtin {
				if declared >= cfg.MaxFeatures {
					d.counts.skipped[skipFeatureCap]++
					continue
				}
				declared++
				d.versions[ref] = declared
			}
			if v.kind == 'r' {
				t = drift.NewRateTracker(*cfg)
			} else {
				t = drift.NewTracker(*cfg)
			}
			d.trackers[k] = t
		}
		var res drift.Result
		switch v.kind {
		case 'n':
			res = t.(*drift.Tracker).AddNumber(v.num, at)
		case 'c':
			res = t.(*drift.Tracker).AddCategory(v.cat, at)
		case 'r':
			res = t.(*drift.RateTracker).Add(v.event, at)
		}
		switch res {
		case drift.Counted:
			d.touched[k] = struct{}{}
		case drift.CountedOther:
			d.touched[k] = struct{}{}
			d.counts.capped++
		default:
			d.counts.skipped[res.Reason()]++
		}
	}
}

// declaredValues appends the declared features of a classic-ML decision
// (the members of the JSON object its input holds, ml.input.features) in
// name order, so which features a model version tracks does not depend
// on map order. A member that is null, an array or an object is counted as
// unsupported_value, and a name over 128 bytes as feature_cap, and left
// out. Requires c.mu.
func (c *decisionConnector) declaredValues(r *record.Record, vals []driftValue) []driftValue {
	d := &c.drift
	if r.Input == "" {
		// Only a digest says features were there; under capture.input:
		// drop nothing does, and nothing is counted.
		if r.InputDigest != "" {
			d.counts.unread[unreadNotCaptured]++
		}
		return vals
	}
	var members map[string]any
	if err := json.Unmarshal([]byte(r.Input), &members); err != nil || members == nil {
		d.counts.unread[unreadNotAnObject]++
		return vals
	}
	names := make([]string, 0, len(members))
	for name := range members {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		feature, ok := drift.DeclaredFeature(name)
		if !ok {
			d.counts.skipped[skipFeatureCap]++
			continue
		}
		switch v := members[name].(type) {
		case float64:
			vals = append(vals, driftValue{feature: feature, kind: 'n', num: v})
		case string:
			vals = append(vals, driftValue{feature: feature, kind: 'c', cat: drift.Category(v)})
		case bool:
			vals = append(vals, driftValue{feature: feature, kind: 'c', cat: strconv.FormatBool(v)})
		default:
			d.counts.skipped[skipUnsupported]++
		}
	}
	return vals
}

// changed returns the trackers the batch changed that have a statistic,
// sorted. Requires c.mu.
func (d *driftState) changed() []driftKey {
	var keys []driftKey
	for k := range d.touched {
		if _, ok := d.trackers[k].Value(); ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].less(keys[j]) })
	return keys
}

// buildDrift adds the statistic of every drift tracker the batch changed
// that has one (govaudit.drift.psi or govaudit.drift.rate_z), and the
// threshold in force for it (govaudit.drift.threshold), so an alert
// compares the two without repeating the configuration.
func (c *decisionConnector) buildDrift(sm pmetric.ScopeMetrics, now pcommon.Timestamp) {
	keys := c.drift.changed()
	if len(keys) == 0 {
		return
	}
	var psi, z []driftKey
	for _, k := range keys {
		if drift.StatisticOf(k.feature) == drift.StatisticZ {
			z = append(z, k)
		} else {
			psi = append(psi, k)
		}
	}
	gauge := func(name, desc string, keys []driftKey, value func(driftKey) float64) {
		if len(keys) == 0 {
			return
		}
		m := sm.Metrics().AppendEmpty()
		m.SetName(name)
		m.SetDescription(desc)
		dps := m.SetEmptyGauge().DataPoints()
		for _, k := range keys {
			dp := dps.AppendEmpty()
			dp.Attributes().PutStr(labelRequestModel, k.model)
			dp.Attributes().PutStr(labelModelVersion, k.version)
			dp.Attributes().PutStr(labelFeature, k.feature)
			dp.SetTimestamp(now)
			dp.SetDoubleValue(value(k))
		}
	}
	stat := func(k driftKey) float64 {
		v, _ := c.drift.trackers[k].Value()
		return v
	}
	gauge(metricDriftPSI, "Population Stability Index of a model version's latest values of a feature against its reference (drift.window_size values against drift.reference), by request_model, model_version and feature.", psi, stat)
	gauge(metricDriftRateZ, "Two-proportion z of a model version's recent rate (error_rate, refusal_rate) against its reference's (drift.window_size recent decisions against drift.reference), by request_model, model_version and feature; positive when the rate rose.", z, stat)
	gauge(metricDriftThreshold, "Threshold of a drift statistic in force (drift.thresholds, else drift.threshold for PSI or 3 for |z|), by request_model, model_version and feature: sent with each govaudit.drift.psi and govaudit.drift.rate_z point.", keys,
		func(k driftKey) float64 { return c.cfg.Drift.ThresholdOf(k.feature) })
}

// exceeds reports whether a statistic is above its threshold: PSI, or |z|.
func exceeds(feature string, v, threshold float64) bool {
	if drift.StatisticOf(feature) == drift.StatisticZ {
		v = math.Abs(v)
	}
	return v > threshold
}
