package decisionmetricsconnector

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/metadata"
	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/metadatatest"
	"github.com/govaudit/govaudit/internal/record"
)

const (
	traceA = "0af7651916cd43dd8448eb211c80319c"
	traceB = "4bf92f3577b34da6a3ce929d0e0e4736"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC).UnixNano()

func i64(v int64) *int64 { return &v }

// logsOf writes records as the logs/audit pipeline carries them.
func logsOf(recs ...record.Record) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range recs {
		recs[i].ToLogRecord(lrs.AppendEmpty())
	}
	return ld
}

func rec(id string, typ record.Type) record.Record {
	return record.Record{SchemaVersion: record.SchemaVersion, ID: id, Type: typ}
}

// flatten maps each data point to "name{label=value,...}" -> its value: the
// int value of a sum, "count=N sum=S buckets=[...]" of a histogram.
func flatten(t *testing.T, mds []pmetric.Metrics) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, md := range mds {
		rms := md.ResourceMetrics()
		for i := 0; i < rms.Len(); i++ {
			sms := rms.At(i).ScopeMetrics()
			for j := 0; j < sms.Len(); j++ {
				ms := sms.At(j).Metrics()
				for k := 0; k < ms.Len(); k++ {
					m := ms.At(k)
					key := func(attrs pcommon.Map) string {
						var kv []string
						attrs.Range(func(k string, v pcommon.Value) bool {
							kv = append(kv, k+"="+v.AsString())
							return true
						})
						sort.Strings(kv)
						return m.Name() + "{" + strings.Join(kv, ",") + "}"
					}
					switch m.Type() {
					case pmetric.MetricTypeSum:
						require.True(t, m.Sum().IsMonotonic())
						require.Equal(t, pmetric.AggregationTemporalityCumulative, m.Sum().AggregationTemporality())
						for d := 0; d < m.Sum().DataPoints().Len(); d++ {
							dp := m.Sum().DataPoints().At(d)
							out[key(dp.Attributes())] = fmt.Sprint(dp.IntValue())
						}
					case pmetric.MetricTypeHistogram:
						require.Equal(t, "s", m.Unit())
						for d := 0; d < m.Histogram().DataPoints().Len(); d++ {
							dp := m.Histogram().DataPoints().At(d)
							out[key(dp.Attributes())] = fmt.Sprintf("count=%d sum=%g bounds=%v buckets=%v",
								dp.Count(), dp.Sum(), dp.ExplicitBounds().AsRaw(), dp.BucketCounts().AsRaw())
						}
					case pmetric.MetricTypeGauge:
						for d := 0; d < m.Gauge().DataPoints().Len(); d++ {
							dp := m.Gauge().DataPoints().At(d)
							out[key(dp.Attributes())] = fmt.Sprint(dp.DoubleValue())
						}
					default:
						t.Fatalf("metric %s: unexpected type %v", m.Name(), m.Type())
					}
				}
			}
		}
	}
	return out
}

func newTestConnector(t *testing.T, cfg *Config, set connector.Settings) (connector.Logs, *consumertest.MetricsSink) {
	t.Helper()
	sink := new(consumertest.MetricsSink)
	c, err := NewFactory().CreateLogsToMetrics(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, c.Shutdown(context.Background())) })
	return c, sink
}

