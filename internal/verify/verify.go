// Package verify checks a govaudit archive: every record's leaf hash, the
// order and completeness of every (origin, epoch) log, every checkpoint's
// signature and root, the links between epochs, the "latest" pointers and,
// when an auditor kept some, checkpoints held outside the archive.
//
// A record is verified only when it is covered: a verified checkpoint of its
// (origin, epoch) has a size above its leaf index and a root that matches
// the archived leaves, or its epoch was cut (by a crash or a downstream
// failure) and a later epoch's start record, itself covered, carries a tree
// head that the whole archived epoch matches (see auditlog.EpochLink).
// Records covered by nothing are problems (KindUncovered): verify passes
// only when every record is signed under a trusted key.
//
// Every byte of every sealed file is covered too: each file under records/,
// index/ and checkpoints/<origin>/<epoch>/ must be listed, with its SHA-256
// and size, by a manifest (archive.Manifest) that verifies with the trusted
// keys, and the manifests of each origin must form one chain (seq 0, 1, …,
// each naming the SHA-256 of the one before). Files are checked by their
// digests, never by re-encoding rows, so an archive keeps verifying whatever
// Parquet encoder or options wrote it. A file not listed is KindUncoveredFile,
// a listed file with other bytes KindModifiedFile, a listed file absent
// KindMissingFile. The digests are computed by the caller from the very bytes
// it decoded (File.Digest); a file given without a digest is checked for its
// rows only (Check's in-memory tests of row-level tampering do so).
//
// A Checker does no I/O: it is fed what was read from the archive (rows,
// checkpoint texts) file by file, and keeps only what verification needs
// (32 bytes per leaf, and the leaves' locations as runs), so archives larger
// than memory verify in one pass. A data file comes either as records
// (AddFile: each row validated and re-hashed here) or as a LeafFile
// (AddLeafFile: ReadLeaves read its columns, re-hashed and checked every
// row, and keeps the hashes only; a file with anything to report goes the
// record path, so both give the same report). Check is the same over an
// in-memory Input, so every kind of tampering can be tested on in-memory
// input. Audit indexes are never an input: verify does not trust them.
package verify

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

// EventEpochStart is the event name of the lifecycle record that is leaf 0 of
// every epoch (auditsignprocessor.EventNameEpochStart; verify does not import
// the processor). Only such a record's attributes are read as an epoch link.
const EventEpochStart = "govaudit.epoch.start"

// File is one data file of the archive, as read.
type File struct {
	Path string
	Rows []record.Record
	// Err is the error reading the file (truncated, corrupt, unreadable).
	Err error
	// Digest is the SHA-256 and size of the bytes Rows were decoded from
	// (or that failed to decode); nil if the file could not be read, or
	// if the caller did not hash it (its coverage is then not checked).
	Digest *archive.Digest
}

// CheckpointFile is a checkpoint text file of the archive, as read.
type CheckpointFile struct {
	Path string
	Text string
	// Origin, Epoch and Size are what the file's path says it holds.
	Origin string
	Epoch  uint64
	Size   uint64
	// Digest is the SHA-256 and size of Text's bytes (see File.Digest).
	Digest *archive.Digest
}

// CoveredFile is a file of the archive that is checked by its digest only:
// an audit index, or any other file under records/, index/ or
// checkpoints/<origin>/<epoch>/ (archive.CoveredFiles).
type CoveredFile struct {
	Path string
	// Digest is the SHA-256 and size of its bytes; nil if unreadable (Err).
	Digest *archive.Digest
	Err    error
}

// ManifestFile is a file under manifests/, as read (archive.ManifestFiles).
type ManifestFile struct {
	Path string
	Data []byte
	// Err is the error reading it.
	Err error
}

// LatestFile is the "latest" checkpoint pointer of one origin, as read.
type LatestFile struct {
	Path   string
	Origin string
	Text   string
}

// ExternalCheckpoint is a signed checkpoint kept outside the archive (by an
// auditor, a witness, another exporter): the archive must reach its size
// with the same root, and its latest must not be older.
type ExternalCheckpoint struct {
	Path string
	Text string
}

// Input is everything Check looks at.
type Input struct {
	// Files in archive (write) order.
	Files       []File
	Checkpoints []CheckpointFile
	Latest      []LatestFile
	External    []ExternalCheckpoint
	Covered     []CoveredFile
	Manifests   []ManifestFile
	// Trusted are the verifier keys whose checkpoint signatures are accepted.
	Trusted note.Verifiers
}

// Problem kinds. They are part of the stable JSON report.
const (
	KindUnreadableFile     = "unreadable_file"
	KindModifiedFile       = "modified_file"  // SHA-256 or size differs from its manifest's
	KindUncoveredFile      = "uncovered_file" // listed by no verified manifest
	KindMissingFile        = "missing_file"   // listed by a verified manifest, absent
	KindManifestSignature  = "manifest_signature"
	KindManifestInvalid    = "manifest_invalid"  // unreadable, malformed, or not at its path
	KindManifestChain      = "manifest_chain"    // a gap, or a previous hash that does not match: deleted, replaced, forked or replayed
	KindManifestConflict   = "manifest_conflict" // two verified manifests list one path with different digests
	KindInvalidRecord      = "invalid_record"
	KindModifiedRecord     = "modified_record"
	KindDuplicateLeaf      = "duplicate_leaf"
	KindOutOfOrderLeaf     = "out_of_order_leaf"
	KindMissingLeaves      = "missing_leaves"
	KindMissingEpoch       = "missing_epoch"
	KindUncovered          = "uncovered"
	KindCheckpointSig      = "checkpoint_signature"
	KindCheckpointInvalid  = "checkpoint_invalid"
	KindCheckpointMismatch = "checkpoint_root_mismatch"
	KindCheckpointFork     = "checkpoint_fork"
	KindCheckpointMisfiled = "checkpoint_misfiled"
	KindRollback           = "rollback"
	KindMissingLatest      = "missing_latest"
	KindEpochLink          = "epoch_link"
)

