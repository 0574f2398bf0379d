package archive

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/govaudit/govaudit/internal/record"
)

// A DataWriter fed in batches writes a file of several row groups that
// every reader of the package reads back whole and in order, with the
// digest of its bytes on disk and the index NewIndex builds from the rows.
func TestDataWriter(t *testing.T) {
	root := t.TempDir()
	rel := DataPath(origin, t0)
	var rows []record.Record
	for i := range 2*RowGroupRows + 123 {
		r := record.Record{SchemaVersion: 1, ID: fmt.Sprintf("rec-%d", i), Type: record.TypeInference,
			StartTime: t0.UnixNano() + int64(i), Provider: "p", UserID: fmt.Sprintf("u-%d", i%7), TraceID: fmt.Sprintf("%032x", i+1)}
		r.SetLeaf(origin, 3, uint64(i))
		rows = append(rows, r)
	}
	rows = append(rows, sealed(t, 3, len(rows), 0)...) // a checkpoint row
	d, err := CreateData(root, rel)
	if err != nil {
		t.Fatal(err)
	}
	for b := 0; b < len(rows); b += 977 {
		if err := d.Write(rows[b:min(b+977, len(rows))]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, rel)); err == nil {
		t.Fatal("the data file has its final name before Commit")
	}
	var steps []CommitStep
	dg, ix, err := d.Commit(func(s CommitStep) error { steps = append(steps, s); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(steps, []CommitStep{CommitSync, CommitChmod, CommitRename}) {
		t.Errorf("commit steps %v", steps)
	}
	data, err := ReadDataFile(root, rel)
	if err != nil {
		t.Fatal(err)
	}
	if dg != DigestOf(rel, data) {
		t.Errorf("digest %+v, file %+v", dg, DigestOf(rel, data))
	}
	if fi, _ := os.Stat(filepath.Join(root, rel)); fi.Mode().Perm() != 0o444 {
		t.Errorf("mode %v, want 0444", fi.Mode().Perm())
	}
	md, err := parquetFooter(data)
	if err != nil || len(md) != 3 {
		t.Fatalf("row groups %v (%v), want 3 of at most %d rows", md, err, RowGroupRows)
	}
	got, err := ReadRows(root, rel)
	if err != nil || len(got) != len(rows) {
		t.Fatalf("read %d rows, %v", len(got), err)
	}
	for i := range rows {
		if got[i].ID != rows[i].ID || !bytes.Equal(got[i].LeafHash, rows[i].LeafHash) {
			t.Fatalf("row %d: %s, want %s", i, got[i].ID, rows[i].ID)
		}
	}
	want, err := NewIndex(rel, got, dg.Size, dg.SHA256[:])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ix, want) {
		t.Errorf("streamed index differs from the index of the rows read back")
	}
	df, err := OpenDataBytes("f", data)
	if err != nil {
		t.Fatal(err)
	}
	if !df.MayContain("record_id", "rec-20050") || df.MayContain("record_id", "absent") {
		t.Error("bloom filters of a multi-row-group file")
	}
	if _, err := CreateData(root, rel); err == nil {
		t.Error("CreateData over a sealed file succeeded")
	}
}

// parquetFooter returns the row counts of a data file's row groups.
func parquetFooter(data []byte) ([]int64, error) {
	f, err := openRows("f", data)
	if err != nil {
		return nil, err
	}
	var n []int64
	for _, rg := range f.RowGroups() {
		n = append(n, rg.NumRows())
	}
	return n, nil
}

// A failed commit step leaves neither the final name nor the temporary
// file; a write after a failed write fails.
func TestAtomicFileFailure(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	for _, fail := range []CommitStep{CommitSync, CommitChmod, CommitRename} {
		a, err := createAtomic(p)
		if err != nil {
			t.Fatal(err)
		}
		a.Write([]byte("data"))
		boom := errors.New("boom")
		err = a.Commit(0o444, func(s CommitStep) error {
			if s == fail {
				return boom
			}
			return nil
		})
		if !errors.Is(err, boom) {
			t.Fatalf("step %d: %v", fail, err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("step %d failed, left %v", fail, ents)
		}
	}
	a, err := createAtomic(p)
	if err != nil {
		t.Fatal(err)
	}
	a.f.Close() // the next write fails
	if _, err := a.Write([]byte("x")); err == nil {
		t.Fatal("write to a closed file succeeded")
	}
	if _, err := a.Write([]byte("y")); err == nil {
		t.Fatal("write after a failed write succeeded")
	}
	a.f = nil
	if err := a.Commit(0o444, nil); err == nil {
		t.Fatal("commit after a failed write succeeded")
	}
}

func TestWALReader(t *testing.T) {
	var seg bytes.Buffer
	seg.WriteString(WALMagic)
	payloads := [][]byte{[]byte("first"), {}, bytes.Repeat([]byte("x"), 100_000)}
	for _, p := range payloads {
		e, err := WALEntry(p)
		if err != nil {
			t.Fatal(err)
		}
		seg.Write(e)
	}
	good := seg.Bytes()
	read := func(b []byte) ([][]byte, int64, error) {
		r := NewWALReader(bytes.NewReader(b), int64(len(b)))
		var out [][]byte
		for {
			p, err := r.Next()
			if err == io.EOF {
				return out, r.Torn(), nil
			}
			if err != nil {
				return out, 0, err
			}
			out = append(out, bytes.Clone(p))
		}
	}
	got, torn, err := read(good)
	if err != nil || torn != 0 || len(got) != 3 || !bytes.Equal(got[2], payloads[2]) {
		t.Fatalf("read %d entries, torn %d, %v", len(got), torn, err)
	}
	third := len(good) - 8 - len(payloads[2])
	for name, c := range map[string]struct {
		b       []byte
		entries int
		torn    int
	}{
		"torn header":      {good[:third+5], 2, 5},
		"torn payload":     {good[:len(good)-1], 2, 8 + len(payloads[2]) - 1},
		"bad crc":          {append(bytes.Clone(good[:len(good)-1]), 'y'), 2, 8 + len(payloads[2])},
		"huge length":      {append(bytes.Clone(good[:third]), 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0), 2, 8},
		"partial magic":    {[]byte(WALMagic[:5]), 0, 5},
		"empty":            {nil, 0, 0},
		"magic, no entry":  {[]byte(WALMagic), 0, 0},
		"garbage after ok": {append(bytes.Clone(good), 1, 2, 3), 3, 3},
	} {
		got, torn, err := read(c.b)
		if err != nil || len(got) != c.entries || torn != int64(c.torn) {
			t.Errorf("%s: %d entries, torn %d, %v; want %d, %d", name, len(got), torn, err, c.entries, c.torn)
		}
	}
	if _, _, err := read([]byte("not a wal segment at all")); !errors.Is(err, ErrNotWAL) {
		t.Errorf("not a segment: %v", err)
	}
}

func TestWALSegments(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{WALPath("b", t0), WALPath("a", t0.Add(1)), WALPath("a", t0), StatePath("a")} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(root, p), nil, 0o600)
	}
	os.Mkdir(filepath.Join(root, WALDir, "stray"), 0o755)
	segs, skipped, err := WALSegments(root)
	if err != nil || fmt.Sprint(skipped) != "[stray]" || len(segs) != 3 {
		t.Fatalf("segments %v, skipped %v, %v", segs, skipped, err)
	}
	if segs[0].Path != WALPath("a", t0) || segs[1].Origin != "a" || !segs[1].Time.Equal(t0.Add(1)) || segs[2].Origin != "b" {
		t.Errorf("segments %+v", segs)
	}
	os.WriteFile(filepath.Join(root, WALDir, "origin=a", "bad.wal"), nil, 0o600)
	if _, _, err := WALSegments(root); err == nil {
		t.Error("a misnamed segment was not reported")
	}
}

