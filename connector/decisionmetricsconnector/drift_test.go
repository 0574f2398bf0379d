package decisionmetricsconnector

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/drift"
	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/metadata"
	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/metadatatest"
	"github.com/govaudit/govaudit/internal/record"
)

// pipelines are both outputs of one connector configuration, as the
// quickstart wires them: the metrics instance (with its own telemetry) and
// the logs instance (drift records).
type pipelines struct {
	tel     *componenttest.Telemetry
	metrics connector.Logs
	logs    connector.Logs
	msink   *consumertest.MetricsSink
	lsink   *consumertest.LogsSink
}

func newPipelines(t *testing.T, cfg *Config) *pipelines {
	t.Helper()
	ctx := context.Background()
	p := &pipelines{tel: componenttest.NewTelemetry(), msink: new(consumertest.MetricsSink), lsink: new(consumertest.LogsSink)}
	t.Cleanup(func() { require.NoError(t, p.tel.Shutdown(ctx)) })
	set := connectortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = p.tel.NewTelemetrySettings()
	var err error
	p.metrics, err = NewFactory().CreateLogsToMetrics(ctx, set, cfg, p.msink)
	require.NoError(t, err)
	p.logs, err = NewFactory().CreateLogsToLogs(ctx, connectortest.NewNopSettings(metadata.Type), cfg, p.lsink)
	require.NoError(t, err)
	for _, c := range []connector.Logs{p.metrics, p.logs} {
		require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
		t.Cleanup(func() { require.NoError(t, c.Shutdown(ctx)) })
	}
	return p
}

// send feeds recs to both instances in batches of 250.
func (p *pipelines) send(t *testing.T, recs []record.Record) {
	t.Helper()
	for len(recs) > 0 {
		n := min(250, len(recs))
		ld := logsOf(recs[:n]...)
		for _, c := range []connector.Logs{p.metrics, p.logs} {
			cp := plog.NewLogs()
			ld.CopyTo(cp)
			require.NoError(t, c.ConsumeLogs(context.Background(), cp))
		}
		recs = recs[n:]
	}
}

// drifts returns the drift records sent so far by feature, with their
// attributes decoded.
func (p *pipelines) drifts(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, r := range driftRecordsOf(t, p.lsink.AllLogs()) {
		require.Equal(t, record.TypeDrift, r.Type)
		var attrs map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.Attributes), &attrs))
		attrs["model"], attrs["version"] = r.RequestModel, r.ModelVersion
		f := attrs["drift.feature"].(string)
		require.NotContains(t, out, f, "one drift record per crossing")
		out[f] = attrs
	}
	return out
}

// classic is a classic-ML decision of credit-risk version v whose input
// (capture.input: keep) holds the declared features.
func classic(id, v, input string) record.Record {
	r := rec(id, record.TypeInference)
	r.Provider, r.RequestModel, r.ModelVersion, r.Operation = "self_hosted", "credit-risk", v, "predict"
	r.SourceConvention, r.Input = record.SourceClassicML, input
	r.StartTime = t0
	return r
}

// normalQuantile is Φ⁻¹(p), the standard normal quantile.
func normalQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }

// psiShiftedHalfSigma is the PSI of N(μ+σ/2, σ) against N(μ, σ) in ten
// equal-frequency bins, computed from Φ (internal/drift normalPSI).
const psiShiftedHalfSigma = 0.23775