func TestDecisionMetrics(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	cfg := createDefaultConfig().(*Config)
	cfg.LatencyBuckets = []float64{0.5, 1, 2}
	c, sink := newTestConnector(t, cfg, metadatatest.NewSettings(tel))

	chat := rec("dec-1", record.TypeInference)
	chat.Provider, chat.RequestModel, chat.ResponseModel, chat.Operation = "openai", "gpt-4o", "gpt-4o-2024-08-06", "chat"
	chat.FinishReasons = []string{"stop"}
	chat.InputTokens, chat.OutputTokens = i64(10), i64(20)
	chat.StartTime, chat.EndTime = t0, t0+1500*int64(time.Millisecond)
	chat.TraceID = traceA

	failed := rec("dec-2", record.TypeInference)
	failed.Provider, failed.RequestModel, failed.Operation = "openai", "gpt-4o", "chat"
	failed.StatusCode, failed.ErrorType = "error", "timeout"
	failed.InputTokens = i64(7)
	failed.StartTime, failed.EndTime = t0, t0+200*int64(time.Millisecond)

	classic := rec("dec-3", record.TypeInference)
	classic.RequestModel, classic.ModelVersion, classic.Operation = "credit-risk", "3", "predict"
	classic.TraceID = traceB

	reviewed := rec("ov-1", record.TypeOversight)
	reviewed.EventName, reviewed.Reference = "decision.reviewed", "dec-1" // by record id
	overridden := rec("ov-2", record.TypeOversight)
	overridden.EventName, overridden.TraceID, overridden.Reference = "decision.overridden", traceB, traceB // by trace id
	named := rec("ov-3", record.TypeOversight)
	named.EventName, named.RequestModel, named.ModelVersion = "decision.overridden", "credit-risk", "3"
	unknown := rec("ov-4", record.TypeOversight)
	unknown.EventName, unknown.Reference = "decision.reviewed", "never-seen"

	lifecycle := rec("lc-1", record.TypeLifecycle)
	lifecycle.EventName, lifecycle.RequestModel = "model.deployed", "credit-risk"
	checkpoint := rec("cp-1", record.TypeCheckpoint)
	dup := chat
	dup.ID, dup.Flags = "dec-dup", []string{record.FlagDuplicate, record.FieldFlag(record.FlagDuplicateOf, "dec-1")}
	dupReviewed := rec("ov-5", record.TypeOversight)
	dupReviewed.EventName, dupReviewed.Reference = "decision.reviewed", "dec-dup"
	badTrace := rec("bad-1", record.TypeInference)
	badTrace.TraceID = "not-hex"

	ld := logsOf(chat, failed, classic, reviewed, overridden, named, unknown, lifecycle, checkpoint, dup, dupReviewed, badTrace)
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty().Body().SetStr("an application log, no record")
	require.NoError(t, c.ConsumeLogs(context.Background(), ld))

	assert.Equal(t, map[string]string{
		"govaudit.decisions{model_version=,operation=chat,outcome=stop,provider=openai,request_model=gpt-4o,response_model=gpt-4o-2024-08-06}": "1",
		"govaudit.decisions{model_version=,operation=chat,outcome=error,provider=openai,request_model=gpt-4o,response_model=}":                 "1",
		"govaudit.decisions{model_version=3,operation=predict,outcome=ok,provider=,request_model=credit-risk,response_model=}":                 "1",
		"govaudit.decision.duration{model_version=,operation=chat,provider=openai,request_model=gpt-4o}":                                       "count=2 sum=1.7 bounds=[0.5 1 2] buckets=[1 0 1 0]",
		"govaudit.tokens{model_version=,provider=openai,request_model=gpt-4o,token_type=input}":                                                "17",
		"govaudit.tokens{model_version=,provider=openai,request_model=gpt-4o,token_type=output}":                                               "20",
		"govaudit.decision.errors{error_type=timeout,model_version=,provider=openai,request_model=gpt-4o}":                                     "1",
		"govaudit.oversight{action=review,model=gpt-4o,model_version=}":                                                                        "2",
		"govaudit.oversight{action=override,model=credit-risk,model_version=3}":                                                                "2",
		"govaudit.oversight{action=review,model=,model_version=}":                                                                              "1",
	}, flatten(t, sink.AllMetrics()))

	metadatatest.AssertEqualRecordsSkipped(t, tel, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "duplicate"))},
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "invalid_record"))},
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "not_a_record"))},
	}, metricdatatest.IgnoreTimestamp())

	// A second batch sends only the series it changed, with cumulative values.
	sink.Reset()
	again := rec("dec-4", record.TypeInference)
	again.Provider, again.RequestModel, again.ResponseModel, again.Operation = "openai", "gpt-4o", "gpt-4o-2024-08-06", "chat"
	again.FinishReasons = []string{"stop", "length"}
	again.OutputTokens = i64(5)
	require.NoError(t, c.ConsumeLogs(context.Background(), logsOf(again)))
	assert.Equal(t, map[string]string{
		"govaudit.decisions{model_version=,operation=chat,outcome=stop,provider=openai,request_model=gpt-4o,response_model=gpt-4o-2024-08-06}": "2",
		"govaudit.tokens{model_version=,provider=openai,request_model=gpt-4o,token_type=output}":                                               "25",
	}, flatten(t, sink.AllMetrics()))

	// A batch without any record sends nothing.
	sink.Reset()
	require.NoError(t, c.ConsumeLogs(context.Background(), logsOf(lifecycle)))
	assert.Empty(t, sink.AllMetrics())
}

