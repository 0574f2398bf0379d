// Package capture is the mlgovernance capture policy: for each content field
// of a governance record it keeps, digests (HMAC-SHA256), redacts or drops
// the content, and caps what is stored; for attribute values that no mapping
// reads it keeps (allow-listed keys, or mode keep), digests or drops them.
package capture

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/govaudit/govaudit/internal/record"
)

// Field is a content field of the governance record.
type Field int

// Content fields, in record order.
const (
	Input Field = iota
	Output
	SystemInstructions
	ToolArguments
	ToolResult
	RetrievalDocuments
	numFields
)

var fieldNames = [numFields]string{"input", "output", "system_instructions", "tool_arguments", "tool_result", "retrieval_documents"}

// String returns the configuration key of f.
func (f Field) String() string {
	if f < 0 || f >= numFields {
		return fmt.Sprintf("Field(%d)", int(f))
	}
	return fieldNames[f]
}

// DigestPrefix starts every digest written by the policy.
const DigestPrefix = record.DigestPrefix

// Result is what the policy stores for one content field.
type Result struct {
	Content   string // kept or redacted content, possibly truncated; "" for digest and drop
	Digest    string // "hmac-sha256:<hex>" of the original, or ""
	Truncated bool   // Content was cut at MaxContentBytes
	Redacted  bool   // at least one pattern matched
	Dropped   bool   // the mode was drop
}

// Policy applies a validated Config. It is safe for concurrent use.
type Policy struct {
	modes    [numFields]Mode
	digester *record.Digester // nil when no key is configured
	keyID    string
	maxBytes int
	redactor redactor
	unmapped UnmappedMode
	allowed  allowList
}

// New builds the policy: it reads the key file and compiles every pattern
// once, so a bad policy fails at start rather than on the first record.
func New(cfg Config) (*Policy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Policy{modes: cfg.fieldModes(), maxBytes: cfg.MaxContentBytes, unmapped: cfg.UnmappedAttributes}
	p.allowed, _ = newAllowList(cfg.AllowedAttributes) // checked by Validate
	key := strings.TrimSpace(string(cfg.DigestKey.Value))
	if cfg.DigestKey.File != "" {
		var err error
		if key, err = cfg.readKeyFile(); err != nil {
			return nil, err
		}
	}
	if key != "" {
		p.digester = record.NewDigester([]byte(key))
		p.keyID = cfg.DigestKey.ID
		if p.keyID == "" {
			p.keyID = Fingerprint([]byte(key))
		}
	}
	custom, err := compileCustom(cfg.Redact.Custom)
	if err != nil {
		return nil, err
	}
	p.redactor = newRedactor(cfg.Redact.Builtin, cfg.Redact.Custom, custom)
	return p, nil
}

// Fingerprint returns the default key id of key (record.DigestKeyFingerprint).
func Fingerprint(key []byte) string { return record.DigestKeyFingerprint(key) }

// KeyID returns the id of the digest key, or "" when none is configured.
func (p *Policy) KeyID() string { return p.keyID }

// Mode returns the mode of field f.
func (p *Policy) Mode(f Field) Mode { return p.modes[f] }

// Digest returns "hmac-sha256:<hex>" of content under the policy key, or ""
// when no key is configured.
func (p *Policy) Digest(content string) string {
	if p.digester == nil {
		return ""
	}
	return p.digester.Digest(content)
}

// Allowed reports whether allowed_attributes names key.
func (p *Policy) Allowed(key string) bool { return p.allowed.allows(key) }

// Unmapped applies unmapped_attributes to the value v (a JSON-ready value:
// string, number, bool, map[string]any, []any) of attribute key, which no
// mapping reads. It returns what to store and false when the attribute is
// to be left out: v itself when key is allowed or the mode is keep, the
// digest of v's text (a string as it is, anything else as canonical JSON)
// under digest, nothing under drop.
func (p *Policy) Unmapped(key string, v any) (any, bool) {
	if p.unmapped == UnmappedKeep || p.allowed.allows(key) {
		return v, true
	}
	if p.unmapped != UnmappedDigest || p.digester == nil {
		return nil, false
	}
	text, ok := v.(string)
	if !ok {
		var err error
		if text, err = record.CanonicalJSON(v); err != nil {
			return nil, false
		}
	}
	return p.Digest(text), true
}

