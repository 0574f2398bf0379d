// Package proof is govaudit's inclusion proof: the format `govaudit prove`
// writes and `govaudit verify-proof` checks, for an auditor's own tool to
// check (Parse, Verify) or build (New, AuditPath) without the CLI.
//
// # Format
//
// A proof is one JSON object (Inclusion), at most MaxSize bytes, no
// unknown field, nothing after it:
//
//	{
//	  "format":     "govaudit-inclusion-proof/v2",
//	  "record":     { the record in its JSON form (record_id, origin, epoch, leaf_index, ...) },
//	  "leaf_index": "7",            decimal string (v1: a number; both read)
//	  "tree_size":  "12",           decimal string (v1: a number; both read)
//	  "leaf_hash":  "<64 hex>",     SHA-256(0x00 || canonical record bytes), RFC 6962
//	  "audit_path": ["<64 hex>", ...],  at most 64 hashes, leaf to root
//	  "checkpoint": "<C2SP signed note>"  origin/epoch, size, root, signatures
//	}
//
// Version 2 (Format) writes leaf_index, tree_size and the record's ids and
// epoch as decimal strings, times as RFC 3339 and every hash as hex; a
// version 1 proof (FormatV1: numbers, base64 leaf_hash in the record) still
// parses and verifies. A later version gets a new format name; Verify
// refuses names it does not know.
//
// # What Verify checks
//
// The checkpoint's signature with the trusted keys; that the record is a
// leaf of the checkpoint's (origin, epoch) at leaf_index, with tree_size the
// checkpoint's size; the leaf hash recomputed from the record's content
// (never taken from the proof); and the RFC 6962 audit path from that hash
// to the checkpoint's root (transparency-dev/merkle). A proof says nothing
// about records other than its own.
package proof

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/transparency-dev/merkle/compact"
	mproof "github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

// Format names the proof format New writes; FormatV1 the earlier one,
// which Parse and Verify still accept.
const (
	Format   = "govaudit-inclusion-proof/v2"
	FormatV1 = "govaudit-inclusion-proof/v1"
)

// MaxSize bounds a proof: a record (its content fields included), at most
// MaxPath audit path hashes and a signed note.
const MaxSize = 16 << 20

// MaxPath is the longest audit path: that of a tree of 2^64 leaves.
const MaxPath = 64

// An Inclusion is self-contained evidence that a record is leaf LeafIndex
// of the log its checkpoint signs (see the package doc).
type Inclusion struct {
	Format     string            `json:"format"`
	Record     record.Record     `json:"record"`
	LeafIndex  record.JSONUint64 `json:"leaf_index"`
	TreeSize   record.JSONUint64 `json:"tree_size"`
	LeafHash   string            `json:"leaf_hash"`
	AuditPath  []string          `json:"audit_path"`
	Checkpoint string            `json:"checkpoint"`
}

// A Checkpoint is a verified checkpoint: origin, epoch, size, root and the
// name of the key that signed it.
type Checkpoint = auditlog.Checkpoint

// Parse decodes a proof strictly: one JSON object of the proof format, no
// unknown fields, nothing after it (a second object appended to a valid
// proof must not pass unseen), at most MaxSize bytes and MaxPath hashes.
// It does not verify anything: call Verify.
func Parse(b []byte) (*Inclusion, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%d bytes, a proof has at most %d", len(b), MaxSize)
	}
	var p Inclusion
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the proof")
	}
	if len(p.AuditPath) > MaxPath {
		return nil, fmt.Errorf("audit path of %d hashes, a tree of 2^64 leaves needs at most %d", len(p.AuditPath), MaxPath)
	}
	return &p, nil
}

