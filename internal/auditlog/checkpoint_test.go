package auditlog

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// Test keys, reused by the tests only.
const (
	testSignerKey   = "PRIVATE+KEY+govaudit-test+cbf7a545+AchxpySLY2a+FWBHdXGA+jk/nAu2CsE3I/1ieQXtaHeC"
	testVerifierKey = "govaudit-test+cbf7a545+AUW9PAxA4OZfgk/8PPX7/WW5UNrbte9cc46Ay/+7hrK/"
)

// testNote is the checkpoint of the 8-leaf CT tree, origin "collector-1",
// epoch 1767225600000000000, signed by the test key (Ed25519 signatures are
// deterministic, so this is a known answer).
const testNote = "collector-1/1767225600000000000\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n" +
	"— govaudit-test y/elRboZLusUK6ZQidua861GDEvPrTd7D4ZKfXaEyZ/FQd7nEAY5U134l6kJpTmOZPcTPklGEbyMacQJPKdoKRLRQgs=\n"

func testKeys(t testing.TB) (note.Signer, note.Verifiers) {
	t.Helper()
	s, err := note.NewSigner(testSignerKey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(testVerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	return s, note.VerifierList(v)
}

func TestSignKnownAnswer(t *testing.T) {
	s, vs := testKeys(t)
	root := hd(t, ctRoots[8])
	got, err := Sign(s, "collector-1", 1767225600000000000, 8, root)
	if err != nil {
		t.Fatal(err)
	}
	if got != testNote {
		t.Fatalf("Sign =\n%s\nwant\n%s", got, testNote)
	}
	cp, err := Open(got, vs)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Origin != "collector-1" || cp.Epoch != 1767225600000000000 || cp.Size != 8 ||
		hex.EncodeToString(cp.Root) != ctRoots[8] || cp.KeyName != "govaudit-test" || cp.Note != testNote {
		t.Errorf("Open = %+v", cp)
	}
}

func TestOpenRejectsOtherKey(t *testing.T) {
	_, otherV, err := GenerateKey("govaudit-test") // same name, different key
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(otherV)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(testNote, note.VerifierList(v))
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		t.Fatalf("Open with another key: err = %v, want *note.UnverifiedNoteError", err)
	}
	// A key set holding both the new and the old key (rotation) accepts it.
	old, err := note.NewVerifier(testVerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := Open(testNote, note.VerifierList(v, old))
	if err != nil {
		t.Fatalf("Open with a key set including the signer: %v", err)
	}
	if cp.KeyName != "govaudit-test" {
		t.Errorf("KeyName = %q", cp.KeyName)
	}
}

// TestOpenRejectsMangledNotes changes every byte of the checkpoint body and
// of the signature's key hash and signature, and expects Open to fail.
func TestOpenRejectsMangledNotes(t *testing.T) {
	_, vs := testKeys(t)
	body, _, _ := strings.Cut(testNote, "\n\n")
	for i := 0; i < len(body); i++ {
		for _, c := range []byte{'0', 'A', '/', '\n', ' '} {
			if body[i] == c {
				continue
			}
			mangled := testNote[:i] + string(c) + testNote[i+1:]
			if _, err := Open(mangled, vs); err == nil {
				t.Errorf("Open accepted the note with byte %d set to %q", i, c)
			}
		}
	}
	// Signature line: "— govaudit-test <base64(key hash || signature)>".
	s, _ := testKeys(t)
	sigStart := strings.LastIndexByte(testNote, ' ') + 1
	sig := decodeB64(t, testNote[sigStart:len(testNote)-1])
	for i := range sig {
		bad := append([]byte(nil), sig...)
		bad[i] ^= 0x40
		mangled := testNote[:sigStart] + encodeB64(bad) + "\n"
		if _, err := Open(mangled, vs); err == nil {
			t.Errorf("Open accepted the note with signature byte %d changed", i)
		}
	}
	for _, tc := range []struct{ name, text string }{
		{"empty", ""},
		{"no signature", body + "\n\n"},
		{"body only", body + "\n"},
		{"truncated", testNote[:len(testNote)-10]},
		{"extra line after signature", testNote + "junk\n"},
		{"oversized", strings.Repeat("x", maxNoteSize+1)},
	} {
		if _, err := Open(tc.text, vs); err == nil {
			t.Errorf("%s: Open succeeded", tc.name)
		}
	}
	// Well-signed notes whose body is not a valid checkpoint.
	for _, tc := range []struct{ name, body string }{
		{"no epoch", "collector-1\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"},
		{"non-canonical epoch", "collector-1/01\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"},
		{"non-canonical size", "collector-1/1\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"},
		{"short root", "collector-1/1\n8\nXcnaeacG\n"},
		{"bad origin", "-collector/1\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"},
	} {
		msg, err := note.Sign(&note.Note{Text: tc.body}, s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Open(string(msg), vs); err == nil {
			t.Errorf("%s: Open succeeded", tc.name)
		}
		if _, err := ParseUnverified(string(msg)); err == nil {
			t.Errorf("%s: ParseUnverified succeeded", tc.name)
		}
	}
}

func TestParseUnverified(t *testing.T) {
	cp, err := ParseUnverified(testNote)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Origin != "collector-1" || cp.Epoch != 1767225600000000000 || cp.Size != 8 || hex.EncodeToString(cp.Root) != ctRoots[8] || cp.KeyName != "" {
		t.Errorf("ParseUnverified = %+v", cp)
	}
	if _, err := ParseUnverified("collector-1/1\n8\n"); err == nil {
		t.Error("ParseUnverified accepted text without signature block")
	}
}

func TestValidOrigin(t *testing.T) {
	for _, o := range []string{"a", "collector-1.example.com", "A_b-c.9", strings.Repeat("x", 128)} {
		if err := ValidOrigin(o); err != nil {
			t.Errorf("ValidOrigin(%q) = %v", o, err)
		}
	}
	for _, o := range []string{"", "-a", ".a", "a/b", "a b", "é", strings.Repeat("x", 129)} {
		if err := ValidOrigin(o); err == nil {
			t.Errorf("ValidOrigin(%q) succeeded", o)
		}
	}
}

func TestLoadSigner(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // umask may have cleared bits
			t.Fatal(err)
		}
		return p
	}
	s, err := LoadSigner(write("ok.key", testSignerKey+"\n", 0o600))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != "govaudit-test" || s.KeyHash() != 0xcbf7a545 {
		t.Errorf("signer %s %08x", s.Name(), s.KeyHash())
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660} {
		_, err := LoadSigner(write("open.key", testSignerKey, mode))
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: err = %v, want a refusal", mode, err)
		}
	}
	if _, err := LoadSigner(write("verifier.key", testVerifierKey, 0o600)); err == nil {
		t.Error("LoadSigner accepted a verifier key")
	}
	if _, err := LoadSigner(filepath.Join(dir, "missing.key")); err == nil {
		t.Error("LoadSigner accepted a missing file")
	}
	vs, err := LoadVerifiers(write("trusted.pub", "# rotated keys\n"+testVerifierKey+"\n\n", 0o644))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(testNote, vs); err != nil {
		t.Errorf("Open with LoadVerifiers keys: %v", err)
	}
	if _, err := LoadVerifiers(write("empty.pub", "# none\n", 0o644)); err == nil {
		t.Error("LoadVerifiers accepted a file without keys")
	}
}

func decodeB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func encodeB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