// A Problem is one finding, with its location as precisely as known.
type Problem struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	File    string `json:"file,omitempty"`
	// Row is the 0-based row in File; -1 when not about one row.
	Row    int    `json:"row"`
	Origin string `json:"origin,omitempty"`
	// Epoch and the leaf indexes are decimal strings in JSON, as in the
	// record's JSON form (record.JSONUint64): a 19-digit epoch is not a
	// float64.
	Epoch     uint64  `json:"epoch,omitempty,string"`
	LeafIndex *uint64 `json:"leaf_index,omitempty,string"`
	// LeafBegin and LeafEnd bound a range of leaves, half-open [begin, end).
	LeafBegin *uint64 `json:"leaf_begin,omitempty,string"`
	LeafEnd   *uint64 `json:"leaf_end,omitempty,string"`
}

func (p Problem) String() string {
	s := p.Kind + ": " + p.Message
	if p.File != "" {
		s += " [" + p.File
		if p.Row >= 0 {
			s += fmt.Sprintf(" row %d", p.Row)
		}
		s += "]"
	}
	return s
}

// LogReport summarises one (origin, epoch) log.
//
// In JSON, the epoch, verified_size and covered_by_epoch are decimal
// strings (as in the record's JSON form); the counts are numbers.
type LogReport struct {
	Origin string `json:"origin"`
	Epoch  uint64 `json:"epoch,string"`
	// Leaves is the number of distinct leaves found.
	Leaves uint64 `json:"leaves"`
	// Verified is the size of the largest checkpoint whose root matched.
	Verified uint64 `json:"verified_size,string"`
	// Covered counts the leaves covered by a verified checkpoint or, for an
	// epoch cut short, by the next epoch's link; Uncovered the others.
	// Covered + Uncovered = Leaves.
	Covered   uint64 `json:"covered"`
	Uncovered uint64 `json:"uncovered"`
	// LinkedBy is the later epoch whose start record covers this whole
	// epoch with a matching tree head; 0 if none does.
	LinkedBy    uint64 `json:"covered_by_epoch,omitempty,string"`
	Checkpoints int    `json:"checkpoints"`
	// KeyNames are the names of the keys that signed its checkpoints.
	KeyNames []string `json:"key_names,omitempty"`
}

// Report is the result of Check.
type Report struct {
	Files   int    `json:"files"`
	Records uint64 `json:"records"`
	// Checkpoints counts the distinct verified checkpoints of the archive;
	// External those given from outside it.
	Checkpoints int `json:"checkpoints"`
	// Manifests counts the verified manifests; DigestedFiles the files whose
	// SHA-256 matched a verified manifest.
	Manifests     int `json:"manifests"`
	DigestedFiles int `json:"digested_files"`
	External      int `json:"external_checkpoints"`
	// Covered and Uncovered sum the logs' counts.
	Covered   uint64      `json:"covered"`
	Uncovered uint64      `json:"uncovered"`
	Logs      []LogReport `json:"logs"`
	// Problems are integrity failures. Warnings do not fail verification
	// (an epoch that names no predecessor: the collector lost its state).
	Problems []Problem `json:"problems"`
	Warnings []Problem `json:"warnings"`
	// Scope is what a limited run (Checker.SetScope) checked; nil when the
	// whole archive was. OK then means "verified for this scope" only.
	Scope *ScopeReport `json:"scope,omitempty"`
}

// OK reports whether the archive verified: no problem, and every record
// covered by a signature under a trusted key. (Every uncovered leaf is also
// a problem; the second condition states the promise, not a second check.)
func (r *Report) OK() bool { return len(r.Problems) == 0 && r.Uncovered == 0 }

type logKey struct {
	origin string
	epoch  uint64
}

// leafLoc locates a row: file is an index into checker.files.
type leafLoc struct {
	file int32
	row  int32
}

type leaf struct {
	hash [32]byte
	loc  leafLoc
}

// Where a verified checkpoint was found.
type cpSource int

const (
	srcRow      cpSource = iota // a checkpoint row of a data file
	srcFile                     // a checkpoint text file
	srcLatest                   // an origin's latest pointer
	srcLink                     // the previous_checkpoint of an epoch start record
	srcExternal                 // a checkpoint kept outside the archive
)

// signed is a verified checkpoint and where it was found.
type signed struct {
	cp   auditlog.Checkpoint
	file string
	row  int
	src  cpSource
}

// where names the checkpoint's source for a message.
func (s signed) where() string {
	switch s.src {
	case srcLatest:
		return "latest " + s.file
	case srcLink:
		return fmt.Sprintf("previous_checkpoint of %s row %d", s.file, s.row)
	case srcExternal:
		return "kept at " + s.file
	case srcRow:
		return fmt.Sprintf("row %d of %s", s.row, s.file)
	}
	return s.file
}

type logState struct {
	leaves   leafSet
	first    *record.Record // leaf 0, for the epoch link
	hasSeen  bool
	lastSeen uint64 // last leaf index seen in stream order, if hasSeen
	cps      map[uint64]signed
	keys     map[string]bool

	// Filled by Report.
	prevCP   *auditlog.Checkpoint // leaf 0's verified previous_checkpoint
	runs     leafRuns             // present leaves
	reach    uint64               // leaves [0, reach) are all present
	want     map[uint64]bool      // sizes whose rebuilt root is needed
	roots    map[uint64][]byte    // rebuilt roots at sizes <= reach
	verified uint64               // largest size whose root matched a checkpoint
	claimed  uint64               // largest size a verified checkpoint names
	linkedBy *uint64              // later epoch whose link covers this one
}

