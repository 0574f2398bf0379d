package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

// epochSpec is one epoch written by writeEpoch.
type epochSpec struct {
	origin string
	epoch  uint64
	n      int // leaves
	batch  int // a checkpoint after every batch leaves and after the last
	// signed bounds the sizes signed: a crash after leaf signed-1 leaves the
	// rest unsigned. 0 signs everything; -1 nothing.
	signed int
	start  func(r *record.Record) // completes leaf 0, the epoch start record
	opened time.Time              // names the epoch's one data file
}

// writeEpoch writes one epoch as auditsign and auditparquet lay it out: one
// data file with a checkpoint row after every batch, checkpoint files and
// the origin's latest. It returns the leaf hashes.
func writeEpoch(t *testing.T, root string, signer note.Signer, e epochSpec) [][]byte {
	t.Helper()
	tree := auditlog.NewTree()
	var rows []record.Record
	var hashes [][]byte
	for i := 0; i < e.n; i++ {
		r := record.Record{SchemaVersion: 1, ID: fmt.Sprintf("%s-%d-%d", e.origin, e.epoch, i), Type: record.TypeOversight,
			EventName: "review", UserID: "reviewer-" + e.origin, StartTime: e.opened.UnixNano() + int64(i)}
		if i == 0 {
			r.Type, r.EventName, r.UserID = record.TypeLifecycle, "govaudit.epoch.start", ""
			if e.start != nil {
				e.start(&r)
			}
		}
		r.SetLeaf(e.origin, e.epoch, uint64(i))
		tree.Append(r.LeafHash)
		rows = append(rows, r)
		hashes = append(hashes, r.LeafHash)
		size := tree.Size()
		if (size%uint64(e.batch) != 0 && i != e.n-1) || e.signed < 0 || (e.signed > 0 && size > uint64(e.signed)) {
			continue
		}
		text, err := auditlog.Sign(signer, e.origin, e.epoch, size, tree.Root())
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, record.Record{SchemaVersion: 1, ID: fmt.Sprintf("cp-%d-%d", e.epoch, size),
			Type: record.TypeCheckpoint, Origin: e.origin, Epoch: e.epoch, Checkpoint: text})
		writeFile(t, root, archive.CheckpointPath(e.origin, e.epoch, size), []byte(text))
		writeFile(t, root, archive.LatestPath(e.origin), []byte(text))
	}
	writeRows(t, root, archive.DataPath(e.origin, e.opened), rows)
	if err := archive.SignUnlisted(root, signer); err != nil { // the exporter's signed manifest of the seal
		t.Fatal(err)
	}
	return hashes
}

func writeFile(t *testing.T, root, rel string, data []byte) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Remove(p)
	if err := os.WriteFile(p, data, 0o444); err != nil {
		t.Fatal(err)
	}
}

func writeRows(t *testing.T, root, rel string, rows []record.Record) {
	t.Helper()
	var buf bytes.Buffer
	if err := archive.WriteRows(&buf, rows); err != nil {
		t.Fatal(err)
	}
	writeFile(t, root, rel, buf.Bytes())
}

// link returns an epoch start that links the previous epoch with tree heads.
func link(t *testing.T, prevCheckpoint string, l auditlog.EpochLink) func(*record.Record) {
	return func(r *record.Record) {
		js, err := record.CanonicalJSON(l.Attributes())
		if err != nil {
			t.Fatal(err)
		}
		r.PreviousCheckpoint, r.Attributes = prevCheckpoint, js
	}
}

