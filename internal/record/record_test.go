package record

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"go.opentelemetry.io/collector/pdata/plog"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

func i64(n int64) *int64     { return &n }
func f64(x float64) *float64 { return &x }

// full returns a record with every field set.
func full() Record {
	return Record{
		SchemaVersion: 1, ID: "01890a5d-ac96-774b-bcce-b302099a8057", Type: TypeInference,
		EventName: "gen_ai.client.inference", StartTime: 1764182088000000000, EndTime: 1764182089500000000,
		ObservedTime: 1764182089600000000, Origin: "host-a.govaudit", Epoch: 1764182000000000000, LeafIndex: 41,
		TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7", ParentSpanID: "a3ce929d0e0e4736",
		ServiceName: "support-bot", ServiceVersion: "1.4.2", DeploymentEnvironment: "prod",
		Operation: "chat", Provider: "openai", RequestModel: "gpt-4o", ResponseModel: "gpt-4o-2024-08-06",
		ModelVersion: "2024-08-06", ModelRegistryURI: "models:/support/3", AgentID: "ag-1", AgentName: "triage",
		ToolName: "lookup", ToolCallID: "call_1", ConversationID: "conv-9", SessionID: "sess-7", UserID: "u-42",
		TenantID: "acme", DataSourceID: "kb-1", Parameters: `{"max_tokens":256,"temperature":0.2}`,
		InputTokens: i64(0), OutputTokens: i64(87), FinishReasons: []string{"stop", "length"},
		StatusCode: "ok", ErrorType: "", Input: "hello", InputDigest: "hmac-sha256:00", Output: "hi",
		OutputDigest: "hmac-sha256:01", SystemInstructions: "be nice", SystemInstructionsDigest: "hmac-sha256:02",
		ToolArguments: `{"q":1}`, ToolArgumentsDigest: "hmac-sha256:03", ToolResult: "r", ToolResultDigest: "hmac-sha256:04",
		RetrievalDocuments: "[]", RetrievalDocumentsDigest: "hmac-sha256:05", DigestKeyID: "k1",
		Prediction: "approve", Score: f64(0.93), FeatureSetDigest: "sha256:ab", DatasetVersion: "ds-3",
		Reference: "trace:4bf9", SourceConvention: SourceOTelGenAI, Attributes: `{"a":1}`,
		ResourceAttributes: `{"host.name":"h"}`, Flags: []string{FlagTruncated}, PreviousCheckpoint: "p", Checkpoint: "",
	}
}

// TestCanonicalByHand pins the encoding of a small record byte by byte, as
// the package doc specifies it, independently of the implementation.
func TestCanonicalByHand(t *testing.T) {
	r := Record{SchemaVersion: 1, ID: "r1", Type: TypeInference, LeafIndex: 2, InputTokens: i64(0), FinishReasons: []string{"stop"}}
	var want []byte
	want = append(want, "govaudit-record/v1\n"...)
	want = append(want, 1, 0, 0, 0, 0, 0, 0, 0, 1)    // schema_version
	want = append(want, 2, 2, 'r', '1')               // record_id
	want = append(want, 3, 9)                         // record_type
	want = append(want, "inference"...)               //
	want = append(want, 10, 0, 0, 0, 0, 0, 0, 0, 2)   // leaf_index
	want = append(want, 33, 0, 0, 0, 0, 0, 0, 0, 0)   // input_tokens = 0, present
	want = append(want, 35, 1, 4, 's', 't', 'o', 'p') // finish_reasons
	got := r.Canonical()
	if !bytes.Equal(got, want) {
		t.Fatalf("canonical:\n got %x\nwant %x", got, want)
	}
	h := sha256.Sum256(append([]byte{0}, want...))
	if !bytes.Equal(r.ComputeLeafHash(), h[:]) {
		t.Fatalf("leaf hash %x, want %x", r.ComputeLeafHash(), h)
	}
}

type vector struct {
	Name      string `json:"name"`
	Record    Record `json:"record"`
	Canonical string `json:"canonical_hex"`
	LeafHash  string `json:"leaf_hash_hex"`
}

