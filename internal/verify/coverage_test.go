package verify

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

// crash cuts the checkpoints of a above size keep, as a collector killed
// before signing them leaves its archive: rows, files and latest.
func (a *testArchive) crash(t *testing.T, keep uint64) {
	t.Helper()
	for fi := range a.in.Files {
		f := &a.in.Files[fi]
		var rows []record.Record
		for _, r := range f.Rows {
			if r.Type == record.TypeCheckpoint {
				if cp, err := auditlog.ParseUnverified(r.Checkpoint); err != nil || cp.Size > keep {
					continue
				}
			}
			rows = append(rows, r)
		}
		f.Rows = rows
	}
	var cfs []CheckpointFile
	var cps []string
	for i, cf := range a.in.Checkpoints {
		if cf.Size <= keep {
			cfs, cps = append(cfs, cf), append(cps, a.cps[i])
		}
	}
	a.in.Checkpoints, a.cps = cfs, cps
	a.in.Latest[0].Text = cps[len(cps)-1]
}

// unsigned removes every checkpoint of a: rows, files and latest.
func (a *testArchive) unsigned() {
	for fi := range a.in.Files {
		f := &a.in.Files[fi]
		var rows []record.Record
		for _, r := range f.Rows {
			if r.IsLeaf() {
				rows = append(rows, r)
			}
		}
		f.Rows = rows
	}
	a.in.Checkpoints, a.in.Latest, a.cps = nil, nil, nil
}

// truncate removes the leaves from index n on (and the checkpoint rows after
// them), as when the batch in flight never reached the archive.
func (a *testArchive) truncate(n uint64) {
	for fi := range a.in.Files {
		f := &a.in.Files[fi]
		var rows []record.Record
		for _, r := range f.Rows {
			if r.IsLeaf() && r.LeafIndex >= n {
				break
			}
			rows = append(rows, r)
		}
		f.Rows = rows
	}
}

// leafHashes returns the leaf hashes of a in leaf order.
func (a *testArchive) leafHashes() [][]byte {
	var hs [][]byte
	for _, f := range a.in.Files {
		for _, r := range f.Rows {
			if r.IsLeaf() {
				hs = append(hs, r.LeafHash)
			}
		}
	}
	return hs
}

// head is the tree head of the first size leaves of a, as auditsign persists it.
func (a *testArchive) head(size uint64) *auditlog.TreeHead {
	return &auditlog.TreeHead{Size: size, Root: auditlog.RootOf(a.leafHashes(), size)}
}

// linkStart returns the start record of an epoch that follows a previous
// epoch: its previous checkpoint and link attributes.
func linkStart(t *testing.T, prev string, link auditlog.EpochLink) func(*record.Record) {
	return func(r *record.Record) {
		js, err := record.CanonicalJSON(link.Attributes())
		if err != nil {
			t.Fatal(err)
		}
		r.PreviousCheckpoint, r.Attributes = prev, js
	}
}

// merge joins the archives of several epochs; the latest is the last one's.
func merge(as ...*testArchive) Input {
	in := Input{Trusted: as[0].in.Trusted}
	for _, a := range as {
		in.Files = append(in.Files, a.in.Files...)
		in.Checkpoints = append(in.Checkpoints, a.in.Checkpoints...)
	}
	in.Latest = as[len(as)-1].in.Latest
	return in
}

// find returns the problems of kind whose String contains where.
func find(rep *Report, kind, where string) []Problem {
	var out []Problem
	for _, p := range rep.Problems {
		if p.Kind == kind && strings.Contains(p.String(), where) {
			out = append(out, p)
		}
	}
	return out
}

func logOf(t *testing.T, rep *Report, epoch uint64) LogReport {
	t.Helper()
	for _, l := range rep.Logs {
		if l.Epoch == epoch {
			return l
		}
	}
	t.Fatalf("no log of epoch %d in %+v", epoch, rep.Logs)
	return LogReport{}
}

