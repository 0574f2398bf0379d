package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyScope: --origin and --since/--until say "verified for <scope>",
// never a plain "verified"; --json writes epochs and sizes as strings.
func TestVerifyScope(t *testing.T) {
	dir := t.TempDir()
	key, pub := keys(t, dir, "k")
	root := filepath.Join(dir, "audit")
	writeArchive(t, root, key, 12, 5)

	code, out, stderr := runCmd(t, "verify", "--key", pub, "--origin", "host-a", root)
	if code != exitOK || !strings.Contains(out, "verified for origin host-a: 12 records") || strings.Contains(out, "\nverified:") {
		t.Fatalf("verify --origin: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := runCmd(t, "verify", "--key", pub, "--origin", "host-b", root); code != exitUsage || !strings.Contains(stderr, "no log of that origin") {
		t.Errorf("verify --origin of no log: exit %d %s", code, stderr)
	}
	code, out, stderr = runCmd(t, "verify", "--key", pub, "--since", "2100-01-01", root)
	if code != exitOK || !strings.Contains(out, "verified for records from 2100-01-01T00:00:00Z checked row by row: 12 records") ||
		!strings.Contains(out, "(1 re-hashed, 11 by stored leaf hash)") {
		t.Fatalf("verify --since: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := runCmd(t, "verify", "--key", pub, "--until", "yesterday", root); code != exitUsage {
		t.Errorf("verify --until yesterday: exit %d %s", code, stderr)
	}

	var rep struct {
		OK    bool `json:"ok"`
		Logs  []map[string]any
		Scope *struct {
			Origins      []string `json:"origins"`
			Until        string   `json:"until"`
			RowsChecked  uint64   `json:"rows_checked"`
			RowsHashOnly uint64   `json:"rows_hash_only"`
		} `json:"scope"`
	}
	code, out, _ = runCmd(t, "verify", "--json", "--key", pub, root)
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitOK || !rep.OK || rep.Scope != nil || len(rep.Logs) != 1 {
		t.Fatalf("verify --json: %d %v\n%s", code, err, out)
	}
	if l := rep.Logs[0]; l["epoch"] != "1000" || l["verified_size"] != "12" || l["leaves"] != 12.0 {
		t.Errorf("verify --json: log %v: want epoch and verified_size as strings, counts as numbers", l)
	}
	code, out, _ = runCmd(t, "verify", "--json", "--key", pub, "--origin", "host-a", "--until", "2000-01-01", root)
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitOK || !rep.OK || rep.Scope == nil ||
		rep.Scope.Until != "2000-01-02T00:00:00Z" || rep.Scope.RowsHashOnly != 11 || len(rep.Scope.Origins) != 1 {
		t.Fatalf("verify --json --origin --until: %d %v %+v\n%s", code, err, rep.Scope, out)
	}
}
