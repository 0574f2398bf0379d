package decisionmetricsconnector // import "github.com/govaudit/govaudit/connector/decisionmetricsconnector"

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/metadata"
	"github.com/govaudit/govaudit/internal/record"
)

// Metric names, as OpenTelemetry names them; the Prometheus exporter writes
// them with "_" for "." and unit and "_total" suffixes (see README.md).
const (
	metricDecisions = "govaudit.decisions"
	metricDuration  = "govaudit.decision.duration"
	metricTokens    = "govaudit.tokens"
	metricErrors    = "govaudit.decision.errors"
	metricOversight = "govaudit.oversight"
)

// Label names.
const (
	labelProvider      = "provider"
	labelRequestModel  = "request_model"
	labelResponseModel = "response_model"
	labelModelVersion  = "model_version"
	labelOperation     = "operation"
	labelOutcome       = "outcome"
	labelErrorType     = "error_type"
	labelTokenType     = "token_type"
	labelModel         = "model"
	labelAction        = "action"
	labelFeature       = "feature"
)

// otherValue replaces a label value beyond max_label_values.
const otherValue = "other"

// Outcomes that are not a finish reason.
const (
	outcomeError = "error"
	outcomeOK    = "ok"
)

// decisionTypes are the record types that document a model decision; the
// same set as govaudit report's.
var decisionTypes = map[record.Type]bool{
	record.TypeInference: true, record.TypeEmbedding: true, record.TypeRetrieval: true,
	record.TypeToolCall: true, record.TypeAgent: true, record.TypeWorkflow: true, record.TypeGuardrail: true,
}

// oversightActions maps the event names of oversight records (mlevents'
// decision.reviewed and decision.overridden) to the action label.
var oversightActions = map[string]string{
	"decision.reviewed":   "review",
	"decision.overridden": "override",
}

// metricDef describes one output metric: its labels in order, and whether it
// is a histogram (else a monotonic sum).
type metricDef struct {
	name, unit, desc string
	labels           []string
	histogram        bool
}

var (
	defDecisions = &metricDef{name: metricDecisions, unit: "{decision}",
		desc:   "Model decisions (governance records of a decision type), by provider, model, version, operation and outcome.",
		labels: []string{labelProvider, labelRequestModel, labelResponseModel, labelModelVersion, labelOperation, labelOutcome}}
	defDuration = &metricDef{name: metricDuration, unit: "s", histogram: true,
		desc:   "Decision latency (end_time - start_time of the record), by provider, model, version and operation.",
		labels: []string{labelProvider, labelRequestModel, labelModelVersion, labelOperation}}
	defTokens = &metricDef{name: metricTokens, unit: "{token}",
		desc:   "Tokens used by decisions, by provider, model, version and token_type (input, output).",
		labels: []string{labelProvider, labelRequestModel, labelModelVersion, labelTokenType}}
	defErrors = &metricDef{name: metricErrors, unit: "{decision}",
		desc:   "Decisions that failed (status error or an error_type), by provider, model, version and error_type.",
		labels: []string{labelProvider, labelRequestModel, labelModelVersion, labelErrorType}}
	defOversight = &metricDef{name: metricOversight, unit: "{event}",
		desc:   "Human oversight events (mlevents decision.reviewed, decision.overridden), by model, version and action (review, override).",
		labels: []string{labelModel, labelModelVersion, labelAction}}
	// defs is the output order.
	defs = []*metricDef{defDecisions, defDuration, defTokens, defErrors, defOversight}
)

// series is one time series: a metric and its label values.
type series struct {
	def    *metricDef
	values []string
	start  pcommon.Timestamp
	// sum is the count of a sum; for a histogram, count, sum and buckets
	// (len(bounds)+1) hold its cumulative state.
	count   uint64
	sum     float64
	buckets []uint64
}

// decisionConnector keeps cumulative counts in memory and after each batch
// sends the series the batch changed, with cumulative temporality: a
// restart starts every series again from zero with a new start time, which
// Prometheus's rate() treats as a counter reset.
//
// The same connector type has two outputs, and the collector makes one
// instance per output pipeline type, each seeing every record: the
// logs→metrics instance (next set) counts the metrics and sends the drift
// PSI gauge; the logs→logs instance (nextLogs set) tracks drift only and
// sends a drift governance record when a PSI crosses drift.threshold.
type decisionConnector struct {
	cfg       *Config
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	next      consumer.Metrics
	nextLogs  consumer.Logs
	now       func() time.Time

	decoder *batchDecoder
	release func()

	mu     sync.Mutex
	series map[string]*series
	limits map[string]map[string]struct{} // label -> values kept
	cache  *decisionCache
	drift  driftState
}