// A Checker verifies an archive fed to it file by file; see the package doc.
type Checker struct {
	trusted note.Verifiers
	scope   Scope
	rep     *Report
	files   []string // paths of the files seen, for problem locations
	logs    map[logKey]*logState
	seenCPs map[string]bool // note texts already filed
	latest  []LatestFile
	ext     []signed
	// strayRows are leaf rows kept out of every tree: a second row at one
	// leaf index, or an index no tree can hold.
	strayRows []leafLoc
	// unverified is filled by Report: the rows whose content no signature covers.
	unverified map[string][]int

	// digests holds each file read whose coverage is checked: its digest,
	// or nil if it could not be read (already a problem).
	digests   map[string]*archive.Digest
	manifests []openedManifest
}

// openedManifest is a manifest that verified with the trusted keys.
type openedManifest struct {
	path string
	sum  [32]byte // of the whole file
	m    archive.Manifest
}

// checker is the Checker's implementation name in this file.
type checker = Checker

// NewChecker returns a Checker that accepts checkpoints signed by trusted keys.
func NewChecker(trusted note.Verifiers) *Checker {
	return &Checker{trusted: trusted, rep: &Report{Problems: []Problem{}, Warnings: []Problem{}, Logs: []LogReport{}},
		logs: map[logKey]*logState{}, seenCPs: map[string]bool{}, digests: map[string]*archive.Digest{}}
}

func u64(v uint64) *uint64 { return &v }

func (c *checker) problem(p Problem) { c.rep.Problems = append(c.rep.Problems, p) }

func (c *checker) log(k logKey) *logState {
	l := c.logs[k]
	if l == nil {
		l = &logState{cps: map[uint64]signed{}, keys: map[string]bool{}, want: map[uint64]bool{}}
		c.logs[k] = l
	}
	return l
}

func (c *checker) path(loc leafLoc) string {
	if loc.file < 0 {
		return ""
	}
	return c.files[loc.file]
}

// Check verifies the archive described by in.
func Check(in Input) *Report {
	c := NewChecker(in.Trusted)
	for _, f := range in.Files {
		c.AddFile(f)
	}
	for _, cf := range in.Checkpoints {
		c.AddCheckpointFile(cf)
	}
	for _, lf := range in.Latest {
		c.AddLatest(lf)
	}
	for _, e := range in.External {
		c.AddExternal(e)
	}
	for _, f := range in.Covered {
		c.AddCoveredFile(f)
	}
	for _, m := range in.Manifests {
		c.AddManifest(m)
	}
	return c.Report()
}

// AddFile checks one data file. Files must come in archive order; f.Rows is
// not retained.
func (c *Checker) AddFile(f File) {
	c.rep.Files++
	c.files = append(c.files, f.Path)
	c.digested(f.Path, f.Digest, f.Err)
	c.checkFile(int32(len(c.files)-1), f)
}

// AddLeafFile checks one data file read by ReadLeaves, as AddFile checks
// one read as records: Files must come in archive order.
func (c *Checker) AddLeafFile(f *LeafFile) {
	c.rep.Files++
	c.files = append(c.files, f.Path)
	c.digested(f.Path, f.Digest, nil)
	fi := int32(len(c.files) - 1)
	cps := f.Checkpoints
	for _, lf := range f.Leaves {
		// Rows in file order, as checkFile sees them.
		for len(cps) > 0 && cps[0].Row < lf.Row {
			c.openCheckpoint(cps[0].Note, f.Path, int(cps[0].Row), srcRow)
			cps = cps[1:]
		}
		c.rep.Records++
		if c.rep.Scope != nil {
			if lf.Rehashed {
				c.rep.Scope.RowsChecked++
			} else {
				c.rep.Scope.RowsHashOnly++
			}
		}
		c.place(fi, int(lf.Row), f.Origins[lf.Origin], lf.Epoch, lf.Index, lf.Hash, f.Firsts[lf.Row])
	}
	for _, cp := range cps {
		c.openCheckpoint(cp.Note, f.Path, int(cp.Row), srcRow)
	}
}

// AddCheckpointFile checks one checkpoint text file.
func (c *Checker) AddCheckpointFile(cf CheckpointFile) {
	c.digested(cf.Path, cf.Digest, nil)
	cp, ok := c.openCheckpoint(cf.Text, cf.Path, -1, srcFile)
	if ok && (cp.Origin != cf.Origin || cp.Epoch != cf.Epoch || cp.Size != cf.Size) {
		c.problem(Problem{Kind: KindCheckpointMisfiled, File: cf.Path, Row: -1, Origin: cp.Origin, Epoch: cp.Epoch,
			Message: fmt.Sprintf("file holds the checkpoint of %s at size %d, its path says %s at size %d",
				auditlog.LogID(cp.Origin, cp.Epoch), cp.Size, auditlog.LogID(cf.Origin, cf.Epoch), cf.Size)})
	}
}

// AddLatest records one origin's latest pointer, checked by Report as a
// checkpoint of the archive and against every other one.
func (c *Checker) AddLatest(lf LatestFile) { c.latest = append(c.latest, lf) }

