package archive

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/parquet-go/parquet-go/bloom"
	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/encoding/plain"
	"github.com/parquet-go/parquet-go/encoding/rle"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/govaudit/govaudit/internal/record"
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
	name    string
	r       io.ReaderAt
	data    []byte // the whole file, when it is in memory
	fm      *fileMeta
	budget  int64
	readers []*ColumnReader
	closer  io.Closer // the file OpenDataFile opened
}

// Close ends the use of f and of its column readers, whose buffers go to
// the next file's readers (verify reads thousands of files, each column
// through pages of up to 256 KiB). Nothing f or a reader returned may be
// used after.
func (f *DataFile) Close() {
	for _, c := range f.readers {
		c.release()
	}
	f.readers = nil
	if f.closer != nil {
		f.closer.Close()
		f.closer = nil
	}
}

// Release ends the use of c before its file's Close: its buffers (its
// chunk's bytes when the file is not in memory) go to the next reader.
// Nothing c returned may be used after.
func (c *ColumnReader) Release() {
	c.release()
	c.f.readers = slices.DeleteFunc(c.f.readers, func(x *ColumnReader) bool { return x == c })
}

func (c *ColumnReader) release() {
	if c.released {
		return
	}
	c.released = true
	b := &readerBuffers{walk: c.walkBuf, buf: c.buf, indexes: c.indexes, rep: c.rep, def: c.def, body: c.body}
	if c.w != nil {
		b.walk = c.w.buf
	}
	c.w, c.body, c.buf, c.page = nil, nil, values{}, ColumnPage{}
	bufferPool.Put(b)
}

// readerBuffers are the buffers of a ColumnReader, reused through
// bufferPool.
type readerBuffers struct {
	walk     []byte
	buf      values
	indexes  []int32
	rep, def []uint8
	body     []byte
}

var bufferPool = sync.Pool{New: func() any { return new(readerBuffers) }}

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

// RowGroupEnds returns, for each row group, the row after its last: a
// reader that stops its runs of rows there reads each run from one chunk
// of each column.
func (f *DataFile) RowGroupEnds() []int64 {
	ends := make([]int64, len(f.fm.md.RowGroups))
	var n int64
	for i := range f.fm.md.RowGroups {
		n += f.fm.md.RowGroups[i].NumRows
		ends[i] = n
	}
	return ends
}

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

// A Dictionary is the dictionary of a BYTE_ARRAY column chunk: entry i is
// Bytes[Offsets[i]:Offsets[i+1]]. Each dictionary page read makes a new
// one, so a reader may cache what it derives from one by its address.
type Dictionary struct {
	Bytes   []byte
	Offsets []uint32
}

// Len returns the number of entries.
func (d *Dictionary) Len() int { return len(d.Offsets) - 1 }

// Entry returns entry i.
func (d *Dictionary) Entry(i int32) []byte { return d.Bytes[d.Offsets[i]:d.Offsets[i+1]] }

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
	// The non-null values, in order, in the slice of the column's type.
	// A BYTE_ARRAY value is Bytes[Offsets[v]:Offsets[v+1]], or, for a
	// dictionary-encoded page (Dict not nil), Dict's entry Indexes[v]
	// (use Str).
	Bytes   []byte
	Offsets []uint32
	Dict    *Dictionary
	Indexes []int32
	Int64   []int64
	Int32   []int32
	Double  []float64
}

// Str returns BYTE_ARRAY value v.
func (p *ColumnPage) Str(v int) []byte {
	if p.Dict != nil {
		return p.Dict.Entry(p.Indexes[v])
	}
	return p.Bytes[p.Offsets[v]:p.Offsets[v+1]]
}

