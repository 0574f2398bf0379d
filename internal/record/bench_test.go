package record

import (
	"testing"
)

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
	for b.Loop() {
		buf = r.AppendCanonical(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkLeafHash measures the leaf hash as auditsign and verify compute
// it: canonical encoding plus SHA-256 (ComputeLeafHash).
func BenchmarkLeafHash(b *testing.B) {
	r := benchRecord()
	b.SetBytes(int64(len(r.Canonical()) + 1))
	b.ReportAllocs()
	for b.Loop() {
		r.ComputeLeafHash()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
