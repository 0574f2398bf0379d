// Package prove builds the inclusion proof of one record of a govaudit
// archive (pkg/proof's format) reading as little of the archive as it can:
//
//   - the record: each data file's Parquet bloom filter on record_id (one
//     32-byte block read per file) rules files out; in a file it may be in,
//     the record_id and record_type columns find the row, and that row alone
//     is read (archive.DataFile.FindRecord);
//   - the audit path: the node hashes proof.Inclusion names come from a
//     single pass over the log's leaves in order, each file's leaves given
//     either by its audit index's subtree hashes (archive.EpochRange.Nodes,
//     a few dozen hashes a file) or, for the record's own file and any file
//     whose index cannot serve, by its leaf_hash column;
//   - the checkpoint: the largest of the record's log (or the size asked
//     for), from its checkpoint file, else from the checkpoint row that an
//     index names.
//
// Nothing read is trusted: proof.New checks the record's leaf hash and the
// path against the checkpoint's root before a proof is returned; if the
// indexes led to nodes that do not match, the proof is built again from
// every file's leaf_hash column.
package prove

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/transparency-dev/merkle/compact"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
	"github.com/govaudit/govaudit/internal/verify"
	"github.com/govaudit/govaudit/pkg/proof"
)

// Record returns the inclusion proof of record id, in the archive at root,
// against the checkpoint of its log of the given size (0: the largest).
func Record(root, id string, size uint64) (*proof.Inclusion, error) {
	p, _, err := proveRecord(root, id, size)
	return p, err
}

// stats says what a proof cost: the data files read leaf by leaf, and
// whether the indexes were dropped.
type stats struct {
	leafFiles  int
	retried    bool
	indexFiles int
}

func proveRecord(root, id string, size uint64) (*proof.Inclusion, stats, error) {
	var st stats
	files, err := archive.DataFiles(root)
	if err != nil {
		return nil, st, err
	}
	target, at, err := find(root, files, id)
	if err != nil {
		return nil, st, err
	}
	if target == nil {
		return nil, st, fmt.Errorf("record %s not found in %s", id, root)
	}
	if err := target.CheckLeafHash(); err != nil {
		return nil, st, fmt.Errorf("record %s: %w (run govaudit verify)", id, err)
	}
	b := &builder{root: root, files: files, target: target, at: at, useIndex: true, st: &st}
	p, err := b.prove(size)
	if err != nil && b.indexed {
		// The indexes misled (or are damaged): without them.
		st = stats{retried: true}
		b = &builder{root: root, files: files, target: target, at: at, st: &st}
		p, err = b.prove(size)
	}
	return p, st, err
}

// find returns the leaf row of id and the index of its file, skipping the
// files whose bloom filter on record_id rules it out.
func find(root string, files []string, id string) (*record.Record, int, error) {
	for i, p := range files {
		df, err := archive.OpenDataFile(root, p)
		if err != nil {
			return nil, 0, err
		}
		if !df.MayContain("record_id", id) {
			df.Close()
			continue
		}
		rec, _, err := df.FindRecord(id)
		df.Close()
		if err != nil || rec != nil {
			return rec, i, err
		}
	}
	return nil, 0, nil
}

// A builder builds the proof of target, found in files[at].
type builder struct {
	root     string
	files    []string
	target   *record.Record
	at       int
	useIndex bool
	// indexed is set when an index was used: a failure may be the
	// index's.
	indexed bool
	// cps are the log's checkpoints: size -> where the note is.
	cps map[uint64]cpSource
	st  *stats
}

// A cpSource is where a checkpoint's note is: a checkpoint file, or a row
// of a data file (named by an index).
type cpSource struct {
	path string
	row  bool
}

func (b *builder) logID() string { return auditlog.LogID(b.target.Origin, b.target.Epoch) }

// ofOrigin reports whether data file p may hold rows of the target's origin.
func (b *builder) ofOrigin(p string) bool {
	o, _, err := archive.ParseDataPath(p)
	return err != nil || o == b.target.Origin
}

