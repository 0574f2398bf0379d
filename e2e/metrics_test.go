package e2e

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
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

// TestDecisionMetricsPrometheus: real spans and a review sent to the
// quickstart collector appear as decision metrics on its Prometheus
// endpoint, with the labels the connector README lists.
func TestDecisionMetricsPrometheus(t *testing.T) {
	e := newEnv(t)
	c := startCollector(t, e)
	defer c.stop()
	traces := sendSpans(t, e.otlpHTTP)
	sendReview(t, e.mlevents, traces["genai"])

	type check struct {
		name   string
		labels map[string]string
		value  float64 // -1: any value
	}
	gpt4o := map[string]string{"provider": "openai", "request_model": "gpt-4o"}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	checks := []check{
		{"govaudit_decisions_total", with(gpt4o, "response_model", "gpt-4o-2024-08-06", "operation", "chat", "outcome", "stop", "model_version", ""), 1},
		{"govaudit_decisions_total", map[string]string{"provider": "openai", "request_model": "gpt-4o-mini", "outcome": "stop"}, 1},
		{"govaudit_tokens_total", with(gpt4o, "token_type", "input"), 12},
		{"govaudit_tokens_total", with(gpt4o, "token_type", "output"), 34},
		{"govaudit_decision_duration_seconds_count", with(gpt4o, "operation", "chat"), 1},
		{"govaudit_decision_duration_seconds_bucket", with(gpt4o, "le", "+Inf"), 1},
		// The review names the decision by trace id only; the connector
		// attributes it to the model of that trace's decision.
		{"govaudit_oversight_total", map[string]string{"model": "gpt-4o", "action": "review"}, 1},
	}

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
				if !ok || (ch.value >= 0 && v != ch.value) {
					missing = append(missing, fmt.Sprintf("%s%v = %v (found %v, %v)", ch.name, ch.labels, ch.value, ok, v))
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
