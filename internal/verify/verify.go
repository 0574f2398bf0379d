// Package verify checks a govaudit archive: every record's leaf hash, the
// order and completeness of every (origin, epoch) log, every checkpoint's
// signature and root, the links between epochs and the "latest" pointers.
//
// A Checker does no I/O: it is fed what was read from the archive (rows,
// checkpoint texts) file by file, and keeps only what verification needs
// (32 bytes and a location per leaf), so archives larger than memory verify
// in one pass. Check is the same over an in-memory Input, so every kind of
// tampering can be tested on in-memory input. Audit indexes are never an
// input: verify does not trust them.
package verify

import (
	"bytes"
	"errors"
	"fmt"
	"sort"

	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

// File is one data file of the archive, as read.
type File struct {
	Path string
	Rows []record.Record
	// Err is the error reading the file (truncated, corrupt, unreadable).
	Err error
	// Reencoded reports whether the file's bytes equal the canonical
	// encoding of its rows (archive.SameEncoding): false means a byte of the
	// file was changed even if every row still decodes.
	Reencoded bool
}

// CheckpointFile is a checkpoint text file of the archive, as read.
type CheckpointFile struct {
	Path string
	Text string
	// Origin, Epoch and Size are what the file's path says it holds.
	Origin string
	Epoch  uint64
	Size   uint64
}

// LatestFile is the "latest" checkpoint pointer of one origin, as read.
type LatestFile struct {
	Path   string
	Origin string
	Text   string
}

// Input is everything Check looks at.
type Input struct {
	// Files in archive (write) order.
	Files       []File
	Checkpoints []CheckpointFile
	Latest      []LatestFile
	// Trusted are the verifier keys whose checkpoint signatures are accepted.
	Trusted note.Verifiers
}

// Problem kinds. They are part of the stable JSON report.
const (
	KindUnreadableFile     = "unreadable_file"
	KindModifiedFile       = "modified_file"
	KindInvalidRecord      = "invalid_record"
	KindModifiedRecord     = "modified_record"
	KindDuplicateLeaf      = "duplicate_leaf"
	KindOutOfOrderLeaf     = "out_of_order_leaf"
	KindMissingLeaves      = "missing_leaves"
	KindCheckpointSig      = "checkpoint_signature"
	KindCheckpointInvalid  = "checkpoint_invalid"
	KindCheckpointMismatch = "checkpoint_root_mismatch"
	KindCheckpointFork     = "checkpoint_fork"
	KindCheckpointMisfiled = "checkpoint_misfiled"
	KindRollback           = "rollback"
	KindMissingLatest      = "missing_latest"
	KindEpochLink          = "epoch_link"
	KindUnsealed           = "unsealed"
)

// A Problem is one finding, with its location as precisely as known.
type Problem struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	File    string `json:"file,omitempty"`
	// Row is the 0-based row in File; -1 when not about one row.
	Row       int     `json:"row"`
	Origin    string  `json:"origin,omitempty"`
	Epoch     uint64  `json:"epoch,omitempty"`
	LeafIndex *uint64 `json:"leaf_index,omitempty"`
	// LeafBegin and LeafEnd bound a range of leaves, half-open [begin, end).
	LeafBegin *uint64 `json:"leaf_begin,omitempty"`
	LeafEnd   *uint64 `json:"leaf_end,omitempty"`
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
type LogReport struct {
	Origin string `json:"origin"`
	Epoch  uint64 `json:"epoch"`
	// Leaves is the number of distinct leaves found.
	Leaves uint64 `json:"leaves"`
	// Verified is the size of the largest checkpoint whose root matched.
	Verified uint64 `json:"verified_size"`
	// Unsealed counts leaves beyond the largest verified checkpoint.
	Unsealed    uint64 `json:"unsealed"`
	Checkpoints int    `json:"checkpoints"`
	// KeyNames are the names of the keys that signed its checkpoints.
	KeyNames []string `json:"key_names,omitempty"`
}

// Report is the result of Check.
type Report struct {
	Files       int         `json:"files"`
	Records     uint64      `json:"records"`
	Checkpoints int         `json:"checkpoints"`
	Logs        []LogReport `json:"logs"`
	// Problems are integrity failures; Warnings (unsealed tails) fail only
	// in strict mode.
	Problems []Problem `json:"problems"`
	Warnings []Problem `json:"warnings"`
}

// OK reports whether the archive verified; strict also fails on warnings.
func (r *Report) OK(strict bool) bool {
	return len(r.Problems) == 0 && (!strict || len(r.Warnings) == 0)
}

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

type logState struct {
	leaves   map[uint64]leaf
	first    *record.Record // leaf 0, for the epoch link
	lastSeen int64          // last leaf index seen in stream order, -1 before any
	cps      map[uint64]auditlog.Checkpoint
	keys     map[string]bool
}

// A Checker verifies an archive fed to it file by file; see the package doc.
type Checker struct {
	trusted note.Verifiers
	rep     *Report
	files   []string // paths of the files seen, for problem locations
	logs    map[logKey]*logState
	seenCPs map[string]bool // note texts already opened
	latest  []LatestFile
}

// checker is the Checker's implementation name in this file.
type checker = Checker

// NewChecker returns a Checker that accepts checkpoints signed by trusted keys.
func NewChecker(trusted note.Verifiers) *Checker {
	return &Checker{trusted: trusted, rep: &Report{Problems: []Problem{}, Warnings: []Problem{}, Logs: []LogReport{}},
		logs: map[logKey]*logState{}, seenCPs: map[string]bool{}}
}

func u64(v uint64) *uint64 { return &v }

func (c *checker) problem(p Problem) { c.rep.Problems = append(c.rep.Problems, p) }

func (c *checker) log(k logKey) *logState {
	l := c.logs[k]
	if l == nil {
		l = &logState{leaves: map[uint64]leaf{}, lastSeen: -1, cps: map[uint64]auditlog.Checkpoint{}, keys: map[string]bool{}}
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
	return c.Report()
}

// AddFile checks one data file. Files must come in archive order; f.Rows is
// not retained.
func (c *Checker) AddFile(f File) {
	c.rep.Files++
	c.files = append(c.files, f.Path)
	c.checkFile(int32(len(c.files)-1), f)
}

// AddCheckpointFile checks one checkpoint text file.
func (c *Checker) AddCheckpointFile(cf CheckpointFile) {
	cp, ok := c.openCheckpoint(cf.Text, cf.Path, -1)
	if ok && (cp.Origin != cf.Origin || cp.Epoch != cf.Epoch || cp.Size != cf.Size) {
		c.problem(Problem{Kind: KindCheckpointMisfiled, File: cf.Path, Row: -1, Origin: cp.Origin, Epoch: cp.Epoch,
			Message: fmt.Sprintf("file holds the checkpoint of %s at size %d, its path says %s at size %d",
				auditlog.LogID(cp.Origin, cp.Epoch), cp.Size, auditlog.LogID(cf.Origin, cf.Epoch), cf.Size)})
	}
}

// AddLatest records one origin's latest pointer, checked by Report.
func (c *Checker) AddLatest(lf LatestFile) { c.latest = append(c.latest, lf) }

// Report finishes the verification and returns its report.
func (c *Checker) Report() *Report {
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
	for _, k := range keys {
		c.checkLog(k, c.logs[k])
	}
	c.checkEpochLinks(keys)
	c.checkLatest(keys)
	return c.rep
}

func (c *checker) checkFile(fi int32, f File) {
	if f.Err != nil {
		c.problem(Problem{Kind: KindUnreadableFile, File: f.Path, Row: -1,
			Message: fmt.Sprintf("cannot read data file (truncated or corrupt?): %v", f.Err)})
		return
	}
	if !f.Reencoded {
		c.problem(Problem{Kind: KindModifiedFile, File: f.Path, Row: -1,
			Message: "file bytes differ from the canonical encoding of its rows: the file was modified after sealing"})
	}
	for i := range f.Rows {
		r := &f.Rows[i]
		if r.Type == record.TypeCheckpoint {
			c.openCheckpoint(r.Checkpoint, f.Path, i)
			continue
		}
		c.rep.Records++
		if err := r.Validate(); err != nil {
			c.problem(Problem{Kind: KindInvalidRecord, File: f.Path, Row: i, Origin: r.Origin, Epoch: r.Epoch,
				LeafIndex: u64(r.LeafIndex), Message: fmt.Sprintf("record %s: %v", r.ID, err)})
		}
		h := r.ComputeLeafHash()
		if !bytes.Equal(h, r.LeafHash) {
			c.problem(Problem{Kind: KindModifiedRecord, File: f.Path, Row: i, Origin: r.Origin, Epoch: r.Epoch,
				LeafIndex: u64(r.LeafIndex), Message: fmt.Sprintf("record %s at leaf %d no longer matches its leaf hash (stored %x, computed %x)",
					r.ID, r.LeafIndex, r.LeafHash, h)})
		}
		l := c.log(logKey{r.Origin, r.Epoch})
		if prev, dup := l.leaves[r.LeafIndex]; dup {
			c.problem(Problem{Kind: KindDuplicateLeaf, File: f.Path, Row: i, Origin: r.Origin, Epoch: r.Epoch,
				LeafIndex: u64(r.LeafIndex), Message: fmt.Sprintf("leaf %d of %s appears again (first in %s row %d)",
					r.LeafIndex, auditlog.LogID(r.Origin, r.Epoch), c.path(prev.loc), prev.loc.row)})
			continue
		}
		if int64(r.LeafIndex) <= l.lastSeen {
			c.problem(Problem{Kind: KindOutOfOrderLeaf, File: f.Path, Row: i, Origin: r.Origin, Epoch: r.Epoch,
				LeafIndex: u64(r.LeafIndex), Message: fmt.Sprintf("leaf %d of %s comes after leaf %d: rows were reordered or inserted",
					r.LeafIndex, auditlog.LogID(r.Origin, r.Epoch), l.lastSeen)})
		}
		l.lastSeen = max(l.lastSeen, int64(r.LeafIndex))
		lf := leaf{loc: leafLoc{file: fi, row: int32(i)}}
		copy(lf.hash[:], h)
		if r.LeafIndex == 0 {
			first := *r // a copy: the file's rows are not retained
			l.first = &first
		}
		l.leaves[r.LeafIndex] = lf
	}
}

// openCheckpoint verifies a checkpoint note once and files it under its log.
func (c *checker) openCheckpoint(text, file string, row int) (auditlog.Checkpoint, bool) {
	if c.seenCPs[text] {
		cp, _ := auditlog.ParseUnverified(text)
		return cp, true
	}
	cp, err := auditlog.Open(text, c.trusted)
	if err != nil {
		kind := KindCheckpointSig
		if errors.Is(err, auditlog.ErrMalformedCheckpoint) {
			kind = KindCheckpointInvalid
		}
		c.problem(Problem{Kind: kind, File: file, Row: row,
			Message: fmt.Sprintf("checkpoint does not verify with the trusted keys: %v", err)})
		return auditlog.Checkpoint{}, false
	}
	c.seenCPs[text] = true
	c.rep.Checkpoints++
	l := c.log(logKey{cp.Origin, cp.Epoch})
	l.keys[cp.KeyName] = true
	if prev, ok := l.cps[cp.Size]; ok && !bytes.Equal(prev.Root, cp.Root) {
		c.problem(Problem{Kind: KindCheckpointFork, File: file, Row: row, Origin: cp.Origin, Epoch: cp.Epoch,
			Message: fmt.Sprintf("two different roots signed for %s at size %d", auditlog.LogID(cp.Origin, cp.Epoch), cp.Size)})
		return cp, true
	}
	l.cps[cp.Size] = cp
	return cp, true
}

func (c *checker) checkLog(k logKey, l *logState) {
	id := auditlog.LogID(k.origin, k.epoch)
	lr := LogReport{Origin: k.origin, Epoch: k.epoch, Leaves: uint64(len(l.leaves)), Checkpoints: len(l.cps)}
	for name := range l.keys {
		lr.KeyNames = append(lr.KeyNames, name)
	}
	sort.Strings(lr.KeyNames)

	// Missing leaves: gaps below the highest index found or checkpointed.
	var top uint64
	for i := range l.leaves {
		top = max(top, i+1)
	}
	for s := range l.cps {
		top = max(top, s)
	}
	var gapStart int64 = -1
	for i := uint64(0); i <= top; i++ {
		_, ok := l.leaves[i]
		switch {
		case !ok && i < top && gapStart < 0:
			gapStart = int64(i)
		case (ok || i == top) && gapStart >= 0:
			c.problem(Problem{Kind: KindMissingLeaves, Row: -1, Origin: k.origin, Epoch: k.epoch,
				LeafBegin: u64(uint64(gapStart)), LeafEnd: u64(i), File: c.neighbour(l, uint64(gapStart)),
				Message: fmt.Sprintf("leaves [%d, %d) of %s are missing: a file or rows were deleted or truncated", gapStart, i, id)})
			gapStart = -1
		}
	}

	// Rebuild the tree over the contiguous prefix and compare every checkpoint.
	sizes := make([]uint64, 0, len(l.cps))
	for s := range l.cps {
		sizes = append(sizes, s)
	}
	sort.Slice(sizes, func(i, j int) bool { return sizes[i] < sizes[j] })
	tree := auditlog.NewTree()
	var good uint64
	for _, s := range sizes {
		for tree.Size() < s {
			lf, ok := l.leaves[tree.Size()]
			if !ok {
				break
			}
			tree.Append(lf.hash[:])
		}
		if tree.Size() < s {
			break // reported as missing leaves
		}
		cp := l.cps[s]
		if !bytes.Equal(tree.Root(), cp.Root) {
			c.problem(Problem{Kind: KindCheckpointMismatch, Row: -1, Origin: k.origin, Epoch: k.epoch,
				LeafBegin: u64(good), LeafEnd: u64(s), File: c.neighbour(l, good),
				Message: fmt.Sprintf("checkpoint %s at size %d does not match the archived leaves: a record in [%d, %d) was altered",
					id, s, good, s)})
			break
		}
		good = s
	}
	lr.Verified = good
	if lr.Leaves > good {
		lr.Unsealed = lr.Leaves - good
		c.rep.Warnings = append(c.rep.Warnings, Problem{Kind: KindUnsealed, Row: -1, Origin: k.origin, Epoch: k.epoch,
			LeafBegin: u64(good), LeafEnd: u64(top), File: c.neighbour(l, good),
			Message: fmt.Sprintf("%d leaves of %s from %d are not covered by any verified checkpoint", lr.Unsealed, id, good)})
	}
	c.rep.Logs = append(c.rep.Logs, lr)
}

// neighbour names the file holding leaf i, or the nearest leaf before it.
func (c *checker) neighbour(l *logState, i uint64) string {
	for j := int64(i); j >= 0; j-- {
		if lf, ok := l.leaves[uint64(j)]; ok {
			return c.path(lf.loc)
		}
	}
	return ""
}

// checkEpochLinks checks that each epoch after an origin's first starts with
// a record naming the previous epoch's last checkpoint.
func (c *checker) checkEpochLinks(keys []logKey) {
	for i, k := range keys {
		l := c.logs[k]
		first := l.first
		if first == nil {
			continue // missing leaf 0 is already reported
		}
		loc := l.leaves[0].loc
		firstFile, firstRow := c.path(loc), int(loc.row)
		prevText := first.PreviousCheckpoint
		hasEarlier := i > 0 && keys[i-1].origin == k.origin
		if prevText == "" {
			if hasEarlier {
				c.rep.Warnings = append(c.rep.Warnings, Problem{Kind: KindEpochLink, File: firstFile, Row: firstRow,
					Origin: k.origin, Epoch: k.epoch, LeafIndex: u64(0),
					Message: fmt.Sprintf("epoch %s does not name a previous checkpoint although epoch %d precedes it (the collector lost its state)",
						auditlog.LogID(k.origin, k.epoch), keys[i-1].epoch)})
			}
			continue
		}
		prev, err := auditlog.Open(prevText, c.trusted)
		if err != nil {
			c.problem(Problem{Kind: KindEpochLink, File: firstFile, Row: firstRow, Origin: k.origin, Epoch: k.epoch,
				LeafIndex: u64(0), Message: fmt.Sprintf("previous-epoch checkpoint does not verify: %v", err)})
			continue
		}
		pl := c.logs[logKey{prev.Origin, prev.Epoch}]
		switch {
		case prev.Origin != k.origin || prev.Epoch >= k.epoch:
			c.problem(Problem{Kind: KindEpochLink, File: firstFile, Row: firstRow, Origin: k.origin, Epoch: k.epoch,
				LeafIndex: u64(0), Message: fmt.Sprintf("epoch %s names %s as its predecessor, which is not an earlier epoch of the same origin",
					auditlog.LogID(k.origin, k.epoch), auditlog.LogID(prev.Origin, prev.Epoch))})
		case pl == nil:
			c.problem(Problem{Kind: KindEpochLink, File: firstFile, Row: firstRow, Origin: k.origin, Epoch: k.epoch,
				LeafIndex: u64(0), Message: fmt.Sprintf("previous epoch %s (size %d) is missing from the archive",
					auditlog.LogID(prev.Origin, prev.Epoch), prev.Size)})
		default:
			if cp, ok := pl.cps[prev.Size]; !ok || !bytes.Equal(cp.Root, prev.Root) {
				// Not archived as a checkpoint: check it against the leaves.
				var leaves [][]byte
				for j := uint64(0); j < prev.Size; j++ {
					lf, ok := pl.leaves[j]
					if !ok {
						break
					}
					leaves = append(leaves, lf.hash[:])
				}
				if uint64(len(leaves)) < prev.Size || !bytes.Equal(auditlog.RootOf(leaves, prev.Size), prev.Root) {
					c.problem(Problem{Kind: KindEpochLink, File: firstFile, Row: firstRow, Origin: k.origin, Epoch: k.epoch,
						LeafIndex: u64(0), Message: fmt.Sprintf("previous epoch's last checkpoint (%s size %d) does not match its archived leaves",
							auditlog.LogID(prev.Origin, prev.Epoch), prev.Size)})
				}
			}
		}
	}
}

// checkLatest checks each origin's latest pointer against the newest
// checkpoint seen for that origin: an older one is a rollback.
func (c *checker) checkLatest(keys []logKey) {
	newest := map[string]auditlog.Checkpoint{}
	for _, k := range keys {
		for _, cp := range c.logs[k].cps {
			n, ok := newest[k.origin]
			if !ok || cp.Epoch > n.Epoch || cp.Epoch == n.Epoch && cp.Size > n.Size {
				newest[k.origin] = cp
			}
		}
	}
	seen := map[string]bool{}
	for _, lf := range c.latest {
		seen[lf.Origin] = true
		cp, err := auditlog.Open(lf.Text, c.trusted)
		if err != nil {
			c.problem(Problem{Kind: KindCheckpointSig, File: lf.Path, Row: -1, Origin: lf.Origin,
				Message: fmt.Sprintf("latest checkpoint does not verify with the trusted keys: %v", err)})
			continue
		}
		n, ok := newest[lf.Origin]
		if ok && (cp.Epoch < n.Epoch || cp.Epoch == n.Epoch && cp.Size < n.Size) {
			c.problem(Problem{Kind: KindRollback, File: lf.Path, Row: -1, Origin: lf.Origin, Epoch: cp.Epoch,
				Message: fmt.Sprintf("latest names %s at size %d, older than %s at size %d already in the archive",
					auditlog.LogID(cp.Origin, cp.Epoch), cp.Size, auditlog.LogID(n.Origin, n.Epoch), n.Size)})
		}
	}
	origins := make([]string, 0, len(newest))
	for o := range newest {
		origins = append(origins, o)
	}
	sort.Strings(origins)
	for _, o := range origins {
		if !seen[o] {
			c.problem(Problem{Kind: KindMissingLatest, Row: -1, Origin: o,
				Message: fmt.Sprintf("origin %s has checkpoints but no latest checkpoint file", o)})
		}
	}
}