// The manifest a writer signs from the digests it computed while writing
// is byte for byte the one nextManifest signs from the files on disk, and
// the head it returns is the one ReadManifestHead reads back.
func TestSignNextManifest(t *testing.T) {
	root := t.TempDir()
	signer, _, _ := exampleKey()
	rows := sealed(t, 1, 0, 3)
	rel := writeData(t, root, t0, rows)
	data, _ := ReadDataFile(root, rel)
	ix, err := NewIndex(rel, rows, int64(len(data)), func() []byte { s := sha256.Sum256(data); return s[:] }())
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteIndex(root, ix); err != nil {
		t.Fatal(err)
	}
	ixb, _ := ix.Marshal()
	cp := CheckpointPath(origin, 1, 3)
	if err := WriteFileAtomic(filepath.Join(root, cp), []byte(rows[3].Checkpoint), 0o444); err != nil {
		t.Fatal(err)
	}
	for seq := range 2 {
		head, err := ReadManifestHead(root, origin)
		if err != nil {
			t.Fatal(err)
		}
		paths := []string{rel, IndexPath(rel), cp}
		wantRel, want, err := nextManifest(root, signer, origin, head, paths)
		if err != nil {
			t.Fatal(err)
		}
		digests := []Digest{DigestOf(cp, []byte(rows[3].Checkpoint)), DigestOf(rel, data), DigestOf(IndexPath(rel), ixb)}
		gotRel, got, next, err := SignNextManifest(signer, origin, head, digests)
		if err != nil || gotRel != wantRel || !bytes.Equal(got, want) {
			t.Fatalf("seq %d: %s\n%s\nwant %s\n%s (%v)", seq, gotRel, got, wantRel, want, err)
		}
		if err := WriteFileAtomic(filepath.Join(root, gotRel), got, 0o444); err != nil {
			t.Fatal(err)
		}
		read, err := ReadManifestHead(root, origin)
		if err != nil || !reflect.DeepEqual(read, next) {
			t.Fatalf("seq %d: head %+v, read back %+v (%v)", seq, next, read, err)
		}
	}
}
