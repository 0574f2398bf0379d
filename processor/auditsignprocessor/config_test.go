package auditsignprocessor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/processor/auditsignprocessor/internal/metadata"
)

// testdataKey is the signing key path in testdata/config.yaml. Validate
// reads the key, so each test points the rows that name it at a real key.
const testdataKey = "/etc/govaudit/signing.key"

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := writeKey(t, "k", 0o600)
	storage := component.MustNewIDWithName("file_storage", "audit")
	tests := []struct {
		id      component.ID
		want    *Config
		wantErr string
	}{
		{
			id:   component.NewID(metadata.Type),
			want: &Config{SigningKeyFile: "/etc/govaudit/signing.key", CheckpointInterval: time.Second},
		},
		{
			id: component.NewIDWithName(metadata.Type, "full"),
			want: &Config{
				Origin:             "collector-1.example.com",
				SigningKeyFile:     "/etc/govaudit/signing.key",
				Storage:            &storage,
				CheckpointInterval: 5 * time.Second,
			},
		},
		{
			id:   component.NewIDWithName(metadata.Type, "every_batch"),
			want: &Config{SigningKeyFile: "/etc/govaudit/signing.key"},
		},
		{
			id:      component.NewIDWithName(metadata.Type, "missing_key"),
			wantErr: "signing_key_file: required",
		},
		{
			id:      component.NewIDWithName(metadata.Type, "bad_origin"),
			wantErr: `origin "collector/1": want 1-128 characters from [A-Za-z0-9._-], starting with a letter or digit`,
		},
		{
			id:   component.NewIDWithName(metadata.Type, "origin_required"),
			want: &Config{Origin: "collector-1", OriginRequired: true, SigningKeyFile: "/etc/govaudit/signing.key", CheckpointInterval: time.Second},
		},
		{
			// An origin read from a variable set to "" is refused, not
			// turned into the host name.
			id:      component.NewIDWithName(metadata.Type, "origin_required_empty"),
			wantErr: "origin: empty, and origin_required is set: give this collector a stable origin (e.g. GOVAUDIT_ORIGIN); the host name default is off",
		},
		{
			id:      component.NewIDWithName(metadata.Type, "negative_interval"),
			wantErr: "checkpoint_interval: must not be negative",
		},
		{
			id: component.NewIDWithName(metadata.Type, "all_errors"),
			wantErr: `origin "-x": want 1-128 characters from [A-Za-z0-9._-], starting with a letter or digit` + "\n" +
				"signing_key_file: required\n" +
				"checkpoint_interval: must not be negative",
		},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			if err != nil {
				t.Fatal(err)
			}
			if err := sub.Unmarshal(cfg); err != nil {
				t.Fatal(err)
			}
			got := cfg.(*Config)
			if tt.want != nil && got.SigningKeyFile != tt.want.SigningKeyFile {
				t.Errorf("signing_key_file = %q, want %q", got.SigningKeyFile, tt.want.SigningKeyFile)
			}
			if got.SigningKeyFile == testdataKey {
				got.SigningKeyFile = key
			}
			err = confmap.Validate(cfg)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Validate = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Origin != tt.want.Origin || got.OriginRequired != tt.want.OriginRequired ||
				got.CheckpointInterval != tt.want.CheckpointInterval ||
				(got.Storage == nil) != (tt.want.Storage == nil) ||
				(got.Storage != nil && *got.Storage != *tt.want.Storage) {
				t.Errorf("config = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEmptyStorageID(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.SigningKeyFile, _ = writeKey(t, "k", 0o600)
	cfg.Storage = &component.ID{}
	if err := cfg.Validate(); err == nil || err.Error() != "storage: empty extension id" {
		t.Errorf("Validate = %v", err)
	}
}

func TestDefaultOrigin(t *testing.T) {
	for _, tc := range []struct{ host, name, want string }{
		{"collector-1.example.com", "", "collector-1.example.com"},
		{"collector-1", "eu", "collector-1.eu"},
		{"-weird host!", "a/b", "weird-host-.a-b"},
		{"", "", "govaudit"},
		{"..", "", "govaudit"},
		{"", "main", "main"},
		{"h" + strings.Repeat("\x00", 200), "", "h" + strings.Repeat("-", 127)},
	} {
		got := defaultOrigin(tc.host, tc.name)
		if got != tc.want {
			t.Errorf("defaultOrigin(%q, %q) = %q, want %q", tc.host, tc.name, got, tc.want)
		}
		if err := auditlog.ValidOrigin(got); err != nil {
			t.Errorf("defaultOrigin(%q, %q) = %q: %v", tc.host, tc.name, got, err)
		}
	}
}

// TestValidateLoadsSigningKey: Validate, which `otelcol-govaudit validate`
// runs, refuses a signing key that is missing, malformed, or accessible to
// group or others, with the error Start would give.
func TestValidateLoadsSigningKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, _ := writeKey(t, "good", 0o600)
	skey, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	_, vkey, err := auditlog.GenerateKey("pub")
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.key")
	keyDir := filepath.Join(dir, "d.key")
	if err := os.Mkdir(keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, wantErr string
	}{
		{"good", good, ""},
		{"missing", missing, "signing_key_file: stat " + missing + ": no such file or directory"},
		{"world-readable", write("644.key", string(skey), 0o644), "signing_key_file: signing key " + filepath.Join(dir, "644.key") + " has mode 0644: it must not be accessible to group or others (chmod 600)"},
		{"group-readable", write("640.key", string(skey), 0o640), "signing_key_file: signing key " + filepath.Join(dir, "640.key") + " has mode 0640: it must not be accessible to group or others (chmod 600)"},
		{"others-writable", write("602.key", string(skey), 0o602), "signing_key_file: signing key " + filepath.Join(dir, "602.key") + " has mode 0602: it must not be accessible to group or others (chmod 600)"},
		{"malformed", write("bad.key", "PRIVATE+KEY+x+00000000+AAAA\n", 0o600), "signing_key_file: signing key " + filepath.Join(dir, "bad.key") + ": unknown verifier algorithm"},
		{"verifier key", write("pub.key", vkey+"\n", 0o600), "signing_key_file: signing key " + filepath.Join(dir, "pub.key") + ": malformed verifier id"},
		{"directory", keyDir, "signing_key_file: read " + keyDir + ": is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.SigningKeyFile = tc.path
			err := cfg.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("Validate = %v, want %q", err, tc.wantErr)
			}
			// The same error as start-up, which loads the key with the same code.
			p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Start(context.Background(), componenttest.NewNopHost()); err == nil || err.Error() != tc.wantErr {
				t.Errorf("Start = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
