package archive

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/parquet-go/parquet-go/bloom"
	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/encoding/plain"
	"github.com/parquet-go/parquet-go/encoding/rle"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// A DataFile is a data file opened for reading column by column, without a
// Go value per row: verify reads every column's values as bytes, prove only
// the record_id and leaf_hash columns and one row. Opening checks the
// footer (checkFooter: the record schema, counts and chunk ranges bounded
// by the file's size); the pages of a column are checked as they are read
// (pageWalker), with the same bounds as DecodeFile, before parquet-go's
// encodings decode them. A hostile file is an error wrapping ErrCorrupt
// and naming the file, never a panic or an allocation beyond its size.
//
// The values are decoded with parquet-go's own encodings (plain, rle,
// delta); this file only walks pages, which parquet-go's reader does not
// let a caller bound before it allocates.
type DataFile struct {
	name   string
	r      io.ReaderAt
	data   []byte // the whole file, when it is in memory
	fm     *fileMeta
	budget int64
}

// OpenDataBytes opens a data file held in memory (name is used in errors).
func OpenDataBytes(name string, data []byte) (*DataFile, error) {
	f, err := openData(name, bytes.NewReader(data), int64(len(data)))
	if f != nil {
		f.data = data
	}
	return f, err
}

// OpenDataReader opens a data file of size bytes read through r: only the
// footer is read now; a column's chunks are read when the column is (see
// ReadRegularAt for a file of the archive).
func OpenDataReader(name string, r io.ReaderAt, size int64) (*DataFile, error) {
	return openData(name, r, size)
}

func openData(name string, r io.ReaderAt, size int64) (f *DataFile, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("%s: %w: %v", name, ErrCorrupt, p)
		}
	}()
	fm, err := checkFooter(r, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrCorrupt, err)
	}
	return &DataFile{name: name, r: r, fm: fm, budget: fm.budget()}, nil
}

// NumRows returns the number of rows of the file.
func (f *DataFile) NumRows() int64 { return f.fm.md.NumRows }

// columnIndex returns the leaf column whose path starts with name (a
// record column: "finish_reasons" is finish_reasons.list.element).
func (f *DataFile) columnIndex(name string) (int, error) {
	for j, l := range f.fm.leaves {
		if l.path[0] == name {
			return j, nil
		}
	}
	return 0, fmt.Errorf("no column %q in the record schema", name)
}

// MayContain reports whether the file may hold a row whose column (a
// record.BloomFilterColumns name, such as "record_id") is value, from the
// Parquet split-block bloom filter of each row group (parquet-go's bloom
// package reads the one 32-byte block that value hashes to). False means
// certainly not. A row group without a filter, or with one this reader
// does not understand (another algorithm, hash or compression, a size
// that is not whole blocks or not inside the file), may hold it.
func (f *DataFile) MayContain(column, value string) (may bool) {
	defer func() {
		if recover() != nil {
			may = true
		}
	}()
	j, err := f.columnIndex(column)
	if err != nil {
		return true
	}
	x := bloom.XXH64{}.Sum64([]byte(value))
	for i := range f.fm.md.RowGroups {
		r, n, ok := f.bloomFilter(&f.fm.md.RowGroups[i].Columns[j].MetaData)
		if !ok {
			return true
		}
		if found, err := bloom.CheckSplitBlock(r, n, x); err != nil || found {
			return true
		}
	}
	return false
}

// maxBloomHeader bounds the thrift header of a bloom filter: four small
// fields.
const maxBloomHeader = 256

// bloomFilter returns a reader of the bitset of a chunk's bloom filter and
// its size, after checking its header.
func (f *DataFile) bloomFilter(m *format.ColumnMetaData) (io.ReaderAt, int64, bool) {
	off := m.BloomFilterOffset
	if off <= 4 || off >= f.fm.size-8 {
		return nil, 0, false
	}
	hb := make([]byte, min(maxBloomHeader, f.fm.size-8-off))
	if _, err := f.r.ReadAt(hb, off); err != nil {
		return nil, 0, false
	}
	w := thriftWalker{b: hb}
	if w.message() != nil {
		return nil, 0, false
	}
	var h format.BloomFilterHeader
	if thrift.Unmarshal(new(thrift.CompactProtocol), hb[:w.pos], &h) != nil {
		return nil, 0, false
	}
	_, split := h.Algorithm.Value.(*format.SplitBlockAlgorithm)
	_, xxh := h.Hash.Value.(*format.XxHash)
	_, raw := h.Compression.Value.(*format.BloomFilterUncompressed)
	bits := off + int64(w.pos)
	n := int64(h.NumBytes)
	if !split || !xxh || !raw || n < bloom.BlockSize || n%bloom.BlockSize != 0 || n > f.fm.size-8-bits {
		return nil, 0, false
	}
	return io.NewSectionReader(f.r, bits, n), n, true
}