func newConnector(cfg *Config, set component.TelemetrySettings, tb *metadata.TelemetryBuilder, next consumer.Metrics, nextLogs consumer.Logs) *decisionConnector {
	decoder, release := decoders.acquire(cfg)
	return &decisionConnector{
		cfg: cfg, logger: set.Logger, telemetry: tb, next: next, nextLogs: nextLogs, now: time.Now,
		decoder: decoder, release: release,
		series: map[string]*series{}, limits: map[string]map[string]struct{}{},
		cache: newDecisionCache(cfg.DecisionCacheSize),
		drift: newDriftState(),
	}
}

func (c *decisionConnector) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (c *decisionConnector) Start(context.Context, component.Host) error { return nil }

func (c *decisionConnector) Shutdown(context.Context) error {
	c.release()
	c.telemetry.Shutdown()
	return nil
}

// ConsumeLogs counts the governance records of ld and sends the series they
// changed. Log records that carry no record, or one that does not decode
// or validate, and decisions flagged duplicate count in no metric but in
// otelcol_decisionmetrics_records_skipped.
func (c *decisionConnector) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	var duplicate int64
	c.mu.Lock()
	now := pcommon.NewTimestampFromTime(c.now())
	touched := map[*series]struct{}{}
	notRecord, invalidErrs := c.decoder.each(ld, func(r *record.Record) {
		if !c.add(r, now, touched) {
			duplicate++
		}
	})
	invalid := int64(len(invalidErrs))
	var md pmetric.Metrics
	var drifted []record.Record
	if c.next != nil {
		md = c.build(touched, now)
	} else {
		drifted = c.driftRecords(now)
	}
	counts := c.drift.takeCounts()
	c.mu.Unlock()

	counts.record(ctx, c.telemetry)

	for _, err := range invalidErrs {
		c.logger.Debug("governance record skipped", zap.Error(err))
	}
	if notRecord > 0 {
		c.telemetry.RecordsSkipped.Add(ctx, notRecord, metric.WithAttributes(attribute.String("reason", "not_a_record")))
	}
	if invalid > 0 {
		c.telemetry.RecordsSkipped.Add(ctx, invalid, metric.WithAttributes(attribute.String("reason", "invalid_record")))
	}
	if duplicate > 0 {
		c.telemetry.RecordsSkipped.Add(ctx, duplicate, metric.WithAttributes(attribute.String("reason", "duplicate")))
	}
	if c.nextLogs != nil {
		c.sendDrift(ctx, drifted)
		return nil
	}
	if md.DataPointCount() == 0 {
		return nil
	}
	// A metrics failure must not fail the records' delivery: the connector
	// shares its receivers (mlgovernance, mlevents) with the audit pipeline,
	// and an error here would make their clients retry records the archive
	// already holds. The counts are kept; the next batch resends them.
	if err := c.next.ConsumeMetrics(ctx, md); err != nil {
		c.logger.Warn("decision metrics not delivered; the next batch resends the cumulative counts", zap.Error(err))
	}
	return nil
}

// add counts one record and reports false for a duplicate it did not
// count. Requires c.mu.
func (c *decisionConnector) add(r *record.Record, now pcommon.Timestamp, touched map[*series]struct{}) bool {
	switch {
	case decisionTypes[r.Type]:
		return c.addDecision(r, now, touched)
	case r.Type == record.TypeOversight && c.next != nil:
		action, ok := oversightActions[r.EventName]
		if !ok {
			action = otherValue
		}
		ref := modelRef{model: r.RequestModel, version: r.ModelVersion}
		if ref.model == "" {
			ref, _ = c.cache.lookup(r.Reference, r.TraceID)
		}
		c.inc(defOversight, now, touched, 1, ref.model, ref.version, action)
	}
	return true
}

// addDecision counts a decision record and reports whether it did: a
// record flagged duplicate (record.IsDuplicate) is not counted.
func (c *decisionConnector) addDecision(r *record.Record, now pcommon.Timestamp, touched map[*series]struct{}) bool {
	if c.next == nil {
		// The logs→logs instance: drift only.
		if !r.IsDuplicate() {
			c.addDrift(r, decisionOutcome(r))
		}
		return true
	}
	failed := r.StatusCode == "error" || r.ErrorType != ""
	outcome := decisionOutcome(r)
	model := r.RequestModel
	if model == "" {
		model = r.ResponseModel
	}
	c.cache.add(r.ID, r.TraceID, modelRef{model: model, version: r.ModelVersion})
	if r.IsDuplicate() {
		// Another record counts this model call; this one is only
		// remembered, for oversight that names it.
		return false
	}
	c.inc(defDecisions, now, touched, 1, r.Provider, r.RequestModel, r.ResponseModel, r.ModelVersion, r.Operation, outcome)
	if failed {
		c.inc(defErrors, now, touched, 1, r.Provider, r.RequestModel, r.ModelVersion, r.ErrorType)
	}
	if r.InputTokens != nil && *r.InputTokens > 0 {
		c.inc(defTokens, now, touched, uint64(*r.InputTokens), r.Provider, r.RequestModel, r.ModelVersion, "input")
	}
	if r.OutputTokens != nil && *r.OutputTokens > 0 {
		c.inc(defTokens, now, touched, uint64(*r.OutputTokens), r.Provider, r.RequestModel, r.ModelVersion, "output")
	}
	if r.StartTime > 0 && r.EndTime >= r.StartTime {
		s := c.get(defDuration, now, r.Provider, r.RequestModel, r.ModelVersion, r.Operation)
		d := float64(r.EndTime-r.StartTime) / 1e9
		s.count++
		s.sum += d
		s.buckets[sort.SearchFloat64s(c.cfg.LatencyBuckets, d)]++
		touched[s] = struct{}{}
	}
	c.addDrift(r, outcome)
	return true
}