func TestCrashTailUncovered(t *testing.T) {
	a := build(t, newKey(t, "k1"), "host-a", 100, 10, 4, "")
	a.crash(t, 8) // leaves 8 and 9 archived, their checkpoint never signed
	rep := checkBoth(t, a.in)
	if rep.OK() {
		t.Fatalf("uncovered tail verified: %+v", rep)
	}
	ps := find(rep, KindUncovered, "100-f1.parquet row 4")
	if len(rep.Problems) != 1 || len(ps) != 1 || *ps[0].LeafBegin != 8 || *ps[0].LeafEnd != 10 {
		t.Fatalf("want one uncovered [8, 10) at f1 row 4; got %v", rep.Problems)
	}
	if l := rep.Logs[0]; l.Verified != 8 || l.Covered != 8 || l.Uncovered != 2 || rep.Uncovered != 2 {
		t.Fatalf("log report %+v", l)
	}
	if got := a.unverified(rep, t); fmt.Sprint(got) != "map[records/host-a/100-f1.parquet:[4 5]]" {
		t.Fatalf("unverified rows %v", got)
	}
}

// unverified runs a Checker over a.in and returns its unverified rows.
func (a *testArchive) unverified(want *Report, t *testing.T) map[string][]int {
	t.Helper()
	c := NewChecker(a.in.Trusted)
	for _, f := range a.in.Files {
		c.AddFile(f)
	}
	for _, cf := range a.in.Checkpoints {
		c.AddCheckpointFile(cf)
	}
	for _, lf := range a.in.Latest {
		c.AddLatest(lf)
	}
	if rep := c.Report(); len(rep.Problems) != len(want.Problems) {
		t.Fatalf("Checker and Check differ: %v vs %v", rep.Problems, want.Problems)
	}
	return c.UnverifiedRows()
}

// TestEpochLinkCoversTail: a crash tail is covered by the next epoch's start
// record when the archived epoch matches one of its tree heads exactly.
func TestEpochLinkCoversTail(t *testing.T) {
	k := newKey(t, "k1")
	const e1, e2 = 100, 200
	for _, c := range []struct {
		name   string
		shape  func(a *testArchive) // the previous epoch as archived
		link   func(a *testArchive) auditlog.EpochLink
		want   string // problem kind, "" for none
		where  string
		linked bool
	}{
		{"batch in flight archived", func(a *testArchive) {}, func(a *testArchive) auditlog.EpochLink {
			return auditlog.EpochLink{Reason: "dirty_state", PreviousEpoch: e1, Acknowledged: a.head(8), Released: a.head(10)}
		}, "", "", true},
		{"batch in flight not archived", func(a *testArchive) { a.truncate(8) }, func(a *testArchive) auditlog.EpochLink {
			return auditlog.EpochLink{Reason: "downstream_error", PreviousEpoch: e1, Acknowledged: a.head(8), Released: a.head(10)}
		}, "", "", true},
		{"released head only", func(a *testArchive) {}, func(a *testArchive) auditlog.EpochLink {
			return auditlog.EpochLink{PreviousEpoch: e1, Released: a.head(10)}
		}, "", "", true},
		{"link without heads", func(a *testArchive) {}, func(a *testArchive) auditlog.EpochLink {
			return auditlog.EpochLink{Reason: "dirty_state", PreviousEpoch: e1}
		}, KindUncovered, "100-f1.parquet row 4", false},
		{"wrong root", func(a *testArchive) {}, func(a *testArchive) auditlog.EpochLink {
			h := a.head(10)
			h.Root[0] ^= 1
			return auditlog.EpochLink{PreviousEpoch: e1, Acknowledged: a.head(8), Released: h}
		}, KindEpochLink, "200-f0.parquet row 0", false},
		{"forged leaf appended to the tail", func(a *testArchive) {
			r := record.Record{SchemaVersion: 1, ID: "forged", Type: record.TypeOversight, UserID: "mallory"}
			r.SetLeaf("host-a", e1, 10)
			a.in.Files[1].Rows = append(a.in.Files[1].Rows, r)
		}, func(a *testArchive) auditlog.EpochLink {
			return auditlog.EpochLink{PreviousEpoch: e1, Acknowledged: a.head(8), Released: a.head(10)}
		}, KindEpochLink, "[8, 11)", false},
		{"acknowledged records lost", func(a *testArchive) { a.truncate(8) }, func(a *testArchive) auditlog.EpochLink {
			return auditlog.EpochLink{PreviousEpoch: e1, Acknowledged: a.head(9), Released: a.head(10)}
		}, KindMissingLeaves, "acknowledged records were lost", false},
		{"malformed link", func(a *testArchive) {}, func(a *testArchive) auditlog.EpochLink {
			return auditlog.EpochLink{PreviousEpoch: e1, Acknowledged: a.head(10), Released: a.head(8)}
		}, KindEpochLink, "acknowledged size 10 exceeds released size 8", false},
		{"previous epoch disagrees with previous checkpoint", func(a *testArchive) {}, func(a *testArchive) auditlog.EpochLink {
			return auditlog.EpochLink{PreviousEpoch: 50, Released: a.head(10)}
		}, KindEpochLink, "names previous epoch 50 but a previous checkpoint of the later epoch 100", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := build(t, k, "host-a", e1, 10, 4, "")
			link := c.link(a) // heads of the leaves the collector released
			a.crash(t, 8)
			c.shape(a)
			b := buildStart(t, k, "host-a", e2, 4, 2, linkStart(t, a.cps[len(a.cps)-1], link))
			rep := checkBoth(t, merge(a, b))
			if c.want == "" {
				if !rep.OK() {
					t.Fatalf("want verified; problems %v", rep.Problems)
				}
			} else if len(find(rep, c.want, c.where)) == 0 {
				t.Fatalf("want a %s problem mentioning %q; got %v", c.want, c.where, rep.Problems)
			}
			l := logOf(t, rep, e1)
			if c.linked != (l.LinkedBy == e2 && l.Uncovered == 0) {
				t.Fatalf("epoch %d covered by link: want %v; log %+v", e1, c.linked, l)
			}
		})
	}
}

