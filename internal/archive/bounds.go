package archive

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/bits"
	"reflect"
	"sync"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// Bounds that checkParquet enforces on a data file before parquet-go
// decodes it. parquet-go allocates what a file's metadata claims (a footer
// length, a thrift list size, a page size, a run length, a zstd frame's
// content size) before it reads the bytes that would contradict the claim,
// and an allocation the machine cannot satisfy is not a panic that recover
// turns into an error but a fatal "out of memory". So every claim is checked
// first against the bytes that are really there, and what no byte count
// bounds (decompressed sizes, value counts) against the caps below.
const (
	// minRowBytes is the least number of file bytes a row occupies. Every
	// row carries 32 bytes that no encoding can compress: a leaf row its
	// leaf_hash (SHA-256 output), a checkpoint row the Ed25519 signature in
	// its note (64 bytes). So an honest file of n rows has at least 32n
	// bytes, and a footer claiming more rows than size/32 is corrupt.
	minRowBytes = 32

	// MaxPageSize bounds a page, compressed or not. The writer cuts pages
	// at 256 KiB (record.WriterOptions); only a single value larger than
	// that makes a larger page.
	MaxPageSize = 64 << 20

	// maxDecodedFloor and maxDecodedRatio bound the sum of the uncompressed
	// sizes of all pages of a file: at most max(floor, ratio × file size),
	// which bounds the memory its rows take once decoded. Rows compress
	// little as a whole (every row carries random hashes and ids); content
	// repeated in every row (a raw system prompt) compresses more, and the
	// floor admits one record with every content field at its 16 MiB cap.
	// A file beyond the bound is refused as corrupt, naming the bound.
	maxDecodedFloor = 128 << 20
	maxDecodedRatio = 64

	// maxListValuesPerRow bounds the values of a list column (finish
	// reasons, flags) per row of a row group, on average. An empty list or
	// a list of empty strings costs no bytes once run-length encoded, so
	// only a count bounds what decoding such a column allocates.
	maxListValuesPerRow = 64

	// maxThriftDepth bounds the nesting of thrift structures, lists and
	// maps (parquet-go decodes and skips them recursively); the Parquet
	// format nests less than 8 deep.
	maxThriftDepth = 32
	// maxThriftStructs bounds the structures held in lists of one thrift
	// message (a footer: row groups, column chunks, schema elements, ...;
	// each decodes to at most maxThriftStructSize bytes), and
	// maxThriftElems all list and map elements. The footer of a data file
	// has one row group of about 60 column chunks.
	maxThriftStructs    = 1 << 16
	maxThriftElems      = 1 << 20
	maxThriftStructSize = 1 << 10

	// maxZstdBlock is the largest a zstd block decompresses to (RFC 8878
	// 3.1.1.2.3: Block_Maximum_Size is at most 128 KiB).
	maxZstdBlock = 128 << 10
)

// expected is the shape every data file has: what WriteRows writes for the
// record schema. Anything else is not a govaudit data file.
type expected struct {
	schema []format.SchemaElement
	leaves []leafColumn
}

// A leafColumn is a leaf column of the record schema, in file order.
type leafColumn struct {
	path           []string
	typ            format.Type
	maxRep, maxDef int
}

var reference = sync.OnceValues(func() (*expected, error) {
	var buf bytes.Buffer
	if err := WriteRows(&buf, nil); err != nil {
		return nil, err
	}
	f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		return nil, err
	}
	e := &expected{schema: f.Metadata().Schema}
	var walk func(i int, path []string, rep, def int) (int, error)
	walk = func(i int, path []string, rep, def int) (int, error) {
		if i >= len(e.schema) {
			return i, errors.New("record schema: truncated")
		}
		s := e.schema[i]
		if i > 0 {
			path = append(path[:len(path):len(path)], s.Name)
			switch {
			case s.RepetitionType.Valid && s.RepetitionType.V == format.Repeated:
				rep, def = rep+1, def+1
			case s.RepetitionType.Valid && s.RepetitionType.V == format.Optional:
				def++
			}
		}
		if !s.NumChildren.Valid || s.NumChildren.V == 0 {
			e.leaves = append(e.leaves, leafColumn{path: path, typ: s.Type.V, maxRep: rep, maxDef: def})
			return i + 1, nil
		}
		next := i + 1
		for range s.NumChildren.V {
			var err error
			if next, err = walk(next, path, rep, def); err != nil {
				return next, err
			}
		}
		return next, nil
	}
	if _, err := walk(0, nil, 0, 0); err != nil {
		return nil, err
	}
	return e, nil
})