// AddExternal checks a checkpoint kept outside the archive: it must verify
// with the trusted keys; Report then checks the archive against it.
func (c *Checker) AddExternal(e ExternalCheckpoint) {
	cp, err := auditlog.Open(e.Text, c.trusted)
	if err != nil {
		c.problem(Problem{Kind: openErrKind(err), File: e.Path, Row: -1,
			Message: fmt.Sprintf("external checkpoint does not verify with the trusted keys: %v", err)})
		return
	}
	if !c.scope.HasOrigin(cp.Origin) {
		return // another origin's: outside the scope (Report.Scope says so)
	}
	c.rep.External++
	c.ext = append(c.ext, signed{cp: cp, file: e.Path, row: -1, src: srcExternal})
}

// UnverifiedRows returns, after Report, the rows of each data file whose
// content no verified signature covers (uncovered leaves, and second rows at
// one leaf index), sorted. Rows of unreadable files are not listed.
func (c *Checker) UnverifiedRows() map[string][]int { return c.unverified }

// Report finishes the verification and returns its report. Call it once.
func (c *Checker) Report() *Report {
	latest := c.openLatest()
	c.openLinks()
	for _, e := range c.ext {
		if l := c.logs[logKey{e.cp.Origin, e.cp.Epoch}]; l != nil {
			l.want[e.cp.Size] = true
		}
	}
	keys := c.sortedKeys()
	for _, k := range keys {
		c.checkLog(k, c.logs[k])
	}
	c.checkExternal(latest)
	c.coverLinks(keys)
	for _, k := range keys {
		c.reportLog(k, c.logs[k])
	}
	c.checkLatest(keys, latest)
	c.collectUnverified(keys)
	c.checkDigests()
	return c.rep
}

func (c *checker) sortedKeys() []logKey {
	keys := make([]logKey, 0, len(c.logs))
	for k := range c.logs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].origin != keys[j].origin {
			return keys[i].origin < keys[j].origin
		}
		return keys[i].epoch < keys[j].epoch
	})
	return keys
}

func (c *checker) checkFile(fi int32, f File) {
	if f.Err != nil {
		what := "cannot read data file (truncated or corrupt?)"
		if !strings.HasSuffix(f.Path, ".parquet") {
			what = "cannot read file" // a checkpoint file such as latest (scan.Archive)
		}
		c.problem(Problem{Kind: KindUnreadableFile, File: f.Path, Row: -1, Message: fmt.Sprintf("%s: %v", what, f.Err)})
		return
	}
	for i := range f.Rows {
		r := &f.Rows[i]
		if r.Type == record.TypeCheckpoint {
			c.openCheckpoint(r.Checkpoint, f.Path, i, srcRow)
			continue
		}
		c.rep.Records++
		var h []byte
		if c.rep.Scope != nil && !c.scope.inPeriod(r) && r.LeafIndex != 0 {
			// Outside the period: the stored leaf hash, whose bytes the
			// file's signed digest covers, goes into the tree as is.
			c.rep.Scope.RowsHashOnly++
			if len(r.LeafHash) != 32 {
				c.problem(Problem{Kind: KindInvalidRecord, File: f.Path, Row: i, Origin: r.Origin, Epoch: r.Epoch,
					LeafIndex: u64(r.LeafIndex), Message: fmt.Sprintf("record %s: stored leaf hash of %d bytes", r.ID, len(r.LeafHash))})
				c.strayRows = append(c.strayRows, leafLoc{file: fi, row: int32(i)})
				continue
			}
			h = r.LeafHash
		} else if h = c.checkRow(f.Path, i, r); c.rep.Scope != nil {
			c.rep.Scope.RowsChecked++
		}
		if r.LeafIndex == math.MaxUint64 {
			// A tree of 2^64 leaves has no size: the index cannot be real.
			c.problem(Problem{Kind: KindInvalidRecord, File: f.Path, Row: i, Origin: r.Origin, Epoch: r.Epoch,
				LeafIndex: u64(r.LeafIndex), Message: fmt.Sprintf("record %s: leaf index %d cannot be in a tree", r.ID, r.LeafIndex)})
			c.strayRows = append(c.strayRows, leafLoc{file: fi, row: int32(i)})
			continue
		}
		var first *record.Record
		if r.LeafIndex == 0 {
			first = r
		}
		c.place(fi, i, r.Origin, r.Epoch, r.LeafIndex, [32]byte(h), first)
	}
}

// place files leaf index of log (origin, epoch), found at row of file fi
// with hash h (its recomputed leaf hash, or for a row outside the scope's
// period the stored one): a second row at one index is a problem, and so is
// an index that comes after a higher one. first, for leaf 0, is the whole
// record (its epoch link); it is copied.
func (c *checker) place(fi int32, row int, origin string, epoch, index uint64, h [32]byte, first *record.Record) {
	path := c.files[fi]
	l := c.log(logKey{origin, epoch})
	loc := leafLoc{file: fi, row: int32(row)}
	if prev, dup := l.leaves.add(index, &h, loc); dup {
		c.problem(Problem{Kind: KindDuplicateLeaf, File: path, Row: row, Origin: origin, Epoch: epoch,
			LeafIndex: u64(index), Message: fmt.Sprintf("leaf %d of %s appears again (first in %s row %d)",
				index, auditlog.LogID(origin, epoch), c.path(prev), prev.row)})
		c.strayRows = append(c.strayRows, loc)
		return
	}
	if l.hasSeen && index <= l.lastSeen {
		c.problem(Problem{Kind: KindOutOfOrderLeaf, File: path, Row: row, Origin: origin, Epoch: epoch,
			LeafIndex: u64(index), Message: fmt.Sprintf("leaf %d of %s comes after leaf %d: rows were reordered or inserted",
				index, auditlog.LogID(origin, epoch), l.lastSeen)})
	}
	if !l.hasSeen || index > l.lastSeen {
		l.hasSeen, l.lastSeen = true, index
	}
	if index == 0 && first != nil {
		cp := *first // a copy: the file's rows are not retained
		l.first = &cp
	}
}

