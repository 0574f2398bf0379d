package record

import (
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// Schema returns the Parquet schema of the archive: the Record struct's
// parquet tags.
func Schema() *parquet.Schema { return parquet.SchemaOf(Record{}) }

// BloomFilterColumns are the high-cardinality id columns that get a Parquet
// split-block bloom filter in every archive file.
var BloomFilterColumns = []string{"record_id", "trace_id", "user_id", "session_id", "conversation_id"}

// WriterOptions returns the parquet-go writer options every archive file is
// written with: zstd, page statistics, and bloom filters on the id columns.
func WriterOptions() []parquet.WriterOption {
	blooms := make([]parquet.BloomFilterColumn, len(BloomFilterColumns))
	for i, c := range BloomFilterColumns {
		blooms[i] = parquet.SplitBlockFilter(10, c)
	}
	return []parquet.WriterOption{
		parquet.Compression(&zstd.Codec{Level: zstd.SpeedDefault}),
		parquet.PageBufferSize(256 << 10),
		parquet.DataPageStatistics(true),
		parquet.BloomFilters(blooms...),
		parquet.KeyValueMetadata("govaudit.schema_version", "1"),
	}
}
