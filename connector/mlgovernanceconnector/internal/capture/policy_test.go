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
	cfg.UnmappedAttributes = UnmappedKeep
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
			"digest_key: no digest key configured, but input (digest), output (digest), system_instructions (digest), tool_arguments (digest), tool_result (digest), retrieval_documents (digest), unmapped_attributes (digest) need one: set digest_key::file or digest_key::value"},
		{"redact without key", func(c *Config) {
			for _, m := range []*Mode{&c.Input, &c.Output, &c.SystemInstructions, &c.ToolArguments, &c.ToolResult, &c.RetrievalDocuments} {
				*m = ModeDrop
			}
			c.ToolResult = ModeRedact
			c.UnmappedAttributes = UnmappedDrop
		}, "digest_key: no digest key configured, but tool_result (redact) need one: set digest_key::file or digest_key::value"},
		{"unmapped digest without key", func(c *Config) {
			for _, m := range []*Mode{&c.Input, &c.Output, &c.SystemInstructions, &c.ToolArguments, &c.ToolResult, &c.RetrievalDocuments} {
				*m = ModeKeep
			}
		}, "digest_key: no digest key configured, but unmapped_attributes (digest) need one: set digest_key::file or digest_key::value"},
		{"empty unmapped mode", func(c *Config) { c.DigestKey.Value = testKey; c.UnmappedAttributes = "" },
			`unmapped_attributes: "", want one of digest, drop, keep`},
		{"bad allowed attributes", func(c *Config) {
			c.DigestKey.Value = testKey
			c.AllowedAttributes = []string{"http.*", "", "*", "a*.b", "ok"}
		}, "allowed_attributes::1: empty key\n" +
			`allowed_attributes::2: "*" would allow every attribute: set unmapped_attributes: keep instead` + "\n" +
			`allowed_attributes::3 "a*.b": '*' is only allowed at the end (a prefix)`},
		{"short key", func(c *Config) { c.DigestKey.Value = "short" }, "digest_key::value: key is 5 bytes, want at least 32"},
		{"file and value", func(c *Config) { c.DigestKey.Value = testKey; c.DigestKey.File = "k" }, "digest_key: set only one of file and value"},
		{"empty mode", func(c *Config) { c.DigestKey.Value = testKey; c.Output = "" }, "output: mode is empty (want one of keep, digest, redact, drop)"},
		{"max bytes", func(c *Config) { c.DigestKey.Value = testKey; c.MaxContentBytes = 0 }, "max_content_bytes: 0, want at least 1"},
		{"max bytes above the record cap", func(c *Config) { c.DigestKey.Value = testKey; c.MaxContentBytes = 16<<20 + 1 },
			"max_content_bytes: 16777217, want at most 16777216 (the record's cap of content fields)"},
		{"bad regex", func(c *Config) {
			c.DigestKey.Value = testKey
			c.Redact.Custom = []CustomPattern{{Name: "ok", Pattern: "a"}, {Name: "acct", Pattern: "(["}}
		}, "redact::custom::1 \"acct\": error parsing regexp: missing closing ]: `[`"},
		{"bad name", func(c *Config) {
			c.DigestKey.Value = testKey
			c.Redact.Custom = []CustomPattern{{Name: "a b", Pattern: "x"}}
		}, `redact::custom::0: name "a b": want letters, digits, '_' or '-'`},
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
	assert.EqualError(t, err, "digest_key::file "+short+": key is 4 bytes, want at least 32")

	cfg.DigestKey.File = filepath.Join(dir, "missing")
	_, err = New(cfg)
	assert.ErrorContains(t, err, "digest_key::file: open "+cfg.DigestKey.File)
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

func TestUnmapped(t *testing.T) {
	tests := []struct {
		name   string
		mode   UnmappedMode
		key    string
		value  any
		want   any    // the stored value, unless digest is set
		digest string // want is the digest of this text
		wantOK bool
	}{
		{"a string is digested as it is", UnmappedDigest, "metadata", "hello", "hmac-sha256:" + knownHello, "", true},
		{"other values as canonical JSON", UnmappedDigest, "llm.headers", map[string]any{"b": int64(1), "a": "x"}, nil, `{"a":"x","b":1}`, true},
		{"allowed exactly", UnmappedDigest, "http.status_code", int64(200), int64(200), "", true},
		{"allowed by prefix", UnmappedDigest, "telemetry.sdk.name", "opentelemetry", "opentelemetry", "", true},
		{"a prefix is not a substring", UnmappedDigest, "telemetry.sdkx", "x", nil, "x", true},
		{"dropped", UnmappedDrop, "metadata", "hello", nil, "", false},
		{"allowed under drop", UnmappedDrop, "http.status_code", int64(200), int64(200), "", true},
		{"kept", UnmappedKeep, "metadata", "hello", "hello", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy(t, func(c *Config) {
				c.UnmappedAttributes = tt.mode
				c.AllowedAttributes = []string{"http.status_code", "telemetry.sdk.*"}
			})
			got, ok := p.Unmapped(tt.key, tt.value)
			assert.Equal(t, tt.wantOK, ok)
			want := tt.want
			if tt.digest != "" {
				want = p.Digest(tt.digest)
			}
			assert.Equal(t, want, got)
		})
	}
}

func TestDefaultAllowedAttributesValid(t *testing.T) {
	_, err := newAllowList(DefaultAllowedAttributes())
	require.NoError(t, err)
	for _, key := range []string{"gen_ai.input.messages", "gen_ai.prompt", "user.id", "metadata", "llm.invocation_parameters.system", "ai.prompt", "ai.telemetry.metadata.userId", "anthropic.tool_result.content"} {
		l, _ := newAllowList(DefaultAllowedAttributes())
		assert.False(t, l.allows(key), "%s is content or personal and must not be allowed by default", key)
	}
}

func TestUnmappedModeUnmarshalText(t *testing.T) {
	var m UnmappedMode
	assert.EqualError(t, m.UnmarshalText([]byte("redact")), `unknown unmapped attribute mode "redact" (want one of digest, drop, keep)`)
	require.NoError(t, m.UnmarshalText([]byte("drop")))
	assert.Equal(t, UnmappedDrop, m)
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
