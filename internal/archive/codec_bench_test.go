package archive

import (
	"bytes"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/lz4"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/govaudit/govaudit/internal/record"
)

// BenchmarkPageCodecs compares the page codecs parquet-go offers for data
// files (docs/performance.md, "Verify: codec, GC, empty columns"): a data
// file of 50,000 rows written uncompressed, cut into 256 KiB pieces (the
// writer's page size), each compressed by the codec, then decompressed as
// verify decompresses pages (decode=) or compressed again as the writer
// compresses them (encode=). It reports compressed bytes and time per row.
// Data files stay zstd: see the figures there.
func BenchmarkPageCodecs(b *testing.B) {
	var raw bytes.Buffer
	opts := append(record.WriterOptions(), parquet.Compression(&parquet.Uncompressed))
	pw := parquet.NewGenericWriter[record.Record](&raw, opts...)
	rows := benchRows(50_000)
	if _, err := pw.Write(rows); err != nil {
		b.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		b.Fatal(err)
	}
	var pages [][]byte
	for p := raw.Bytes(); len(p) > 0; {
		n := min(len(p), 256<<10)
		pages = append(pages, p[:n])
		p = p[n:]
	}
	codecs := map[string]compress.Codec{"zstd": &zstd.Codec{Level: zstd.SpeedDefault},
		"lz4": &lz4.Codec{Level: lz4.DefaultLevel}, "lz4fastest": &lz4.Codec{Level: lz4.Fastest}, "snappy": &snappy.Codec{}}
	for _, name := range []string{"zstd", "lz4", "lz4fastest", "snappy"} {
		codec := codecs[name]
		var enc [][]byte
		size := 0
		for _, p := range pages {
			e, err := codec.Encode(nil, p)
			if err != nil {
				b.Fatal(err)
			}
			enc = append(enc, e)
			size += len(e)
		}
		b.Run("decode="+name, func(b *testing.B) {
			// 3 times the largest page: parquet-go's LZ4 Decode then
			// decodes in place (with less room it allocates, and its
			// reader loses the output: parquet-go issue #608).
			dst := make([]byte, 0, 3*(256<<10))
			for b.Loop() {
				for k, e := range enc {
					out, err := codec.Decode(dst[:0], e)
					if err != nil || len(out) != len(pages[k]) {
						b.Fatal(err, len(out))
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(rows)), "ns/row")
			b.ReportMetric(float64(size)/float64(len(rows)), "B/row")
		})
		b.Run("encode="+name, func(b *testing.B) {
			var dst []byte
			for b.Loop() {
				for _, p := range pages {
					var err error
					if dst, err = codec.Encode(dst[:0], p); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(rows)), "ns/row")
		})
	}
	b.Logf("uncompressed: %d B/row", raw.Len()/len(rows))
}
