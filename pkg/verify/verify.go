// Package verify verifies a govaudit archive directory, for an auditor's
// own tool: what `govaudit verify` does, as a function (the command uses
// it). pkg/proof checks a single record's inclusion proof without the
// archive.
//
// # What Archive checks
//
// Every byte of every sealed file (data files, indexes, checkpoint files)
// against the SHA-256 digests of the origin's signed manifests, and the
// manifests' chain; every data file's rows, column by column: each leaf's
// hash recomputed from the row's content (the record package's canonical
// encoding) and compared with the stored one, the record's fields checked;
// every (origin, epoch) log rebuilt as an RFC 6962 tree and compared with
// every signed checkpoint (rows, files, the latest pointer, the previous
// epoch named by each epoch's first record, and checkpoints kept outside
// the archive); and that every record is covered by a checkpoint signed
// with a trusted key, or by the next epoch's link. docs/verification.md
// describes each check, the problem kinds and what a limited run proves.
//
// Archive reads the archive and nothing else; it never writes. A hostile
// archive (crafted files, symbolic links, named pipes, sizes that lie)
// gives problems, never a crash, a hang or an unbounded allocation.
// Memory follows the largest data file, not the archive: data files are
// read and checked on GOMAXPROCS workers, at most that many at once, and
// 32 bytes are kept a record.
package verify

import (
	"time"

	"golang.org/x/mod/sumdb/note"

	iverify "github.com/govaudit/govaudit/internal/verify"
	"github.com/govaudit/govaudit/internal/verify/scan"
)

// A Report is the result of Archive: counts, one LogReport a log, and the
// problems found (Report.OK says whether the archive verified). Its JSON
// form is `govaudit verify --json`'s.
type Report = iverify.Report

// A Problem is one finding, with its kind (the Kind constants), a message
// and its location (file, row, origin, epoch, leaf or leaf range).
type Problem = iverify.Problem

// A LogReport summarises one (origin, epoch) log.
type LogReport = iverify.LogReport

// A ScopeReport says what a limited run (Options.Origins, Since, Until)
// checked.
type ScopeReport = iverify.ScopeReport

// An ExternalCheckpoint is a signed checkpoint note kept outside the
// archive (by the auditor, a witness): the archive must reach its size with
// the same root, and its latest checkpoint must not be older. Path names
// it in problems.
type ExternalCheckpoint = iverify.ExternalCheckpoint

// Progress is how far Archive has read the data files (Options.Progress).
type Progress = scan.Progress

// Problem kinds (Problem.Kind), part of the stable JSON report.
const (
	KindUnreadableFile     = iverify.KindUnreadableFile
	KindModifiedFile       = iverify.KindModifiedFile
	KindUncoveredFile      = iverify.KindUncoveredFile
	KindMissingFile        = iverify.KindMissingFile
	KindManifestSignature  = iverify.KindManifestSignature
	KindManifestInvalid    = iverify.KindManifestInvalid
	KindManifestChain      = iverify.KindManifestChain
	KindManifestConflict   = iverify.KindManifestConflict
	KindInvalidRecord      = iverify.KindInvalidRecord
	KindModifiedRecord     = iverify.KindModifiedRecord
	KindDuplicateLeaf      = iverify.KindDuplicateLeaf
	KindOutOfOrderLeaf     = iverify.KindOutOfOrderLeaf
	KindMissingLeaves      = iverify.KindMissingLeaves
	KindMissingEpoch       = iverify.KindMissingEpoch
	KindUncovered          = iverify.KindUncovered
	KindCheckpointSig      = iverify.KindCheckpointSig
	KindCheckpointInvalid  = iverify.KindCheckpointInvalid
	KindCheckpointMismatch = iverify.KindCheckpointMismatch
	KindCheckpointFork     = iverify.KindCheckpointFork
	KindCheckpointMisfiled = iverify.KindCheckpointMisfiled
	KindRollback           = iverify.KindRollback
	KindMissingLatest      = iverify.KindMissingLatest
	KindEpochLink          = iverify.KindEpochLink
)

// Options limit and inform a verification. The zero Options verifies the
// whole archive.
type Options struct {
	// Origins, if not empty, limits the run to those origins: no file of
	// another origin is read. Each origin is verified whole.
	Origins []string
	// Since and Until (zero: unbounded; Until exclusive) limit the records
	// re-hashed from their content to those whose event time is in
	// [Since, Until); the others are checked by their file's signed digest
	// and their stored leaf hash. Every tree, checkpoint and manifest is
	// still checked. Report.Scope then says what was checked.
	Since, Until time.Time
	// Checkpoints are signed checkpoints kept outside the archive, checked
	// against it (detects a rollback that the archive alone cannot show).
	Checkpoints []ExternalCheckpoint
	// Progress, if not nil, is called as data files are read, at most every
	// quarter of a second, and once at the end (Progress.Done).
	Progress func(Progress)
}

// Archive verifies the archive in directory dir, accepting the signatures
// of the trusted keys (note.NewVerifier of each key's verifier text, as
// `govaudit keygen` writes it to the .pub file). The error is an I/O error
// (dir missing or unreadable); what is wrong with the archive is in the
// report: Report.OK is true only if nothing is and every record is covered
// by a signature under a trusted key.
func Archive(dir string, trusted note.Verifiers, opts *Options) (*Report, error) {
	if opts == nil {
		opts = &Options{}
	}
	c := iverify.NewChecker(trusted)
	c.SetScope(iverify.Scope{Origins: opts.Origins, Since: opts.Since, Until: opts.Until})
	if err := scan.Archive(dir, c, opts.Progress, nil); err != nil {
		return nil, err
	}
	for _, e := range opts.Checkpoints {
		c.AddExternal(e)
	}
	return c.Report(), nil
}
