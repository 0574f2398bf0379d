package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

// The auditlog test key (internal/auditlog/checkpoint_test.go), for
// deterministic proofs: Ed25519 signatures are deterministic.
const (
	proofSignerKey   = "PRIVATE+KEY+govaudit-test+cbf7a545+AchxpySLY2a+FWBHdXGA+jk/nAu2CsE3I/1ieQXtaHeC"
	proofVerifierKey = "govaudit-test+cbf7a545+AUW9PAxA4OZfgk/8PPX7/WW5UNrbte9cc46Ay/+7hrK/"
)

// testProof returns a valid proof of leaf 2 of a 5-leaf log, as JSON.
func testProof(tb testing.TB) ([]byte, note.Verifiers) {
	tb.Helper()
	s, err := note.NewSigner(proofSignerKey)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := note.NewVerifier(proofVerifierKey)
	if err != nil {
		tb.Fatal(err)
	}
	tree := auditlog.NewTree()
	var recs []record.Record
	var leaves [][]byte
	for i := range 5 {
		r := record.Record{SchemaVersion: 1, ID: "rec-" + string(rune('a'+i)), Type: record.TypeInference,
			StartTime: 1767225600000000000 + int64(i), Provider: "openai", RequestModel: "gpt-4o"}
		r.SetLeaf("host-a", 1000, uint64(i))
		tree.Append(r.LeafHash)
		recs = append(recs, r)
		leaves = append(leaves, r.LeafHash)
	}
	path, err := auditlog.InclusionProof(leaves, 2, 5)
	if err != nil {
		tb.Fatal(err)
	}
	text, err := auditlog.Sign(s, "host-a", 1000, 5, tree.Root())
	if err != nil {
		tb.Fatal(err)
	}
	p := InclusionProof{Format: ProofFormat, Record: recs[2], LeafIndex: 2, TreeSize: 5,
		LeafHash: hex.EncodeToString(recs[2].LeafHash), Checkpoint: text}
	for _, h := range path {
		p.AuditPath = append(p.AuditPath, hex.EncodeToString(h))
	}
	b, err := json.MarshalIndent(&p, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return append(b, '\n'), note.VerifierList(v)
}

// TestVerifyProofStrict: verify-proof accepts the proof prove writes and
// nothing more: no trailing data, no unknown field, no oversized file.
func TestVerifyProofStrict(t *testing.T) {
	valid, _ := testProof(t)
	dir := t.TempDir()
	pub := filepath.Join(dir, "k.pub")
	os.WriteFile(pub, []byte(proofVerifierKey+"\n"), 0o644)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if code, out, errb := runCmd(t, "verify-proof", "--key", pub, write("valid.json", valid)); code != exitOK {
		t.Fatalf("valid proof: exit %d %s%s", code, out, errb)
	}
	var other InclusionProof
	json.Unmarshal(valid, &other)
	other.LeafIndex = 3
	second, _ := json.Marshal(&other)
	big := filepath.Join(dir, "big.json")
	f, _ := os.Create(big)
	f.Write(valid)
	f.Truncate(MaxProofSize + 1)
	f.Close()
	for _, c := range []struct {
		name string
		b    []byte
		want int
		msg  string
	}{
		{"trailing-object", append(append([]byte(nil), valid...), second...), exitFailed, "trailing data"},
		{"trailing-garbage", append(append([]byte(nil), valid...), "x"...), exitFailed, "trailing data"},
		{"trailing-array", append(append([]byte(nil), valid...), "[]"...), exitFailed, "trailing data"},
		{"unknown-field", bytes.Replace(valid, []byte(`"format"`), []byte(`"extra": 1, "format"`), 1), exitFailed, "unknown field"},
		{"two-proofs-array", []byte("[" + string(valid) + "]"), exitFailed, ""},
		{"empty", nil, exitFailed, ""},
		{"long-audit-path", bytes.Replace(valid, []byte(`"audit_path": [`), []byte(`"audit_path": [`+strings.Repeat(`"00",`, 100)), 1), exitFailed, "audit path"},
	} {
		code, out, errb := runCmd(t, "verify-proof", "--key", pub, write(c.name+".json", c.b))
		if code != c.want || !strings.Contains(out+errb, c.msg) {
			t.Errorf("%s: exit %d, want %d with %q\n%s%s", c.name, code, c.want, c.msg, out, errb)
		}
	}
	if code, _, errb := runCmd(t, "verify-proof", "--key", pub, big); code != exitUsage || !strings.Contains(errb, "at most") {
		t.Errorf("oversized proof: exit %d %s", code, errb)
	}
}

// FuzzParseProof: no input makes the proof parser or checker panic; a proof
// that checks stays the only JSON value in its file (anything appended is
// refused).
func FuzzParseProof(f *testing.F) {
	valid, vs := testProof(f)
	f.Add(valid)
	f.Add(append(append([]byte(nil), valid...), valid...))
	f.Add(bytes.Replace(valid, []byte(`"leaf_index": 2`), []byte(`"leaf_index": 2000000000000000000`), 1))
	f.Add(bytes.Replace(valid, []byte(`"tree_size": 5`), []byte(`"tree_size": 18446744073709551615`), 1))
	f.Add([]byte(`{"format":"govaudit-inclusion-proof/v1","audit_path":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseProof(b)
		if err != nil {
			return
		}
		if _, err := checkProof(p, vs); err != nil {
			return
		}
		if _, err := parseProof(append(append([]byte(nil), b...), "{}"...)); err == nil {
			t.Fatal("a valid proof with a JSON object appended parses")
		}
	})
}
