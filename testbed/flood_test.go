package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// A flood offers load as instrumented applications do: each of its
// senders is one application instance with the OpenTelemetry Go SDK's
// TracerProvider, default BatchSpanProcessor (a queue of 2,048 spans that
// drops when full, exports of up to 512 spans, one export at a time, every
// 5 s or when 512 spans wait) and OTLP/gRPC exporter (no compression, the
// SDK default; its default retries on). Each sender records GenAI chat
// spans (the genAIProvider's, so both loads offer the same content) at
// rate/senders spans/s, as a request handler would, whatever the
// collector does: spans the SDK cannot export in time are dropped in its
// queue, silently for the application. The flood counts what the
// application recorded, what the SDK handed to its exporter and what the
// exporter gave up on.
type flood struct {
	senders, rate int

	generated atomic.Uint64 // spans ended by the application
	handed    atomic.Uint64 // spans the batch processor passed to the exporter
	failed    atomic.Uint64 // spans of exports that failed after the exporter's retries

	tps  []*sdktrace.TracerProvider
	stop chan struct{}
	wg   sync.WaitGroup
}

// countingExporter counts what the batch processor hands over and what
// fails.
type countingExporter struct {
	sdktrace.SpanExporter
	f *flood
}

func (e countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.f.handed.Add(uint64(len(spans)))
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err != nil {
		e.f.failed.Add(uint64(len(spans)))
	}
	return err
}

// start starts the senders against the OTLP/gRPC endpoint.
func (f *flood) start(endpoint string) error {
	f.stop = make(chan struct{})
	for i := range f.senders {
		exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure())
		if err != nil {
			return err
		}
		res := resource.NewSchemaless(
			attribute.String("service.name", "support-bot"),
			attribute.String("service.version", "2.14.1"),
			attribute.String("service.instance.id", fmt.Sprintf("instance-%d", i)),
			attribute.String("deployment.environment.name", "production"),
		)
		// The SDK's defaults: no batch processor option is set.
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(countingExporter{exp, f}), sdktrace.WithResource(res))
		f.tps = append(f.tps, tp)
		gen := &genAIProvider{perBatch: 64, rnd: rand.New(rand.NewPCG(uint64(100+i), 2026))}
		var sink atomic.Uint64
		gen.SetLoadGeneratorCounters(&sink)
		f.wg.Add(1)
		go f.send(tp.Tracer("opentelemetry.instrumentation.openai_v2"), gen, float64(f.rate)/float64(f.senders))
	}
	return nil
}

// send records spans at perSec spans/s until stop, in steps of 10 ms.
func (f *flood) send(tracer trace.Tracer, gen *genAIProvider, perSec float64) {
	defer f.wg.Done()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	last, owed := time.Now(), 0.0
	pending := ptrace.NewSpanSlice()
	next := 0
	for {
		select {
		case <-f.stop:
			return
		case now := <-tick.C:
			owed += perSec * now.Sub(last).Seconds()
			last = now
		}
		for ; owed >= 1; owed-- {
			if next == pending.Len() {
				td, _ := gen.GenerateTraces()
				pending, next = td.ResourceSpans().At(0).ScopeSpans().At(0).Spans(), 0
			}
			record(tracer, pending.At(next))
			next++
			f.generated.Add(1)
		}
	}
}

// record records span s through the SDK, with its name, kind, times and
// attributes.
func record(tracer trace.Tracer, s ptrace.Span) {
	attrs := make([]attribute.KeyValue, 0, s.Attributes().Len())
	s.Attributes().Range(func(k string, v pcommon.Value) bool {
		switch v.Type() {
		case pcommon.ValueTypeStr:
			attrs = append(attrs, attribute.String(k, v.Str()))
		case pcommon.ValueTypeInt:
			attrs = append(attrs, attribute.Int64(k, v.Int()))
		case pcommon.ValueTypeDouble:
			attrs = append(attrs, attribute.Float64(k, v.Double()))
		case pcommon.ValueTypeSlice:
			var ss []string
			for i := 0; i < v.Slice().Len(); i++ {
				ss = append(ss, v.Slice().At(i).AsString())
			}
			attrs = append(attrs, attribute.StringSlice(k, ss))
		}
		return true
	})
	_, span := tracer.Start(context.Background(), s.Name(), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(s.StartTimestamp().AsTime()), trace.WithAttributes(attrs...))
	span.End(trace.WithTimestamp(s.EndTimestamp().AsTime()))
}

