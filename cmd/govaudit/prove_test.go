package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/govaudit/govaudit/internal/archive"
)

// TestProveIndexes: prove skips files by their record_id bloom filter and
// their audit index, and trusts neither: an index that lies about its
// file's epochs costs a second pass, never a wrong or missing proof.
func TestProveIndexes(t *testing.T) {
	dir := t.TempDir()
	key, pub := keys(t, dir, "k")
	root := filepath.Join(dir, "audit")
	recs := writeArchive(t, root, key, 12, 5)
	files, err := archive.DataFiles(root)
	if err != nil || len(files) < 2 {
		t.Fatalf("%d files: %v", len(files), err)
	}
	first, err := archive.OpenDataFile(root, files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if !first.MayContain("record_id", recs[0].ID) {
		t.Error("bloom filter: the first file does not hold its first record")
	}
	if first.MayContain("record_id", recs[11].ID) {
		t.Error("bloom filter: the first file may hold the last record (a false positive at 10 bits a value is unlikely)")
	}

	// Every index says its file holds another epoch.
	for _, f := range files {
		ix, err := archive.ReadIndex(root, f)
		if err != nil {
			t.Fatal(err)
		}
		for i := range ix.Epochs {
			ix.Epochs[i].Epoch++
		}
		for i := range ix.Checkpoints {
			ix.Checkpoints[i].Epoch++
		}
		b, _ := json.Marshal(ix)
		p := filepath.Join(root, filepath.FromSlash(archive.IndexPath(f)))
		os.Chmod(p, 0o644)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "proof.json")
	if code, _, stderr := runCmd(t, "prove", root, "--record", recs[7].ID, "--out", out); code != exitOK {
		t.Fatalf("prove with lying indexes: %d %s", code, stderr)
	}
	if code, stdout, _ := runCmd(t, "verify-proof", "--key", pub, out); code != exitOK {
		t.Fatalf("verify-proof: %d %s", code, stdout)
	}
}
