package verify

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

type keyPair struct {
	signer   note.Signer
	verifier note.Verifier
}

func newKey(t *testing.T, name string) keyPair {
	t.Helper()
	skey, vkey, err := auditlog.GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{s, v}
}

// testArchive builds an in-memory archive of one epoch: n leaves written in two
// files, a checkpoint row after every batch of `batch` leaves, checkpoint
// files and a latest pointer, as auditsign and auditparquet write them.
type testArchive struct {
	in   Input
	cps  []string // checkpoint notes in signing order
	keys keyPair
}

func build(t *testing.T, k keyPair, origin string, epoch uint64, n, batch int, prev string) *testArchive {
	t.Helper()
	return buildStart(t, k, origin, epoch, n, batch, func(r *record.Record) { r.PreviousCheckpoint = prev })
}

// buildStart is build with leaf 0, the epoch start record, completed by start.
func buildStart(t *testing.T, k keyPair, origin string, epoch uint64, n, batch int, start func(*record.Record)) *testArchive {
	t.Helper()
	a := &testArchive{keys: k, in: Input{Trusted: note.VerifierList(k.verifier)}}
	tree := auditlog.NewTree()
	files := []File{{Path: fmt.Sprintf("records/%s/%d-f0.parquet", origin, epoch)},
		{Path: fmt.Sprintf("records/%s/%d-f1.parquet", origin, epoch)}}
	for i := 0; i < n; i++ {
		r := record.Record{SchemaVersion: 1, ID: fmt.Sprintf("r%d", i), Type: record.TypeInference,
			RequestModel: "gpt-4o", UserID: "u1", StartTime: int64(i)}
		if i == 0 {
			r.Type, r.EventName = record.TypeLifecycle, EventEpochStart
			start(&r)
		}
		r.SetLeaf(origin, epoch, uint64(i))
		tree.Append(r.LeafHash)
		f := &files[0]
		if i >= n/2 {
			f = &files[1]
		}
		f.Rows = append(f.Rows, r)
		if (i+1)%batch == 0 || i == n-1 {
			text, err := auditlog.Sign(k.signer, origin, epoch, tree.Size(), tree.Root())
			if err != nil {
				t.Fatal(err)
			}
			a.cps = append(a.cps, text)
			f.Rows = append(f.Rows, record.Record{SchemaVersion: 1, ID: fmt.Sprintf("c%d", tree.Size()),
				Type: record.TypeCheckpoint, Origin: origin, Epoch: epoch, Checkpoint: text})
			a.in.Checkpoints = append(a.in.Checkpoints, CheckpointFile{Path: fmt.Sprintf("checkpoints/%s/%d/%d", origin, epoch, tree.Size()),
				Text: text, Origin: origin, Epoch: epoch, Size: tree.Size()})
		}
	}
	a.in.Files = files
	a.in.Latest = []LatestFile{{Path: "checkpoints/" + origin + "/latest", Origin: origin, Text: a.cps[len(a.cps)-1]}}
	return a
}

func kinds(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Kind)
	}
	return out
}

func TestIntactArchive(t *testing.T) {
	a := build(t, newKey(t, "k1"), "host-a", 100, 20, 3, "")
	rep := checkBoth(t, a.in)
	if !rep.OK() {
		t.Fatalf("intact archive: problems %v warnings %v", rep.Problems, rep.Warnings)
	}
	if rep.Records != 20 || rep.Checkpoints != 7 || len(rep.Logs) != 1 || rep.Logs[0].Verified != 20 ||
		rep.Covered != 20 || rep.Uncovered != 0 || rep.Logs[0].Covered != 20 || len(rep.Warnings) != 0 {
		t.Fatalf("report %+v", rep)
	}
}

