package auditparquetexporter

import (
	"context"
	"encoding/base64"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"go.opentelemetry.io/collector/pdata/plog"
	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

// testKey is a fixed key, so that a crash test's subprocess signs the same
// notes: its signer key, then its verifier key.
var testKey = sync.OnceValues(func() (string, string) {
	skey, vkey, err := note.GenerateKey(mrand.NewChaCha8([32]byte{1}), "test-key")
	if err != nil {
		panic(err)
	}
	return skey, vkey
})

var testSigner = sync.OnceValue(func() note.Signer {
	skey, _ := testKey()
	s, err := note.NewSigner(skey)
	if err != nil {
		panic(err)
	}
	return s
})

var testVerifier = sync.OnceValue(func() note.Verifier {
	_, vkey := testKey()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		panic(err)
	}
	return v
})

// testKeyFile is testKey's signer key in a file (mode 0600), the
// signing_key_file of every test config (left in the temporary directory:
// the generated TestMain owns the package's exit).
var testKeyFile = sync.OnceValue(func() string {
	dir, err := os.MkdirTemp("", "auditparquet-key-")
	if err != nil {
		panic(err)
	}
	skey, _ := testKey()
	p := filepath.Join(dir, "test.key")
	if err := os.WriteFile(p, []byte(skey+"\n"), 0o600); err != nil {
		panic(err)
	}
	return p
})

// stream plays the auditsign processor for tests: it seals records of one
// (origin, epoch) with the production tree and checkpoint code.
type stream struct {
	origin string
	epoch  uint64
	tree   *auditlog.Tree
	rnd    *mrand.Rand
	// vary, if set, edits each leaf before it is sealed.
	vary func(r *record.Record)
}

func newStream(origin string, epoch uint64) *stream {
	return &stream{origin: origin, epoch: epoch, tree: auditlog.NewTree(), rnd: mrand.New(mrand.NewPCG(epoch, 1))}
}

var words = strings.Fields(`the customer asked about refund policy for order shipping delay account
billing invoice please help me understand why my payment failed and what I should do next thank you
assistant answer summary context document retrieved policy section clause applies within thirty days
of purchase provided item unused original packaging contact support escalate ticket priority`)

// id returns a record id, deterministic per stream so that a test process
// and its subprocess generate the same records.
func (s *stream) id() string {
	return fmt.Sprintf("%08x-%04x-7%03x-8%03x-%012x", s.rnd.Uint32(), s.rnd.Uint32()&0xffff, s.rnd.Uint32()&0xfff, s.rnd.Uint32()&0xfff, s.rnd.Uint64()&0xffffffffffff)
}

func (s *stream) text(n int) string {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(words[s.rnd.IntN(len(words))])
		b.WriteByte(' ')
	}
	return b.String()
}

// record returns the next leaf: a realistic GenAI chat record (~1.5 KB).
func (s *stream) record() record.Record {
	i := s.tree.Size()
	in, out := int64(200+s.rnd.IntN(800)), int64(50+s.rnd.IntN(400))
	start := time.Unix(1767225600, 0).Add(time.Duration(i) * 137 * time.Millisecond)
	r := record.Record{
		SchemaVersion: 1, ID: s.id(), Type: record.TypeInference, EventName: "gen_ai.client.inference.operation.details",
		StartTime: start.UnixNano(), EndTime: start.Add(900 * time.Millisecond).UnixNano(), ObservedTime: start.Add(time.Second).UnixNano(),
		TraceID: fmt.Sprintf("%032x", s.rnd.Uint64()), SpanID: fmt.Sprintf("%016x", s.rnd.Uint64()),
		ServiceName: "support-bot", ServiceVersion: "1.4.2", DeploymentEnvironment: "prod",
		Operation: "chat", Provider: "openai", RequestModel: "gpt-4o", ResponseModel: "gpt-4o-2024-08-06", ModelVersion: "2024-08-06",
		ConversationID: fmt.Sprintf("conv-%d", i/5), SessionID: fmt.Sprintf("sess-%d", i/20), UserID: fmt.Sprintf("user-%d", s.rnd.IntN(50)),
		TenantID: "acme", Parameters: `{"max_tokens":512,"temperature":0.2,"top_p":1}`,
		InputTokens: &in, OutputTokens: &out, FinishReasons: []string{"stop"}, StatusCode: "ok",
		Input:        `[{"role":"user","content":"` + s.text(700) + `"}]`,
		InputDigest:  "hmac-sha256:" + fmt.Sprintf("%064x", s.rnd.Uint64()),
		Output:       `[{"role":"assistant","content":"` + s.text(500) + `"}]`,
		OutputDigest: "hmac-sha256:" + fmt.Sprintf("%064x", s.rnd.Uint64()), DigestKeyID: "k1",
		SourceConvention: record.SourceOTelGenAI, Attributes: `{"gen_ai.request.seed":42,"server.address":"api.openai.com"}`,
		ResourceAttributes: `{"host.name":"app-7","service.name":"support-bot"}`,
	}
	if s.vary != nil {
		s.vary(&r)
	}
	r.SetLeaf(s.origin, s.epoch, i)
	s.tree.Append(r.LeafHash)
	return r
}

