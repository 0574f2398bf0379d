package decisionmetricsconnector

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/metadata"
	"github.com/govaudit/govaudit/internal/record"
)

// sharedBatch is a batch with decisions of two models, a duplicate, an
// invalid record and a log record that is no record.
func sharedBatch(n int) plog.Logs {
	var recs []record.Record
	for i := range n {
		r := rec(fmt.Sprintf("d%d", i), record.TypeInference)
		r.Provider, r.RequestModel, r.Operation = "openai", []string{"gpt-4o", "gpt-4o-mini"}[i%2], "chat"
		r.StartTime, r.EndTime = t0, t0+int64(i%7)*1e8
		r.InputTokens = i64(int64(10 + i))
		if i == 3 {
			r.Flags = []string{record.FlagDuplicate, record.FieldFlag(record.FlagDuplicateOf, "d2")}
		}
		recs = append(recs, r)
	}
	ld := logsOf(recs...)
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	bad := rec("bad", record.TypeInference)
	bad.ToLogRecord(lrs.AppendEmpty())
	lrs.At(lrs.Len()-1).Attributes().PutStr("govaudit.schema_version", "x") // wrong type: invalid
	lrs.AppendEmpty().Body().SetStr("not a record")
	return ld
}

type pair struct {
	metrics connector.Logs
	logs    connector.Logs
	msink   *consumertest.MetricsSink
	decoder *batchDecoder
}

func newPair(t *testing.T, cfg *Config) *pair {
	t.Helper()
	p := &pair{msink: new(consumertest.MetricsSink)}
	f := NewFactory()
	var err error
	p.metrics, err = f.CreateLogsToMetrics(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, p.msink)
	require.NoError(t, err)
	p.logs, err = f.CreateLogsToLogs(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	p.decoder = p.metrics.(*decisionConnector).decoder
	require.Same(t, p.decoder, p.logs.(*decisionConnector).decoder, "one decoder per component")
	return p
}

func (p *pair) shutdown(t *testing.T) {
	require.NoError(t, p.metrics.Shutdown(context.Background()))
	require.NoError(t, p.logs.Shutdown(context.Background()))
}

// TestSharedDecode checks that a read-only batch, as the fan-out hands it
// to both instances, is decoded once and counted as if each instance had
// decoded it; a batch that is not read-only is decoded by each.
func TestSharedDecode(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	p := newPair(t, cfg)
	ref := newPair(t, createDefaultConfig().(*Config))
	ctx := context.Background()

	for round, metricsFirst := range []bool{true, false, true} {
		ld := sharedBatch(10)
		ld.MarkReadOnly()
		first, second := p.metrics, p.logs
		if !metricsFirst {
			first, second = p.logs, p.metrics
		}
		require.NoError(t, first.ConsumeLogs(ctx, ld))
		require.NoError(t, second.ConsumeLogs(ctx, ld))
		assert.Equal(t, int64(round+1), p.decoder.decodes.Load(), "each read-only batch decoded once")

		mutable := sharedBatch(10)
		require.NoError(t, ref.metrics.ConsumeLogs(ctx, mutable))
		require.NoError(t, ref.logs.ConsumeLogs(ctx, mutable))
		assert.Equal(t, int64(2*(round+1)), ref.decoder.decodes.Load(), "a mutable batch is decoded by each instance")
	}
	got, want := flatten(t, p.msink.AllMetrics()), flatten(t, ref.msink.AllMetrics())
	require.NotEmpty(t, want)
	assert.Equal(t, want, got)
	assert.Equal(t, "15", got["govaudit.decisions{model_version=,operation=chat,outcome=ok,provider=openai,request_model=gpt-4o,response_model=}"],
		"five gpt-4o decisions a batch, three batches")
	assert.Equal(t, "12", got["govaudit.decisions{model_version=,operation=chat,outcome=ok,provider=openai,request_model=gpt-4o-mini,response_model=}"],
		"five gpt-4o-mini decisions a batch, one a duplicate")
	p.shutdown(t)
	ref.shutdown(t)
	decoders.mu.Lock()
	defer decoders.mu.Unlock()
	_, kept := decoders.m[cfg]
	assert.False(t, kept, "released with its last instance")
}

// TestSharedDecodeOneSided feeds read-only batches to one instance only,
// as when the two outputs are fed by different pipelines: every batch is
// counted, and the decoder keeps at most maxPending of them.
func TestSharedDecodeOneSided(t *testing.T) {
	p := newPair(t, createDefaultConfig().(*Config))
	defer p.shutdown(t)
	const batches = 3 * maxPending
	for range batches {
		ld := sharedBatch(4)
		ld.MarkReadOnly()
		require.NoError(t, p.metrics.ConsumeLogs(context.Background(), ld))
	}
	assert.Equal(t, int64(batches), p.decoder.decodes.Load())
	p.decoder.mu.Lock()
	assert.Len(t, p.decoder.pending, maxPending)
	p.decoder.mu.Unlock()
	got := flatten(t, p.msink.AllMetrics()[len(p.msink.AllMetrics())-1:])
	assert.Equal(t, fmt.Sprint(batches*2), got["govaudit.decisions{model_version=,operation=chat,outcome=ok,provider=openai,request_model=gpt-4o,response_model=}"])
}