// A ColumnPage is a data page of a column, decoded. Its slices are valid
// until the next call to the ColumnReader.
type ColumnPage struct {
	// NumRows counts the rows the page holds, NumValues its level entries
	// (values and nulls; for a list column, its elements and empty lists).
	NumRows, NumValues int
	// Skipped is set on a page Next skipped: only the counts are set.
	Skipped bool
	// Rep and Def are the repetition and definition levels, one per entry;
	// nil when the column's maximum level is 0.
	Rep, Def []uint8
	// The non-null values, in order, in the slice of the column's type:
	// value i of a BYTE_ARRAY column is Bytes[Offsets[i]:Offsets[i+1]].
	Bytes   []byte
	Offsets []uint32
	Int64   []int64
	Int32   []int32
	Double  []float64
}

// A ColumnReader reads the pages of one column of a DataFile, row group
// after row group.
type ColumnReader struct {
	f    *DataFile
	col  int
	leaf leafColumn
	rg   int
	w    *pageWalker
	page ColumnPage

	// The dictionary of the current chunk, decoded.
	dict     bool
	dictVals values
	indexes  []int32
	// buf holds the decoded values of the current page.
	buf      values
	rep, def []uint8

	// The row methods' position in the current page: entries (levels)
	// and values consumed, rows completed.
	loaded       bool
	lp, vp, rows int
}

// values holds decoded values of one physical type (see ColumnPage).
type values struct {
	bytes  []byte
	offs   []uint32
	int64s []int64
	int32s []int32
	dbls   []float64
}

// len returns how many values of type t v holds.
func (v *values) len(t format.Type) int {
	switch t {
	case format.ByteArray:
		return max(len(v.offs)-1, 0)
	case format.Int64:
		return len(v.int64s)
	case format.Int32:
		return len(v.int32s)
	}
	return len(v.dbls)
}

// decodePlain decodes PLAIN values of type t from src into v, which must
// then hold n values.
func (v *values) decodePlain(t format.Type, src []byte, n int) error {
	var err error
	switch t {
	case format.ByteArray:
		v.bytes, v.offs, err = plainVal.DecodeByteArray(v.bytes[:0], src, v.offs[:0])
		if err == nil && len(v.offs) == 0 {
			v.offs = append(v.offs, 0)
		}
	case format.Int64:
		v.int64s, err = plainVal.DecodeInt64(v.int64s[:0], src)
	case format.Int32:
		v.int32s, err = plainVal.DecodeInt32(v.int32s[:0], src)
	case format.Double:
		v.dbls, err = plainVal.DecodeDouble(v.dbls[:0], src)
	default:
		return fmt.Errorf("type %s", t)
	}
	if err != nil {
		return err
	}
	if got := v.len(t); got != n {
		return fmt.Errorf("%d values decoded, want %d", got, n)
	}
	return nil
}

// Column returns a reader of the column named name (a record column).
func (f *DataFile) Column(name string) (*ColumnReader, error) {
	j, err := f.columnIndex(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.name, err)
	}
	return &ColumnReader{f: f, col: j, leaf: f.fm.leaves[j]}, nil
}

// MaxRep and MaxDef return the column's maximum repetition and definition
// levels: 0 and 0 for a required value, 0 and 1 for an optional one, 1 and
// more for a list.
func (c *ColumnReader) MaxRep() int { return c.leaf.maxRep }

// MaxDef: see MaxRep.
func (c *ColumnReader) MaxDef() int { return c.leaf.maxDef }

// Type returns the column's physical type.
func (c *ColumnReader) Type() format.Type { return c.leaf.typ }

