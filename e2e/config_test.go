package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleConfigsValidate: the shipped configurations are accepted by the
// built distribution (`otelcol-govaudit validate` builds every pipeline, so
// component configs, key files and pipeline wiring are all checked), and a
// broken one is refused naming the field.
func TestExampleConfigsValidate(t *testing.T) {
	e := newEnv(t)
	secrets := filepath.Join(e.data, "keys") // digest.key is there; add the token
	if err := os.WriteFile(filepath.Join(secrets, "mlevents.token"), []byte("token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(e.data, "broken.yaml")
	if err := os.WriteFile(broken, []byte(`
receivers: {otlp: {protocols: {http: {}}}}
processors: {auditsign: {signing_key_file: k, checkpoint_interval: -1s}}
exporters: {auditparquet: {directory: d}}
service: {pipelines: {logs: {receivers: [otlp], processors: [auditsign], exporters: [auditparquet]}}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		config  string
		env     []string
		wantErr string
	}{
		{"../examples/quickstart.yaml", []string{"GOVAUDIT_DATA=" + e.data}, ""},
		{"../examples/production.yaml", []string{"GOVAUDIT_SECRETS_DIR=" + secrets, "GOVAUDIT_ORIGIN=collector-0",
			"GOVAUDIT_MLFLOW_WEBHOOK_SECRET=s3cret"}, ""},
		{broken, nil, "checkpoint_interval"},
	} {
		cmd := exec.Command(filepath.Join(e.bin, "otelcol-govaudit"), "validate", "--config", c.config)
		cmd.Env = append(os.Environ(), c.env...)
		out, err := cmd.CombinedOutput()
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s does not validate: %v\n%s", c.config, err, out)
		case c.wantErr != "" && (err == nil || !strings.Contains(string(out), c.wantErr)):
			t.Errorf("%s: want a validation error naming %q, got %v\n%s", c.config, c.wantErr, err, out)
		}
	}
}
