package auditsignprocessor

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/govaudit/govaudit/internal/auditlog"
)

// Config configures the auditsign processor.
type Config struct {
	// Origin names this collector's log in checkpoints, records and archive
	// partitions; see auditlog.ValidOrigin for the allowed characters. Two
	// processors must never share an origin. Optional; default "": the host
	// name (sanitised) for `auditsign`, "<host name>.<name>" for
	// `auditsign/<name>`.
	Origin string `mapstructure:"origin"`

	// OriginRequired refuses an empty Origin instead of defaulting to the
	// host name: a production configuration reads the origin from the
	// environment, where a variable set to "" would otherwise silently turn
	// into a host name that changes with every container. Default false.
	OriginRequired bool `mapstructure:"origin_required"`

	// SigningKeyFile is the path of the note-format Ed25519 private key
	// ("PRIVATE+KEY+<name>+<hash>+<base64>", as written by `govaudit keygen`).
	// Required. The file must not be accessible to group or others. Validate
	// loads it with the code Start uses (auditlog.LoadSigner), so
	// `otelcol-govaudit validate` refuses a missing, malformed or readable
	// key as start-up would; Start loads it again.
	SigningKeyFile string `mapstructure:"signing_key_file"`

	// Storage is the id of a storage extension (such as file_storage) that
	// keeps the tree state across restarts. Optional; without it every start
	// opens a new epoch.
	Storage *component.ID `mapstructure:"storage"`

	// CheckpointInterval bounds how long new leaves stay unsigned: a
	// checkpoint follows a batch if the interval has passed since the last
	// one, otherwise a timer signs one at most CheckpointInterval after the
	// first unsigned leaf. 0 signs after every batch. Default 1s; must not
	// be negative.
	CheckpointInterval time.Duration `mapstructure:"checkpoint_interval"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

var (
	errNoSigningKey     = errors.New("signing_key_file: required")
	errNegativeInterval = errors.New("checkpoint_interval: must not be negative")
	errEmptyStorage     = errors.New("storage: empty extension id")
	errOriginRequired   = errors.New("origin: empty, and origin_required is set: give this collector a stable origin (e.g. GOVAUDIT_ORIGIN); the host name default is off")
)

// Validate checks the configuration; each error names its field. It reads
// the signing key file.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Origin != "" {
		errs = append(errs, auditlog.ValidOrigin(cfg.Origin))
	} else if cfg.OriginRequired {
		errs = append(errs, errOriginRequired)
	}
	if strings.TrimSpace(cfg.SigningKeyFile) == "" {
		errs = append(errs, errNoSigningKey)
	} else if _, err := auditlog.LoadSigner(cfg.SigningKeyFile); err != nil {
		errs = append(errs, fmt.Errorf("signing_key_file: %w", err)) // the text Start reports
	}
	if cfg.Storage != nil && cfg.Storage.Type().String() == "" {
		errs = append(errs, errEmptyStorage)
	}
	if cfg.CheckpointInterval < 0 {
		errs = append(errs, errNegativeInterval)
	}
	return errors.Join(errs...)
}

// resolveOrigin returns cfg.Origin, or the default derived from the host
// name and the component name.
func (cfg *Config) resolveOrigin(id component.ID) (string, error) {
	if cfg.Origin != "" {
		return cfg.Origin, nil
	}
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("origin: not set and the host name is unknown: %w", err)
	}
	return defaultOrigin(host, id.Name()), nil
}

// defaultOrigin derives an origin from a host name and a component name:
// characters outside [A-Za-z0-9._-] become '-', leading non-alphanumerics
// are dropped and the result is cut to 128 characters ("govaudit" if
// nothing is left).
func defaultOrigin(host, name string) string {
	s := host
	if name != "" {
		s += "." + name
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.' || c == '_' || c == '-':
			if len(b) == 0 {
				continue
			}
		default:
			if len(b) == 0 {
				continue
			}
			c = '-'
		}
		b = append(b, c)
	}
	if len(b) > 128 {
		b = b[:128]
	}
	if len(b) == 0 {
		return "govaudit"
	}
	return string(b)
}
