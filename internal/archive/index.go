package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/transparency-dev/merkle/compact"

	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

// IndexVersion is the version of the Index format written by this package.
// Version 2 adds the leaves' subtree hashes (EpochRange.Nodes) and keeps
// id sets larger than MaxExactIDs as a count only: the data file's own
// Parquet bloom filters answer for them (DataFile.MayContain). ReadIndex
// reads version 1 too, ignoring its hand-written Bloom filters.
const IndexVersion = 2

// MaxExactIDs is the largest id set an index holds exactly; of a larger
// set it holds the count only.
const MaxExactIDs = 1000

// An Index is the audit index of one data file: what a query needs to decide
// whether the file can hold a matching row. It is derived from the data file
// (see BuildIndex) and never trusted for integrity.
type Index struct {
	Version int    `json:"version"`
	File    string `json:"file"`   // data file path, relative to the archive root
	Size    int64  `json:"size"`   // data file size in bytes
	SHA256  string `json:"sha256"` // hex SHA-256 of the data file
	Origin  string `json:"origin"`
	Rows    int64  `json:"rows"`

	// TimeMin and TimeMax bound the event time (see record.Record.EventTime) of the rows
	// that have one, in Unix nanoseconds; both are 0 if none has.
	TimeMin int64 `json:"time_min"`
	TimeMax int64 `json:"time_max"`

	// Epochs lists, per epoch in order of first appearance, the half-open
	// range [LeafBegin, LeafEnd) spanned by the file's leaves and their count
	// (Leaves < LeafEnd-LeafBegin means the file has gaps).
	Epochs []EpochRange `json:"epochs,omitempty"`
	// Checkpoints lists the checkpoint rows of the file, in row order.
	Checkpoints []CheckpointRef `json:"checkpoints,omitempty"`
	// Types counts rows per record type.
	Types map[record.Type]int64 `json:"types"`

	Providers     IDSet `json:"providers"`
	Models        IDSet `json:"models"` // request and response models
	ModelVersions IDSet `json:"model_versions"`
	Users         IDSet `json:"users"`
	Sessions      IDSet `json:"sessions"`
	Conversations IDSet `json:"conversations"`
	Traces        IDSet `json:"traces"`
}

// An EpochRange is the span of one epoch's leaves in a data file.
type EpochRange struct {
	Epoch     uint64 `json:"epoch"`
	LeafBegin uint64 `json:"leaf_begin"`
	LeafEnd   uint64 `json:"leaf_end"`
	Leaves    int64  `json:"leaves"`
	// Nodes, when the file holds exactly the leaves [LeafBegin, LeafEnd) of
	// the epoch in order, are the hashes (hex) of the compact range of
	// those leaves: the roots of the minimal perfect subtrees that cover
	// them, left to right (transparency-dev/merkle compact.Range, RFC 6962
	// hashing). A prover merges them instead of re-hashing the file's
	// leaves; like every part of an index they are not trusted: a proof
	// built from them is checked against a signed root.
	Nodes []string `json:"nodes,omitempty"`
}

// A CheckpointRef names a checkpoint row of a data file.
type CheckpointRef struct {
	Epoch uint64 `json:"epoch"`
	Size  uint64 `json:"size"`
}

// An IDSet is the set of distinct non-empty values of a column: exactly
// (Values, sorted) when Count <= MaxExactIDs, else its count only (Exact
// is false): then the data file's Parquet bloom filter on the column, if
// it has one, answers instead (DataFile.MayContain).
type IDSet struct {
	Count  int      `json:"count"`
	Values []string `json:"values,omitempty"`
	// Bloom is the hand-written Bloom filter of a version 1 index, read and
	// ignored (the Parquet bloom filters replace it).
	Bloom json.RawMessage `json:"bloom,omitempty"`
}

// Exact reports whether Values is the whole set.
func (s *IDSet) Exact() bool { return len(s.Values) == s.Count }

// MayContain reports whether v may be in the set: false means certainly
// not. A set that is not exact (too large, or an inconsistent index) never
// says no.
func (s *IDSet) MayContain(v string) bool {
	if !s.Exact() {
		return true
	}
	_, found := slices.BinarySearch(s.Values, v)
	return found
}

func newIDSet(m map[string]struct{}) IDSet {
	if len(m) == 0 {
		return IDSet{}
	}
	values := make([]string, 0, len(m))
	for v := range m {
		values = append(values, v)
	}
	sort.Strings(values)
	if len(values) > MaxExactIDs {
		return IDSet{Count: len(values)}
	}
	return IDSet{Count: len(values), Values: values}
}

// NewIndex returns the index of the data file at dataPath (relative to the
// root) holding rows, given the file's size and SHA-256. BuildIndex calls it
// with the rows it reads back; the writer builds the same index row by row
// as it writes (an IndexBuilder), so the two agree byte for byte.
func NewIndex(dataPath string, rows []record.Record, size int64, sum []byte) (*Index, error) {
	b, err := NewIndexBuilder(dataPath)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		if err := b.Add(&rows[i]); err != nil {
			return nil, err
		}
	}
	return b.Index(size, sum), nil
}

