package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/record"
)

// A LeafFile is a data file as ReadLeaves reads it: for each row, what the
// Checker needs and nothing else (32 bytes of hash a leaf, the signed note
// of a checkpoint row). Every leaf's hash was recomputed from its columns
// and matched the stored one, and every leaf passed record.Validate's
// checks, except leaves outside a scope's period (Rehashed false), whose
// stored hash is taken as is.
type LeafFile struct {
	Path string
	// Digest: see File.Digest.
	Digest      *archive.Digest
	Leaves      []Leaf
	Checkpoints []CheckpointRow
	// Origins are the origins of the leaves (Leaf.Origin indexes it).
	Origins []string
	// Firsts holds the whole record of each leaf 0 (its epoch link), by row.
	Firsts map[int32]*record.Record
}

// A Leaf is a leaf row of a LeafFile.
type Leaf struct {
	Row      int32
	Origin   uint32 // index in LeafFile.Origins
	Rehashed bool   // hash recomputed from the row's content
	Epoch    uint64
	Index    uint64
	Hash     [32]byte
}

// A CheckpointRow is a checkpoint row of a LeafFile.
type CheckpointRow struct {
	Row  int32
	Note string
}

// errRecordPath is returned by ReadLeaves for a file that the record path
// (archive.DecodeFile and Checker.AddFile) must check instead.
var errRecordPath = errors.New("the file needs the record path")

// IsRecordPath reports whether err, from ReadLeaves, asks for the file to
// be checked row by row as records (see ReadLeaves).
func IsRecordPath(err error) bool { return errors.Is(err, errRecordPath) }

// leafBatch is how many rows ReadLeaves decodes at a time, per column.
const leafBatch = 256

// ReadLeaves reads a data file's bytes column by column and returns its
// rows as a LeafFile. It recomputes each leaf's hash from its columns,
// encoded straight into the canonical encoding (record package doc) without
// a record per row: every column goes into the hash, so every column is
// read, in batches of rows, as bytes.
//
// ReadLeaves only reads what verifies: anything else, a row that fails a
// check or a file it cannot decode, returns an error for which
// IsRecordPath is true, and the caller checks the file with the record
// path, which names the problem exactly as it always did (so this fast
// path never changes a verdict or a message; it can only pass what the
// record path would pass). scope's period decides which rows are
// re-hashed (see Scope).
func ReadLeaves(path string, data []byte, digest *archive.Digest, scope Scope, counter RowCounter) (lf *LeafFile, err error) {
	defer func() {
		// Nothing here may crash verify: the record path decides.
		if p := recover(); p != nil {
			lf, err = nil, fmt.Errorf("%w: %v", errRecordPath, p)
		}
	}()
	p, err := columnPlan()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errRecordPath, err)
	}
	df, err := archive.OpenDataBytes(path, data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errRecordPath, err)
	}
	defer df.Close()
	r := &leafReader{plan: p, scope: scope, counter: counter, out: &LeafFile{Path: path, Digest: digest}}
	if err := r.read(df); err != nil {
		return nil, fmt.Errorf("%w: %v", errRecordPath, err)
	}
	return r.out, nil
}

// A RowCounter follows ReadLeaves's progress (for a progress display): it
// is told a file's row count once its footer is read, then the rows read,
// batch by batch. It may be called from several goroutines at once.
type RowCounter interface {
	FileRows(n int64)
	RowsRead(n int)
}

// Encoding kinds of the canonical encoding (record package doc).
type canonKind int

const (
	canonString canonKind = iota
	canonInt64
	canonUint64
	canonUint32
	canonInt64Ptr
	canonFloat64Ptr
	canonStrings
)

// A canonColumn is one field of the canonical encoding, read from a column.
type canonColumn struct {
	name   string
	number byte
	kind   canonKind
}

// plan is the canonical encoding as a list of columns, in field number
// order, and where ReadLeaves finds the columns it reads for itself.
type plan struct {
	cols []canonColumn
	// Positions in cols.
	version, id, typ, origin, epoch, leafIndex, start, end, observed, trace, span, parent, checkpoint int
	// validTypes are the record types.
	validTypes map[string]bool
}

