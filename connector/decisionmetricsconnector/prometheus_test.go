package decisionmetricsconnector

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/metadata"
	"github.com/govaudit/govaudit/internal/record"
)

// TestPrometheusNames feeds the connector's metrics to contrib's prometheus
// exporter, as the distribution does, and scrapes it: the Prometheus names
// and labels are those the README lists.
func TestPrometheusNames(t *testing.T) {
	exp, addr := startPrometheus(t)
	c, err := NewFactory().CreateLogsToMetrics(context.Background(), connectortest.NewNopSettings(metadata.Type), createDefaultConfig(), exp)
	require.NoError(t, err)
	chat := rec("dec-1", record.TypeInference)
	chat.Provider, chat.RequestModel, chat.ResponseModel, chat.ModelVersion, chat.Operation = "openai", "gpt-4o", "gpt-4o-2024-08-06", "2024-08", "chat"
	chat.FinishReasons, chat.InputTokens, chat.OutputTokens = []string{"stop"}, i64(12), i64(34)
	chat.StartTime, chat.EndTime = t0, t0+int64(300*time.Millisecond)
	failed := chat
	failed.ID, failed.StatusCode, failed.ErrorType, failed.FinishReasons = "dec-2", "error", "rate_limit", nil
	review := rec("ov-1", record.TypeOversight)
	review.EventName, review.Reference = "decision.overridden", "dec-1"
	require.NoError(t, c.ConsumeLogs(context.Background(), logsOf(chat, failed, review)))

	text := scrape(t, addr)
	for _, want := range []string{
		`# TYPE govaudit_decisions_total counter`,
		`govaudit_decisions_total{model_version="2024-08",operation="chat",otel_scope_name="github.com/govaudit/govaudit/connector/decisionmetricsconnector",otel_scope_schema_url="",otel_scope_version="",outcome="stop",provider="openai",request_model="gpt-4o",response_model="gpt-4o-2024-08-06"} 1`,
		`outcome="error",provider="openai",request_model="gpt-4o",response_model="gpt-4o-2024-08-06"} 1`,
		`# TYPE govaudit_decision_duration_seconds histogram`,
		`provider="openai",request_model="gpt-4o",le="0.25"} 0`,
		`provider="openai",request_model="gpt-4o",le="0.5"} 2`,
		`provider="openai",request_model="gpt-4o"} 0.6`, // _sum, seconds
		`govaudit_decision_duration_seconds_sum{model_version="2024-08",operation="chat",`,
		`# TYPE govaudit_tokens_total counter`,
		`provider="openai",request_model="gpt-4o",token_type="input"} 24`,
		`provider="openai",request_model="gpt-4o",token_type="output"} 68`,
		`# TYPE govaudit_decision_errors_total counter`,
		`govaudit_decision_errors_total{error_type="rate_limit",model_version="2024-08",`,
		`# TYPE govaudit_oversight_total counter`,
		`govaudit_oversight_total{action="override",model="gpt-4o",model_version="2024-08",`,
	} {
		assert.Contains(t, text, want)
	}
	if t.Failed() {
		t.Logf("exposition:\n%s", text)
	}
	assert.NotContains(t, text, "govaudit_drift_psi", "no PSI before a whole reference and window")
	assert.False(t, strings.Contains(text, "_ratio"), "no unit suffix where the README has none")
}

// TestPrometheusDriftNames: the drift gauges as Prometheus sees them, for a
// declared feature and a rate.
func TestPrometheusDriftNames(t *testing.T) {
	exp, addr := startPrometheus(t)
	cfg := createDefaultConfig().(*Config)
	cfg.Drift = smallDrift()
	cfg.Drift.Thresholds = map[string]float64{"feature.income": 0.1}
	c, err := NewFactory().CreateLogsToMetrics(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, exp)
	require.NoError(t, err)
	var recs []record.Record
	for i := 0; i < 200; i++ {
		// 100 incomes 0..99000, then 100 above them all
		recs = append(recs, classic(fmt.Sprint("d", i), "7", fmt.Sprintf(`{"income": %d}`, 1000*(i%100)+100000*(i/100))))
	}
	require.NoError(t, c.ConsumeLogs(context.Background(), logsOf(recs...)))
	text := scrape(t, addr)
	labels := `model_version="7",otel_scope_name="github.com/govaudit/govaudit/connector/decisionmetricsconnector",otel_scope_schema_url="",otel_scope_version="",request_model="credit-risk"}`
	for _, want := range []string{
		"# TYPE govaudit_drift_psi gauge",
		// the whole window in the last bin: 9·(ε-0.1)·ln(ε/0.1) + 0.9·ln 10
		`govaudit_drift_psi{feature="feature.income",` + labels + " 8.283089355",
		"# TYPE govaudit_drift_rate_z gauge",
		`govaudit_drift_rate_z{feature="error_rate",` + labels + " 0",
		"# TYPE govaudit_drift_threshold gauge",
		`govaudit_drift_threshold{feature="feature.income",` + labels + " 0.1",
		`govaudit_drift_threshold{feature="error_rate",` + labels + " 3",
		`govaudit_drift_threshold{feature="outcome",` + labels + " 0.25",
	} {
		assert.Contains(t, text, want)
	}
	if t.Failed() {
		t.Logf("exposition:\n%s", text)
	}
}

// startPrometheus starts contrib's prometheus exporter, as the
// distribution has it, on a free loopback port.
func startPrometheus(t *testing.T) (exporter.Metrics, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	pf := prometheusexporter.NewFactory()
	pcfg := pf.CreateDefaultConfig().(*prometheusexporter.Config)
	pcfg.ServerConfig.NetAddr.Endpoint = addr
	exp, err := pf.CreateMetrics(context.Background(), exportertest.NewNopSettings(component.MustNewType("prometheus")), pcfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	return exp, addr
}

// scrape returns the exporter's exposition.
func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	return string(body)
}