// An IndexBuilder builds the index of a data file from its rows, added in
// file order, without keeping them: what it keeps grows with the distinct
// ids of the file (see IDSet), not with its rows.
type IndexBuilder struct {
	ix     *Index
	sets   [7]map[string]struct{}
	epochs map[uint64]int // epoch -> position in ix.Epochs
	// ranges are the compact ranges of each epoch's leaves, nil once the
	// file's leaves of the epoch are not one run in order.
	ranges map[uint64]*compact.Range
	rf     *compact.RangeFactory
}

// NewIndexBuilder starts the index of the data file at dataPath.
func NewIndexBuilder(dataPath string) (*IndexBuilder, error) {
	origin, _, err := ParseDataPath(dataPath)
	if err != nil {
		return nil, err
	}
	b := &IndexBuilder{
		ix:     &Index{Version: IndexVersion, File: dataPath, Origin: origin, Types: map[record.Type]int64{}},
		epochs: map[uint64]int{},
		ranges: map[uint64]*compact.Range{},
		rf:     &compact.RangeFactory{Hash: auditlog.Hasher.HashChildren},
	}
	for i := range b.sets {
		b.sets[i] = map[string]struct{}{}
	}
	return b, nil
}

// Add adds the next row of the file. A row of another origin than the
// file's is an error.
func (b *IndexBuilder) Add(r *record.Record) error {
	ix := b.ix
	if r.Origin != ix.Origin {
		return fmt.Errorf("%s: row %d has origin %q, want %q", ix.File, ix.Rows, r.Origin, ix.Origin)
	}
	ix.Rows++
	if t := r.EventTime(); t != 0 {
		if ix.TimeMin == 0 || t < ix.TimeMin {
			ix.TimeMin = t
		}
		if t > ix.TimeMax {
			ix.TimeMax = t
		}
	}
	ix.Types[r.Type]++
	if !r.IsLeaf() {
		cp := CheckpointRef{Epoch: r.Epoch}
		if c, err := CheckpointOfRow(r); err == nil {
			cp.Epoch, cp.Size = c.Epoch, c.Size
		}
		ix.Checkpoints = append(ix.Checkpoints, cp)
		return nil
	}
	p, ok := b.epochs[r.Epoch]
	if !ok {
		p = len(ix.Epochs)
		b.epochs[r.Epoch] = p
		ix.Epochs = append(ix.Epochs, EpochRange{Epoch: r.Epoch, LeafBegin: r.LeafIndex, LeafEnd: r.LeafIndex + 1})
	}
	e := &ix.Epochs[p]
	e.LeafBegin = min(e.LeafBegin, r.LeafIndex)
	e.LeafEnd = max(e.LeafEnd, r.LeafIndex+1)
	e.Leaves++
	for i, v := range [...]string{r.Provider, r.RequestModel, r.ResponseModel, r.ModelVersion, r.UserID, r.SessionID, r.ConversationID, r.TraceID} {
		set := i
		if i >= 2 {
			set = i - 1 // request and response models share a set
		}
		if v != "" {
			b.sets[set][v] = struct{}{}
		}
	}
	// The compact range of the file's leaves of the epoch, as long as
	// they come in order, one after the other.
	cr, ok := b.ranges[r.Epoch]
	if !ok {
		cr = b.rf.NewEmptyRange(r.LeafIndex)
	}
	// A copy of the hash: the range keeps the hashes it has not merged.
	if cr != nil && (cr.End() != r.LeafIndex || len(r.LeafHash) != 32 || cr.Append(slices.Clone(r.LeafHash), nil) != nil) {
		cr = nil
	}
	b.ranges[r.Epoch] = cr
	return nil
}

// Rows returns the number of rows added.
func (b *IndexBuilder) Rows() int64 { return b.ix.Rows }

// Index returns the index of the rows added, for a data file of size bytes
// with SHA-256 sum. The builder must not be used afterwards.
func (b *IndexBuilder) Index(size int64, sum []byte) *Index {
	ix, s := b.ix, &b.sets
	ix.Size, ix.SHA256 = size, hex.EncodeToString(sum)
	for k := range ix.Epochs {
		e := &ix.Epochs[k]
		if cr := b.ranges[e.Epoch]; cr != nil && cr.Begin() == e.LeafBegin && cr.End() == e.LeafEnd {
			for _, h := range cr.Hashes() {
				e.Nodes = append(e.Nodes, hex.EncodeToString(h))
			}
		}
	}
	ix.Providers, ix.Models, ix.ModelVersions = newIDSet(s[0]), newIDSet(s[1]), newIDSet(s[2])
	ix.Users, ix.Sessions, ix.Conversations, ix.Traces = newIDSet(s[3]), newIDSet(s[4]), newIDSet(s[5]), newIDSet(s[6])
	return ix
}

