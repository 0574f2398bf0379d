package capture

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/govaudit/govaudit/internal/record"
)

// Mode is what the policy does with one content field.
type Mode string

// Capture modes.
const (
	// ModeKeep stores the content as received (truncated to MaxContentBytes);
	// its digest is recorded too when a key is configured.
	ModeKeep Mode = "keep"
	// ModeDigest stores only the HMAC-SHA256 digest of the content.
	ModeDigest Mode = "digest"
	// ModeRedact stores the content with every pattern match replaced by
	// "[REDACTED:<pattern>]", and the digest of the original.
	ModeRedact Mode = "redact"
	// ModeDrop stores neither the content nor a digest.
	ModeDrop Mode = "drop"
)

var modes = []Mode{ModeKeep, ModeDigest, ModeRedact, ModeDrop}

// UnmarshalText parses a capture mode, rejecting unknown values.
func (m *Mode) UnmarshalText(b []byte) error {
	for _, v := range modes {
		if Mode(b) == v {
			*m = v
			return nil
		}
	}
	return fmt.Errorf("unknown capture mode %q (want one of %s)", b, joinModes())
}

func joinModes() string {
	s := make([]string, len(modes))
	for i, m := range modes {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

// needsKey reports whether the mode records a digest of the original.
func (m Mode) needsKey() bool { return m == ModeDigest || m == ModeRedact }

// UnmappedMode is what the policy does with the value of an attribute that
// no mapping reads into a record field and no allowed_attributes entry names.
type UnmappedMode string

// Unmapped attribute modes.
const (
	// UnmappedDigest replaces the value by "hmac-sha256:<hex>" of its text
	// (a string as it is, any other value as canonical JSON); the key stays,
	// so the record shows that the attribute was there.
	UnmappedDigest UnmappedMode = "digest"
	// UnmappedDrop leaves the attribute out.
	UnmappedDrop UnmappedMode = "drop"
	// UnmappedKeep stores the value as received.
	UnmappedKeep UnmappedMode = "keep"
)

var unmappedModes = []UnmappedMode{UnmappedDigest, UnmappedDrop, UnmappedKeep}

// UnmarshalText parses an unmapped attribute mode, rejecting unknown values.
func (m *UnmappedMode) UnmarshalText(b []byte) error {
	for _, v := range unmappedModes {
		if UnmappedMode(b) == v {
			*m = v
			return nil
		}
	}
	return fmt.Errorf("unknown unmapped attribute mode %q (want one of digest, drop, keep)", b)
}

// Pattern names a built-in redaction pattern.
type Pattern string

// Built-in redaction patterns.
const (
	PatternEmail Pattern = "email" // RFC 5322-ish addr-spec: local@domain.tld
	PatternPhone Pattern = "phone" // 9 to 15 digits with optional +country code and separators
	PatternCard  Pattern = "card"  // 13 to 19 digits passing the Luhn check
	PatternIBAN  Pattern = "iban"  // ISO 13616 IBAN passing the mod-97 check
)

var patterns = []Pattern{PatternEmail, PatternPhone, PatternCard, PatternIBAN}

// UnmarshalText parses a built-in pattern name, rejecting unknown values.
func (p *Pattern) UnmarshalText(b []byte) error {
	for _, v := range patterns {
		if Pattern(b) == v {
			*p = v
			return nil
		}
	}
	return fmt.Errorf("unknown redaction pattern %q (want one of email, phone, card, iban)", b)
}

// Config is the capture policy: one Mode per content field, the digest key
// and the redaction patterns.
type Config struct {
	// Input is the mode for model inputs (prompts, messages, features,
	// retrieval queries). Options: keep, digest, redact, drop. Default digest.
	Input Mode `mapstructure:"input"`
	// Output is the mode for model outputs (completions, choices). Default digest.
	Output Mode `mapstructure:"output"`
	// SystemInstructions is the mode for system prompts. Default digest.
	SystemInstructions Mode `mapstructure:"system_instructions"`
	// ToolArguments is the mode for tool call arguments. Default digest.
	ToolArguments Mode `mapstructure:"tool_arguments"`
	// ToolResult is the mode for tool call results. Default digest.
	ToolResult Mode `mapstructure:"tool_result"`
	// RetrievalDocuments is the mode for retrieved documents. Default digest.
	RetrievalDocuments Mode `mapstructure:"retrieval_documents"`

	// MaxContentBytes caps each stored content field,
	// 1 ≤ MaxContentBytes ≤ 16777216 (record.MaxLarge).
	// Longer content is cut at a UTF-8 boundary and the record flagged
	// "truncated"; digests always cover the whole original. Default 32768.
	MaxContentBytes int `mapstructure:"max_content_bytes"`

	// UnmappedAttributes is the mode for the value of every attribute that no
	// mapping reads into a record field (see docs/semantic-conventions.md) and
	// no AllowedAttributes entry names, where the record keeps it: in
	// attributes, resource_attributes, and the non-numeric members of
	// parameters. Options: digest, drop, keep. Default digest (fail closed:
	// an attribute nobody declared safe is never archived in clear).
	// Content attributes never take this path: they follow the content modes.
	UnmappedAttributes UnmappedMode `mapstructure:"unmapped_attributes"`

	// AllowedAttributes lists the attribute keys whose values are archived in
	// clear although no mapping reads them: an exact key, or a prefix ending
	// in "*" ("telemetry.sdk.*"). A parameter merged from a JSON object
	// attribute is named "<attribute>.<member>"
	// (llm.invocation_parameters.model). Setting the list replaces the
	// default (DefaultAllowedAttributes); an empty list allows nothing.
	AllowedAttributes []string `mapstructure:"allowed_attributes"`

	// DigestKey is the HMAC-SHA256 key. Required when any field uses digest
	// or redact, or unmapped_attributes is digest; there is no generated
	// fallback key (see README).
	DigestKey KeyConfig `mapstructure:"digest_key"`

	// Redact configures the patterns used by mode redact.
	Redact RedactConfig `mapstructure:"redact"`
}

// KeyConfig locates the digest key. Exactly one of File and Value may be set.
type KeyConfig struct {
	// File is a path to a file holding the key; surrounding white space is
	// trimmed and at least 32 bytes must remain. Read by Validate (so
	// `otelcol-govaudit validate` checks it) and again at start.
	File string `mapstructure:"file"`
	// Value is the key itself, usually "${env:GOVAUDIT_DIGEST_KEY}"; at
	// least 32 bytes.
	Value configopaque.String `mapstructure:"value"`
	// ID names the key in each record's digest_key_id. Default: "fp:" and
	// the first 16 hex digits of HMAC-SHA256(key, "govaudit digest key id"),
	// a fingerprint that reveals nothing about the key.
	ID string `mapstructure:"id"`
}

// RedactConfig lists the patterns of mode redact.
type RedactConfig struct {
	// Builtin lists the built-in patterns applied, in this order.
	// Options: email, phone, card, iban. Default all four.
	Builtin []Pattern `mapstructure:"builtin"`
	// Custom lists extra regular expressions (RE2 syntax), applied after the
	// built-in ones.
	Custom []CustomPattern `mapstructure:"custom"`
}

// CustomPattern is a named regular expression; matches become "[REDACTED:<name>]".
type CustomPattern struct {
	// Name appears in the mask; required, letters, digits, '_' and '-' only.
	Name string `mapstructure:"name"`
	// Pattern is an RE2 regular expression.
	Pattern string `mapstructure:"pattern"`
}

// MinKeyBytes is the shortest accepted digest key.
const MinKeyBytes = 32

// DefaultMaxContentBytes is the default cap of one stored content field.
const DefaultMaxContentBytes = 32 << 10

// ErrNoKey reports a policy that needs a digest key but has none.
var ErrNoKey = errors.New("no digest key configured")

// DefaultAllowedAttributes is the default of allowed_attributes: attributes
// that describe the software, the deployment or the mechanics of a call,
// never a person or what was said, and that audits use. Each group says why
// it is safe; numbers and enumerations dominate.
func DefaultAllowedAttributes() []string {
	return []string{
		// Resource: what ran, where (service.name, service.version and
		// deployment.environment are mapped to columns).
		"service.namespace", "service.instance.id", "telemetry.sdk.*", "telemetry.distro.*",
		"process.runtime.name", "process.runtime.version", "os.type", "host.arch",
		"cloud.provider", "cloud.platform", "cloud.region", "k8s.namespace.name", "k8s.deployment.name",
		// The model provider and endpoint, and the outcome of the call.
		"server.address", "server.port", "http.request.method", "http.response.status_code", "http.status_code",
		// Provider response ids and usage counts that have no column.
		"gen_ai.response.id", "gen_ai.usage.*", "gen_ai.openai.response.system_fingerprint",
		"gen_ai.openai.request.service_tier", "gen_ai.openai.response.service_tier",
		"llm.token_count.*", "llm.usage.*", "ai.usage.*", "ai.response.id", "ai.response.finishReason",
		// Enumerations and developer-chosen names of each convention.
		"gen_ai.system", "gen_ai.openai.api_base", "llm.system", "llm.provider",
		"gen_ai.tool.type", "gen_ai.evaluation.name", "gen_ai.request.encoding_formats", "gen_ai.output.type",
		"openinference.span.kind", "openinference.project.name", "input.mime_type", "output.mime_type",
		"llm.invocation_parameters.model", "embedding.invocation_parameters.model",
		"llm.model_name", "llm.request.model_name", "llm.response.model_name",
		"anthropic.request.id", "anthropic.message.stop_reason",
		"traceloop.span.kind", "traceloop.workflow.name", "traceloop.entity.name", "traceloop.entity.path",
		"ai.operationId", "ai.model.provider", "ai.model.id", "ai.response.model", "ai.settings.*",
	}
}

// DefaultConfig returns the default policy: digest every field and every
// unmapped attribute, the default allow-list, all built-in redaction
// patterns, no key (which Validate rejects).
func DefaultConfig() Config {
	return Config{
		Input:              ModeDigest,
		Output:             ModeDigest,
		SystemInstructions: ModeDigest,
		ToolArguments:      ModeDigest,
		ToolResult:         ModeDigest,
		RetrievalDocuments: ModeDigest,
		MaxContentBytes:    DefaultMaxContentBytes,
		UnmappedAttributes: UnmappedDigest,
		AllowedAttributes:  DefaultAllowedAttributes(),
		Redact:             RedactConfig{Builtin: append([]Pattern(nil), patterns...)},
	}
}

// modes returns each field with its mode, in Field order.
func (c *Config) fieldModes() [numFields]Mode {
	return [numFields]Mode{
		Input:              c.Input,
		Output:             c.Output,
		SystemInstructions: c.SystemInstructions,
		ToolArguments:      c.ToolArguments,
		ToolResult:         c.ToolResult,
		RetrievalDocuments: c.RetrievalDocuments,
	}
}

// Validate checks the policy: a mode for every field, a key when a field
// needs one, a positive size cap and compilable custom patterns.
func (c *Config) Validate() error {
	var errs []error
	var needKey []string
	for f, m := range c.fieldModes() {
		if m == "" {
			errs = append(errs, fmt.Errorf("%s: mode is empty (want one of %s)", Field(f), joinModes()))
		}
		if m.needsKey() {
			needKey = append(needKey, fmt.Sprintf("%s (%s)", Field(f), m))
		}
	}
	switch c.UnmappedAttributes {
	case UnmappedDigest:
		needKey = append(needKey, "unmapped_attributes (digest)")
	case UnmappedDrop, UnmappedKeep:
	default:
		errs = append(errs, fmt.Errorf("unmapped_attributes: %q, want one of digest, drop, keep", c.UnmappedAttributes))
	}
	if _, err := newAllowList(c.AllowedAttributes); err != nil {
		errs = append(errs, err)
	}
	hasKey := c.DigestKey.File != "" || c.DigestKey.Value != ""
	if len(needKey) > 0 && !hasKey {
		errs = append(errs, fmt.Errorf("digest_key: %w, but %s need one: set digest_key::file or digest_key::value",
			ErrNoKey, strings.Join(needKey, ", ")))
	}
	if c.DigestKey.File != "" && c.DigestKey.Value != "" {
		errs = append(errs, errors.New("digest_key: set only one of file and value"))
	}
	if c.DigestKey.File != "" && c.DigestKey.Value == "" {
		// Read now, as New will: `otelcol-govaudit validate` refuses a
		// missing or short key file as start-up would.
		if _, err := c.readKeyFile(); err != nil {
			errs = append(errs, err)
		}
	}
	if v := c.DigestKey.Value; v != "" && len(strings.TrimSpace(string(v))) < MinKeyBytes {
		errs = append(errs, fmt.Errorf("digest_key::value: key is %d bytes, want at least %d", len(strings.TrimSpace(string(v))), MinKeyBytes))
	}
	if c.MaxContentBytes < 1 {
		errs = append(errs, fmt.Errorf("max_content_bytes: %d, want at least 1", c.MaxContentBytes))
	}
	if c.MaxContentBytes > record.MaxLarge {
		errs = append(errs, fmt.Errorf("max_content_bytes: %d, want at most %d (the record's cap of content fields)", c.MaxContentBytes, record.MaxLarge))
	}
	if _, err := compileCustom(c.Redact.Custom); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

var patternName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// compileCustom compiles the custom patterns once, naming the bad one.
func compileCustom(custom []CustomPattern) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, len(custom))
	var errs []error
	for i, p := range custom {
		if !patternName.MatchString(p.Name) {
			errs = append(errs, fmt.Errorf("redact::custom::%d: name %q: want letters, digits, '_' or '-'", i, p.Name))
		}
		if p.Pattern == "" {
			errs = append(errs, fmt.Errorf("redact::custom::%d %q: pattern is empty", i, p.Name))
			continue
		}
		re, err := regexp.Compile(p.Pattern)
		if err != nil {
			errs = append(errs, fmt.Errorf("redact::custom::%d %q: %w", i, p.Name, err))
			continue
		}
		out[i] = re
	}
	return out, errors.Join(errs...)
}

// An allowList matches attribute keys against allowed_attributes.
type allowList struct {
	exact    map[string]bool
	prefixes []string
}

// newAllowList checks and indexes the entries: exact keys, or prefixes
// ending in "*". A lone "*" is refused: it would make the allow-list a
// silent unmapped_attributes: keep.
func newAllowList(entries []string) (allowList, error) {
	l := allowList{exact: map[string]bool{}}
	var errs []error
	for i, e := range entries {
		switch {
		case strings.TrimSpace(e) == "":
			errs = append(errs, fmt.Errorf("allowed_attributes::%d: empty key", i))
		case e == "*":
			errs = append(errs, fmt.Errorf("allowed_attributes::%d: \"*\" would allow every attribute: set unmapped_attributes: keep instead", i))
		case strings.Contains(strings.TrimSuffix(e, "*"), "*"):
			errs = append(errs, fmt.Errorf("allowed_attributes::%d %q: '*' is only allowed at the end (a prefix)", i, e))
		case strings.HasSuffix(e, "*"):
			l.prefixes = append(l.prefixes, strings.TrimSuffix(e, "*"))
		default:
			l.exact[e] = true
		}
	}
	return l, errors.Join(errs...)
}

// allows reports whether key is named by an entry.
func (l allowList) allows(key string) bool {
	if l.exact[key] {
		return true
	}
	for _, p := range l.prefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// readKeyFile reads the key in digest_key::file: the file's contents with
// surrounding white space trimmed, at least MinKeyBytes long. Validate and
// New both call it.
func (c *Config) readKeyFile() (string, error) {
	b, err := os.ReadFile(c.DigestKey.File)
	if err != nil {
		return "", fmt.Errorf("digest_key::file: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if len(key) < MinKeyBytes {
		return "", fmt.Errorf("digest_key::file %s: key is %d bytes, want at least %d", c.DigestKey.File, len(key), MinKeyBytes)
	}
	return key, nil
}