// Next returns the next data page of the column, decoded, or io.EOF after
// the last one. A page of at most skipRows rows (skipRows > 0) is skipped:
// neither decompressed nor decoded, only its counts are set (a reader
// looking for one row skips the pages before it). Next and the row methods
// (ReadRows, SkipRows) must not be mixed.
func (c *ColumnReader) Next(skipRows int) (p *ColumnPage, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, c.corrupt(fmt.Errorf("%v", r))
		}
	}()
	for {
		if c.w == nil {
			if c.rg >= len(c.f.fm.md.RowGroups) {
				return nil, io.EOF
			}
			body, err := c.chunk(c.rg)
			if err != nil {
				return nil, err
			}
			c.w = c.f.fm.pages(c.rg, c.col, body, &c.f.budget)
			c.dict = false
		}
		raw, err := c.w.next(int64(skipRows))
		if err == io.EOF {
			c.w = nil
			c.rg++
			continue
		}
		if err != nil {
			return nil, c.corrupt(err)
		}
		if raw.Dictionary {
			if err := c.decodeDictionary(raw); err != nil {
				return nil, c.corrupt(fmt.Errorf("dictionary page: %w", err))
			}
			continue
		}
		c.page = ColumnPage{NumRows: raw.NumRows, NumValues: raw.NumValues, Skipped: raw.Skipped}
		if raw.Skipped {
			return &c.page, nil
		}
		if err := c.decode(raw); err != nil {
			return nil, c.corrupt(err)
		}
		return &c.page, nil
	}
}

// ColumnValues holds the values of a column for a run of rows (ReadRows):
// row i's values are values Rows[i] to Rows[i+1]-1 (a required column has
// one value per row, an optional one none or one, a list any number), in
// the slice of the column's physical type (BYTE_ARRAY value v is
// Bytes[Offsets[v]:Offsets[v+1]]).
type ColumnValues struct {
	Rows    []uint32
	Bytes   []byte
	Offsets []uint32
	Int64   []int64
	Int32   []int32
	Double  []float64
}

// Reset empties v, keeping its buffers.
func (v *ColumnValues) Reset() {
	v.Rows = append(v.Rows[:0], 0)
	v.Bytes, v.Offsets = v.Bytes[:0], append(v.Offsets[:0], 0)
	v.Int64, v.Int32, v.Double = v.Int64[:0], v.Int32[:0], v.Double[:0]
}

// Str returns value k of a BYTE_ARRAY column.
func (v *ColumnValues) Str(k uint32) []byte { return v.Bytes[v.Offsets[k]:v.Offsets[k+1]] }

// ReadRows resets dst and reads into it the values of the column's next n
// rows. Reading past the last row is an error wrapping ErrCorrupt (the
// file's columns disagree on its rows). A list column's empty or null list
// has no value; a null element of a list is refused as corrupt (a Go
// []string has none).
func (c *ColumnReader) ReadRows(n int, dst *ColumnValues) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = c.corrupt(fmt.Errorf("%v", r))
		}
	}()
	dst.Reset()
	for n > 0 {
		if err := c.fill(0); err != nil {
			return err
		}
		k, err := c.take(n, dst)
		if err != nil {
			return c.corrupt(err)
		}
		n -= k
	}
	return nil
}

// SkipRows skips the column's next n rows, without decompressing the pages
// that hold only skipped rows.
func (c *ColumnReader) SkipRows(n int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = c.corrupt(fmt.Errorf("%v", r))
		}
	}()
	var scratch ColumnValues
	for n > 0 {
		if err := c.fill(n); err != nil {
			return err
		}
		if c.page.Skipped {
			if c.page.NumRows > n {
				return c.corrupt(fmt.Errorf("skipped a page of %d rows for %d", c.page.NumRows, n))
			}
			n -= c.page.NumRows
			c.lp, c.rows = c.page.NumValues, c.page.NumRows
			continue
		}
		scratch.Reset()
		k, err := c.take(n, &scratch)
		if err != nil {
			return c.corrupt(err)
		}
		n -= k
	}
	return nil
}

// fill makes sure the current page has entries left, reading the next one
// (skipped if it holds at most skipRows rows) when not.
func (c *ColumnReader) fill(skipRows int) error {
	for c.loaded && c.lp < c.page.NumValues {
		return nil
	}
	if c.loaded && c.rows != c.page.NumRows {
		return c.corrupt(fmt.Errorf("page holds %d rows, its header says %d", c.rows, c.page.NumRows))
	}
	c.loaded = false
	for {
		p, err := c.Next(skipRows)
		if err == io.EOF {
			return c.corrupt(errors.New("fewer rows than the file's other columns"))
		}
		if err != nil {
			return err
		}
		c.loaded, c.lp, c.vp, c.rows = true, 0, 0, 0
		if p.NumValues > 0 {
			return nil
		}
	}
}

