package mlgovernanceconnector

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/capture"
	"github.com/govaudit/govaudit/internal/record"
)

func TestBadInputYieldsFlaggedRecord(t *testing.T) {
	tests := []struct {
		name      string
		attrs     func(m pcommon.Map)
		wantFlags []string
		check     func(t *testing.T, r record.Record)
	}{
		{
			name: "wrong types",
			attrs: func(m pcommon.Map) {
				m.PutInt("gen_ai.request.model", 42)
				m.PutStr("gen_ai.usage.input_tokens", "12")
				m.PutStr("gen_ai.usage.output_tokens", "many")
				m.PutDouble("gen_ai.request.temperature", math.NaN())
			},
			wantFlags: []string{record.FlagWrongType},
			check: func(t *testing.T, r record.Record) {
				assert.Equal(t, "42", r.RequestModel)
				require.NotNil(t, r.InputTokens)
				assert.Equal(t, int64(12), *r.InputTokens)
				assert.Nil(t, r.OutputTokens)
				assert.Equal(t, `{"gen_ai.usage.output_tokens":"many"}`, r.Attributes, "an unreadable value is kept, not lost")
				assert.Equal(t, `{"temperature":"NaN"}`, r.Parameters)
			},
		},
		{
			name: "invalid utf-8",
			attrs: func(m pcommon.Map) {
				m.PutStr("gen_ai.request.model", "gpt\xff")
				m.PutStr("user.id", "u\xfe")
				m.PutStr("custom\xff", "v\xff")
			},
			wantFlags: []string{record.FlagInvalidUTF8},
			check: func(t *testing.T, r record.Record) {
				assert.Equal(t, "gpt\uFFFD", r.RequestModel)
				assert.Equal(t, "u\uFFFD", r.UserID)
				assert.Equal(t, "span\uFFFD", r.EventName)
				assert.Equal(t, `{"custom`+"\uFFFD"+`":"v`+"\uFFFD"+`"}`, r.Attributes)
			},
		},
		{
			name: "malformed json",
			attrs: func(m pcommon.Map) {
				m.PutStr("gen_ai.input.messages", `[{"role": "user", "parts": [`)
			},
			wantFlags: []string{record.FlagMalformedJSON},
			check: func(t *testing.T, r record.Record) {
				assert.NotEmpty(t, r.InputDigest, "the raw text is still digested")
			},
		},
		{
			name: "malformed invocation parameters",
			attrs: func(m pcommon.Map) {
				m.PutStr("openinference.span.kind", "LLM")
				m.PutStr("llm.invocation_parameters", "{temperature: 0.1")
			},
			wantFlags: []string{record.FlagMalformedJSON},
			check: func(t *testing.T, r record.Record) {
				assert.Equal(t, `{"invocation_parameters":"{temperature: 0.1"}`, r.Parameters)
			},
		},
		{
			name: "huge attribute",
			attrs: func(m pcommon.Map) {
				m.PutStr("a.small", "kept")
				m.PutStr("b.huge", strings.Repeat("x", 1<<20))
			},
			wantFlags: []string{record.FlagTruncated},
			check: func(t *testing.T, r record.Record) {
				assert.Equal(t, `{"a.small":"kept"}`, r.Attributes)
			},
		},
		{
			name: "unknown operation",
			attrs: func(m pcommon.Map) {
				m.PutStr("gen_ai.operation.name", "teleport")
			},
			wantFlags: []string{record.FlagUnknownOperation},
			check: func(t *testing.T, r record.Record) {
				assert.Equal(t, record.TypeInference, r.Type)
				assert.Equal(t, "teleport", r.Operation)
			},
		},
		{
			name: "structured attributes and bytes",
			attrs: func(m pcommon.Map) {
				m.PutEmptyBytes("blob").FromRaw([]byte{0, 1, 2})
				m.PutEmptyMap("gen_ai.tool.call.arguments").PutStr("q", "x")
				m.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetInt(3)
			},
			wantFlags: []string{record.FlagWrongType},
			check: func(t *testing.T, r record.Record) {
				assert.Equal(t, `{"blob":"AAEC"}`, r.Attributes)
				assert.Equal(t, []string{"3"}, r.FinishReasons)
				assert.NotEmpty(t, r.ToolArgumentsDigest)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPipeline(t, keepUnmappedConfig())
			td := ptrace.NewTraces()
			s := appendSpan(td, traceA, childID, pcommon.SpanID{})
			s.SetName("span\xff")
			s.Attributes().PutStr("gen_ai.system", "openai")
			tt.attrs(s.Attributes())
			require.NoError(t, p.traces.ConsumeTraces(context.Background(), td))
			recs := p.records(t) // each is checked with Validate
			require.Len(t, recs, 1)
			for _, f := range tt.wantFlags {
				assert.Contains(t, recs[0].Flags, f)
			}
			tt.check(t, recs[0])
		})
	}
}

