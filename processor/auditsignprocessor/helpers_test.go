package auditsignprocessor

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
	"github.com/govaudit/govaudit/processor/auditsignprocessor/internal/metadata"
)

// writeKey writes a new signing key with the given mode and returns its path
// and its verifier.
func writeKey(t testing.TB, name string, mode os.FileMode) (string, note.Verifier) {
	t.Helper()
	skey, vkey, err := auditlog.GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name+".key")
	if err := os.WriteFile(path, []byte(skey+"\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return path, v
}

// testHost is a component.Host holding extensions.
type testHost map[component.ID]component.Component

func (h testHost) GetExtensions() map[component.ID]component.Component { return h }

var storageID = component.MustNewIDWithName("file_storage", "audit")

// startFileStorage starts contrib's file_storage extension on dir and
// returns a host that holds it.
func startFileStorage(t testing.TB, dir string) testHost {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	cfg.Timeout = 100 * time.Millisecond
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	host := testHost{storageID: ext}
	if err := ext.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ext.Shutdown(context.Background()) })
	return host
}

func testConfig(keyPath string, withStorage bool, interval time.Duration) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Origin = "collector-1.test"
	cfg.SigningKeyFile = keyPath
	cfg.CheckpointInterval = interval
	if withStorage {
		id := storageID
		cfg.Storage = &id
	}
	return cfg
}

func newProcessor(t testing.TB, set processor.Settings, cfg *Config, next consumer.Logs) *auditSign {
	t.Helper()
	p, err := NewFactory().CreateLogs(context.Background(), set, cfg, next)
	if err != nil {
		t.Fatal(err)
	}
	return p.(*auditSign)
}

func nopSettings() processor.Settings { return processortest.NewNopSettings(metadata.Type) }

// startProcessor creates and starts a processor through the factory.
func startProcessor(t testing.TB, cfg *Config, host component.Host, next consumer.Logs) *auditSign {
	t.Helper()
	p := newProcessor(t, nopSettings(), cfg, next)
	if err := p.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	return p
}

// batch returns logs with n governance records, as the mlgovernance
// connector emits them (not yet sealed).
func batch(n int, tag string) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := 0; i < n; i++ {
		tokens := int64(100 + i)
		rec := record.Record{
			SchemaVersion: record.SchemaVersion,
			ID:            record.NewID(),
			Type:          record.TypeInference,
			StartTime:     time.Now().UnixNano(),
			EndTime:       time.Now().UnixNano(),
			Operation:     "chat",
			Provider:      "openai",
			RequestModel:  "gpt-4o",
			InputTokens:   &tokens,
			Input:         fmt.Sprintf("%s prompt %d", tag, i),
			TraceID:       "0af7651916cd43dd8448eb211c80319c",
			SpanID:        "b7ad6b7169203331",
		}
		rec.ToLogRecord(lrs.AppendEmpty())
	}
	return ld
}

// output is what a processor released downstream, decoded.
type output struct {
	leaves      []record.Record // in the order released
	checkpoints []record.Record
}

func decodeAll(t testing.TB, lds []plog.Logs) output {
	t.Helper()
	var out output
	for _, ld := range lds {
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			sls := rls.At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					rec, err := record.FromLogRecord(lrs.At(k))
					if err != nil {
						t.Fatal(err)
					}
					if err := rec.Validate(); err != nil {
						t.Fatal(err)
					}
					if rec.Type == record.TypeCheckpoint {
						out.checkpoints = append(out.checkpoints, rec)
						continue
					}
					if err := rec.CheckLeafHash(); err != nil {
						t.Fatalf("leaf %d: %v", rec.LeafIndex, err)
					}
					out.leaves = append(out.leaves, rec)
				}
			}
		}
	}
	return out
}

type logKey struct {
	origin string
	epoch  uint64
}

