package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/record"
	"github.com/govaudit/govaudit/internal/verify"
)

// cliEnv is an archive of 12 records in two data files (writeArchive),
// its keys, a digest key and a candidate content file.
type cliEnv struct {
	dir, root, key, pub, otherPub, digestKey, content string
}

func newCLIEnv(t *testing.T) cliEnv {
	t.Helper()
	dir := t.TempDir()
	key, pub := keys(t, dir, "k1")
	_, otherPub := keys(t, dir, "k2")
	root := filepath.Join(dir, "audit")
	writeArchive(t, root, key, 12, 5)
	e := cliEnv{dir: dir, root: root, key: key, pub: pub, otherPub: otherPub,
		digestKey: filepath.Join(dir, "digest.key"), content: filepath.Join(dir, "prompt.txt")}
	os.WriteFile(e.digestKey, []byte("0123456789abcdef0123456789abcdef\n"), 0o600)
	os.WriteFile(e.content, []byte("What is my credit limit?\n"), 0o644) // as echo writes it
	return e
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// TestCLI runs every command with good and bad arguments and checks the
// exit code and the first line of stdout and stderr (a prefix), so that
// the messages a user meets first stay as documented. Rows run in order:
// prove writes the proof that verify-proof reads.
func TestCLI(t *testing.T) {
	e := newCLIEnv(t)
	proof := filepath.Join(e.dir, "proof.json")
	missing := filepath.Join(e.dir, "missing")
	dkey := []byte("0123456789abcdef0123456789abcdef")
	sent := record.ContentDigest(dkey, "What is my credit limit?")
	// The prompt as a message list sent in one string attribute (digested
	// as received), and a JSON value digested in canonical form.
	messages := record.ContentDigest(dkey, `[{"role":"user","parts":[{"type":"text","content":"What is my credit limit?"}]}]`)
	spaced := filepath.Join(e.dir, "spaced.json")
	os.WriteFile(spaced, []byte(`{ "b": 1, "a": [ true ] }`), 0o644)
	canonical := record.ContentDigest(dkey, `{"a":[true],"b":1}`)
	sentSpaced := record.ContentDigest(dkey, `{ "b": 1, "a": [ true ] }`)
	for _, c := range []struct {
		args           []string
		code           int
		stdout, stderr string // first-line prefixes; "" means empty
		contains       string // in stdout, if set
	}{
		{nil, exitUsage, "", "usage: govaudit <command> [arguments]", ""},
		{[]string{"bogus"}, exitUsage, "", `govaudit: unknown command "bogus"`, ""},
		{[]string{"help"}, exitOK, "usage: govaudit <command> [arguments]", "", "govaudit --version"},
		{[]string{"--help"}, exitOK, "usage: govaudit <command> [arguments]", "", ""},
		{[]string{"help", "bogus"}, exitUsage, "", `govaudit help: unknown command "bogus"`, ""},
		{[]string{"--version"}, exitOK, "govaudit ", "", ""},
		{[]string{"version"}, exitOK, "govaudit ", "", ""},

		{[]string{"keygen", "--name", "t1", "--out", filepath.Join(e.dir, "k")}, exitOK, "signing key:  " + filepath.Join(e.dir, "k", "t1.key"), "", ""},
		{[]string{"keygen", "--name", "t1", "--out", filepath.Join(e.dir, "k")}, exitUsage, "", "govaudit keygen: " + filepath.Join(e.dir, "k", "t1.key") + " already exists", ""},
		{[]string{"keygen"}, exitUsage, "", "govaudit keygen: --name is required", ""},
		{[]string{"keygen", "--name", "a/b"}, exitUsage, "", `govaudit keygen: --name "a/b": character '/' not allowed`, ""},
		{[]string{"keygen", "--name", "x", "extra"}, exitUsage, "", `govaudit keygen: unexpected argument "extra"`, ""},
		{[]string{"keygen", "--bogus"}, exitUsage, "", "flag provided but not defined: -bogus", ""},

		{[]string{"verify", "--key", e.pub, e.root}, exitOK, "archive " + e.root + ": 2 files, 12 records, 3 checkpoints, 1 manifests (7 files digested)", "", "\nverified: all 12 records"},
		{[]string{"verify", e.root, "--key", e.otherPub}, exitFailed, "archive " + e.root + ": 2 files, 12 records, 0 checkpoints, 0 manifests (0 files digested)", "",
			" more checkpoints do not verify with the trusted keys\nhint: the checkpoints are signed by key k1; --key trusts k2: pass the verifier key of k1"},
		{[]string{"verify", e.root, "--key", e.otherPub}, exitFailed, "archive ", "",
			"\nFAIL uncovered_file: 6 more files are listed by no manifest that verifies with the trusted keys\n"},
		{[]string{"verify", e.root}, exitUsage, "", "govaudit verify: --key is required", ""},
		{[]string{"verify", "--key", e.pub}, exitUsage, "", "govaudit verify: want one ARCHIVE_DIR, got 0 arguments", ""},
		{[]string{"verify", "--key", e.pub, missing}, exitUsage, "", "govaudit verify: no archive at " + missing, ""},
		{[]string{"verify", "--key", e.pub, e.dir}, exitUsage, "", "govaudit verify: no archive at " + e.dir + " (no records/, checkpoints/ or wal/ directory); did you mean " + e.root + "?", ""},
		{[]string{"verify", "--key", e.pub, filepath.Join(e.root, "records")}, exitUsage, "", "govaudit verify: no archive at " + filepath.Join(e.root, "records") + " (no records/, checkpoints/ or wal/ directory)", ""},
		{[]string{"verify", "--key", missing, e.root}, exitUsage, "", "govaudit verify: ", ""},

		{[]string{"query", e.root, "--format", "csv", "--limit", "1"}, exitOK, "time,record_type,origin,epoch,leaf_index", "", "rec-000"},
		{[]string{"query", e.root, "--record", "rec-007", "--format", "json"}, exitOK, `{"schema_version":1,"record_id":"rec-007"`, "", ""},
		{[]string{"query", e.root, "--record", "nope"}, exitOK, "time ", "", ""},
		{[]string{"query", e.root, "--since", "2026-11-26", "--until", "2026-11-26", "--format", "csv", "--type", "workflow"}, exitOK, "time,", "", "rec-010"},
		{[]string{"query"}, exitUsage, "", "govaudit query: want one ARCHIVE_DIR, got 0 arguments", ""},
		{[]string{"query", missing}, exitUsage, "", "govaudit query: no archive at " + missing, ""},
		{[]string{"query", e.root, "--since", "yesterday"}, exitUsage, "", `invalid value "yesterday" for flag -since: want a date such as 2026-11-26`, ""},
		{[]string{"query", e.root, "--format", "xml"}, exitUsage, "", `govaudit query: --format "xml": want table, json or csv`, ""},
		{[]string{"query", e.root, "--type", "bogus"}, exitUsage, "", "govaudit query: --type: ", ""},
		{[]string{"query", e.root, "--limit", "-1"}, exitUsage, "", "govaudit query: --limit must be >= 0", ""},

		{[]string{"prove", e.root, "--record", "rec-007", "--out", proof}, exitOK, "", "wrote inclusion proof of record rec-007 (leaf 7 of host-a/1000, tree size 12)", ""},
		{[]string{"prove", e.root, "--record", "rec-007"}, exitOK, "{", "", `"format": "govaudit-inclusion-proof/v2"`},
		{[]string{"prove", e.root}, exitUsage, "", "govaudit prove: --record is required", ""},
		{[]string{"prove", missing, "--record", "rec-007"}, exitUsage, "", "govaudit prove: no archive at " + missing, ""},
		{[]string{"prove", e.root, "--record", "nope"}, exitFailed, "", "govaudit prove: record nope not found in " + e.root, ""},
		{[]string{"prove", e.root, "--record", "rec-007", "--checkpoint", "x"}, exitUsage, "", `govaudit prove: --checkpoint "x": want latest or a tree size`, ""},

		{[]string{"verify-proof", "--key", e.pub, proof}, exitOK, "valid: record rec-007 is leaf 7 of host-a/1000, included in the tree of size 12 signed by k1", "", ""},
		{[]string{"verify-proof", "--key", e.otherPub, proof}, exitFailed, "INVALID: checkpoint: ", "", ""},
		{[]string{"verify-proof", proof}, exitUsage, "", "govaudit verify-proof: --key is required", ""},
		{[]string{"verify-proof", "--key", e.pub}, exitUsage, "", "govaudit verify-proof: want one PROOF.json, got 0 arguments", ""},

		{[]string{"report", "--key", e.pub, "--format", "json", e.root}, exitOK, "{", "", `"verified": true`},
		{[]string{"report", e.root}, exitUsage, "", "govaudit report: --key is required", ""},
		{[]string{"report", "--key", e.pub, "--format", "pdf", e.root}, exitUsage, "", `govaudit report: --format "pdf": want markdown`, ""},
		{[]string{"report", "--key", e.pub, missing}, exitUsage, "", "govaudit report: no archive at " + missing, ""},

		{[]string{"digest", "--key-file", e.digestKey, e.content}, exitOK, "hmac-sha256:", "", "(digest_key_id fp:"},
		{[]string{"digest", "--key-file", e.digestKey, "--expect", sent, e.content}, exitFailed, "hmac-sha256:", "",
			"DIFFERENT: the content is not what the record digested\nhint: the content without its trailing newline matches"},
		{[]string{"digest", "--key-file", e.digestKey, "--expect", messages, e.content}, exitFailed, "hmac-sha256:", "",
			"DIFFERENT: the content is not what the record digested\nhint: a message list (gen_ai.input.messages, gen_ai.output.messages) is digested as its whole value"},
		{[]string{"digest", "--key-file", e.digestKey, "--expect", canonical, spaced}, exitFailed, "hmac-sha256:", "",
			"DIFFERENT: the content is not what the record digested\nhint: with --json the content matches: the application sent a structured value"},
		{[]string{"digest", "--key-file", e.digestKey, "--json", "--expect", sentSpaced, spaced}, exitFailed, "hmac-sha256:", "",
			"DIFFERENT: the content is not what the record digested\nhint: without --json the content matches: the application sent this JSON text in one string attribute"},
		{[]string{"digest", "--key-file", e.digestKey, "--json", "--expect", canonical, spaced}, exitOK, "hmac-sha256:", "", "\nmatch: "},
		{[]string{"digest", e.content}, exitUsage, "", "govaudit digest: --key-file is required", ""},
		{[]string{"digest", "--key-file", e.digestKey, "a", "b"}, exitUsage, "", "govaudit digest: want at most one CONTENT_FILE, got 2 arguments", ""},
		{[]string{"digest", "--key-file", missing, e.content}, exitUsage, "", "govaudit digest: open " + missing, ""},

		{[]string{"reindex", e.root}, exitOK, "rebuilt 2 indexes in " + e.root, "", ""},
		{[]string{"reindex"}, exitUsage, "", "govaudit reindex: want one ARCHIVE_DIR, got 0 arguments", ""},
		{[]string{"reindex", missing}, exitUsage, "", "govaudit reindex: no archive at " + missing, ""},
	} {
		code, out, errs := runCmd(t, c.args...)
		if code != c.code || !strings.HasPrefix(firstLine(out), c.stdout) || (c.stdout == "") != (out == "") ||
			!strings.HasPrefix(firstLine(errs), c.stderr) || (c.stderr == "") != (errs == "") || !strings.Contains(out, c.contains) {
			t.Errorf("govaudit %s: exit %d, want %d\nstdout: %q\n  want: %q…\nstderr: %q\n  want: %q…\nwant stdout to contain %q",
				strings.Join(c.args, " "), code, c.code, firstLine(out), c.stdout, firstLine(errs), c.stderr, c.contains)
		}
	}
}

// TestHelp: help CMD, CMD --help and CMD -h print the same help to
// stdout, exit 0, name flags as --flag and end with an example.
func TestHelp(t *testing.T) {
	for _, c := range commands {
		var outs []string
		for _, args := range [][]string{{"help", c.name}, {c.name, "--help"}, {c.name, "-h"}, {c.name, "x", "--key", "k", "-help"}} {
			code, out, errs := runCmd(t, args...)
			if code != exitOK || errs != "" {
				t.Errorf("%v: exit %d, stderr %q", args, code, errs)
			}
			outs = append(outs, out)
		}
		for _, o := range outs[1:] {
			if o != outs[0] {
				t.Errorf("%s: help differs between forms:\n%s\n---\n%s", c.name, outs[0], o)
			}
		}
		out := outs[0]
		_, example, _ := strings.Cut(out, "\nexample:\n")
		if !strings.HasPrefix(out, "usage: govaudit "+c.name) || !strings.Contains(example, "  govaudit "+c.name+" ") {
			t.Errorf("%s: help lacks the usage line or an example:\n%s", c.name, out)
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "  -") && !strings.HasPrefix(l, "  --") {
				t.Errorf("%s: flag written %q, want --flag", c.name, l)
			}
		}
	}
}

