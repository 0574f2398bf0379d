package auditparquetexporter

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
)

// writeFixture is where TestWriteFixture writes the regression archive:
//
//	go test ./exporter/auditparquetexporter/ -run TestWriteFixture -write-fixture=$PWD/internal/verify/testdata/archive-v1
//
// Run it once per archive format version, into a new directory (archive-v2,
// …): a committed fixture is never regenerated, since every later version of
// govaudit must verify it as it is (internal/verify/scan TestFixtures).
var writeFixture = flag.String("write-fixture", "", "write a small archive made by the auditsign processor and this exporter to this directory, with the public key as key.pub")

// TestWriteFixture writes a small archive through the real pipeline
// (auditsign then auditparquet, file_storage for the tree state): one
// origin, several sealed files, checkpoint files, indexes and a chain of
// manifests across a restart, signed with a fresh key whose private half is
// discarded.
func TestWriteFixture(t *testing.T) {
	if *writeFixture == "" {
		t.Skip("generator: run with -write-fixture=DIR")
	}
	if _, err := os.Stat(*writeFixture); err == nil {
		t.Fatalf("%s exists: a committed fixture is never rewritten; write a new version", *writeFixture)
	}
	skey, vkey, err := auditlog.GenerateKey("govaudit-fixture")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "fixture.key")
	if err := os.WriteFile(keyFile, []byte(skey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	env := &pipelineEnv{archive: t.TempDir(), storage: t.TempDir(), key: keyFile, verifier: v,
		exporterConfig: func(c *Config) { c.Rotation.MaxRows = 8 }}
	c := env.start(t)
	for _, n := range []int{3, 5, 2, 6, 4} {
		if _, err := c.send(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
	c = env.start(t) // a restart: the same epoch, the manifest chain goes on
	if _, err := c.send(3); err != nil {
		t.Fatal(err)
	}
	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
	if rep := verifyArchive(t, env.archive, v); !rep.OK() || rep.Manifests < 3 {
		t.Fatalf("the fixture does not verify (%d manifests):\n%s", rep.Manifests, reportText(rep))
	}
	for _, dir := range []string{archive.RecordsDir, archive.IndexDir, archive.CheckpointsDir, archive.ManifestsDir} {
		copyTree(t, filepath.Join(env.archive, dir), filepath.Join(*writeFixture, dir))
	}
	if err := os.WriteFile(filepath.Join(*writeFixture, "key.pub"), []byte(vkey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies the regular files under src to dst, keeping their modes.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}