// Verify checks p with the trusted keys (see the package doc) and returns
// its checkpoint. A nil error means the record is in the signed tree.
func Verify(p *Inclusion, trusted note.Verifiers) (Checkpoint, error) {
	if p.Format != Format && p.Format != FormatV1 {
		return Checkpoint{}, fmt.Errorf("format %q, want %q", p.Format, Format)
	}
	if len(p.AuditPath) > MaxPath {
		return Checkpoint{}, fmt.Errorf("audit path of %d hashes, at most %d", len(p.AuditPath), MaxPath)
	}
	cp, err := auditlog.Open(p.Checkpoint, trusted)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
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

// A NodeID names a node of the tree: the root of the perfect subtree over
// leaves [Index<<Level, (Index+1)<<Level).
type NodeID = compact.NodeID

// A NodeFetcher returns the hashes of the given nodes, in order, as
// transparency-dev/merkle's proof.Nodes names them. A log server answers
// from its stored nodes; FromLeaves computes them from leaf hashes.
type NodeFetcher func(ids []NodeID) ([][]byte, error)

// AuditPath returns the RFC 6962 audit path of leaf index in the tree of
// size, from the node hashes fetch returns (proof.Inclusion names them,
// proof.Nodes.Rehash combines those at the right border).
func AuditPath(index, size uint64, fetch NodeFetcher) ([][]byte, error) {
	nodes, err := mproof.Inclusion(index, size)
	if err != nil {
		return nil, err
	}
	hashes, err := fetch(nodes.IDs)
	if err != nil {
		return nil, err
	}
	if len(hashes) != len(nodes.IDs) {
		return nil, fmt.Errorf("fetched %d node hashes, want %d", len(hashes), len(nodes.IDs))
	}
	for i, h := range hashes {
		if len(h) != 32 {
			return nil, fmt.Errorf("node %+v: hash of %d bytes", nodes.IDs[i], len(h))
		}
	}
	return nodes.Rehash(hashes, auditlog.Hasher.HashChildren)
}

// A LeafFunc calls yield with the leaf hashes of leaves [begin, end), in
// order, or returns an error (a leaf missing).
type LeafFunc func(begin, end uint64, yield func(hash []byte)) error

// FromLeaves returns a NodeFetcher that computes each node from the leaf
// hashes of its range. The ranges of one audit path are disjoint: building
// a proof reads each leaf of the tree (but the proven one) at most once.
func FromLeaves(leaves LeafFunc) NodeFetcher {
	return func(ids []NodeID) ([][]byte, error) {
		out := make([][]byte, len(ids))
		for i, id := range ids {
			if id.Level >= 64 {
				return nil, fmt.Errorf("node %+v out of range", id)
			}
			begin, end := id.Coverage()
			// The node is the root of a perfect subtree: that of its
			// leaves alone, hashed as a tree of their own.
			rf := compact.RangeFactory{Hash: auditlog.Hasher.HashChildren}
			r := rf.NewEmptyRange(0)
			var appendErr error
			if err := leaves(begin, end, func(h []byte) {
				if appendErr == nil {
					appendErr = r.Append(h, nil)
				}
			}); err != nil {
				return nil, err
			}
			if appendErr != nil {
				return nil, appendErr
			}
			if r.End() != end-begin {
				return nil, fmt.Errorf("node %+v: %d of %d leaves", id, r.End(), end-begin)
			}
			root, err := r.GetRootHash(nil)
			if err != nil {
				return nil, err
			}
			out[i] = root
		}
		return out, nil
	}
}

// New returns the proof that r is leaf r.LeafIndex of the tree of
// checkpoint (its signed note, of r's log), with the audit path from
// fetch. It checks r's stored leaf hash against its content and the
// path against the checkpoint's root before returning: New never hands out
// a proof that does not check. (It does not check the checkpoint's
// signature: Verify does, with the keys the reader trusts.)
func New(r record.Record, checkpoint string, fetch NodeFetcher) (*Inclusion, error) {
	cp, err := auditlog.ParseUnverified(checkpoint)
	if err != nil {
		return nil, err
	}
	if !r.IsLeaf() || r.Origin != cp.Origin || r.Epoch != cp.Epoch || r.LeafIndex >= cp.Size {
		return nil, fmt.Errorf("record %s (leaf %d of %s) is not in checkpoint %s at size %d",
			r.ID, r.LeafIndex, auditlog.LogID(r.Origin, r.Epoch), auditlog.LogID(cp.Origin, cp.Epoch), cp.Size)
	}
	if err := r.CheckLeafHash(); err != nil {
		return nil, fmt.Errorf("record %s: %w", r.ID, err)
	}
	path, err := AuditPath(r.LeafIndex, cp.Size, fetch)
	if err != nil {
		return nil, err
	}
	if err := auditlog.VerifyInclusion(r.LeafIndex, cp.Size, r.LeafHash, path, cp.Root); err != nil {
		return nil, fmt.Errorf("leaves do not match checkpoint %s at size %d: %w",
			auditlog.LogID(cp.Origin, cp.Epoch), cp.Size, err)
	}
	p := &Inclusion{Format: Format, Record: r, LeafIndex: record.JSONUint64(r.LeafIndex), TreeSize: record.JSONUint64(cp.Size),
		LeafHash: hex.EncodeToString(r.LeafHash), Checkpoint: checkpoint}
	for _, h := range path {
		p.AuditPath = append(p.AuditPath, hex.EncodeToString(h))
	}
	return p, nil
}