// take appends to dst the values of at most n rows from the current page
// and returns how many rows it took.
func (c *ColumnReader) take(n int, dst *ColumnValues) (int, error) {
	p := &c.page
	rows := 0
	for rows < n && c.lp < p.NumValues {
		if p.Rep != nil && p.Rep[c.lp] != 0 {
			return rows, errors.New("page does not start a row")
		}
		// One row: its first entry, and for a list the entries that
		// repeat it.
		end := c.lp + 1
		if p.Rep != nil {
			for end < p.NumValues && p.Rep[end] != 0 {
				end++
			}
		}
		defined := 0
		for e := c.lp; e < end; e++ {
			if p.Def == nil || int(p.Def[e]) == c.leaf.maxDef {
				defined++
			} else if end-c.lp > 1 {
				return rows, errors.New("null element in a list")
			}
		}
		if err := c.copyValues(c.vp, defined, dst); err != nil {
			return rows, err
		}
		c.vp += defined
		c.lp = end
		c.rows++
		rows++
		dst.Rows = append(dst.Rows, dst.Rows[len(dst.Rows)-1]+uint32(defined))
	}
	return rows, nil
}

// copyValues appends values [from, from+k) of the current page to dst.
func (c *ColumnReader) copyValues(from, k int, dst *ColumnValues) error {
	if k == 0 {
		return nil
	}
	p := &c.page
	switch c.leaf.typ {
	case format.ByteArray:
		if from+k >= len(p.Offsets) {
			return errors.New("fewer values than the levels define")
		}
		base := uint32(len(dst.Bytes)) - p.Offsets[from]
		dst.Bytes = append(dst.Bytes, p.Bytes[p.Offsets[from]:p.Offsets[from+k]]...)
		for _, o := range p.Offsets[from+1 : from+k+1] {
			dst.Offsets = append(dst.Offsets, o+base)
		}
	case format.Int64:
		dst.Int64 = append(dst.Int64, p.Int64[from:from+k]...)
	case format.Int32:
		dst.Int32 = append(dst.Int32, p.Int32[from:from+k]...)
	case format.Double:
		dst.Double = append(dst.Double, p.Double[from:from+k]...)
	}
	return nil
}

func (c *ColumnReader) corrupt(err error) error {
	return fmt.Errorf("%s: %w: row group %d, column %q: %v", c.f.name, ErrCorrupt, c.rg, strings.Join(c.leaf.path, "."), err)
}

// chunk returns the bytes of row group rg's chunk of the column: a slice of
// the file in memory, or read now (at most the chunk's size, which
// checkFooter bounded by the file's).
func (c *ColumnReader) chunk(rg int) ([]byte, error) {
	if c.f.data != nil {
		return c.f.fm.chunkBytes(c.f.data, rg, c.col), nil
	}
	r := c.f.fm.chunks[rg][c.col]
	body := make([]byte, r[1]-r[0])
	if _, err := c.f.r.ReadAt(body, r[0]); err != nil {
		return nil, fmt.Errorf("%s: reading column %q: %w", c.f.name, c.leaf.path[0], err)
	}
	return body, nil
}

var (
	plainEnc rle.DictionaryEncoding // RLE_DICTIONARY indexes
	plainVal plain.Encoding
	deltaLen delta.LengthByteArrayEncoding
)

func (c *ColumnReader) decodeDictionary(raw *rawPage) error {
	c.dict = true
	return c.dictVals.decodePlain(c.leaf.typ, raw.Values, raw.NumValues)
}

