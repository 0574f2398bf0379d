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
	secrets := filepath.Join(e.data, "keys") // digest.key is there; add the token and signing.key
	if err := os.WriteFile(filepath.Join(secrets, "mlevents.token"), []byte("token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	copyFile(t, e.key, filepath.Join(secrets, "signing.key"), 0o600) // validate loads it
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
		// production.yaml fails closed: no origin (unset or empty), or an MLflow path on
		// 0.0.0.0 without its webhook secret, refuses to validate.
		// (GOVAUDIT_ORIGIN unset: the loop below drops it from the environment.)
		{"../examples/production.yaml", []string{"GOVAUDIT_SECRETS_DIR=" + secrets,
			"GOVAUDIT_MLFLOW_WEBHOOK_SECRET=s3cret"}, `processors::auditsign: origin "GOVAUDIT_ORIGIN must be set`},
		{"../examples/production.yaml", []string{"GOVAUDIT_SECRETS_DIR=" + secrets, "GOVAUDIT_ORIGIN=",
			"GOVAUDIT_MLFLOW_WEBHOOK_SECRET=s3cret"}, "processors::auditsign: origin: empty, and origin_required is set"},
		{"../examples/production.yaml", []string{"GOVAUDIT_SECRETS_DIR=" + secrets, "GOVAUDIT_ORIGIN=collector-0",
			"GOVAUDIT_MLFLOW_WEBHOOK_SECRET="}, "receivers::mlevents/mlflow: mlflow::secret: required when endpoint is not a loopback address"},
		{broken, nil, "checkpoint_interval"},
	} {
		cmd := exec.Command(filepath.Join(e.bin, "otelcol-govaudit"), "validate", "--config", c.config)
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "GOVAUDIT_ORIGIN=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, c.env...)
		out, err := cmd.CombinedOutput()
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s does not validate: %v\n%s", c.config, err, out)
		case c.wantErr != "" && (err == nil || !strings.Contains(string(out), c.wantErr)):
			t.Errorf("%s: want a validation error naming %q, got %v\n%s", c.config, c.wantErr, err, out)
		}
	}
}

// TestValidateDigestKey: validate reads the mlgovernance digest key file as
// start-up does: the quickstart config without its digest key fails,
// naming digest_key.file.
func TestValidateDigestKey(t *testing.T) {
	e := newEnv(t)
	digest := filepath.Join(e.data, "keys", "digest.key")
	if err := os.Remove(digest); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(e.bin, "otelcol-govaudit"), "validate", "--config", "../examples/quickstart.yaml")
	cmd.Env = append(os.Environ(), "GOVAUDIT_DATA="+e.data)
	out, err := cmd.CombinedOutput()
	if want := "digest_key::file: open " + digest + ": no such file or directory"; err == nil || !strings.Contains(string(out), want) {
		t.Errorf("validate: %v, want an error naming %q\n%s", err, want, out)
	}
}

// TestValidateSigningKey: `otelcol-govaudit validate` loads the auditsign
// and auditparquet signing key as start-up does, so it fails, naming signing_key_file, when
// the key is missing or readable by others, and passes with a 0600 key.
func TestValidateSigningKey(t *testing.T) {
	e := newEnv(t)
	config := filepath.Join(e.data, "key.yaml")
	if err := os.WriteFile(config, []byte(`
receivers: {otlp: {protocols: {http: {endpoint: "127.0.0.1:0"}}}}
processors: {auditsign: {signing_key_file: "${env:KEY}"}}
exporters: {auditparquet: {directory: "${env:ARCHIVE}", signing_key_file: "${env:KEY}"}}
service: {pipelines: {logs: {receivers: [otlp], processors: [auditsign], exporters: [auditparquet]}}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	openKey := filepath.Join(e.data, "open.key")
	copyFile(t, e.key, openKey, 0o644)
	for _, c := range []struct {
		name, key, wantErr string
	}{
		{"0600 key", e.key, ""},
		{"missing key", filepath.Join(e.data, "missing.key"), "signing_key_file: stat " + filepath.Join(e.data, "missing.key") + ": no such file or directory"},
		{"0644 key", openKey, "signing_key_file: signing key " + openKey + " has mode 0644"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(e.bin, "otelcol-govaudit"), "validate", "--config", config)
			cmd.Env = append(os.Environ(), "KEY="+c.key, "ARCHIVE="+filepath.Join(e.data, "audit"))
			out, err := cmd.CombinedOutput()
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("validate: %v\n%s", err, out)
			case c.wantErr != "" && err == nil:
				t.Errorf("validate passed, want an error naming %q\n%s", c.wantErr, out)
			case c.wantErr != "" && !strings.Contains(string(out), c.wantErr):
				t.Errorf("validate: %v, want an error naming %q\n%s", err, c.wantErr, out)
			}
		})
	}
}

// copyFile copies src to dst with the given mode.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		t.Fatal(err)
	}
}
