package auditsignprocessor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/govaudit/govaudit/internal/auditlog"
)

// stateKey is the storage key of the processor's state.
const stateKey = "auditsign.state"

// stateVersion is the version of the state encoding; a breaking change gets
// a new version, and a state of an unknown version counts as corrupt.
const stateVersion = 1

// A state is what the processor persists through the storage extension: the
// position of its log and whether records may have been released beyond it.
//
// Encoding: a JSON object
//
//	{"version":1,"origin":"host-1","epoch":1767225600000000000,"size":42,
//	 "hashes":["<base64>",...],"last_checkpoint":"<signed note>","dirty":true,
//	 "acknowledged_size":40,"acknowledged_root":"<base64>",
//	 "epoch_start":"<base64 OTLP logs>"}
//
// hashes are the compact range [0, size) of the epoch's tree (one hash per
// set bit of size, largest subtree first; see auditlog.Tree.Hashes). The
// acknowledged head and epoch_start are present only in a dirty state.
type state struct {
	Version int    `json:"version"`
	Origin  string `json:"origin"`
	Epoch   uint64 `json:"epoch"`
	Size    uint64 `json:"size"`
	// Hashes is the compact range of the tree of Size leaves.
	Hashes [][]byte `json:"hashes"`
	// LastCheckpoint is the signed note of the last checkpoint this origin
	// signed, in this epoch or, before the epoch's first checkpoint, in an
	// earlier one. Empty if none is known.
	LastCheckpoint string `json:"last_checkpoint,omitempty"`
	// Dirty is true while records with leaf indexes up to Size may have been
	// released downstream without the processor learning whether they were
	// accepted: a state still dirty at start cannot be resumed.
	Dirty bool `json:"dirty"`
	// AcknowledgedSize and AcknowledgedRoot are, in a dirty state, the tree
	// head of the leaves accepted downstream before the batch in flight:
	// after a crash the archive holds either these leaves or all Size (the
	// batch is one write-ahead log entry), which the next epoch's start
	// record lets verify check (auditlog.EpochLink). A state written by an
	// older version has no acknowledged head.
	AcknowledgedSize uint64 `json:"acknowledged_size,omitempty"`
	AcknowledgedRoot []byte `json:"acknowledged_root,omitempty"`
	// EpochStart is, while the epoch's start record (leaf 0) is in flight,
	// that record as OTLP logs protobuf: a restart emits the very same
	// record again (the exporter recognises a redelivery by its record id),
	// so a refused or interrupted start record never costs the link to the
	// previous epoch.
	EpochStart []byte `json:"epoch_start,omitempty"`
}

func (s *state) marshal() []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // only plain fields: cannot fail
	}
	return b
}

// unmarshalState decodes and checks a state: it rejects unknown versions and
// fields, an invalid origin, a zero epoch and hashes that do not form the
// compact range of Size leaves. It returns the tree the state describes.
func unmarshalState(b []byte) (*state, *auditlog.Tree, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s state
	if err := dec.Decode(&s); err != nil {
		return nil, nil, fmt.Errorf("state: %w", err)
	}
	if dec.More() {
		return nil, nil, errors.New("state: trailing data")
	}
	if s.Version != stateVersion {
		return nil, nil, fmt.Errorf("state: version %d, want %d", s.Version, stateVersion)
	}
	if err := auditlog.ValidOrigin(s.Origin); err != nil {
		return nil, nil, fmt.Errorf("state: %w", err)
	}
	if s.Epoch == 0 {
		return nil, nil, errors.New("state: epoch is 0")
	}
	for i, h := range s.Hashes {
		if len(h) != 32 {
			return nil, nil, fmt.Errorf("state: hash %d has %d bytes, want 32", i, len(h))
		}
	}
	if s.AcknowledgedRoot != nil && (len(s.AcknowledgedRoot) != 32 || s.AcknowledgedSize > s.Size) {
		return nil, nil, fmt.Errorf("state: acknowledged head (size %d, %d-byte root) does not fit a tree of size %d", s.AcknowledgedSize, len(s.AcknowledgedRoot), s.Size)
	}
	if s.EpochStart != nil && (!s.Dirty || s.Size != 1) {
		return nil, nil, errors.New("state: epoch_start is only kept while leaf 0 is in flight (dirty, size 1)")
	}
	tree, err := auditlog.RestoreTree(s.Size, s.Hashes)
	if err != nil {
		return nil, nil, fmt.Errorf("state: tree of size %d: %w", s.Size, err)
	}
	if s.LastCheckpoint != "" {
		cp, err := auditlog.ParseUnverified(s.LastCheckpoint)
		if err != nil {
			return nil, nil, fmt.Errorf("state: last_checkpoint: %w", err)
		}
		// A checkpoint of this epoch must describe a prefix of the tree; at
		// the tree's own size, the tree itself.
		if cp.Origin == s.Origin && cp.Epoch == s.Epoch {
			if cp.Size > s.Size {
				return nil, nil, fmt.Errorf("state: last_checkpoint size %d exceeds tree size %d", cp.Size, s.Size)
			}
			if cp.Size == s.Size && !bytes.Equal(cp.Root, tree.Root()) {
				return nil, nil, fmt.Errorf("state: last_checkpoint root %x differs from tree root %x at size %d", cp.Root, tree.Root(), s.Size)
			}
		}
	}
	return &s, tree, nil
}