// TestEpochLinkChain: an epoch cut before its first checkpoint is covered by
// the next epoch's link, and its own start record then covers the one before.
func TestEpochLinkChain(t *testing.T) {
	k := newKey(t, "k1")
	a := build(t, k, "host-a", 100, 10, 4, "")
	aLink := auditlog.EpochLink{Reason: "dirty_state", PreviousEpoch: 100, Acknowledged: a.head(8), Released: a.head(10)}
	a.crash(t, 8)
	b := buildStart(t, k, "host-a", 200, 3, 5, linkStart(t, a.cps[len(a.cps)-1], aLink))
	bLink := auditlog.EpochLink{Reason: "dirty_state", PreviousEpoch: 200, Acknowledged: b.head(0), Released: b.head(3)}
	b.unsigned() // b crashed before signing anything
	// b signed nothing, so the origin's last checkpoint, which c names, is still a's.
	c := buildStart(t, k, "host-a", 300, 4, 2, linkStart(t, a.cps[len(a.cps)-1], bLink))
	rep := checkBoth(t, merge(a, b, c))
	if !rep.OK() || logOf(t, rep, 100).LinkedBy != 200 || logOf(t, rep, 200).LinkedBy != 300 || rep.Covered != 17 {
		t.Fatalf("chain of links: problems %v logs %+v", rep.Problems, rep.Logs)
	}
	// A previous checkpoint of an epoch later than the one linked is not.
	badLink := bLink
	badLink.PreviousEpoch = 50
	c = buildStart(t, k, "host-a", 300, 4, 2, linkStart(t, a.cps[len(a.cps)-1], badLink))
	rep = checkBoth(t, merge(a, b, c))
	if got := find(rep, KindEpochLink, "names previous epoch 50 but a previous checkpoint of the later epoch 100"); len(got) != 1 {
		t.Fatalf("want the inconsistent link of epoch 300 reported; got %v", rep.Problems)
	}
	// Without the last epoch, b's start record is covered by nothing, so it
	// cannot cover a's tail.
	rep = checkBoth(t, merge(a, b))
	if rep.OK() || len(find(rep, KindUncovered, "host-a/100")) != 1 || len(find(rep, KindUncovered, "host-a/200")) != 2 {
		t.Fatalf("unsigned link: problems %v", rep.Problems)
	}
}