// TestDeclaredFeatureDrift: synthetic classic-ML decisions whose declared
// features drift by known amounts, through both outputs of the connector.
// Reference: the first 1,000 decisions of credit-risk 7; window: the next
// 1,000.
//   - income: N(50000, 10000) spread exactly (stratified quantiles, in a
//     shuffled order), then shifted by half a σ: PSI 0.2378 ± 0.005, above
//     its own threshold 0.1 (thresholds: feature.income), so a drift record.
//   - age (integers) and employed (booleans): the same distribution on both
//     sides: PSI 0, no record.
//   - region: north/south half and half, then 40/40 and a new category
//     east at 20%: PSI 2·(-0.1)·ln(0.8) + (0.2-ε)·ln(0.2/ε) = 1.5640,
//     above the default 0.25: a drift record.
//   - notes: null, not measured, counted as unsupported_value.
func TestDeclaredFeatureDrift(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Drift.Thresholds = map[string]float64{"feature.income": 0.1}
	p := newPipelines(t, cfg)

	var recs []record.Record
	for i := 0; i < 2000; i++ {
		j := (i * 7919) % 1000 // a permutation of 0..999
		income := 50000 + 10000*normalQuantile((float64(j)+0.5)/1000)
		region := []string{"north", "south"}[i%2]
		if i >= 1000 {
			income += 5000
			region = []string{"north", "south", "north", "south", "east"}[i%5]
		}
		input := fmt.Sprintf(`{"income": %s, "age": %d, "region": %q, "employed": %t, "notes": null}`,
			strconv.FormatFloat(income, 'g', -1, 64), 20+i%50, region, i%4 == 0)
		recs = append(recs, classic(fmt.Sprint("d", i), "7", input))
	}
	p.send(t, recs[:1000])
	assert.Empty(t, p.drifts(t), "no statistic before a whole window")
	p.send(t, recs[1000:])

	// Decisions of version 8 whose features could not be read.
	digestOnly := classic("u1", "8", "")
	digestOnly.InputDigest = "hmac-sha256:" + strings.Repeat("ab", 32)
	truncated := classic("u2", "8", `{"income": 52`)
	truncated.Flags = []string{record.FlagTruncated, "truncated:input"}
	p.send(t, []record.Record{digestOnly, truncated})

	got := flatten(t, p.msink.AllMetrics())
	key := func(metric, feature string) string {
		return metric + "{feature=" + feature + ",model_version=7,request_model=credit-risk}"
	}
	value := func(metric, feature string) float64 {
		t.Helper()
		s, ok := got[key(metric, feature)]
		require.True(t, ok, "no %s", key(metric, feature))
		v, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err)
		return v
	}
	assert.InDelta(t, psiShiftedHalfSigma, value(metricDriftPSI, "feature.income"), 0.005)
	assert.Zero(t, value(metricDriftPSI, "feature.age"))
	assert.Zero(t, value(metricDriftPSI, "feature.employed"))
	region := 2*(-0.1)*math.Log(0.8) + (0.2-drift.Epsilon)*math.Log(0.2/drift.Epsilon)
	assert.InDelta(t, region, value(metricDriftPSI, "feature.region"), 1e-12)
	assert.InDelta(t, 1.5640, region, 1e-4)
	assert.Zero(t, value(metricDriftPSI, "outcome"))
	assert.Zero(t, value(metricDriftRateZ, "error_rate"))
	assert.Equal(t, 0.1, value(metricDriftThreshold, "feature.income"))
	assert.Equal(t, 0.25, value(metricDriftThreshold, "feature.region"))
	assert.Equal(t, 3.0, value(metricDriftThreshold, "error_rate"))
	for k := range got {
		assert.NotContains(t, k, "feature.notes", "a null feature has no tracker")
		assert.NotContains(t, k, "refusal_rate", "no refusal rate for a classic model")
		if strings.HasPrefix(k, "govaudit.drift.") {
			assert.NotContains(t, k, "model_version=8", "no statistic for version 8")
		}
	}

	drifts := p.drifts(t)
	require.Len(t, drifts, 2, "drift records: %v", drifts)
	income := drifts["feature.income"]
	assert.InDelta(t, psiShiftedHalfSigma, income["drift.value"], 0.005)
	delete(income, "drift.value")
	assert.Equal(t, map[string]any{
		"drift.feature": "feature.income", "drift.statistic": "psi", "drift.threshold": 0.1,
		"drift.reference_mode": "first_records", "drift.reference_size": float64(1000), "drift.window_size": float64(1000),
		"drift.bins": float64(10), "model": "credit-risk", "version": "7",
	}, income)
	assert.InDelta(t, region, drifts["feature.region"]["drift.value"], 1e-12)
	assert.Equal(t, 0.25, drifts["feature.region"]["drift.threshold"])

	metadatatest.AssertEqualDriftValuesSkipped(t, p.tel, []metricdata.DataPoint[int64]{
		{Value: 2000, Attributes: attribute.NewSet(attribute.String("reason", "unsupported_value"))},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualDriftFeaturesUnread(t, p.tel, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "not_captured"))},
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "not_an_object"))},
	}, metricdatatest.IgnoreTimestamp())
}

