package auditsignprocessor

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
	"github.com/govaudit/govaudit/processor/auditsignprocessor/internal/metadata"
)

func testTree(n int) *auditlog.Tree {
	t := auditlog.NewTree()
	for i := 0; i < n; i++ {
		t.Append(auditlog.Hasher.HashLeaf([]byte{byte(i)}))
	}
	return t
}

func TestStateRoundTrip(t *testing.T) {
	tree := testTree(11)
	s := state{Version: stateVersion, Origin: "c1", Epoch: 7, Size: 11, Hashes: tree.Hashes(), Dirty: true}
	got, gotTree, err := unmarshalState(s.marshal())
	if err != nil {
		t.Fatal(err)
	}
	if got.Origin != "c1" || got.Epoch != 7 || got.Size != 11 || !got.Dirty || string(gotTree.Root()) != string(tree.Root()) {
		t.Errorf("round trip = %+v", got)
	}
}

func TestUnmarshalStateRejects(t *testing.T) {
	signer, err := note.NewSigner(mustKey(t))
	if err != nil {
		t.Fatal(err)
	}
	tree := testTree(5)
	cpOther, _ := auditlog.Sign(signer, "c1", 7, 5, testTree(6).Root()) // wrong root at size 5
	cpAhead, _ := auditlog.Sign(signer, "c1", 7, 6, testTree(6).Root())
	good := func() state {
		return state{Version: stateVersion, Origin: "c1", Epoch: 7, Size: 5, Hashes: tree.Hashes()}
	}
	for _, tc := range []struct {
		name    string
		mutate  func(*state)
		raw     string
		wantErr string
	}{
		{name: "not json", raw: "garbage", wantErr: "state: invalid character"},
		{name: "unknown field", raw: `{"version":1,"extra":1}`, wantErr: `unknown field "extra"`},
		{name: "trailing data", raw: string(func() []byte { s := good(); return s.marshal() }()) + "{}", wantErr: "trailing data"},
		{name: "version", mutate: func(s *state) { s.Version = 2 }, wantErr: "version 2, want 1"},
		{name: "origin", mutate: func(s *state) { s.Origin = "a/b" }, wantErr: `origin "a/b"`},
		{name: "epoch", mutate: func(s *state) { s.Epoch = 0 }, wantErr: "epoch is 0"},
		{name: "hash count", mutate: func(s *state) { s.Size = 7 }, wantErr: "tree of size 7"},
		{name: "hash length", mutate: func(s *state) { s.Hashes[0] = s.Hashes[0][:31] }, wantErr: "hash 0 has 31 bytes"},
		{name: "checkpoint", mutate: func(s *state) { s.LastCheckpoint = "nonsense" }, wantErr: "last_checkpoint"},
		{name: "checkpoint root", mutate: func(s *state) { s.LastCheckpoint = cpOther }, wantErr: "differs from tree root"},
		{name: "checkpoint ahead", mutate: func(s *state) { s.LastCheckpoint = cpAhead }, wantErr: "exceeds tree size 5"},
		{name: "acknowledged root", mutate: func(s *state) { s.Dirty, s.AcknowledgedSize, s.AcknowledgedRoot = true, 4, []byte{1} }, wantErr: "acknowledged head"},
		{name: "acknowledged ahead", mutate: func(s *state) { s.Dirty, s.AcknowledgedSize, s.AcknowledgedRoot = true, 6, testTree(6).Root() }, wantErr: "acknowledged head"},
		{name: "epoch start beyond leaf 0", mutate: func(s *state) { s.Dirty, s.EpochStart = true, []byte{1} }, wantErr: "epoch_start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := []byte(tc.raw)
			if tc.mutate != nil {
				s := good()
				s.Hashes = testTree(5).Hashes()
				tc.mutate(&s)
				b = s.marshal()
			}
			_, _, err := unmarshalState(b)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("unmarshalState = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

func mustKey(t testing.TB) string {
	skey, _, err := auditlog.GenerateKey("k")
	if err != nil {
		t.Fatal(err)
	}
	return skey
}

// writeState stores raw bytes as the processor's state, through the same
// storage extension and client name the processor uses.
func writeState(t testing.TB, host testHost, b []byte) {
	t.Helper()
	ctx := context.Background()
	c, err := host[storageID].(storage.Extension).GetClient(ctx, component.KindProcessor, component.NewID(metadata.Type), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, stateKey, b); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestStartOpensNewEpoch(t *testing.T) {
	key, _ := writeKey(t, "k", 0o600)
	for _, tc := range []struct {
		name       string
		state      func(p *auditSign) []byte // nil: no state written
		wantReason string
		wantPrev   bool
	}{
		{name: "no state", wantReason: reasonNoState},
		{name: "corrupt", state: func(*auditSign) []byte { return []byte("{not json") }, wantReason: reasonCorruptState},
		{name: "origin changed", state: func(p *auditSign) []byte {
			s := state{Version: stateVersion, Origin: "another", Epoch: 1 << 62, Size: 1, Hashes: testTree(1).Hashes()}
			return s.marshal()
		}, wantReason: reasonOriginChanged},
		{name: "dirty", state: func(p *auditSign) []byte {
			s := state{Version: stateVersion, Origin: "collector-1.test", Epoch: 1 << 62, Size: 2, Hashes: testTree(2).Hashes(), Dirty: true}
			s.LastCheckpoint, _ = auditlog.Sign(p.signer, s.Origin, s.Epoch, 1, testTree(1).Root())
			return s.marshal()
		}, wantReason: reasonDirtyState, wantPrev: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := startFileStorage(t, t.TempDir())
			sink := new(consumertest.LogsSink)
			p := newProcessor(t, nopSettings(), testConfig(key, true, 0), sink)
			var prev string
			if tc.state != nil {
				signer, err := auditlog.LoadSigner(key)
				if err != nil {
					t.Fatal(err)
				}
				p.signer = signer
				b := tc.state(p)
				if s, _, err := unmarshalState(b); err == nil {
					prev = s.LastCheckpoint
				}
				writeState(t, host, b)
			}
			if err := p.Start(context.Background(), host); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = p.Shutdown(context.Background()) }()
			out := decodeAll(t, sink.AllLogs())
			if len(out.leaves) != 1 {
				t.Fatalf("%d leaves released at start, want 1", len(out.leaves))
			}
			start := out.leaves[0]
			if start.EventName != EventNameEpochStart || start.LeafIndex != 0 || start.Epoch != p.epoch {
				t.Fatalf("start record = %+v", start)
			}
			if !strings.Contains(start.Attributes, `"reason":"`+tc.wantReason+`"`) {
				t.Errorf("attributes %s, want reason %s", start.Attributes, tc.wantReason)
			}
			if tc.wantPrev {
				if start.PreviousCheckpoint == "" || start.PreviousCheckpoint != prev || len(start.Flags) != 0 {
					t.Errorf("previous checkpoint %q flags %v", start.PreviousCheckpoint, start.Flags)
				}
			} else if start.PreviousCheckpoint != "" || len(start.Flags) != 1 || start.Flags[0] != record.FlagNoPreviousEpoch {
				t.Errorf("previous checkpoint %q flags %v", start.PreviousCheckpoint, start.Flags)
			}
			if tc.state != nil && tc.wantReason != reasonCorruptState && p.epoch <= 1<<62 {
				t.Errorf("epoch %d not after the state's %d", p.epoch, uint64(1<<62))
			}
		})
	}
}
