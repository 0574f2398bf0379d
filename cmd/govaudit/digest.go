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
	long: `CONTENT_FILE (or stdin, or "-") must hold exactly the content the
application sent in the attribute, byte for byte: the prompt or output text
itself, not a record, not a JSON document around it, and with no trailing
newline unless the original had one (most editors add one: use printf, not
echo, or a file saved without it). With --json the content is parsed as JSON
and digested in canonical form, as the connector does for structured values
and message lists; JSON text sent in one string attribute was digested as
received: omit --json.`,
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
			if hint := newlineHint(key, text, *expect, *asJSON); hint != "" {
				fmt.Fprintln(stdout, hint)
			}
			return exitFailed
		}
		fmt.Fprintln(stdout, "match: the record digested exactly this content")
	}
	return exitOK
}

// newlineHint returns a hint when content differs from the expected digest
// only by a trailing line ending, the usual difference between a file
// saved by an editor (or written by echo) and the text an application sent.
func newlineHint(key []byte, text, expect string, asJSON bool) string {
	if asJSON {
		return "" // canonical JSON ignores surrounding white space
	}
	trimmed := strings.TrimRight(text, "\r\n")
	for _, c := range []string{trimmed, text + "\n"} {
		if c != text && subtle.ConstantTimeCompare([]byte(record.ContentDigest(key, c)), []byte(expect)) == 1 {
			if len(c) < len(text) {
				return "hint: the content without its trailing newline matches: the file ends with a line break the original did not have (use printf '%s', not echo)"
			}
			return "hint: the content with a trailing newline matches: the original ended with a line break"
		}
	}
	return ""
}
