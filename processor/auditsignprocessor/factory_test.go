package auditsignprocessor

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/govaudit/govaudit/processor/auditsignprocessor/internal/metadata"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	if f.Type() != metadata.Type || f.Type().String() != "auditsign" {
		t.Errorf("type %q", f.Type())
	}
	if f.LogsStability() != component.StabilityLevelAlpha {
		t.Errorf("logs stability %v", f.LogsStability())
	}
	cfg := f.CreateDefaultConfig().(*Config)
	if cfg.CheckpointInterval != time.Second || cfg.Origin != "" || cfg.Storage != nil || cfg.SigningKeyFile != "" {
		t.Errorf("default config %+v", cfg)
	}
	// The default config lacks the required key.
	if err := cfg.Validate(); !errors.Is(err, errNoSigningKey) {
		t.Errorf("default config Validate = %v", err)
	}
	if _, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop()); err == nil {
		t.Error("CreateTraces succeeded for a logs-only processor")
	}
}

func TestLifecycle(t *testing.T) {
	key, _ := writeKey(t, "k", 0o600)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.SigningKeyFile = key
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Capabilities().MutatesData {
		t.Error("MutatesData is false: the processor writes leaf fields into the records")
	}
	ctx := context.Background()
	if err := p.Start(ctx, componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	if err := p.ConsumeLogs(ctx, batch(3, "l")); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
	if err := p.ConsumeLogs(ctx, batch(1, "late")); !errors.Is(err, errNotRunning) {
		t.Errorf("ConsumeLogs after Shutdown = %v", err)
	}
	// epoch start + 3 records, and the checkpoints at start and shutdown.
	out := decodeAll(t, sink.AllLogs())
	if len(out.leaves) != 4 || len(out.checkpoints) != 2 {
		t.Errorf("released %d leaves, %d checkpoints; want 4, 2", len(out.leaves), len(out.checkpoints))
	}
	host, _ := os.Hostname()
	if want := defaultOrigin(host, ""); out.leaves[0].Origin != want {
		t.Errorf("origin %q, want %q", out.leaves[0].Origin, want)
	}
}

func TestDefaultOriginNamesInstance(t *testing.T) {
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, "eu")
	cfg := createDefaultConfig().(*Config)
	cfg.SigningKeyFile = "unused"
	p := newProcessor(t, set, cfg, consumertest.NewNop())
	host, _ := os.Hostname()
	if want := defaultOrigin(host, "eu"); p.origin != want {
		t.Errorf("origin %q, want %q", p.origin, want)
	}
}
