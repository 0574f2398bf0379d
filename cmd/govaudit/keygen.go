package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/govaudit/govaudit/internal/auditlog"
)

var cmdKeygen = &command{
	name:      "keygen",
	usageLine: "keygen --name NAME --out DIR",
	short:     "create an Ed25519 checkpoint signing key (NAME.key, mode 0600) and its verifier key (NAME.pub)",
	example:   "govaudit keygen --name govaudit-prod --out /etc/govaudit",
	run:       runKeygen,
}

func runKeygen(c *command, args []string, stdout, stderr io.Writer) int {
	fs := c.newFlagSet(stderr)
	name := fs.String("name", "", "key name, as it appears in checkpoint signatures and in the file names: letters, digits, '.', '_', '-' (required)")
	out := fs.String("out", ".", "directory to write NAME.key and NAME.pub into")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if *name == "" {
		return c.usageError(stderr, "--name is required")
	}
	if len(pos) > 0 {
		return c.usageError(stderr, "unexpected argument %q", pos[0])
	}
	if err := checkKeyName(*name); err != nil {
		return c.usageError(stderr, "%v", err)
	}
	signer, verifier, err := auditlog.GenerateKey(*name)
	if err != nil {
		fmt.Fprintf(stderr, "govaudit keygen: %v\n", err)
		return exitUsage
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		fmt.Fprintf(stderr, "govaudit keygen: %v\n", err)
		return exitUsage
	}
	keyPath := filepath.Join(*out, *name+".key")
	pubPath := filepath.Join(*out, *name+".pub")
	// O_EXCL: never overwrite a key that may already have signed checkpoints.
	if err := writeNew(keyPath, signer+"\n", 0o600); err != nil {
		fmt.Fprintf(stderr, "govaudit keygen: %v\n", err)
		return exitUsage
	}
	if err := writeNew(pubPath, verifier+"\n", 0o644); err != nil {
		fmt.Fprintf(stderr, "govaudit keygen: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "signing key:  %s (keep secret; auditsign signing_key_file)\nverifier key: %s (give to auditors: govaudit verify --key)\n", keyPath, pubPath)
	return exitOK
}

// checkKeyName accepts a key name made of [A-Za-z0-9._-], other than "." and
// "..": the name becomes the file names NAME.key and NAME.pub inside --out,
// so a separator or a parent reference ("../../x") would write elsewhere.
func checkKeyName(name string) error {
	if name == "." || name == ".." {
		return fmt.Errorf("--name %q: not a file name", name)
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("--name %q: character %q not allowed (want letters, digits, '.', '_' or '-')", name, c)
		}
	}
	return nil
}

func writeNew(path, content string, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s already exists; refusing to overwrite a key", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
