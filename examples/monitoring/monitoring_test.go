// Package monitoring holds the example Prometheus alerting rules and
// Grafana dashboard for govaudit's decision metrics; its tests run the
// rules' promtool unit tests and check the metric names.
package monitoring

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestAlertRules checks alerts.yaml and runs its unit tests
// (alerts_test.yaml) with promtool, from Debian's prometheus package.
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus): alert rules not tested")
	}
	for _, args := range [][]string{{"check", "rules", "alerts.yaml"}, {"test", "rules", "alerts_test.yaml"}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestMetricsDocumented: every metric the rules and the dashboard query is
// one the decisionmetrics connector documents, and every recorded series
// the dashboard uses is recorded by the rules, so a renamed metric cannot
// leave an alert that never fires or an empty panel.
func TestMetricsDocumented(t *testing.T) {
	rules, err := os.ReadFile("alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../connector/decisionmetricsconnector/README.md")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dashboard struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dashboard); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	exprs := map[string]string{"alerts.yaml": string(rules)}
	for _, p := range dashboard.Panels {
		for _, target := range p.Targets {
			exprs["dashboard panel "+p.Title] += target.Expr + "\n"
		}
	}
	if len(exprs) < 2 {
		t.Fatal("no dashboard panel queries")
	}
	metric := regexp.MustCompile(`\bgovaudit_[a-z_]+`)
	recorded := regexp.MustCompile(`govaudit:[a-z0-9_:]+`)
	for where, text := range exprs {
		names := metric.FindAllString(text, -1)
		for _, name := range names {
			name = strings.TrimSuffix(name, "_bucket")
			if !strings.Contains(string(readme), "`"+name+"`") {
				t.Errorf("%s queries %s, which the connector README does not list", where, name)
			}
		}
		for _, name := range recorded.FindAllString(text, -1) {
			if !strings.Contains(string(rules), "record: "+name+"\n") {
				t.Errorf("%s uses %s, which alerts.yaml does not record", where, name)
			}
		}
		if len(names) == 0 && len(recorded.FindAllString(text, -1)) == 0 {
			t.Errorf("%s queries no govaudit metric", where)
		}
	}
}
