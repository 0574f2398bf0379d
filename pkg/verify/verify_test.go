package verify

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

const fixture = "../../internal/verify/testdata/archive-v1"

func fixtureKey(t *testing.T) note.Verifiers {
	t.Helper()
	pub, err := os.ReadFile(filepath.Join(fixture, "key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(pub)))
	if err != nil {
		t.Fatal(err)
	}
	return note.VerifierList(v)
}

// copyFixture copies the fixture archive to a writable directory.
func copyFixture(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(fixture, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(fixture, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestArchive: a byte changed in a data file fails with the problem that
// names it; options limit the run and say so; progress ends Done; a missing
// directory is an error, not a report.
func TestArchive(t *testing.T) {
	trusted := fixtureKey(t)
	root := copyFixture(t)
	files, _ := filepath.Glob(filepath.Join(root, "records", "*", "*", "*.parquet"))
	b, _ := os.ReadFile(files[1])
	b[len(b)/2] ^= 0xff
	os.WriteFile(files[1], b, 0o644)
	var last Progress
	rep, err := Archive(root, trusted, &Options{Progress: func(p Progress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range rep.Problems {
		found = found || p.Kind == KindModifiedFile && strings.HasSuffix(files[1], filepath.FromSlash(p.File))
	}
	if rep.OK() || !found {
		t.Fatalf("a modified data file: ok %v, problems %v", rep.OK(), rep.Problems)
	}
	if !last.Done || last.Files != 4 || last.TotalFiles != 4 {
		t.Errorf("last progress %+v", last)
	}

	rep, err = Archive(fixture, trusted, &Options{Since: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil || !rep.OK() || rep.Scope == nil || rep.Scope.RowsChecked != 1 || rep.Scope.RowsHashOnly != 23 {
		t.Fatalf("--since 2100: %v %+v", err, rep.Scope)
	}
	rep, err = Archive(fixture, trusted, &Options{Origins: []string{"elsewhere"}})
	if err != nil || len(rep.Logs) != 0 || rep.Files != 0 {
		t.Fatalf("another origin: %v %+v", err, rep)
	}
	if _, err := Archive(filepath.Join(root, "nothing"), trusted, nil); err == nil {
		t.Error("a missing directory gave a report")
	}
}
