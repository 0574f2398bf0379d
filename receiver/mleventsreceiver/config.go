package mleventsreceiver // import "github.com/govaudit/govaudit/receiver/mleventsreceiver"

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
)

// Config defines the configuration of the mlevents receiver.
type Config struct {
	// ServerConfig holds the HTTP server settings of the collector: endpoint
	// (default 127.0.0.1:8737), tls, auth (an authenticator extension such as
	// bearertokenauth), max_request_body_size (default 20 MiB), cors,
	// timeouts. The auth extension applies to every path of this receiver.
	confighttp.ServerConfig `mapstructure:",squash"`

	// CloudEvents configures the CloudEvents 1.0 endpoint.
	CloudEvents CloudEventsConfig `mapstructure:"cloudevents"`

	// MLflow configures the MLflow model-registry webhook endpoint.
	MLflow MLflowConfig `mapstructure:"mlflow"`

	// MaxAttributesBytes caps, in bytes, the canonical JSON kept in a
	// record's attributes (event envelope plus data). Above it the event data
	// is replaced by its SHA-256 digest and size, and the record is flagged
	// "truncated". 1024 <= max_attributes_bytes <= 16 MiB; default 65536.
	// The key was max_attributes_size before; that name is still accepted
	// (deprecated, logged at start).
	MaxAttributesBytes int `mapstructure:"max_attributes_bytes"`

	// MaxEventsPerRequest caps the events of one CloudEvents batch. A longer
	// batch is refused whole with 413 as soon as event max+1 is met, before
	// it is decoded. A batch is decoded from the stream one event at a time
	// and only the records are kept, so a request takes about twice its
	// records' size plus 5 KB per event (BenchmarkLargeBatchMemory); the cap
	// bounds the second term, which dominates for small events.
	// 1 <= max_events_per_request <= 10000; default 1000.
	MaxEventsPerRequest int `mapstructure:"max_events_per_request"`

	// InsecureAllowUnauthenticated lets the receiver start on an endpoint
	// that is not loopback without authenticating its senders: the
	// cloudevents path without auth, or the mlflow path without auth or
	// mlflow::secret. Without it such a configuration is refused (fail
	// closed: anyone who reaches the port could write governance records).
	// Start logs a warning when it is set. Default false.
	InsecureAllowUnauthenticated bool `mapstructure:"insecure_allow_unauthenticated"`

	// deprecatedAttributesSize records that the configuration set
	// max_attributes_bytes by its deprecated name, for the start-up warning.
	deprecatedAttributesSize bool

	// prevent unkeyed literal initialization
	_ struct{}
}

// CloudEventsConfig configures the CloudEvents 1.0 HTTP endpoint
// (structured, binary and batched content modes).
type CloudEventsConfig struct {
	// Enabled serves the endpoint. Default true.
	Enabled bool `mapstructure:"enabled"`
	// Path is the URL path events are posted to. Default "/v1/events".
	Path string `mapstructure:"path"`
}

// MLflowConfig configures the MLflow model-registry webhook endpoint.
type MLflowConfig struct {
	// Enabled serves the endpoint. Default true.
	Enabled bool `mapstructure:"enabled"`
	// Path is the URL path MLflow webhooks are posted to. Default "/v1/mlflow".
	Path string `mapstructure:"path"`
	// Secret is the webhook secret configured in MLflow. When set, every
	// delivery must carry a valid X-MLflow-Signature, X-MLflow-Delivery-Id and
	// X-MLflow-Timestamp; when empty, signatures are not checked. No default.
	Secret configopaque.String `mapstructure:"secret"`
	// TimestampTolerance is how far X-MLflow-Timestamp may be from the
	// receiver's clock, either way, before a signed delivery is rejected as
	// stale (replay protection). Within it, a delivery id already accepted
	// is not recorded again (twice the tolerance after it arrived, see
	// dedup.go). 0 < timestamp_tolerance <= 24h; default 5m.
	TimestampTolerance time.Duration `mapstructure:"timestamp_tolerance"`
}

var (
	_ component.Config    = (*Config)(nil)
	_ confmap.Unmarshaler = (*Config)(nil)
)

// Unmarshal decodes the whole configuration. Without it the Unmarshal method
// promoted from the squashed confighttp.ServerConfig would be called on
// Config and decode only the server settings, dropping cloudevents, mlflow
// and max_attributes_bytes; confmap runs the embedded Unmarshal itself.
//
// confighttp decodes with WithIgnoreUnused, which would let a misspelt key
// pass silently, so Unmarshal also rejects unknown top-level keys and
// unknown keys in the cloudevents and mlflow sections.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	if conf.IsSet(deprecatedAttributesSizeKey) {
		if conf.IsSet(attributesBytesKey) {
			return fmt.Errorf("%s: deprecated name of %s, set only %s", deprecatedAttributesSizeKey, attributesBytesKey, attributesBytesKey)
		}
		m := conf.ToStringMap()
		m[attributesBytesKey] = m[deprecatedAttributesSizeKey]
		delete(m, deprecatedAttributesSizeKey)
		conf = confmap.NewFromStringMap(m)
		cfg.deprecatedAttributesSize = true
	}
	var unknown []string
	for _, k := range conf.AllKeys() {
		top, _, _ := strings.Cut(k, confmap.KeyDelimiter)
		if !topLevelKeys[top] && !slices.Contains(unknown, top) {
			unknown = append(unknown, top)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("unknown keys %s (want one of %s)", strings.Join(unknown, ", "), strings.Join(slices.Sorted(maps.Keys(topLevelKeys)), ", "))
	}
	for key, section := range map[string]any{"cloudevents": &CloudEventsConfig{}, "mlflow": &MLflowConfig{}} {
		sub, err := conf.Sub(key)
		if err != nil {
			return err
		}
		if err := sub.Unmarshal(section); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	return conf.Unmarshal(cfg)
}

// attributesBytesKey was named deprecatedAttributesSizeKey before; Unmarshal
// accepts the old name.
const (
	attributesBytesKey          = "max_attributes_bytes"
	deprecatedAttributesSizeKey = "max_attributes_size"
)

// topLevelKeys holds the mapstructure keys of Config, including those of the
// squashed structs.
var topLevelKeys = func() map[string]bool {
	keys := map[string]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
			if slices.Contains(strings.Split(opts, ","), "squash") {
				walk(f.Type)
				continue
			}
			if name != "" && name != "-" {
				keys[name] = true
			}
		}
	}
	walk(reflect.TypeOf(Config{}))
	return keys
}()

