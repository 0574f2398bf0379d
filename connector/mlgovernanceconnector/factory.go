package mlgovernanceconnector // import "github.com/govaudit/govaudit/connector/mlgovernanceconnector"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"

	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/capture"
	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/metadata"
)

const (
	defaultAttributionCacheSize = 10000
	defaultMaxAttributesBytes   = 16 << 10
)

// defaultOpenInferenceSpanKinds are the kinds that document a step of a
// model decision: every kind but CHAIN (glue code: LangChain's prompt
// templates, output parsers, runnable sequences) and PROMPT (template
// rendering), which would otherwise outnumber the decisions.
func defaultOpenInferenceSpanKinds() []string {
	return []string{"LLM", "EMBEDDING", "RETRIEVER", "RERANKER", "TOOL", "AGENT", "GUARDRAIL", "EVALUATOR"}
}

// NewFactory returns the factory of the mlgovernance connector.
func NewFactory() connector.Factory {
	return connector.NewFactory(
		metadata.Type,
		createDefaultConfig,
		connector.WithTracesToLogs(createTracesToLogs, metadata.TracesToLogsStability),
		connector.WithLogsToLogs(createLogsToLogs, metadata.LogsToLogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		AttributionCacheSize:   defaultAttributionCacheSize,
		MaxAttributesBytes:     defaultMaxAttributesBytes,
		OpenInferenceSpanKinds: defaultOpenInferenceSpanKinds(),
		Capture:                capture.DefaultConfig(),
	}
}

func createTracesToLogs(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Traces, error) {
	g, release, err := governors.acquire(cfg.(*Config), set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &tracesConnector{governor: g, next: next, shutdown: release}, nil
}

func createLogsToLogs(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Logs, error) {
	g, release, err := governors.acquire(cfg.(*Config), set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &logsConnector{governor: g, next: next, shutdown: release}, nil
}

// governors shares one governor between the traces and logs sides of a
// component, keyed by its *Config as contrib's sharedcomponent does: GenAI
// events arrive in the logs pipeline and must be attributed from the spans of
// the traces pipeline, through the same trace cache. contrib's
// sharedcomponent is internal to contrib, so this is the minimal version:
// the governor holds no goroutines or files, so only the map entry needs
// releasing, on the first Shutdown (a later create builds a fresh one).
var governors = &governorMap{m: map[*Config]*governor{}}

type governorMap struct {
	mu sync.Mutex
	m  map[*Config]*governor
}

func (gm *governorMap) acquire(cfg *Config, set component.TelemetrySettings) (*governor, func(), error) {
	gm.mu.Lock()
	defer gm.mu.Unlock()
	g, ok := gm.m[cfg]
	if !ok {
		var err error
		if g, err = newGovernor(cfg, set); err != nil {
			return nil, nil, err
		}
		gm.m[cfg] = g
	}
	release := func() {
		gm.mu.Lock()
		defer gm.mu.Unlock()
		if gm.m[cfg] == g {
			delete(gm.m, cfg)
		}
	}
	return g, release, nil
}
