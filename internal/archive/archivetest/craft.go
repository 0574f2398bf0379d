// Package archivetest crafts hostile data files for tests: it rewrites the
// footer and page headers of a valid Parquet data file (thrift compact
// protocol, as parquet-go encodes them) so that a test can claim absurd row
// counts, page sizes or offsets without writing Parquet by hand; and it
// makes the benchmarks' records (Records).
package archivetest

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// Footer decodes the footer (file metadata) of a Parquet file.
func Footer(data []byte) (*format.FileMetaData, error) {
	n := len(data)
	if n < 12 {
		return nil, errors.New("too short")
	}
	fl := int(binary.LittleEndian.Uint32(data[n-8:]))
	if fl > n-12 {
		return nil, errors.New("bad footer length")
	}
	md := new(format.FileMetaData)
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), data[n-8-fl:n-8], md); err != nil {
		return nil, err
	}
	return md, nil
}

// WithFooter returns data with its footer replaced by md.
func WithFooter(data []byte, md *format.FileMetaData) ([]byte, error) {
	n := len(data)
	fl := int(binary.LittleEndian.Uint32(data[n-8:]))
	b, err := thrift.Marshal(new(thrift.CompactProtocol), md)
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), data[:n-8-fl]...)
	out = append(out, b...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(b)))
	return append(out, "PAR1"...), nil
}

// EditFooter decodes the footer, lets edit change it and re-encodes it.
func EditFooter(data []byte, edit func(*format.FileMetaData)) ([]byte, error) {
	md, err := Footer(data)
	if err != nil {
		return nil, err
	}
	edit(md)
	return WithFooter(data, md)
}

// A Page locates one page header of a file.
type Page struct {
	RowGroup, Column int
	Offset           int64 // of the header
	HeaderLen        int64
	Header           format.PageHeader
}

// Pages returns every page header of the file, in file order.
func Pages(data []byte) ([]Page, error) {
	md, err := Footer(data)
	if err != nil {
		return nil, err
	}
	var out []Page
	for i, rg := range md.RowGroups {
		for j, c := range rg.Columns {
			m := c.MetaData
			start := m.DataPageOffset
			if m.DictionaryPageOffset != 0 {
				start = m.DictionaryPageOffset
			}
			for pos := start; pos < start+m.TotalCompressedSize; {
				r := new(thrift.CompactProtocol).NewReaderFromBytes(data[pos:])
				var h format.PageHeader
				if err := thrift.NewDecoder(r).Decode(&h); err != nil {
					return nil, fmt.Errorf("page at %d: %w", pos, err)
				}
				out = append(out, Page{RowGroup: i, Column: j, Offset: pos, HeaderLen: int64(r.BytesRead()), Header: h})
				pos += int64(r.BytesRead()) + int64(h.CompressedPageSize)
			}
		}
	}
	return out, nil
}

// WithPageHeader returns data with the header of page p replaced by h, the
// following bytes moved and every offset of the footer shifted to match,
// so that only the header's claims differ from the original file.
func WithPageHeader(data []byte, p Page, h *format.PageHeader) ([]byte, error) {
	b, err := thrift.Marshal(new(thrift.CompactProtocol), h)
	if err != nil {
		return nil, err
	}
	md, err := Footer(data)
	if err != nil {
		return nil, err
	}
	d := int64(len(b)) - p.HeaderLen
	shift := func(off *int64) {
		if *off > p.Offset {
			*off += d
		}
	}
	for i := range md.RowGroups {
		rg := &md.RowGroups[i]
		for j := range rg.Columns {
			c := &rg.Columns[j]
			m := &c.MetaData
			if i == p.RowGroup && j == p.Column {
				m.TotalCompressedSize += d
				m.TotalUncompressedSize += d
			}
			shift(&m.DataPageOffset)
			shift(&m.DictionaryPageOffset)
			shift(&m.BloomFilterOffset)
			shift(&c.ColumnIndexOffset)
			shift(&c.OffsetIndexOffset)
			shift(&c.FileOffset)
		}
	}
	n := len(data)
	fl := int(binary.LittleEndian.Uint32(data[n-8:]))
	out := append([]byte(nil), data[:p.Offset]...)
	out = append(out, b...)
	out = append(out, data[p.Offset+p.HeaderLen:n-8-fl]...)
	out = append(out, data[n-8-fl:]...)
	return WithFooter(out, md)
}