// columnPlan reads the canonical encoding's fields from record.Record's
// struct tags, which the record package documents as the schema: the
// parquet tag names the column, the canon tag the field number, the Go
// type the encoding. It checks the result against record.Columns (the
// same columns, in field number order). Any change to the record package
// that this plan does not follow makes every hash mismatch, so every file
// goes the record path: slower, never wrong.
var columnPlan = sync.OnceValues(func() (*plan, error) {
	rt := reflect.TypeOf(record.Record{})
	p := &plan{validTypes: map[string]bool{}}
	leafHash := false
	for i := range rt.NumField() {
		sf := rt.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("parquet"), ",")
		tag := sf.Tag.Get("canon")
		if tag == "-" {
			leafHash = leafHash || name == "leaf_hash"
			continue
		}
		n, err := strconv.Atoi(tag)
		if err != nil || n < 1 || n > 255 {
			return nil, fmt.Errorf("field %s: canon tag %q", sf.Name, tag)
		}
		c := canonColumn{name: name, number: byte(n)}
		switch sf.Type {
		case reflect.TypeOf(""), reflect.TypeOf(record.Type("")):
			c.kind = canonString
		case reflect.TypeOf(int64(0)):
			c.kind = canonInt64
		case reflect.TypeOf(uint64(0)):
			c.kind = canonUint64
		case reflect.TypeOf(uint32(0)):
			c.kind = canonUint32
		case reflect.TypeOf((*int64)(nil)):
			c.kind = canonInt64Ptr
		case reflect.TypeOf((*float64)(nil)):
			c.kind = canonFloat64Ptr
		case reflect.TypeOf([]string(nil)):
			c.kind = canonStrings
		default:
			return nil, fmt.Errorf("field %s: type %s", sf.Name, sf.Type)
		}
		p.cols = append(p.cols, c)
	}
	sort.Slice(p.cols, func(i, j int) bool { return p.cols[i].number < p.cols[j].number })
	names := make([]string, len(p.cols))
	for i, c := range p.cols {
		names[i] = c.name
	}
	if want := record.Columns(); !slices.Equal(append(names, "leaf_hash"), want) || !leafHash {
		return nil, fmt.Errorf("plan %v disagrees with record.Columns %v", names, want)
	}
	for _, t := range record.Types() {
		p.validTypes[string(t)] = true
	}
	for dst, name := range map[*int]string{&p.version: "schema_version", &p.id: "record_id", &p.typ: "record_type",
		&p.origin: "origin", &p.epoch: "epoch", &p.leafIndex: "leaf_index", &p.start: "start_time", &p.end: "end_time",
		&p.observed: "observed_time", &p.trace: "trace_id", &p.span: "span_id", &p.parent: "parent_span_id",
		&p.checkpoint: "checkpoint"} {
		*dst = slices.Index(names, name)
		if *dst < 0 {
			return nil, fmt.Errorf("no column %s", name)
		}
	}
	return p, nil
})

// A leafReader reads one file for ReadLeaves, a batch of rows at a time:
// every column's values for the batch (archive.ColumnReader.ReadRows),
// then the checks of the whole batch column by column, then the canonical
// encoding of every row to re-hash, column by column (a column empty in
// the whole batch costs nothing), then the hashes.
type leafReader struct {
	plan    *plan
	scope   Scope
	counter RowCounter
	out     *LeafFile
	cols    []*archive.ColumnReader
	vals    []archive.ColumnValues
	hash    *archive.ColumnReader
	hv      archive.ColumnValues
	// rehash marks the rows of the batch whose hash is recomputed: leaves,
	// in the scope's period or leaf 0.
	rehash []bool
	// bufs are the rows' canonical encodings.
	bufs [][]byte
	// frags holds, per column, what is derived from each entry of its
	// current dictionary.
	frags []*fragments
}

// fragments are, for each entry of a string column's dictionary, its
// canonical encoding (field number, length, bytes; nothing for an empty
// string) and whether it fails a check (not UTF-8; for record_type, not a
// type): every row that refers to an entry appends or checks it without
// reading it again.
type fragments struct {
	dict *archive.Dictionary
	enc  []byte
	off  []uint32
	bad  []bool
	any  bool // some entry is bad
}

// fragmentsOf returns column j's fragments for dictionary d.
func (r *leafReader) fragmentsOf(j int, d *archive.Dictionary) *fragments {
	if f := r.frags[j]; f != nil && f.dict == d {
		return f
	}
	c := &r.plan.cols[j]
	f := &fragments{dict: d, off: make([]uint32, 1, d.Len()+1), bad: make([]bool, d.Len())}
	for i := range d.Len() {
		e := d.Entry(int32(i))
		if len(e) > 0 {
			f.enc = append(f.enc, c.number)
			f.enc = binary.AppendUvarint(f.enc, uint64(len(e)))
			f.enc = append(f.enc, e...)
		}
		f.off = append(f.off, uint32(len(f.enc)))
		if !utf8.Valid(e) || j == r.plan.typ && !r.plan.validTypes[string(e)] {
			f.bad[i], f.any = true, true
		}
	}
	r.frags[j] = f
	return f
}

