package auditparquetexporter // import "github.com/govaudit/govaudit/exporter/auditparquetexporter"

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

// originState is what the archive (sealed files and the open file's WAL
// segment) already holds for one origin: per epoch, the next leaf index
// expected and the largest checkpoint size archived, and the newest epoch
// whose leaf 0 is archived. Leaves arrive in leaf order, so a leaf below the
// next index is a redelivery or a conflict (see filter); the checkpoint
// sizes and epoch starts tell whether a file is covered (see uncovered). It
// is saved at every seal and rebuilt at start from that file plus the WAL
// segments.
type originState struct {
	NextLeaf       map[uint64]uint64 `json:"next_leaf"`       // epoch -> 1 + highest leaf index archived
	CheckpointSize map[uint64]uint64 `json:"checkpoint_size"` // epoch -> largest checkpoint size archived
	MaxEpochStart  uint64            `json:"max_epoch_start"` // newest epoch whose leaf 0 is archived
	Latest         checkpointID      `json:"latest"`          // the checkpoint in checkpoints/<origin>/latest
	LastFile       time.Time         `json:"last_file"`       // the time naming the newest data file

	// manifest is the origin's newest manifest, read from the archive when
	// the state is loaded (not saved: the manifests themselves are the
	// record, so a crash between a manifest and the state cannot fork the
	// chain).
	manifest archive.ManifestHead
}

type checkpointID struct {
	Epoch uint64 `json:"epoch"`
	Size  uint64 `json:"size"`
}

func (c checkpointID) less(d checkpointID) bool {
	return c.Epoch < d.Epoch || c.Epoch == d.Epoch && c.Size < d.Size
}

func newOriginState() *originState {
	return &originState{NextLeaf: map[uint64]uint64{}, CheckpointSize: map[uint64]uint64{}}
}

// add records that recs are archived (durable in the WAL or sealed).
func (st *originState) add(recs []record.Record) {
	for i := range recs {
		r := &recs[i]
		if r.IsLeaf() {
			st.NextLeaf[r.Epoch] = max(st.NextLeaf[r.Epoch], r.LeafIndex+1)
			if r.LeafIndex == 0 {
				st.MaxEpochStart = max(st.MaxEpochStart, r.Epoch)
			}
		} else {
			st.CheckpointSize[r.Epoch] = max(st.CheckpointSize[r.Epoch], checkpointSize(r))
		}
	}
}

// checkpointSize returns the tree size of a checkpoint record that decode
// accepted.
func checkpointSize(r *record.Record) uint64 {
	c, _ := archive.CheckpointOfRow(r)
	return c.Size
}

// state returns the state of origin, loading or rebuilding it on first use.
func (w *archiveWriter) state(origin string) (*originState, error) {
	if st, ok := w.origins[origin]; ok {
		return st, nil
	}
	st, err := w.loadState(origin)
	if err != nil {
		return nil, err
	}
	if st.manifest, err = archive.ReadManifestHead(w.root, origin); err != nil {
		return nil, fmt.Errorf("reading the newest manifest of origin %s: %w", origin, err)
	}
	w.origins[origin] = st
	return st, nil
}

// loadState reads the state file of origin. Without one (a new origin, or a
// WAL directory lost), it rebuilds the state from the origin's indexes
// (rebuilding missing ones from their data files) and the latest checkpoint.
func (w *archiveWriter) loadState(origin string) (*originState, error) {
	b, err := os.ReadFile(w.path(archive.StatePath(origin)))
	if err == nil {
		st := newOriginState()
		if err := json.Unmarshal(b, st); err != nil {
			return nil, fmt.Errorf("%s: %w (delete it to rebuild it from the archive)", w.path(archive.StatePath(origin)), err)
		}
		return st, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	st := newOriginState()
	files, err := archive.DataFiles(w.root)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, f := range files {
		o, t, err := archive.ParseDataPath(f)
		if err != nil || o != origin {
			continue
		}
		ix, err := archive.ReadIndex(w.root, f)
		if err != nil {
			if ix, err = archive.BuildIndex(w.root, f); err != nil {
				return nil, fmt.Errorf("rebuilding the state of origin %s: %w", origin, err)
			}
		}
		for _, e := range ix.Epochs {
			st.NextLeaf[e.Epoch] = max(st.NextLeaf[e.Epoch], e.LeafEnd)
			if e.LeafBegin == 0 {
				st.MaxEpochStart = max(st.MaxEpochStart, e.Epoch)
			}
		}
		for _, c := range ix.Checkpoints {
			st.CheckpointSize[c.Epoch] = max(st.CheckpointSize[c.Epoch], c.Size)
		}
		if t.After(st.LastFile) {
			st.LastFile = t
		}
		n++
	}
	// Latest comes from the latest file itself, so a missing one is rewritten.
	if b, err := os.ReadFile(w.path(archive.LatestPath(origin))); err == nil {
		if c, err := auditlog.ParseUnverified(string(b)); err == nil {
			st.Latest = checkpointID{c.Epoch, c.Size}
		}
	}
	if n > 0 {
		w.logger.Warn("state file missing; rebuilt from the archive's indexes", zap.String("origin", origin), zap.Int("files", n))
	}
	return st, nil
}

// saveState persists the state of origin atomically.
func (w *archiveWriter) saveState(origin string, st *originState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	p := w.path(archive.StatePath(origin))
	if err := w.fail.at(stepStateSave, p); err != nil {
		return err
	}
	return archive.WriteFileAtomic(p, b, 0o600)
}
