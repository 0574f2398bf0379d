package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// keys creates a key pair with govaudit keygen and returns the file paths.
func keys(t *testing.T, dir, name string) (key, pub string) {
	t.Helper()
	if code, _, stderr := runCmd(t, "keygen", "--name", name, "--out", dir); code != 0 {
		t.Fatalf("keygen: %d %s", code, stderr)
	}
	return filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
}

// writeArchive writes an archive the way auditsign and auditparquet lay it
// out: two data files of one epoch, a checkpoint row and file after every
// `batch` leaves, a latest pointer and the audit indexes.
func writeArchive(t *testing.T, root, keyFile string, n, batch int) []record.Record {
	t.Helper()
	return writeArchiveWith(t, root, keyFile, n, batch, nil)
}

// writeArchiveWith is writeArchive with edit applied to each record before
// it is hashed (nil: none).
func writeArchiveWith(t *testing.T, root, keyFile string, n, batch int, edit func(*record.Record)) []record.Record {
	t.Helper()
	signer, err := auditlog.LoadSigner(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	const origin, epoch = "host-a", uint64(1000)
	tree := auditlog.NewTree()
	var all []record.Record
	opened := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	var file []record.Record
	flush := func() {
		p := archive.DataPath(origin, opened)
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		var buf bytes.Buffer
		if err := archive.WriteRows(&buf, file); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, buf.Bytes(), 0o444); err != nil {
			t.Fatal(err)
		}
		ix, err := archive.BuildIndex(root, p)
		if err != nil {
			t.Fatal(err)
		}
		if err := archive.WriteIndex(root, ix); err != nil {
			t.Fatal(err)
		}
		file = nil
		opened = opened.Add(time.Minute)
	}
	for i := 0; i < n; i++ {
		r := record.Record{SchemaVersion: 1, ID: fmt.Sprintf("rec-%03d", i), Type: record.TypeInference,
			Provider: "openai", RequestModel: "gpt-4o", StartTime: opened.UnixNano() + int64(i),
			TraceID: fmt.Sprintf("%032x", i/2+1), UserID: ""}
		if i%2 == 0 {
			r.Type, r.UserID, r.RequestModel = record.TypeWorkflow, "alice", "" // the parent span carries the user
		}
		if i%4 == 3 {
			r.RequestModel, r.Provider = "claude-sonnet", "anthropic"
		}
		if edit != nil {
			edit(&r)
		}
		r.SetLeaf(origin, epoch, uint64(i))
		tree.Append(r.LeafHash)
		file = append(file, r)
		all = append(all, r)
		if (i+1)%batch == 0 || i == n-1 {
			text, err := auditlog.Sign(signer, origin, epoch, tree.Size(), tree.Root())
			if err != nil {
				t.Fatal(err)
			}
			file = append(file, record.Record{SchemaVersion: 1, ID: fmt.Sprintf("cp-%d", tree.Size()),
				Type: record.TypeCheckpoint, Origin: origin, Epoch: epoch, Checkpoint: text})
			for _, p := range []string{archive.CheckpointPath(origin, epoch, tree.Size()), archive.LatestPath(origin)} {
				os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
				if err := os.WriteFile(filepath.Join(root, p), []byte(text), 0o444); err != nil && !strings.HasSuffix(p, "latest") {
					t.Fatal(err)
				}
				if strings.HasSuffix(p, "latest") {
					os.Remove(filepath.Join(root, p))
					os.WriteFile(filepath.Join(root, p), []byte(text), 0o644)
				}
			}
		}
		if i == n/2 {
			flush()
		}
	}
	flush()
	if err := archive.SignUnlisted(root, signer); err != nil { // the exporter's signed manifests
		t.Fatal(err)
	}
	return all
}

func TestUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want int
	}{
		{nil, exitUsage}, {[]string{"bogus"}, exitUsage}, {[]string{"help"}, exitOK},
		{[]string{"verify", "-h"}, exitOK}, {[]string{"verify", "dir"}, exitUsage}, // no --key
		{[]string{"keygen"}, exitUsage}, {[]string{"query"}, exitUsage},
		{[]string{"query", "d", "--format", "xml"}, exitUsage}, {[]string{"query", "d", "--type", "bogus"}, exitUsage},
		{[]string{"prove", "d"}, exitUsage}, {[]string{"verify-proof", "p.json"}, exitUsage},
		{[]string{"query", "d", "--since", "yesterday"}, exitUsage}, {[]string{"report", "--key", "k", "--until", "1d", "d"}, exitUsage},
	} {
		if code, _, _ := runCmd(t, c.args...); code != c.want {
			t.Errorf("%v: exit %d, want %d", c.args, code, c.want)
		}
	}
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	key, pub := keys(t, dir, "auditor-test")
	fi, err := os.Stat(key)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %o, want 600", fi.Mode().Perm())
	}
	if _, err := auditlog.LoadSigner(key); err != nil {
		t.Fatal(err)
	}
	if _, err := auditlog.LoadVerifiers(pub); err != nil {
		t.Fatal(err)
	}
	// Never overwrites a key.
	if code, _, stderr := runCmd(t, "keygen", "--name", "auditor-test", "--out", dir); code != exitUsage || !strings.Contains(stderr, "refusing") {
		t.Errorf("second keygen: exit %d, %s", code, stderr)
	}
}