func (r *leafReader) read(df *archive.DataFile) error {
	p := r.plan
	r.cols = make([]*archive.ColumnReader, len(p.cols))
	r.vals = make([]archive.ColumnValues, len(p.cols))
	r.frags = make([]*fragments, len(p.cols))
	r.rehash = make([]bool, leafBatch)
	r.bufs = make([][]byte, leafBatch)
	for j, c := range p.cols {
		var err error
		if r.cols[j], err = df.Column(c.name); err != nil {
			return err
		}
	}
	var err error
	if r.hash, err = df.Column("leaf_hash"); err != nil {
		return err
	}
	rows := df.NumRows()
	if rows > math.MaxInt32 {
		return fmt.Errorf("%d rows", rows)
	}
	if r.counter != nil {
		r.counter.FileRows(rows)
	}
	r.out.Leaves = make([]Leaf, 0, rows)
	// Batches end at row group ends: a batch within one chunk of each
	// column uses its pages and dictionary in place.
	ends := df.RowGroupEnds()
	for r0, g, n := int64(0), 0, 0; r0 < rows; r0 += int64(n) {
		for g < len(ends)-1 && ends[g] <= r0 {
			g++
		}
		n = int(min(leafBatch, rows-r0, ends[g]-r0))
		for j, c := range r.cols {
			if err := c.ReadRows(n, &r.vals[j]); err != nil {
				return err
			}
		}
		if err := r.hash.ReadRows(n, &r.hv); err != nil {
			return err
		}
		if err := r.batch(int32(r0), n); err != nil {
			return err
		}
		if r.counter != nil {
			r.counter.RowsRead(n)
		}
	}
	return nil
}

// str returns the value of row i of a required string column.
func str(v *archive.ColumnValues, i int) []byte { return v.Str(v.Rows[i]) }

// int64At returns the value of row i of a required INT64 column.
func int64At(v *archive.ColumnValues, i int) int64 { return v.Int64[v.Rows[i]] }

// batch checks the n rows of the batch, rows r0 to r0+n-1 of the file.
func (r *leafReader) batch(r0 int32, n int) error {
	p, v := r.plan, r.vals
	checkpoint := []byte(record.TypeCheckpoint)
	first := len(r.out.Leaves)
	any := false
	for i := range n {
		r.rehash[i] = false
		if bytes.Equal(str(&v[p.typ], i), checkpoint) {
			r.out.Checkpoints = append(r.out.Checkpoints, CheckpointRow{Row: r0 + int32(i), Note: string(str(&v[p.checkpoint], i))})
			continue
		}
		stored := str(&r.hv, i)
		if len(stored) != 32 {
			return fmt.Errorf("row %d: stored leaf hash of %d bytes", r0+int32(i), len(stored))
		}
		lf := Leaf{Row: r0 + int32(i), Epoch: uint64(int64At(&v[p.epoch], i)), Index: uint64(int64At(&v[p.leafIndex], i))}
		if lf.Index == math.MaxUint64 {
			return fmt.Errorf("row %d: leaf index 2^64-1", r0+int32(i))
		}
		lf.Origin = r.origin(str(&v[p.origin], i))
		copy(lf.Hash[:], stored)
		lf.Rehashed = lf.Index == 0 || r.inPeriod(i)
		r.rehash[i] = lf.Rehashed
		any = any || lf.Rehashed
		r.out.Leaves = append(r.out.Leaves, lf)
	}
	if !any {
		return nil
	}
	if !r.clean(n) {
		for i := range n {
			if r.rehash[i] {
				if err := r.validate(i); err != nil {
					return fmt.Errorf("row %d: %w", r0+int32(i), err)
				}
			}
		}
	}
	r.canonical(n)
	leaves := r.out.Leaves[first:]
	for k := range leaves {
		lf := &leaves[k]
		i := int(lf.Row - r0)
		if !r.rehash[i] {
			continue
		}
		if sha256.Sum256(r.bufs[i]) != lf.Hash {
			return fmt.Errorf("row %d: leaf hash mismatch", lf.Row)
		}
		if lf.Index == 0 {
			rec, err := r.record(i)
			if err != nil {
				return err
			}
			if !bytes.Equal(rec.ComputeLeafHash(), lf.Hash[:]) {
				// The columns hash as the record package does, or nothing
				// here is trusted.
				return errors.New("record of leaf 0 hashes otherwise than its columns")
			}
			if r.out.Firsts == nil {
				r.out.Firsts = map[int32]*record.Record{}
			}
			r.out.Firsts[lf.Row] = rec
		}
	}
	return nil
}