// Bounds of the validated settings.
const (
	minAttributesBytes    = 1024
	maxAttributesBytes    = 16 << 20
	maxTimestampTolerance = 24 * time.Hour
	maxEventsPerRequest   = 10000
)

var (
	errNoEndpoint        = errors.New("endpoint must not be empty")
	errNothingEnabled    = errors.New("cloudevents::enabled and mlflow::enabled are both false: the receiver would serve nothing")
	errSamePath          = errors.New("cloudevents::path and mlflow::path must differ")
	errTimestampTolRange = fmt.Errorf("mlflow::timestamp_tolerance must be > 0 and <= %s", maxTimestampTolerance)
	errAttributesBytes   = fmt.Errorf("max_attributes_bytes must be between %d and %d", minAttributesBytes, maxAttributesBytes)
	errEventsPerRequest  = fmt.Errorf("max_events_per_request must be between 1 and %d", maxEventsPerRequest)
	errOpenCloudEvents   = errors.New("auth: required when endpoint is not a loopback address and cloudevents::enabled " +
		"(set auth::authenticator, or insecure_allow_unauthenticated: true to accept unauthenticated events)")
	errOpenMLflow = errors.New("mlflow::secret: required when endpoint is not a loopback address and mlflow::enabled without auth " +
		"(set mlflow::secret to the MLflow webhook secret, or insecure_allow_unauthenticated: true to accept unsigned deliveries)")
)

// Validate checks the receiver configuration. Every error names its field.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.NetAddr.Endpoint == "" {
		errs = append(errs, errNoEndpoint)
	}
	if !cfg.CloudEvents.Enabled && !cfg.MLflow.Enabled {
		errs = append(errs, errNothingEnabled)
	}
	if cfg.CloudEvents.Enabled {
		if err := validatePath(cfg.CloudEvents.Path); err != nil {
			errs = append(errs, fmt.Errorf("cloudevents::path: %w", err))
		}
	}
	if cfg.MLflow.Enabled {
		if err := validatePath(cfg.MLflow.Path); err != nil {
			errs = append(errs, fmt.Errorf("mlflow::path: %w", err))
		}
	}
	if cfg.CloudEvents.Enabled && cfg.MLflow.Enabled && cfg.CloudEvents.Path == cfg.MLflow.Path {
		errs = append(errs, errSamePath)
	}
	if cfg.MLflow.TimestampTolerance <= 0 || cfg.MLflow.TimestampTolerance > maxTimestampTolerance {
		errs = append(errs, errTimestampTolRange)
	}
	if cfg.MaxAttributesBytes < minAttributesBytes || cfg.MaxAttributesBytes > maxAttributesBytes {
		errs = append(errs, errAttributesBytes)
	}
	if cfg.MaxEventsPerRequest < 1 || cfg.MaxEventsPerRequest > maxEventsPerRequest {
		errs = append(errs, errEventsPerRequest)
	}
	if cfg.NetAddr.Endpoint != "" && !cfg.InsecureAllowUnauthenticated && !isLoopback(cfg.NetAddr.Endpoint) && !cfg.Auth.HasValue() {
		if cfg.CloudEvents.Enabled {
			errs = append(errs, errOpenCloudEvents)
		}
		if cfg.MLflow.Enabled && cfg.MLflow.Secret == "" {
			errs = append(errs, errOpenMLflow)
		}
	}
	return errors.Join(errs...)
}

// isLoopback reports whether endpoint (host:port) listens only on a
// loopback address: localhost or a 127.0.0.0/8 or ::1 literal. An empty
// host, 0.0.0.0, :: or any other name listens beyond the machine.
func isLoopback(endpoint string) bool {
	host, _, err := net.SplitHostPort(endpoint)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validatePath accepts an absolute URL path made of unreserved characters
// (RFC 3986 section 2.3) and "/". The restriction keeps http.ServeMux from
// reading the path as a pattern with wildcards or a method, which would
// panic or match more than the one path.
func validatePath(p string) error {
	switch {
	case p == "":
		return errors.New("must not be empty")
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q must start with \"/\"", p)
	case len(p) > 1 && strings.HasSuffix(p, "/"), p == "/":
		return fmt.Errorf("%q must not end with \"/\" (it would match every path below it)", p)
	case strings.Contains(p, "//"):
		return fmt.Errorf("%q must not contain an empty segment", p)
	}
	for _, c := range p {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("-._~/", c)) {
			return fmt.Errorf("%q: character %q not allowed (want letters, digits, \"-._~/\")", p, c)
		}
	}
	return nil
}
