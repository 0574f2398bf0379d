package e2e

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// chatBatch returns an OTLP/JSON request of n GenAI chat spans whose span
// ids encode seq and their position, so each span is identifiable.
func chatBatch(t *testing.T, seq, n int) []byte {
	t.Helper()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "crash-test")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	now := time.Now()
	for i := 0; i < n; i++ {
		s := spans.AppendEmpty()
		var tid pcommon.TraceID
		var sid pcommon.SpanID
		binary.BigEndian.PutUint64(tid[8:], uint64(seq*n+i+1))
		binary.BigEndian.PutUint64(sid[:], uint64(seq*n+i+1))
		s.SetTraceID(tid)
		s.SetSpanID(sid)
		s.SetName("chat crash-model")
		s.SetKind(ptrace.SpanKindClient)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
		a := s.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.provider.name", "openai")
		a.PutStr("gen_ai.request.model", "crash-model")
		a.PutInt("gen_ai.usage.input_tokens", 10)
		a.PutStr("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"hello"}]}]`)
	}
	b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCrashRecovery kills the collector with SIGKILL while spans stream in,
// restarts it and stops it cleanly: every span whose request was
// acknowledged is in the archive exactly once, and the archive verifies by
// default — the crash either resumed the epoch or opened a new one whose
// signed start record links the old epoch's tail, so every record is covered.
func TestCrashRecovery(t *testing.T) {
	e := newEnv(t)
	c := startCollector(t, e)

	const perBatch = 20
	var acked, sent atomic.Int64
	done := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(done)
		client := &http.Client{Timeout: 5 * time.Second}
		for seq := 0; seq < 100_000; seq++ {
			select {
			case <-stop:
				return
			default:
			}
			sent.Add(perBatch)
			resp, err := client.Post("http://"+e.otlpHTTP+"/v1/traces", "application/json", bytes.NewReader(chatBatch(t, seq, perBatch)))
			if err != nil {
				return // the collector is gone: never resend, so a span is at most once
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return
			}
			acked.Add(perBatch)
		}
	}()
	time.Sleep(2 * time.Second)
	c.kill()
	close(stop)
	<-done
	if acked.Load() == 0 {
		t.Fatal("no request was acknowledged before the kill")
	}

	c = startCollector(t, e)
	resp, err := http.Post("http://"+e.otlpHTTP+"/v1/traces", "application/json", bytes.NewReader(chatBatch(t, 1_000_000, perBatch)))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after restart: %v %v", resp, err)
	}
	resp.Body.Close()
	c.stop()

	audit := e.data + "/audit"
	code, out := e.govaudit(t, "verify", "--json", "--key", e.pub, audit)
	var rep struct {
		OK        bool
		Uncovered uint64
		Problems  []map[string]any
		Logs      []struct {
			Epoch     uint64 `json:",string"` // a decimal string, as in the record's JSON form
			Leaves    uint64
			Covered   uint64
			Uncovered uint64
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("verify --json: %v\n%s", err, out)
	}
	if code != 0 || !rep.OK {
		t.Fatalf("verify after a crash: exit %d\n%s", code, out)
	}
	if rep.Uncovered != 0 || len(rep.Problems) != 0 {
		t.Errorf("after a crash: %d uncovered records, problems %v", rep.Uncovered, rep.Problems)
	}

	code, out = e.govaudit(t, "query", audit, "--model", "crash-model", "--format", "json")
	if code != 0 {
		t.Fatal(out)
	}
	seen := map[string]bool{}
	for _, r := range parseRecords(t, out) {
		if seen[r.TraceID] {
			t.Errorf("span of trace %s archived twice", r.TraceID)
		}
		seen[r.TraceID] = true
	}
	// Acknowledged spans are durable; spans in the request cut by the kill
	// may or may not be.
	got := int64(len(seen)) - perBatch // minus the batch sent after the restart
	if got < acked.Load() || got > sent.Load() {
		t.Errorf("archived %d spans from before the crash: want between %d acknowledged and %d sent", got, acked.Load(), sent.Load())
	}
	t.Logf("crash after %d acknowledged spans (%d sent): %d archived; logs %+v", acked.Load(), sent.Load(), got, rep.Logs)
}
