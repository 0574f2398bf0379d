// Package auditlog is govaudit's transparency log: RFC 6962 Merkle trees of
// record leaf hashes, one per (origin, epoch), and their signed checkpoints.
// The auditsign processor builds trees and signs checkpoints with it; the
// govaudit command verifies archives and proofs with it. Proofs and their
// verification come from github.com/transparency-dev/merkle, checkpoints
// from github.com/transparency-dev/formats and signed notes from
// golang.org/x/mod/sumdb/note.
//
// # Checkpoints
//
// A checkpoint is a C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint)
// signed as a note (https://c2sp.org/signed-note) with an Ed25519 key:
//
//	<origin>/<epoch>\n
//	<tree size, decimal>\n
//	<root hash, base64>\n
//	\n
//	— <key name> <base64(key hash || signature)>\n
//
// The checkpoint origin line joins the collector's origin (a name such as
// "collector-1.example.com", see ValidOrigin) and the epoch (a decimal
// number, unique per origin: the Unix time in nanoseconds when the epoch was
// opened). Each epoch is a separate log starting at leaf 0.
//
// # Keys
//
// Keys use the note formats: "PRIVATE+KEY+<name>+<hash>+<base64>" for the
// signer and "<name>+<hash>+<base64>" for the verifier. Key rotation: a new key
// signs from the moment it is installed; each checkpoint names its key, and
// verifiers accept any key of a trusted set.
package auditlog