func TestVerifyProveQuery(t *testing.T) {
	dir := t.TempDir()
	key, pub := keys(t, dir, "k1")
	_, otherPub := keys(t, dir, "k2")
	root := filepath.Join(dir, "audit")
	recs := writeArchive(t, root, key, 12, 5)

	code, out, stderr := runCmd(t, "verify", root, "--key", pub)
	if code != exitOK || !strings.Contains(out, "12 records") || !strings.Contains(out, "verified up to size 12") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, stderr)
	}
	code, out, _ = runCmd(t, "verify", "--json", "--key", otherPub, root)
	var rep struct {
		OK       bool
		Problems []struct{ Kind string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err, out)
	}
	if code != exitFailed || rep.OK || len(rep.Problems) == 0 || rep.Problems[0].Kind != "checkpoint_signature" {
		t.Fatalf("verify with an untrusted key: exit %d %+v", code, rep)
	}

	// prove + verify-proof, then a tampered proof.
	proofFile := filepath.Join(dir, "proof.json")
	if code, _, stderr := runCmd(t, "prove", root, "--record", recs[7].ID, "--out", proofFile); code != exitOK {
		t.Fatalf("prove: %d %s", code, stderr)
	}
	if code, out, _ := runCmd(t, "verify-proof", "--key", pub, proofFile); code != exitOK || !strings.Contains(out, "leaf 7") {
		t.Fatalf("verify-proof: %d %s", code, out)
	}
	if code, _, stderr := runCmd(t, "prove", root, "--record", recs[7].ID, "--checkpoint", "10", "--out", proofFile+".10"); code != exitOK {
		t.Fatalf("prove at size 10: %d %s", code, stderr)
	}
	if code, out, _ := runCmd(t, "verify-proof", "--key", pub, proofFile+".10"); code != exitOK || !strings.Contains(out, "size 10") {
		t.Fatalf("verify-proof at size 10: %d %s", code, out)
	}
	if code, _, _ := runCmd(t, "prove", root, "--record", recs[11].ID, "--checkpoint", "10"); code != exitFailed {
		t.Errorf("prove leaf 11 at size 10: exit %d, want %d", code, exitFailed)
	}
	if code, _, _ := runCmd(t, "verify-proof", "--key", otherPub, proofFile); code != exitFailed {
		t.Errorf("verify-proof with another key: exit %d", code)
	}
	b, _ := os.ReadFile(proofFile)
	var p map[string]any
	json.Unmarshal(b, &p)
	p["record"].(map[string]any)["request_model"] = "gpt-3.5"
	b, _ = json.Marshal(p)
	os.WriteFile(proofFile, b, 0o644)
	if code, out, _ := runCmd(t, "verify-proof", "--key", pub, proofFile); code != exitFailed || !strings.Contains(out, "INVALID") {
		t.Errorf("verify-proof of an altered record: exit %d %s", code, out)
	}

	// query: by model with pruning, by user through the trace.
	code, out, stderr = runCmd(t, "query", root, "--model", "claude-sonnet", "--format", "json", "--stats")
	if code != exitOK {
		t.Fatal(stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		var r record.Record
		if err := json.Unmarshal([]byte(l), &r); err != nil || r.RequestModel != "claude-sonnet" {
			t.Errorf("query --model: got %s (%v)", l, err)
		}
	}
	if len(lines) != 3 { // leaves 3, 7, 11
		t.Errorf("query --model: %d records, want 3: %s", len(lines), out)
	}
	code, out, _ = runCmd(t, "query", root, "--user", "alice", "--type", "inference", "--format", "csv")
	if code != exitOK {
		t.Fatal(out)
	}
	if got := strings.Count(out, "\n") - 1; got != 6 { // the 6 inference children of alice's 6 traces
		t.Errorf("query --user alice --type inference: %d rows, want 6:\n%s", got, out)
	}
	code, _, stderr = runCmd(t, "query", root, "--trace", fmt.Sprintf("%032x", 1), "--stats")
	if code != exitOK || !strings.Contains(stderr, "1 of 2 opened, 1 skipped") {
		t.Errorf("query --trace: index pruning: %s", stderr)
	}

	// reindex rebuilds deleted indexes; verify does not need them.
	os.RemoveAll(filepath.Join(root, archive.IndexDir))
	if code, out, _ := runCmd(t, "verify", root, "--key", pub); code != exitOK {
		t.Errorf("verify without indexes: %d %s", code, out)
	}
	// Not while a collector writes the archive: reindex is a writer too.
	l, err := archive.Lock(root)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCmd(t, "reindex", root); code != exitUsage ||
		!strings.Contains(stderr, "govaudit reindex: archive directory in use by another writer: "+root+" is held by pid=") {
		t.Errorf("reindex of a locked archive: %d %s", code, stderr)
	}
	l.Unlock()
	if code, out, _ := runCmd(t, "reindex", root); code != exitOK || !strings.Contains(out, "rebuilt 2 indexes") {
		t.Errorf("reindex: %d %s", code, out)
	}
	// Rebuilt byte for byte: the signed manifests list them again.
	if code, out, _ := runCmd(t, "verify", root, "--key", pub); code != exitOK || strings.Contains(out, "WARN") {
		t.Errorf("verify after reindex: %d %s", code, out)
	}
}

