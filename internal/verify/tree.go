package verify

import (
	"github.com/govaudit/govaudit/internal/auditlog"
)

// HashChildren is RFC 6962's interior node hash, SHA-256(0x01 || left ||
// right) (section 2.1): auditlog.Hasher's, which allocates only its result
// (verify hashes a node for every leaf of the archive, prove for every leaf
// of a file).
func HashChildren(l, r []byte) []byte { return auditlog.Hasher.HashChildren(l, r) }

// A tree is the right edge of an RFC 6962 tree, enough to append leaves and
// compute the root: auditlog.Tree, whose node hashes come from an arena of
// its own (auditlog.NodeArena, one allocation per 128 nodes).
type tree = auditlog.Tree

func newTree() *tree { return auditlog.NewTree() }