func (b *builder) prove(size uint64) (*proof.Inclusion, error) {
	var pieces []piece
	b.cps = map[uint64]cpSource{}
	if cpFiles, err := archive.CheckpointFiles(b.root); err == nil {
		for _, p := range cpFiles {
			if o, e, s, err := archive.ParseCheckpointPath(p); err == nil && o == b.target.Origin && e == b.target.Epoch {
				b.cps[s] = cpSource{path: p}
			}
		}
	}
	for i, p := range b.files {
		if !b.ofOrigin(p) {
			continue
		}
		if b.useIndex {
			if ix, err := archive.ReadIndex(b.root, p); err == nil {
				b.indexed = true
				b.st.indexFiles++
				pieces = append(pieces, b.fromIndex(p, ix, i == b.at)...)
				continue
			}
		}
		pieces = append(pieces, piece{file: p, end: math.MaxUint64})
		if !b.useIndex {
			// Without an index, the checkpoint rows are found by reading
			// the file's record_type and checkpoint columns.
			if err := b.checkpointRows(p); err != nil {
				return nil, err
			}
		}
	}
	if size == 0 {
		for s := range b.cps {
			size = max(size, s)
		}
	}
	src, ok := b.cps[size]
	if !ok || size <= b.target.LeafIndex {
		return nil, fmt.Errorf("no checkpoint of %s at size %d covers leaf %d (is the record unsealed?)", b.logID(), size, b.target.LeafIndex)
	}
	note, err := b.note(src, size)
	if err != nil {
		return nil, err
	}
	fetch := func(ids []proof.NodeID) ([][]byte, error) { return b.nodes(pieces, ids, size) }
	p, err := proof.New(*b.target, note, fetch)
	if err != nil {
		return nil, fmt.Errorf("%w (run govaudit verify)", err)
	}
	return p, nil
}

// fromIndex returns the pieces of data file p as its index describes them:
// its leaves of the target's epoch as subtree hashes, or the file to read
// when the index has none (or holds only part of the epoch's leaves in
// order); none when the file holds no leaf of the epoch. In the target's
// own file (own), the subtree that holds the target is read leaf by leaf,
// the subtrees before and after it are the index's hashes.
func (b *builder) fromIndex(p string, ix *archive.Index, own bool) []piece {
	for _, c := range ix.Checkpoints {
		if c.Epoch == b.target.Epoch {
			if _, ok := b.cps[c.Size]; !ok {
				b.cps[c.Size] = cpSource{path: p, row: true}
			}
		}
	}
	var out []piece
	for _, e := range ix.Epochs {
		if e.Epoch != b.target.Epoch {
			continue
		}
		hashes := make([][]byte, 0, len(e.Nodes))
		for _, n := range e.Nodes {
			if h, err := hex.DecodeString(n); err == nil && len(h) == 32 {
				hashes = append(hashes, h)
			}
		}
		if e.Nodes == nil || len(hashes) != len(e.Nodes) || len(hashes) != compact.RangeSize(e.LeafBegin, e.LeafEnd) {
			return []piece{{file: p, end: math.MaxUint64}}
		}
		ids := compact.RangeNodes(e.LeafBegin, e.LeafEnd, nil)
		k := slices.IndexFunc(ids, func(id compact.NodeID) bool {
			begin, end := id.Coverage()
			return begin <= b.target.LeafIndex && b.target.LeafIndex < end
		})
		if !own || k < 0 {
			if own {
				return []piece{{file: p, end: math.MaxUint64}}
			}
			out = append(out, piece{file: p, begin: e.LeafBegin, end: e.LeafEnd, hashes: hashes})
			continue
		}
		tb, te := ids[k].Coverage()
		if k > 0 {
			out = append(out, piece{file: p, begin: e.LeafBegin, end: tb, hashes: hashes[:k]})
		}
		out = append(out, piece{file: p, begin: tb, end: te})
		if k < len(ids)-1 {
			out = append(out, piece{file: p, begin: te, end: e.LeafEnd, hashes: hashes[k+1:]})
		}
	}
	return out
}

// checkpointRows notes the checkpoints of the target's log in data file p's
// rows.
func (b *builder) checkpointRows(p string) error {
	df, err := archive.OpenDataFile(b.root, p)
	if err != nil {
		return err
	}
	defer df.Close()
	return df.CheckpointRows(func(_ int64, note []byte) bool {
		if cp, err := auditlog.ParseUnverified(string(note)); err == nil && cp.Origin == b.target.Origin && cp.Epoch == b.target.Epoch {
			if _, ok := b.cps[cp.Size]; !ok {
				b.cps[cp.Size] = cpSource{path: p, row: true}
			}
		}
		return true
	})
}