// decode decodes a data page that the pageWalker checked (run lengths and
// value counts bounded by the page's size): levels, then values.
func (c *ColumnReader) decode(raw *rawPage) error {
	p := &c.page
	n := raw.NumValues
	levels := func(dst []uint8, src []byte, max int) ([]uint8, error) {
		if max == 0 {
			return nil, nil
		}
		e := rle.Encoding{BitWidth: bitLen(max)}
		out, err := e.DecodeLevels(dst[:0], src)
		if err != nil {
			return nil, err
		}
		if len(out) < n {
			return nil, fmt.Errorf("%d levels for %d values", len(out), n)
		}
		out = out[:n]
		for _, l := range out {
			if int(l) > max {
				return nil, fmt.Errorf("level %d above the maximum %d", l, max)
			}
		}
		return out, nil
	}
	var err error
	if c.rep, err = levels(c.rep, raw.Rep, c.leaf.maxRep); err != nil {
		return fmt.Errorf("repetition levels: %w", err)
	}
	if c.def, err = levels(c.def, raw.Def, c.leaf.maxDef); err != nil {
		return fmt.Errorf("definition levels: %w", err)
	}
	p.Rep, p.Def = c.rep, c.def
	if p.Rep != nil && n > 0 && p.Rep[0] != 0 {
		return errors.New("page does not start a row")
	}
	nonNull := n - raw.NumNulls
	if p.Def != nil {
		defined := 0
		for _, d := range p.Def {
			if int(d) == c.leaf.maxDef {
				defined++
			}
		}
		if defined != nonNull {
			return fmt.Errorf("%d values defined by the levels, the page header says %d", defined, nonNull)
		}
	}
	switch raw.Encoding {
	case format.RLEDictionary, format.PlainDictionary:
		if !c.dict {
			return errors.New("dictionary-encoded page without a dictionary page")
		}
		err = c.decodeIndexes(raw.Values, nonNull)
	case format.DeltaLengthByteArray:
		if c.leaf.typ != format.ByteArray {
			return fmt.Errorf("%s values in a %s column", raw.Encoding, c.leaf.typ)
		}
		b := &c.buf
		b.bytes, b.offs, err = deltaLen.DecodeByteArray(b.bytes[:0], raw.Values, b.offs[:0])
		if err == nil && len(b.offs) == 0 {
			b.offs = append(b.offs, 0)
		}
		if err == nil && len(b.offs)-1 != nonNull {
			err = fmt.Errorf("%d values decoded, the page header says %d non-null", len(b.offs)-1, nonNull)
		}
	case format.Plain:
		err = c.buf.decodePlain(c.leaf.typ, raw.Values, nonNull)
	default:
		err = fmt.Errorf("encoding %s", raw.Encoding)
	}
	if err != nil {
		return err
	}
	switch c.leaf.typ {
	case format.ByteArray:
		p.Bytes, p.Offsets = c.buf.bytes, c.buf.offs
	case format.Int64:
		p.Int64 = c.buf.int64s
	case format.Int32:
		p.Int32 = c.buf.int32s
	case format.Double:
		p.Double = c.buf.dbls
	}
	return nil
}

// decodeIndexes decodes n dictionary indexes and looks each value up.
func (c *ColumnReader) decodeIndexes(src []byte, n int) error {
	var err error
	c.indexes, err = plainEnc.DecodeInt32(c.indexes[:0], src)
	if err != nil {
		return err
	}
	if len(c.indexes) < n {
		return fmt.Errorf("%d dictionary indexes, the page header says %d non-null values", len(c.indexes), n)
	}
	idx := c.indexes[:n]
	d, b := &c.dictVals, &c.buf
	size := d.len(c.leaf.typ)
	for _, i := range idx {
		if i < 0 || int(i) >= size {
			return fmt.Errorf("dictionary index %d, the dictionary has %d values", i, size)
		}
	}
	switch c.leaf.typ {
	case format.ByteArray:
		total := 0
		for _, i := range idx {
			total += int(d.offs[i+1] - d.offs[i])
		}
		if total > math.MaxUint32 {
			return fmt.Errorf("%d bytes of values in one page", total)
		}
		b.bytes = b.bytes[:0]
		b.offs = append(b.offs[:0], 0)
		for _, i := range idx {
			b.bytes = append(b.bytes, d.bytes[d.offs[i]:d.offs[i+1]]...)
			b.offs = append(b.offs, uint32(len(b.bytes)))
		}
	case format.Int64:
		b.int64s = b.int64s[:0]
		for _, i := range idx {
			b.int64s = append(b.int64s, d.int64s[i])
		}
	case format.Int32:
		b.int32s = b.int32s[:0]
		for _, i := range idx {
			b.int32s = append(b.int32s, d.int32s[i])
		}
	case format.Double:
		b.dbls = b.dbls[:0]
		for _, i := range idx {
			b.dbls = append(b.dbls, d.dbls[i])
		}
	}
	return nil
}

func bitLen(max int) int {
	n := 0
	for max > 0 {
		n++
		max >>= 1
	}
	return n
}
