package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestExamplePortsOverridable: every listening address of the example
// configurations (endpoint, and the telemetry reader's host and port) comes
// from a GOVAUDIT_* variable with a default, so a user whose port is taken
// moves it without editing YAML (README, "address already in use").
func TestExamplePortsOverridable(t *testing.T) {
	files, err := filepath.Glob("../examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("../examples/*/*.yaml")
	files = append(files, more...)
	key := regexp.MustCompile(`^\s*(endpoint|host|port):\s*(.*)$`)
	env := regexp.MustCompile(`^"?\$\{env:GOVAUDIT_[A-Z0-9_]+(:-[^}]*)?\}"?$`)
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "alerts.yaml") || strings.HasSuffix(f, "alerts_test.yaml") {
			continue // Prometheus rules, not a collector configuration
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			m := key.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			n++
			if v := strings.TrimSpace(strings.SplitN(m[2], " #", 2)[0]); !env.MatchString(v) {
				t.Errorf("%s:%d: %s: %q is not a ${env:GOVAUDIT_…:-default} variable", f, i+1, m[1], v)
			}
		}
	}
	if n < 20 {
		t.Errorf("found only %d addresses in %v", n, files)
	}
}