func TestParentCycleTerminates(t *testing.T) {
	p := newPipeline(t, keyedDefaultConfig())
	td := ptrace.NewTraces()
	chatSpan(td, childID, midID)
	appendSpan(td, traceA, midID, childID) // a cycle: bad input, not a hang
	require.NoError(t, p.traces.ConsumeTraces(context.Background(), td))
	assert.Len(t, p.records(t), 1)
}

func TestBadEvents(t *testing.T) {
	p := newPipeline(t, keepUnmappedConfig())
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	noLink := lrs.AppendEmpty()
	noLink.SetEventName("gen_ai.user.message")
	noLink.Body().SetStr("plain \xff text")
	unknown := lrs.AppendEmpty()
	unknown.SetEventName("gen_ai.brand_new.event")
	unknown.SetTraceID(traceA)
	unknown.SetSpanID(childID)
	unknown.Body().SetStr("secret")
	badEval := lrs.AppendEmpty()
	badEval.SetEventName("gen_ai.evaluation.result")
	badEval.SetTraceID(traceA)
	badEval.SetSpanID(childID)
	badEval.Attributes().PutStr("gen_ai.evaluation.score.value", "high")
	// A governance record fed back into the pipeline is not re-recorded.
	loop := lrs.AppendEmpty()
	(&record.Record{SchemaVersion: 1, ID: "x", Type: record.TypeInference}).ToLogRecord(loop)

	require.NoError(t, p.logs.ConsumeLogs(context.Background(), ld))
	recs := p.records(t)
	require.Len(t, recs, 3)
	assert.Equal(t, []string{record.FlagInvalidUTF8, record.FlagMissingSpanLink}, recs[0].Flags)
	assert.Equal(t, record.TypeContent, recs[1].Type)
	assert.Equal(t, []string{record.FlagUnknownOperation}, recs[1].Flags)
	assert.Empty(t, recs[1].Input, "unknown event bodies fall under the input policy")
	assert.NotEmpty(t, recs[1].InputDigest)
	assert.Nil(t, recs[2].Score)
	assert.Equal(t, []string{record.FlagWrongType}, recs[2].Flags)
	assert.Equal(t, `{"gen_ai.evaluation.score.value":"high"}`, recs[2].Attributes)
}

func TestIncludeNonML(t *testing.T) {
	for _, include := range []bool{false, true} {
		cfg := keyedDefaultConfig()
		cfg.IncludeNonML = include
		p := newPipeline(t, cfg)
		td := ptrace.NewTraces()
		rootSpan(td)
		ld := plog.NewLogs()
		ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("GET / 200")
		require.NoError(t, p.traces.ConsumeTraces(context.Background(), td))
		require.NoError(t, p.logs.ConsumeLogs(context.Background(), ld))
		recs := p.records(t)
		if !include {
			assert.Empty(t, recs)
			continue
		}
		require.Len(t, recs, 2)
		for _, r := range recs {
			assert.Equal(t, record.TypeWorkflow, r.Type)
			assert.Empty(t, r.SourceConvention)
			assert.Equal(t, []string{record.FlagUnknownOperation}, r.Flags)
		}
		assert.Equal(t, "u-1", recs[0].UserID)
	}
}