// checkRow validates record r (row i of path) and recomputes its leaf
// hash from its content, reporting a difference; it returns the computed hash.
func (c *checker) checkRow(path string, i int, r *record.Record) []byte {
	if err := r.Validate(); err != nil {
		c.problem(Problem{Kind: KindInvalidRecord, File: path, Row: i, Origin: r.Origin, Epoch: r.Epoch,
			LeafIndex: u64(r.LeafIndex), Message: fmt.Sprintf("record %s: %v", r.ID, err)})
	}
	h := r.ComputeLeafHash()
	if !bytes.Equal(h, r.LeafHash) {
		c.problem(Problem{Kind: KindModifiedRecord, File: path, Row: i, Origin: r.Origin, Epoch: r.Epoch,
			LeafIndex: u64(r.LeafIndex), Message: fmt.Sprintf("record %s at leaf %d no longer matches its leaf hash (stored %x, computed %x)",
				r.ID, r.LeafIndex, r.LeafHash, h)})
	}
	return h
}

func openErrKind(err error) string {
	if errors.Is(err, auditlog.ErrMalformedCheckpoint) {
		return KindCheckpointInvalid
	}
	return KindCheckpointSig
}

// openCheckpoint verifies a checkpoint note once and files it under its log.
func (c *checker) openCheckpoint(text, file string, row int, src cpSource) (auditlog.Checkpoint, bool) {
	if c.seenCPs[text] {
		cp, _ := auditlog.ParseUnverified(text)
		return cp, true
	}
	cp, err := auditlog.Open(text, c.trusted)
	if err != nil {
		c.problem(Problem{Kind: openErrKind(err), File: file, Row: row,
			Message: fmt.Sprintf("checkpoint does not verify with the trusted keys: %v", err)})
		return auditlog.Checkpoint{}, false
	}
	c.file(signed{cp: cp, file: file, row: row, src: src})
	return cp, true
}

// file files a verified checkpoint under its log; a second root at one size
// is a fork.
func (c *checker) file(s signed) {
	cp := s.cp
	c.seenCPs[cp.Note] = true
	c.rep.Checkpoints++
	l := c.log(logKey{cp.Origin, cp.Epoch})
	l.keys[cp.KeyName] = true
	if prev, ok := l.cps[cp.Size]; ok {
		if !bytes.Equal(prev.cp.Root, cp.Root) {
			c.problem(Problem{Kind: KindCheckpointFork, File: s.file, Row: s.row, Origin: cp.Origin, Epoch: cp.Epoch,
				Message: fmt.Sprintf("two different roots signed for %s at size %d (the other: %s)",
					auditlog.LogID(cp.Origin, cp.Epoch), cp.Size, prev.where())})
		}
		return
	}
	l.cps[cp.Size] = s
}

// openLatest files each origin's latest pointer as a checkpoint of the
// archive (so the archive must reach it) and returns the verified ones.
func (c *checker) openLatest() map[string]auditlog.Checkpoint {
	latest := map[string]auditlog.Checkpoint{}
	for _, lf := range c.latest {
		cp, ok := c.openCheckpoint(lf.Text, lf.Path, -1, srcLatest)
		if !ok {
			continue
		}
		if cp.Origin != lf.Origin {
			c.problem(Problem{Kind: KindCheckpointMisfiled, File: lf.Path, Row: -1, Origin: cp.Origin, Epoch: cp.Epoch,
				Message: fmt.Sprintf("latest of origin %s holds a checkpoint of %s", lf.Origin, auditlog.LogID(cp.Origin, cp.Epoch))})
			continue
		}
		latest[lf.Origin] = cp
	}
	return latest
}

// openLinks verifies the previous_checkpoint named by each epoch's leaf 0
// and files it as a checkpoint of the earlier epoch, which the archive must
// then reach with the same root.
func (c *checker) openLinks() {
	keys := c.sortedKeys()
	for i, k := range keys {
		l := c.logs[k]
		if l.first == nil {
			continue // missing leaf 0 is reported as missing leaves
		}
		loc := l.leaves.loc(0)
		firstFile, firstRow := c.path(loc), int(loc.row)
		linkProblem := func(msg string) {
			c.problem(Problem{Kind: KindEpochLink, File: firstFile, Row: firstRow, Origin: k.origin, Epoch: k.epoch,
				LeafIndex: u64(0), Message: msg})
		}
		prevText := l.first.PreviousCheckpoint
		if prevText == "" {
			if i > 0 && keys[i-1].origin == k.origin && !l.hasLink() {
				c.rep.Warnings = append(c.rep.Warnings, Problem{Kind: KindEpochLink, File: firstFile, Row: firstRow,
					Origin: k.origin, Epoch: k.epoch, LeafIndex: u64(0),
					Message: fmt.Sprintf("epoch %s does not name a previous checkpoint although epoch %d precedes it (the collector lost its state)",
						auditlog.LogID(k.origin, k.epoch), keys[i-1].epoch)})
			}
			continue
		}
		prev, err := auditlog.Open(prevText, c.trusted)
		if err != nil {
			linkProblem(fmt.Sprintf("previous-epoch checkpoint does not verify: %v", err))
			continue
		}
		pk := logKey{prev.Origin, prev.Epoch}
		switch {
		case prev.Origin != k.origin || prev.Epoch >= k.epoch:
			linkProblem(fmt.Sprintf("epoch %s names %s as its predecessor, which is not an earlier epoch of the same origin",
				auditlog.LogID(k.origin, k.epoch), auditlog.LogID(prev.Origin, prev.Epoch)))
		case c.logs[pk] == nil:
			linkProblem(fmt.Sprintf("previous epoch %s (size %d) is missing from the archive",
				auditlog.LogID(prev.Origin, prev.Epoch), prev.Size))
		default:
			l.prevCP = &prev
			if !c.seenCPs[prev.Note] {
				c.file(signed{cp: prev, file: firstFile, row: firstRow, src: srcLink})
			}
		}
	}
}

