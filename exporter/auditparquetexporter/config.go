package auditparquetexporter // import "github.com/govaudit/govaudit/exporter/auditparquetexporter"

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/govaudit/govaudit/internal/auditlog"
)

// Config defines the configuration of the auditparquet exporter.
type Config struct {
	// Directory is the archive root (see internal/archive for the layout).
	// Required. Created at start if missing.
	Directory string `mapstructure:"directory"`

	// SigningKeyFile is the path of the note-format Ed25519 private key
	// ("PRIVATE+KEY+<name>+<hash>+<base64>", as written by `govaudit keygen`)
	// that signs the file manifests (manifests/<origin>/<seq>: the SHA-256
	// of every sealed data, index and checkpoint file). Required; normally
	// the key file of the auditsign processor, so that verify needs one
	// public key. The file must not be accessible to group or others.
	// Validate loads it with the code Start uses (auditlog.LoadSigner).
	SigningKeyFile string `mapstructure:"signing_key_file"`

	// Rotation says when the open file of an origin is sealed. A file is
	// also sealed at shutdown and when the UTC date changes.
	Rotation RotationConfig `mapstructure:"rotation"`

	// TimeoutConfig is the per-attempt timeout (`timeout`, default 5s).
	exporterhelper.TimeoutConfig `mapstructure:",squash"`
	// QueueConfig is the exporterhelper sending queue (`sending_queue`).
	// Off by default: ConsumeLogs then returns once the batch is in the
	// fsynced WAL. When configured it defaults to in memory with one
	// consumer; set `storage` to a storage extension such as file_storage
	// to make it persistent. num_consumers must be 1 so records stay in
	// leaf order.
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	// BackOffConfig is the retry policy (`retry_on_failure`). Disabled by
	// default: with the queue off, exporterhelper's retry would block the
	// synchronous pipeline (and its client) while the disk is full; a
	// failed write is answered at once with a retryable error instead, and
	// the client retries. Enable it (with max_elapsed_time: 0) only with a
	// persistent sending queue.
	BackOffConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// S3, when present, also uploads every sealed file (data files,
	// indexes, checkpoint files, manifests, latest) to a bucket under Object
	// Lock; see S3Config. The write-ahead log and state stay in Directory.
	S3 configoptional.Optional[S3Config] `mapstructure:"s3"`
}

// RotationConfig says when a data file is due for sealing. MaxRows and
// MaxBytes are thresholds, "seal once reached": a batch is never split
// across files, so a file exceeds them by the rest of the batch that reached
// them, plus what arrives while it waits for the checkpoint covering its
// last leaves (at most max_age) or while sealing fails.
type RotationConfig struct {
	// MaxRows seals a file once it holds this many rows. Default 100000; >= 1.
	MaxRows int `mapstructure:"max_rows"`
	// MaxBytes seals a file once the records appended to it take this many
	// bytes in the write-ahead log (uncompressed protobuf; the zstd Parquet
	// file is typically 5-10 times smaller). Default 256 MiB; >= 1.
	MaxBytes int64 `mapstructure:"max_bytes"`
	// MaxAge seals a file this long after its first row, even if idle.
	// It is also how long a due file waits for the checkpoint (or next
	// epoch start) covering its last leaves before it is sealed anyway, with
	// a warning. Default 5m; > 0.
	MaxAge time.Duration `mapstructure:"max_age"`
}

var _ component.Config = (*Config)(nil)

// Errors callers may match.
var (
	errNoDirectory      = errors.New("directory: must be set")
	errNoSigningKey     = errors.New("signing_key_file: required")
	errParallelConsumer = errors.New("sending_queue::num_consumers must be 1: parallel consumers reorder records, and rows must stay in leaf order (reordering is evidence of tampering)")
	errPartitionedBatch = errors.New("sending_queue::batch::partition::metadata_keys must be empty: partitioned batches can be delivered out of leaf order")
)

// Validate checks the configuration. The sending queue, retry and timeout
// settings are also validated by their own Validate methods. It reads the
// signing key file.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Directory == "" {
		errs = append(errs, errNoDirectory)
	}
	if strings.TrimSpace(cfg.SigningKeyFile) == "" {
		errs = append(errs, errNoSigningKey)
	} else if _, err := auditlog.LoadSigner(cfg.SigningKeyFile); err != nil {
		errs = append(errs, fmt.Errorf("signing_key_file: %w", err)) // the text Start reports
	}
	if cfg.Rotation.MaxRows < 1 {
		errs = append(errs, fmt.Errorf("rotation::max_rows: must be at least 1, got %d", cfg.Rotation.MaxRows))
	}
	if cfg.Rotation.MaxBytes < 1 {
		errs = append(errs, fmt.Errorf("rotation::max_bytes: must be at least 1, got %d", cfg.Rotation.MaxBytes))
	}
	if cfg.Rotation.MaxAge <= 0 {
		errs = append(errs, fmt.Errorf("rotation::max_age: must be positive, got %s", cfg.Rotation.MaxAge))
	}
	if q := cfg.QueueConfig.Get(); q != nil {
		if q.NumConsumers > 1 {
			errs = append(errs, fmt.Errorf("%w (got %d)", errParallelConsumer, q.NumConsumers))
		}
		if b := q.Batch.Get(); b != nil && len(b.Partition.MetadataKeys) > 0 {
			errs = append(errs, errPartitionedBatch)
		}
	}
	return errors.Join(errs...)
}
