package auditparquetexporter

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/govaudit/govaudit/exporter/auditparquetexporter/internal/metadata"
)

// testdataKey is the signing key path in testdata/config.yaml, and
// testdataReadableKey a key readable by others. Validate reads the key, so
// each test points the rows that name them at real key files.
const (
	testdataKey         = "/etc/govaudit/signing.key"
	testdataReadableKey = "/etc/govaudit/readable.key"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	skey, _ := testKey()
	readable := filepath.Join(t.TempDir(), "readable.key")
	if err := os.WriteFile(readable, []byte(skey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id        component.ID
		expected  func(*Config)
		errorText string
	}{
		{
			id:       component.NewID(metadata.Type),
			expected: func(c *Config) { c.Directory, c.SigningKeyFile = "/var/lib/govaudit/archive", testKeyFile() },
		},
		{
			id: component.NewIDWithName(metadata.Type, "full"),
			expected: func(c *Config) {
				c.Directory, c.SigningKeyFile = "/var/lib/govaudit/archive", testKeyFile()
				c.Rotation = RotationConfig{MaxRows: 50000, MaxBytes: 64 << 20, MaxAge: 10 * time.Minute}
				c.Timeout = 30 * time.Second
				q := c.QueueConfig.GetOrInsertDefault()
				storage := component.MustNewIDWithName("file_storage", "auditparquet")
				q.StorageID = &storage
				q.QueueSize = 5000
				q.BlockOnOverflow = true
				c.BackOffConfig.Enabled = true
				c.BackOffConfig.InitialInterval = time.Second
				c.BackOffConfig.MaxInterval = 30 * time.Second
				c.BackOffConfig.MaxElapsedTime = 0
			},
		},
		{id: component.NewIDWithName(metadata.Type, "no_directory"), errorText: "directory: must be set"},
		{id: component.NewIDWithName(metadata.Type, "no_signing_key"), errorText: "signing_key_file: required"},
		{
			id:        component.NewIDWithName(metadata.Type, "readable_signing_key"),
			errorText: "signing_key_file: signing key " + readable + " has mode 0644: it must not be accessible to group or others (chmod 600)",
		},
		{id: component.NewIDWithName(metadata.Type, "max_rows_zero"), errorText: "rotation::max_rows: must be at least 1, got 0"},
		{id: component.NewIDWithName(metadata.Type, "max_bytes_negative"), errorText: "rotation::max_bytes: must be at least 1, got -1"},
		{id: component.NewIDWithName(metadata.Type, "max_age_zero"), errorText: "rotation::max_age: must be positive, got 0s"},
		{
			id:        component.NewIDWithName(metadata.Type, "parallel_consumers"),
			errorText: "sending_queue::num_consumers must be 1: parallel consumers reorder records, and rows must stay in leaf order (reordering is evidence of tampering) (got 4)",
		},
		{
			id:        component.NewIDWithName(metadata.Type, "partitioned_batch"),
			errorText: "sending_queue::batch::partition::metadata_keys must be empty: partitioned batches can be delivered out of leaf order",
		},
		{id: component.NewIDWithName(metadata.Type, "queue_size_zero"), errorText: "sending_queue: `queue_size` must be positive"},
		{id: component.NewIDWithName(metadata.Type, "negative_timeout"), errorText: "timeoutconfig: timeout value must be greater than or equal to 0"},
		{
			id: component.NewIDWithName(metadata.Type, "s3"),
			expected: func(c *Config) {
				c.Directory, c.SigningKeyFile = "/var/lib/govaudit/archive", testKeyFile()
				s := c.S3.GetOrInsertDefault()
				s.Bucket, s.Prefix, s.PathStyle = "audit-archive", "prod/eu-1", true
				s.Retention = RetentionConfig{Mode: RetentionGovernance, Days: 400}
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "s3_defaults"),
			expected: func(c *Config) {
				c.Directory, c.SigningKeyFile = "./archive", testKeyFile()
				s := c.S3.GetOrInsertDefault()
				s.Bucket, s.Retention.Days = "audit-archive", 400
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "s3_invalid"),
			errorText: "s3: bucket: bucket name \"Audit_Archive\": want lowercase letters, digits, '.' and '-', starting and ending with a letter or digit\n" +
				"prefix: prefix \"/prod//\": want slash-separated names, without leading or trailing slash, empty, \".\" or \"..\" elements\n" +
				"retention::days: must be between 1 and 36500, got 0",
		},
		{
			id:        component.NewIDWithName(metadata.Type, "s3_no_bucket"),
			errorText: "s3: bucket: required (the name of a bucket with Object Lock enabled)\nretention::days: must be between 1 and 36500, got 36501",
		},
		{id: component.NewIDWithName(metadata.Type, "s3_bad_mode"), errorText: "decoding failed due to the following error(s):\n\n's3' decoding failed due to the following error(s):\n\n" +
			"'retention.mode' want COMPLIANCE or GOVERNANCE, got \"compliance\""},
		{id: component.NewIDWithName(metadata.Type, "unknown_field"), errorText: "decoding failed due to the following error(s):\n\n'auditparquetexporter.Config' has invalid keys: compression"},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig().(*Config)
			sub, err := cm.Sub(tt.id.String())
			if err != nil {
				t.Fatal(err)
			}
			err = sub.Unmarshal(cfg)
			switch cfg.SigningKeyFile {
			case testdataKey:
				cfg.SigningKeyFile = testKeyFile()
			case testdataReadableKey:
				cfg.SigningKeyFile = readable
			}
			if err == nil {
				err = confmap.Validate(cfg)
			}
			if tt.errorText != "" {
				if err == nil || err.Error() != tt.errorText {
					t.Fatalf("error = %v\nwant %q", err, tt.errorText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := NewFactory().CreateDefaultConfig().(*Config)
			tt.expected(want)
			if !equalConfig(cfg, want) {
				t.Fatalf("config = %+v\nwant %+v", cfg, want)
			}
		})
	}
}

func equalConfig(a, b *Config) bool {
	qa, qb := a.QueueConfig.Get(), b.QueueConfig.Get()
	if (qa == nil) != (qb == nil) || qa != nil && ((qa.StorageID == nil) != (qb.StorageID == nil) ||
		qa.StorageID != nil && *qa.StorageID != *qb.StorageID || qa.QueueSize != qb.QueueSize ||
		qa.NumConsumers != qb.NumConsumers || qa.BlockOnOverflow != qb.BlockOnOverflow || qa.Sizer != qb.Sizer) {
		return false
	}
	sa, sb := a.S3.Get(), b.S3.Get()
	if (sa == nil) != (sb == nil) || sa != nil && *sa != *sb {
		return false
	}
	return a.Directory == b.Directory && a.SigningKeyFile == b.SigningKeyFile && a.Rotation == b.Rotation && a.TimeoutConfig == b.TimeoutConfig && a.BackOffConfig == b.BackOffConfig
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	if cfg.Rotation != (RotationConfig{MaxRows: 100_000, MaxBytes: 256 << 20, MaxAge: 5 * time.Minute}) {
		t.Errorf("rotation defaults %+v", cfg.Rotation)
	}
	if cfg.QueueConfig.HasValue() {
		t.Error("the sending queue must be off by default (synchronous, durable WAL writes)")
	}
	if q := cfg.QueueConfig.GetOrInsertDefault(); q.NumConsumers != 1 || q.StorageID != nil {
		t.Errorf("queue defaults when enabled %+v", q)
	}
	// Retry would block the synchronous pipeline while the disk is full.
	if cfg.BackOffConfig.Enabled {
		t.Error("retry_on_failure must be disabled by default")
	}
	// The default config lacks only the directory and the signing key.
	if err := confmap.Validate(cfg); err == nil || err.Error() != "directory: must be set\nsigning_key_file: required" {
		t.Errorf("Validate(default) = %v", err)
	}
}