// epochs groups leaves by log, each sorted by leaf index.
func (o output) epochs() map[logKey][]record.Record {
	m := map[logKey][]record.Record{}
	for _, r := range o.leaves {
		k := logKey{r.Origin, r.Epoch}
		m[k] = append(m[k], r)
	}
	for _, rs := range m {
		slices.SortFunc(rs, func(a, b record.Record) int { return cmp.Compare(a.LeafIndex, b.LeafIndex) })
	}
	return m
}

// verify checks the released records against every released checkpoint
// with real proofs, and returns the opened checkpoints per log in order of
// size:
//   - each log's leaf indexes are exactly 0..n-1 (no gap, no duplicate);
//   - each checkpoint opens with vs and names its log;
//   - its root is the root of the released leaves [0, size), and every one
//     of those leaves has an inclusion proof that verifies against it;
//   - consecutive checkpoints of a log are consistent;
//   - no (origin, epoch, size) has two different roots.
func verify(t testing.TB, out output, vs note.Verifiers) map[logKey][]auditlog.Checkpoint {
	t.Helper()
	logs := out.epochs()
	hashes := map[logKey][][]byte{}
	for k, rs := range logs {
		for i, r := range rs {
			if r.LeafIndex != uint64(i) {
				t.Fatalf("log %v: leaf at position %d has index %d: indexes are not gapless 0..%d", k, i, r.LeafIndex, len(rs)-1)
			}
			hashes[k] = append(hashes[k], r.LeafHash)
		}
	}
	cps := map[logKey][]auditlog.Checkpoint{}
	roots := map[string][]byte{}
	for _, r := range out.checkpoints {
		cp, err := auditlog.Open(r.Checkpoint, vs)
		if err != nil {
			t.Fatalf("checkpoint %q: %v", r.Checkpoint, err)
		}
		k := logKey{cp.Origin, cp.Epoch}
		if r.Origin != cp.Origin || r.Epoch != cp.Epoch {
			t.Fatalf("checkpoint record of log %s/%d carries a checkpoint of %v", r.Origin, r.Epoch, k)
		}
		at := fmt.Sprintf("%s/%d@%d", cp.Origin, cp.Epoch, cp.Size)
		if prev, ok := roots[at]; ok && !bytes.Equal(prev, cp.Root) {
			t.Fatalf("fork: two roots at %s: %x and %x", at, prev, cp.Root)
		}
		roots[at] = cp.Root
		cps[k] = append(cps[k], cp)
	}
	for k, list := range cps {
		slices.SortFunc(list, func(a, b auditlog.Checkpoint) int { return cmp.Compare(a.Size, b.Size) })
		leaves := hashes[k]
		for i, cp := range list {
			if cp.Size > uint64(len(leaves)) {
				t.Fatalf("checkpoint %v@%d covers leaves never released (%d released)", k, cp.Size, len(leaves))
			}
			if got := auditlog.RootOf(leaves, cp.Size); !bytes.Equal(got, cp.Root) {
				t.Fatalf("checkpoint %v@%d: root %x, released leaves give %x", k, cp.Size, cp.Root, got)
			}
			for idx := uint64(0); idx < cp.Size; idx++ {
				p, err := auditlog.InclusionProof(leaves, idx, cp.Size)
				if err != nil {
					t.Fatal(err)
				}
				if err := auditlog.VerifyInclusion(idx, cp.Size, leaves[idx], p, cp.Root); err != nil {
					t.Fatalf("leaf %d in checkpoint %v@%d: %v", idx, k, cp.Size, err)
				}
			}
			if i > 0 {
				prev := list[i-1]
				p, err := auditlog.ConsistencyProof(leaves, prev.Size, cp.Size)
				if err != nil {
					t.Fatal(err)
				}
				if err := auditlog.VerifyConsistency(prev.Size, cp.Size, p, prev.Root, cp.Root); err != nil {
					t.Fatalf("checkpoints %v@%d and @%d are not consistent: %v", k, prev.Size, cp.Size, err)
				}
			}
		}
		cps[k] = list
	}
	return cps
}
