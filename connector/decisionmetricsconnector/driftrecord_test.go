package decisionmetricsconnector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/drift"
	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/metadata"
	"github.com/govaudit/govaudit/exporter/auditparquetexporter"
	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
	"github.com/govaudit/govaudit/processor/auditsignprocessor"
)

// driftBatch is 100 decisions of gpt-4o version 7 whose outcomes are stop
// but for one in every `lengthEvery` (length), with output tokens 0..99.
// Half length (lengthEvery 2) is the reference below; one in five against
// it has the known PSI 0.3·ln(0.8/0.5) - 0.3·ln(0.2/0.5) ≈ 0.416 (see
// TestDriftPSI), above the 0.25 threshold; output tokens never drift.
func driftBatch(first, lengthEvery int) plog.Logs {
	var recs []record.Record
	for i := 0; i < 100; i++ {
		r := rec(fmt.Sprint("d", first+i), record.TypeInference)
		r.Provider, r.RequestModel, r.ModelVersion = "openai", "gpt-4o", "7"
		r.FinishReasons = []string{"stop"}
		if i%lengthEvery == 0 {
			r.FinishReasons = []string{"length"}
		}
		r.OutputTokens = i64(int64(i))
		recs = append(recs, r)
	}
	return logsOf(recs...)
}

func driftTestConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Drift = smallDrift()
	return cfg
}

// smallDrift is the default drift configuration with a reference and a
// window of 100 values.
func smallDrift() drift.Config {
	d := drift.DefaultConfig()
	d.Reference.Size, d.WindowSize = 100, 100
	return d
}

func driftRecordsOf(t *testing.T, lds []plog.Logs) []record.Record {
	t.Helper()
	var out []record.Record
	for _, ld := range lds {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					r, err := record.FromLogRecord(lr)
					require.NoError(t, err)
					require.NoError(t, r.Validate())
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// checkDriftRecord checks the fields and attributes of the drift record of
// the outcome of gpt-4o version 7.
func checkDriftRecord(t *testing.T, r record.Record) {
	t.Helper()
	assert.Equal(t, record.TypeDrift, r.Type)
	assert.Equal(t, EventNameDrift, r.EventName)
	assert.Equal(t, "gpt-4o", r.RequestModel)
	assert.Equal(t, "7", r.ModelVersion)
	assert.Equal(t, record.SourceGovaudit, r.SourceConvention)
	assert.NotZero(t, r.ObservedTime)
	var attrs map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.Attributes), &attrs))
	assert.Equal(t, map[string]any{
		"drift.feature": "outcome", "drift.statistic": "psi", "drift.value": 0.4158883083359672,
		"drift.threshold": 0.25, "drift.reference_mode": "first_records", "drift.reference_size": float64(100),
		"drift.window_size": float64(100), "drift.bins": float64(10),
	}, attrs)
}

// TestDriftRecordCrossing: a drift record when the PSI rises above the
// threshold, none while it stays above, none when it falls back (which
// re-arms), and one at the next rise.
func TestDriftRecordCrossing(t *testing.T) {
	ctx := context.Background()
	sink := new(consumertest.LogsSink)
	c, err := NewFactory().CreateLogsToLogs(ctx, connectortest.NewNopSettings(metadata.Type), driftTestConfig(), sink)
	require.NoError(t, err)
	require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
	defer func() { require.NoError(t, c.Shutdown(ctx)) }()

	step := func(first, lengthEvery, want int) []record.Record {
		t.Helper()
		sink.Reset()
		require.NoError(t, c.ConsumeLogs(ctx, driftBatch(first, lengthEvery)))
		got := driftRecordsOf(t, sink.AllLogs())
		require.Len(t, got, want, "drift records after decisions %d..", first)
		return got
	}
	step(0, 2, 0)   // the reference
	step(100, 2, 0) // a window like it: PSI 0
	first := step(200, 5, 1)
	checkDriftRecord(t, first[0])
	step(300, 5, 0) // still above: no new record
	step(400, 2, 0) // back to PSI 0: re-armed
	again := step(500, 5, 1)
	checkDriftRecord(t, again[0])
	assert.NotEqual(t, first[0].ID, again[0].ID)
}

