package scan

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/govaudit/govaudit/internal/verify"
)

func checkScoped(t *testing.T, root string, s verify.Scope) *verify.Report {
	t.Helper()
	rep, _ := checkScope(t, root, fixtureKey(t), s)
	return rep
}

// TestScopeOrigin: --origin reads nothing of another origin, and verifies
// the origin asked for whole.
func TestScopeOrigin(t *testing.T) {
	root := copyFixture(t)
	// Another origin's files, all garbage: a whole run fails on them.
	for _, p := range []string{
		"records/origin=other.test/date=2026-11-27/20261127T000000Z.parquet",
		"manifests/other.test/0",
		"checkpoints/other.test/latest",
	} {
		p = filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("not what it should be"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if rep := check(t, root, fixtureKey(t)); rep.OK() {
		t.Fatal("garbage of another origin verified")
	}
	rep := checkScoped(t, root, verify.Scope{Origins: []string{"pipeline.test"}})
	if !rep.OK() || rep.Files != 4 || rep.Records != 24 || rep.Manifests != 4 || rep.DigestedFiles != 15 {
		t.Fatalf("--origin pipeline.test: ok %v, %d files, %d records, %d manifests, %d digested\n%s",
			rep.OK(), rep.Files, rep.Records, rep.Manifests, rep.DigestedFiles, text(rep))
	}
	if rep.Scope == nil || !slices.Equal(rep.Scope.Origins, []string{"pipeline.test"}) || rep.Scope.RowsChecked != 24 {
		t.Fatalf("scope %+v", rep.Scope)
	}
	if got := rep.Scope.String(); got != "origin pipeline.test" {
		t.Errorf("scope %q", got)
	}

	// The origin asked for is still verified whole: a deleted manifest of
	// its chain fails.
	if err := os.Remove(filepath.Join(root, "manifests", "pipeline.test", "1")); err != nil {
		t.Fatal(err)
	}
	rep = checkScoped(t, root, verify.Scope{Origins: []string{"pipeline.test"}})
	if rep.OK() || !slices.Contains(kinds(rep.Problems), verify.KindManifestChain) {
		t.Fatalf("deleted manifest under --origin: %v", kinds(rep.Problems))
	}
}

// TestScopePeriod: records outside --since/--until go into the trees by
// their stored leaf hash; every file's digest, tree and checkpoint is still
// checked.
func TestScopePeriod(t *testing.T) {
	future := verify.Scope{Since: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}
	rep := checkScoped(t, fixture, future)
	// Leaf 0 of the epoch (its link) is always re-hashed.
	if !rep.OK() || rep.Covered != 24 || rep.Scope.RowsChecked != 1 || rep.Scope.RowsHashOnly != 23 {
		t.Fatalf("period after the archive: ok %v, covered %d, scope %+v\n%s", rep.OK(), rep.Covered, rep.Scope, text(rep))
	}
	all := verify.Scope{Since: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}
	if rep := checkScoped(t, fixture, all); !rep.OK() || rep.Scope.RowsChecked != 24 || rep.Scope.RowsHashOnly != 0 {
		t.Fatalf("period around the archive: %+v", rep.Scope)
	}

	// A byte changed in a file outside the period still fails, by digest.
	root := copyFixture(t)
	data := files(t, root, "records")
	edit(t, filepath.Join(root, filepath.FromSlash(data[len(data)-1])), func(b []byte) []byte {
		b[len(b)/2] ^= 1
		return b
	})
	rep = checkScoped(t, root, future)
	if rep.OK() || !slices.Contains(kinds(rep.Problems), verify.KindModifiedFile) {
		t.Fatalf("modified file outside the period: %v", kinds(rep.Problems))
	}
	// A deleted file outside the period: missing leaves and a missing file.
	if err := os.Remove(filepath.Join(root, filepath.FromSlash(data[1]))); err != nil {
		t.Fatal(err)
	}
	rep = checkScoped(t, root, future)
	if ks := kinds(rep.Problems); rep.OK() || !slices.Contains(ks, verify.KindMissingFile) {
		t.Fatalf("deleted file outside the period: %v", ks)
	}
}
