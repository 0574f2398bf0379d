package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

// ProofFormat names the inclusion proof format written by prove. v2
// writes leaf_index, tree_size and the record's ids and epoch as decimal
// strings, times as RFC 3339 and every hash as hex (the record's JSON
// form); a v1 proof (numbers, base64 leaf_hash in the record) still
// verifies.
const (
	ProofFormat   = "govaudit-inclusion-proof/v2"
	proofFormatV1 = "govaudit-inclusion-proof/v1"
)

// An InclusionProof is self-contained evidence that a record is leaf
// LeafIndex of the log its checkpoint signs: recompute the record's leaf
// hash, check the audit path against the checkpoint root (RFC 6962), and
// check the checkpoint's signature with a trusted key.
type InclusionProof struct {
	Format     string            `json:"format"`
	Record     record.Record     `json:"record"`
	LeafIndex  record.JSONUint64 `json:"leaf_index"`
	TreeSize   record.JSONUint64 `json:"tree_size"`
	LeafHash   string            `json:"leaf_hash"`
	AuditPath  []string          `json:"audit_path"`
	Checkpoint string            `json:"checkpoint"`
}

var cmdProve = &command{
	name:      "prove",
	usageLine: "prove ARCHIVE_DIR --record ID [--checkpoint latest|SIZE] [--out FILE]",
	short:     "write a self-contained inclusion proof (record, leaf index, audit path, signed checkpoint) as JSON",
	long: `The record id comes from govaudit query (its record_id column, or
query --format json). The record must be sealed and covered by a
checkpoint: right after it was sent, wait for the exporter to seal its file.
Hashes in the proof are hex; check it with govaudit verify-proof.`,
	example: `govaudit query ./data/audit --user alice --limit 1 --format json
govaudit prove ./data/audit --record 0193a5c0-... --out proof.json`,
	run: runProve,
}

func runProve(c *command, args []string, stdout, stderr io.Writer) int {
	fs := c.newFlagSet(stderr)
	id := fs.String("record", "", "record id to prove (required)")
	which := fs.String("checkpoint", "latest", "checkpoint to prove against: latest, or a tree SIZE of the record's log")
	out := fs.String("out", "", "write the proof to FILE instead of stdout")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if *id == "" {
		return c.usageError(stderr, "--record is required")
	}
	if len(pos) != 1 {
		return c.usageError(stderr, "want one ARCHIVE_DIR, got %d arguments", len(pos))
	}
	if err := checkArchive(pos[0]); err != nil {
		fmt.Fprintf(stderr, "govaudit prove: %v\n", err)
		return exitUsage
	}
	var size uint64
	if *which != "latest" {
		n, err := strconv.ParseUint(*which, 10, 64)
		if err != nil {
			fmt.Fprintf(stderr, "govaudit prove: --checkpoint %q: want latest or a tree size\n", *which)
			return exitUsage
		}
		size = n
	}
	p, err := prove(pos[0], *id, size)
	if err != nil {
		fmt.Fprintf(stderr, "govaudit prove: %v\n", err)
		return exitFailed
	}
	b, _ := json.MarshalIndent(p, "", "  ")
	b = append(b, '\n')
	if *out != "" {
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			fmt.Fprintf(stderr, "govaudit prove: %v\n", err)
			return exitUsage
		}
		fmt.Fprintf(stderr, "wrote inclusion proof of record %s (leaf %d of %s, tree size %d) to %s\n",
			*id, p.LeafIndex, auditlog.LogID(p.Record.Origin, p.Record.Epoch), p.TreeSize, *out)
		return exitOK
	}
	stdout.Write(b)
	return exitOK
}