// Apply applies the policy of field f to content. Empty content yields an
// empty Result.
func (p *Policy) Apply(f Field, content string) Result {
	if content == "" {
		return Result{}
	}
	var r Result
	switch p.modes[f] {
	case ModeDrop:
		return Result{Dropped: true}
	case ModeDigest:
		r.Digest = p.Digest(content)
	case ModeKeep:
		r.Digest = p.Digest(content)
		r.Content, r.Truncated = truncate(content, p.maxBytes)
	case ModeRedact:
		r.Digest = p.Digest(content)
		var redacted string
		redacted, r.Redacted = p.redactor.redact(content)
		r.Content, r.Truncated = truncate(redacted, p.maxBytes)
	}
	return r
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i], true
}

// redactor replaces pattern matches by masks.
type redactor struct {
	rules []rule
}

type rule struct {
	name  string
	re    *regexp.Regexp
	check func(match string) bool // nil: every match is redacted
}

// Built-in expressions. The checks that follow a match (Luhn, mod 97, digit
// count) keep order numbers, dates and ids from being masked.
var (
	reEmail = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)
	reCard  = regexp.MustCompile(`\b\d(?:[ -]?\d){12,18}\b`)
	reIBAN  = regexp.MustCompile(`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b`)
	rePhone = regexp.MustCompile(`(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){2,5}`)
)

func newRedactor(builtin []Pattern, custom []CustomPattern, compiled []*regexp.Regexp) redactor {
	var r redactor
	// Cards and IBANs go before phones: their digit runs would otherwise be
	// masked as phone numbers.
	order := []Pattern{PatternCard, PatternIBAN, PatternEmail, PatternPhone}
	for _, p := range order {
		if !contains(builtin, p) {
			continue
		}
		switch p {
		case PatternEmail:
			r.rules = append(r.rules, rule{name: "email", re: reEmail})
		case PatternCard:
			r.rules = append(r.rules, rule{name: "card", re: reCard, check: luhn})
		case PatternIBAN:
			r.rules = append(r.rules, rule{name: "iban", re: reIBAN, check: ibanValid})
		case PatternPhone:
			r.rules = append(r.rules, rule{name: "phone", re: rePhone, check: phoneDigits})
		}
	}
	for i, c := range custom {
		r.rules = append(r.rules, rule{name: c.Name, re: compiled[i]})
	}
	return r
}

func contains(list []Pattern, p Pattern) bool {
	for _, v := range list {
		if v == p {
			return true
		}
	}
	return false
}

func (r redactor) redact(s string) (string, bool) {
	matched := false
	for _, ru := range r.rules {
		mask := "[REDACTED:" + ru.name + "]"
		s = ru.re.ReplaceAllStringFunc(s, func(m string) string {
			if ru.check != nil && !ru.check(m) {
				return m
			}
			matched = true
			return mask
		})
	}
	return s, matched
}

func digits(s string) []byte {
	var d []byte
	for i := 0; i < len(s); i++ {
		if '0' <= s[i] && s[i] <= '9' {
			d = append(d, s[i]-'0')
		}
	}
	return d
}

// luhn reports whether the digits of s pass the Luhn check (ISO/IEC 7812).
func luhn(s string) bool {
	d := digits(s)
	if len(d) < 13 || len(d) > 19 {
		return false
	}
	sum := 0
	for i := range d {
		v := int(d[len(d)-1-i])
		if i%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// ibanValid reports whether s is an IBAN passing the ISO 13616 mod-97 check.
func ibanValid(s string) bool {
	s = strings.ReplaceAll(s, " ", "")
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	rearranged := s[4:] + s[:4]
	rem := 0
	for i := 0; i < len(rearranged); i++ {
		c := rearranged[i]
		switch {
		case '0' <= c && c <= '9':
			rem = (rem*10 + int(c-'0')) % 97
		case 'A' <= c && c <= 'Z':
			rem = (rem*100 + int(c-'A'+10)) % 97
		default:
			return false
		}
	}
	return rem == 1
}

// phoneDigits accepts matches of 9 to 15 digits (E.164 allows at most 15);
// shorter runs are dates, times or counts.
func phoneDigits(s string) bool {
	n := len(digits(s))
	return n >= 9 && n <= 15
}