func TestVerifyDetectsDamage(t *testing.T) {
	dir := t.TempDir()
	key, pub := keys(t, dir, "k1")
	root := filepath.Join(dir, "audit")
	writeArchive(t, root, key, 12, 5)
	files, _ := archive.DataFiles(root)
	// Truncate the second data file.
	p := filepath.Join(root, files[1])
	os.Chmod(p, 0o644)
	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:len(b)/2], 0o444)
	code, out, _ := runCmd(t, "verify", root, "--key", pub)
	if code != exitFailed || !strings.Contains(out, "unreadable_file") || !strings.Contains(out, files[1]) ||
		!strings.Contains(out, "missing_leaves") {
		t.Fatalf("truncated file: exit %d\n%s", code, out)
	}
}

func TestReport(t *testing.T) {
	dir := t.TempDir()
	key, pub := keys(t, dir, "k1")
	_, otherPub := keys(t, dir, "k2")
	root := filepath.Join(dir, "audit")
	writeArchive(t, root, key, 12, 5)

	code, out, stderr := runCmd(t, "report", "--key", pub, root)
	if code != exitOK {
		t.Fatalf("report: %d %s", code, stderr)
	}
	for _, want := range []string{"**Verified.**", "| host-a/1000 | 12 | 12 | 0 | 12 | k1 |", "12 records from",
		"1 distinct users", "6 model decisions without a user", "| inference | 6 |", "| workflow | 6 |",
		"| openai | gpt-4o | — | 3 | 0 |", "| anthropic | claude-sonnet | — | 3 | 0 |"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}

	// A period: the second file's records only (opened a minute later).
	code, out, _ = runCmd(t, "report", "--key", pub, "--format", "json", "--since", "2026-11-26T10:01:00Z", root)
	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitOK {
		t.Fatalf("report --format json: %d %v\n%s", code, err, out)
	}
	if rep.Records != 5 || !rep.Integrity.Verified || rep.Integrity.Logs[0].Leaves != 12 {
		t.Errorf("report for a period: %+v", rep)
	}

	// Untrusted key: the report says so and exits 1.
	code, out, _ = runCmd(t, "report", "--key", otherPub, root)
	if code != exitFailed || !strings.Contains(out, "**FAILED") {
		t.Errorf("report with an untrusted key: exit %d\n%s", code, out)
	}
}

func TestDigest(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "digest.key")
	os.WriteFile(keyFile, []byte("  0123456789abcdef0123456789abcdef\n"), 0o600)
	content := filepath.Join(dir, "prompt.json")
	os.WriteFile(content, []byte(`[ {"role": "user", "content": "hi"} ]`), 0o644)
	// Known answer: printf '%s' '[{"content":"hi","role":"user"}]' | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef
	const want = "hmac-sha256:570acec96fd915a8b78967d6949350982a2fccaa1aad38fcd6825c3ad00fbb99"
	code, out, stderr := runCmd(t, "digest", "--key-file", keyFile, "--json", content)
	if code != exitOK || !strings.HasPrefix(out, want) {
		t.Fatalf("digest: %d %q %s", code, out, stderr)
	}
	if code, out, _ := runCmd(t, "digest", "--key-file", keyFile, "--json", "--expect", want, content); code != exitOK || !strings.Contains(out, "match") {
		t.Errorf("--expect match: %d %s", code, out)
	}
	if code, _, _ := runCmd(t, "digest", "--key-file", keyFile, "--expect", want, content); code != exitFailed {
		t.Errorf("without --json the raw text differs: exit %d", code)
	}
}