// TestCopiedInRecords: records with valid leaf hashes copied in from
// another collector, with no checkpoint a trusted key signed, fail.
func TestCopiedInRecords(t *testing.T) {
	k := newKey(t, "k1")
	a := build(t, k, "host-a", 100, 6, 3, "")
	other := build(t, newKey(t, "k1"), "host-b", 7, 4, 2, "")
	for _, f := range other.in.Files { // data files only: their checkpoints would not verify
		a.in.Files = append(a.in.Files, f)
	}
	rep := checkBoth(t, a.in)
	// The checkpoint rows of host-b fail their signature; the records are uncovered.
	if rep.OK() || len(find(rep, KindUncovered, "records/host-b/7-f0.parquet row 0")) != 1 ||
		len(find(rep, KindUncovered, "records/host-b/7-f1.parquet row 0")) != 1 {
		t.Fatalf("copied-in records: %v", rep.Problems)
	}
	if l := logOf(t, rep, 7); l.Covered != 0 || l.Uncovered != 4 {
		t.Fatalf("log of host-b: %+v", l)
	}
	// The same without checkpoint rows at all.
	other.unsigned()
	a = build(t, k, "host-a", 100, 6, 3, "")
	a.in.Files = append(a.in.Files, other.in.Files...)
	rep = checkBoth(t, a.in)
	if got := kinds(rep.Problems); len(got) != 2 || got[0] != KindUncovered || got[1] != KindUncovered {
		t.Fatalf("copied-in records without checkpoints: %v", rep.Problems)
	}
}

// TestArchiveReachesSignedSizes: a checkpoint, wherever found, naming a
// size the archive does not reach fails, naming the missing range.
func TestArchiveReachesSignedSizes(t *testing.T) {
	k := newKey(t, "k1")
	// Latest ahead of the data: the newest data file and the checkpoint
	// files of its sizes deleted, latest kept.
	a := build(t, k, "host-a", 100, 20, 3, "")
	a.in.Files = a.in.Files[:1]
	a.in.Checkpoints = a.in.Checkpoints[:3] // sizes 3, 6, 9
	rep := checkBoth(t, a.in)
	ps := find(rep, KindMissingLeaves, "latest checkpoints/host-a/latest")
	if len(ps) != 1 || *ps[0].LeafBegin != 10 || *ps[0].LeafEnd != 20 || ps[0].Origin != "host-a" || ps[0].Epoch != 100 {
		t.Fatalf("latest ahead of data: want missing [10, 20) naming latest; got %v", rep.Problems)
	}

	// A checkpoint file ahead of the data.
	a = build(t, k, "host-a", 100, 20, 3, "")
	a.in.Files[1].Rows = a.in.Files[1].Rows[:4] // leaves 10..12 and the checkpoint row of 12
	a.in.Latest[0].Text = a.cps[3]
	a.in.Checkpoints = a.in.Checkpoints[:5] // up to size 15
	rep = checkBoth(t, a.in)
	if ps := find(rep, KindMissingLeaves, "checkpoints/host-a/100/15"); len(ps) != 1 || *ps[0].LeafBegin != 13 || *ps[0].LeafEnd != 15 {
		t.Fatalf("checkpoint file ahead of data: %v", rep.Problems)
	}
	if len(find(rep, KindRollback, "latest")) != 1 {
		t.Fatalf("latest older than a checkpoint file: %v", rep.Problems)
	}

	// The whole newest epoch deleted, its latest kept.
	e1 := build(t, k, "host-a", 100, 6, 3, "")
	e2 := build(t, k, "host-a", 200, 4, 2, e1.cps[len(e1.cps)-1])
	in := merge(e1, e2)
	in.Files, in.Checkpoints = e1.in.Files, e1.in.Checkpoints
	rep = checkBoth(t, in)
	if ps := find(rep, KindMissingEpoch, "latest checkpoints/host-a/latest"); len(ps) != 1 || ps[0].Epoch != 200 || *ps[0].LeafEnd != 4 {
		t.Fatalf("newest epoch deleted: %v", rep.Problems)
	}
}