// hasLink reports whether leaf 0 is an epoch start record whose attributes
// name a previous epoch.
func (l *logState) hasLink() bool {
	if !isEpochStart(l.first) {
		return false
	}
	link, err := auditlog.ParseEpochLink(l.first.Attributes)
	return err == nil && link.PreviousEpoch != 0
}

func isEpochStart(r *record.Record) bool {
	return r != nil && r.Type == record.TypeLifecycle && r.EventName == EventEpochStart
}

// checkLog finds the log's missing leaves, rebuilds its tree over the
// present leaves and compares every checkpoint. It never iterates an index
// range: a row claiming leaf 2^61 costs what any row costs.
func (c *checker) checkLog(k logKey, l *logState) {
	id := auditlog.LogID(k.origin, k.epoch)
	l.runs = l.leaves.runs()
	l.reach = l.runs.reach()
	top := l.runs.top() // one past the highest leaf present

	// Gaps between present leaves.
	prev := uint64(0)
	for _, r := range l.runs {
		if r.begin > prev {
			c.missing(k, l, prev, r.begin, fmt.Sprintf("leaves [%d, %d) of %s are missing: a file or rows were deleted or truncated", prev, r.begin, id))
		}
		prev = r.end
	}

	sizes := make([]uint64, 0, len(l.cps))
	var largest signed
	for s, cp := range l.cps {
		sizes = append(sizes, s)
		if s >= l.claimed {
			l.claimed, largest = s, cp
		}
	}
	sort.Slice(sizes, func(i, j int) bool { return sizes[i] < sizes[j] })
	switch {
	case l.claimed > 0 && top == 0:
		c.problem(Problem{Kind: KindMissingEpoch, File: largest.file, Row: largest.row, Origin: k.origin, Epoch: k.epoch,
			LeafBegin: u64(0), LeafEnd: u64(l.claimed),
			Message: fmt.Sprintf("checkpoint %s at size %d (%s) names an epoch of which the archive holds no record: its data files were deleted",
				id, l.claimed, largest.where())})
	case l.claimed > top:
		c.missing(k, l, top, l.claimed, fmt.Sprintf("checkpoint %s at size %d (%s) names leaves [%d, %d) that are not in the archive: the newest data was deleted",
			id, l.claimed, largest.where(), top, l.claimed))
	}

	// Rebuild the tree over the contiguous prefix, bounded by the leaves
	// present, noting the root at every size something names.
	for s := range l.cps {
		l.want[s] = true
	}
	l.want[l.reach] = true
	wanted := make([]uint64, 0, len(l.want))
	for s := range l.want {
		if s <= l.reach {
			wanted = append(wanted, s)
		}
	}
	sort.Slice(wanted, func(i, j int) bool { return wanted[i] < wanted[j] })
	l.roots = map[uint64][]byte{}
	tree := newTree()
	for _, s := range wanted {
		for tree.Size() < s {
			tree.Append(l.leaves.hash(tree.Size())[:])
		}
		l.roots[s] = tree.Root()
	}

	// Compare every checkpoint the archive reaches; report the first
	// mismatch, which names the altered range, and count the others.
	var first *Problem
	var more int
	good := uint64(0)
	for _, s := range sizes {
		if s > l.reach {
			break // reported as missing leaves
		}
		cp := l.cps[s]
		if bytes.Equal(l.roots[s], cp.cp.Root) {
			l.verified, good = s, s
			continue
		}
		if first != nil {
			more++
			continue
		}
		first = &Problem{Kind: KindCheckpointMismatch, Row: -1, Origin: k.origin, Epoch: k.epoch,
			LeafBegin: u64(good), LeafEnd: u64(s), File: c.neighbour(l, good),
			Message: fmt.Sprintf("checkpoint %s at size %d (%s) does not match the archived leaves: a record in [%d, %d) was altered",
				id, s, cp.where(), good, s)}
	}
	if first != nil {
		if more > 0 {
			first.Message += fmt.Sprintf("; %d larger checkpoints do not match either", more)
		}
		c.problem(*first)
	}
}

// missing reports leaves [begin, end) of log k missing.
func (c *checker) missing(k logKey, l *logState, begin, end uint64, msg string) {
	c.problem(Problem{Kind: KindMissingLeaves, Row: -1, Origin: k.origin, Epoch: k.epoch,
		LeafBegin: u64(begin), LeafEnd: u64(end), File: c.neighbour(l, begin), Message: msg})
}

// neighbour names the file holding leaf i, or the nearest leaf before it.
// Requires l.runs.
func (c *checker) neighbour(l *logState, i uint64) string {
	j, ok := l.runs.last(i)
	if !ok {
		return ""
	}
	return c.path(l.leaves.loc(j))
}