// checkParquet checks that data is a Parquet file of records whose every
// size, count and offset is consistent with its real length and the caps
// above, so that parquet-go can decode it allocating O(len(data)) bytes.
// It decompresses every page once (bounded) to check the run lengths and
// value counts hidden in the compressed bytes. It does not check that the
// rows decode: parquet-go does that.
func checkParquet(data []byte) error {
	fm, err := checkFooter(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	budget := fm.budget()
	for i := range fm.md.RowGroups {
		for j := range fm.md.RowGroups[i].Columns {
			w := fm.pages(i, j, fm.chunkBytes(data, i, j), &budget)
			for {
				if _, err := w.next(0); err == io.EOF {
					break
				} else if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// A fileMeta is the footer of a data file, checked by checkFooter: the
// record schema, row counts bounded by the file's size, and every column
// chunk a range of the file's data, in file order, of the expected type,
// codec and value count. The pages inside a chunk are checked as they are
// read (pageWalker).
type fileMeta struct {
	md     format.FileMetaData
	size   int64
	leaves []leafColumn
	// chunks[i][j] is the byte range [begin, end) of row group i's chunk of
	// leaf column j.
	chunks [][][2]int64
}

// budget returns the uncompressed bytes all pages of the file may take
// (see maxDecodedFloor).
func (fm *fileMeta) budget() int64 { return max(maxDecodedFloor, maxDecodedRatio*fm.size) }

// chunkBytes returns chunk (i, j) of a file held in memory.
func (fm *fileMeta) chunkBytes(data []byte, i, j int) []byte {
	r := fm.chunks[i][j]
	return data[r[0]:r[1]]
}

// checkFooter reads and checks the footer of the data file of size bytes
// that r reads (see fileMeta). It reads the last 8 bytes and the footer
// only, and allocates at most the footer's length.
func checkFooter(r io.ReaderAt, size int64) (*fileMeta, error) {
	ref, err := reference()
	if err != nil {
		return nil, err
	}
	if size < 12 {
		return nil, fmt.Errorf("%d bytes is too short for a Parquet file", size)
	}
	var magic [4]byte
	var tail [8]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil {
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return nil, fmt.Errorf("reading the footer length: %w", err)
	}
	if string(magic[:]) != "PAR1" || string(tail[4:]) != "PAR1" {
		return nil, errors.New("missing PAR1 magic")
	}
	footerLen := int64(binary.LittleEndian.Uint32(tail[:4]))
	if footerLen > size-12 {
		return nil, fmt.Errorf("footer length %d exceeds the file's %d bytes", footerLen, size)
	}
	footer := make([]byte, footerLen)
	if _, err := r.ReadAt(footer, size-8-footerLen); err != nil {
		return nil, fmt.Errorf("reading the footer: %w", err)
	}
	w := thriftWalker{b: footer}
	if err := w.message(); err != nil {
		return nil, fmt.Errorf("footer: %w", err)
	}
	if w.pos != len(footer) {
		return nil, fmt.Errorf("footer: %d trailing bytes", len(footer)-w.pos)
	}
	fm := &fileMeta{size: size, leaves: ref.leaves}
	md := &fm.md
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), footer, md); err != nil {
		return nil, fmt.Errorf("footer: %w", err)
	}
	if !reflect.DeepEqual([]format.SchemaElement(md.Schema), []format.SchemaElement(ref.schema)) {
		return nil, errors.New("schema is not the record schema")
	}
	if md.EncryptionAlgorithm.Value != nil || md.FooterSigningKeyMetadata != nil {
		return nil, errors.New("encrypted files are not data files")
	}
	if md.NumRows < 0 || md.NumRows > size/minRowBytes {
		return nil, fmt.Errorf("footer claims %d rows, a file of %d bytes holds at most %d", md.NumRows, size, size/minRowBytes)
	}
	end, prevEnd := size-8-footerLen, int64(4)
	var rows int64
	for i := range md.RowGroups {
		rg := &md.RowGroups[i]
		if rg.NumRows < 1 || rg.NumRows > md.NumRows-rows {
			return nil, fmt.Errorf("row group %d: %d rows, file has %d in all", i, rg.NumRows, md.NumRows)
		}
		rows += rg.NumRows
		if len(rg.Columns) != len(ref.leaves) {
			return nil, fmt.Errorf("row group %d: %d column chunks, want %d", i, len(rg.Columns), len(ref.leaves))
		}
		ranges := make([][2]int64, len(rg.Columns))
		for j := range rg.Columns {
			begin, err := checkChunk(&rg.Columns[j], ref.leaves[j], rg.NumRows, prevEnd, end)
			if err != nil {
				return nil, fmt.Errorf("row group %d, column %q: %w", i, ref.leaves[j].path, err)
			}
			prevEnd = begin + rg.Columns[j].MetaData.TotalCompressedSize
			ranges[j] = [2]int64{begin, prevEnd}
		}
		fm.chunks = append(fm.chunks, ranges)
	}
	if rows != md.NumRows {
		return nil, fmt.Errorf("row groups hold %d rows, footer claims %d", rows, md.NumRows)
	}
	return fm, nil
}

// checkChunk checks the metadata of a column chunk of rows rows that must
// lie in [prevEnd, end) of the file, and returns where it begins.
func checkChunk(cc *format.ColumnChunk, leaf leafColumn, rows, prevEnd, end int64) (int64, error) {
	m := &cc.MetaData
	switch {
	case cc.FilePath != "":
		return 0, errors.New("chunk refers to another file")
	case cc.CryptoMetadata.Value != nil || cc.EncryptedColumnMetadata != nil:
		return 0, errors.New("encrypted column chunk")
	case m.Type != leaf.typ || !reflect.DeepEqual([]string(m.PathInSchema), leaf.path):
		return 0, fmt.Errorf("metadata names %v %s", m.PathInSchema, m.Type)
	case m.Codec != format.Zstd:
		return 0, fmt.Errorf("codec %s, data files use ZSTD", m.Codec)
	case leaf.maxRep == 0 && m.NumValues != rows:
		return 0, fmt.Errorf("%d values in %d rows", m.NumValues, rows)
	case leaf.maxRep > 0 && (m.NumValues < rows || m.NumValues > maxListValuesPerRow*rows):
		return 0, fmt.Errorf("%d values in %d rows (at most %d per row)", m.NumValues, rows, maxListValuesPerRow)
	}
	start := m.DataPageOffset
	if m.DictionaryPageOffset != 0 {
		if m.DictionaryPageOffset > m.DataPageOffset {
			return 0, fmt.Errorf("dictionary page at %d after the data pages at %d", m.DictionaryPageOffset, m.DataPageOffset)
		}
		start = m.DictionaryPageOffset
	}
	if start < prevEnd || m.TotalCompressedSize < 0 || m.TotalCompressedSize > end-start {
		return 0, fmt.Errorf("chunk [%d, +%d) is not inside the file's data [%d, %d)", start, m.TotalCompressedSize, prevEnd, end)
	}
	return start, nil
}

// pages returns a walker over the pages of chunk (i, j), whose bytes are
// body, drawing decompressed sizes from budget (shared by a file's chunks).
func (fm *fileMeta) pages(i, j int, body []byte, budget *int64) *pageWalker {
	cc := &fm.md.RowGroups[i].Columns[j]
	return &pageWalker{body: body, start: fm.chunks[i][j][0], leaf: fm.leaves[j], meta: &cc.MetaData,
		rows: fm.md.RowGroups[i].NumRows, budget: budget}
}

// A pageWalker reads the pages of one column chunk in order, checking each
// page header and, as it decompresses a page, the run lengths and value
// counts inside it (see checkParquet), before anything decodes it.
type pageWalker struct {
	body   []byte // the chunk's bytes
	start  int64  // file offset of body[0], for messages
	leaf   leafColumn
	meta   *format.ColumnMetaData
	rows   int64
	budget *int64

	pos           int64 // in body
	page          int
	values, nrows int64
	dict          bool
	buf           []byte
	page0         rawPage
}

// A rawPage is a page read by a pageWalker: a dictionary page or a
// DATA_PAGE_V2, its header's counts, and its bytes. Values, Rep and Def
// are valid until the next call to next.
type rawPage struct {
	Dictionary bool
	// NumValues counts the page's values, nulls included (for a data page:
	// its level entries); NumNulls the nulls; NumRows the rows it holds.
	NumValues, NumNulls, NumRows int
	Encoding                     format.Encoding
	// Rep and Def are the RLE-encoded levels of a data page, as stored.
	Rep, Def []byte
	// Values are the decompressed, still encoded values.
	Values []byte
	// Skipped is set on a data page that next skipped: its body was neither
	// decompressed nor checked, and only the counts above are set.
	Skipped bool
}

// next returns the next page of the chunk, or io.EOF once every page was
// read and their counts matched the chunk's metadata. A data page of at
// most skipRows rows (skipRows > 0) is skipped: its header is checked but
// its body is neither decompressed nor checked (rawPage.Skipped), for a
// reader that does not decode it. Dictionary pages are always decompressed
// and checked.
func (w *pageWalker) next(skipRows int64) (*rawPage, error) {
	end := int64(len(w.body))
	if w.pos >= end {
		if w.values != w.meta.NumValues || w.nrows != w.rows {
			return nil, fmt.Errorf("pages hold %d values in %d rows, chunk metadata says %d in %d", w.values, w.nrows, w.meta.NumValues, w.rows)
		}
		return nil, io.EOF
	}
	page, at := w.page, w.start+w.pos
	w.page++
	hw := thriftWalker{b: w.body[w.pos:]}
	if err := hw.message(); err != nil {
		return nil, fmt.Errorf("page %d header at %d: %w", page, at, err)
	}
	var h format.PageHeader
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), w.body[w.pos:w.pos+int64(hw.pos)], &h); err != nil {
		return nil, fmt.Errorf("page %d header at %d: %w", page, at, err)
	}
	w.pos += int64(hw.pos)
	if h.CompressedPageSize < 0 || h.CompressedPageSize > MaxPageSize || int64(h.CompressedPageSize) > end-w.pos {
		return nil, fmt.Errorf("page %d: compressed size %d exceeds its chunk's %d remaining bytes", page, h.CompressedPageSize, end-w.pos)
	}
	if h.UncompressedPageSize < 0 || h.UncompressedPageSize > MaxPageSize {
		return nil, fmt.Errorf("page %d: uncompressed size %d exceeds %d", page, h.UncompressedPageSize, MaxPageSize)
	}
	if int64(h.UncompressedPageSize) > *w.budget {
		return nil, fmt.Errorf("page %d: pages decompress to more than max(%d, %d × file size) bytes", page, maxDecodedFloor, maxDecodedRatio)
	}
	*w.budget -= int64(h.UncompressedPageSize)
	body := w.body[w.pos : w.pos+int64(h.CompressedPageSize)]
	w.pos += int64(h.CompressedPageSize)
	if h.CRC != 0 && uint32(h.CRC) != crc32.ChecksumIEEE(body) {
		// parquet-go's reader refuses such a page: so does every reader of
		// the archive, whichever way it reads.
		return nil, fmt.Errorf("page %d: crc32 checksum mismatch", page)
	}
	p := &w.page0
	*p = rawPage{}
	switch {
	case h.Type == format.DictionaryPage && page == 0 && h.DictionaryPageHeader.Valid:
		d := &h.DictionaryPageHeader.V
		if d.NumValues < 0 || int64(d.NumValues) > w.meta.NumValues {
			return nil, fmt.Errorf("dictionary page: %d values, chunk has %d", d.NumValues, w.meta.NumValues)
		}
		if d.Encoding != format.Plain && d.Encoding != format.PlainDictionary {
			return nil, fmt.Errorf("dictionary page encoding %s", d.Encoding)
		}
		values, err := w.decompress(body, int(h.UncompressedPageSize))
		if err != nil {
			return nil, fmt.Errorf("dictionary page: %w", err)
		}
		w.dict = true
		*p = rawPage{Dictionary: true, NumValues: int(d.NumValues), Encoding: format.Plain, Values: values}
	case h.Type == format.DataPageV2 && h.DataPageHeaderV2.Valid:
		d := &h.DataPageHeaderV2.V
		skip := skipRows > 0 && int64(d.NumRows) <= skipRows
		if err := w.checkDataPage(d, body, int(h.UncompressedPageSize), skip, p); err != nil {
			return nil, fmt.Errorf("page %d: %w", page, err)
		}
		w.values += int64(d.NumValues)
		w.nrows += int64(d.NumRows)
	default:
		return nil, fmt.Errorf("page %d: unexpected %s page", page, h.Type)
	}
	return p, nil
}

// checkDataPage checks a DATA_PAGE_V2 of at most left values: its levels
// (stored uncompressed, before the values) and its values, decompressed to
// exactly size minus the levels' length.
func (w *pageWalker) checkDataPage(d *format.DataPageHeaderV2, body []byte, size int, skip bool, p *rawPage) error {
	leaf, dict, left := w.leaf, w.dict, w.meta.NumValues-w.values
	switch {
	case d.NumValues < 0 || int64(d.NumValues) > left:
		return fmt.Errorf("%d values, %d left in the chunk", d.NumValues, left)
	case d.NumNulls < 0 || d.NumNulls > d.NumValues:
		return fmt.Errorf("%d nulls in %d values", d.NumNulls, d.NumValues)
	case d.NumRows < 0 || d.NumRows > d.NumValues || leaf.maxRep == 0 && d.NumRows != d.NumValues:
		return fmt.Errorf("%d rows in %d values", d.NumRows, d.NumValues)
	case d.RepetitionLevelsByteLength < 0 || d.DefinitionLevelsByteLength < 0 ||
		int64(d.RepetitionLevelsByteLength)+int64(d.DefinitionLevelsByteLength) > int64(min(len(body), size)):
		return fmt.Errorf("levels of %d+%d bytes in a page of %d", d.RepetitionLevelsByteLength, d.DefinitionLevelsByteLength, len(body))
	}
	switch d.Encoding {
	case format.Plain, format.RLEDictionary, format.PlainDictionary, format.DeltaLengthByteArray:
	default:
		return fmt.Errorf("encoding %s", d.Encoding)
	}
	*p = rawPage{NumValues: int(d.NumValues), NumNulls: int(d.NumNulls), NumRows: int(d.NumRows), Encoding: d.Encoding, Skipped: skip}
	if skip {
		return nil
	}
	n := int(d.NumValues)
	rep, def := body[:d.RepetitionLevelsByteLength], body[d.RepetitionLevelsByteLength:d.RepetitionLevelsByteLength+d.DefinitionLevelsByteLength]
	if leaf.maxRep > 0 {
		if err := checkRLE(rep, bits.Len(uint(leaf.maxRep)), n); err != nil {
			return fmt.Errorf("repetition levels: %w", err)
		}
	}
	if leaf.maxDef > 0 {
		if err := checkRLE(def, bits.Len(uint(leaf.maxDef)), n); err != nil {
			return fmt.Errorf("definition levels: %w", err)
		}
	}
	levels := len(rep) + len(def)
	values := body[levels:]
	want := size - levels
	if !(d.IsCompressed.Valid && !d.IsCompressed.V) {
		var err error
		if values, err = w.decompress(values, want); err != nil {
			return err
		}
	} else if len(values) != want {
		return fmt.Errorf("uncompressed page of %d bytes, header says %d", len(values), want)
	}
	nonNull := n - int(d.NumNulls)
	switch d.Encoding {
	case format.Plain:
	case format.RLEDictionary, format.PlainDictionary:
		if !dict {
			return errors.New("dictionary-encoded page without a dictionary page")
		}
		if len(values) == 0 {
			if nonNull > 0 {
				return errors.New("dictionary indexes missing")
			}
			break
		}
		if values[0] > 32 {
			return fmt.Errorf("dictionary index bit width %d", values[0])
		}
		if err := checkRLE(values[1:], int(values[0]), nonNull); err != nil {
			return fmt.Errorf("dictionary indexes: %w", err)
		}
	case format.DeltaLengthByteArray:
		if len(values) == 0 && nonNull == 0 {
			break
		}
		total, err := deltaTotal(values)
		if err != nil {
			return err
		}
		if total > uint64(nonNull) {
			return fmt.Errorf("delta-encoded lengths of %d values in a page of %d", total, nonNull)
		}
	}
	p.Rep, p.Def, p.Values = rep, def, values
	return nil
}

// zstdSlack is the room a decompression buffer keeps past a page's size:
// with at least 16 bytes of it, klauspost/compress copies in 16-byte
// blocks instead of its bounds-exact ("safe") loop, which here took a
// third more time (useSafeDecodeSync in its seqdec_asm.go).
const zstdSlack = 64

// pageCodec decompresses pages for the pageWalker. It is shared: a Codec
// pools its decoders, which are costly to create.
var pageCodec zstd.Codec

// decompress decompresses a zstd page that must decompress to exactly size
// bytes, after checking with zstdBound that it cannot decompress to much
// more (the decoder allocates what a frame header claims).
func (w *pageWalker) decompress(src []byte, size int) ([]byte, error) {
	if err := zstdBound(src, size); err != nil {
		return nil, err
	}
	if cap(w.buf) < size+zstdSlack {
		w.buf = make([]byte, 0, size+zstdSlack)
	}
	out, err := pageCodec.Decode(w.buf[:0], src)
	if err != nil {
		return nil, fmt.Errorf("zstd: %w", err)
	}
	if cap(out) <= MaxPageSize+maxZstdBlock {
		w.buf = out[:0]
	}
	if len(out) != size {
		return nil, fmt.Errorf("page decompresses to %d bytes, header says %d", len(out), size)
	}
	return out, nil
}

// zstdBound checks that the zstd frames in src (RFC 8878) cannot
// decompress to more than size bytes plus one block per frame, by reading
// the frame and block headers only: a frame's declared content size must
// not exceed size, and raw and RLE blocks count their size, a compressed
// block its maximum (128 KiB). Dictionaries are refused (data files use
// none).
func zstdBound(src []byte, size int) error {
	limit := int64(size)
	var total int64
	for frames := int64(1); len(src) > 0; frames++ {
		if len(src) < 4 {
			return errors.New("zstd: truncated frame")
		}
		magic := binary.LittleEndian.Uint32(src)
		if magic&0xFFFFFFF0 == 0x184D2A50 { // skippable frame
			if len(src) < 8 || int64(binary.LittleEndian.Uint32(src[4:])) > int64(len(src)-8) {
				return errors.New("zstd: truncated skippable frame")
			}
			src = src[8+binary.LittleEndian.Uint32(src[4:]):]
			continue
		}
		if magic != 0xFD2FB528 {
			return fmt.Errorf("zstd: bad magic %#x", magic)
		}
		if len(src) < 5 {
			return errors.New("zstd: truncated frame header")
		}
		fhd := src[4]
		p := 5
		single := fhd&0x20 != 0
		if fhd&0x08 != 0 {
			return errors.New("zstd: reserved bit set")
		}
		if fhd&0x03 != 0 {
			return errors.New("zstd: dictionary frames are not used by data files")
		}
		if !single {
			p++ // window descriptor: the decoder writes into its output
		}
		fcsLen := [4]int{0, 2, 4, 8}[fhd>>6]
		if fcsLen == 0 && single {
			fcsLen = 1
		}
		if len(src) < p+fcsLen {
			return errors.New("zstd: truncated frame header")
		}
		var fcs uint64
		switch fcsLen {
		case 1:
			fcs = uint64(src[p])
		case 2:
			fcs = uint64(binary.LittleEndian.Uint16(src[p:])) + 256
		case 4:
			fcs = uint64(binary.LittleEndian.Uint32(src[p:]))
		case 8:
			fcs = binary.LittleEndian.Uint64(src[p:])
		}
		if fcs > uint64(limit) {
			return fmt.Errorf("zstd: frame claims %d bytes, page has %d", fcs, size)
		}
		p += fcsLen
		for last := false; !last; {
			if len(src) < p+3 {
				return errors.New("zstd: truncated block header")
			}
			h := uint32(src[p]) | uint32(src[p+1])<<8 | uint32(src[p+2])<<16
			p += 3
			last = h&1 != 0
			n := int64(h >> 3)
			switch (h >> 1) & 3 {
			case 0: // raw
				total += n
			case 1: // RLE: one byte repeated n times
				total += n
				n = 1
			case 2: // compressed
				total += maxZstdBlock
			default:
				return errors.New("zstd: reserved block type")
			}
			if n > int64(len(src)-p) {
				return errors.New("zstd: truncated block")
			}
			p += int(n)
			if total > limit+frames*maxZstdBlock {
				return fmt.Errorf("zstd: blocks decompress to more than the page's %d bytes", size)
			}
		}
		if fhd&0x04 != 0 {
			p += 4
		}
		if p > len(src) {
			return errors.New("zstd: truncated checksum")
		}
		src = src[p:]
	}
	return nil
}

// checkRLE checks the RLE/bit-packed hybrid run headers of src (as
// parquet-go's rle package parses them, for values of bitWidth bits):
// every run lies inside src and the runs hold at most n values (rounded up
// to a group of 8), so decoding allocates no more than n values.
func checkRLE(src []byte, bitWidth, n int) error {
	if bitWidth > 32 {
		return fmt.Errorf("bit width %d", bitWidth)
	}
	limit := uint64(n) + 7
	var total uint64
	for i := 0; i < len(src); {
		u, k := binary.Uvarint(src[i:])
		if k <= 0 {
			return errors.New("bad run header")
		}
		i += k
		count := u >> 1
		if u&1 != 0 { // bit-packed: count groups of 8 values
			if count > limit/8+1 {
				return fmt.Errorf("runs of more than %d values", n)
			}
			count *= 8
			l := (count*uint64(bitWidth) + 7) / 8
			if l > uint64(len(src)-i) {
				return errors.New("truncated bit-packed run")
			}
			i += int(l)
		} else {
			l := (bitWidth + 7) / 8
			if l > len(src)-i {
				return errors.New("truncated run")
			}
			i += l
		}
		if total += count; total > limit {
			return fmt.Errorf("runs of more than %d values", n)
		}
	}
	return nil
}

// deltaTotal returns the value count in the header of a
// DELTA_BINARY_PACKED sequence (the lengths of DELTA_LENGTH_BYTE_ARRAY).
func deltaTotal(src []byte) (uint64, error) {
	for range 2 { // block size, mini-blocks per block
		_, k := binary.Uvarint(src)
		if k <= 0 {
			return 0, errors.New("bad delta header")
		}
		src = src[k:]
	}
	total, k := binary.Uvarint(src)
	if k <= 0 {
		return 0, errors.New("bad delta header")
	}
	return total, nil
}

// A thriftWalker walks one thrift compact-protocol message without
// decoding it, checking what parquet-go's decoder would otherwise allocate
// on trust: every binary length and list, set or map size must fit in the
// bytes left (each element takes at least one byte), nesting is at most
// maxThriftDepth, and the message holds at most maxThriftStructs structures
// in lists and maxThriftElems list elements.
type thriftWalker struct {
	b              []byte
	pos            int
	structs, elems int
}

// Thrift compact-protocol type codes.
const (
	tStop, tTrue, tFalse, tI8, tI16, tI32, tI64, tDouble, tBinary, tList, tSet, tMap, tStruct, tUUID = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13
)

var errThriftTruncated = errors.New("truncated thrift message")

func (w *thriftWalker) message() error { return w.structure(0) }

func (w *thriftWalker) byte() (byte, error) {
	if w.pos >= len(w.b) {
		return 0, errThriftTruncated
	}
	w.pos++
	return w.b[w.pos-1], nil
}

func (w *thriftWalker) uvarint() (uint64, error) {
	u, k := binary.Uvarint(w.b[w.pos:])
	if k <= 0 {
		if k == 0 {
			return 0, errThriftTruncated
		}
		return 0, errors.New("thrift varint overflows")
	}
	w.pos += k
	return u, nil
}

// size reads a length or element count that must fit in the bytes left.
func (w *thriftWalker) size() (int, error) {
	u, err := w.uvarint()
	if err != nil {
		return 0, err
	}
	if u > uint64(len(w.b)-w.pos) {
		return 0, fmt.Errorf("thrift length %d exceeds the %d bytes left", u, len(w.b)-w.pos)
	}
	return int(u), nil
}

func (w *thriftWalker) structure(depth int) error {
	if depth > maxThriftDepth {
		return fmt.Errorf("thrift nesting deeper than %d", maxThriftDepth)
	}
	for {
		b, err := w.byte()
		if err != nil {
			return err
		}
		t := b & 0x0F
		if t == tStop {
			if b != 0 {
				return errors.New("bad thrift field header")
			}
			return nil
		}
		if b>>4 == 0 { // long form: zigzag i16 field id
			if _, err := w.uvarint(); err != nil {
				return err
			}
		}
		if t == tTrue || t == tFalse {
			continue // the value is in the type
		}
		if err := w.value(t, depth+1); err != nil {
			return err
		}
	}
}

func (w *thriftWalker) value(t byte, depth int) error {
	switch t {
	case tTrue, tFalse, tI8:
		_, err := w.byte()
		return err
	case tI16, tI32, tI64:
		_, err := w.uvarint()
		return err
	case tDouble, tUUID:
		n := 8
		if t == tUUID {
			n = 16
		}
		if len(w.b)-w.pos < n {
			return errThriftTruncated
		}
		w.pos += n
		return nil
	case tBinary:
		n, err := w.size()
		w.pos += n
		return err
	case tList, tSet:
		h, err := w.byte()
		if err != nil {
			return err
		}
		n := int(h >> 4)
		if n == 0x0F {
			if n, err = w.size(); err != nil {
				return err
			}
		} else if n > len(w.b)-w.pos {
			return errThriftTruncated
		}
		return w.elements(n, h&0x0F, 0, depth)
	case tMap:
		n, err := w.size()
		if err != nil || n == 0 {
			return err
		}
		kv, err := w.byte()
		if err != nil {
			return err
		}
		return w.elements(n, kv>>4, kv&0x0F, depth)
	case tStruct:
		return w.structure(depth)
	}
	return fmt.Errorf("thrift type %d", t)
}

// elements walks n list elements of type t, or map entries of types t, u.
func (w *thriftWalker) elements(n int, t, u byte, depth int) error {
	if depth > maxThriftDepth {
		return fmt.Errorf("thrift nesting deeper than %d", maxThriftDepth)
	}
	if w.elems += n; w.elems > maxThriftElems {
		return fmt.Errorf("more than %d thrift list elements", maxThriftElems)
	}
	if t == tStruct || u == tStruct {
		if w.structs += n; w.structs > maxThriftStructs {
			return fmt.Errorf("more than %d thrift structures in lists", maxThriftStructs)
		}
	}
	for range n {
		if err := w.value(t, depth+1); err != nil {
			return err
		}
		if u != 0 {
			if err := w.value(u, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
