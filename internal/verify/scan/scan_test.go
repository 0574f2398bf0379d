package scan

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
	"github.com/govaudit/govaudit/internal/verify"
)

// fixture is the regression archive written by the exporter of format v1
// (exporter/auditparquetexporter TestWriteFixture). It must verify, as it
// is, in every later version of govaudit.
const fixture = "../testdata/archive-v1"

// check verifies the archive at root, column by column, after checking
// that the record path (the report's, every file decoded as records)
// reports the same.
func check(t *testing.T, root string, trusted note.Verifiers) *verify.Report {
	t.Helper()
	rep, _ := checkScope(t, root, trusted, verify.Scope{})
	return rep
}

// checkScope is check with a scope; it also returns the last progress.
func checkScope(t *testing.T, root string, trusted note.Verifiers, scope verify.Scope) (*verify.Report, Progress) {
	t.Helper()
	var last Progress
	c := verify.NewChecker(trusted)
	c.SetScope(scope)
	if err := Archive(root, c, func(p Progress) { last = p }, nil); err != nil {
		t.Fatal(err)
	}
	rep := c.Report()
	records := verify.NewChecker(trusted)
	records.SetScope(scope)
	if err := Archive(root, records, nil, func(verify.File) {}); err != nil {
		t.Fatal(err)
	}
	want := records.Report()
	gj, _ := json.MarshalIndent(rep, "", " ")
	wj, _ := json.MarshalIndent(want, "", " ")
	if !bytes.Equal(gj, wj) {
		t.Errorf("column by column and as records, verify reports otherwise:\ncolumns: %s\nrecords: %s", gj, wj)
	}
	if !last.Done || last.Files != last.TotalFiles {
		t.Errorf("last progress %+v", last)
	}
	return rep, last
}

func fixtureKey(t *testing.T) note.Verifiers {
	t.Helper()
	v, err := auditlog.LoadVerifiers(filepath.Join(fixture, "key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func kinds(ps []verify.Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Kind)
	}
	return out
}

func text(r *verify.Report) string {
	var b strings.Builder
	for _, p := range r.Problems {
		b.WriteString("FAIL " + p.String() + "\n")
	}
	for _, p := range r.Warnings {
		b.WriteString("WARN " + p.String() + "\n")
	}
	return b.String()
}

func TestFixtures(t *testing.T) {
	dirs, err := filepath.Glob("../testdata/archive-v*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixture: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			trusted, err := auditlog.LoadVerifiers(filepath.Join(dir, "key.pub"))
			if err != nil {
				t.Fatal(err)
			}
			rep, progress := checkScope(t, dir, trusted, verify.Scope{})
			if progress.RecordFiles != 0 || progress.Rows != int64(rep.Records)+int64(rep.Checkpoints) {
				// Every file of an intact archive passes column by column.
				t.Errorf("progress %+v: files read as records, or rows miscounted", progress)
			}
			if !rep.OK() || len(rep.Warnings) != 0 {
				t.Fatalf("fixture %s does not verify:\n%s", dir, text(rep))
			}
			covered, err := archive.CoveredFiles(dir)
			if err != nil {
				t.Fatal(err)
			}
			if rep.DigestedFiles != len(covered) || rep.Manifests == 0 || rep.Records == 0 {
				t.Fatalf("%d of %d files digested, %d manifests, %d records", rep.DigestedFiles, len(covered), rep.Manifests, rep.Records)
			}
		})
	}
	// Pinned, so that a change in what verify counts is seen.
	rep := check(t, fixture, fixtureKey(t))
	if rep.Files != 4 || rep.Records != 24 || rep.Manifests != 4 || rep.DigestedFiles != 15 || rep.Covered != 24 {
		t.Errorf("archive-v1: %d files, %d records, %d manifests, %d digested files, %d covered",
			rep.Files, rep.Records, rep.Manifests, rep.DigestedFiles, rep.Covered)
	}
}

