package verify

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/record"
)

// checkBoth returns Check(in), after checking that the column path gives
// the same report: each file of in written as a Parquet data file and read
// by ReadLeaves (or, when ReadLeaves sends it there, by the record path).
// Every checker test goes through it, so every kind of tampering they
// build is also checked column by column.
func checkBoth(t testing.TB, in Input) *Report {
	t.Helper()
	want := Check(in)
	c := NewChecker(in.Trusted)
	for _, f := range in.Files {
		if f.Err != nil {
			c.AddFile(f)
			continue
		}
		var buf bytes.Buffer
		if err := archive.WriteRows(&buf, f.Rows); err != nil {
			t.Errorf("%s: %v", f.Path, err)
			return want
		}
		lf, err := ReadLeaves(f.Path, buf.Bytes(), f.Digest, Scope{}, nil)
		if err != nil {
			if !IsRecordPath(err) {
				t.Errorf("%s: ReadLeaves: %v does not ask for the record path", f.Path, err)
			}
			rows, derr := archive.DecodeFile(f.Path, buf.Bytes())
			c.AddFile(File{Path: f.Path, Rows: rows, Err: derr, Digest: f.Digest})
			continue
		}
		c.AddLeafFile(lf)
	}
	for _, cf := range in.Checkpoints {
		c.AddCheckpointFile(cf)
	}
	for _, lf := range in.Latest {
		c.AddLatest(lf)
	}
	for _, e := range in.External {
		c.AddExternal(e)
	}
	for _, f := range in.Covered {
		c.AddCoveredFile(f)
	}
	for _, m := range in.Manifests {
		c.AddManifest(m)
	}
	got := c.Report()
	wj, _ := json.MarshalIndent(want, "", " ")
	gj, _ := json.MarshalIndent(got, "", " ")
	if !bytes.Equal(wj, gj) {
		t.Errorf("the column path reports otherwise than the record path:\ncolumns: %s\nrecords: %s", gj, wj)
	}
	return want
}

// randomRecords returns n leaves of one log with every field set at
// random, some left zero: ASCII and other UTF-8 text, empty strings in
// lists, zero, negative and missing optional values; leaf 0 an epoch
// start. Their leaf hashes are the record package's.
func randomRecords(seed uint64, n int) []record.Record {
	rnd := rand.New(rand.NewPCG(seed, 1))
	texts := []string{"", "a", "gpt-4o", "héllo wörld", "日本語", strings.Repeat("long content ", 40), "\x00\x01", "emoji 🙂"}
	text := func() string {
		if rnd.IntN(3) == 0 {
			return ""
		}
		return texts[rnd.IntN(len(texts))] + strconv.Itoa(rnd.IntN(1000))
	}
	hexs := func(k int) string {
		if rnd.IntN(4) == 0 {
			return ""
		}
		b := make([]byte, k)
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		return hex.EncodeToString(b)
	}
	recs := make([]record.Record, n)
	for i := range recs {
		r := &recs[i]
		rv := reflect.ValueOf(r).Elem()
		for j := range rv.NumField() {
			f := rv.Field(j)
			switch f.Interface().(type) {
			case string, record.Type:
				f.SetString(text())
			case int64:
				f.SetInt([]int64{0, 1, -1, math.MaxInt64, rnd.Int64()}[rnd.IntN(5)])
			case *int64:
				if rnd.IntN(2) == 0 {
					x := []int64{0, -5, 1 << 40}[rnd.IntN(3)]
					f.Set(reflect.ValueOf(&x))
				}
			case *float64:
				if rnd.IntN(2) == 0 {
					x := []float64{0, math.Copysign(0, -1), 0.25, math.Inf(-1), 1e300}[rnd.IntN(5)]
					f.Set(reflect.ValueOf(&x))
				}
			case []string:
				var l []string
				for range rnd.IntN(4) {
					l = append(l, text())
				}
				f.Set(reflect.ValueOf(l))
			}
		}
		r.SchemaVersion = record.SchemaVersion
		r.ID = fmt.Sprintf("rec-%d-%d", seed, i)
		r.Type = record.Types()[rnd.IntN(len(record.Types())-1)] // not a checkpoint
		r.TraceID, r.SpanID, r.ParentSpanID = hexs(16), hexs(8), hexs(8)
		r.Checkpoint = ""
		if i == 0 {
			r.Type, r.EventName = record.TypeLifecycle, EventEpochStart
		}
		r.SetLeaf("host-r", 1700000000000000000+seed, uint64(i))
	}
	return recs
}

