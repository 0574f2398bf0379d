package auditparquetexporter // import "github.com/govaudit/govaudit/exporter/auditparquetexporter"

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"go.uber.org/zap"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/record"
)

// A leafKey is (epoch, leaf index) for a leaf, (epoch, size) for a
// checkpoint.
type leafKey struct {
	epoch, n uint64
}

// fileIDs is what identifies the rows of one data file: the record id at
// each leaf and the note text at each checkpoint size. Redelivery is
// detected by record id, never by leaf index alone.
type fileIDs struct {
	leaves      map[leafKey]string
	checkpoints map[leafKey]string
}

func newFileIDs() *fileIDs {
	return &fileIDs{leaves: map[leafKey]string{}, checkpoints: map[leafKey]string{}}
}

func (ids *fileIDs) add(r *record.Record) {
	if r.IsLeaf() {
		ids.leaves[leafKey{r.Epoch, r.LeafIndex}] = r.ID
	} else {
		ids.checkpoints[leafKey{r.Epoch, checkpointSize(r)}] = r.Checkpoint
	}
}

// errConflict is wrapped by the error of a batch holding a leaf that the
// archive already holds with another record id.
var errConflict = errors.New("leaf already archived with another record")

// filter returns the records of recs (one origin's, in order) that are not
// yet archived, and how many were redeliveries. A leaf whose index is below
// the next one expected for its epoch is a redelivery only if the archive
// holds the same record id at that (epoch, leaf) — in the open file or the
// previously sealed file; otherwise it is a conflict and the whole batch is
// refused with an error naming each conflicting record. A checkpoint record
// is a redelivery if the same note is archived at its (epoch, size); a
// different note at that size (a fork) is archived, and the conflict is
// reported when its checkpoint file is written (writeCheckpoint). Requires
// w.mu.
func (w *archiveWriter) filter(o *originFiles, st *originState, origin string, recs []record.Record) (fresh []record.Record, dups int, err error) {
	// The ids of the recent files are read from disk, once per batch and
	// only if needed: only a redelivery (or a conflict) needs them.
	var recent []*fileIDs
	loaded := false
	recentIDs := func() []*fileIDs {
		if !loaded {
			loaded, recent = true, w.recentIDs(o, origin)
		}
		return recent
	}
	older := map[string]*fileIDs{} // older sealed files read for this batch
	next := map[uint64]uint64{}
	batch := newFileIDs()
	var conflicts []string
	fresh = make([]record.Record, 0, len(recs))
	for i := range recs {
		r := &recs[i]
		if r.IsLeaf() {
			k := leafKey{r.Epoch, r.LeafIndex}
			n, ok := next[r.Epoch]
			if !ok {
				n = st.NextLeaf[r.Epoch]
			}
			if r.LeafIndex >= n {
				next[r.Epoch] = r.LeafIndex + 1
				batch.leaves[k] = r.ID
				fresh = append(fresh, *r)
				continue
			}
			id, known := batch.leaves[k]
			if !known {
				id, known = archivedLeaf(recentIDs, k)
			}
			if !known {
				id, known = w.sealedLeaf(origin, k, older)
			}
			switch {
			case known && id == r.ID:
				dups++
			case known:
				conflicts = append(conflicts, fmt.Sprintf("record %s (origin %s, epoch %d, leaf %d): the archive holds record %s at that leaf", r.ID, origin, r.Epoch, r.LeafIndex, id))
			default:
				conflicts = append(conflicts, fmt.Sprintf("record %s (origin %s, epoch %d, leaf %d): below the next leaf %d expected, and not the record archived there (not in the open or the previous data file)", r.ID, origin, r.Epoch, r.LeafIndex, n))
			}
			continue
		}
		k := leafKey{r.Epoch, checkpointSize(r)}
		text, known := batch.checkpoints[k]
		if !known {
			text, known = w.archivedCheckpoint(recentIDs, origin, st, k)
		}
		if known && text == r.Checkpoint {
			dups++
			continue
		}
		if !known {
			batch.checkpoints[k] = r.Checkpoint
		}
		fresh = append(fresh, *r)
	}
	if len(conflicts) > 0 {
		return nil, 0, fmt.Errorf("auditparquet: %w: %d of %d records of origin %s conflict, so none of them was archived: %s",
			errConflict, len(conflicts), len(recs), origin, strings.Join(conflicts, "; "))
	}
	return fresh, dups, nil
}

// archivedLeaf returns the record id archived at k, if the open, sealing
// or previously sealed file of the origin holds k.
func archivedLeaf(recent func() []*fileIDs, k leafKey) (string, bool) {
	for _, ids := range recent() {
		if id, ok := ids.leaves[k]; ok {
			return id, true
		}
	}
	return "", false
}

// maxRedeliverySearch bounds how many sealed files sealedLeaf looks
// through: a redelivery is of the last batches acknowledged.
const maxRedeliverySearch = 64