// prove finds record id, rebuilds its log's leaves and returns its inclusion
// proof against the checkpoint of the given size (0: the largest covering it).
func prove(root, id string, size uint64) (*InclusionProof, error) {
	files, err := archive.DataFiles(root)
	if err != nil {
		return nil, err
	}
	var target *record.Record
	leaves := map[uint64][]byte{}
	checkpoints := map[uint64]string{}
	var rows [][]record.Record
	for _, p := range files {
		rs, err := archive.ReadRows(root, p)
		if err != nil {
			return nil, err
		}
		rows = append(rows, rs)
		for i := range rs {
			if rs[i].ID == id && rs[i].IsLeaf() {
				target = &rs[i]
			}
		}
	}
	if target == nil {
		return nil, fmt.Errorf("record %s not found in %s", id, root)
	}
	if err := target.CheckLeafHash(); err != nil {
		return nil, fmt.Errorf("record %s: %w (run govaudit verify)", id, err)
	}
	for _, rs := range rows {
		for i := range rs {
			r := &rs[i]
			if r.Origin != target.Origin || r.Epoch != target.Epoch {
				continue
			}
			if r.Type == record.TypeCheckpoint {
				if cp, err := auditlog.ParseUnverified(r.Checkpoint); err == nil {
					checkpoints[cp.Size] = r.Checkpoint
				}
				continue
			}
			leaves[r.LeafIndex] = r.LeafHash
		}
	}
	// Checkpoint files too: the last checkpoint may exist only there.
	if cpFiles, err := archive.CheckpointFiles(root); err == nil {
		for _, p := range cpFiles {
			o, e, s, err := archive.ParseCheckpointPath(p)
			if err != nil || o != target.Origin || e != target.Epoch {
				continue
			}
			if b, err := archive.ReadCheckpointFile(root, p); err == nil {
				checkpoints[s] = string(b)
			}
		}
	}
	if size == 0 {
		for s := range checkpoints {
			size = max(size, s)
		}
	}
	note, ok := checkpoints[size]
	if !ok || size <= target.LeafIndex {
		return nil, fmt.Errorf("no checkpoint of %s at size %d covers leaf %d (is the record unsealed?)",
			auditlog.LogID(target.Origin, target.Epoch), size, target.LeafIndex)
	}
	// The size comes from a checkpoint not yet verified: the archive must
	// hold that many leaves before anything is allocated for them.
	if size > uint64(len(leaves)) {
		return nil, fmt.Errorf("checkpoint of %s at size %d names more leaves than the archive's %d (run govaudit verify)",
			auditlog.LogID(target.Origin, target.Epoch), size, len(leaves))
	}
	hashes := make([][]byte, size)
	for i := range hashes {
		h, ok := leaves[uint64(i)]
		if !ok {
			return nil, fmt.Errorf("leaf %d of %s is missing from the archive (run govaudit verify)", i, auditlog.LogID(target.Origin, target.Epoch))
		}
		hashes[i] = h
	}
	path, err := auditlog.InclusionProof(hashes, target.LeafIndex, size)
	if err != nil {
		return nil, err
	}
	p := &InclusionProof{Format: ProofFormat, Record: *target, LeafIndex: record.JSONUint64(target.LeafIndex), TreeSize: record.JSONUint64(size),
		LeafHash: hex.EncodeToString(target.LeafHash), Checkpoint: note}
	for _, h := range path {
		p.AuditPath = append(p.AuditPath, hex.EncodeToString(h))
	}
	// Never hand out a proof that does not check against its checkpoint's root.
	cp, err := auditlog.ParseUnverified(note)
	if err != nil {
		return nil, err
	}
	if err := auditlog.VerifyInclusion(target.LeafIndex, size, target.LeafHash, path, cp.Root); err != nil {
		return nil, fmt.Errorf("archive does not match checkpoint %s at size %d: %w (run govaudit verify)",
			auditlog.LogID(cp.Origin, cp.Epoch), size, err)
	}
	return p, nil
}

var cmdVerifyProof = &command{
	name:      "verify-proof",
	usageLine: "verify-proof --key FILE [--key FILE]... PROOF.json",
	short:     "check an inclusion proof without the archive (exit 0 valid, 1 invalid)",
	example:   "govaudit verify-proof --key ./data/keys/govaudit-dev.pub proof.json",
	run:       runVerifyProof,
}

