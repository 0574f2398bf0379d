package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// driftSummary renders what a drift record's attributes say (the
// decisionmetrics connector writes them; its README lists them): the
// feature, its statistic against the threshold, and the reference it was
// measured against, e.g. "feature feature.income: psi 0.2378 > 0.1
// (reference: first 1,000 values; window 1,000)" or "feature error_rate:
// z 3.194 > 3 (rate 1% → 3%; reference: 2026-01-01T00:00:00Z to
// 2026-02-01T00:00:00Z, 5,120 values; window 1,000)". Attributes it cannot
// read give "".
func driftSummary(attributes string) string {
	var a map[string]any
	if json.Unmarshal([]byte(attributes), &a) != nil {
		return ""
	}
	str := func(k string) string {
		switch v := a[k].(type) {
		case nil:
			return "?"
		case float64:
			return strconv.FormatFloat(v, 'g', 4, 64)
		default:
			return fmt.Sprint(v)
		}
	}
	num := func(k string) (float64, bool) {
		v, ok := a[k].(float64)
		return v, ok
	}
	s := fmt.Sprintf("feature %s: %s %s > %s", str("drift.feature"), str("drift.statistic"), str("drift.value"), str("drift.threshold"))
	if v, ok := num("drift.value"); ok && v < 0 && a["drift.statistic"] == "z" {
		// A falling rate: |z| crossed the threshold.
		s = fmt.Sprintf("feature %s: z %s < -%s", str("drift.feature"), str("drift.value"), str("drift.threshold"))
	}
	var details []string
	r, okR := num("drift.reference_rate")
	w, okW := num("drift.window_rate")
	if okR && okW {
		details = append(details, "rate "+percent(r)+" → "+percent(w))
	}
	if ref := driftReference(a, num); ref != "" {
		details = append(details, ref)
	}
	if n, ok := num("drift.window_size"); ok {
		details = append(details, "window "+thousands(int64(n)))
	}
	if len(details) > 0 {
		s += " (" + strings.Join(details, "; ") + ")"
	}
	return s
}

// driftReference renders the reference of a drift record: "reference:
// first N values" or "reference: SINCE to UNTIL, N values"; "" when the
// record does not say (records written before reference modes existed).
func driftReference(a map[string]any, num func(string) (float64, bool)) string {
	n, ok := num("drift.reference_size")
	if !ok {
		return ""
	}
	switch a["drift.reference_mode"] {
	case "window":
		since, _ := a["drift.reference_since"].(string)
		until, _ := a["drift.reference_until"].(string)
		return fmt.Sprintf("reference: %s to %s, %s values", since, until, thousands(int64(n)))
	case "first_records", nil:
		return "reference: first " + thousands(int64(n)) + " values"
	}
	return ""
}

// percent renders a rate as a percentage with up to one decimal.
func percent(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return strconv.FormatFloat(math.Round(v*1000)/10, 'f', -1, 64) + "%"
}