// hexDigit marks the lowercase hexadecimal digits.
var hexDigit = func() (t [256]bool) {
	for _, c := range []byte("0123456789abcdef") {
		t[c] = true
	}
	return t
}()

// clean reports whether every row of the batch passes record.Validate's
// checks, checked column by column (false: some row may not, validate
// tells which).
func (r *leafReader) clean(n int) bool {
	p, v := r.plan, r.vals
	ver := &v[p.version]
	for i := range n {
		if uint32(ver.Int32[ver.Rows[i]]) != record.SchemaVersion || len(str(&v[p.id], i)) == 0 {
			return false
		}
	}
	for _, h := range []struct {
		col, size int
	}{{p.trace, 32}, {p.span, 16}, {p.parent, 16}} {
		c := &v[h.col]
		if c.Dict != nil {
			return false // ids are not dictionary columns: let validate see
		}
		for _, b := range c.ByteData() {
			if !hexDigit[b] {
				return false
			}
		}
		for i := range n {
			if l := len(str(c, i)); l != 0 && l != h.size {
				return false
			}
		}
	}
	for j := range p.cols {
		c := &v[j]
		switch {
		case p.cols[j].kind != canonString:
		case c.Dict != nil:
			if r.fragmentsOf(j, c.Dict).any {
				return false
			}
		case j == p.typ:
			for i := range n {
				if !p.validTypes[string(str(c, i))] {
					return false
				}
			}
			if !ascii(c.ByteData()) {
				return false
			}
		case !ascii(c.ByteData()):
			return false
		}
	}
	return true
}

// canonical writes into r.bufs[i] the canonical encoding of each row i to
// re-hash, behind the RFC 6962 leaf prefix 0x00 (record package doc: the
// magic, then each non-zero field as its number and value, in field number
// order), column by column.
func (r *leafReader) canonical(n int) {
	for i := range n {
		if r.rehash[i] {
			r.bufs[i] = append(append(r.bufs[i][:0], 0x00), record.Magic...)
		}
	}
	for j := range r.plan.cols {
		c := &r.plan.cols[j]
		v := &r.vals[j]
		rows := v.Rows
		switch c.kind {
		case canonString:
			// The hot loops of verify: locals, no bounds checks in them.
			bufs, rehash := r.bufs[:n], r.rehash[:n]
			if v.Dict != nil {
				f := r.fragmentsOf(j, v.Dict)
				if len(f.enc) == 0 {
					continue // every entry empty
				}
				enc, off, idx := f.enc, f.off, v.Indexes
				for i := range bufs {
					if rehash[i] {
						k := idx[rows[i]]
						bufs[i] = append(bufs[i], enc[off[k]:off[k+1]]...)
					}
				}
				continue
			}
			if v.ByteLen() == 0 {
				continue // every value empty
			}
			offs, data, num := v.Offsets, v.Bytes, c.number
			if v.Required {
				offs = offs[:n+1] // row i is value i
				for i := range bufs {
					lo, hi := offs[i], offs[i+1]
					if lo == hi || !rehash[i] {
						continue
					}
					b := append(bufs[i], num)
					b = binary.AppendUvarint(b, uint64(hi-lo))
					bufs[i] = append(b, data[lo:hi]...)
				}
				continue
			}
			for i := range bufs {
				a := rows[i]
				lo, hi := offs[a], offs[a+1]
				if lo == hi || !rehash[i] {
					continue
				}
				b := append(bufs[i], num)
				b = binary.AppendUvarint(b, uint64(hi-lo))
				bufs[i] = append(b, data[lo:hi]...)
			}
		case canonInt64, canonUint64:
			for i := range n {
				if x := v.Int64[rows[i]]; x != 0 && r.rehash[i] {
					r.bufs[i] = binary.BigEndian.AppendUint64(append(r.bufs[i], c.number), uint64(x))
				}
			}
		case canonUint32:
			for i := range n {
				if x := uint32(v.Int32[rows[i]]); x != 0 && r.rehash[i] {
					r.bufs[i] = binary.BigEndian.AppendUint64(append(r.bufs[i], c.number), uint64(x))
				}
			}
		case canonInt64Ptr:
			if rows[n] == rows[0] {
				continue // every value null
			}
			for i := range n {
				if a := rows[i]; rows[i+1] > a && r.rehash[i] {
					r.bufs[i] = binary.BigEndian.AppendUint64(append(r.bufs[i], c.number), uint64(v.Int64[a]))
				}
			}
		case canonFloat64Ptr:
			if rows[n] == rows[0] {
				continue // every value null
			}
			for i := range n {
				if a := rows[i]; rows[i+1] > a && r.rehash[i] {
					r.bufs[i] = binary.BigEndian.AppendUint64(append(r.bufs[i], c.number), math.Float64bits(v.Double[a]))
				}
			}
		case canonStrings:
			if rows[n] == rows[0] {
				continue // every list empty
			}
			for i := range n {
				a, z := rows[i], rows[i+1]
				if z == a || !r.rehash[i] {
					continue
				}
				b := append(r.bufs[i], c.number)
				b = binary.AppendUvarint(b, uint64(z-a))
				for k := a; k < z; k++ {
					s := v.Str(k)
					b = binary.AppendUvarint(b, uint64(len(s)))
					b = append(b, s...)
				}
				r.bufs[i] = b
			}
		}
	}
}

