package decisionmetricsconnector

import (
	"context"
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
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/metadata"
	"github.com/govaudit/govaudit/internal/record"
)

// TestPrometheusNames feeds the connector's metrics to contrib's prometheus
// exporter, as the distribution does, and scrapes it: the Prometheus names
// and labels are those the README lists.
func TestPrometheusNames(t *testing.T) {
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
	defer func() { require.NoError(t, exp.Shutdown(context.Background())) }()

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

	resp, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	text := string(body)
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
