package decisionmetricsconnector // import "github.com/govaudit/govaudit/connector/decisionmetricsconnector"

import (
	"errors"
	"fmt"
	"math"

	"go.opentelemetry.io/collector/component"

	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/drift"
)

// Config is the configuration of the decisionmetrics connector.
type Config struct {
	// MaxLabelValues bounds the cardinality of every label: each label
	// (provider, request_model, response_model, model_version, operation,
	// outcome, error_type, model) keeps the first MaxLabelValues distinct
	// values it sees; later new values are reported as "other". The bound
	// holds per connector instance until restart.
	// 1 ≤ MaxLabelValues ≤ 10000. Default 100.
	MaxLabelValues int `mapstructure:"max_label_values"`

	// LatencyBuckets are the explicit upper bounds, in seconds, of the
	// govaudit.decision.duration histogram: positive and strictly increasing,
	// at most 50. Default 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120.
	LatencyBuckets []float64 `mapstructure:"latency_buckets"`

	// DecisionCacheSize is the number of recent decisions whose record_id and
	// trace_id are remembered (oldest first out) with their model, so that an
	// oversight record naming a decision by either is counted under that
	// decision's model when it does not name the model itself.
	// 0 disables the cache. 0 ≤ DecisionCacheSize ≤ 10000000. Default 100000.
	DecisionCacheSize int `mapstructure:"decision_cache_size"`

	// Drift configures drift measurement: govaudit.drift.psi (PSI of each
	// model version's recent scores, token counts, outcomes, predictions
	// and declared classic-ML features against its reference),
	// govaudit.drift.rate_z (z of its error and refusal rates) and drift
	// records; see internal/drift.
	Drift drift.Config `mapstructure:"drift"`
}

var _ component.Config = (*Config)(nil)

const (
	maxMaxLabelValues    = 10000
	maxLatencyBuckets    = 50
	maxDecisionCacheSize = 10_000_000
)

// Validate checks every field and reports each bad one by name.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxLabelValues < 1 || c.MaxLabelValues > maxMaxLabelValues {
		errs = append(errs, fmt.Errorf("max_label_values: %d, want 1 to %d", c.MaxLabelValues, maxMaxLabelValues))
	}
	if len(c.LatencyBuckets) == 0 {
		errs = append(errs, errors.New("latency_buckets: empty, want at least one bound in seconds"))
	}
	if len(c.LatencyBuckets) > maxLatencyBuckets {
		errs = append(errs, fmt.Errorf("latency_buckets: %d bounds, want at most %d", len(c.LatencyBuckets), maxLatencyBuckets))
	}
	for i, b := range c.LatencyBuckets {
		switch {
		case math.IsNaN(b) || math.IsInf(b, 0) || b <= 0:
			errs = append(errs, fmt.Errorf("latency_buckets::%d: %v, want a positive number of seconds", i, b))
		case i > 0 && b <= c.LatencyBuckets[i-1]:
			errs = append(errs, fmt.Errorf("latency_buckets::%d: %v is not above latency_buckets::%d (%v); bounds must increase", i, b, i-1, c.LatencyBuckets[i-1]))
		}
	}
	if c.DecisionCacheSize < 0 || c.DecisionCacheSize > maxDecisionCacheSize {
		errs = append(errs, fmt.Errorf("decision_cache_size: %d, want 0 to %d", c.DecisionCacheSize, maxDecisionCacheSize))
	}
	// Drift validates itself: the collector validates nested configs and
	// prefixes their errors with "drift: ".
	return errors.Join(errs...)
}