// TestHostileLeafIndexes: leaf indexes and sizes near 2^64 cost what any
// other does: no loop over an index range.
func TestHostileLeafIndexes(t *testing.T) {
	k := newKey(t, "k1")
	a := build(t, k, "host-a", 100, 6, 3, "")
	for i, idx := range []uint64{2e18, 1<<63 + 5, 1<<64 - 1} {
		r := record.Record{SchemaVersion: 1, ID: fmt.Sprintf("far%d", i), Type: record.TypeInference}
		r.SetLeaf("host-a", 100, idx)
		a.in.Files[1].Rows = append(a.in.Files[1].Rows, r)
	}
	huge, err := auditlog.Sign(k.signer, "host-a", 100, 1<<62, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	a.in.Checkpoints = append(a.in.Checkpoints, CheckpointFile{Path: "checkpoints/host-a/100/4611686018427387904", Text: huge,
		Origin: "host-a", Epoch: 100, Size: 1 << 62})
	done := make(chan *Report, 1)
	go func() { done <- checkBoth(t, a.in) }()
	var rep *Report
	select {
	case rep = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("verify hangs on a huge leaf index")
	}
	if got := kinds(rep.Problems); fmt.Sprint(got) != "[invalid_record missing_leaves missing_leaves uncovered rollback]" {
		t.Fatalf("problems %v", rep.Problems)
	}
	for _, c := range []struct{ kind, where string }{
		{KindInvalidRecord, "leaf index 18446744073709551615"},
		{KindMissingLeaves, "[6, 2000000000000000000)"},
		{KindMissingLeaves, "[2000000000000000001, 9223372036854775813)"},
		{KindUncovered, "[9223372036854775813, 9223372036854775814)"},
	} {
		if len(find(rep, c.kind, c.where)) != 1 {
			t.Errorf("want a %s problem mentioning %s; got %v", c.kind, c.where, rep.Problems)
		}
	}
	if l := rep.Logs[0]; l.Leaves != 8 || l.Covered != 6 || l.Uncovered != 2 {
		t.Fatalf("log %+v", l)
	}
}

// TestExternalCheckpoints: checkpoints kept outside the archive detect the
// rollback that the archive alone cannot: its tail deleted together with
// their checkpoints and latest rewritten to the newest remaining one.
func TestExternalCheckpoints(t *testing.T) {
	k := newKey(t, "k1")
	a := build(t, k, "host-a", 100, 20, 3, "")
	kept := ExternalCheckpoint{Path: "auditor/cp-18", Text: a.cps[5]} // size 18
	if rep := checkBoth(t, Input{Trusted: a.in.Trusted, Files: a.in.Files, Checkpoints: a.in.Checkpoints, Latest: a.in.Latest,
		External: []ExternalCheckpoint{kept}}); !rep.OK() || rep.External != 1 {
		t.Fatalf("intact archive against a kept checkpoint: %v", rep.Problems)
	}

	// Roll back: the second file, leaf 9 (the first file re-encoded without
	// it) and the checkpoints above 9 deleted, latest rewritten.
	a.in.Files = a.in.Files[:1]
	a.truncate(9)
	a.in.Checkpoints = a.in.Checkpoints[:3]
	a.in.Latest[0].Text = a.cps[2]
	if rep := checkBoth(t, a.in); !rep.OK() {
		t.Fatalf("the archive alone cannot see this rollback, yet: %v", rep.Problems)
	}
	a.in.External = []ExternalCheckpoint{kept}
	rep := checkBoth(t, a.in)
	if len(find(rep, KindRollback, "auditor/cp-18")) != 1 || len(find(rep, KindMissingLeaves, "[9, 18)")) != 1 {
		t.Fatalf("rollback against a kept checkpoint: %v", rep.Problems)
	}

	// A kept checkpoint of a tree the archive does not hold.
	forged, _ := auditlog.Sign(k.signer, "host-a", 100, 5, make([]byte, 32))
	a.in.External = []ExternalCheckpoint{{Path: "auditor/cp-5", Text: forged}}
	if rep := checkBoth(t, a.in); len(find(rep, KindCheckpointMismatch, "auditor/cp-5")) != 1 {
		t.Fatalf("kept checkpoint of another tree: %v", rep.Problems)
	}
	// A kept checkpoint of a withheld epoch.
	gone, _ := auditlog.Sign(k.signer, "host-a", 50, 5, make([]byte, 32))
	a.in.External = []ExternalCheckpoint{{Path: "auditor/cp-50", Text: gone}}
	if rep := checkBoth(t, a.in); kinds(rep.Problems)[0] != KindMissingEpoch || len(rep.Problems) != 1 {
		t.Fatalf("kept checkpoint of a withheld epoch: %v", rep.Problems)
	}
	// A kept checkpoint under an untrusted key.
	other := newKey(t, "k1")
	bad, _ := auditlog.Sign(other.signer, "host-a", 100, 9, make([]byte, 32))
	a.in.External = []ExternalCheckpoint{{Path: "auditor/bad", Text: bad}}
	if rep := checkBoth(t, a.in); len(find(rep, KindCheckpointSig, "auditor/bad")) != 1 || rep.External != 0 {
		t.Fatalf("untrusted kept checkpoint: %v", rep.Problems)
	}
}