// withCheckpoints interleaves checkpoint rows (notes not signed by a real
// key: ReadLeaves only carries them) every k leaves.
func withCheckpoints(recs []record.Record, k int) []record.Record {
	var out []record.Record
	for i, r := range recs {
		out = append(out, r)
		if (i+1)%k == 0 {
			out = append(out, record.Record{SchemaVersion: 1, ID: "cp-" + strconv.Itoa(i), Type: record.TypeCheckpoint,
				Origin: r.Origin, Epoch: r.Epoch, Checkpoint: fmt.Sprintf("host-r/%d\n%d\nroot\n\n— k sig\n", r.Epoch, i+1)})
		}
	}
	return out
}

func writeRows(t testing.TB, rows []record.Record, opts ...parquet.WriterOption) []byte {
	t.Helper()
	if opts == nil {
		opts = record.WriterOptions()
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[record.Record](&buf, opts...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestReadLeaves: honest files pass column by column, whatever the writer
// options, each leaf's hash recomputed equal to the record package's, leaf
// 0 read whole, checkpoint rows carried, rows in order.
func TestReadLeaves(t *testing.T) {
	for seed := range uint64(3) {
		rows := withCheckpoints(randomRecords(seed, 400), 97)
		for name, data := range map[string][]byte{
			"writer":      writeRows(t, rows),
			"small-pages": writeRows(t, rows, parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}), parquet.PageBufferSize(3<<10)),
			"row-groups":  writeRows(t, rows, append(record.WriterOptions(), parquet.MaxRowsPerRowGroup(100))...),
		} {
			lf, err := ReadLeaves(name, data, nil, Scope{}, nil)
			if err != nil {
				t.Fatalf("seed %d %s: %v", seed, name, err)
			}
			var leaves, cps int
			for i, r := range rows {
				if r.Type == record.TypeCheckpoint {
					if c := lf.Checkpoints[cps]; c.Row != int32(i) || c.Note != r.Checkpoint {
						t.Fatalf("%s checkpoint %d: %+v", name, cps, c)
					}
					cps++
					continue
				}
				l := lf.Leaves[leaves]
				leaves++
				if l.Row != int32(i) || l.Index != r.LeafIndex || l.Epoch != r.Epoch || lf.Origins[l.Origin] != r.Origin ||
					!bytes.Equal(l.Hash[:], r.LeafHash) || !l.Rehashed {
					t.Fatalf("%s row %d: %+v", name, i, l)
				}
			}
			if leaves != len(lf.Leaves) || cps != len(lf.Checkpoints) {
				t.Fatalf("%s: %d leaves and %d checkpoints, want %d and %d", name, len(lf.Leaves), len(lf.Checkpoints), leaves, cps)
			}
			first := rows[0]
			first.Normalize()
			if got := lf.Firsts[0]; got == nil || !reflect.DeepEqual(*got, first) {
				t.Fatalf("%s: leaf 0 read as %+v, want %+v", name, got, first)
			}
		}
	}
}

// TestReadLeavesRecordPath: a row that does not verify, or that verify must
// name, sends the file to the record path.
func TestReadLeavesRecordPath(t *testing.T) {
	for name, edit := range map[string]func(r *record.Record){
		"modified":        func(r *record.Record) { r.Provider += "x" },
		"invalid utf-8":   func(r *record.Record) { r.UserID = "bad \xff"; r.LeafHash = r.ComputeLeafHash() },
		"schema version":  func(r *record.Record) { r.SchemaVersion = 2; r.LeafHash = r.ComputeLeafHash() },
		"no id":           func(r *record.Record) { r.ID = ""; r.LeafHash = r.ComputeLeafHash() },
		"unknown type":    func(r *record.Record) { r.Type = "decision"; r.LeafHash = r.ComputeLeafHash() },
		"trace id":        func(r *record.Record) { r.TraceID = "ABCD"; r.LeafHash = r.ComputeLeafHash() },
		"span id":         func(r *record.Record) { r.SpanID = strings.Repeat("g", 16); r.LeafHash = r.ComputeLeafHash() },
		"short leaf hash": func(r *record.Record) { r.LeafHash = r.LeafHash[:31] },
		"no leaf hash":    func(r *record.Record) { r.LeafHash = nil },
		"last leaf index": func(r *record.Record) { r.LeafIndex = math.MaxUint64; r.LeafHash = r.ComputeLeafHash() },
		"leaf 0 modified": nil,
	} {
		t.Run(name, func(t *testing.T) {
			rows := randomRecords(9, 50)
			if edit == nil {
				rows[0].Attributes += " "
			} else {
				edit(&rows[17])
			}
			_, err := ReadLeaves("f", writeRows(t, rows), nil, Scope{}, nil)
			if !IsRecordPath(err) {
				t.Fatalf("ReadLeaves = %v, want the record path", err)
			}
		})
	}
	// Outside a scope's period only the stored hash is taken, as the
	// record path does: a modified row passes here, as there.
	rows := randomRecords(9, 50)
	for i := range rows {
		rows[i].StartTime = int64(i + 1)
		rows[i].LeafHash = rows[i].ComputeLeafHash()
	}
	rows[17].Provider += "x"
	lf, err := ReadLeaves("f", writeRows(t, rows), nil, Scope{Since: time.Unix(0, 30)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lf.Leaves[17].Rehashed || !lf.Leaves[0].Rehashed || !lf.Leaves[40].Rehashed {
		t.Fatalf("rehashed: leaf 17 %v, leaf 0 %v, leaf 40 %v", lf.Leaves[17].Rehashed, lf.Leaves[0].Rehashed, lf.Leaves[40].Rehashed)
	}
}

// FuzzReadLeaves: whatever the column path accepts, the record path
// (parquet-go's row reader) reads the same way: the same rows, each valid
// and hashing to the leaf hash the column path kept. A file read one way
// by verify and another by query or report would be a split view.
func FuzzReadLeaves(f *testing.F) {
	rows := withCheckpoints(randomRecords(3, 12), 5)
	data := writeRows(f, rows)
	f.Add(data)
	f.Add(writeRows(f, rows[:3]))
	f.Add(writeRows(f, rows, parquet.Compression(&zstd.Codec{}), parquet.PageBufferSize(512)))
	f.Fuzz(func(t *testing.T, b []byte) {
		lf, err := ReadLeaves("f", b, nil, Scope{}, nil)
		if err != nil {
			if !IsRecordPath(err) {
				t.Fatalf("error %v does not ask for the record path", err)
			}
			return
		}
		recs, err := archive.DecodeFile("f", b)
		if err != nil {
			t.Fatalf("the column path accepted a file the record path refuses: %v", err)
		}
		leaves, cps := lf.Leaves, lf.Checkpoints
		for i := range recs {
			r := &recs[i]
			if r.Type == record.TypeCheckpoint {
				if len(cps) == 0 || cps[0].Row != int32(i) || cps[0].Note != r.Checkpoint {
					t.Fatalf("row %d: checkpoint read otherwise", i)
				}
				cps = cps[1:]
				continue
			}
			if len(leaves) == 0 {
				t.Fatalf("row %d: no leaf", i)
			}
			l := leaves[0]
			leaves = leaves[1:]
			if l.Row != int32(i) || l.Index != r.LeafIndex || l.Epoch != r.Epoch || lf.Origins[l.Origin] != r.Origin ||
				!bytes.Equal(l.Hash[:], r.LeafHash) || !bytes.Equal(r.ComputeLeafHash(), r.LeafHash) || r.Validate() != nil {
				t.Fatalf("row %d: the column path kept %+v for record %+v", i, l, r)
			}
		}
		if len(leaves) != 0 || len(cps) != 0 {
			t.Fatalf("%d leaves and %d checkpoints more than the record path reads", len(leaves), len(cps))
		}
	})
}

// TestASCII: ascii finds a byte of 0x80 or more at every position of every
// length across its 64-, 32- and 1-byte steps, and passes pure ASCII.
func TestASCII(t *testing.T) {
	for n := range 200 {
		b := bytes.Repeat([]byte{0x7f}, n)
		if !ascii(b) {
			t.Fatalf("%d ASCII bytes: not ASCII", n)
		}
		for i := range n {
			b[i] = 0x80
			if ascii(b) {
				t.Fatalf("length %d, 0x80 at %d: ASCII", n, i)
			}
			b[i] = 0x7f
		}
	}
}