// sealedLeaf returns the record id archived at k in one of origin's sealed
// data files older than the previous one. A redelivered batch lies there
// when batches written after it, never acknowledged because of a crash,
// went to newer files (a rotation between them): the redelivery must still
// be recognised, or an acknowledged batch would be refused for ever. Files
// are searched newest first through their indexes' leaf ranges; files read
// are kept in cache for the rest of the batch.
func (w *archiveWriter) sealedLeaf(origin string, k leafKey, cache map[string]*fileIDs) (string, bool) {
	for _, ids := range cache {
		if id, ok := ids.leaves[k]; ok {
			return id, true
		}
	}
	files, err := archive.OriginDataFiles(w.root, origin)
	if err != nil {
		w.logger.Warn("listing data files to detect redeliveries", zap.String("origin", origin), zap.Error(err))
		return "", false
	}
	for i, n := len(files)-1, 0; i >= 0 && n < maxRedeliverySearch; i, n = i-1, n+1 {
		rel := files[i]
		if _, done := cache[rel]; done {
			continue
		}
		if ix, err := archive.ReadIndex(w.root, rel); err == nil && !holdsLeaf(ix, k) {
			continue
		}
		rows, err := archive.ReadRows(w.root, rel)
		if err != nil {
			w.logger.Warn("reading a data file to detect redeliveries", zap.String("file", rel), zap.Error(err))
			continue
		}
		ids := newFileIDs()
		for j := range rows {
			ids.add(&rows[j])
		}
		cache[rel] = ids
		if id, ok := ids.leaves[k]; ok {
			return id, true
		}
	}
	return "", false
}

// holdsLeaf reports whether ix's leaf ranges include k.
func holdsLeaf(ix *archive.Index, k leafKey) bool {
	for _, e := range ix.Epochs {
		if e.Epoch == k.epoch && k.n >= e.LeafBegin && k.n < e.LeafEnd {
			return true
		}
	}
	return false
}

// archivedCheckpoint returns the note archived at k: in the open, sealing or
// previously sealed file, or as a checkpoint file.
func (w *archiveWriter) archivedCheckpoint(recent func() []*fileIDs, origin string, st *originState, k leafKey) (string, bool) {
	if size, ok := st.CheckpointSize[k.epoch]; !ok || k.n > size {
		return "", false // newer than anything archived
	}
	for _, ids := range recent() {
		if text, ok := ids.checkpoints[k]; ok {
			return text, true
		}
	}
	b, err := os.ReadFile(w.path(archive.CheckpointPath(origin, k.epoch, k.n)))
	if err != nil {
		return "", false
	}
	return string(b), true
}

// recentIDs returns the ids of origin's open file and of the file being
// sealed, read from their WAL segments, and of the previously sealed file,
// read from the archive the first time they are needed after a start or a
// seal. Nothing keeps them per row while records stream in: they are read
// back only when a batch holds a redelivery (or a conflict).
func (w *archiveWriter) recentIDs(o *originFiles, origin string) []*fileIDs {
	var out []*fileIDs
	for _, f := range []*openFile{o.open, o.sealing} {
		if f == nil {
			continue
		}
		ids := newFileIDs()
		if _, err := scanSegment(f.seg.path, f.seg.good, func(recs []record.Record) error {
			for i := range recs {
				ids.add(&recs[i])
			}
			return nil
		}); err != nil {
			w.logger.Warn("reading a write-ahead log segment to detect redeliveries", zap.String("segment", f.seg.path), zap.Error(err))
		}
		out = append(out, ids)
	}
	if !o.prevLoaded {
		o.prevLoaded = true
		ids, err := w.lastFileIDs(origin)
		if err != nil {
			w.logger.Warn("reading the last data file to detect redeliveries", zap.String("origin", origin), zap.Error(err))
		}
		o.prev = ids
	}
	if o.prev != nil {
		out = append(out, o.prev)
	}
	return out
}

// lastFileIDs reads the ids of origin's newest sealed data file (nil if it
// has none).
func (w *archiveWriter) lastFileIDs(origin string) (*fileIDs, error) {
	rel, err := archive.LastDataFile(w.root, origin)
	if err != nil || rel == "" {
		return nil, err
	}
	rows, err := archive.ReadRows(w.root, rel)
	if err != nil {
		return nil, err
	}
	ids := newFileIDs()
	for j := range rows {
		ids.add(&rows[j])
	}
	return ids, nil
}

// uncovered returns an epoch with leaves in f that nothing covers yet, if
// any. An epoch is covered when a checkpoint of it at least as large as its
// highest leaf in f plus one is archived (in f or before), or when a later
// epoch of the origin has started (its leaf 0 is archived): that epoch's
// start record carries the tree heads of this one's tail.
func uncovered(f *openFile, st *originState) (uint64, bool) {
	for e, top := range f.leafMax {
		if st.CheckpointSize[e] >= top+1 || st.MaxEpochStart > e {
			continue
		}
		return e, true
	}
	return 0, false
}
