package archivetest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/govaudit/govaudit/internal/record"
)

// Records returns n sealed GenAI chat records of one log, shaped like
// the mlgovernance connector's output for the load test's spans under the
// default (digest) capture policy: unique ids and digests, a few models,
// 5,000 users, four spans per conversation.
func Records(origin string, epoch uint64, n int) []record.Record {
	rnd := rand.New(rand.NewPCG(uint64(n), 7))
	models := [][3]string{{"openai", "gpt-4o", "gpt-4o-2024-08-06"}, {"openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18"},
		{"anthropic", "claude-sonnet-4", "claude-sonnet-4-20250514"}, {"aws.bedrock", "meta.llama3-70b-instruct-v1:0", "meta.llama3-70b-instruct-v1:0"}}
	mac := hmac.New(sha256.New, bytes.Repeat([]byte{0x5a}, 32))
	digest := func(i, kind int) string {
		mac.Reset()
		mac.Write(binary.BigEndian.AppendUint64([]byte{byte(kind)}, uint64(i)))
		return "hmac-sha256:" + hex.EncodeToString(mac.Sum(nil))
	}
	start := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC).UnixNano()
	recs := make([]record.Record, n)
	for i := range recs {
		m := models[rnd.IntN(len(models))]
		in, out := int64(200+rnd.IntN(800)), int64(50+rnd.IntN(400))
		t := start + int64(i)*20_000 // 50k records/s
		recs[i] = record.Record{
			SchemaVersion: 1, ID: fmt.Sprintf("01a21945-%04x-7%03x-8%03x-%012x", i>>28&0xffff, i>>16&0xfff, i&0xfff, rnd.Uint64()&0xffffffffffff),
			Type: record.TypeInference, EventName: "chat " + m[1],
			StartTime: t - int64(300+rnd.IntN(2000))*1e6, EndTime: t, ObservedTime: t + 13e6,
			TraceID: fmt.Sprintf("%016x%016x", rnd.Uint64(), i), SpanID: fmt.Sprintf("%016x", i+1),
			ServiceName: "support-bot", ServiceVersion: "2.14.1", DeploymentEnvironment: "production",
			Operation: "chat", Provider: m[0], RequestModel: m[1], ResponseModel: m[2],
			ConversationID: fmt.Sprintf("conv-%016x", i/4), UserID: fmt.Sprintf("user-%016x", rnd.IntN(5000)),
			Parameters:  `{"max_tokens":1024,"temperature":0.2,"top_p":0.9}`,
			InputTokens: &in, OutputTokens: &out, FinishReasons: []string{"stop"},
			InputDigest: digest(i, 0), OutputDigest: digest(i, 1), SystemInstructionsDigest: digest(i%8, 2),
			DigestKeyID: "fp:f079618b95bed239", SourceConvention: record.SourceOTelGenAI,
			Attributes:         fmt.Sprintf(`{"gen_ai.response.id":"chatcmpl-%016x","server.address":"api.example-llm.com","server.port":443}`, rnd.Uint64()),
			ResourceAttributes: `{"telemetry.sdk.language":"python","telemetry.sdk.name":"opentelemetry"}`,
		}
		recs[i].SetLeaf(origin, epoch, uint64(i))
	}
	return recs
}