// checkExternal checks the archive against checkpoints kept elsewhere: the
// archive must reach each one's size with the same root, and its latest
// must not be older. A matching one covers the leaves below its size.
func (c *checker) checkExternal(latest map[string]auditlog.Checkpoint) {
	for _, e := range c.ext {
		cp := e.cp
		k := logKey{cp.Origin, cp.Epoch}
		id := auditlog.LogID(cp.Origin, cp.Epoch)
		newest, ok := latest[cp.Origin]
		if !ok {
			newest, ok = c.newest(cp.Origin)
		}
		if !ok || newer(cp, newest) {
			msg := fmt.Sprintf("checkpoint %s at size %d kept at %s is newer than anything in the archive", id, cp.Size, e.file)
			if ok {
				msg = fmt.Sprintf("checkpoint %s at size %d kept at %s is newer than the archive's latest (%s at size %d): the archive was rolled back",
					id, cp.Size, e.file, auditlog.LogID(newest.Origin, newest.Epoch), newest.Size)
			}
			c.problem(Problem{Kind: KindRollback, File: e.file, Row: -1, Origin: cp.Origin, Epoch: cp.Epoch, Message: msg})
		}
		l := c.logs[k]
		switch {
		case cp.Size == 0:
		case l == nil || len(l.runs) == 0:
			c.problem(Problem{Kind: KindMissingEpoch, File: e.file, Row: -1, Origin: cp.Origin, Epoch: cp.Epoch,
				LeafBegin: u64(0), LeafEnd: u64(cp.Size),
				Message: fmt.Sprintf("checkpoint %s at size %d kept at %s names an epoch of which the archive holds no record", id, cp.Size, e.file)})
		case cp.Size > l.reach:
			c.problem(Problem{Kind: KindMissingLeaves, File: e.file, Row: -1, Origin: cp.Origin, Epoch: cp.Epoch,
				LeafBegin: u64(l.reach), LeafEnd: u64(cp.Size),
				Message: fmt.Sprintf("checkpoint %s at size %d kept at %s: leaves [%d, %d) are not in the archive", id, cp.Size, e.file, l.reach, cp.Size)})
		case !bytes.Equal(l.roots[cp.Size], cp.Root):
			c.problem(Problem{Kind: KindCheckpointMismatch, File: e.file, Row: -1, Origin: cp.Origin, Epoch: cp.Epoch,
				LeafBegin: u64(0), LeafEnd: u64(cp.Size),
				Message: fmt.Sprintf("checkpoint %s at size %d kept at %s does not match the archived leaves [0, %d): the archive was rewritten", id, cp.Size, e.file, cp.Size)})
		default:
			l.verified = max(l.verified, cp.Size)
			l.claimed = max(l.claimed, cp.Size)
		}
	}
}

// newer reports whether checkpoint a is later than b in their origin's log.
func newer(a, b auditlog.Checkpoint) bool {
	return a.Epoch > b.Epoch || a.Epoch == b.Epoch && a.Size > b.Size
}

// newest returns the newest archive checkpoint of origin.
func (c *checker) newest(origin string) (auditlog.Checkpoint, bool) {
	var n auditlog.Checkpoint
	found := false
	for k, l := range c.logs {
		if k.origin != origin {
			continue
		}
		for _, s := range l.cps {
			if !found || newer(s.cp, n) {
				n, found = s.cp, true
			}
		}
	}
	return n, found
}

// coverLinks covers epochs cut short: for each origin, from its newest
// epoch back, an epoch whose leaf 0 is covered and carries an epoch link
// with tree heads covers the whole previous epoch if that epoch's archived
// leaves match one of the heads exactly. Going newest first lets a covered
// link cover an epoch whose own leaf 0 is covered only by the next link.
func (c *checker) coverLinks(keys []logKey) {
	for i := len(keys) - 1; i >= 0; i-- {
		k := keys[i]
		l := c.logs[k]
		if !isEpochStart(l.first) || (l.verified == 0 && l.linkedBy == nil) {
			continue // no link, or one no signature covers: not evidence
		}
		loc := l.leaves.loc(0)
		linkProblem := func(kind, msg string, begin, end *uint64) {
			c.problem(Problem{Kind: kind, File: c.path(loc), Row: int(loc.row), Origin: k.origin, Epoch: k.epoch,
				LeafBegin: begin, LeafEnd: end, Message: msg})
		}
		link, err := auditlog.ParseEpochLink(l.first.Attributes)
		if err != nil {
			linkProblem(KindEpochLink, fmt.Sprintf("epoch start record of %s: %v", auditlog.LogID(k.origin, k.epoch), err), nil, nil)
			continue
		}
		// The previous checkpoint is the origin's last one: of the previous
		// epoch, or of an earlier one when the previous epoch was cut before
		// it signed anything. Never of a later one.
		prevEpoch := link.PreviousEpoch
		if l.prevCP != nil {
			if prevEpoch == 0 {
				prevEpoch = l.prevCP.Epoch
			} else if prevEpoch < l.prevCP.Epoch {
				linkProblem(KindEpochLink, fmt.Sprintf("epoch start record of %s names previous epoch %d but a previous checkpoint of the later epoch %d",
					auditlog.LogID(k.origin, k.epoch), prevEpoch, l.prevCP.Epoch), nil, nil)
				continue
			}
		}
		if prevEpoch == 0 || link.Acknowledged == nil && link.Released == nil {
			continue // no tree heads: the previous epoch's own checkpoints must cover it
		}
		pid := auditlog.LogID(k.origin, prevEpoch)
		if prevEpoch >= k.epoch {
			linkProblem(KindEpochLink, fmt.Sprintf("epoch %s names %s as its predecessor, which is not earlier",
				auditlog.LogID(k.origin, k.epoch), pid), nil, nil)
			continue
		}
		pl := c.logs[logKey{k.origin, prevEpoch}]
		var n, reach, top, verified uint64
		root := newTree().Root()
		if pl != nil {
			n, reach, verified, root = pl.leaves.count(), pl.reach, pl.verified, pl.roots[pl.reach]
			top = pl.runs.top()
		}
		matches := func(h *auditlog.TreeHead) bool {
			return h != nil && h.Size == n && reach == n && bytes.Equal(h.Root, root)
		}
		switch {
		case matches(link.Acknowledged) || matches(link.Released):
			if pl != nil {
				pl.linkedBy = u64(k.epoch)
			}
		case link.Acknowledged != nil && n < link.Acknowledged.Size:
			linkProblem(KindMissingLeaves, fmt.Sprintf("the start record of %s says leaves [0, %d) of %s were acknowledged; the archive holds %d leaves and lacks [%d, %d): acknowledged records were lost",
				auditlog.LogID(k.origin, k.epoch), link.Acknowledged.Size, pid, n, reach, link.Acknowledged.Size),
				u64(reach), u64(link.Acknowledged.Size))
		default:
			// In doubt: everything past what the epoch's own checkpoints verify.
			end := top
			for _, h := range []*auditlog.TreeHead{link.Acknowledged, link.Released} {
				if h != nil {
					end = max(end, h.Size)
				}
			}
			linkProblem(KindEpochLink, fmt.Sprintf("the %d archived leaves of %s match neither tree head of the start record of %s (%s): leaves in [%d, %d) were altered, inserted or deleted",
				n, pid, auditlog.LogID(k.origin, k.epoch), heads(link), verified, end),
				u64(verified), u64(end))
		}
	}
}

