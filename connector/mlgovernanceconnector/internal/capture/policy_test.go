package capture

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testKey is the digest key of the tests; its known-answer digests below
// were computed with `printf %s CONTENT | openssl dgst -sha256 -hmac KEY`.
const testKey = "govaudit-test-digest-key-0123456789"

func policy(t *testing.T, mutate func(*Config)) *Policy {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DigestKey.Value = testKey
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := New(cfg)
	require.NoError(t, err)
	return p
}

func TestDigestKnownAnswer(t *testing.T) {
	p := policy(t, nil)
	// openssl dgst -sha256 -hmac govaudit-test-digest-key-0123456789 <<< -n "hello"
	assert.Equal(t, "hmac-sha256:"+knownHello, p.Digest("hello"))
	assert.Equal(t, "fp:"+knownFingerprint, p.KeyID())
}

func TestApplyModes(t *testing.T) {
	const content = "mail alice@example.com or call +44 20 7946 0958"
	digest := policy(t, nil).Digest(content)
	tests := []struct {
		mode Mode
		want Result
	}{
		{ModeKeep, Result{Content: content, Digest: digest}},
		{ModeDigest, Result{Digest: digest}},
		{ModeRedact, Result{Content: "mail [REDACTED:email] or call [REDACTED:phone]", Digest: digest, Redacted: true}},
		{ModeDrop, Result{Dropped: true}},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			p := policy(t, func(c *Config) { c.Input = tt.mode })
			assert.Equal(t, tt.want, p.Apply(Input, content))
			// Other fields keep their default, digest.
			assert.Equal(t, Result{Digest: digest}, p.Apply(Output, content))
		})
	}
}

func TestKeepWithoutKeyHasNoDigest(t *testing.T) {
	cfg := DefaultConfig()
	for _, m := range []*Mode{&cfg.Input, &cfg.Output, &cfg.SystemInstructions, &cfg.ToolArguments, &cfg.ToolResult, &cfg.RetrievalDocuments} {
		*m = ModeKeep
	}
	p, err := New(cfg)
	require.NoError(t, err)
	assert.Equal(t, Result{Content: "x"}, p.Apply(Output, "x"))
	assert.Empty(t, p.KeyID())
}

func TestTruncateKeepsUTF8AndDigestsOriginal(t *testing.T) {
	p := policy(t, func(c *Config) { c.Output = ModeKeep; c.MaxContentBytes = 4 })
	r := p.Apply(Output, "abcé€") // é is 2 bytes starting at offset 3
	assert.Equal(t, "abc", r.Content)
	assert.True(t, r.Truncated)
	assert.Equal(t, p.Digest("abcé€"), r.Digest)
}

func TestRedactPatterns(t *testing.T) {
	p := policy(t, func(c *Config) {
		c.Input = ModeRedact
		c.Redact.Custom = []CustomPattern{{Name: "employee", Pattern: `EMP-\d{6}`}}
	})
	tests := []struct{ in, want string }{
		{"card 4111 1111 1111 1111 ok", "card [REDACTED:card] ok"},
		{"card 4111-1111-1111-1112 fails Luhn", "card 4111-1111-1111-1112 fails Luhn"},
		{"iban GB82 WEST 1234 5698 7654 32.", "iban [REDACTED:iban]."},
		{"iban DE89370400440532013000", "iban [REDACTED:iban]"},
		// A failed mod-97 check is not masked as an IBAN; its 12-digit run
		// still reads as a phone number, and over-masking is the safe side.
		{"bad iban GB00 WEST 1234 5698 7654 32", "bad iban GB00 WEST [REDACTED:phone]"},
		{"bad iban GB00WEST", "bad iban GB00WEST"},
		{"date 2024-01-15 stays", "date 2024-01-15 stays"},
		{"tel 0612345678", "tel [REDACTED:phone]"},
		{"who: bob.smith+tag@mail.example.org", "who: [REDACTED:email]"},
		{"id EMP-123456", "id [REDACTED:employee]"},
		{"nothing here", "nothing here"},
	}
	for _, tt := range tests {
		r := p.Apply(Input, tt.in)
		assert.Equal(t, tt.want, r.Content, tt.in)
		assert.Equal(t, tt.want != tt.in, r.Redacted, tt.in)
	}
}

