package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/govaudit/govaudit/internal/record"
)

// benchRows returns n sealed records shaped like the mlgovernance
// connector's output for a GenAI chat span under the default (digest)
// capture policy: unique ids, trace ids and digests, a few models, 5,000
// users.
func benchRows(n int) []record.Record {
	models := []string{"gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "meta.llama3-70b-instruct-v1:0"}
	digest := func(i, kind int) string {
		sum := sha256.Sum256(binary.BigEndian.AppendUint64([]byte{byte(kind)}, uint64(i)))
		return "hmac-sha256:" + hex.EncodeToString(sum[:])
	}
	rows := make([]record.Record, n)
	for i := range rows {
		in, out := int64(200+i*7%800), int64(50+i*13%400)
		t := int64(1795720303427918821) + int64(i)*20_000
		rows[i] = record.Record{
			SchemaVersion: 1, ID: fmt.Sprintf("01a21945-5361-7%03x-8%03x-%012x", i>>12&0xfff, i&0xfff, i*2654435761),
			Type: record.TypeInference, EventName: "chat " + models[i%4], StartTime: t - 900e6, EndTime: t, ObservedTime: t + 13e6,
			TraceID: fmt.Sprintf("%016x%016x", i*2654435761, i), SpanID: fmt.Sprintf("%016x", i+1),
			ServiceName: "support-bot", ServiceVersion: "2.14.1", DeploymentEnvironment: "production",
			Operation: "chat", Provider: "openai", RequestModel: models[i%4], ResponseModel: models[i%4] + "-2024-08-06",
			ConversationID: fmt.Sprintf("conv-%016x", i/4), UserID: fmt.Sprintf("user-%016x", i*31%5000),
			Parameters: `{"max_tokens":1024,"temperature":0.2,"top_p":0.9}`, InputTokens: &in, OutputTokens: &out,
			FinishReasons: []string{"stop"}, InputDigest: digest(i, 0), OutputDigest: digest(i, 1),
			SystemInstructionsDigest: digest(i%8, 2), DigestKeyID: "fp:f079618b95bed239", SourceConvention: record.SourceOTelGenAI,
			Attributes:         fmt.Sprintf(`{"gen_ai.response.id":"chatcmpl-%016x","server.address":"api.example-llm.com","server.port":443}`, i*40503),
			ResourceAttributes: `{"telemetry.sdk.language":"python","telemetry.sdk.name":"opentelemetry"}`,
		}
		rows[i].SetLeaf("bench", 1, uint64(i))
	}
	return rows
}

// BenchmarkWriteRows measures the Parquet encoding of a data file (zstd,
// statistics, bloom filters) by WriteRows, without the exporter's WAL and
// fsyncs (BenchmarkArchive in exporter/auditparquetexporter has those).
func BenchmarkWriteRows(b *testing.B) {
	rows := benchRows(50_000)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := WriteRows(&buf, rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(buf.Len())/float64(len(rows)), "B/row")
}

// BenchmarkDecodeFile measures decoding a data file into records
// (DecodeFile), most of what verify does per file besides hashing it.
func BenchmarkDecodeFile(b *testing.B) {
	rows := benchRows(50_000)
	var buf bytes.Buffer
	if err := WriteRows(&buf, rows); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		got, err := DecodeFile("bench.parquet", buf.Bytes())
		if err != nil || len(got) != len(rows) {
			b.Fatal(len(got), err)
		}
	}
	b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
