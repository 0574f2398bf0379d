package auditlog

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// A TreeHead is the size and root of a tree, unsigned on its own.
type TreeHead struct {
	Size uint64
	Root []byte
}

// An EpochLink is what the first record (leaf 0, the epoch start record) of
// an epoch says about the epoch before it. It lives in that record's
// attributes, so the new epoch's signed checkpoints cover it: it is how the
// tail of an epoch cut by a crash or a downstream failure, after its last
// checkpoint, gets covered by a signature.
//
// The processor persists, before it releases a batch, the tree head of every
// leaf already acknowledged downstream (Acknowledged) and the tree head
// including the batch in flight (Released). Whatever happened to the batch,
// the archive of the previous epoch then holds exactly Acknowledged.Size
// leaves with that root (the batch was not archived) or Released.Size leaves
// with that root (it was): verify accepts either, and nothing else.
//
// Encoding, inside the record's canonical JSON attributes (all numbers as
// canonical decimal strings, roots as lowercase hex):
//
//	{"reason":"dirty_state","previous_epoch":"1767225600000000000",
//	 "acknowledged_size":"40","acknowledged_root":"<hex>",
//	 "released_size":"42","released_root":"<hex>"}
//
// Every key but reason is optional: a link from a state that was lost names
// no heads, and an older state may know only the released head.
type EpochLink struct {
	// Reason says why the epoch was opened (dirty_state, downstream_error, ...).
	Reason string
	// PreviousEpoch is the epoch this one follows; 0 if unknown.
	PreviousEpoch uint64
	// Acknowledged is the previous epoch's tree of the leaves accepted
	// downstream; Released also counts the batch in flight. Nil if unknown.
	Acknowledged *TreeHead
	Released     *TreeHead
}

// Attribute keys of an epoch start record that carry the link.
const (
	LinkReason           = "reason"
	LinkPreviousEpoch    = "previous_epoch"
	LinkAcknowledgedSize = "acknowledged_size"
	LinkAcknowledgedRoot = "acknowledged_root"
	LinkReleasedSize     = "released_size"
	LinkReleasedRoot     = "released_root"
)

// Attributes returns the link as attribute values (strings only), to be
// merged into the epoch start record's attributes.
func (l EpochLink) Attributes() map[string]any {
	m := map[string]any{}
	if l.Reason != "" {
		m[LinkReason] = l.Reason
	}
	if l.PreviousEpoch != 0 {
		m[LinkPreviousEpoch] = strconv.FormatUint(l.PreviousEpoch, 10)
	}
	put := func(sizeKey, rootKey string, h *TreeHead) {
		if h != nil {
			m[sizeKey] = strconv.FormatUint(h.Size, 10)
			m[rootKey] = hex.EncodeToString(h.Root)
		}
	}
	put(LinkAcknowledgedSize, LinkAcknowledgedRoot, l.Acknowledged)
	put(LinkReleasedSize, LinkReleasedRoot, l.Released)
	return m
}

// ErrMalformedLink is wrapped by ParseEpochLink's errors.
var ErrMalformedLink = errors.New("malformed epoch link")

// ParseEpochLink reads the link from the attributes JSON of an epoch start
// record. Attributes without link keys give an empty link; a link key with a
// malformed value, a size without its root or a root that is not 32 bytes is
// an error wrapping ErrMalformedLink.
func ParseEpochLink(attributesJSON string) (EpochLink, error) {
	var l EpochLink
	if attributesJSON == "" {
		return l, nil
	}
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader([]byte(attributesJSON)))
	if err := dec.Decode(&m); err != nil {
		return l, fmt.Errorf("%w: attributes: %v", ErrMalformedLink, err)
	}
	str := func(key string) (string, bool, error) {
		raw, ok := m[key]
		if !ok {
			return "", false, nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", true, fmt.Errorf("%w: %s is not a string", ErrMalformedLink, key)
		}
		return s, true, nil
	}
	num := func(key string) (uint64, bool, error) {
		s, ok, err := str(key)
		if !ok || err != nil {
			return 0, ok, err
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || strconv.FormatUint(n, 10) != s {
			return 0, true, fmt.Errorf("%w: %s %q is not a canonical decimal number", ErrMalformedLink, key, s)
		}
		return n, true, nil
	}
	head := func(sizeKey, rootKey string) (*TreeHead, error) {
		size, hasSize, err := num(sizeKey)
		if err != nil {
			return nil, err
		}
		root, hasRoot, err := str(rootKey)
		if err != nil {
			return nil, err
		}
		if hasSize != hasRoot {
			return nil, fmt.Errorf("%w: %s and %s come together", ErrMalformedLink, sizeKey, rootKey)
		}
		if !hasSize {
			return nil, nil
		}
		b, err := hex.DecodeString(root)
		if err != nil || len(b) != 32 || hex.EncodeToString(b) != root {
			return nil, fmt.Errorf("%w: %s is not 32 bytes of lowercase hex", ErrMalformedLink, rootKey)
		}
		return &TreeHead{Size: size, Root: b}, nil
	}
	var err error
	if l.Reason, _, err = str(LinkReason); err != nil {
		return EpochLink{}, err
	}
	if l.PreviousEpoch, _, err = num(LinkPreviousEpoch); err != nil {
		return EpochLink{}, err
	}
	if l.Acknowledged, err = head(LinkAcknowledgedSize, LinkAcknowledgedRoot); err != nil {
		return EpochLink{}, err
	}
	if l.Released, err = head(LinkReleasedSize, LinkReleasedRoot); err != nil {
		return EpochLink{}, err
	}
	if l.Acknowledged != nil && l.Released != nil && l.Acknowledged.Size > l.Released.Size {
		return EpochLink{}, fmt.Errorf("%w: acknowledged size %d exceeds released size %d", ErrMalformedLink, l.Acknowledged.Size, l.Released.Size)
	}
	return l, nil
}
