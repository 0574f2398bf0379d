package archive

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

const origin = "test-origin"

var t0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

// sealed returns n leaves of one epoch followed by a signed checkpoint
// covering them, as the auditsign processor emits them.
func sealed(t *testing.T, epoch uint64, first, n int) []record.Record {
	t.Helper()
	skey, _, err := note.GenerateKey(rand.Reader, "test")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	var recs []record.Record
	for i := first; i < first+n; i++ {
		r := record.Record{
			SchemaVersion: 1, ID: record.NewID(), Type: record.TypeInference,
			StartTime: t0.Add(time.Duration(i) * time.Second).UnixNano(),
			Provider:  "openai", RequestModel: "gpt-4o", ResponseModel: "gpt-4o-2024-08-06",
			UserID: fmt.Sprintf("u-%d", i%3), SessionID: fmt.Sprintf("s-%d", i),
			TraceID: fmt.Sprintf("%032x", i+1),
		}
		r.SetLeaf(origin, epoch, uint64(i))
		recs = append(recs, r)
	}
	text, err := auditlog.Sign(signer, origin, epoch, uint64(first+n), make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	recs = append(recs, record.Record{SchemaVersion: 1, ID: record.NewID(), Type: record.TypeCheckpoint,
		Origin: origin, Epoch: epoch, Checkpoint: text, ObservedTime: t0.Add(time.Hour).UnixNano()})
	return recs
}

// writeData writes rows as a data file opened at ft and returns its path.
func writeData(t *testing.T, root string, ft time.Time, rows []record.Record) string {
	t.Helper()
	rel := DataPath(origin, ft)
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[record.Record](&buf, record.WriterOptions()...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(filepath.Join(root, rel), buf.Bytes(), 0o444); err != nil {
		t.Fatal(err)
	}
	return rel
}

func TestReadFileRoundTrip(t *testing.T) {
	root := t.TempDir()
	rows := sealed(t, 7, 0, 5)
	rel := writeData(t, root, t0, rows)
	got, err := ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Fatalf("read back differs:\n got %+v\nwant %+v", got, rows)
	}
	for i := range got {
		if got[i].IsLeaf() {
			if err := got[i].CheckLeafHash(); err != nil {
				t.Errorf("row %d: %v", i, err)
			}
		}
	}
}

func TestReadFileCorrupt(t *testing.T) {
	root := t.TempDir()
	rel := writeData(t, root, t0, sealed(t, 7, 0, 50))
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":          nil,
		"truncated-half": data[:len(data)/2],
		"truncated-tail": data[:len(data)-1],
		"no-header":      data[4:],
		"garbage":        bytes.Repeat([]byte("PAR1"), 100),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f.parquet")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadFile(p)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), p) {
				t.Fatalf("ReadFile = %v, want an error wrapping ErrCorrupt naming %s", err, p)
			}
		})
	}
}

func TestIndex(t *testing.T) {
	root := t.TempDir()
	rows := append(sealed(t, 7, 0, 4), sealed(t, 9, 0, 2)...)
	rel := writeData(t, root, t0, rows)
	ix, err := BuildIndex(root, rel)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(root, rel))
	if ix.Size != int64(len(data)) || len(ix.SHA256) != 64 || ix.Rows != 8 || ix.Origin != origin || ix.File != rel {
		t.Errorf("header: %+v", ix)
	}
	// The nodes of [0, 4) and [0, 2): one perfect subtree each, the root
	// of the tree of those leaves.
	rootOf := func(rs []record.Record) string {
		tr := auditlog.NewTree()
		for _, r := range rs {
			tr.Append(r.LeafHash)
		}
		return hex.EncodeToString(tr.Root())
	}
	wantEpochs := []EpochRange{{Epoch: 7, LeafBegin: 0, LeafEnd: 4, Leaves: 4, Nodes: []string{rootOf(rows[:4])}},
		{Epoch: 9, LeafBegin: 0, LeafEnd: 2, Leaves: 2, Nodes: []string{rootOf(rows[5:7])}}}
	if !reflect.DeepEqual(ix.Epochs, wantEpochs) {
		t.Errorf("epochs = %+v, want %+v", ix.Epochs, wantEpochs)
	}
	if want := []CheckpointRef{{7, 4}, {9, 2}}; !reflect.DeepEqual(ix.Checkpoints, want) {
		t.Errorf("checkpoints = %+v, want %+v", ix.Checkpoints, want)
	}
	if want := map[record.Type]int64{record.TypeInference: 6, record.TypeCheckpoint: 2}; !reflect.DeepEqual(ix.Types, want) {
		t.Errorf("types = %v, want %v", ix.Types, want)
	}
	if ix.TimeMin != t0.UnixNano() || ix.TimeMax != t0.Add(time.Hour).UnixNano() {
		t.Errorf("time range [%d, %d]", ix.TimeMin, ix.TimeMax)
	}
	if want := []string{"gpt-4o", "gpt-4o-2024-08-06"}; !reflect.DeepEqual(ix.Models.Values, want) {
		t.Errorf("models = %v, want %v", ix.Models.Values, want)
	}
	if want := []string{"u-0", "u-1", "u-2"}; !reflect.DeepEqual(ix.Users.Values, want) || ix.Users.Count != 3 {
		t.Errorf("users = %+v, want %v", ix.Users, want)
	}

	if err := WriteIndex(root, ix); err != nil {
		t.Fatal(err)
	}
	back, err := ReadIndex(root, rel)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, ix) {
		t.Errorf("ReadIndex differs:\n got %+v\nwant %+v", back, ix)
	}
	if _, err := ReadIndex(root, DataPath(origin, t0.Add(time.Second))); err == nil {
		t.Error("ReadIndex of a file without index succeeded")
	}
}

