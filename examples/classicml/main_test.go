package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/govaudit/govaudit/connector/mlgovernanceconnector"
	"github.com/govaudit/govaudit/internal/record"
)

// TestExampleBecomesRecord runs the example against a fake OTLP/HTTP
// endpoint and feeds what it exported through the mlgovernance connector:
// the SDK-emitted span must become a classic-ML record attributed to the user.
func TestExampleBecomesRecord(t *testing.T) {
	var mu sync.Mutex
	received := ptrace.NewTraces()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		req := ptraceotlp.NewExportRequest()
		require.NoError(t, req.UnmarshalProto(body))
		mu.Lock()
		req.Traces().ResourceSpans().MoveAndAppendTo(received.ResourceSpans())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()

	var stdout, stderr bytes.Buffer
	code := run([]string{"-endpoint", strings.TrimPrefix(srv.URL, "http://"), "-user", "u-42"}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	assert.Contains(t, stdout.String(), "decision=approve")

	f := mlgovernanceconnector.NewFactory()
	cfg := f.CreateDefaultConfig()
	cfg.(*mlgovernanceconnector.Config).Capture.DigestKey.Value = "example-test-digest-key-0123456789"
	sink := new(consumertest.LogsSink)
	c, err := f.CreateTracesToLogs(context.Background(), connectortest.NewNopSettings(f.Type()), cfg, sink)
	require.NoError(t, err)
	mu.Lock()
	require.NoError(t, c.ConsumeTraces(context.Background(), received))
	mu.Unlock()
	require.NoError(t, c.Shutdown(context.Background()))

	require.Equal(t, 1, sink.LogRecordCount())
	lr := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	r, err := record.FromLogRecord(lr)
	require.NoError(t, err)
	require.NoError(t, r.Validate())
	assert.Equal(t, record.TypeInference, r.Type)
	assert.Equal(t, record.SourceClassicML, r.SourceConvention)
	assert.Equal(t, "credit-risk", r.RequestModel)
	assert.Equal(t, "7", r.ModelVersion)
	assert.Equal(t, "approve", r.Prediction)
	assert.Equal(t, "u-42", r.UserID)
	assert.Equal(t, "bank-eu", r.TenantID)
	assert.Equal(t, "credit-scoring", r.ServiceName)
	assert.Empty(t, r.Input, "features are digested under the default policy")
	assert.NotEmpty(t, r.InputDigest)
}

func TestUsageError(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 2, run([]string{"-nope"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "flag provided but not defined: -nope")
}
