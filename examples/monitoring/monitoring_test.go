// Package monitoring holds the example Prometheus alerting rules for
// govaudit's decision metrics; its test runs their promtool unit tests.
package monitoring

import (
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

// TestAlertMetricsDocumented: every metric the rules query is one the
// decisionmetrics connector documents, so a renamed metric cannot leave an
// alert that never fires.
func TestAlertMetricsDocumented(t *testing.T) {
	rules, err := os.ReadFile("alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../connector/decisionmetricsconnector/README.md")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`\bgovaudit_[a-z_]+`).FindAllString(string(rules), -1)
	if len(names) == 0 {
		t.Fatal("no govaudit metric in alerts.yaml")
	}
	for _, name := range names {
		if !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("alerts.yaml queries %s, which the connector README does not list", name)
		}
	}
}
