package mlgovernanceconnector

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/metadata"
	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/metadatatest"
)

// TestCreateRefusesWithoutKey: the default policy digests, and there is no
// generated fallback key, so creation fails naming the fields.
func TestCreateRefusesWithoutKey(t *testing.T) {
	f := NewFactory()
	_, err := f.CreateTracesToLogs(context.Background(), connectortest.NewNopSettings(metadata.Type), f.CreateDefaultConfig(), consumertest.NewNop())
	assert.ErrorContains(t, err, "no digest key configured, but input (digest), output (digest)")

	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Capture.DigestKey.File = filepath.Join(t.TempDir(), "absent.key")
	_, err = f.CreateLogsToLogs(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	assert.ErrorContains(t, err, "digest_key::file: open ")
}

func TestCreateReadsKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "digest.key")
	require.NoError(t, os.WriteFile(path, []byte(testKey+"\n"), 0o600))
	cfg := createDefaultConfig().(*Config)
	cfg.Capture.DigestKey.File = path
	p := newPipeline(t, cfg)
	require.NoError(t, p.traces.ConsumeTraces(context.Background(), readTraces(t, "classicml_traces.json")))
	recs := p.records(t)
	require.Len(t, recs, 1)
	// The HMAC of ml.input.features as received (the golden file has the
	// same, made with the key given inline). Known answer from openssl:
	// printf '%s' '{"income": 52000, "age": 41, "email": "dave@example.com"}' |
	//   openssl dgst -sha256 -hmac govaudit-test-digest-key-0123456789
	assert.Equal(t, "hmac-sha256:21b792b2c5c44b18817a351b6cbb992b0bcc6299367522433d90f7d48990e59f", recs[0].InputDigest)
}

func TestSidesShareOneGovernor(t *testing.T) {
	cfg := keyedDefaultConfig()
	p := newPipeline(t, cfg)
	assert.Same(t, p.traces.(*tracesConnector).governor, p.logs.(*logsConnector).governor)
	other := newPipeline(t, keyedDefaultConfig())
	assert.NotSame(t, p.traces.(*tracesConnector).governor, other.traces.(*tracesConnector).governor)
}

func TestTelemetry(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := connectortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	f := NewFactory()
	sink := new(consumertest.LogsSink)
	cfg := keyedDefaultConfig()
	tc, err := f.CreateTracesToLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	lc, err := f.CreateLogsToLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, tc.ConsumeTraces(context.Background(), readTraces(t, "genai_traces.json")))
	require.NoError(t, tc.ConsumeTraces(context.Background(), readTraces(t, "openinference_traces.json")))
	require.NoError(t, lc.ConsumeLogs(context.Background(), readLogs(t, "genai_logs.json")))
	bad := ptrace.NewTraces()
	bad.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Attributes().PutInt("gen_ai.request.model", 4)
	require.NoError(t, tc.ConsumeTraces(context.Background(), bad))
	require.NoError(t, tc.Shutdown(context.Background()))
	require.NoError(t, lc.Shutdown(context.Background()))

	sums := func(name string) map[attribute.Set]int64 {
		m, err := tel.GetMetric(name)
		require.NoError(t, err)
		out := map[attribute.Set]int64{}
		for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
			out[dp.Attributes] = dp.Value
		}
		return out
	}
	produced := sums("otelcol_mlgovernance_records_produced")
	assert.Equal(t, int64(3), produced[attribute.NewSet(attribute.String("record_type", "inference"), attribute.String("source_convention", "otel_genai"))])
	assert.Equal(t, int64(5), produced[attribute.NewSet(attribute.String("record_type", "content"), attribute.String("source_convention", "otel_genai"))])
	assert.Equal(t, int64(1), produced[attribute.NewSet(attribute.String("record_type", "retrieval"), attribute.String("source_convention", "openinference"))])
	// The generated assertions also pin name, description, unit and
	// monotonicity to metadata.yaml; data points compare in any order.
	metadatatest.AssertEqualItemsSkipped(t, tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("signal", "traces"), attribute.String("reason", "non_ml")), Value: 1},
		{Attributes: attribute.NewSet(attribute.String("signal", "logs"), attribute.String("reason", "non_ml")), Value: 1},
		// The OpenInference root CHAIN span, not in the default openinference_span_kinds.
		{Attributes: attribute.NewSet(attribute.String("signal", "traces"), attribute.String("reason", "excluded_kind")), Value: 1},
	}, metricdatatest.IgnoreTimestamp())
	// Only the bad span is flagged: the default policy digests, nothing is redacted.
	metadatatest.AssertEqualRecordsFlagged(t, tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("flag", "wrong_type")), Value: 1},
	}, metricdatatest.IgnoreTimestamp())
	assert.Len(t, sink.AllLogs(), 4)
}

// BenchmarkMapGenAISpan maps one GenAI chat span (the fixture's, with its
// parent, messages added) to one record, end to end through the connector
// logic: attribution, policy (HMAC digests) and log record encoding.
func BenchmarkMapGenAISpan(b *testing.B) {
	g, err := newGovernor(keyedDefaultConfig(), componenttest.NewNopTelemetrySettings())
	require.NoError(b, err)
	td := readTraces(b, "genai_traces.json")
	spans := td.ResourceSpans().At(0).ScopeSpans().At(1).Spans()
	spans.RemoveIf(func(s ptrace.Span) bool { return s.Name() != "chat gpt-4o-mini" })
	chat := spans.At(0)
	chat.Attributes().PutStr("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"My email is alice@example.com, where is order A-1001?"}]}]`)
	chat.Attributes().PutStr("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"Your order A-1001 has shipped."}],"finish_reason":"stop"}]`)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out := g.tracesToRecords(context.Background(), td)
		if out.LogRecordCount() != 1 {
			b.Fatal("want one record")
		}
	}
}