// A ColumnReader reads the pages of one column of a DataFile, row group
// after row group: page by page (Next) or row by row (ReadRows, SkipRows).
type ColumnReader struct {
	f    *DataFile
	col  int
	leaf leafColumn
	rg   int
	w    *pageWalker
	page ColumnPage

	// The dictionary of the current chunk: dict for BYTE_ARRAY, dictNum
	// for the other types.
	dict    *Dictionary
	dictNum *values
	// buf holds the decoded values of the current page; walkBuf is the
	// page walker's decompression buffer, passed from one chunk's walker to
	// the next.
	buf      values
	indexes  []int32
	rep, def []uint8
	walkBuf  []byte
	// body holds the chunk's bytes read from a file not in memory.
	body     []byte
	released bool

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
	b := bufferPool.Get().(*readerBuffers)
	c := &ColumnReader{f: f, col: j, leaf: f.fm.leaves[j], walkBuf: b.walk, buf: b.buf, indexes: b.indexes, rep: b.rep, def: b.def, body: b.body}
	f.readers = append(f.readers, c)
	return c, nil
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
			// A row group skipped whole is not read: its chunk is neither
			// fetched nor walked (a row of the last row group costs one
			// chunk per column, not all of them; in a bucket, a request).
			// Its counts are the footer's, which checkFooter bounded.
			if rg := &c.f.fm.md.RowGroups[c.rg]; skipRows > 0 && rg.NumRows <= int64(skipRows) {
				c.page = ColumnPage{NumRows: int(rg.NumRows), NumValues: int(rg.Columns[c.col].MetaData.NumValues), Skipped: true}
				c.rg++
				return &c.page, nil
			}
			body, err := c.chunk(c.rg)
			if err != nil {
				return nil, err
			}
			if c.w != nil {
				c.walkBuf = c.w.buf
			}
			c.w = c.f.fm.pages(c.rg, c.col, body, &c.f.budget)
			c.w.buf = c.walkBuf
			c.dict, c.dictNum = nil, nil
		}
		raw, err := c.w.next(int64(skipRows))
		if err == io.EOF {
			c.walkBuf = c.w.buf
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
	if n := int(r[1] - r[0]); cap(c.body) < n {
		c.body = make([]byte, n)
	} else {
		c.body = c.body[:n]
	}
	if _, err := c.f.r.ReadAt(c.body, r[0]); err != nil {
		return nil, fmt.Errorf("%s: reading column %q: %w", c.f.name, c.leaf.path[0], err)
	}
	return c.body, nil
}

var (
	dictIndexes rle.DictionaryEncoding
	plainVal    plain.Encoding
	deltaLen    delta.LengthByteArrayEncoding
)

