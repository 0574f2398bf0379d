package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/auditlog"
	provepkg "github.com/govaudit/govaudit/internal/verify/prove"
	"github.com/govaudit/govaudit/pkg/proof"
)

// The proof format is pkg/proof's (documented and versioned there); the CLI
// names it as it did.
const (
	ProofFormat   = proof.Format
	proofFormatV1 = proof.FormatV1
)

// InclusionProof is proof.Inclusion.
type InclusionProof = proof.Inclusion

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

// prove finds record id and returns its inclusion proof against the
// checkpoint of the given size (0: the largest of its log): see
// internal/verify/prove for what it reads and how nothing read is trusted.
func prove(root, id string, size uint64) (*InclusionProof, error) {
	return provepkg.Record(root, id, size)
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

// MaxProofSize bounds a proof file (proof.MaxSize).
const MaxProofSize = proof.MaxSize

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

// parseProof decodes a proof strictly (proof.Parse).
func parseProof(b []byte) (*InclusionProof, error) { return proof.Parse(b) }

// checkProof checks p against the trusted keys and returns its checkpoint
// (proof.Verify).
func checkProof(p *InclusionProof, trusted note.Verifiers) (auditlog.Checkpoint, error) {
	return proof.Verify(p, trusted)
}
