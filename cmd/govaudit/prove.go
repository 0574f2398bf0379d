package main

import (
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
// checkpoint of the given size (0: the largest of its log).
//
// It reads the data files in archive order, skipping those whose Parquet
// bloom filter on record_id says the id is not there (archive.MayHoldID),
// until it finds the record (archive.FindRecord: the record_id column,
// then that one row). It then collects the leaf hashes of the record's log
// only (32 bytes a leaf; archive.DecodeLeaves reads the columns that place
// a row in its log, nothing else), from the files of the
// record's origin whose audit index says they may hold leaves of its epoch,
// and the log's checkpoints (rows and files), and builds the audit path
// from node hashes (proof.FromLeaves, proof.AuditPath). Nothing read is
// trusted: proof.New checks the record's leaf hash and the path against
// the checkpoint's root before a proof is written, and if the indexes led
// to leaves that do not match, every file of the origin is read again
// without them.
func prove(root, id string, size uint64) (*InclusionProof, error) {
	files, err := archive.DataFiles(root)
	if err != nil {
		return nil, err
	}
	var target *record.Record
	for _, p := range files {
		data, err := archive.ReadDataFile(root, p)
		if err != nil {
			return nil, err
		}
		if !archive.MayHoldID(data, "record_id", id) {
			continue
		}
		if target, err = archive.FindRecord(p, data, id); err != nil {
			return nil, err
		}
		if target != nil {
			break
		}
	}
	if target == nil {
		return nil, fmt.Errorf("record %s not found in %s", id, root)
	}
	if err := target.CheckLeafHash(); err != nil {
		return nil, fmt.Errorf("record %s: %w (run govaudit verify)", id, err)
	}
	p, err := proveIn(root, files, target, size, true)
	if err != nil && errors.Is(err, errIndexed) {
		p, err = proveIn(root, files, target, size, false)
	}
	return p, err
}

// errIndexed marks a failure that reading files the indexes skipped may
// cure.
var errIndexed = errors.New("indexes consulted")

// proveIn builds target's proof from the files of its origin (those the
// audit index says may hold its epoch's leaves, when useIndex).
func proveIn(root string, files []string, target *record.Record, size uint64, useIndex bool) (*InclusionProof, error) {
	id := auditlog.LogID(target.Origin, target.Epoch)
	// Leaves come in order: a slice for the contiguous prefix, a map for
	// any other (a damaged archive's).
	var dense [][32]byte
	sparse := map[uint64][32]byte{}
	checkpoints := map[uint64]string{}
	skipped := 0
	for _, p := range files {
		if o, _, err := archive.ParseDataPath(p); err == nil && o != target.Origin {
			continue
		}
		if useIndex {
			if ix, err := archive.ReadIndex(root, p); err == nil && !holdsEpoch(ix, target.Epoch) {
				skipped++
				continue
			}
		}
		data, err := archive.ReadDataFile(root, p)
		if err != nil {
			return nil, err
		}
		// Only the columns that place a row in its log are decoded.
		err = archive.DecodeLeaves(p, data, func(r *archive.LeafRow) {
			if r.Origin != target.Origin || r.Epoch != target.Epoch {
				return
			}
			if r.Type == record.TypeCheckpoint {
				if cp, err := auditlog.ParseUnverified(r.Checkpoint); err == nil {
					checkpoints[cp.Size] = r.Checkpoint
				}
				return
			}
			if len(r.LeafHash) != 32 {
				return
			}
			if r.LeafIndex == uint64(len(dense)) {
				dense = append(dense, [32]byte(r.LeafHash))
			} else if _, dup := sparse[r.LeafIndex]; !dup && r.LeafIndex > uint64(len(dense)) {
				sparse[r.LeafIndex] = [32]byte(r.LeafHash)
			}
		})
		if err != nil {
			return nil, err
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
	retry := func(err error) error {
		if skipped > 0 {
			return fmt.Errorf("%w: %w", errIndexed, err)
		}
		return err
	}
	if size == 0 {
		for s := range checkpoints {
			size = max(size, s)
		}
	}
	note, ok := checkpoints[size]
	if !ok || size <= target.LeafIndex {
		return nil, retry(fmt.Errorf("no checkpoint of %s at size %d covers leaf %d (is the record unsealed?)",
			id, size, target.LeafIndex))
	}
	fetch := proof.FromLeaves(func(begin, end uint64, yield func([]byte)) error {
		for i := begin; i < end; i++ {
			h, ok := sparse[i]
			if i < uint64(len(dense)) {
				h, ok = dense[i], true
			}
			if !ok {
				return retry(fmt.Errorf("leaf %d of %s is missing from the archive (run govaudit verify)", i, id))
			}
			yield(h[:])
		}
		return nil
	})
	p, err := proof.New(*target, note, fetch)
	if err != nil {
		return nil, retry(fmt.Errorf("%w (run govaudit verify)", err))
	}
	return p, nil
}

// holdsEpoch reports whether the index says its file may hold leaves or
// checkpoints of epoch.
func holdsEpoch(ix *archive.Index, epoch uint64) bool {
	for _, e := range ix.Epochs {
		if e.Epoch == epoch {
			return true
		}
	}
	for _, c := range ix.Checkpoints {
		if c.Epoch == epoch {
			return true
		}
	}
	return false
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