func TestParseTime(t *testing.T) {
	for _, c := range []struct {
		in       string
		endOfDay bool
		want     string
	}{
		{"2026-11-26", false, "2026-11-26T00:00:00Z"},
		{"2026-11-26", true, "2026-11-27T00:00:00Z"},
		{"2026-12-31", true, "2027-01-01T00:00:00Z"},
		{"2026-11-26T18:00:00.5+01:00", true, "2026-11-26T17:00:00.5Z"},
	} {
		got, err := parseTime(c.in, c.endOfDay)
		if err != nil || got.UTC().Format(time.RFC3339Nano) != c.want {
			t.Errorf("parseTime(%q, %v) = %v, %v; want %s", c.in, c.endOfDay, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2026-13-01", "26-11-2026", "2026-11-26 18:00"} {
		if _, err := parseTime(bad, false); err == nil {
			t.Errorf("parseTime(%q): accepted", bad)
		}
	}
}

// TestQueryLimitStreams: --limit stops reading data files once enough
// records matched, and --stats counts each file once.
func TestQueryLimitStreams(t *testing.T) {
	e := newCLIEnv(t)
	code, out, errs := runCmd(t, "query", e.root, "--limit", "2", "--format", "csv", "--stats")
	if code != exitOK || strings.Count(out, "\n") != 3 || !strings.Contains(errs, "2 records; data files: 1 of 2 opened, 1 skipped") {
		t.Errorf("--limit 2: exit %d\n%s%s", code, out, errs)
	}
	// Within a file too: of the 2,001 rows of the first file, --limit 2
	// decodes one batch, not the file.
	big := filepath.Join(e.dir, "big")
	writeArchive(t, big, e.key, 4000, 4000)
	code, out, errs = runCmd(t, "query", big, "--limit", "2", "--format", "csv", "--stats")
	if code != exitOK || strings.Count(out, "\n") != 3 || !strings.Contains(errs, "2 records; data files: 1 of 2 opened, 1 skipped by their index or bloom filters; 1024 of 2001 rows decoded") {
		t.Errorf("--limit 2 of a file of 2,001 rows: exit %d\n%s", code, errs)
	}
	// A user query reads files twice (traces, then records): counted once.
	code, _, errs = runCmd(t, "query", e.root, "--user", "alice", "--stats")
	if code != exitOK || !strings.Contains(errs, "12 records; data files: 2 of 2 opened, 0 skipped") {
		t.Errorf("--user --stats: exit %d %s", code, errs)
	}
}

// TestPending: records acknowledged into the write-ahead log but not yet
// sealed are reported by query and verify (note on stderr, "pending" in
// verify --json), never silently absent.
func TestPending(t *testing.T) {
	e := newCLIEnv(t)
	opened := time.Now().Add(-90 * time.Second)
	seg := filepath.Join(e.root, filepath.FromSlash(archive.WALPath("host-a", opened)))
	os.MkdirAll(filepath.Dir(seg), 0o700)
	b := []byte(archive.WALMagic)
	for _, payload := range []string{"batch-1", "batch-2"} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
		b = binary.BigEndian.AppendUint32(b, 0)
		b = append(b, payload...)
	}
	os.WriteFile(seg, b, 0o600)

	_, _, errs := runCmd(t, "query", e.root, "--user", "alice")
	if want := "note: 2 batch(es) of records acknowledged but not sealed yet (write-ahead log: 1 segment(s), "; !strings.HasPrefix(errs, want) ||
		!strings.Contains(errs, "oldest opened 1m30s ago") {
		t.Errorf("query: stderr %q, want %q… oldest opened 1m30s ago", errs, want)
	}
	_, out, errs := runCmd(t, "verify", "--json", "--key", e.pub, e.root)
	var rep struct{ Pending archive.Pending }
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Pending.Entries != 2 || rep.Pending.Segments != 1 ||
		!strings.HasPrefix(errs, "note: 2 batch(es) of records acknowledged") {
		t.Errorf("verify --json: pending %+v (%v), stderr %q", rep.Pending, err, errs)
	}
	// An archive whose first file is not sealed yet holds only wal/: not
	// "no archive", but nothing verified yet and the note.
	walOnly := filepath.Join(e.dir, "fresh")
	os.MkdirAll(filepath.Join(walOnly, filepath.Dir(filepath.FromSlash(archive.WALPath("host-a", opened)))), 0o700)
	os.WriteFile(filepath.Join(walOnly, filepath.FromSlash(archive.WALPath("host-a", opened))), b, 0o600)
	if code, out, errs := runCmd(t, "query", walOnly); code != exitOK || !strings.HasPrefix(out, "time ") || !strings.HasPrefix(errs, "note: 2 batch(es)") {
		t.Errorf("query of a WAL-only archive: exit %d\n%s%s", code, out, errs)
	}
	// No WAL, no note.
	os.RemoveAll(filepath.Join(e.root, archive.WALDir))
	if _, _, errs := runCmd(t, "query", e.root); errs != "" {
		t.Errorf("no WAL: stderr %q", errs)
	}
}

// TestProofJSON: a proof holds ids, epochs and sizes as strings, times as
// RFC 3339 and every hash in hex; a v1 proof (numbers, base64) still
// verifies.
func TestProofJSON(t *testing.T) {
	e := newCLIEnv(t)
	code, out, errs := runCmd(t, "prove", e.root, "--record", "rec-007")
	if code != exitOK {
		t.Fatal(errs)
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	r := p["record"].(map[string]any)
	if p["leaf_index"] != "7" || p["tree_size"] != "12" || r["epoch"] != "1000" || r["leaf_index"] != "7" ||
		r["leaf_hash"] != p["leaf_hash"] || len(p["leaf_hash"].(string)) != 64 {
		t.Errorf("proof JSON: leaf_index %v tree_size %v record epoch %v leaf_index %v leaf_hash %v / %v",
			p["leaf_index"], p["tree_size"], r["epoch"], r["leaf_index"], r["leaf_hash"], p["leaf_hash"])
	}
	if st, _ := r["start_time"].(string); !strings.HasPrefix(st, "2026-11-26T10:01:00.") || len(st) != len("2026-11-26T10:01:00.000000007Z") {
		t.Errorf("start_time %v, want RFC 3339 with nanoseconds", r["start_time"])
	}

	// The same proof in the v1 form.
	h, _ := hex.DecodeString(r["leaf_hash"].(string))
	st, _ := time.Parse(time.RFC3339Nano, r["start_time"].(string))
	p["format"], p["leaf_index"], p["tree_size"] = "govaudit-inclusion-proof/v1", 7, 12
	r["epoch"], r["leaf_index"], r["leaf_hash"], r["start_time"] = 1000, 7, base64.StdEncoding.EncodeToString(h), st.UnixNano()
	b, _ := json.Marshal(p)
	v1 := filepath.Join(e.dir, "v1.json")
	os.WriteFile(v1, b, 0o644)
	if code, out, _ := runCmd(t, "verify-proof", "--key", e.pub, v1); code != exitOK {
		t.Errorf("v1 proof: exit %d %s", code, out)
	}
}

// TestSummaryCollapse: under a wrong key (no manifest verifies) the
// summary prints uncovered_file once with a count, as it does signature
// failures; when manifests verify, each uncovered file keeps its own line.
func TestSummaryCollapse(t *testing.T) {
	uncovered := func(f string) verify.Problem {
		return verify.Problem{Kind: verify.KindUncoveredFile, File: f, Row: -1, Message: "file is listed by no manifest"}
	}
	sig := verify.Problem{Kind: verify.KindManifestSignature, File: "manifests/o/0", Row: -1, Message: "manifest does not verify"}
	for _, c := range []struct {
		name     string
		rep      verify.Report
		want     []string
		wantNone string
	}{
		{"wrong key", verify.Report{Files: 2, Problems: []verify.Problem{sig, sig, uncovered("a"), uncovered("b"), uncovered("c")}},
			[]string{"archive A: 2 files, 0 records, 0 checkpoints, 0 manifests (0 files digested)\n",
				"\nFAIL manifest_signature: manifest does not verify [manifests/o/0]\nFAIL manifest_signature: 1 more manifests do not verify with the trusted keys\n",
				"\nFAIL uncovered_file: file is listed by no manifest [a]\nFAIL uncovered_file: 2 more files are listed by no manifest that verifies with the trusted keys\n"},
			"[b]"},
		{"stray files", verify.Report{Files: 2, Manifests: 3, DigestedFiles: 9, Problems: []verify.Problem{uncovered("a"), uncovered("b")}},
			[]string{": 2 files, 0 records, 0 checkpoints, 3 manifests (9 files digested)\n", "[a]\nFAIL uncovered_file: file is listed by no manifest [b]\n"},
			" more "},
	} {
		var b strings.Builder
		printSummary(&b, "A", &c.rep, "")
		for _, w := range c.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: summary\n%s\nwant it to contain %q", c.name, b.String(), w)
			}
		}
		if strings.Contains(b.String(), c.wantNone) {
			t.Errorf("%s: summary\n%s\nwant no %q", c.name, b.String(), c.wantNone)
		}
	}
}
