package record

import "testing"

// BenchmarkAppendLeafHash measures the leaf hash into a caller's array,
// as auditsign and verify can compute it without allocating.
func BenchmarkAppendLeafHash(b *testing.B) {
	r := benchRecord()
	var h [32]byte
	b.SetBytes(int64(len(r.Canonical()) + 1))
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		r.AppendLeafHash(h[:0])
	}
	reportCPU(b, start, 1, "cpu-ns/op")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkDecodeLogs measures the batch codec on a batch of 100 records
// (BenchmarkDecodeLoop is the loop it replaces); reported per record.
func BenchmarkDecodeLogs(b *testing.B) {
	ld := benchBatch(100)
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		for _, err := range DecodeLogs(ld) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	reportCPU(b, start, 100, "cpu-ns/record")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/record")
}

// BenchmarkNewLogs measures encoding 100 records into a new batch; reported
// per record.
func BenchmarkNewLogs(b *testing.B) {
	recs := make([]Record, 100)
	for i := range recs {
		recs[i] = benchRecord()
		recs[i].SetLeaf(recs[i].Origin, recs[i].Epoch, uint64(i))
	}
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		NewLogs("bench", recs)
	}
	reportCPU(b, start, 100, "cpu-ns/record")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/record")
}