func (c *ColumnReader) decodeDictionary(raw *rawPage) error {
	v := &values{}
	if err := v.decodePlain(c.leaf.typ, raw.Values, raw.NumValues); err != nil {
		return err
	}
	if c.leaf.typ == format.ByteArray {
		c.dict = &Dictionary{Bytes: v.bytes, Offsets: v.offs}
	} else {
		c.dictNum = v
	}
	return nil
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
	if p.Rep != nil {
		if n > 0 && p.Rep[0] != 0 {
			return errors.New("page does not start a row")
		}
		rows := 0
		for _, r := range p.Rep {
			if r == 0 {
				rows++
			}
		}
		if rows != raw.NumRows {
			return fmt.Errorf("levels start %d rows, the page header says %d", rows, raw.NumRows)
		}
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
	b := &c.buf
	switch raw.Encoding {
	case format.RLEDictionary, format.PlainDictionary:
		err = c.decodeIndexes(raw.Values, nonNull)
	case format.DeltaLengthByteArray:
		if c.leaf.typ != format.ByteArray {
			return fmt.Errorf("%s values in a %s column", raw.Encoding, c.leaf.typ)
		}
		b.bytes, b.offs, err = deltaLen.DecodeByteArray(b.bytes[:0], raw.Values, b.offs[:0])
		if err == nil && len(b.offs) == 0 {
			b.offs = append(b.offs, 0)
		}
		if err == nil && len(b.offs)-1 != nonNull {
			err = fmt.Errorf("%d values decoded, the page header says %d non-null", len(b.offs)-1, nonNull)
		}
	case format.Plain:
		err = b.decodePlain(c.leaf.typ, raw.Values, nonNull)
	default:
		err = fmt.Errorf("encoding %s", raw.Encoding)
	}
	if err != nil {
		return err
	}
	if p.Dict != nil {
		return nil
	}
	switch c.leaf.typ {
	case format.ByteArray:
		p.Bytes, p.Offsets = b.bytes, b.offs
	case format.Int64:
		p.Int64 = b.int64s
	case format.Int32:
		p.Int32 = b.int32s
	case format.Double:
		p.Double = b.dbls
	}
	return nil
}

// decodeIndexes decodes n dictionary indexes, checks them, and sets the
// page's values: the indexes with the dictionary for a BYTE_ARRAY column,
// the values looked up for the others.
func (c *ColumnReader) decodeIndexes(src []byte, n int) error {
	if c.dict == nil && c.dictNum == nil {
		return errors.New("dictionary-encoded page without a dictionary page")
	}
	var err error
	c.indexes, err = dictIndexes.DecodeInt32(c.indexes[:0], src)
	if err != nil {
		return err
	}
	if len(c.indexes) < n {
		return fmt.Errorf("%d dictionary indexes, the page header says %d non-null values", len(c.indexes), n)
	}
	idx := c.indexes[:n]
	size := 0
	if c.dict != nil {
		size = c.dict.Len()
	} else {
		size = c.dictNum.len(c.leaf.typ)
	}
	for _, i := range idx {
		if uint32(i) >= uint32(size) {
			return fmt.Errorf("dictionary index %d, the dictionary has %d values", i, size)
		}
	}
	if c.dict != nil {
		c.page.Dict, c.page.Indexes = c.dict, idx
		return nil
	}
	d, b := c.dictNum, &c.buf
	switch c.leaf.typ {
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

// ColumnValues holds the values of a column for a run of rows (ReadRows):
// row i's values are values Rows[i] to Rows[i+1]-1 (a required column has
// one value per row, an optional one none or one, a list any number), in
// the slices of the column's physical type, as in ColumnPage: a BYTE_ARRAY
// value is Bytes[Offsets[v]:Offsets[v+1]] or, when every value of the run
// came from one dictionary, Dict's entry Indexes[v] (use Str). The slices
// may be the reader's page buffers: they are valid until the next call to
// the reader, and must not be modified.
type ColumnValues struct {
	Rows []uint32
	// Required is set for a column of one value a row: Rows[i] is i.
	Required bool
	Bytes    []byte
	Offsets  []uint32
	Dict     *Dictionary
	Indexes  []int32
	Int64    []int64
	Int32    []int32
	Double   []float64

	// own are v's buffers, kept from one run to the next. When borrowed,
	// the value slices are a page's instead: a run within one page is not
	// copied.
	own      ownValues
	borrowed bool
}

type ownValues struct {
	bytes []byte
	offs  []uint32
	idx   []int32
	i64   []int64
	i32   []int32
	dbl   []float64
}

// Reset empties v, keeping its buffers.
func (v *ColumnValues) Reset() {
	if !v.borrowed { // the value slices are v's buffers, maybe grown
		v.own = ownValues{v.Bytes, v.Offsets, v.Indexes, v.Int64, v.Int32, v.Double}
	}
	v.borrowed = false
	v.Rows = append(v.Rows[:0], 0)
	v.Bytes, v.Offsets = v.own.bytes[:0], append(v.own.offs[:0], 0)
	v.Dict, v.Indexes = nil, v.own.idx[:0]
	v.Int64, v.Int32, v.Double = v.own.i64[:0], v.own.i32[:0], v.own.dbl[:0]
}

// ByteLen returns the number of bytes of v's BYTE_ARRAY values, not from
// a dictionary.
func (v *ColumnValues) ByteLen() int {
	if v.Dict != nil || len(v.Offsets) == 0 {
		return 0
	}
	return int(v.Offsets[len(v.Offsets)-1] - v.Offsets[0])
}

// ByteData returns the bytes of v's BYTE_ARRAY values, not from a
// dictionary, back to back.
func (v *ColumnValues) ByteData() []byte {
	if v.Dict != nil || len(v.Offsets) == 0 {
		return nil
	}
	return v.Bytes[v.Offsets[0]:v.Offsets[len(v.Offsets)-1]]
}

// Str returns BYTE_ARRAY value k.
func (v *ColumnValues) Str(k uint32) []byte {
	if v.Dict != nil {
		return v.Dict.Entry(v.Indexes[k])
	}
	return v.Bytes[v.Offsets[k]:v.Offsets[k+1]]
}

// strings returns how many BYTE_ARRAY values v holds.
func (v *ColumnValues) strings() int {
	if v.Dict != nil {
		return len(v.Indexes)
	}
	return len(v.Offsets) - 1
}

// materialize turns dictionary references into bytes.
func (v *ColumnValues) materialize() {
	if v.Dict == nil {
		return
	}
	d := v.Dict
	v.Dict = nil
	for _, i := range v.Indexes {
		v.Bytes = append(v.Bytes, d.Entry(i)...)
		v.Offsets = append(v.Offsets, uint32(len(v.Bytes)))
	}
	v.Indexes = v.Indexes[:0]
}

// ReadRows resets dst and reads into it the values of the column's next n
// rows. Reading past the last row is an error wrapping ErrCorrupt (the
// file's columns disagree on its rows). A list column's empty list has no
// value.
func (c *ColumnReader) ReadRows(n int, dst *ColumnValues) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = c.corrupt(fmt.Errorf("%v", r))
		}
	}()
	dst.Reset()
	dst.Required = c.leaf.maxRep == 0 && c.leaf.maxDef == 0
	for first := true; n > 0; first = false {
		if err := c.fill(0); err != nil {
			return err
		}
		k, err := c.take(n, dst, first)
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
			n -= c.page.NumRows
			c.lp, c.rows = c.page.NumValues, c.page.NumRows
			continue
		}
		scratch.Reset()
		k, err := c.take(n, &scratch, true)
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
	if c.loaded && c.lp < c.page.NumValues {
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
// and returns how many rows it took. When borrow is set (dst is empty)
// and the page holds all n rows, dst's values are the page's, not a copy.
func (c *ColumnReader) take(n int, dst *ColumnValues, borrow bool) (int, error) {
	p := &c.page
	base := dst.Rows[len(dst.Rows)-1]
	var rows, entries, values int
	switch {
	case p.Rep == nil && p.Def == nil: // required: one value an entry
		rows = min(n, p.NumValues-c.lp)
		entries, values = rows, rows
		start := len(dst.Rows)
		dst.Rows = slices.Grow(dst.Rows, rows)[:start+rows]
		// A local slice: no bounds check nor reload of dst.Rows per row.
		rs := dst.Rows[start:]
		for k := range rs {
			rs[k] = base + uint32(k+1)
		}
	case p.Rep == nil: // optional: a value or a null an entry
		rows = min(n, p.NumValues-c.lp)
		entries = rows
		for _, d := range p.Def[c.lp : c.lp+rows] {
			if int(d) == c.leaf.maxDef {
				values++
			}
			dst.Rows = append(dst.Rows, base+uint32(values))
		}
	default: // list: a row is its first entry and the entries that repeat it
		e := c.lp
		for rows < n && e < p.NumValues {
			if p.Rep[e] != 0 {
				return 0, errors.New("page does not start a row")
			}
			end := e + 1
			for end < p.NumValues && p.Rep[end] != 0 {
				end++
			}
			defined, start := 0, e
			for ; e < end; e++ {
				if int(p.Def[e]) == c.leaf.maxDef {
					defined++
				} else if end-start > 1 {
					// An empty list is one entry; within a list, an
					// undefined entry would be a null element, which a
					// Go []string does not have.
					return 0, errors.New("null element in a list")
				}
			}
			entries = e - c.lp
			values += defined
			rows++
			dst.Rows = append(dst.Rows, base+uint32(values))
		}
	}
	if borrow && rows == n {
		if err := c.borrowValues(c.vp, values, dst); err != nil {
			return 0, err
		}
	} else if err := c.copyValues(c.vp, values, dst); err != nil {
		return 0, err
	}
	c.vp += values
	c.lp += entries
	c.rows += rows
	return rows, nil
}

// borrowValues sets dst's values to values [from, from+k) of the current
// page, without copying them.
func (c *ColumnReader) borrowValues(from, k int, dst *ColumnValues) error {
	p := &c.page
	dst.borrowed = true
	switch c.leaf.typ {
	case format.ByteArray:
		if p.Dict != nil {
			if from+k > len(p.Indexes) {
				return errors.New("fewer values than the levels define")
			}
			dst.Dict, dst.Indexes = p.Dict, p.Indexes[from:from+k]
			return nil
		}
		if from+k >= len(p.Offsets) {
			return errors.New("fewer values than the levels define")
		}
		dst.Bytes, dst.Offsets = p.Bytes, p.Offsets[from:from+k+1]
	case format.Int64:
		dst.Int64 = p.Int64[from : from+k]
	case format.Int32:
		dst.Int32 = p.Int32[from : from+k]
	case format.Double:
		dst.Double = p.Double[from : from+k]
	}
	return nil
}

// copyValues appends values [from, from+k) of the current page to dst.
func (c *ColumnReader) copyValues(from, k int, dst *ColumnValues) error {
	if k == 0 {
		return nil
	}
	p := &c.page
	switch c.leaf.typ {
	case format.ByteArray:
		if p.Dict != nil {
			if from+k > len(p.Indexes) {
				return errors.New("fewer values than the levels define")
			}
			if dst.strings() == 0 && dst.Dict == nil {
				dst.Dict = p.Dict
			}
			if dst.Dict == p.Dict {
				dst.Indexes = append(dst.Indexes, p.Indexes[from:from+k]...)
				return nil
			}
			// Another dictionary (a new row group) or plain values
			// already: bytes from here on.
			dst.materialize()
			for _, i := range p.Indexes[from : from+k] {
				dst.Bytes = append(dst.Bytes, p.Dict.Entry(i)...)
				dst.Offsets = append(dst.Offsets, uint32(len(dst.Bytes)))
			}
			return nil
		}
		if from+k >= len(p.Offsets) {
			return errors.New("fewer values than the levels define")
		}
		dst.materialize()
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

// Row returns row i of the file as a record: every column read up to the
// page that holds the row, that page alone decompressed.
func (f *DataFile) Row(i int64) (*record.Record, error) {
	if i < 0 || i >= f.NumRows() {
		return nil, fmt.Errorf("%s: row %d of %d", f.name, i, f.NumRows())
	}
	rec := &record.Record{}
	var v ColumnValues
	for _, name := range record.Columns() {
		c, err := f.Column(name)
		if err != nil {
			return nil, err
		}
		if err := c.SkipRows(int(i)); err != nil {
			return nil, err
		}
		if err := c.ReadRows(1, &v); err != nil {
			return nil, err
		}
		err = AssignColumn(rec, name, &v, 0)
		c.Release() // its values were copied: its buffers serve the next column
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", f.name, i, err)
		}
	}
	rec.Normalize()
	return rec, nil
}

// recordFields maps each column of the record schema to its field of
// record.Record, by the parquet tags parquet-go reads and writes.
var recordFields = func() map[string]int {
	m := map[string]int{}
	rt := reflect.TypeOf(record.Record{})
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("parquet"), ",")
		m[name] = i
	}
	return m
}()

// AssignColumn sets rec's field of column name from row i of v, as
// parquet-go's row reader would: strings and bytes copied, a null optional
// value nil, an empty list nil.
func AssignColumn(rec *record.Record, name string, v *ColumnValues, i int) error {
	fi, ok := recordFields[name]
	if !ok {
		return fmt.Errorf("no field for column %q", name)
	}
	f := reflect.ValueOf(rec).Elem().Field(fi)
	a, z := v.Rows[i], v.Rows[i+1]
	switch f.Interface().(type) {
	case string, record.Type:
		f.SetString(string(v.Str(a)))
	case []byte:
		if s := v.Str(a); len(s) > 0 {
			f.SetBytes(bytes.Clone(s))
		} else {
			f.SetBytes(nil)
		}
	case int64:
		f.SetInt(v.Int64[a])
	case uint64:
		f.SetUint(uint64(v.Int64[a]))
	case uint32:
		f.SetUint(uint64(uint32(v.Int32[a])))
	case *int64:
		f.Set(reflect.Zero(f.Type()))
		if z > a {
			x := v.Int64[a]
			f.Set(reflect.ValueOf(&x))
		}
	case *float64:
		f.Set(reflect.Zero(f.Type()))
		if z > a {
			x := v.Double[a]
			f.Set(reflect.ValueOf(&x))
		}
	case []string:
		var l []string
		for k := a; k < z; k++ {
			l = append(l, string(v.Str(k)))
		}
		f.Set(reflect.ValueOf(l))
	default:
		return fmt.Errorf("column %q: field of type %s", name, f.Type())
	}
	return nil
}