// TestDriftCaps: what drift does not measure is counted, by reason.
func TestDriftCaps(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Drift = smallDrift()
	cfg.Drift.MaxFeatures, cfg.Drift.MaxModelVersions, cfg.Drift.MaxCategories = 2, 1, 2
	p := newPipelines(t, cfg)
	long := strings.Repeat("n", 129)
	p.send(t, []record.Record{
		// a and b are tracked; c is a third feature of version 7.
		classic("d1", "7", `{"a": 1, "b": "x", "c": true}`),
		classic("d2", "7", `{"a": "one", "b": "y", "`+long+`": 1}`),
		classic("d3", "7", `{"b": "z"}`), // a third category of b
		// Version 8 comes after max_model_versions: outcome, error_rate and a.
		classic("d4", "8", `{"a": 2}`),
	})
	metadatatest.AssertEqualDriftValuesSkipped(t, p.tel, []metricdata.DataPoint[int64]{
		{Value: 2, Attributes: attribute.NewSet(attribute.String("reason", "feature_cap"))},
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "type_mismatch"))},
		{Value: 3, Attributes: attribute.NewSet(attribute.String("reason", "model_version_cap"))},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualDriftValuesCapped(t, p.tel, []metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())

	m := p.metrics.(*decisionConnector)
	m.mu.Lock()
	defer m.mu.Unlock()
	var features []string
	for k := range m.drift.trackers {
		features = append(features, k.version+"/"+k.feature)
	}
	assert.ElementsMatch(t, []string{"7/outcome", "7/error_rate", "7/feature.a", "7/feature.b"}, features)
}

// genai is a GenAI decision of gpt-4o version 1: failed when failed, else
// ended with finish reason stop.
func genai(id string, failed bool) record.Record {
	r := rec(id, record.TypeInference)
	r.Provider, r.RequestModel, r.ModelVersion, r.Operation = "openai", "gpt-4o", "1", "chat"
	r.FinishReasons = []string{"stop"}
	if failed {
		r.StatusCode, r.ErrorType, r.FinishReasons = "error", "timeout", nil
	}
	return r
}

// TestRateDrift: 1% of the reference's decisions fail, 3% of the window's
// (1,000 each): z = 0.02/√(0.02·0.98·0.002) = 3.1944 crosses the default
// |z| threshold 3 and writes a drift record; the PSI of the outcomes,
// 0.0224, stays far below 0.25 (why rates use z).
func TestRateDrift(t *testing.T) {
	p := newPipelines(t, createDefaultConfig().(*Config))
	var recs []record.Record
	for i := 0; i < 2000; i++ {
		failed := i%100 == 0
		if i >= 1000 {
			failed = i%100 < 3
		}
		recs = append(recs, genai(fmt.Sprint("g", i), failed))
	}
	p.send(t, recs)
	got := flatten(t, p.msink.AllMetrics())
	z, err := strconv.ParseFloat(got["govaudit.drift.rate_z{feature=error_rate,model_version=1,request_model=gpt-4o}"], 64)
	require.NoError(t, err)
	want := 0.02 / math.Sqrt(0.02*0.98*0.002)
	assert.InDelta(t, want, z, 1e-12)
	assert.Equal(t, "0", got["govaudit.drift.rate_z{feature=refusal_rate,model_version=1,request_model=gpt-4o}"])
	psi, err := strconv.ParseFloat(got["govaudit.drift.psi{feature=outcome,model_version=1,request_model=gpt-4o}"], 64)
	require.NoError(t, err)
	assert.InDelta(t, drift.PSI([]float64{0.99, 0.01}, []float64{0.97, 0.03}), psi, 1e-12)

	drifts := p.drifts(t)
	require.Len(t, drifts, 1)
	assert.InDelta(t, want, drifts["error_rate"]["drift.value"], 1e-12)
	delete(drifts["error_rate"], "drift.value")
	assert.Equal(t, map[string]any{
		"drift.feature": "error_rate", "drift.statistic": "z", "drift.threshold": 3.0,
		"drift.reference_mode": "first_records", "drift.reference_size": float64(1000), "drift.window_size": float64(1000),
		"drift.reference_rate": 0.01, "drift.window_rate": 0.03, "model": "gpt-4o", "version": "1",
	}, drifts["error_rate"])
}

