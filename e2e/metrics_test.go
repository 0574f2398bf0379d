package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

func parseExposition(t *testing.T, text string) []sample {
	t.Helper()
	var out []sample
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not a Prometheus sample line: %q", line)
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		s := sample{name: m[1], labels: map[string]string{}, value: v}
		for _, p := range labelPair.FindAllStringSubmatch(m[2], -1) {
			s.labels[p[1]] = p[2]
		}
		out = append(out, s)
	}
	return out
}

// find returns the value of the sample of name whose labels include want (an
// absent label matches ""), and whether there is one.
func find(samples []sample, name string, want map[string]string) (float64, bool) {
	for _, s := range samples {
		if s.name != name {
			continue
		}
		ok := true
		for k, v := range want {
			if s.labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			return s.value, true
		}
	}
	return 0, false
}

// check is a sample the Prometheus endpoint must show: its name, labels
// (an absent label matches "") and a value in [lo, hi].
type check struct {
	name   string
	labels map[string]string
	lo, hi float64
}

// is checks an exact value; present checks that the sample exists.
func is(name string, labels map[string]string, v float64) check { return check{name, labels, v, v} }
func present(name string, labels map[string]string) check {
	return check{name, labels, math.Inf(-1), math.Inf(1)}
}

// waitForSamples scrapes the collector's Prometheus endpoint until every
// check holds, for at most 30 seconds.
func waitForSamples(t *testing.T, e *env, c *collector, checks []check) {
	t.Helper()
	url := "http://" + e.prometheus + "/metrics"
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		var body []byte
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		var missing []string
		if err != nil {
			missing = append(missing, err.Error())
		} else {
			samples := parseExposition(t, string(body))
			for _, ch := range checks {
				v, ok := find(samples, ch.name, ch.labels)
				if !ok || v < ch.lo || v > ch.hi {
					missing = append(missing, fmt.Sprintf("%s%v in [%v, %v] (found %v, %v)", ch.name, ch.labels, ch.lo, ch.hi, ok, v))
				}
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			c.dumpLog()
			t.Fatalf("scraping %s after 30s, missing:\n%s\n\nexposition:\n%s", url, strings.Join(missing, "\n"), body)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestDecisionMetricsPrometheus: real spans and a review sent to the
// quickstart collector appear as decision metrics on its Prometheus
// endpoint, with the labels the connector README lists.
func TestDecisionMetricsPrometheus(t *testing.T) {
	e := newEnv(t)
	c := startCollector(t, e)
	defer c.stop()
	traces := sendSpans(t, e.otlpHTTP)
	sendReview(t, e.mlevents, traces["genai"])

	gpt4o := map[string]string{"provider": "openai", "request_model": "gpt-4o"}
	waitForSamples(t, e, c, []check{
		is("govaudit_decisions_total", with(gpt4o, "response_model", "gpt-4o-2024-08-06", "operation", "chat", "outcome", "stop", "model_version", ""), 1),
		is("govaudit_decisions_total", map[string]string{"provider": "openai", "request_model": "gpt-4o-mini", "outcome": "stop"}, 1),
		is("govaudit_tokens_total", with(gpt4o, "token_type", "input"), 12),
		is("govaudit_tokens_total", with(gpt4o, "token_type", "output"), 34),
		is("govaudit_decision_duration_seconds_count", with(gpt4o, "operation", "chat"), 1),
		is("govaudit_decision_duration_seconds_bucket", with(gpt4o, "le", "+Inf"), 1),
		// The review names the decision by trace id only; the connector
		// attributes it to the model of that trace's decision.
		is("govaudit_oversight_total", map[string]string{"model": "gpt-4o", "action": "review"}, 1),
	})
}

func with(base map[string]string, kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// TestFeatureDriftPrometheus: classic-ML spans whose declared features
// drift by known amounts, sent to the built collector with the quickstart
// configuration plus a drift overlay (inputs kept in clear, references and
// windows of 100 decisions, a threshold of its own for income): the drift
// statistics and thresholds appear on the Prometheus endpoint with their
// labels, and the drift records are sealed in the archive, which verifies.
//   - income: N(50000, 10000) spread exactly (100 stratified quantiles),
//     then shifted by half a σ: PSI 0.24 (0.2378 for the continuous
//     distributions; 100 points place it within 0.03), above its threshold
//     0.1;
//   - age: the same integers on both sides: PSI 0;
//   - region: north/south half and half, then 40/40/20 with a new category
//     east: PSI 2·(-0.1)·ln(0.8) + (0.2-ε)·ln(0.2/ε) = 1.5640.
func TestFeatureDriftPrometheus(t *testing.T) {
	e := newEnv(t)
	overlay := filepath.Join(e.data, "drift.yaml")
	if err := os.WriteFile(overlay, []byte(`connectors:
  mlgovernance:
    capture:
      input: keep
  decisionmetrics:
    drift:
      reference:
        size: 100
      window_size: 100
      thresholds:
        feature.income: 0.1
`), 0o600); err != nil {
		t.Fatal(err)
	}
	e.args = []string{"--config", overlay}
	c := startCollector(t, e)
	stopped := false
	defer func() {
		if !stopped {
			c.stop()
		}
	}()
	sendClassicDecisions(t, e.otlpHTTP)

	v7 := map[string]string{"request_model": "credit-risk", "model_version": "7"}
	region := 2*(-0.1)*math.Log(0.8) + (0.2-0.0001)*math.Log(0.2/0.0001)
	waitForSamples(t, e, c, []check{
		{"govaudit_drift_psi", with(v7, "feature", "feature.income"), 0.2078, 0.2678},
		is("govaudit_drift_threshold", with(v7, "feature", "feature.income"), 0.1),
		is("govaudit_drift_psi", with(v7, "feature", "feature.age"), 0),
		{"govaudit_drift_psi", with(v7, "feature", "feature.region"), region - 1e-9, region + 1e-9},
		is("govaudit_drift_threshold", with(v7, "feature", "feature.region"), 0.25),
		present("govaudit_drift_psi", with(v7, "feature", "score")),
		is("govaudit_drift_rate_z", with(v7, "feature", "error_rate"), 0),
		is("govaudit_drift_threshold", with(v7, "feature", "error_rate"), 3),
		is("govaudit_decisions_total", with(v7, "provider", "self_hosted", "operation", "predict", "outcome", "ok"), 200),
	})
	c.stop()
	stopped = true

	audit := filepath.Join(e.data, "audit")
	if code, out := e.govaudit(t, "verify", "--key", e.pub, audit); code != 0 {
		t.Fatalf("verify: exit %d\n%s", code, out)
	}
	code, out := e.govaudit(t, "query", audit, "--type", "drift", "--format", "json")
	if code != 0 {
		t.Fatalf("query --type drift: exit %d\n%s", code, out)
	}
	features := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r struct {
			Model      string `json:"request_model"`
			Version    string `json:"model_version"`
			Attributes string `json:"attributes"`
		}
		var attrs map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil || json.Unmarshal([]byte(r.Attributes), &attrs) != nil {
			t.Fatalf("query output %q: %v", line, err)
		}
		if r.Model != "credit-risk" || r.Version != "7" {
			t.Errorf("drift record of %s %s", r.Model, r.Version)
		}
		features[fmt.Sprint(attrs["drift.feature"])] = attrs
	}
	for f, threshold := range map[string]float64{"feature.income": 0.1, "feature.region": 0.25} {
		a, ok := features[f]
		if !ok || a["drift.threshold"] != threshold || a["drift.reference_size"] != 100.0 || a["drift.statistic"] != "psi" {
			t.Errorf("sealed drift record of %s = %v", f, a)
		}
	}
	if len(features) != 2 {
		t.Errorf("sealed drift records for %d features, want feature.income and feature.region:\n%s", len(features), out)
	}
}

// sendClassicDecisions sends 200 classic-ML decisions of credit-risk
// version 7 (examples/classicml's attributes): 100, flushed, then 100 more,
// so the first 100 are the reference whatever the batching.
func sendClassicDecisions(t *testing.T, endpoint string) {
	t.Helper()
	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(endpoint), otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "credit-scoring"))))
	tr := tp.Tracer("e2e-classicml")
	for i := 0; i < 200; i++ {
		j := (i * 37) % 100 // a permutation of 0..99
		q := (float64(j) + 0.5) / 100
		income := 50000 + 10000*math.Sqrt2*math.Erfinv(2*q-1)
		region := []string{"north", "south"}[i%2]
		if i >= 100 {
			income += 5000
			region = []string{"north", "south", "north", "south", "east"}[i%5]
		}
		features := fmt.Sprintf(`{"income": %.2f, "age": %d, "region": %q}`, income, 20+i%50, region)
		score := 1 / (1 + math.Exp(-(income-50000)/10000))
		_, span := tr.Start(ctx, "predict credit-risk")
		span.SetAttributes(
			attribute.String("ml.operation", "predict"),
			attribute.String("ml.model.name", "credit-risk"),
			attribute.String("ml.model.version", "7"),
			attribute.String("ml.provider.name", "self_hosted"),
			attribute.String("ml.input.features", features),
			attribute.Float64("ml.score", score),
			attribute.String("ml.prediction", map[bool]string{true: "approve", false: "decline"}[score >= 0.5]),
		)
		span.End()
		if i == 99 {
			if err := tp.ForceFlush(ctx); err != nil {
				t.Fatalf("sending the reference decisions: %v", err)
			}
		}
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("sending decisions: %v", err)
	}
}