func runVerifyProof(c *command, args []string, stdout, stderr io.Writer) int {
	fs := c.newFlagSet(stderr)
	keys := keyFlag(fs)
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(*keys) == 0 {
		return c.usageError(stderr, "--key is required")
	}
	if len(pos) != 1 {
		return c.usageError(stderr, "want one PROOF.json, got %d arguments", len(pos))
	}
	trusted, err := auditlog.LoadVerifiers(*keys...)
	if err != nil {
		fmt.Fprintf(stderr, "govaudit verify-proof: %v\n", err)
		return exitUsage
	}
	b, err := readProofFile(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "govaudit verify-proof: %v\n", err)
		return exitUsage
	}
	p, err := parseProof(b)
	if err != nil {
		fmt.Fprintf(stderr, "govaudit verify-proof: %s: %v\n", pos[0], err)
		return exitFailed
	}
	cp, err := checkProof(p, trusted)
	if err != nil {
		fmt.Fprintf(stdout, "INVALID: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "valid: record %s is leaf %d of %s, included in the tree of size %d signed by %s\n",
		p.Record.ID, p.LeafIndex, auditlog.LogID(cp.Origin, cp.Epoch), cp.Size, cp.KeyName)
	return exitOK
}

// MaxProofSize bounds a proof file. A proof is a record (its content
// fields included), at most 64 audit path hashes and a signed note.
const MaxProofSize = 16 << 20

// readProofFile reads a proof file of at most MaxProofSize bytes. Reading
// stops at the cap, so a device or a pipe that never ends is refused too.
func readProofFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxProofSize {
		return nil, fmt.Errorf("%s: %d bytes, a proof has at most %d", name, fi.Size(), MaxProofSize)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxProofSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxProofSize {
		return nil, fmt.Errorf("%s: more than %d bytes, a proof has at most %d", name, MaxProofSize, MaxProofSize)
	}
	return b, nil
}

// parseProof decodes a proof strictly: one JSON object of the proof
// format, no unknown fields, nothing after it (a second object appended to
// a valid proof must not pass unseen), at most MaxProofSize bytes.
func parseProof(b []byte) (*InclusionProof, error) {
	if len(b) > MaxProofSize {
		return nil, fmt.Errorf("%d bytes, a proof has at most %d", len(b), MaxProofSize)
	}
	var p InclusionProof
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the proof")
	}
	if len(p.AuditPath) > 64 {
		return nil, fmt.Errorf("audit path of %d hashes, a tree of 2^64 leaves needs at most 64", len(p.AuditPath))
	}
	return &p, nil
}

// checkProof checks p against the trusted keys and returns its checkpoint.
func checkProof(p *InclusionProof, trusted note.Verifiers) (auditlog.Checkpoint, error) {
	if p.Format != ProofFormat && p.Format != proofFormatV1 {
		return auditlog.Checkpoint{}, fmt.Errorf("format %q, want %q", p.Format, ProofFormat)
	}
	cp, err := auditlog.Open(p.Checkpoint, trusted)
	if err != nil {
		return auditlog.Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	r := &p.Record
	if !r.IsLeaf() {
		return cp, errors.New("a checkpoint record is not a leaf")
	}
	if r.Origin != cp.Origin || r.Epoch != cp.Epoch {
		return cp, fmt.Errorf("record belongs to %s, checkpoint to %s", auditlog.LogID(r.Origin, r.Epoch), auditlog.LogID(cp.Origin, cp.Epoch))
	}
	if r.LeafIndex != uint64(p.LeafIndex) || uint64(p.TreeSize) != cp.Size {
		return cp, fmt.Errorf("leaf index %d / tree size %d disagree with record leaf %d / checkpoint size %d",
			p.LeafIndex, p.TreeSize, r.LeafIndex, cp.Size)
	}
	leafHash := r.ComputeLeafHash() // from the record's content, not from the proof's claims
	if p.LeafHash != hex.EncodeToString(leafHash) {
		return cp, fmt.Errorf("record content hashes to %x, proof says %s", leafHash, p.LeafHash)
	}
	path := make([][]byte, len(p.AuditPath))
	for i, h := range p.AuditPath {
		if path[i], err = hex.DecodeString(h); err != nil || len(path[i]) != 32 {
			return cp, fmt.Errorf("audit_path[%d] is not a 32-byte hex hash", i)
		}
	}
	if err := auditlog.VerifyInclusion(r.LeafIndex, cp.Size, leafHash, path, cp.Root); err != nil {
		return cp, fmt.Errorf("audit path: %w", err)
	}
	return cp, nil
}