// decisionOutcome is the outcome label of a decision: error, its first
// finish reason, or ok.
func decisionOutcome(r *record.Record) string {
	switch {
	case r.StatusCode == "error" || r.ErrorType != "":
		return outcomeError
	case len(r.FinishReasons) > 0:
		return r.FinishReasons[0]
	}
	return outcomeOK
}

// inc adds n to the sum series of def with the given label values.
func (c *decisionConnector) inc(def *metricDef, now pcommon.Timestamp, touched map[*series]struct{}, n uint64, values ...string) {
	s := c.get(def, now, values...)
	s.count += n
	touched[s] = struct{}{}
}

// get returns the series of def for values (in def.labels order), bounded
// by max_label_values, creating it if needed.
func (c *decisionConnector) get(def *metricDef, now pcommon.Timestamp, values ...string) *series {
	for i, label := range def.labels {
		values[i] = c.limit(label, values[i])
	}
	key := def.name + "\x00" + strings.Join(values, "\x00")
	s := c.series[key]
	if s == nil {
		s = &series{def: def, values: values, start: now}
		if def.histogram {
			s.buckets = make([]uint64, len(c.cfg.LatencyBuckets)+1)
		}
		c.series[key] = s
	}
	return s
}

// limit returns v, or "other" if label already has max_label_values other
// values. The empty value (the record has none) is always kept.
func (c *decisionConnector) limit(label, v string) string {
	if v == "" {
		return v
	}
	kept := c.limits[label]
	if kept == nil {
		kept = map[string]struct{}{}
		c.limits[label] = kept
	}
	if _, ok := kept[v]; ok {
		return v
	}
	if len(kept) >= c.cfg.MaxLabelValues {
		return otherValue
	}
	kept[v] = struct{}{}
	return v
}

// build returns the touched series as metrics, sorted by metric and labels.
func (c *decisionConnector) build(touched map[*series]struct{}, now pcommon.Timestamp) pmetric.Metrics {
	md := pmetric.NewMetrics()
	if len(touched) == 0 {
		return md
	}
	byDef := map[*metricDef][]*series{}
	for s := range touched {
		byDef[s.def] = append(byDef[s.def], s)
	}
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("github.com/govaudit/govaudit/connector/decisionmetricsconnector")
	for _, def := range defs {
		ss := byDef[def]
		if len(ss) == 0 {
			continue
		}
		sort.Slice(ss, func(i, j int) bool { return strings.Join(ss[i].values, "\x00") < strings.Join(ss[j].values, "\x00") })
		m := sm.Metrics().AppendEmpty()
		m.SetName(def.name)
		m.SetUnit(def.unit)
		m.SetDescription(def.desc)
		if def.histogram {
			h := m.SetEmptyHistogram()
			h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			for _, s := range ss {
				dp := h.DataPoints().AppendEmpty()
				s.labels(dp.Attributes())
				dp.SetStartTimestamp(s.start)
				dp.SetTimestamp(now)
				dp.SetCount(s.count)
				dp.SetSum(s.sum)
				dp.ExplicitBounds().FromRaw(c.cfg.LatencyBuckets)
				dp.BucketCounts().FromRaw(s.buckets)
			}
			continue
		}
		sum := m.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		for _, s := range ss {
			dp := sum.DataPoints().AppendEmpty()
			s.labels(dp.Attributes())
			dp.SetStartTimestamp(s.start)
			dp.SetTimestamp(now)
			dp.SetIntValue(int64(s.count))
		}
	}
	c.buildDrift(sm, now)
	return md
}

func (s *series) labels(m pcommon.Map) {
	m.EnsureCapacity(len(s.values))
	for i, label := range s.def.labels {
		m.PutStr(label, s.values[i])
	}
}
