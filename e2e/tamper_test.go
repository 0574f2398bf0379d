package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

// tamperSuite damages fresh copies of a sealed archive, one kind of damage
// each, and expects govaudit verify to exit 1 naming the damage.
func tamperSuite(t *testing.T, e *env, audit string) {
	otherDir := t.TempDir()
	if code, out := e.govaudit(t, "keygen", "--name", "govaudit-dev", "--out", otherDir); code != 0 {
		t.Fatal(out)
	}
	otherKey := filepath.Join(otherDir, "govaudit-dev.key")

	files, err := archive.DataFiles(audit)
	if err != nil || len(files) == 0 {
		t.Fatalf("data files: %v %v", files, err)
	}
	cps, err := archive.CheckpointFiles(audit)
	if err != nil || len(cps) < 2 {
		t.Fatalf("want at least two checkpoint files, got %v %v", cps, err)
	}

	// firstLeafFile is the first data file holding at least three leaves.
	var target string
	for _, f := range files {
		rows, err := archive.ReadFile(filepath.Join(audit, f))
		if err != nil {
			t.Fatal(err)
		}
		if countLeaves(rows) >= 3 {
			target = f
			break
		}
	}
	if target == "" {
		t.Fatalf("no data file with three leaves among %v", files)
	}

	for _, c := range []struct {
		name   string
		damage func(t *testing.T, root string)
		want   []string // substrings of verify's output
	}{
		{"flipped byte in a data page", func(t *testing.T, root string) {
			flipDataPageByte(t, filepath.Join(root, target), "record_id")
		}, []string{target}},
		{"row removed", func(t *testing.T, root string) {
			rewrite(t, filepath.Join(root, target), func(rows []record.Record) []record.Record {
				i := nthLeaf(rows, 1)
				return append(rows[:i:i], rows[i+1:]...)
			})
		}, []string{"missing_leaves"}},
		{"forged row inserted", func(t *testing.T, root string) {
			rewrite(t, filepath.Join(root, target), func(rows []record.Record) []record.Record {
				i := nthLeaf(rows, 1)
				forged := rows[i]
				forged.ID, forged.RequestModel, forged.UserID = "forged-1", "gpt-4o", "mallory"
				forged.SetLeaf(forged.Origin, forged.Epoch, forged.LeafIndex+1)
				return append(rows[:i+1:i+1], append([]record.Record{forged}, rows[i+1:]...)...)
			})
		}, []string{target}},
		{"two rows swapped", func(t *testing.T, root string) {
			rewrite(t, filepath.Join(root, target), func(rows []record.Record) []record.Record {
				i, j := nthLeaf(rows, 0), nthLeaf(rows, 1)
				rows[i], rows[j] = rows[j], rows[i]
				return rows
			})
		}, []string{"out_of_order_leaf", target}},
		{"file deleted", func(t *testing.T, root string) {
			must(t, os.Remove(filepath.Join(root, target)))
		}, []string{"missing_leaves"}},
		{"file truncated", func(t *testing.T, root string) {
			p := filepath.Join(root, target)
			b, err := os.ReadFile(p)
			must(t, err)
			must(t, os.Chmod(p, 0o644))
			must(t, os.WriteFile(p, b[:len(b)*2/3], 0o444))
		}, []string{"unreadable_file", target}},
		{"model changed and file rewritten consistently", func(t *testing.T, root string) {
			rewrite(t, filepath.Join(root, target), func(rows []record.Record) []record.Record {
				i := nthLeaf(rows, 1)
				rows[i].RequestModel, rows[i].ResponseModel = "gpt-3.5-turbo", "gpt-3.5-turbo"
				rows[i].SetLeaf(rows[i].Origin, rows[i].Epoch, rows[i].LeafIndex) // recompute the stored hash too
				return rows
			})
		}, []string{"checkpoint_root_mismatch"}},
		{"checkpoint replaced by one signed with another key", func(t *testing.T, root string) {
			p := filepath.Join(root, cps[len(cps)-1])
			cp := readCheckpoint(t, p)
			signer, err := auditlog.LoadSigner(otherKey)
			must(t, err)
			text, err := auditlog.Sign(signer, cp.Origin, cp.Epoch, cp.Size, cp.Root)
			must(t, err)
			replace(t, p, text)
		}, []string{"checkpoint_signature", cps[len(cps)-1]}},
		{"older checkpoint replayed as latest", func(t *testing.T, root string) {
			cp := readCheckpoint(t, filepath.Join(root, cps[0]))
			replace(t, filepath.Join(root, archive.LatestPath(cp.Origin)), cp.Note)
		}, []string{"rollback"}},
		{"checkpoint root altered", func(t *testing.T, root string) {
			p := filepath.Join(root, cps[len(cps)-1])
			cp := readCheckpoint(t, p)
			lines := strings.SplitN(cp.Note, "\n", 4)
			lines[2] = strings.Repeat("A", 43) + "="
			replace(t, p, strings.Join(lines, "\n"))
		}, []string{"checkpoint_signature", cps[len(cps)-1]}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "audit")
			copyDir(t, audit, root)
			if code, out := e.govaudit(t, "verify", "--key", e.pub, root); code != 0 {
				t.Fatalf("the copy does not verify before damage: %s", out)
			}
			c.damage(t, root)
			code, out := e.govaudit(t, "verify", "--key", e.pub, root)
			if code != 1 {
				t.Fatalf("verify exit %d, want 1\n%s", code, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("verify output does not mention %q:\n%s", w, out)
				}
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func countLeaves(rows []record.Record) int {
	n := 0
	for i := range rows {
		if rows[i].IsLeaf() {
			n++
		}
	}
	return n
}

// nthLeaf returns the row index of the n-th (0-based) leaf row.
func nthLeaf(rows []record.Record, n int) int {
	for i := range rows {
		if rows[i].IsLeaf() {
			if n == 0 {
				return i
			}
			n--
		}
	}
	panic("not enough leaves")
}

// rewrite rewrites a sealed data file with the rows edit returns, as an
// attacker with write access to the archive would.
func rewrite(t *testing.T, path string, edit func([]record.Record) []record.Record) {
	t.Helper()
	rows, err := archive.ReadFile(path)
	must(t, err)
	rows = edit(rows)
	var buf bytes.Buffer
	must(t, archive.WriteRows(&buf, rows))
	replace(t, path, buf.String())
}

func replace(t *testing.T, path, content string) {
	t.Helper()
	os.Chmod(path, 0o644)
	must(t, os.WriteFile(path, []byte(content), 0o644))
}

func readCheckpoint(t *testing.T, path string) auditlog.Checkpoint {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	cp, err := auditlog.ParseUnverified(string(b))
	must(t, err)
	return cp
}

// flipDataPageByte flips one byte in the data of the last data page of the
// named column (the chunk's last bytes: past every page header), located
// through the file's own Parquet metadata.
func flipDataPageByte(t *testing.T, path, column string) {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	must(t, err)
	leaf, ok := f.Schema().Lookup(column)
	if !ok {
		t.Fatalf("no column %s", column)
	}
	cc := f.Metadata().RowGroups[0].Columns[leaf.ColumnIndex].MetaData
	start := cc.DataPageOffset
	if cc.DictionaryPageOffset > 0 && cc.DictionaryPageOffset < start {
		start = cc.DictionaryPageOffset
	}
	b[start+cc.TotalCompressedSize-3] ^= 0x5a
	replace(t, path, string(b))
}