func TestTampering(t *testing.T) {
	k := newKey(t, "k1")
	other := newKey(t, "k1") // same name, different key
	for _, c := range []struct {
		name   string
		tamper func(a *testArchive)
		want   string // problem kind
		where  string // substring of the problem's String()
	}{
		{"modified field", func(a *testArchive) { a.in.Files[0].Rows[2].RequestModel = "gpt-3.5" }, KindModifiedRecord, "f0.parquet row 2"},
		{"modified and rehashed", func(a *testArchive) {
			r := &a.in.Files[0].Rows[2]
			r.RequestModel = "gpt-3.5"
			r.LeafHash = r.ComputeLeafHash()
		}, KindCheckpointMismatch, "f0.parquet"},
		{"row removed", func(a *testArchive) {
			a.in.Files[1].Rows = append(a.in.Files[1].Rows[:1:1], a.in.Files[1].Rows[2:]...)
		}, KindMissingLeaves, "f1.parquet"},
		{"rows swapped", func(a *testArchive) {
			rs := a.in.Files[0].Rows
			rs[0], rs[1] = rs[1], rs[0]
		}, KindOutOfOrderLeaf, "f0.parquet row 1"},
		{"forged row inserted", func(a *testArchive) {
			r := record.Record{SchemaVersion: 1, ID: "forged", Type: record.TypeInference, RequestModel: "x"}
			r.SetLeaf("host-a", 100, 5)
			rs := a.in.Files[0].Rows
			a.in.Files[0].Rows = append(append(append([]record.Record{}, rs[:3]...), r), rs[3:]...)
		}, KindDuplicateLeaf, "f0.parquet row 3"},
		{"forged row beyond the end", func(a *testArchive) {
			r := record.Record{SchemaVersion: 1, ID: "forged", Type: record.TypeInference}
			r.SetLeaf("host-a", 100, 20)
			a.in.Files[0].Rows = append([]record.Record{r}, a.in.Files[0].Rows...)
		}, KindOutOfOrderLeaf, "f0.parquet row 1"},
		{"file deleted", func(a *testArchive) { a.in.Files = a.in.Files[:1] }, KindMissingLeaves, ""},
		{"file unreadable", func(a *testArchive) { a.in.Files[1].Err = fmt.Errorf("truncated"); a.in.Files[1].Rows = nil }, KindUnreadableFile, "f1.parquet"},
		{"checkpoint by another key", func(a *testArchive) {
			cp, _ := auditlog.ParseUnverified(a.cps[1])
			text, _ := auditlog.Sign(other.signer, cp.Origin, cp.Epoch, cp.Size, cp.Root)
			a.in.Checkpoints[1].Text = text
		}, KindCheckpointSig, "checkpoints/host-a/100/6"},
		{"checkpoint root altered", func(a *testArchive) {
			a.in.Checkpoints[2].Text = strings.Replace(a.in.Checkpoints[2].Text, "\n9\n", "\n9\n", 1)
			lines := strings.SplitN(a.in.Checkpoints[2].Text, "\n", 4)
			root := []byte(lines[2])
			root[0] ^= 1
			lines[2] = string(root)
			a.in.Checkpoints[2].Text = strings.Join(lines, "\n")
		}, KindCheckpointSig, "checkpoints/host-a/100/9"},
		{"older checkpoint replayed as latest", func(a *testArchive) { a.in.Latest[0].Text = a.cps[2] }, KindRollback, "latest"},
		{"latest deleted", func(a *testArchive) { a.in.Latest = nil }, KindMissingLatest, ""},
		{"latest of another origin", func(a *testArchive) {
			a.in.Latest[0].Text, _ = auditlog.Sign(a.keys.signer, "host-z", 100, 3, make([]byte, 32))
		}, KindCheckpointMisfiled, "checkpoints/host-a/latest"},
		{"checkpoint file renamed", func(a *testArchive) { a.in.Checkpoints[0].Size = 4 }, KindCheckpointMisfiled, "checkpoints/host-a/100/3"},
		{"fork", func(a *testArchive) {
			text, _ := auditlog.Sign(a.keys.signer, "host-a", 100, 3, make([]byte, 32))
			a.in.Checkpoints = append(a.in.Checkpoints, CheckpointFile{Path: "checkpoints/host-a/100/3.bis", Text: text, Origin: "host-a", Epoch: 100, Size: 3})
		}, KindCheckpointFork, "3.bis"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := build(t, k, "host-a", 100, 20, 3, "")
			c.tamper(a)
			rep := checkBoth(t, a.in)
			if rep.OK() {
				t.Fatalf("tampering not detected; report %+v", rep)
			}
			var found bool
			for _, p := range rep.Problems {
				if p.Kind == c.want && strings.Contains(p.String(), c.where) {
					found = true
				}
			}
			if !found {
				t.Fatalf("want a %s problem mentioning %q; got %v", c.want, c.where, rep.Problems)
			}
		})
	}
}

func TestEpochLinks(t *testing.T) {
	k := newKey(t, "k1")
	e1 := build(t, k, "host-a", 100, 6, 3, "")
	last := e1.cps[len(e1.cps)-1]
	e2 := build(t, k, "host-a", 200, 4, 2, last)
	merged := Input{Trusted: e1.in.Trusted, Files: append(e1.in.Files, e2.in.Files...),
		Checkpoints: append(e1.in.Checkpoints, e2.in.Checkpoints...), Latest: e2.in.Latest}
	if rep := checkBoth(t, merged); !rep.OK() {
		t.Fatalf("linked epochs: %v %v", rep.Problems, rep.Warnings)
	}

	// The previous epoch withheld from the archive: the link names it.
	alone := Input{Trusted: e2.in.Trusted, Files: e2.in.Files, Checkpoints: e2.in.Checkpoints, Latest: e2.in.Latest}
	rep := checkBoth(t, alone)
	if got := kinds(rep.Problems); len(got) != 1 || got[0] != KindEpochLink {
		t.Fatalf("withheld epoch: problems %v", rep.Problems)
	}

	// Latest pointing back at the first epoch is a rollback.
	merged.Latest = e1.in.Latest
	if got := kinds(checkBoth(t, merged).Problems); len(got) != 1 || got[0] != KindRollback {
		t.Fatalf("rollback across epochs: %v", got)
	}
}