// TestVectors checks the known-answer vectors in testdata/vectors.json,
// which third-party implementations can use too.
func TestVectors(t *testing.T) {
	if *update {
		var vs []vector
		for _, c := range []struct {
			name string
			r    Record
		}{
			{"minimal", Record{SchemaVersion: 1, ID: "r1", Type: TypeInference}},
			{"full", full()},
			{"checkpoint", Record{SchemaVersion: 1, ID: "c1", Type: TypeCheckpoint, Origin: "o", Epoch: 1, Checkpoint: "o/1\n1\nAAAA\n"}},
			{"negative-and-unicode", Record{SchemaVersion: 1, ID: "ü", Type: TypeContent, StartTime: -1, Input: "日本語 ✓", InputTokens: i64(-5), Score: f64(math.Copysign(0, -1))}},
		} {
			vs = append(vs, vector{c.name, c.r, hex.EncodeToString(c.r.Canonical()), hex.EncodeToString(c.r.ComputeLeafHash())})
		}
		b, _ := json.MarshalIndent(vs, "", "  ")
		if err := os.WriteFile("testdata/vectors.json", append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 4 {
		t.Fatalf("only %d vectors", len(vs))
	}
	for _, v := range vs {
		if got := hex.EncodeToString(v.Record.Canonical()); got != v.Canonical {
			t.Errorf("%s: canonical\n got %s\nwant %s", v.Name, got, v.Canonical)
		}
		if got := hex.EncodeToString(v.Record.ComputeLeafHash()); got != v.LeafHash {
			t.Errorf("%s: leaf hash %s, want %s", v.Name, got, v.LeafHash)
		}
	}
}

// TestEveryFieldChangesHash: each encoded field is covered by the leaf hash.
func TestEveryFieldChangesHash(t *testing.T) {
	base := full()
	h0 := base.ComputeLeafHash()
	for _, f := range refFields {
		if f.number == 0 {
			continue
		}
		r := full()
		fv := f.value(&r)
		switch f.kind {
		case kindString:
			fv.SetString(fv.String() + "x")
		case kindInt64:
			fv.SetInt(fv.Int() + 1)
		case kindUint64:
			fv.SetUint(fv.Uint() + 1)
		case kindInt64Ptr:
			n := fv.Elem().Int() + 1
			fv.Set(reflect.ValueOf(&n))
		case kindFloat64Ptr:
			x := fv.Elem().Float() + 1
			fv.Set(reflect.ValueOf(&x))
		case kindStrings:
			fv.Set(reflect.ValueOf(append([]string{"x"}, fv.Interface().([]string)...)))
		}
		if bytes.Equal(r.ComputeLeafHash(), h0) {
			t.Errorf("changing %s does not change the leaf hash", f.name)
		}
	}
	// Changing the derived leaf hash does not change the encoding.
	r := full()
	r.LeafHash = []byte{1}
	if !bytes.Equal(r.ComputeLeafHash(), h0) {
		t.Error("LeafHash must not be encoded")
	}
}

func TestPdataRoundTrip(t *testing.T) {
	for _, r := range []Record{full(), {SchemaVersion: 1, ID: "x", Type: TypeCheckpoint, Checkpoint: "n"}} {
		r.SetLeaf(r.Origin, r.Epoch, r.LeafIndex)
		lr := plog.NewLogRecord()
		lr.Attributes().PutStr("stale", "gone")
		r.ToLogRecord(lr)
		got, err := FromLogRecord(lr)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
		}
		if _, ok := lr.Attributes().Get("stale"); ok {
			t.Error("ToLogRecord kept a stale attribute")
		}
	}
}

func TestFromLogRecordErrors(t *testing.T) {
	r := full()
	for name, mangle := range map[string]func(plog.LogRecord){
		"wrong type":   func(lr plog.LogRecord) { lr.Attributes().PutInt("govaudit.user_id", 3) },
		"unknown attr": func(lr plog.LogRecord) { lr.Attributes().PutStr("govaudit.bogus", "1") },
		"list element": func(lr plog.LogRecord) {
			lr.Attributes().PutEmptySlice("govaudit.flags").AppendEmpty().SetInt(1)
		},
		"schema overflow": func(lr plog.LogRecord) { lr.Attributes().PutInt("govaudit.schema_version", 1<<40) },
	} {
		lr := plog.NewLogRecord()
		r.ToLogRecord(lr)
		mangle(lr)
		_, err := FromLogRecord(lr)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !strings.Contains(err.Error(), "govaudit.") {
			t.Errorf("%s: error %q does not name the attribute", name, err)
		}
	}
}

func TestParquetRoundTrip(t *testing.T) {
	recs := []Record{full(), {SchemaVersion: 1, ID: "x", Type: TypeCheckpoint, Checkpoint: "n"}}
	for i := range recs {
		recs[i].SetLeaf(recs[i].Origin, recs[i].Epoch, recs[i].LeafIndex)
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[Record](&buf, WriterOptions()...)
	if _, err := w.Write(recs); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rd := parquet.NewGenericReader[Record](bytes.NewReader(buf.Bytes()))
	got := make([]Record, len(recs))
	n, _ := rd.Read(got)
	if n != len(recs) {
		t.Fatalf("read %d rows, want %d", n, len(recs))
	}
	for i := range recs {
		got[i].Normalize()
		if !reflect.DeepEqual(got[i], recs[i]) {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, got[i], recs[i])
		}
		if err := got[i].CheckLeafHash(); err != nil {
			t.Errorf("row %d: %v", i, err)
		}
	}
}

func TestValidate(t *testing.T) {
	r := full()
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		mangle func(*Record)
		want   string
	}{
		"version": {func(r *Record) { r.SchemaVersion = 2 }, "schema_version"},
		"id":      {func(r *Record) { r.ID = "" }, "record_id"},
		"type":    {func(r *Record) { r.Type = "prediction" }, "record_type"},
		"trace":   {func(r *Record) { r.TraceID = "ABC" }, "trace_id"},
		"span":    {func(r *Record) { r.SpanID = "00F067AA0BA902B7" }, "span_id"},
		"utf8":    {func(r *Record) { r.Input = "\xff" }, "input is not valid UTF-8"},
	} {
		r := full()
		c.mangle(&r)
		err := r.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want mention of %q", name, err, c.want)
		}
	}
}

