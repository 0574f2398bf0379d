package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestKeygenName: --name becomes file names inside --out, so it accepts only
// [A-Za-z0-9._-] (not "." or ".."); anything else is a usage error that
// writes nothing anywhere.
func TestKeygenName(t *testing.T) {
	root := t.TempDir()
	out := filepath.Join(root, "a", "b", "keys")
	for _, tc := range []struct{ name, msg string }{
		{"../../x", `govaudit keygen: --name "../../x": character '/' not allowed (want letters, digits, '.', '_' or '-')`},
		{"..", `govaudit keygen: --name "..": not a file name`},
		{".", `govaudit keygen: --name ".": not a file name`},
		{"a/b", `govaudit keygen: --name "a/b": character '/' not allowed (want letters, digits, '.', '_' or '-')`},
		{`a\b`, `govaudit keygen: --name "a\\b": character '\\' not allowed (want letters, digits, '.', '_' or '-')`},
		{"key name", `govaudit keygen: --name "key name": character ' ' not allowed (want letters, digits, '.', '_' or '-')`},
		{"k+1", `govaudit keygen: --name "k+1": character '+' not allowed (want letters, digits, '.', '_' or '-')`},
		{"clé", `govaudit keygen: --name "clé": character 'é' not allowed (want letters, digits, '.', '_' or '-')`},
		{"", "govaudit keygen: --name is required"},
	} {
		code, stdout, stderr := runCmd(t, "keygen", "--name", tc.name, "--out", out)
		if code != exitUsage || stdout != "" || stderr != tc.msg+"\nrun 'govaudit keygen --help' for usage\n" {
			t.Errorf("keygen --name %q: exit %d, stdout %q, stderr %q; want exit %d and %q with a pointer to the help", tc.name, code, stdout, stderr, exitUsage, tc.msg)
		}
	}
	// Nothing was written, in --out or above it.
	var files []string
	if err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			files = append(files, p)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(files) > 0 {
		t.Errorf("refused names wrote %v", files)
	}

	for _, name := range []string{"collector-1.example.com", "a_b", "x..y", ".hidden", "K9"} {
		if code, _, stderr := runCmd(t, "keygen", "--name", name, "--out", out); code != exitOK {
			t.Errorf("keygen --name %q: exit %d, %s", name, code, stderr)
		}
		if _, err := os.Stat(filepath.Join(out, name+".key")); err != nil {
			t.Errorf("keygen --name %q: %v", name, err)
		}
	}
}