// checkpoint returns a signed checkpoint record of the tree so far.
func (s *stream) checkpoint(t testing.TB) record.Record {
	text, err := auditlog.Sign(testSigner(), s.origin, s.epoch, s.tree.Size(), s.tree.Root())
	if err != nil {
		t.Fatal(err)
	}
	return record.Record{SchemaVersion: 1, ID: s.id(), Type: record.TypeCheckpoint, EventName: record.EventNameCheckpoint,
		ObservedTime: time.Unix(1767225600, 0).UnixNano(), Origin: s.origin, Epoch: s.epoch, Checkpoint: text}
}

// batch returns n leaves followed by a checkpoint covering them, as auditsign
// emits a batch.
func (s *stream) batch(t testing.TB, n int) []record.Record {
	recs := make([]record.Record, 0, n+1)
	for range n {
		recs = append(recs, s.record())
	}
	return append(recs, s.checkpoint(t))
}

func toLogs(recs []record.Record) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range recs {
		recs[i].ToLogRecord(lrs.AppendEmpty())
	}
	return ld
}

// readArchive reads every data file of root in archive order with
// archive.ReadFile, cross-checks each with the independent arrow-go reader,
// and returns all rows.
func readArchive(t testing.TB, root string) []record.Record {
	t.Helper()
	files, err := archive.DataFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	var all []record.Record
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		rows, err := archive.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		crossCheck(t, p, rows)
		all = append(all, rows...)
	}
	return all
}

// crossCheck reads the file with arrow-go and compares key columns with rows,
// and checks zstd compression and the bloom filters on the id columns.
func crossCheck(t testing.TB, path string, rows []record.Record) {
	t.Helper()
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("arrow-go: %s: %v", path, err)
	}
	defer rdr.Close()
	if rdr.NumRows() != int64(len(rows)) {
		t.Fatalf("arrow-go: %s: %d rows, parquet-go read %d", path, rdr.NumRows(), len(rows))
	}
	md := rdr.MetaData()
	for g := 0; g < md.NumRowGroups(); g++ {
		rg := md.RowGroup(g)
		for c := 0; c < rg.NumColumns(); c++ {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			if cc.Compression() != compress.Codecs.Zstd {
				t.Errorf("%s: column %s compressed with %v, want zstd", path, cc.PathInSchema(), cc.Compression())
			}
			name := cc.PathInSchema().String()
			for _, b := range record.BloomFilterColumns {
				if name == b && cc.BloomFilterOffset() <= 0 {
					t.Errorf("%s: column %s has no bloom filter", path, name)
				}
			}
		}
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("arrow-go: %s: %v", path, err)
	}
	defer tbl.Release()
	want := map[string]func(r *record.Record) string{
		"record_id":   func(r *record.Record) string { return r.ID },
		"record_type": func(r *record.Record) string { return string(r.Type) },
		"origin":      func(r *record.Record) string { return r.Origin },
		"epoch":       func(r *record.Record) string { return strconv.FormatUint(r.Epoch, 10) },
		"leaf_index":  func(r *record.Record) string { return strconv.FormatUint(r.LeafIndex, 10) },
		"leaf_hash":   func(r *record.Record) string { return base64.StdEncoding.EncodeToString(r.LeafHash) },
		"input":       func(r *record.Record) string { return r.Input },
		"user_id":     func(r *record.Record) string { return r.UserID },
		"checkpoint":  func(r *record.Record) string { return r.Checkpoint },
	}
	sch := tbl.Schema()
	for name, get := range want {
		idx := sch.FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("arrow-go: %s: no column %s", path, name)
		}
		i := 0
		for _, chunk := range tbl.Column(idx[0]).Data().Chunks() {
			for j := 0; j < chunk.Len(); j++ {
				got := valueString(chunk, j)
				if w := get(&rows[i]); got != w {
					t.Fatalf("arrow-go: %s: row %d column %s = %q, parquet-go read %q", path, i, name, got, w)
				}
				i++
			}
		}
	}
}

func valueString(a interface{ ValueStr(int) string }, i int) string {
	if n, ok := a.(interface{ IsNull(int) bool }); ok && n.IsNull(i) {
		return ""
	}
	if s, ok := a.(*array.String); ok {
		return s.Value(i)
	}
	if b, ok := a.(*array.Binary); ok {
		if len(b.Value(i)) == 0 {
			return ""
		}
	}
	return a.ValueStr(i)
}

func mustFileTime(t *testing.T, name string) time.Time {
	t.Helper()
	ft, err := time.Parse(archive.FileTimeFormat, name)
	if err != nil {
		t.Fatal(err)
	}
	return ft
}