func TestMaxLabelValues(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.MaxLabelValues = 2
	c, sink := newTestConnector(t, cfg, connectortest.NewNopSettings(metadata.Type))
	var recs []record.Record
	for i, m := range []string{"m1", "m2", "m3", "m4", "m1"} {
		r := rec(fmt.Sprint("d", i), record.TypeInference)
		r.Provider, r.RequestModel = "p", m
		recs = append(recs, r)
	}
	require.NoError(t, c.ConsumeLogs(context.Background(), logsOf(recs...)))
	require.NoError(t, c.ConsumeLogs(context.Background(), logsOf(recs[2])))
	got := flatten(t, sink.AllMetrics()[1:])
	assert.Equal(t, map[string]string{
		"govaudit.decisions{model_version=,operation=,outcome=ok,provider=p,request_model=other,response_model=}": "3",
	}, got)
	all := flatten(t, sink.AllMetrics()[:1])
	assert.Equal(t, "2", all["govaudit.decisions{model_version=,operation=,outcome=ok,provider=p,request_model=m1,response_model=}"])
	assert.Equal(t, "1", all["govaudit.decisions{model_version=,operation=,outcome=ok,provider=p,request_model=m2,response_model=}"])
	assert.Len(t, all, 3)
}

func TestDecisionCacheEviction(t *testing.T) {
	c := newDecisionCache(2)
	c.add("a", traceA, modelRef{"m-a", "1"})
	c.add("b", traceA, modelRef{"m-b", "1"}) // the trace now maps to b
	c.add("c", "", modelRef{"m-c", "1"})     // evicts a, but not the trace key b set
	_, ok := c.lookup("a", "")
	assert.False(t, ok)
	ref, ok := c.lookup("", traceA)
	assert.True(t, ok)
	assert.Equal(t, modelRef{"m-b", "1"}, ref)
	c.add("d", "", modelRef{"m-d", "1"}) // evicts b and its trace key
	_, ok = c.lookup("", traceA)
	assert.False(t, ok)
	ref, _ = c.lookup("c", traceA)
	assert.Equal(t, modelRef{"m-c", "1"}, ref)

	off := newDecisionCache(0)
	off.add("a", traceA, modelRef{"m", ""})
	_, ok = off.lookup("a", traceA)
	assert.False(t, ok)
}

// TestDownstreamErrorNotReturned: the records' senders are shared with the
// audit pipeline, so a metrics failure must not fail their delivery.
func TestDownstreamErrorNotReturned(t *testing.T) {
	c, err := NewFactory().CreateLogsToMetrics(context.Background(), connectortest.NewNopSettings(metadata.Type),
		createDefaultConfig(), consumertest.NewErr(errors.New("exporter down")))
	require.NoError(t, err)
	r := rec("d1", record.TypeInference)
	assert.NoError(t, c.ConsumeLogs(context.Background(), logsOf(r)))
}

// TestDriftPSI: a model version whose outcomes move from half stop, half
// length (its first 100 decisions) to 80% stop gets the known PSI
// 0.3·ln(0.8/0.5) - 0.3·ln(0.2/0.5); its output tokens, unchanged, get 0.
func TestDriftPSI(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Drift = smallDrift()
	c, sink := newTestConnector(t, cfg, connectortest.NewNopSettings(metadata.Type))
	batch := func(first int, reason func(i int) string) plog.Logs {
		var recs []record.Record
		for i := 0; i < 100; i++ {
			r := rec(fmt.Sprint("d", first+i), record.TypeInference)
			r.Provider, r.RequestModel, r.ModelVersion = "openai", "gpt-4o", "7"
			r.FinishReasons = []string{reason(i)}
			r.OutputTokens = i64(int64(i))
			recs = append(recs, r)
		}
		return logsOf(recs...)
	}
	require.NoError(t, c.ConsumeLogs(context.Background(), batch(0, func(i int) string { return []string{"stop", "length"}[i%2] })))
	for k := range flatten(t, sink.AllMetrics()) {
		assert.NotContains(t, k, "drift", "PSI before a whole window")
	}
	sink.Reset()
	require.NoError(t, c.ConsumeLogs(context.Background(), batch(100, func(i int) string {
		if i%5 == 0 {
			return "length"
		}
		return "stop"
	})))
	got := flatten(t, sink.AllMetrics())
	assert.Equal(t, "0.4158883083359672", got["govaudit.drift.psi{feature=outcome,model_version=7,request_model=gpt-4o}"])
	assert.Equal(t, "0", got["govaudit.drift.psi{feature=output_tokens,model_version=7,request_model=gpt-4o}"])
	assert.NotContains(t, got, "govaudit.drift.psi{feature=score,model_version=7,request_model=gpt-4o}")
}
