package capture

import (
	"errors"
	"fmt"
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

	// DigestKey is the HMAC-SHA256 key. Required when any field uses digest
	// or redact; there is no generated fallback key (see README).
	DigestKey KeyConfig `mapstructure:"digest_key"`

	// Redact configures the patterns used by mode redact.
	Redact RedactConfig `mapstructure:"redact"`
}

// KeyConfig locates the digest key. Exactly one of File and Value may be set.
type KeyConfig struct {
	// File is a path to a file holding the key; surrounding white space is
	// trimmed and at least 32 bytes must remain. Read once at start.
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

// DefaultConfig returns the default policy: digest every field, all
// built-in redaction patterns, no key (which Validate rejects).
func DefaultConfig() Config {
	return Config{
		Input:              ModeDigest,
		Output:             ModeDigest,
		SystemInstructions: ModeDigest,
		ToolArguments:      ModeDigest,
		ToolResult:         ModeDigest,
		RetrievalDocuments: ModeDigest,
		MaxContentBytes:    DefaultMaxContentBytes,
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
	hasKey := c.DigestKey.File != "" || c.DigestKey.Value != ""
	if len(needKey) > 0 && !hasKey {
		errs = append(errs, fmt.Errorf("digest_key: %w, but %s need one: set digest_key.file or digest_key.value",
			ErrNoKey, strings.Join(needKey, ", ")))
	}
	if c.DigestKey.File != "" && c.DigestKey.Value != "" {
		errs = append(errs, errors.New("digest_key: set only one of file and value"))
	}
	if v := c.DigestKey.Value; v != "" && len(strings.TrimSpace(string(v))) < MinKeyBytes {
		errs = append(errs, fmt.Errorf("digest_key.value: key is %d bytes, want at least %d", len(strings.TrimSpace(string(v))), MinKeyBytes))
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
			errs = append(errs, fmt.Errorf("redact.custom[%d]: name %q: want letters, digits, '_' or '-'", i, p.Name))
		}
		if p.Pattern == "" {
			errs = append(errs, fmt.Errorf("redact.custom[%d] %q: pattern is empty", i, p.Name))
			continue
		}
		re, err := regexp.Compile(p.Pattern)
		if err != nil {
			errs = append(errs, fmt.Errorf("redact.custom[%d] %q: %w", i, p.Name, err))
			continue
		}
		out[i] = re
	}
	return out, errors.Join(errs...)
}
