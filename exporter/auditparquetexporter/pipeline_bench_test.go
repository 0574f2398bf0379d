package auditparquetexporter

import (
	"context"
	"encoding/binary"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/govaudit/govaudit/connector/mlgovernanceconnector"
	"github.com/govaudit/govaudit/exporter/auditparquetexporter/internal/metadata"
	"github.com/govaudit/govaudit/internal/genaitest"
	"github.com/govaudit/govaudit/processor/auditsignprocessor"
)

// BenchmarkGovernancePipeline runs the governance path of the quickstart
// in process — the mlgovernance connector (digest capture policy), the
// auditsign processor (file_storage state, checkpoint every second) and
// this exporter (the default rotation) — with 4 concurrent senders of
// 100 load-test-shaped GenAI chat spans per request (about 1.5 KB of
// message content each; fresh trace ids per request), and reports the
// process's CPU time per span (user + system, GC and the final seal
// included; what a load test's "CPU µs/span" measures, minus OTLP
// decoding) and spans/s. On a shared machine, compare CPU, not wall time.
func BenchmarkGovernancePipeline(b *testing.B) {
	const senders, perRequest = 4, 100
	key, _ := signingKey(b)
	dir, stateDir := b.TempDir(), b.TempDir()

	ecfg := testConfig(dir)
	ecfg.SigningKeyFile = key
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), ecfg)
	if err != nil {
		b.Fatal(err)
	}
	host, tracker := startStorage(b, stateDir)
	defer tracker.Shutdown(context.Background())
	if err := exp.Start(context.Background(), host); err != nil {
		b.Fatal(err)
	}
	pf := auditsignprocessor.NewFactory()
	pcfg := pf.CreateDefaultConfig().(*auditsignprocessor.Config)
	pcfg.Origin, pcfg.SigningKeyFile = "bench.pipeline", key
	id := storageID
	pcfg.Storage = &id
	proc, err := pf.CreateLogs(context.Background(), processortest.NewNopSettings(pf.Type()), pcfg, exp)
	if err != nil {
		b.Fatal(err)
	}
	if err := proc.Start(context.Background(), host); err != nil {
		b.Fatal(err)
	}
	cf := mlgovernanceconnector.NewFactory()
	ccfg := cf.CreateDefaultConfig().(*mlgovernanceconnector.Config)
	ccfg.Capture.DigestKey.Value = configopaque.String(strings.Repeat("5a", 32))
	conn, err := cf.CreateTracesToLogs(context.Background(), connectortest.NewNopSettings(cf.Type()), ccfg, proc)
	if err != nil {
		b.Fatal(err)
	}
	if err := conn.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}

	tds := make([]ptrace.Traces, senders)
	for i := range tds {
		tds[i] = genaitest.Spans(uint64(i), perRequest)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := processCPU()
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spans := tds[s].ResourceSpans().At(0).ScopeSpans().At(0).Spans()
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				for k := range spans.Len() { // new traces, as under load
					tid := [16]byte(spans.At(k).TraceID())
					binary.BigEndian.PutUint32(tid[4:8], uint32(n))
					spans.At(k).SetTraceID(pcommon.TraceID(tid))
				}
				if err := conn.ConsumeTraces(context.Background(), tds[s]); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, c := range []interface{ Shutdown(context.Context) error }{conn, proc, exp} {
		if err := c.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	cpu := processCPU() - cpu0
	b.StopTimer()
	spans := float64(b.N * perRequest)
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/spans, "cpu_µs/span")
	b.ReportMetric(spans/b.Elapsed().Seconds(), "spans/s")
}
