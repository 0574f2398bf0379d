package verify

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/archive/archivetest"
	"github.com/govaudit/govaudit/internal/record"
)

// benchRecords returns n sealed GenAI chat records of one log
// (archivetest.Records).
func benchRecords(origin string, epoch uint64, n int) []record.Record {
	return archivetest.Records(origin, epoch, n)
}

// BenchmarkCanonical measures ReadLeaves's canonical encoding of one batch
// of rows (every row re-hashed), on GenAI chat records as
// cmd/govaudit's benchmarks write them: the step between decoding the
// columns and hashing.
func BenchmarkCanonical(b *testing.B) {
	recs := benchRecords("bench", 1795720303427918821, 4096)
	var buf bytes.Buffer
	if err := archive.WriteRows(&buf, recs); err != nil {
		b.Fatal(err)
	}
	p, err := columnPlan()
	if err != nil {
		b.Fatal(err)
	}
	df, err := archive.OpenDataBytes("f", buf.Bytes())
	if err != nil {
		b.Fatal(err)
	}
	r := &leafReader{plan: p, out: &LeafFile{}}
	r.cols = make([]*archive.ColumnReader, len(p.cols))
	r.vals = make([]archive.ColumnValues, len(p.cols))
	r.frags = make([]*fragments, len(p.cols))
	r.rehash = make([]bool, leafBatch)
	r.bufs = make([][]byte, leafBatch)
	for j, c := range p.cols {
		if r.cols[j], err = df.Column(c.name); err != nil {
			b.Fatal(err)
		}
		if err := r.cols[j].ReadRows(leafBatch, &r.vals[j]); err != nil {
			b.Fatal(err)
		}
	}
	for i := range r.rehash {
		r.rehash[i] = true
	}
	r.canonical(leafBatch)
	for i := range leafBatch {
		if sha256.Sum256(r.bufs[i]) != [32]byte(recs[i].ComputeLeafHash()) {
			b.Fatalf("row %d: the encoding does not hash to the record's leaf hash", i)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		r.canonical(leafBatch)
	}
	b.ReportMetric(float64(leafBatch)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