// copyFixture copies the fixture to a writable temporary directory.
func copyFixture(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "audit")
	err := filepath.WalkDir(fixture, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(fixture, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func files(t *testing.T, root, dir string) []string {
	t.Helper()
	all, err := archive.CoveredFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range all {
		if strings.HasPrefix(p, dir+"/") {
			out = append(out, p)
		}
	}
	mf, err := archive.ManifestFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range mf {
		if strings.HasPrefix(p, dir+"/") {
			out = append(out, p)
		}
	}
	return out
}

func edit(t *testing.T, p string, f func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, f(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFixtureTampered damages copies of the fixture, one kind of damage each,
// and expects the problem kinds that name it.
func TestFixtureTampered(t *testing.T) {
	skey, _, err := auditlog.GenerateKey("govaudit-fixture") // same name, another key
	if err != nil {
		t.Fatal(err)
	}
	other, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		damage func(t *testing.T, root string) string // returns the path the problem names
		want   []string
		warn   string // a warning kind instead of a problem
	}{
		{"byte in a data file's footer metadata", func(t *testing.T, root string) string {
			p := files(t, root, archive.RecordsDir)[1]
			edit(t, filepath.Join(root, p), func(b []byte) []byte {
				i := bytes.LastIndex(b, []byte("govaudit.schema_version"))
				b[i] ^= 0x20 // still decodes: no decoder reads this key
				return b
			})
			return p
		}, []string{verify.KindModifiedFile}, ""},
		{"byte in an index", func(t *testing.T, root string) string {
			p := files(t, root, archive.IndexDir)[0]
			edit(t, filepath.Join(root, p), func(b []byte) []byte { return bytes.Replace(b, []byte("gpt-4o"), []byte("gpt-4x"), 1) })
			return p
		}, []string{verify.KindModifiedFile}, ""},
		{"index deleted", func(t *testing.T, root string) string {
			p := files(t, root, archive.IndexDir)[0]
			os.Remove(filepath.Join(root, p))
			return p
		}, nil, verify.KindMissingFile},
		{"checkpoint file deleted", func(t *testing.T, root string) string {
			p := files(t, root, archive.CheckpointsDir)[0]
			os.Remove(filepath.Join(root, p))
			return p
		}, []string{verify.KindMissingFile}, ""},
		{"file added", func(t *testing.T, root string) string {
			p := archive.RecordsDir + "/origin=pipeline.test/notes.txt"
			os.WriteFile(filepath.Join(root, p), []byte("hello"), 0o644)
			return p
		}, []string{verify.KindUncoveredFile}, ""},
		{"data file copied under another name", func(t *testing.T, root string) string {
			src := files(t, root, archive.RecordsDir)[0]
			p := archive.DataPath("pipeline.test", mustTime(t, src).Add(1))
			b, _ := os.ReadFile(filepath.Join(root, src))
			os.WriteFile(filepath.Join(root, p), b, 0o644)
			return p
		}, []string{verify.KindDuplicateLeaf, verify.KindUncoveredFile}, ""},
		{"middle manifest deleted", func(t *testing.T, root string) string {
			p := archive.ManifestPath("pipeline.test", 1)
			os.Remove(filepath.Join(root, p))
			return archive.ManifestPath("pipeline.test", 2)
		}, []string{verify.KindManifestChain, verify.KindUncoveredFile}, ""},
		{"newest manifest deleted", func(t *testing.T, root string) string {
			p := archive.ManifestPath("pipeline.test", 3)
			os.Remove(filepath.Join(root, p))
			return files(t, root, archive.RecordsDir)[3]
		}, []string{verify.KindUncoveredFile}, ""},
		{"manifest replayed at the next seq", func(t *testing.T, root string) string {
			p := archive.ManifestPath("pipeline.test", 2)
			b, _ := os.ReadFile(filepath.Join(root, archive.ManifestPath("pipeline.test", 1)))
			os.WriteFile(filepath.Join(root, p), b, 0o644)
			return p
		}, []string{verify.KindManifestInvalid}, ""},
		{"manifest re-signed with another key", func(t *testing.T, root string) string {
			p := archive.ManifestPath("pipeline.test", 2)
			edit(t, filepath.Join(root, p), func(b []byte) []byte {
				text := b[:bytes.LastIndex(b, []byte("\n\n"))+1]
				out, err := note.Sign(&note.Note{Text: string(text)}, other)
				if err != nil {
					t.Fatal(err)
				}
				return out
			})
			return p
		}, []string{verify.KindManifestSignature, verify.KindManifestChain}, ""},
		{"manifest line edited", func(t *testing.T, root string) string {
			p := archive.ManifestPath("pipeline.test", 0)
			edit(t, filepath.Join(root, p), func(b []byte) []byte { return bytes.Replace(b, []byte("seq 0"), []byte("seq 00"), 1) })
			return p
		}, []string{verify.KindManifestSignature, verify.KindManifestChain}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := copyFixture(t)
			where := c.damage(t, root)
			rep := check(t, root, fixtureKey(t))
			got := kinds(rep.Problems)
			for _, k := range c.want {
				if !slices.Contains(got, k) {
					t.Errorf("want a %s problem, got:\n%s", k, text(rep))
				}
			}
			if len(c.want) > 0 && !strings.Contains(text(rep), where) {
				t.Errorf("no problem names %s:\n%s", where, text(rep))
			}
			if c.warn != "" {
				if !rep.OK() || len(rep.Warnings) != 1 || rep.Warnings[0].Kind != c.warn || rep.Warnings[0].File != where {
					t.Errorf("want OK with one %s warning naming %s:\n%s", c.warn, where, text(rep))
				}
			} else if rep.OK() {
				t.Errorf("damaged archive verifies:\n%s", text(rep))
			}
		})
	}
}

func mustTime(t *testing.T, p string) (tm time.Time) {
	t.Helper()
	_, tm, err := archive.ParseDataPath(p)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// TestOtherEncoding re-encodes the fixture's rows with other parquet-go
// writer options (zstd level, page size, no statistics, no bloom filters):
// other bytes, which re-encoding with today's options would call modified.
// Once manifests list the new bytes, the archive verifies: verify depends on
// the signed digests and the rows, never on how an encoder lays out bytes.
func TestOtherEncoding(t *testing.T) {
	root := copyFixture(t)
	skey, vkey, err := auditlog.GenerateKey("archivist")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range files(t, root, archive.RecordsDir) {
		full := filepath.Join(root, p)
		old, err := os.ReadFile(full)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := archive.DecodeFile(p, old)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		w := parquet.NewGenericWriter[record.Record](&buf,
			parquet.Compression(&zstd.Codec{Level: zstd.SpeedBestCompression}),
			parquet.PageBufferSize(4<<10),
			parquet.DataPageStatistics(false),
			parquet.KeyValueMetadata("govaudit.schema_version", "1"))
		if _, err := w.Write(rows); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(buf.Bytes(), old) {
			t.Fatalf("%s: other options wrote the same bytes", p)
		}
		if err := os.WriteFile(full, buf.Bytes(), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	// Before new manifests: every data file is modified, and nothing else.
	rep := check(t, root, fixtureKey(t))
	for _, p := range rep.Problems {
		if p.Kind != verify.KindModifiedFile || !strings.HasPrefix(p.File, archive.RecordsDir+"/") {
			t.Errorf("re-encoded: unexpected problem %s", p)
		}
	}
	if n := len(rep.Problems); n != 4 {
		t.Errorf("re-encoded without new manifests: %d problems, want 4:\n%s", n, text(rep))
	}
	// An archivist signs manifests of the new bytes (here a new chain).
	if err := os.RemoveAll(filepath.Join(root, archive.ManifestsDir)); err != nil {
		t.Fatal(err)
	}
	if err := archive.SignUnlisted(root, signer); err != nil {
		t.Fatal(err)
	}
	trusted := note.VerifierList(append(fixtureVerifier(t), v)...)
	rep = check(t, root, trusted)
	if !rep.OK() || rep.Records != 24 || rep.Covered != 24 {
		t.Fatalf("re-encoded archive under new manifests does not verify:\n%s", text(rep))
	}
}

func fixtureVerifier(t *testing.T) []note.Verifier {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixture, "key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return []note.Verifier{v}
}

// TestReindexFixture: reindexing an archive sealed with version 1 indexes
// keeps them byte for byte (its manifests list them), so it still verifies;
// an index it cannot restore byte for byte stays missing (a warning), never
// a modified file.
func TestReindexFixture(t *testing.T) {
	root := copyFixture(t)
	ixs := files(t, root, archive.IndexDir)
	before := map[string][]byte{}
	for _, p := range ixs {
		before[p], _ = os.ReadFile(filepath.Join(root, p))
	}
	os.Remove(filepath.Join(root, ixs[0]))
	if n, err := archive.Reindex(root); err != nil || n != 0 {
		t.Fatalf("Reindex = %d, %v; want 0 rebuilt", n, err)
	}
	for _, p := range ixs[1:] {
		if b, _ := os.ReadFile(filepath.Join(root, p)); !bytes.Equal(b, before[p]) {
			t.Errorf("%s rewritten", p)
		}
	}
	rep := check(t, root, fixtureKey(t))
	if !rep.OK() || len(rep.Warnings) != 1 || rep.Warnings[0].Kind != verify.KindMissingFile {
		t.Fatalf("after reindex:\n%s", text(rep))
	}
}
