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
	run:       runDigest,
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
	if *keyFile == "" || len(pos) > 1 {
		fs.Usage()
		return exitUsage
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
			return exitFailed
		}
		fmt.Fprintln(stdout, "match: the record digested exactly this content")
	}
	return exitOK
}
