package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govaudit/govaudit/internal/record"
)

// Attributes of drift records as the decisionmetrics connector writes
// them (its README, "Drift records").
const (
	featureDriftAttrs = `{"drift.bins":10,"drift.feature":"feature.income","drift.reference_mode":"first_records",` +
		`"drift.reference_size":1000,"drift.statistic":"psi","drift.threshold":0.1,"drift.value":0.23775512,"drift.window_size":1000}`
	rateDriftAttrs = `{"drift.feature":"error_rate","drift.reference_mode":"window","drift.reference_rate":0.01,` +
		`"drift.reference_since":"2026-01-01T00:00:00Z","drift.reference_size":5120,"drift.reference_until":"2026-02-01T00:00:00Z",` +
		`"drift.statistic":"z","drift.threshold":3,"drift.value":3.1943828,"drift.window_rate":0.03,"drift.window_size":1000}`
	fallingRateAttrs = `{"drift.feature":"refusal_rate","drift.reference_mode":"first_records","drift.reference_rate":0.052,` +
		`"drift.reference_size":1000,"drift.statistic":"z","drift.threshold":3,"drift.value":-4.01,"drift.window_rate":0.011,"drift.window_size":1000}`
)

func TestDriftSummary(t *testing.T) {
	for _, tc := range []struct{ attrs, want string }{
		{featureDriftAttrs, "feature feature.income: psi 0.2378 > 0.1 (reference: first 1,000 values; window 1,000)"},
		{rateDriftAttrs, "feature error_rate: z 3.194 > 3 (rate 1% → 3%; reference: 2026-01-01T00:00:00Z to 2026-02-01T00:00:00Z, 5,120 values; window 1,000)"},
		{fallingRateAttrs, "feature refusal_rate: z -4.01 < -3 (rate 5.2% → 1.1%; reference: first 1,000 values; window 1,000)"},
		// Records written before reference modes: what they say.
		{`{"drift.feature":"score","drift.statistic":"psi","drift.threshold":0.25,"drift.value":0.4159}`, "feature score: psi 0.4159 > 0.25"},
		{`{"drift.value":"x"}`, "feature ?: ? x > ?"},
		{`not json`, ""},
	} {
		if got := driftSummary(tc.attrs); got != tc.want {
			t.Errorf("driftSummary(%s)\n got %q\nwant %q", tc.attrs, got, tc.want)
		}
	}
}

// TestReportFeatureDrift: drift records of a declared feature and of a
// rate appear, per feature with their reference, in the markdown and the
// HTML report.
func TestReportFeatureDrift(t *testing.T) {
	dir := t.TempDir()
	key, pub := keys(t, dir, "k1")
	root := filepath.Join(dir, "audit")
	drift := func(id string, at time.Duration, attrs string) record.Record {
		return record.Record{SchemaVersion: 1, ID: id, Type: record.TypeDrift, EventName: "drift.threshold_exceeded",
			StartTime: t0.Add(at).UnixNano(), RequestModel: "credit-risk", ModelVersion: "7", Attributes: attrs,
			SourceConvention: record.SourceGovaudit}
	}
	writeDecisions(t, root, key, []record.Record{
		{SchemaVersion: 1, ID: "d-1", Type: record.TypeInference, RequestModel: "credit-risk", ModelVersion: "7", StartTime: t0.UnixNano()},
		drift("dr-rate", 2*time.Hour, rateDriftAttrs),
		drift("dr-income", time.Hour, featureDriftAttrs),
	})
	code, out, stderr := runCmd(t, "report", "--key", pub, root)
	if code != exitOK {
		t.Fatalf("report: exit %d\n%s\n%s", code, stderr, out)
	}
	income := strings.Index(out, "feature feature.income: psi 0.2378 > 0.1 (reference: first 1,000 values; window 1,000)")
	rate := strings.Index(out, "feature error_rate: z 3.194 > 3 (rate 1% → 3%; reference: 2026-01-01T00:00:00Z to 2026-02-01T00:00:00Z, 5,120 values; window 1,000)")
	if income < 0 || rate < 0 || income > rate {
		t.Errorf("markdown report lacks the per-feature drift alerts in time order:\n%s", out)
	}
	code, out, _ = runCmd(t, "report", "--key", pub, "--format", "html", root)
	for _, want := range []string{
		"feature feature.income: psi 0.2378 &gt; 0.1 (reference: first 1,000 values; window 1,000)",
		"feature error_rate: z 3.194 &gt; 3 (rate 1% → 3%; reference: 2026-01-01T00:00:00Z to 2026-02-01T00:00:00Z, 5,120 values; window 1,000)",
	} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("HTML report (exit %d) lacks %q", code, want)
		}
	}
}