func TestContentPartsCombine(t *testing.T) {
	assert.Equal(t, "", contentText(nil))
	assert.Equal(t, "raw", contentText([]contentPart{{"a", "raw"}}))
	assert.Equal(t, `[1]`, contentText([]contentPart{{"a", []any{1}}}))
	assert.Equal(t, `{"a":"x","b":{"k":1}}`, contentText([]contentPart{{"b", map[string]any{"k": 1}}, {"a", "x"}}))
	// JSON text is kept as received alone, nested compacted beside other
	// parts: what a json.RawMessage of the same text gives.
	text := "[ {\"role\": \"user\",\n \"content\": \"<hi> \u2028\"} ]"
	assert.Equal(t, text, contentText([]contentPart{{"m", jsonText(text)}}))
	raw, err := record.CanonicalJSON(map[string]any{"m": json.RawMessage(text), "a": "x"})
	require.NoError(t, err)
	assert.Equal(t, "{\"a\":\"x\",\"m\":[{\"role\":\"user\",\"content\":\"<hi> \u2028\"}]}", raw)
	assert.Equal(t, raw, contentText([]contentPart{{"m", jsonText(text)}, {"a", "x"}}))
}

func TestCappedJSON(t *testing.T) {
	m := map[string]any{"a": "1", "b": strings.Repeat("y", 50), "c": "3"}
	s, cut := cappedJSON(m, 1000)
	assert.False(t, cut)
	assert.Equal(t, `{"a":"1","b":"`+strings.Repeat("y", 50)+`","c":"3"}`, s)
	s, cut = cappedJSON(m, 20)
	assert.True(t, cut)
	assert.Equal(t, `{"a":"1","c":"3"}`, s)
	s, cut = cappedJSON(map[string]any{"b": strings.Repeat("y", 50)}, 20)
	assert.True(t, cut)
	assert.Empty(t, s)
}