func TestRedactOnlySelectedBuiltins(t *testing.T) {
	p := policy(t, func(c *Config) { c.Input = ModeRedact; c.Redact.Builtin = []Pattern{PatternEmail} })
	assert.Equal(t, "[REDACTED:email] 4111 1111 1111 1111", p.Apply(Input, "a@b.io 4111 1111 1111 1111").Content)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"default without key", func(c *Config) {},
			"digest_key: no digest key configured, but input (digest), output (digest), system_instructions (digest), tool_arguments (digest), tool_result (digest), retrieval_documents (digest) need one: set digest_key.file or digest_key.value"},
		{"redact without key", func(c *Config) {
			for _, m := range []*Mode{&c.Input, &c.Output, &c.SystemInstructions, &c.ToolArguments, &c.ToolResult, &c.RetrievalDocuments} {
				*m = ModeDrop
			}
			c.ToolResult = ModeRedact
		}, "digest_key: no digest key configured, but tool_result (redact) need one: set digest_key.file or digest_key.value"},
		{"short key", func(c *Config) { c.DigestKey.Value = "short" }, "digest_key.value: key is 5 bytes, want at least 32"},
		{"file and value", func(c *Config) { c.DigestKey.Value = testKey; c.DigestKey.File = "k" }, "digest_key: set only one of file and value"},
		{"empty mode", func(c *Config) { c.DigestKey.Value = testKey; c.Output = "" }, "output: mode is empty (want one of keep, digest, redact, drop)"},
		{"max bytes", func(c *Config) { c.DigestKey.Value = testKey; c.MaxContentBytes = 0 }, "max_content_bytes: 0, want at least 1"},
		{"max bytes above the record cap", func(c *Config) { c.DigestKey.Value = testKey; c.MaxContentBytes = 16<<20 + 1 },
			"max_content_bytes: 16777217, want at most 16777216 (the record's cap of content fields)"},
		{"bad regex", func(c *Config) {
			c.DigestKey.Value = testKey
			c.Redact.Custom = []CustomPattern{{Name: "ok", Pattern: "a"}, {Name: "acct", Pattern: "(["}}
		}, "redact.custom[1] \"acct\": error parsing regexp: missing closing ]: `[`"},
		{"bad name", func(c *Config) {
			c.DigestKey.Value = testKey
			c.Redact.Custom = []CustomPattern{{Name: "a b", Pattern: "x"}}
		}, `redact.custom[0]: name "a b": want letters, digits, '_' or '-'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.mutate(&cfg)
			assert.EqualError(t, cfg.Validate(), tt.wantErr)
			_, err := New(cfg)
			assert.EqualError(t, err, tt.wantErr)
		})
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "key")
	require.NoError(t, os.WriteFile(good, []byte(testKey+"\n"), 0o600))
	cfg := DefaultConfig()
	cfg.DigestKey.File = good
	cfg.DigestKey.ID = "k2026"
	p, err := New(cfg)
	require.NoError(t, err)
	assert.Equal(t, "hmac-sha256:"+knownHello, p.Digest("hello"), "trailing newline is trimmed")
	assert.Equal(t, "k2026", p.KeyID())

	short := filepath.Join(dir, "short")
	require.NoError(t, os.WriteFile(short, []byte("0123"), 0o600))
	cfg.DigestKey.File = short
	_, err = New(cfg)
	assert.EqualError(t, err, "digest_key.file "+short+": key is 4 bytes, want at least 32")

	cfg.DigestKey.File = filepath.Join(dir, "missing")
	_, err = New(cfg)
	assert.ErrorContains(t, err, "digest_key.file: open "+cfg.DigestKey.File)
}

func TestUnmarshalText(t *testing.T) {
	var m Mode
	assert.EqualError(t, m.UnmarshalText([]byte("hash")), `unknown capture mode "hash" (want one of keep, digest, redact, drop)`)
	require.NoError(t, m.UnmarshalText([]byte("redact")))
	assert.Equal(t, ModeRedact, m)
	var p Pattern
	assert.EqualError(t, p.UnmarshalText([]byte("ssn")), `unknown redaction pattern "ssn" (want one of email, phone, card, iban)`)
	require.NoError(t, p.UnmarshalText([]byte("iban")))
	assert.Equal(t, PatternIBAN, p)
}

func TestFieldString(t *testing.T) {
	assert.Equal(t, "retrieval_documents", RetrievalDocuments.String())
	assert.True(t, strings.HasPrefix(Field(99).String(), "Field("))
}

// Known answers computed with openssl (see testKey).
const (
	knownHello       = "113aa761de7e62a9dcf88d31abba36b546d141fd632305510625a14cb2ebc0a5"
	knownFingerprint = "c3e8b8fca6e48a8d"
)
