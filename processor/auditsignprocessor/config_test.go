package auditsignprocessor

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/processor/auditsignprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
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
			got := cfg.(*Config)
			if got.Origin != tt.want.Origin || got.SigningKeyFile != tt.want.SigningKeyFile ||
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
	cfg.SigningKeyFile = "k"
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