// TestIndexNodes: the nodes of a file's leaves [5, 13), merged with the
// compact range of the leaves before them, give the root of the whole
// tree; leaves out of order give no nodes.
func TestIndexNodes(t *testing.T) {
	rows := sealed(t, 7, 0, 13)
	ix, err := NewIndex(DataPath(origin, t0), rows[5:13], 1, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := ix.Epochs[0]
	if e.LeafBegin != 5 || e.LeafEnd != 13 || len(e.Nodes) != compact.RangeSize(5, 13) {
		t.Fatalf("epoch range %+v", e)
	}
	rf := &compact.RangeFactory{Hash: auditlog.Hasher.HashChildren}
	left := rf.NewEmptyRange(0)
	tr := auditlog.NewTree()
	for i, r := range rows[:13] {
		if i < 5 {
			left.Append(r.LeafHash, nil)
		}
		tr.Append(r.LeafHash)
	}
	var hashes [][]byte
	for _, n := range e.Nodes {
		h, _ := hex.DecodeString(n)
		hashes = append(hashes, h)
	}
	right, err := rf.NewRange(5, 13, hashes)
	if err != nil {
		t.Fatal(err)
	}
	if err := left.AppendRange(right, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := left.GetRootHash(nil); !bytes.Equal(got, tr.Root()) {
		t.Fatalf("merged root %x, tree root %x", got, tr.Root())
	}
	swapped := append([]record.Record(nil), rows[:6]...)
	swapped[1], swapped[2] = swapped[2], swapped[1]
	if ix, _ := NewIndex(DataPath(origin, t0), swapped, 1, make([]byte, 32)); ix.Epochs[0].Nodes != nil {
		t.Errorf("leaves out of order: nodes %v", ix.Epochs[0].Nodes)
	}
}

// TestReadIndexVersion1: an index written by version 1 (hand-written Bloom
// filters on large sets) is read, its filters ignored.
func TestReadIndexVersion1(t *testing.T) {
	root := t.TempDir()
	rel := DataPath(origin, t0)
	v1 := `{"version":1,"file":"` + rel + `","size":1,"sha256":"00","origin":"` + origin + `","rows":2,"time_min":0,"time_max":0,
"epochs":[{"epoch":7,"leaf_begin":0,"leaf_end":2,"leaves":2}],"types":{"inference":2},
"providers":{"count":0},"models":{"count":0},"model_versions":{"count":0},"users":{"count":1001,"bloom":{"m":64,"k":3,"bits":"AAAAAAAAAAA="}},
"sessions":{"count":0},"conversations":{"count":0},"traces":{"count":0}}`
	p := filepath.Join(root, filepath.FromSlash(IndexPath(rel)))
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte(v1), 0o644)
	ix, err := ReadIndex(root, rel)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Users.Bloom != nil || ix.Users.Exact() || !ix.Matches(&Filter{UserID: "anyone"}) || ix.Epochs[0].Nodes != nil {
		t.Errorf("version 1 index read as %+v", ix)
	}
}

func TestReindex(t *testing.T) {
	root := t.TempDir()
	a := writeData(t, root, t0, sealed(t, 7, 0, 3))
	b := writeData(t, root, t0.Add(time.Minute), sealed(t, 7, 3, 3))
	// A stale index whose data file is gone, and a wrong index for a.
	stale := &Index{Version: IndexVersion, File: DataPath(origin, t0.Add(-time.Hour))}
	if err := WriteIndex(root, stale); err != nil {
		t.Fatal(err)
	}
	if err := WriteIndex(root, &Index{Version: IndexVersion, File: a, Rows: 99}); err != nil {
		t.Fatal(err)
	}
	n, err := Reindex(root)
	if err != nil || n != 2 {
		t.Fatalf("Reindex = %d, %v; want 2, nil", n, err)
	}
	for _, f := range []string{a, b} {
		got, err := ReadIndex(root, f)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := BuildIndex(root, f)
		if !reflect.DeepEqual(got, want) || got.Rows != 4 {
			t.Errorf("%s: index %+v, want %+v", f, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(root, IndexPath(stale.File))); !os.IsNotExist(err) {
		t.Errorf("stale index survived Reindex: %v", err)
	}

	// A corrupt data file is reported by name; the others are indexed.
	bad := DataPath(origin, t0.Add(2*time.Minute))
	if err := WriteFileAtomic(filepath.Join(root, bad), []byte("not parquet"), 0o444); err != nil {
		t.Fatal(err)
	}
	n, err = Reindex(root)
	if n != 2 || err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("Reindex with a corrupt file = %d, %v", n, err)
	}
}

// TestReindexRefusedWhileWriterRuns: reindex writes and deletes index files,
// so it is a writer: while the exporter holds the archive's lock it is
// refused, naming the holder, and touches nothing (a running exporter
// seals files and writes their indexes concurrently; a stale-index sweep
// could delete one it just wrote, which its manifest lists).
func TestReindexRefusedWhileWriterRuns(t *testing.T) {
	root := t.TempDir()
	a := writeData(t, root, t0, sealed(t, 7, 0, 3))
	fresh := &Index{Version: IndexVersion, File: DataPath(origin, t0.Add(time.Hour))} // its data file not listed yet
	if err := WriteIndex(root, fresh); err != nil {
		t.Fatal(err)
	}
	l, err := Lock(root)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Reindex(root)
	if n != 0 || !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid=") {
		t.Fatalf("Reindex while locked = %d, %v; want refused naming the holder", n, err)
	}
	for _, p := range []string{IndexPath(fresh.File)} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("Reindex refused yet touched %s: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, IndexPath(a))); !os.IsNotExist(err) {
		t.Errorf("Reindex refused yet wrote the index of %s: %v", a, err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if n, err := Reindex(root); n != 1 || err != nil {
		t.Fatalf("Reindex after the writer stopped = %d, %v", n, err)
	}
	// Reindex released its own lock: a writer can start.
	l, err = Lock(root)
	if err != nil {
		t.Fatalf("lock after reindex: %v", err)
	}
	l.Unlock()
}

func TestDataFilesOrder(t *testing.T) {
	root := t.TempDir()
	// Written out of order on purpose, across a date boundary.
	times := []time.Time{t0.Add(48 * time.Hour), t0, t0.Add(time.Nanosecond), t0.Add(24 * time.Hour)}
	var want []string
	for _, ft := range times {
		writeData(t, root, ft, sealed(t, 1, 0, 1))
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	for _, ft := range times {
		want = append(want, DataPath(origin, ft))
	}
	// Temporary and hidden files are not data files.
	tmp := filepath.Join(root, TempPath(DataPath(origin, t0.Add(time.Hour))))
	if err := os.WriteFile(tmp, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := DataFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DataFiles = %v, want %v", got, want)
	}
	if got, err := DataFiles(t.TempDir()); err != nil || len(got) != 0 {
		t.Fatalf("DataFiles of an empty root = %v, %v", got, err)
	}
}

func TestCheckpointFiles(t *testing.T) {
	root := t.TempDir()
	paths := []string{
		CheckpointPath("b", 1, 10), CheckpointPath("a", 20, 1), CheckpointPath("a", 3, 10),
		CheckpointPath("a", 3, 9), LatestPath("a"), "checkpoints/a/3/x",
	}
	for _, p := range paths {
		if err := WriteFileAtomic(filepath.Join(root, p), []byte("n"), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	got, err := CheckpointFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{CheckpointPath("a", 3, 9), CheckpointPath("a", 3, 10), CheckpointPath("a", 20, 1), CheckpointPath("b", 1, 10), "checkpoints/a/3/x"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("CheckpointFiles = %v, want %v", got, want)
	}
}

func TestParseRejects(t *testing.T) {
	for _, p := range []string{
		"records/origin=o/date=2026-01-01/x.parquet",
		"records/origin=o/date=2026-01-01/20260101T233000Z.parquet",
		"records/origin=o/20260101T233000.000000000Z.parquet",
		"records/origin=../date=2026-01-01/20260101T233000.000000000Z.parquet",
		"records/origin=o/date=2026-01-01/20260101T233000.000000000Z.json",
		"index/origin=o/date=2026-01-01/20260101T233000.000000000Z.parquet",
	} {
		if _, _, err := ParseDataPath(p); err == nil {
			t.Errorf("ParseDataPath(%q) succeeded", p)
		}
	}
	for _, p := range []string{"checkpoints/o/01/2", "checkpoints/o/1/+2", "checkpoints/o/1", "checkpoints/../1/2", "x/o/1/2"} {
		if _, _, _, err := ParseCheckpointPath(p); err == nil {
			t.Errorf("ParseCheckpointPath(%q) succeeded", p)
		}
	}
}

// TestLargeIDSet: a set over MaxExactIDs keeps its count only and never
// prunes (the data file's Parquet bloom filter answers instead); a version
// 1 index's hand-written Bloom filter is read and ignored.
func TestLargeIDSet(t *testing.T) {
	m := map[string]struct{}{}
	for i := 0; i < 5000; i++ {
		m[fmt.Sprintf("user-%d", i)] = struct{}{}
	}
	s := newIDSet(m)
	if s.Exact() || s.Values != nil || s.Count != 5000 || s.Bloom != nil {
		t.Fatalf("set of 5000 ids: %d values, count %d", len(s.Values), s.Count)
	}
	if !s.MayContain("user-1") || !s.MayContain("other") {
		t.Error("an inexact set pruned")
	}
}

func TestMatches(t *testing.T) {
	root := t.TempDir()
	rows := sealed(t, 7, 0, 6)
	rel := writeData(t, root, t0, rows)
	ix, err := BuildIndex(root, rel)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    Filter
		want bool
	}{
		{"empty", Filter{}, true},
		{"origin", Filter{Origin: origin}, true},
		{"other origin", Filter{Origin: "x"}, false},
		{"model request", Filter{Model: "gpt-4o"}, true},
		{"model response", Filter{Model: "gpt-4o-2024-08-06"}, true},
		{"other model", Filter{Model: "claude"}, false},
		{"provider", Filter{Provider: "anthropic"}, false},
		{"user", Filter{UserID: "u-2"}, true},
		{"other user", Filter{UserID: "u-3"}, false},
		{"session", Filter{SessionID: "s-5"}, true},
		{"trace", Filter{TraceID: fmt.Sprintf("%032x", 99)}, false},
		{"version", Filter{ModelVersion: "v1"}, false},
		{"types", Filter{Types: []record.Type{record.TypeEmbedding, record.TypeCheckpoint}}, true},
		{"other type", Filter{Types: []record.Type{record.TypeEmbedding}}, false},
		{"since inside", Filter{Since: t0.Add(time.Minute)}, true},
		{"since after", Filter{Since: t0.Add(2 * time.Hour)}, false},
		{"until at min", Filter{Until: t0}, false},
		{"until after min", Filter{Until: t0.Add(time.Nanosecond)}, true},
		{"window", Filter{Since: t0.Add(-time.Hour), Until: t0.Add(time.Second)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ix.Matches(&tt.f); got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
			// The index must never prune a file holding a matching row.
			for i := range rows {
				if tt.f.MatchRecord(&rows[i]) && !ix.Matches(&tt.f) {
					t.Errorf("row %d matches but the index prunes the file", i)
				}
			}
		})
	}
	if f := (Filter{Until: t0}); f.MatchRecord(&rows[0]) {
		t.Error("Until is exclusive")
	}
	if f := (Filter{Model: "gpt-4o-2024-08-06", UserID: "u-1"}); !f.MatchRecord(&rows[1]) || f.MatchRecord(&rows[0]) {
		t.Error("MatchRecord on model and user")
	}
}

func TestWriteFileAtomicReplaces(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a", "b", "latest")
	for _, s := range []string{"one", "two"} {
		if err := WriteFileAtomic(p, []byte(s), 0o444); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(p); string(b) != s {
			t.Fatalf("content %q, want %q", b, s)
		}
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Fatalf("directory holds %d entries, want 1 (no temp left)", len(ents))
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o444 {
		t.Fatalf("mode %v", fi.Mode())
	}
}