func heads(l auditlog.EpochLink) string {
	s := ""
	for _, h := range []struct {
		name string
		h    *auditlog.TreeHead
	}{{"acknowledged", l.Acknowledged}, {"released", l.Released}} {
		if h.h == nil {
			continue
		}
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("%s size %d root %x", h.name, h.h.Size, h.h.Root)
	}
	return s
}

// reportLog counts the covered leaves of a log and reports the uncovered
// ones beyond every signed size. Leaves below a signed size that are not
// verified are already named by a root mismatch or missing leaves.
func (c *checker) reportLog(k logKey, l *logState) {
	id := auditlog.LogID(k.origin, k.epoch)
	lr := LogReport{Origin: k.origin, Epoch: k.epoch, Leaves: l.leaves.count(), Verified: l.verified, Checkpoints: len(l.cps)}
	for name := range l.keys {
		lr.KeyNames = append(lr.KeyNames, name)
	}
	sort.Strings(lr.KeyNames)
	if l.linkedBy != nil {
		lr.Covered, lr.LinkedBy = lr.Leaves, *l.linkedBy
	} else {
		lr.Covered = l.verified // leaves [0, verified) are all present
		// One problem per run of consecutive leaves in one file.
		var begin, end uint64
		var loc leafLoc
		open := false
		flush := func() {
			if !open {
				return
			}
			c.problem(Problem{Kind: KindUncovered, File: c.path(loc), Row: int(loc.row), Origin: k.origin, Epoch: k.epoch,
				LeafBegin: u64(begin), LeafEnd: u64(end),
				Message: fmt.Sprintf("leaves [%d, %d) of %s are covered by no verified checkpoint and no epoch link: nothing signed under a trusted key vouches for them",
					begin, end, id)})
		}
		l.runs.from(max(l.verified, l.claimed), func(i uint64) bool {
			at := l.leaves.loc(i)
			if open && i == end && at.file == loc.file {
				end++
				return true
			}
			flush()
			begin, end, loc, open = i, i+1, at, true
			return true
		})
		flush()
	}
	lr.Uncovered = lr.Leaves - lr.Covered
	c.rep.Covered += lr.Covered
	c.rep.Uncovered += lr.Uncovered
	c.rep.Logs = append(c.rep.Logs, lr)
}

// checkLatest checks each origin's latest pointer against the newest
// checkpoint of the archive: an older one is a rollback. (That the archive
// reaches latest is checked with every other checkpoint.)
func (c *checker) checkLatest(keys []logKey, latest map[string]auditlog.Checkpoint) {
	var origins []string
	for i, k := range keys {
		if i > 0 && keys[i-1].origin == k.origin {
			continue
		}
		n, ok := c.newest(k.origin)
		if !ok {
			continue
		}
		origins = append(origins, k.origin)
		cp, ok := latest[k.origin]
		if ok && newer(n, cp) {
			c.problem(Problem{Kind: KindRollback, File: c.latestPath(k.origin), Row: -1, Origin: k.origin, Epoch: cp.Epoch,
				Message: fmt.Sprintf("latest names %s at size %d, older than %s at size %d already in the archive",
					auditlog.LogID(cp.Origin, cp.Epoch), cp.Size, auditlog.LogID(n.Origin, n.Epoch), n.Size)})
		}
	}
	for _, o := range origins {
		if _, ok := latest[o]; !ok && c.latestPath(o) == "" {
			c.problem(Problem{Kind: KindMissingLatest, Row: -1, Origin: o,
				Message: fmt.Sprintf("origin %s has checkpoints but no latest checkpoint file", o)})
		}
	}
}

func (c *checker) latestPath(origin string) string {
	for _, lf := range c.latest {
		if lf.Origin == origin {
			return lf.Path
		}
	}
	return ""
}

// collectUnverified lists the rows whose content no signature covers.
func (c *checker) collectUnverified(keys []logKey) {
	byFile := map[int32][]int{}
	for _, loc := range c.strayRows {
		byFile[loc.file] = append(byFile[loc.file], int(loc.row))
	}
	for _, k := range keys {
		l := c.logs[k]
		if l.linkedBy != nil {
			continue
		}
		l.runs.from(l.verified, func(i uint64) bool {
			loc := l.leaves.loc(i)
			byFile[loc.file] = append(byFile[loc.file], int(loc.row))
			return true
		})
	}
	c.unverified = map[string][]int{}
	for f, rows := range byFile {
		sort.Ints(rows)
		c.unverified[c.files[f]] = rows
	}
}
