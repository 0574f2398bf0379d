package record

import (
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
)

// cpuTime returns the CPU time (user + system) of this process so far,
// garbage collection included. Benchmarks report it per operation beside
// the wall time: on the shared machine wall time includes waiting for a
// core, CPU time much less so.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time since start per op (or per n items when n > 1).
func reportCPU(b *testing.B, start time.Duration, n int, unit string) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N*n), unit)
}

// benchRecord is a governance record as the mlgovernance connector makes it
// from a GenAI chat span under the default (digest) capture policy, sealed
// by auditsign: the shape of the load test's archive records.
func benchRecord() Record {
	return Record{
		SchemaVersion: 1, ID: "01a21945-5361-773a-81f3-4d5ef909ee83", Type: TypeInference, EventName: "chat gpt-4o",
		StartTime: 1795720301881854697, EndTime: 1795720303443854697, ObservedTime: 1795720303457474319,
		Origin: "loadtest", Epoch: 1795720303427918821, LeafIndex: 1,
		TraceID: "67617564fbfe9be10000000000000001", SpanID: "0000000000000001",
		ServiceName: "support-bot", ServiceVersion: "2.14.1", DeploymentEnvironment: "production",
		Operation: "chat", Provider: "openai", RequestModel: "gpt-4o", ResponseModel: "gpt-4o-2024-08-06",
		ConversationID: "conv-0000000000000000", UserID: "user-00000000000001ad",
		Parameters:  `{"max_tokens":1024,"temperature":0.2,"top_p":0.9}`,
		InputTokens: i64(925), OutputTokens: i64(277), FinishReasons: []string{"stop"},
		InputDigest:              "hmac-sha256:be0361adef3e5130a038beedb7cafff18a8a897b4f8a6dbe3cd451764feecebf",
		OutputDigest:             "hmac-sha256:73fa693e770d51ea262587d778d0ea4b4698e39338a70c0870c650749ce0a623",
		SystemInstructionsDigest: "hmac-sha256:295ad01f0b2f7c2bf29cab528de337128660041ebe864179cd1114bc53d0ad4e",
		DigestKeyID:              "fp:f079618b95bed239", SourceConvention: SourceOTelGenAI,
		Attributes:         `{"gen_ai.response.id":"chatcmpl-6dacb525fad4480f","server.address":"api.example-llm.com","server.port":443}`,
		ResourceAttributes: `{"telemetry.sdk.language":"python","telemetry.sdk.name":"opentelemetry"}`,
	}
}

// BenchmarkCanonical measures the canonical encoding of one record into a
// reused buffer.
func BenchmarkCanonical(b *testing.B) {
	r := benchRecord()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		buf = r.AppendCanonical(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
	reportCPU(b, start, 1, "cpu-ns/op")
}

// BenchmarkLeafHash measures the leaf hash as auditsign and verify compute
// it: canonical encoding plus SHA-256 (ComputeLeafHash).
func BenchmarkLeafHash(b *testing.B) {
	r := benchRecord()
	b.SetBytes(int64(len(r.Canonical()) + 1))
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		r.ComputeLeafHash()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	reportCPU(b, start, 1, "cpu-ns/op")
}

// BenchmarkApplyCaps measures the caps check of a record that is within
// its caps, as producers run it on every record.
func BenchmarkApplyCaps(b *testing.B) {
	r := benchRecord()
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if r.ApplyCaps() {
			b.Fatal("cut")
		}
	}
	reportCPU(b, start, 1, "cpu-ns/op")
}

// BenchmarkValidate measures Validate of a valid record.
func BenchmarkValidate(b *testing.B) {
	r := benchRecord()
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if err := r.Validate(); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start, 1, "cpu-ns/op")
}

// BenchmarkToLogRecord measures writing a sealed record into a log record
// (the connector's emit, the receivers, the WAL's encoding).
func BenchmarkToLogRecord(b *testing.B) {
	r := benchRecord()
	r.SetLeaf(r.Origin, r.Epoch, r.LeafIndex)
	lr := plog.NewLogRecord()
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		r.ToLogRecord(lr)
	}
	reportCPU(b, start, 1, "cpu-ns/op")
}

// BenchmarkFromLogRecord measures reading a sealed record from its log
// record (every consumer of records).
func BenchmarkFromLogRecord(b *testing.B) {
	r := benchRecord()
	r.SetLeaf(r.Origin, r.Epoch, r.LeafIndex)
	lr := plog.NewLogRecord()
	r.ToLogRecord(lr)
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if _, err := FromLogRecord(lr); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start, 1, "cpu-ns/op")
}

// benchBatch is a batch of n sealed records.
func benchBatch(n int) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := 0; i < n; i++ {
		r := benchRecord()
		r.SetLeaf(r.Origin, r.Epoch, uint64(i))
		r.ToLogRecord(lrs.AppendEmpty())
	}
	return ld
}

// BenchmarkDecodeLoop measures decoding a batch of 100 records as the
// components did before the batch codec (IsRecord, FromLogRecord,
// Validate, per log record); reported per record.
func BenchmarkDecodeLoop(b *testing.B) {
	ld := benchBatch(100)
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for k := 0; k < lrs.Len(); k++ {
			lr := lrs.At(k)
			if !IsRecord(lr) {
				b.Fatal("not a record")
			}
			r, err := FromLogRecord(lr)
			if err == nil {
				err = r.Validate()
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/record")
	reportCPU(b, start, 100, "cpu-ns/record")
}