// shutdown shuts the SDKs down once recording stopped, which exports what
// their queues still hold (as an application's shutdown does), within
// timeout.
func (f *flood) shutdown(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, tp := range f.tps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tp.Shutdown(ctx)
		}()
	}
	wg.Wait()
}

// dropped returns the spans the SDKs' queues dropped: recorded, never
// handed to an exporter.
func (f *flood) dropped() uint64 { return f.generated.Load() - f.handed.Load() }

// TestFlood floods both pipelines with GOVAUDIT_FLOOD_SENDERS (default 8)
// SDK senders (see flood) at each of GOVAUDIT_FLOOD_RATES spans/s (default
// 10000,20000) for GOVAUDIT_LOADTEST_DURATION, and reports spans recorded
// by the applications against spans stored (the governance archive is
// verified with `govaudit verify`): what an application loses, silently,
// when the collector cannot keep up. Results: results/flood.md and
// results/flood.json. It measures; it asserts only that archives verify.
func TestFlood(t *testing.T) {
	d, err := time.ParseDuration(envOr("GOVAUDIT_LOADTEST_DURATION", "30s"))
	if err != nil {
		t.Fatalf("GOVAUDIT_LOADTEST_DURATION: %v", err)
	}
	n, err := strconv.Atoi(envOr("GOVAUDIT_FLOOD_SENDERS", "8"))
	if err != nil || n < 1 {
		t.Fatalf("GOVAUDIT_FLOOD_SENDERS: %q", os.Getenv("GOVAUDIT_FLOOD_SENDERS"))
	}
	var all []result
	for _, s := range strings.Split(envOr("GOVAUDIT_FLOOD_RATES", "10000,20000"), ",") {
		rate, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || rate <= 0 {
			t.Fatalf("GOVAUDIT_FLOOD_RATES: bad rate %q", s)
		}
		for _, p := range []pipeline{baseline, governance} {
			t.Run(fmt.Sprintf("%s-%d", p, rate), func(t *testing.T) {
				all = append(all, runScenario(t, p, rate, d, &flood{senders: n, rate: rate}))
			})
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# govaudit flood test, %s\n\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "- machine: %s\n- %s of load per scenario; %d senders, each an OTel Go SDK (BatchSpanProcessor defaults: queue 2048, 512 spans per export; OTLP/gRPC, no compression)\n\n", machine(), d, n)
	b.WriteString("| pipeline | offered spans/s | recorded | dropped in SDK queues | in failed exports | stored | lost | lost % | CPU % (mean) | CPU µs/span | RSS max MiB | generator CPU % | other CPU % | verify |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range all {
		v := ""
		if r.Pipeline == governance {
			v = strings.SplitN(r.VerifyOut, "\n", 2)[0]
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %.2f | %.0f | %.1f | %d | %.0f | %.0f | %s |\n",
			r.Pipeline, r.Rate, r.Sent, r.SDKDropped, r.ExportFailed, r.Stored, r.Lost, 100*float64(r.Lost)/float64(max(r.Sent, 1)),
			r.CPUPercent, float64(r.CPUPerSpan.Nanoseconds())/1e3, r.RSSMaxMiB, r.GeneratorCPUPercent, r.OtherCPUPercent, v)
	}
	t.Log("\n" + b.String())
	if err := os.WriteFile(filepath.Join("results", "flood.md"), []byte(b.String()), 0o644); err != nil {
		t.Error(err)
	}
	js, _ := json.MarshalIndent(all, "", "  ")
	if err := os.WriteFile(filepath.Join("results", "flood.json"), js, 0o644); err != nil {
		t.Error(err)
	}
}