func readText(t *testing.T, root, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func head(hashes [][]byte, size uint64) *auditlog.TreeHead {
	return &auditlog.TreeHead{Size: size, Root: auditlog.RootOf(hashes, size)}
}

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func TestVerifyCopiedInRecords(t *testing.T) {
	dir := t.TempDir()
	key, pub := keys(t, dir, "k1")
	otherKey, _ := keys(t, dir, "k2")
	root := filepath.Join(dir, "audit")
	writeArchive(t, root, key, 12, 5)
	other, err := auditlog.LoadSigner(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	// Records of another collector, copied in with their data file only.
	writeEpoch(t, root, other, epochSpec{origin: "host-b", epoch: 5, n: 3, batch: 3, signed: -1, opened: t0})

	code, out, _ := runCmd(t, "verify", "--key", pub, root)
	if code != exitFailed || !strings.Contains(out, "uncovered: leaves [0, 3) of host-b/5") ||
		!strings.Contains(out, "origin=host-b") || !strings.Contains(out, "3 of 15 records not covered") {
		t.Fatalf("copied-in records: exit %d\n%s", code, out)
	}
	if code, _, _ := runCmd(t, "verify", "--strict", "--key", pub, root); code != exitFailed {
		t.Errorf("--strict: exit %d", code)
	}

	// The report counts them, marks every figure they are part of and does
	// not say verified.
	code, out, _ = runCmd(t, "report", "--key", pub, root)
	for _, want := range []string{"**FAILED", "3 of the archive's 15 records are covered by no checkpoint",
		"15 records (3 unverified)", "(1 seen only in unverified records)", "| oversight | 2 (2 unverified) |",
		"| lifecycle | 1 (1 unverified) |", "| workflow | 6 |", "host-b-5-1 **(unverified)**", "| host-b/5 | 3 | 0 | 3 | 0 |"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if code != exitFailed || strings.Contains(out, "**Verified") {
		t.Fatalf("report of copied-in records: exit %d\n%s", code, out)
	}
	code, out, _ = runCmd(t, "report", "--key", pub, "--format", "json", root)
	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitFailed {
		t.Fatalf("report json: %d %v", code, err)
	}
	if rep.Integrity.Verified || rep.Integrity.Uncovered != 3 || rep.Unverified.Records != 3 || rep.Unverified.ByType["oversight"] != 2 ||
		len(rep.Oversight) != 2 || rep.Oversight[0].Verified || rep.Unverified.Users != 1 {
		t.Errorf("report json: %+v", rep)
	}
}

// crashedEpochs writes epoch 1000 of host-a cut by a crash after size 8
// (leaves 8 and 9 archived, not signed) and epoch 2000 whose start record
// carries start(hashes of epoch 1000, its last checkpoint).
func crashedEpochs(t *testing.T, root, keyFile string, start func(prev [][]byte, prevCP string) func(*record.Record)) {
	t.Helper()
	signer, err := auditlog.LoadSigner(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	prev := writeEpoch(t, root, signer, epochSpec{origin: "host-a", epoch: 1000, n: 10, batch: 4, signed: 8, opened: t0})
	prevCP := readText(t, root, archive.CheckpointPath("host-a", 1000, 8))
	writeEpoch(t, root, signer, epochSpec{origin: "host-a", epoch: 2000, n: 4, batch: 2, opened: t0.Add(time.Hour),
		start: start(prev, prevCP)})
}

func TestVerifyCrashTail(t *testing.T) {
	dir := t.TempDir()
	key, pub := keys(t, dir, "k1")
	for _, c := range []struct {
		name  string
		start func(prev [][]byte, prevCP string) func(*record.Record)
		code  int
		want  string
	}{
		{"covered by the next epoch's link", func(prev [][]byte, prevCP string) func(*record.Record) {
			return link(t, prevCP, auditlog.EpochLink{Reason: "dirty_state", PreviousEpoch: 1000, Acknowledged: head(prev, 8), Released: head(prev, 10)})
		}, exitOK, "host-a/1000: 10 leaves, verified up to size 8 by 2 checkpoints (keys k1), covered by the link of epoch 2000"},
		{"link with a wrong root", func(prev [][]byte, prevCP string) func(*record.Record) {
			h := head(prev, 10)
			h.Root[31] ^= 1
			return link(t, prevCP, auditlog.EpochLink{Reason: "dirty_state", PreviousEpoch: 1000, Acknowledged: head(prev, 8), Released: h})
		}, exitFailed, "epoch_link: the 10 archived leaves of host-a/1000 match neither tree head"},
		{"no link", func(prev [][]byte, prevCP string) func(*record.Record) {
			return func(r *record.Record) { r.PreviousCheckpoint = prevCP }
		}, exitFailed, "uncovered: leaves [8, 10) of host-a/1000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "audit")
			crashedEpochs(t, root, key, c.start)
			code, out, stderr := runCmd(t, "verify", "--key", pub, root)
			if code != c.code || !strings.Contains(out, c.want) {
				t.Fatalf("exit %d, want %d and %q:\n%s%s", code, c.code, c.want, out, stderr)
			}
		})
	}
}

func TestVerifyLatestAheadOfData(t *testing.T) {
	dir := t.TempDir()
	key, pub := keys(t, dir, "k1")
	root := filepath.Join(dir, "audit")
	writeArchive(t, root, key, 12, 5) // file 0: leaves 0..6, checkpoint 5; file 1: leaves 7..11, checkpoints 10, 12
	files, err := archive.DataFiles(root)
	if err != nil || len(files) != 2 {
		t.Fatal(files, err)
	}
	for _, p := range []string{files[1], archive.CheckpointPath("host-a", 1000, 10), archive.CheckpointPath("host-a", 1000, 12)} {
		if err := os.Remove(filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"verify", "--key", pub, root}, {"verify", "--strict", "--key", pub, root}} {
		code, out, _ := runCmd(t, args...)
		if code != exitFailed || !strings.Contains(out, "missing_leaves: checkpoint host-a/1000 at size 12 (latest checkpoints/host-a/latest) names leaves [7, 12)") {
			t.Fatalf("%v: exit %d\n%s", args, code, out)
		}
	}
}

func TestVerifyNewestEpochDeleted(t *testing.T) {
	dir := t.TempDir()
	key, pub := keys(t, dir, "k1")
	root := filepath.Join(dir, "audit")
	crashedEpochs(t, root, key, func(prev [][]byte, prevCP string) func(*record.Record) {
		return link(t, prevCP, auditlog.EpochLink{Reason: "dirty_state", PreviousEpoch: 1000, Acknowledged: head(prev, 8), Released: head(prev, 10)})
	})
	if code, out, _ := runCmd(t, "verify", "--key", pub, root); code != exitOK {
		t.Fatalf("before: exit %d\n%s", code, out)
	}
	// The whole newest epoch withheld: its data file and checkpoint files,
	// latest kept.
	if err := os.Remove(filepath.Join(root, archive.DataPath("host-a", t0.Add(time.Hour)))); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, "checkpoints", "host-a", "2000")); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCmd(t, "verify", "--key", pub, root)
	if code != exitFailed || !strings.Contains(out, "missing_epoch: checkpoint host-a/2000 at size 4 (latest checkpoints/host-a/latest)") ||
		!strings.Contains(out, "uncovered: leaves [8, 10) of host-a/1000") {
		t.Fatalf("newest epoch deleted: exit %d\n%s", code, out)
	}
}

// TestVerifyExternalCheckpoints: the rollback the archive alone cannot show
// when its author holds the signing key
// — the tail deleted with its checkpoints, the newest remaining file
// re-encoded without its unsigned leaves, latest rewritten — fails against
// a checkpoint the auditor kept.
func TestVerifyExternalCheckpoints(t *testing.T) {
	dir := t.TempDir()
	key, pub := keys(t, dir, "k1")
	root := filepath.Join(dir, "audit")
	writeArchive(t, root, key, 12, 5)
	kept := filepath.Join(dir, "auditor")
	writeFile(t, kept, "host-a-12", []byte(readText(t, root, archive.LatestPath("host-a"))))
	writeFile(t, kept, "old/host-a-5", []byte(readText(t, root, archive.CheckpointPath("host-a", 1000, 5))))
	if code, out, _ := runCmd(t, "verify", "--key", pub, "--checkpoints", kept, root); code != exitOK || !strings.Contains(out, "2 external checkpoints") {
		t.Fatalf("intact archive with kept checkpoints: exit %d\n%s", code, out)
	}

	files, _ := archive.DataFiles(root)
	os.Remove(filepath.Join(root, files[1]))
	os.Remove(filepath.Join(root, archive.CheckpointPath("host-a", 1000, 10)))
	os.Remove(filepath.Join(root, archive.CheckpointPath("host-a", 1000, 12)))
	data, err := os.ReadFile(filepath.Join(root, files[0]))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := archive.DecodeFile(files[0], data)
	if err != nil {
		t.Fatal(err)
	}
	writeRows(t, root, files[0], rows[:6]) // leaves 0..4 and checkpoint 5
	writeFile(t, root, archive.LatestPath("host-a"), []byte(readText(t, root, archive.CheckpointPath("host-a", 1000, 5))))

	// Without the key, the signed manifests show it: the re-encoded file
	// has other bytes, the deleted ones are listed.
	if code, out, _ := runCmd(t, "verify", "--key", pub, root); code != exitFailed ||
		!strings.Contains(out, "modified_file: file has sha256") || !strings.Contains(out, "missing_file") || !strings.Contains(out, files[0]) {
		t.Fatalf("rollback without the key: exit %d\n%s", code, out)
	}
	// Whoever holds the signing key can sign new manifests too.
	signer, err := auditlog.LoadSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(root, archive.ManifestsDir))
	os.RemoveAll(filepath.Join(root, archive.IndexPath(files[1])))
	if err := archive.SignUnlisted(root, signer); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCmd(t, "verify", "--key", pub, root); code != exitOK {
		t.Fatalf("the archive alone cannot show this rollback (see docs/verification.md); exit %d\n%s", code, out)
	}
	code, out, _ := runCmd(t, "verify", "--key", pub, "--checkpoints", kept, root)
	if code != exitFailed || !strings.Contains(out, "rollback: checkpoint host-a/1000 at size 12 kept at "+filepath.Join(kept, "host-a-12")) ||
		!strings.Contains(out, "missing_leaves: checkpoint host-a/1000 at size 12 kept at") {
		t.Fatalf("rollback against kept checkpoints: exit %d\n%s", code, out)
	}
	if code, _, _ := runCmd(t, "verify", "--key", pub, "--checkpoints", filepath.Join(kept, "host-a-12"), root); code != exitFailed {
		t.Errorf("--checkpoints FILE: exit %d", code)
	}

	// Bad --checkpoints arguments are usage errors, and a FIFO is never opened.
	if err := syscall.Mkfifo(filepath.Join(kept, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	for _, c := range []struct{ arg, want string }{
		{kept, "fifo: not a regular file"},
		{filepath.Join(kept, "fifo"), "fifo: not a regular file"},
		{empty, "no checkpoint file"},
		{filepath.Join(dir, "nowhere"), "no such file"},
	} {
		done := make(chan struct{})
		var code int
		var stderr string
		go func() { code, _, stderr = runCmd(t, "verify", "--key", pub, "--checkpoints", c.arg, root); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("--checkpoints %s hangs", c.arg)
		}
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("--checkpoints %s: exit %d %s", c.arg, code, stderr)
		}
	}
}

func TestVerifyHugeLeafIndex(t *testing.T) {
	dir := t.TempDir()
	key, pub := keys(t, dir, "k1")
	root := filepath.Join(dir, "audit")
	writeArchive(t, root, key, 12, 5)
	r := record.Record{SchemaVersion: 1, ID: "far", Type: record.TypeOversight, UserID: "mallory"}
	r.SetLeaf("host-a", 1000, 2e18)
	writeRows(t, root, archive.DataPath("host-a", t0.Add(time.Hour)), []record.Record{r})
	done := make(chan struct{})
	var code int
	var out string
	go func() { code, out, _ = runCmd(t, "verify", "--key", pub, root); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("verify hangs on leaf_index 2e18")
	}
	if code != exitFailed || !strings.Contains(out, "missing_leaves: leaves [12, 2000000000000000000)") ||
		!strings.Contains(out, "uncovered: leaves [2000000000000000000, 2000000000000000001)") {
		t.Fatalf("leaf_index 2e18: exit %d\n%s", code, out)
	}
}

func TestNoArchive(t *testing.T) {
	dir := t.TempDir()
	_, pub := keys(t, dir, "k1")
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	for _, p := range []string{empty, filepath.Join(dir, "missing"), pub} {
		for _, verb := range []string{"verify", "report"} {
			code, _, stderr := runCmd(t, verb, "--key", pub, p)
			if code != exitUsage || !strings.Contains(stderr, "no archive at "+p) {
				t.Errorf("%s %s: exit %d %s", verb, p, code, stderr)
			}
		}
	}
}