// TestReferenceWindowDrift: reference.mode window: the decisions of
// [since, until) form the reference (300 of them, all kept: reference.size
// is 1,000), earlier ones and late ones are counted as skipped, and the
// window starts at until. Output tokens 0..99 in the reference and 90..99
// after until put the whole window in the last of ten bins:
// PSI = 9·(ε-0.1)·ln(ε/0.1) + 0.9·ln 10 = 8.2831.
func TestReferenceWindowDrift(t *testing.T) {
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	until := since.Add(time.Hour)
	cfg := createDefaultConfig().(*Config)
	cfg.Drift.WindowSize = 100
	cfg.Drift.Reference = drift.ReferenceConfig{Mode: drift.ReferenceWindow, Size: 1000, Since: since, Until: until}
	p := newPipelines(t, cfg)
	at := func(id string, tokens int, when time.Time) record.Record {
		r := genai(id, false)
		r.OutputTokens, r.StartTime = i64(int64(tokens)), when.UnixNano()
		return r
	}
	var recs []record.Record
	for i := 0; i < 10; i++ {
		recs = append(recs, at(fmt.Sprint("early", i), i, since.Add(-time.Minute)))
	}
	for i := 0; i < 300; i++ {
		recs = append(recs, at(fmt.Sprint("ref", i), i%100, since.Add(time.Duration(i)*time.Second)))
	}
	for i := 0; i < 100; i++ {
		recs = append(recs, at(fmt.Sprint("win", i), 90+i%10, until.Add(time.Duration(i)*time.Second)))
	}
	recs = append(recs, at("late", 5, since.Add(time.Minute)))
	p.send(t, recs)

	got := flatten(t, p.msink.AllMetrics())
	want := 9*(drift.Epsilon-0.1)*math.Log(drift.Epsilon/0.1) + 0.9*math.Log(10)
	psi, err := strconv.ParseFloat(got["govaudit.drift.psi{feature=output_tokens,model_version=1,request_model=gpt-4o}"], 64)
	require.NoError(t, err)
	assert.InDelta(t, want, psi, 1e-12)
	drifts := p.drifts(t)
	require.Len(t, drifts, 1)
	assert.Equal(t, map[string]any{
		"drift.feature": "output_tokens", "drift.statistic": "psi", "drift.value": psi, "drift.threshold": 0.25,
		"drift.reference_mode": "window", "drift.reference_size": float64(300), "drift.window_size": float64(100),
		"drift.reference_since": "2026-01-01T00:00:00Z", "drift.reference_until": "2026-01-01T01:00:00Z",
		"drift.bins": float64(10), "model": "gpt-4o", "version": "1",
	}, drifts["output_tokens"])
	// Each decision has four values: output_tokens, outcome, error_rate,
	// refusal_rate.
	metadatatest.AssertEqualDriftValuesSkipped(t, p.tel, []metricdata.DataPoint[int64]{
		{Value: 40, Attributes: attribute.NewSet(attribute.String("reason", "before_reference"))},
		{Value: 4, Attributes: attribute.NewSet(attribute.String("reason", "late_reference"))},
	}, metricdatatest.IgnoreTimestamp())
}
