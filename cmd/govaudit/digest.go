package main

import (
	"crypto/subtle"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/govaudit/govaudit/internal/record"
)

var cmdDigest = &command{
	name:      "digest",
	usageLine: "digest --key-file FILE [--json] [--expect DIGEST] [CONTENT_FILE]",
	short:     "compute the keyed digest of candidate content, to prove what a digested prompt or output was",
	long: `CONTENT_FILE (or stdin, or "-") must hold exactly the value the
application sent in the attribute, byte for byte: for a plain string
attribute, that text; for a message list sent as one string
(gen_ai.input.messages), its whole JSON text, not only a message's content;
never a govaudit record around it; and with no trailing newline unless the
original had one (most editors add one: use printf, not echo, or a file
saved without it). With --json the content is parsed as JSON and digested in
canonical form, as the connector does for structured values and message
lists; JSON text sent in one string attribute was digested as received:
omit --json. When the content differs, a hint names the usual cause
(trailing newline, --json, message text instead of the list).`,
	example: `printf '%s' 'What is my credit limit?' > candidate.txt
govaudit digest --key-file ./data/keys/digest.key --expect hmac-sha256:... candidate.txt`,
	run: runDigest,
}

func runDigest(c *command, args []string, stdout, stderr io.Writer) int {
	fs := c.newFlagSet(stderr)
	keyFile := fs.String("key-file", "", "the mlgovernance digest key file (capture.digest_key.file) (required)")
	asJSON := fs.Bool("json", false, "digest the canonical JSON form of the content, as the connector does for structured values and flattened messages (JSON text sent in one string attribute is digested as received: omit --json)")
	expect := fs.String("expect", "", "a record's *_digest value: exit 0 if the content matches it, 1 if not")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if *keyFile == "" {
		return c.usageError(stderr, "--key-file is required")
	}
	if len(pos) > 1 {
		return c.usageError(stderr, "want at most one CONTENT_FILE, got %d arguments", len(pos))
	}
	b, err := os.ReadFile(*keyFile)
	if err != nil {
		fmt.Fprintf(stderr, "govaudit digest: %v\n", err)
		return exitUsage
	}
	key := []byte(strings.TrimSpace(string(b))) // as the connector reads it
	var content []byte
	if len(pos) == 1 && pos[0] != "-" {
		content, err = os.ReadFile(pos[0])
	} else {
		content, err = io.ReadAll(os.Stdin)
	}
	if err != nil {
		fmt.Fprintf(stderr, "govaudit digest: %v\n", err)
		return exitUsage
	}
	text := string(content)
	if *asJSON {
		if text, err = record.CanonicalizeJSON(text); err != nil {
			fmt.Fprintf(stderr, "govaudit digest: --json: content is not JSON: %v\n", err)
			return exitUsage
		}
	}
	d := record.ContentDigest(key, text)
	fmt.Fprintf(stdout, "%s  (digest_key_id %s)\n", d, record.DigestKeyFingerprint(key))
	if *expect != "" {
		if subtle.ConstantTimeCompare([]byte(d), []byte(*expect)) != 1 {
			fmt.Fprintln(stdout, "DIFFERENT: the content is not what the record digested")
			if hint := digestHint(key, content, *expect, *asJSON); hint != "" {
				fmt.Fprintln(stdout, hint)
			}
			return exitFailed
		}
		fmt.Fprintln(stdout, "match: the record digested exactly this content")
	}
	return exitOK
}

// digestHint returns a hint when content differs from the expected digest
// in one of the usual ways: only by a trailing line ending (a file saved by
// an editor, or written by echo); by --json (a structured value, digested in
// canonical form, against JSON text sent in one string attribute, digested
// as received); or by being a message's text where the attribute held a
// whole message list. content is the file as read, before --json.
func digestHint(key, content []byte, expect string, asJSON bool) string {
	matches := func(s string) bool {
		return subtle.ConstantTimeCompare([]byte(record.ContentDigest(key, s)), []byte(expect)) == 1
	}
	text := string(content)
	if c, err := record.CanonicalizeJSON(text); err == nil {
		switch {
		case asJSON && matches(text):
			return "hint: without --json the content matches: the application sent this JSON text in one string attribute"
		case !asJSON && matches(c):
			return "hint: with --json the content matches: the application sent a structured value"
		}
	}
	if asJSON {
		return "" // canonical JSON ignores surrounding white space
	}
	trimmed := strings.TrimRight(text, "\r\n")
	for _, c := range []string{trimmed, text + "\n"} {
		if c != text && matches(c) {
			if len(c) < len(text) {
				return "hint: the content without its trailing newline matches: the file ends with a line break the original did not have (use printf '%s', not echo)"
			}
			return "hint: the content with a trailing newline matches: the original ended with a line break"
		}
	}
	if t := strings.TrimSpace(text); !strings.HasPrefix(t, "[") && !strings.HasPrefix(t, "{") {
		return `hint: a message list (gen_ai.input.messages, gen_ai.output.messages) is digested as its whole value: ` +
			`put its JSON text, e.g. [{"role":"user","parts":[{"type":"text","content":"…"}]}], in the file, not only the message text`
	}
	return ""
}