// BuildIndex reads the data file at dataPath (relative to root) and returns
// its index.
func BuildIndex(root, dataPath string) (*Index, error) {
	data, err := ReadDataFile(root, dataPath)
	if err != nil {
		return nil, err
	}
	rows, err := readParquet(filepath.Join(root, filepath.FromSlash(dataPath)), data)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	return NewIndex(dataPath, rows, int64(len(data)), sum[:])
}

// listedDigests returns the digest of every file the manifests under root
// list, by path, from their text (signatures not checked). A manifest that
// cannot be read or parsed lists nothing.
func listedDigests(root string) map[string]Digest {
	out := map[string]Digest{}
	paths, err := ManifestFiles(root)
	if err != nil {
		return out
	}
	for _, p := range paths {
		data, err := ReadManifestFile(root, p)
		if err != nil {
			continue
		}
		text := data
		if i := bytes.LastIndex(data, []byte("\n\n")); i >= 0 {
			text = data[:i+1]
		}
		m, err := ParseManifest(string(text))
		if err != nil {
			continue
		}
		for _, d := range m.Files {
			out[d.Path] = d
		}
	}
	return out
}

// Marshal returns the JSON text of the index as written to disk.
func (ix *Index) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(ix, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WriteIndex writes ix to IndexPath(ix.File) under root, atomically.
func WriteIndex(root string, ix *Index) error {
	if IsRemote(root) {
		return fmt.Errorf("writing an index in %s: %w", root, errRemoteWrite)
	}
	b, err := ix.Marshal()
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(root, filepath.FromSlash(IndexPath(ix.File))), b, 0o444)
}

// ReadIndex reads the index of the data file at dataPath (relative to root).
// It checks the format version and that the index names that file.
func ReadIndex(root, dataPath string) (*Index, error) {
	p := filepath.Join(root, filepath.FromSlash(IndexPath(dataPath)))
	b, err := ReadRegular(root, IndexPath(dataPath), MaxIndexFileSize)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var ix Index
	if err := dec.Decode(&ix); err != nil {
		return nil, fmt.Errorf("index %s: %w", p, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("index %s: trailing data", p)
	}
	if ix.Version != 1 && ix.Version != IndexVersion {
		return nil, fmt.Errorf("index %s: version %d, want 1 or %d", p, ix.Version, IndexVersion)
	}
	if ix.File != dataPath {
		return nil, fmt.Errorf("index %s: names data file %q, want %q", p, ix.File, dataPath)
	}
	for _, s := range []*IDSet{&ix.Providers, &ix.Models, &ix.ModelVersions, &ix.Users, &ix.Sessions, &ix.Conversations, &ix.Traces} {
		s.Bloom = nil // version 1's filters are not read (IDSet.Bloom)
	}
	return &ix, nil
}

// Reindex rebuilds the index of every data file under root and removes
// indexes whose data file no longer exists. It returns the number of indexes
// written; a data file that cannot be read is reported in the error and the
// others are still indexed.
//
// An index that a manifest lists (a sealed index) is written only if the
// rebuilt bytes are the listed ones: an archive sealed before index
// version 2 keeps its version 1 indexes, byte for byte, so that verify
// still finds the digests its manifests list (a rebuilt version 2 index
// would be a modified file). Manifests are parsed here without checking
// their signatures: only to decide what not to overwrite.
//
// Reindex writes and deletes files, so it takes the writer's lock (Lock):
// while a collector writes to root it fails with an error wrapping ErrLocked
// that names the holder, and touches nothing. (A running exporter seals
// files and writes their indexes meanwhile; the stale-index sweep would
// delete an index sealed after the data files were listed.)
func Reindex(root string) (int, error) {
	if IsRemote(root) {
		return 0, fmt.Errorf("reindex %s: %w", root, errRemoteWrite)
	}
	l, err := Lock(root) // its error names root and the holder
	if err != nil {
		return 0, err
	}
	defer l.Unlock()
	files, err := DataFiles(root)
	if err != nil {
		return 0, err
	}
	listed := listedDigests(root)
	var errs []error
	want := map[string]bool{}
	n := 0
	for _, f := range files {
		ip := IndexPath(f)
		want[ip] = true
		ix, err := BuildIndex(root, f)
		if err == nil {
			if d, ok := listed[ip]; ok {
				if b, merr := ix.Marshal(); merr == nil && (int64(len(b)) != d.Size || sha256.Sum256(b) != d.SHA256) {
					continue // sealed in another format: kept as listed
				}
			}
			err = WriteIndex(root, ix)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("reindex %s: %w", f, err))
			continue
		}
		n++
	}
	stale, err := listFiles(root, IndexDir, IndexExt)
	if err != nil {
		errs = append(errs, err)
	}
	for _, p := range stale {
		if !want[p] {
			if err := os.Remove(filepath.Join(root, filepath.FromSlash(p))); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return n, errors.Join(errs...)
}
