package prove

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
	"github.com/govaudit/govaudit/pkg/proof"
)

const origin, epoch = "host-p", uint64(1795000000000000000)

// writeArchive writes n leaves of one epoch in data files of the given
// sizes (leaves), a signed checkpoint row and file after every `every`
// leaves and at the end, and the audit indexes. It returns the records,
// the checkpoint notes by size, and the verifier.
func writeArchive(t *testing.T, root string, n, every int, sizes ...int) ([]record.Record, map[uint64]string, note.Verifiers) {
	t.Helper()
	skey, vkey, err := auditlog.GenerateKey("prove-test")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	write := func(p string, b []byte) {
		full := filepath.Join(root, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tree := auditlog.NewTree()
	cps := map[uint64]string{}
	var recs, rows []record.Record
	opened := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	flush := func() {
		p := archive.DataPath(origin, opened)
		var buf bytes.Buffer
		if err := archive.WriteRows(&buf, rows); err != nil {
			t.Fatal(err)
		}
		write(p, buf.Bytes())
		ix, err := archive.NewIndex(p, rows, int64(buf.Len()), make([]byte, 32))
		if err != nil {
			t.Fatal(err)
		}
		if err := archive.WriteIndex(root, ix); err != nil {
			t.Fatal(err)
		}
		rows = nil
		opened = opened.Add(time.Minute)
	}
	file, inFile := 0, 0
	for i := range n {
		r := record.Record{SchemaVersion: 1, ID: fmt.Sprintf("rec-%03d", i), Type: record.TypeInference,
			StartTime: opened.UnixNano() + int64(i), Provider: "openai", RequestModel: "gpt-4o", Input: strings.Repeat("x", i%50)}
		r.SetLeaf(origin, epoch, uint64(i))
		recs = append(recs, r)
		rows = append(rows, r)
		tree.Append(r.LeafHash)
		if (i+1)%every == 0 || i == n-1 {
			text, err := auditlog.Sign(signer, origin, epoch, tree.Size(), tree.Root())
			if err != nil {
				t.Fatal(err)
			}
			cps[tree.Size()] = text
			rows = append(rows, record.Record{SchemaVersion: 1, ID: fmt.Sprintf("cp-%d", tree.Size()), Type: record.TypeCheckpoint,
				Origin: origin, Epoch: epoch, Checkpoint: text})
			write(archive.CheckpointPath(origin, epoch, tree.Size()), []byte(text))
		}
		if inFile++; file < len(sizes) && inFile == sizes[file] || i == n-1 {
			flush()
			file, inFile = file+1, 0
		}
	}
	return recs, cps, note.VerifierList(v)
}

// reference returns the proof of recs[i] against the checkpoint of size,
// built from every leaf hash (pkg/proof's FromLeaves), as JSON.
func reference(t *testing.T, recs []record.Record, cps map[uint64]string, i int, size uint64) []byte {
	t.Helper()
	p, err := proof.New(recs[i], cps[size], proof.FromLeaves(func(begin, end uint64, yield func([]byte)) error {
		for k := begin; k < end; k++ {
			yield(recs[k].LeafHash)
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	return b
}

// TestRecord: the proof of every leaf against every checkpoint that covers
// it is the one built from every leaf hash, and verifies; from the indexes'
// subtree hashes only the record's own file is read leaf by leaf (and the
// file in which an older tree ends).
func TestRecord(t *testing.T) {
	root := t.TempDir()
	recs, cps, trusted := writeArchive(t, root, 37, 4, 10, 10, 10)
	for i := range recs {
		for size := range cps {
			if size <= uint64(i) {
				continue
			}
			p, st, err := proveRecord(root, recs[i].ID, size)
			if err != nil {
				t.Fatalf("leaf %d size %d: %v", i, size, err)
			}
			got, _ := json.Marshal(p)
			if !bytes.Equal(got, reference(t, recs, cps, i, size)) {
				t.Fatalf("leaf %d size %d: proof differs from the one built from every leaf", i, size)
			}
			if _, err := proof.Verify(p, trusted); err != nil {
				t.Fatalf("leaf %d size %d: %v", i, size, err)
			}
			// Leaf by leaf: the subtree of the target's file that holds
			// it, and the leaves of the file in which the tree of this
			// size ends, if it ends inside one.
			maxFiles := 1
			if size%10 != 0 && size != 37 {
				maxFiles = 2
			}
			if st.retried || st.leafFiles > maxFiles {
				t.Fatalf("leaf %d size %d: %+v", i, size, st)
			}
		}
	}
	if p, err := Record(root, recs[20].ID, 0); err != nil || uint64(p.TreeSize) != 37 {
		t.Fatalf("latest: %v", err)
	}
	if _, err := Record(root, "absent", 0); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("absent record: %v", err)
	}
	if _, err := Record(root, recs[36].ID, 36); err == nil {
		t.Error("a checkpoint that does not cover the leaf gave a proof")
	}
}

// TestRecordIndexes: indexes that lie or are missing cost more reading,
// never a wrong proof; an index of version 1 (no subtree hashes) is read
// leaf by leaf.
func TestRecordIndexes(t *testing.T) {
	for name, damage := range map[string]func(ix *archive.Index){
		"node altered": func(ix *archive.Index) {
			h, _ := hex.DecodeString(ix.Epochs[0].Nodes[0])
			h[0] ^= 1
			ix.Epochs[0].Nodes[0] = hex.EncodeToString(h)
		},
		"node dropped":    func(ix *archive.Index) { ix.Epochs[0].Nodes = ix.Epochs[0].Nodes[1:] },
		"range shifted":   func(ix *archive.Index) { ix.Epochs[0].LeafBegin++; ix.Epochs[0].LeafEnd++ },
		"other epoch":     func(ix *archive.Index) { ix.Epochs[0].Epoch++ },
		"no nodes (v1)":   func(ix *archive.Index) { ix.Version = 1; ix.Epochs[0].Nodes = nil },
		"checkpoint gone": func(ix *archive.Index) { ix.Checkpoints = nil },
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			recs, cps, trusted := writeArchive(t, root, 30, 5, 8, 8, 8)
			files, _ := archive.DataFiles(root)
			for _, f := range files {
				ix, err := archive.ReadIndex(root, f)
				if err != nil {
					t.Fatal(err)
				}
				damage(ix)
				p := filepath.Join(root, filepath.FromSlash(archive.IndexPath(f)))
				b, _ := ix.Marshal()
				os.Chmod(p, 0o644)
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, i := range []int{0, 9, 17, 29} {
				p, _, err := proveRecord(root, recs[i].ID, 30)
				if err != nil {
					t.Fatalf("leaf %d: %v", i, err)
				}
				got, _ := json.Marshal(p)
				if !bytes.Equal(got, reference(t, recs, cps, i, 30)) {
					t.Fatalf("leaf %d: proof differs from the one built from every leaf", i)
				}
				if _, err := proof.Verify(p, trusted); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestRecordDamaged: a leaf missing from the archive is an error that says
// so, never a proof.
func TestRecordDamaged(t *testing.T) {
	root := t.TempDir()
	recs, _, _ := writeArchive(t, root, 30, 5, 8, 8, 8)
	files, _ := archive.DataFiles(root)
	os.Remove(filepath.Join(root, filepath.FromSlash(files[1])))
	os.Remove(filepath.Join(root, filepath.FromSlash(archive.IndexPath(files[1]))))
	_, err := Record(root, recs[20].ID, 30)
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("leaves [8, 16) deleted: %v", err)
	}
}