// origin returns the index of origin in the file's origins.
func (r *leafReader) origin(o []byte) uint32 {
	for k := len(r.out.Origins) - 1; k >= 0; k-- {
		if r.out.Origins[k] == string(o) {
			return uint32(k)
		}
	}
	r.out.Origins = append(r.out.Origins, string(o))
	return uint32(len(r.out.Origins) - 1)
}

// inPeriod reports whether row i's event time (record.Record.EventTime) is in
// the scope's period.
func (r *leafReader) inPeriod(i int) bool {
	s := r.scope
	if s.Since.IsZero() && s.Until.IsZero() {
		return true
	}
	p, v := r.plan, r.vals
	t := int64At(&v[p.start], i)
	if t == 0 {
		t = int64At(&v[p.end], i)
	}
	if t == 0 {
		t = int64At(&v[p.observed], i)
	}
	if !s.Since.IsZero() && t < s.Since.UnixNano() {
		return false
	}
	return s.Until.IsZero() || t < s.Until.UnixNano()
}

// validate checks row i as record.Validate does.
func (r *leafReader) validate(i int) error {
	p, v := r.plan, r.vals
	if uint32(v[p.version].Int32[v[p.version].Rows[i]]) != record.SchemaVersion {
		return errors.New("schema_version")
	}
	if len(str(&v[p.id], i)) == 0 {
		return errors.New("record_id")
	}
	if !p.validTypes[string(str(&v[p.typ], i))] {
		return errors.New("record_type")
	}
	if !record.IsHexID(str(&v[p.trace], i), 16) || !record.IsHexID(str(&v[p.span], i), 8) || !record.IsHexID(str(&v[p.parent], i), 8) {
		return errors.New("hex id")
	}
	for j := range p.cols {
		if p.cols[j].kind == canonString && !utf8.Valid(str(&v[j], i)) {
			return fmt.Errorf("%s is not UTF-8", p.cols[j].name)
		}
	}
	return nil
}

// ascii reports whether b holds only bytes below 0x80, 64 then 32 at a
// time (one branch per 64 bytes).
func ascii(b []byte) bool {
	le := binary.LittleEndian
	for len(b) >= 64 {
		w := le.Uint64(b) | le.Uint64(b[8:]) | le.Uint64(b[16:]) | le.Uint64(b[24:]) |
			le.Uint64(b[32:]) | le.Uint64(b[40:]) | le.Uint64(b[48:]) | le.Uint64(b[56:])
		if w&0x8080808080808080 != 0 {
			return false
		}
		b = b[64:]
	}
	for len(b) >= 32 {
		w := binary.LittleEndian.Uint64(b) | binary.LittleEndian.Uint64(b[8:]) |
			binary.LittleEndian.Uint64(b[16:]) | binary.LittleEndian.Uint64(b[24:])
		if w&0x8080808080808080 != 0 {
			return false
		}
		b = b[32:]
	}
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// record returns row i as a whole record (for leaf 0, whose attributes
// are its epoch's link): every field from its column (archive.AssignColumn).
func (r *leafReader) record(i int) (*record.Record, error) {
	rec := &record.Record{}
	for j := range r.plan.cols {
		if err := archive.AssignColumn(rec, r.plan.cols[j].name, &r.vals[j], i); err != nil {
			return nil, err
		}
	}
	if err := archive.AssignColumn(rec, "leaf_hash", &r.hv, i); err != nil {
		return nil, err
	}
	rec.Normalize()
	return rec, nil
}