// note returns the signed note of the checkpoint of the given size.
func (b *builder) note(src cpSource, size uint64) (string, error) {
	if !src.row {
		t, err := archive.ReadCheckpointFile(b.root, src.path)
		return string(t), err
	}
	df, err := archive.OpenDataFile(b.root, src.path)
	if err != nil {
		return "", err
	}
	defer df.Close()
	var note string
	err = df.CheckpointRows(func(_ int64, n []byte) bool {
		if cp, err := auditlog.ParseUnverified(string(n)); err == nil && cp.Origin == b.target.Origin && cp.Epoch == b.target.Epoch && cp.Size == size {
			note = string(n)
			return false
		}
		return true
	})
	if err == nil && note == "" {
		err = fmt.Errorf("%s: its index names checkpoint %s at size %d, no row holds it", src.path, b.logID(), size)
	}
	return note, err
}

// A piece is a run of the log's leaves [begin, end): as subtree hashes (an
// index's), or, when hashes is nil, those of file's leaves of the epoch.
type piece struct {
	file       string
	begin, end uint64
	hashes     [][]byte
}

// errExpand asks for a piece to be read leaf by leaf: its subtree hashes
// do not include a node the proof needs, or it reaches past the tree.
var errExpand = errors.New("piece must be read leaf by leaf")

// nodes computes the hashes of the nodes ids (disjoint perfect subtrees of
// the tree of size leaves, as proof.Inclusion names them) in one pass over
// the pieces in leaf order.
func (b *builder) nodes(pieces []piece, ids []proof.NodeID, size uint64) ([][]byte, error) {
	nb := newNodeBuilder(ids)
	for _, pc := range pieces {
		if pc.hashes != nil {
			if err := nb.addRange(pc.begin, pc.end, pc.hashes, size); err == nil {
				continue
			} else if !errors.Is(err, errExpand) {
				return nil, err
			}
		}
		// Leaf by leaf (a piece of subtree hashes that cannot serve too).
		if err := b.addLeaves(nb, pc.file, pc.begin, min(pc.end, size)); err != nil {
			return nil, err
		}
	}
	return nb.result(b.logID())
}

// addLeaves feeds nb the leaves [begin, end) of the target's log in data
// file p.
func (b *builder) addLeaves(nb *nodeBuilder, p string, begin, end uint64) error {
	b.st.leafFiles++
	df, err := archive.OpenDataFile(b.root, p)
	if err != nil {
		return err
	}
	defer df.Close()
	var ferr error
	err = df.Leaves(func(_ int64, r *archive.LeafRow) bool {
		if r.Checkpoint || r.Epoch != b.target.Epoch || string(r.Origin) != b.target.Origin || r.LeafIndex < begin || r.LeafIndex >= end {
			return true
		}
		if len(r.LeafHash) != 32 {
			ferr = fmt.Errorf("%s: leaf %d of %s has a leaf hash of %d bytes (run govaudit verify)", p, r.LeafIndex, b.logID(), len(r.LeafHash))
			return false
		}
		ferr = nb.addLeaf(r.LeafIndex, r.LeafHash)
		return ferr == nil
	})
	if err == nil {
		err = ferr
	}
	return err
}

// A nodeBuilder computes the hashes of disjoint perfect subtrees from the
// log's leaves, fed in order: each node has a compact range (merkle's
// compact.Range) that grows from its first leaf to its last.
type nodeBuilder struct {
	ids   []proof.NodeID // as asked
	order []int          // ids sorted by first leaf
	rf    *compact.RangeFactory
	rs    map[int]*compact.Range
}

func newNodeBuilder(ids []proof.NodeID) *nodeBuilder {
	nb := &nodeBuilder{ids: ids, order: make([]int, len(ids)), rf: &compact.RangeFactory{Hash: verify.HashChildren}, rs: map[int]*compact.Range{}}
	for i := range ids {
		nb.order[i] = i
	}
	sort.Slice(nb.order, func(a, b int) bool {
		x, _ := ids[nb.order[a]].Coverage()
		y, _ := ids[nb.order[b]].Coverage()
		return x < y
	})
	return nb
}