// FuzzMapSpan builds attribute maps from fuzz input, mixing the names every
// mapper reads with arbitrary ones and every value type; the connector must
// never panic, and every record it emits must be valid.
func FuzzMapSpan(f *testing.F) {
	f.Add([]byte("\x00\x00chat\x01\x01gpt\x02\x05\xff\xfe"))
	f.Add([]byte("\x10\x00LLM\x11\x00{bad\x12\x02x\x13\x03\x14\x04"))
	f.Add([]byte("\x20\x00tool\x21\x06\x22\x07[1,2"))
	g, err := newGovernor(keyedDefaultConfig(), componenttest.NewNopTelemetrySettings())
	require.NoError(f, err)
	keys := fuzzKeys()
	f.Fuzz(func(t *testing.T, data []byte) {
		td := ptrace.NewTraces()
		s := appendSpan(td, traceA, childID, midID)
		appendSpan(td, traceA, midID, childID)
		ld := plog.NewLogs()
		lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetEventName("gen_ai.choice")
		fillFuzzMap(s.Attributes(), keys, data)
		fillFuzzMap(lr.Attributes(), keys, data)
		fillFuzzMap(lr.Body().SetEmptyMap(), keys, data)
		for _, out := range []plog.Logs{g.tracesToRecords(context.Background(), td), g.logsToRecords(context.Background(), ld)} {
			for _, err := range record.DecodeLogs(out) {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

func fuzzKeys() []string {
	keys := []string{
		"gen_ai.operation.name", "gen_ai.request.model", "gen_ai.input.messages", "gen_ai.usage.input_tokens",
		"gen_ai.response.finish_reasons", "gen_ai.request.temperature", "gen_ai.system", "gen_ai.tool.call.arguments",
		"openinference.span.kind", "llm.invocation_parameters", "llm.input_messages.0.message.content",
		"llm.input_messages.0.message", "llm.input_messages.x", "input.value", "llm.token_count.prompt",
		"traceloop.span.kind", "llm.request.type", "gen_ai.prompt.0.content", "gen_ai.prompt.0",
		"gen_ai.completion.1.finish_reason", "ml.model.name", "ml.score", "ml.prediction", "ml.parameters",
		"user.id", "session.id", "tenant.id", "gen_ai.evaluation.score.value", "embedding.embeddings.0.embedding.vector",
	}
	for _, f := range []capture.Field{capture.Input, capture.Output} {
		keys = append(keys, "x."+f.String())
	}
	return keys
}

// fillFuzzMap reads (key byte, type byte, length byte, value) groups.
func fillFuzzMap(m pcommon.Map, keys []string, data []byte) {
	for len(data) >= 2 {
		key := keys[int(data[0])%len(keys)]
		typ := data[1] % 8
		data = data[2:]
		n := 0
		if len(data) > 0 {
			n = int(data[0]) % 16
			data = data[1:]
		}
		n = min(n, len(data))
		val := string(data[:n])
		data = data[n:]
		switch typ {
		case 0:
			m.PutStr(key, val)
		case 1:
			m.PutInt(key, int64(len(val))-8)
		case 2:
			m.PutDouble(key, []float64{math.NaN(), math.Inf(1), 0.5, -1e300}[len(val)%4])
		case 3:
			m.PutBool(key, n%2 == 0)
		case 4:
			m.PutEmptyBytes(key).FromRaw([]byte(val))
		case 5:
			m.PutEmptyMap(key).PutStr(val, val)
		case 6:
			sl := m.PutEmptySlice(key)
			sl.AppendEmpty().SetStr(val)
			sl.AppendEmpty().SetDouble(math.NaN())
		case 7:
			m.PutEmpty(key)
		}
	}
}

// TestCapsAndInvalidValues: 10 MB model, user and span-name values are cut to
// their record caps and flagged by column; timestamps above int64 are not
// wrapped to 1677 but left unset and flagged invalid_value; negative token
// counts are not stored but kept in attributes and flagged.
func TestCapsAndInvalidValues(t *testing.T) {
	p := newPipeline(t, keepUnmappedConfig())
	td := ptrace.NewTraces()
	s := appendSpan(td, traceA, childID, pcommon.SpanID{})
	huge := strings.Repeat("é", 5<<20) // 10 MB of 2-byte runes
	s.SetName("chat " + huge)
	s.SetStartTimestamp(pcommon.Timestamp(math.MaxUint64))
	s.SetEndTimestamp(pcommon.Timestamp(math.MaxInt64 + 1))
	a := s.Attributes()
	a.PutStr("gen_ai.system", "openai")
	a.PutStr("gen_ai.request.model", "m"+huge)
	a.PutStr("user.id", huge)
	a.PutInt("gen_ai.usage.input_tokens", -5)
	a.PutInt("gen_ai.usage.output_tokens", 7)
	a.PutStr("gen_ai.request.stop_sequences", strings.Repeat("s", 70<<10))
	require.NoError(t, p.traces.ConsumeTraces(context.Background(), td))

	recs := p.records(t) // each is checked with Validate
	require.Len(t, recs, 1)
	r := recs[0]
	for col, v := range map[string]string{"event_name": r.EventName, "request_model": r.RequestModel, "user_id": r.UserID} {
		size, _ := record.Cap(col)
		assert.Equal(t, 1024, size)
		assert.LessOrEqual(t, len(v), size, col)
		assert.GreaterOrEqual(t, len(v), size-1, col)
	}
	assert.True(t, strings.HasPrefix(r.EventName, "chat é"))
	assert.Zero(t, r.StartTime, "not wrapped")
	assert.Zero(t, r.EndTime, "not wrapped")
	assert.Nil(t, r.InputTokens)
	require.NotNil(t, r.OutputTokens)
	assert.Equal(t, int64(7), *r.OutputTokens)
	assert.Contains(t, r.Attributes, `"gen_ai.usage.input_tokens":-5`, "the value sent is kept")
	assert.Empty(t, r.Parameters, "a single parameter above the cap cannot be kept whole")
	assert.Equal(t, []string{
		"invalid_value", "invalid_value:end_time", "invalid_value:input_tokens", "invalid_value:start_time",
		"truncated", "truncated:event_name", "truncated:parameters", "truncated:request_model", "truncated:user_id",
	}, r.Flags)

	// An event whose timestamp is above int64.
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("gen_ai.user.message")
	lr.SetTraceID(traceA)
	lr.SetSpanID(childID)
	lr.SetTimestamp(pcommon.Timestamp(1 << 63))
	lr.Body().SetStr("hi")
	require.NoError(t, p.logs.ConsumeLogs(context.Background(), ld))
	recs = p.records(t)
	require.Len(t, recs, 2)
	assert.Zero(t, recs[1].StartTime)
	assert.Equal(t, []string{"invalid_value", "invalid_value:start_time", "truncated", "truncated:user_id"}, recs[1].Flags,
		"the event is attributed the span's user, capped too")
}
