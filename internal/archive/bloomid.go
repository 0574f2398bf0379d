package archive

import (
	"bytes"

	"github.com/parquet-go/parquet-go"
)

// MayHoldID reports whether the data file whose bytes are data may hold a
// row whose column (a record.BloomFilterColumns name, such as "record_id")
// is value, from the file's Parquet split-block bloom filters. False means
// certainly not; a file without such a filter, or one that is not a valid
// data file, may hold it (the caller reads it and reports what is wrong).
// The file is bounds-checked first, as for DecodeFile: a hostile file
// costs what its size allows and never panics.
func MayHoldID(data []byte, column, value string) (may bool) {
	defer func() {
		if recover() != nil {
			may = true
		}
	}()
	if checkParquet(data) != nil {
		return true
	}
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)), parquet.SkipPageIndex(true))
	if err != nil {
		return true
	}
	leaf, ok := f.Schema().Lookup(column)
	if !ok {
		return true
	}
	v := parquet.ValueOf(value)
	for _, rg := range f.RowGroups() {
		bf := rg.ColumnChunks()[leaf.ColumnIndex].BloomFilter()
		if bf == nil {
			return true
		}
		if found, err := bf.Check(v); err != nil || found {
			return true
		}
	}
	return false
}