// node returns the position in ids of the node that holds leaf i, if any.
func (nb *nodeBuilder) node(i uint64) (int, bool) {
	k := sort.Search(len(nb.order), func(k int) bool {
		_, end := nb.ids[nb.order[k]].Coverage()
		return end > i
	})
	if k == len(nb.order) {
		return 0, false
	}
	begin, _ := nb.ids[nb.order[k]].Coverage()
	return nb.order[k], begin <= i
}

// rangeOf returns node n's range, empty at its first leaf when new.
func (nb *nodeBuilder) rangeOf(n int) *compact.Range {
	r := nb.rs[n]
	if r == nil {
		begin, _ := nb.ids[n].Coverage()
		r = nb.rf.NewEmptyRange(begin)
		nb.rs[n] = r
	}
	return r
}

// addLeaf adds leaf i's hash to the node that holds it, if any.
func (nb *nodeBuilder) addLeaf(i uint64, h []byte) error {
	n, ok := nb.node(i)
	if !ok {
		return nil // the proven leaf, or a leaf no node needs
	}
	r := nb.rangeOf(n)
	if r.End() != i {
		return fmt.Errorf("leaf %d comes after leaf %d: leaves missing or out of order", i, r.End()-1)
	}
	// A copy: the range keeps the hashes it has not merged, and h is the
	// reader's buffer.
	return r.Append(slices.Clone(h), nil)
}

// addRange adds the compact range [begin, end), given by its hashes, to
// the nodes it meets: to each, the part of the range inside the node. That
// part is the compact range of a run of the range's own subtrees whenever
// its ends are subtree borders, which they are for the nodes of an audit
// path outside the proven leaf's file (a node that holds the leaf and ends
// inside the range ends at a power-of-two border the range's subtrees
// share). errExpand means it cannot serve, and nothing was added: read its
// leaves.
func (nb *nodeBuilder) addRange(begin, end uint64, hashes [][]byte, size uint64) error {
	if end > size {
		if begin >= size {
			return nil
		}
		return errExpand // the tree ends inside it
	}
	if len(hashes) != compact.RangeSize(begin, end) {
		return errExpand
	}
	ids := compact.RangeNodes(begin, end, nil)
	type merge struct {
		n int
		r *compact.Range
	}
	var merges []merge
	for n, id := range nb.ids {
		nbeg, nend := id.Coverage()
		ib, ie := max(nbeg, begin), min(nend, end)
		if ib >= ie {
			continue // disjoint
		}
		// The run of subtrees [k0, k1] that covers [ib, ie) exactly.
		k0 := slices.IndexFunc(ids, func(x compact.NodeID) bool { b, _ := x.Coverage(); return b == ib })
		k1 := slices.IndexFunc(ids, func(x compact.NodeID) bool { _, e := x.Coverage(); return e == ie })
		if k0 < 0 || k1 < k0 {
			return errExpand
		}
		part, err := nb.rf.NewRange(ib, ie, hashes[k0:k1+1])
		if err != nil {
			return errExpand
		}
		merges = append(merges, merge{n, part})
	}
	for _, m := range merges {
		r := nb.rangeOf(m.n)
		if r.End() != m.r.Begin() {
			return fmt.Errorf("leaves [%d, %d) come after leaf %d: leaves missing or out of order", m.r.Begin(), m.r.End(), r.End()-1)
		}
		if err := r.AppendRange(m.r, nil); err != nil {
			return err
		}
	}
	return nil
}

// result returns the node hashes in the order asked, each node complete.
func (nb *nodeBuilder) result(log string) ([][]byte, error) {
	out := make([][]byte, len(nb.ids))
	for n, id := range nb.ids {
		begin, end := id.Coverage()
		r := nb.rs[n]
		if r == nil || r.End() != end || len(r.Hashes()) != 1 {
			got := begin
			if r != nil {
				got = r.End()
			}
			return nil, fmt.Errorf("leaves [%d, %d) of %s are missing from the archive (run govaudit verify)", got, end, log)
		}
		out[n] = r.Hashes()[0]
	}
	return out, nil
}