func TestCanonicalizeJSON(t *testing.T) {
	got, err := CanonicalizeJSON(` {"b": 1.10, "a": [true, null, "<x>"]} `)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":[true,null,"<x>"],"b":1.10}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	for _, bad := range []string{`{"a":`, `{} {}`, ``} {
		if _, err := CanonicalizeJSON(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzRoundTrip: any record survives pdata and Parquet unchanged and keeps its hash.
func FuzzRoundTrip(f *testing.F) {
	f.Add("id", "inference", "gpt-4o", "hello", int64(5), uint64(3), 0.5, "stop")
	f.Fuzz(func(t *testing.T, id, typ, model, input string, tokens int64, leaf uint64, score float64, reason string) {
		r := Record{SchemaVersion: 1, ID: id, Type: Type(typ), RequestModel: model, Input: input,
			InputTokens: &tokens, LeafIndex: leaf, Score: &score}
		if reason != "" {
			r.FinishReasons = []string{reason}
		}
		h := r.ComputeLeafHash()
		lr := plog.NewLogRecord()
		r.ToLogRecord(lr)
		got, err := FromLogRecord(lr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.ComputeLeafHash(), h) {
			t.Fatalf("pdata round trip changed the hash: %+v -> %+v", r, got)
		}
		var buf bytes.Buffer
		w := parquet.NewGenericWriter[Record](&buf, WriterOptions()...)
		if _, err := w.Write([]Record{r}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		rows := make([]Record, 1)
		if n, _ := parquet.NewGenericReader[Record](bytes.NewReader(buf.Bytes())).Read(rows); n != 1 {
			t.Fatal("row lost")
		}
		if !bytes.Equal(rows[0].ComputeLeafHash(), h) {
			t.Fatalf("parquet round trip changed the hash: %+v -> %+v", r, rows[0])
		}
	})
}

// TestPutLeaf: sealing a record in place with PutLeaf gives the same
// attributes as rewriting it with ToLogRecord, including leaf 0 (absent
// attribute) and a record that carried another position before.
func TestPutLeaf(t *testing.T) {
	for _, c := range []struct {
		name   string
		before func(*Record)
		index  uint64
	}{
		{"fresh, leaf 7", func(*Record) {}, 7},
		{"fresh, leaf 0", func(*Record) {}, 0},
		{"resealed", func(r *Record) { r.SetLeaf("other", 9, 3) }, 0},
	} {
		r := full()
		r.Origin, r.Epoch, r.LeafIndex, r.LeafHash = "", 0, 0, nil
		c.before(&r)
		lr := plog.NewLogRecord()
		r.ToLogRecord(lr)

		r.SetLeaf("host-a", 5, c.index)
		r.PutLeaf(lr)
		want := plog.NewLogRecord()
		r.ToLogRecord(want)
		if !reflect.DeepEqual(lr.Attributes().AsRaw(), want.Attributes().AsRaw()) {
			t.Errorf("%s: PutLeaf attributes\n got %v\nwant %v", c.name, lr.Attributes().AsRaw(), want.Attributes().AsRaw())
		}
		got, err := FromLogRecord(lr)
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Errorf("%s: decoded %+v, %v", c.name, got, err)
		}
	}
}

// TestToLogRecordBadIDs: ids that are not hex of the right length leave the
// log record's trace and span ids empty; hex.Decode panicked on a longer one.
func TestToLogRecordBadIDs(t *testing.T) {
	for _, c := range []struct{ trace, span string }{
		{"4bf92f3577b34da6a3ce929d0e0e4736ff", "00f067aa0ba902b7ff"},
		{"4bf92f3577b34da6a3ce929d0e0e47", "00f067aa0ba902"},
		{"zzf92f3577b34da6a3ce929d0e0e4736", "zz f067aa0ba902b"},
	} {
		r := Record{SchemaVersion: 1, ID: "x", Type: TypeInference, TraceID: c.trace, SpanID: c.span}
		lr := plog.NewLogRecord()
		r.ToLogRecord(lr)
		if !lr.TraceID().IsEmpty() || !lr.SpanID().IsEmpty() {
			t.Errorf("%q %q: log record ids %v %v, want empty", c.trace, c.span, lr.TraceID(), lr.SpanID())
		}
		if got, err := FromLogRecord(lr); err != nil || got.TraceID != c.trace || got.SpanID != c.span {
			t.Errorf("%q %q: the attributes keep the ids as they were: %+v, %v", c.trace, c.span, got, err)
		}
	}
	r := full()
	lr := plog.NewLogRecord()
	r.ToLogRecord(lr)
	if lr.TraceID().String() != r.TraceID || lr.SpanID().String() != r.SpanID {
		t.Errorf("valid ids: %v %v", lr.TraceID(), lr.SpanID())
	}
}

// TestAllocations: the hot paths do not allocate. Counted allocations, not
// time; skipped under the race detector, whose sync.Pool drops buffers.
func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	r := benchRecord()
	r.SetLeaf(r.Origin, r.Epoch, r.LeafIndex)
	var h [32]byte
	buf := make([]byte, 0, 4096)
	for name, fn := range map[string]func(){
		"AppendLeafHash":  func() { r.AppendLeafHash(h[:0]) },
		"AppendCanonical": func() { buf = r.AppendCanonical(buf[:0]) },
		"CheckLeafHash": func() {
			if r.CheckLeafHash() != nil {
				t.Fatal("hash mismatch")
			}
		},
		"Validate": func() {
			if r.Validate() != nil {
				t.Fatal("invalid")
			}
		},
		"ApplyCaps (nothing to cut)": func() {
			if r.ApplyCaps() {
				t.Fatal("cut")
			}
		},
	} {
		if n := testing.AllocsPerRun(200, fn); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
	// A large record does not keep its buffer in the pool, and still hashes.
	big := r
	big.Input = strings.Repeat("x", 2*maxPooledBuf)
	want := sha256.Sum256(append([]byte{0}, big.Canonical()...))
	if got := big.AppendLeafHash(nil); !bytes.Equal(got, want[:]) {
		t.Fatal("large record: wrong hash")
	}
	if bp := hashBufs.Get().(*[]byte); cap(*bp) > maxPooledBuf {
		t.Errorf("a %d-byte buffer went back to the pool", cap(*bp))
	}
}