// TestDriftRecordResent: a drift record the logs pipeline refuses is not
// an error for the sender (the audit pipeline already has the decisions)
// and is sent again with the next batch.
func TestDriftRecordResent(t *testing.T) {
	ctx := context.Background()
	var fail = true
	sink := new(consumertest.LogsSink)
	next, err := consumer.NewLogs(func(ctx context.Context, ld plog.Logs) error {
		if fail {
			return errors.New("pipeline down")
		}
		return sink.ConsumeLogs(ctx, ld)
	})
	require.NoError(t, err)
	c, err := NewFactory().CreateLogsToLogs(ctx, connectortest.NewNopSettings(metadata.Type), driftTestConfig(), next)
	require.NoError(t, err)
	require.NoError(t, c.ConsumeLogs(ctx, driftBatch(0, 2)))
	require.NoError(t, c.ConsumeLogs(ctx, driftBatch(100, 5)))
	fail = false
	require.NoError(t, c.ConsumeLogs(ctx, driftBatch(200, 5)))
	got := driftRecordsOf(t, sink.AllLogs())
	require.Len(t, got, 1)
	checkDriftRecord(t, got[0])
}

// TestDriftRecordSealed: synthetic decisions with a known drift, through
// the connector's logs→logs output into the real auditsign processor and
// auditparquet exporter (quickstart's logs/audit): the archive holds the
// drift record sealed, with its leaf hash, and no decision (decisions reach
// the archive through mlgovernance, not through this connector).
func TestDriftRecordSealed(t *testing.T) {
	ctx := context.Background()
	host := componenttest.NewNopHost()
	dir := t.TempDir()
	skey, _, err := auditlog.GenerateKey("drift-test")
	require.NoError(t, err)
	keyPath := filepath.Join(t.TempDir(), "signing.key")
	require.NoError(t, os.WriteFile(keyPath, []byte(skey+"\n"), 0o600))

	ef := auditparquetexporter.NewFactory()
	ecfg := ef.CreateDefaultConfig().(*auditparquetexporter.Config)
	ecfg.Directory = dir
	ecfg.SigningKeyFile = keyPath
	exp, err := ef.CreateLogs(ctx, exportertest.NewNopSettings(ef.Type()), ecfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(ctx, host))
	pf := auditsignprocessor.NewFactory()
	pcfg := pf.CreateDefaultConfig().(*auditsignprocessor.Config)
	pcfg.Origin = "drift.test"
	pcfg.SigningKeyFile = keyPath
	pcfg.CheckpointInterval = 0
	proc, err := pf.CreateLogs(ctx, processortest.NewNopSettings(pf.Type()), pcfg, exp)
	require.NoError(t, err)
	require.NoError(t, proc.Start(ctx, host))
	c, err := NewFactory().CreateLogsToLogs(ctx, connectortest.NewNopSettings(metadata.Type), driftTestConfig(), proc)
	require.NoError(t, err)
	require.NoError(t, c.Start(ctx, host))

	for i, every := range []int{2, 2, 5} {
		require.NoError(t, c.ConsumeLogs(ctx, driftBatch(100*i, every)))
	}
	require.NoError(t, c.Shutdown(ctx))
	require.NoError(t, proc.Shutdown(ctx))
	require.NoError(t, exp.Shutdown(ctx))

	files, err := archive.DataFiles(dir)
	require.NoError(t, err)
	require.NotEmpty(t, files, "sealed data files")
	var drifts []record.Record
	for _, f := range files {
		recs, err := archive.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		require.NoError(t, err)
		for _, r := range recs {
			switch {
			case r.Type == record.TypeDrift:
				drifts = append(drifts, r)
			case r.Type == record.TypeLifecycle, r.Type == record.TypeCheckpoint:
			default:
				t.Errorf("archived a %s record", r.Type)
			}
		}
	}
	require.Len(t, drifts, 1)
	d := drifts[0]
	checkDriftRecord(t, d)
	assert.Equal(t, "drift.test", d.Origin)
	assert.NotEmpty(t, d.LeafHash)
	assert.NoError(t, d.CheckLeafHash(), "sealed: its leaf hash is its canonical encoding's")
}
