package decisionmetricsconnector

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/metadata"
	"github.com/govaudit/govaudit/internal/record"
)

// BenchmarkClassicDrift: the metrics instance consuming batches of 1,000
// classic-ML decisions with a score, a prediction and five declared
// features, with drift off, with drift of the built-in features only, and
// with declared features too (the cost of parsing the input and five more
// trackers). Compare the three in one run.
func BenchmarkClassicDrift(b *testing.B) {
	var recs []record.Record
	for i := 0; i < 1000; i++ {
		r := classic(fmt.Sprint("d", i), "7", fmt.Sprintf(
			`{"income": %d, "age": %d, "debt": %d.5, "region": %q, "employed": %t}`,
			30000+i*37%50000, 20+i%50, i*13%20000, []string{"north", "south", "east"}[i%3], i%4 == 0))
		score := float64(i%1000) / 1000
		r.Score, r.Prediction = &score, []string{"approve", "decline"}[i%2]
		recs = append(recs, r)
	}
	ld := logsOf(recs...)
	for _, tc := range []struct {
		name              string
		enabled, declared bool
	}{{"drift=off", false, false}, {"drift=builtin", true, false}, {"drift=declared", true, true}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			cfg.Drift.Enabled, cfg.Drift.DeclaredFeatures = tc.enabled, tc.declared
			c, err := NewFactory().CreateLogsToMetrics(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := c.ConsumeLogs(context.Background(), ld); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
		})
	}
}
