// Package e2e runs the built otelcol-govaudit distribution with the
// quickstart pipeline on free loopback ports, sends it GenAI telemetry with
// the OpenTelemetry Go SDK and OTLP/HTTP, stops it, and checks the archive
// with the built govaudit command: verify passes, queries and proofs work,
// and every kind of tampering makes verify fail naming the damage.
//
// It needs the binaries: GOVAUDIT_BIN=<dir with otelcol-govaudit and
// govaudit> (make test sets it). Without it the tests are skipped.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// email is the personal data sent in prompts; the default capture policy
// must keep it out of the archive.
const email = "jane.doe@example.com"

type env struct {
	bin, data, key, pub string
	otlpHTTP, mlevents  string
	prometheus          string // the decision metrics endpoint
	runs                int
	// args are extra command-line arguments for the collector (--set ...).
	args []string
	// config is the collector's configuration; examples/quickstart.yaml
	// when empty.
	config string
}

func binDir(t *testing.T) string {
	dir := os.Getenv("GOVAUDIT_BIN")
	if dir == "" {
		t.Skip("GOVAUDIT_BIN not set: run through `make test`, which builds the binaries")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// govaudit runs the built govaudit command and returns its exit code and output.
func (e *env) govaudit(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(e.bin, "govaudit"), args...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// A collector is a running otelcol-govaudit.
type collector struct {
	t    *testing.T
	cmd  *exec.Cmd
	done chan error
	logf *os.File
}

func (c *collector) dumpLog() {
	b, _ := os.ReadFile(c.logf.Name())
	c.t.Logf("collector log:\n%s", b)
}

// stop stops the collector with SIGTERM and waits for a clean exit.
func (c *collector) stop() {
	c.t.Helper()
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.done:
		if err != nil {
			c.dumpLog()
			c.t.Fatalf("collector did not stop cleanly: %v", err)
		}
	case <-time.After(60 * time.Second):
		c.cmd.Process.Kill()
		c.dumpLog()
		c.t.Fatal("collector did not stop within 60s")
	}
	c.logf.Close()
}

// kill kills the collector with SIGKILL, as a crash or an OOM kill would.
func (c *collector) kill() {
	c.cmd.Process.Kill()
	<-c.done
	c.logf.Close()
}

// command returns the otelcol-govaudit command with
// examples/quickstart.yaml on free loopback ports, its output going to a new
// log file under e.data, and the health check endpoint.
func (e *env) command(t *testing.T) (*exec.Cmd, *os.File, string) {
	t.Helper()
	health := freePort(t)
	e.otlpHTTP = freePort(t)
	e.mlevents = freePort(t)
	e.prometheus = freePort(t)
	config := e.config
	if config == "" {
		config = "../examples/quickstart.yaml"
	}
	cmd := exec.Command(filepath.Join(e.bin, "otelcol-govaudit"), append([]string{"--config", config}, e.args...)...)
	cmd.Env = append(os.Environ(),
		"GOVAUDIT_DATA="+e.data,
		"GOVAUDIT_ORIGIN=e2e-host",
		"GOVAUDIT_OTLP_GRPC_ENDPOINT="+freePort(t),
		"GOVAUDIT_OTLP_HTTP_ENDPOINT="+e.otlpHTTP,
		"GOVAUDIT_HEALTH_ENDPOINT="+health,
		"GOVAUDIT_MLEVENTS_ENDPOINT="+e.mlevents,
		"GOVAUDIT_PROMETHEUS_ENDPOINT="+e.prometheus,
	)
	e.runs++
	logf, err := os.Create(filepath.Join(e.data, fmt.Sprintf("collector-%d.log", e.runs)))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	return cmd, logf, health
}

// startCollector runs otelcol-govaudit with examples/quickstart.yaml on free
// loopback ports and waits until it is healthy.
func startCollector(t *testing.T, e *env) *collector {
	t.Helper()
	cmd, logf, health := e.command(t)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &collector{t: t, cmd: cmd, done: make(chan error, 1), logf: logf}
	go func() { c.done <- cmd.Wait() }()
	// A test that fails before stopping its collector must not leave it
	// running (Kill after the process was reaped is a no-op).
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + health + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c
			}
		}
		select {
		case err := <-c.done:
			c.dumpLog()
			t.Fatalf("collector exited during start: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			c.dumpLog()
			t.Fatal("collector not healthy after 60s")
		}
	}
}

// sendSpans sends GenAI spans in the three conventions with the OTel Go SDK.
func sendSpans(t *testing.T, endpoint string) (traceIDs map[string]string) {
	t.Helper()
	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(endpoint), otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "support-bot"),
		attribute.String("service.version", "1.4.2"), attribute.String("deployment.environment.name", "e2e"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	tr := tp.Tracer("e2e")
	traceIDs = map[string]string{}

	// OTel GenAI semantic conventions (current names); the user is set only
	// on the application's parent span, as instrumentations commonly do.
	ctx1, parent := tr.Start(ctx, "POST /chat", trace.WithAttributes(attribute.String("user.id", "alice"),
		attribute.String("session.id", "sess-1")))
	_, chat := tr.Start(ctx1, "chat gpt-4o", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.provider.name", "openai"),
		attribute.String("gen_ai.request.model", "gpt-4o"),
		attribute.String("gen_ai.response.model", "gpt-4o-2024-08-06"),
		attribute.Float64("gen_ai.request.temperature", 0.2),
		attribute.Int("gen_ai.request.max_tokens", 256),
		attribute.Int("gen_ai.usage.input_tokens", 12),
		attribute.Int("gen_ai.usage.output_tokens", 34),
		attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"}),
		attribute.String("gen_ai.conversation.id", "conv-1"),
		attribute.String("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"My e-mail is `+email+`, reset my password"}]}]`),
		attribute.String("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"Done."}],"finish_reason":"stop"}]`),
	))
	traceIDs["genai"] = chat.SpanContext().TraceID().String()
	chat.End()
	parent.End()

	// OpenLLMetry (Traceloop): deprecated gen_ai names and flattened prompts.
	_, ol := tr.Start(ctx, "openai.chat", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("llm.request.type", "chat"),
		attribute.String("gen_ai.system", "openai"),
		attribute.String("gen_ai.request.model", "gpt-4o-mini"),
		attribute.String("gen_ai.response.model", "gpt-4o-mini-2024-07-18"),
		attribute.Float64("gen_ai.request.temperature", 0.7),
		attribute.String("gen_ai.prompt.0.role", "user"),
		attribute.String("gen_ai.prompt.0.content", "Contact me at "+email),
		attribute.String("gen_ai.completion.0.role", "assistant"),
		attribute.String("gen_ai.completion.0.content", "Sure."),
		attribute.String("gen_ai.completion.0.finish_reason", "stop"),
		attribute.Int("gen_ai.usage.prompt_tokens", 9),
		attribute.Int("gen_ai.usage.completion_tokens", 3),
		attribute.String("traceloop.association.properties.user_id", "carol"),
		attribute.String("traceloop.workflow.name", "support"),
	))
	traceIDs["openllmetry"] = ol.SpanContext().TraceID().String()
	ol.End()

	// OpenInference (Arize Phoenix).
	_, oi := tr.Start(ctx, "ChatCompletion", trace.WithAttributes(
		attribute.String("openinference.span.kind", "LLM"),
		attribute.String("llm.model_name", "claude-sonnet-4"),
		attribute.String("llm.provider", "anthropic"),
		attribute.String("llm.system", "anthropic"),
		attribute.String("llm.invocation_parameters", `{"temperature": 0.5, "max_tokens": 100}`),
		attribute.String("llm.input_messages.0.message.role", "user"),
		attribute.String("llm.input_messages.0.message.content", "I am "+email),
		attribute.String("llm.output_messages.0.message.role", "assistant"),
		attribute.String("llm.output_messages.0.message.content", "Hello."),
		attribute.Int("llm.token_count.prompt", 10),
		attribute.Int("llm.token_count.completion", 20),
		attribute.String("user.id", "bob"),
		attribute.String("session.id", "sess-2"),
	))
	traceIDs["openinference"] = oi.SpanContext().TraceID().String()
	oi.End()

	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("sending spans: %v", err)
	}
	return traceIDs
}

// sendEvents posts GenAI content events as OTLP/JSON logs, shaped as the
// official instrumentations emit them: the event name in EventName, the
// content in the body, linked to the chat span by trace and span id.
func sendEvents(t *testing.T, endpoint, traceID string) {
	t.Helper()
	body := fmt.Sprintf(`{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"support-bot"}}]},
	"scopeLogs":[{"scope":{"name":"opentelemetry.instrumentation.openai_v2"},"logRecords":[
	{"timeUnixNano":"%d","eventName":"gen_ai.user.message","traceId":"%s","spanId":"00f067aa0ba902b7",
	 "attributes":[{"key":"gen_ai.provider.name","value":{"stringValue":"openai"}}],
	 "body":{"kvlistValue":{"values":[{"key":"content","value":{"stringValue":"please write to %s"}}]}}}]}]}]}`,
		time.Now().UnixNano(), traceID, email)
	resp, err := http.Post("http://"+endpoint+"/v1/logs", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/logs: %s", resp.Status)
	}
}

// sendReview posts a human-oversight CloudEvent to the mlevents receiver:
// a reviewer approved the decision recorded in trace traceID.
func sendReview(t *testing.T, endpoint, traceID string) {
	t.Helper()
	body := `{"specversion":"1.0","type":"dev.govaudit.decision.reviewed","source":"https://review.example.com/queues/support",
	 "id":"rev-e2e-1","time":"2026-11-26T10:15:30Z",
	 "data":{"reviewer":"reviewer@example.com","trace_id":"` + traceID + `","outcome":"approved"}}`
	resp, err := http.Post("http://"+endpoint+"/v1/events", "application/cloudevents+json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/events: %s", resp.Status)
	}
}

type rec struct {
	ID            string   `json:"record_id"`
	Type          string   `json:"record_type"`
	Provider      string   `json:"provider"`
	RequestModel  string   `json:"request_model"`
	ResponseModel string   `json:"response_model"`
	Operation     string   `json:"operation"`
	UserID        string   `json:"user_id"`
	TraceID       string   `json:"trace_id"`
	Parameters    string   `json:"parameters"`
	InputTokens   *int64   `json:"input_tokens"`
	OutputTokens  *int64   `json:"output_tokens"`
	InputDigest   string   `json:"input_digest"`
	Source        string   `json:"source_convention"`
	FinishReasons []string `json:"finish_reasons"`
}

func parseRecords(t *testing.T, out string) []rec {
	t.Helper()
	var recs []rec
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var r rec
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("query output line %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// newEnv creates keys (checkpoint signing key and digest key) where the
// quickstart configuration expects them, under a fresh data directory.
func newEnv(t *testing.T) *env {
	e := &env{bin: binDir(t), data: t.TempDir()}
	keysDir := filepath.Join(e.data, "keys")
	if code, out := e.govaudit(t, "keygen", "--name", "e2e", "--out", keysDir); code != 0 {
		t.Fatal(out)
	}
	// The quickstart config names govaudit-dev.key; give it the e2e key.
	for _, ext := range []string{".key", ".pub"} {
		if err := os.Rename(filepath.Join(keysDir, "e2e"+ext), filepath.Join(keysDir, "govaudit-dev"+ext)); err != nil {
			t.Fatal(err)
		}
	}
	e.key, e.pub = filepath.Join(keysDir, "govaudit-dev.key"), filepath.Join(keysDir, "govaudit-dev.pub")
	if err := os.WriteFile(filepath.Join(keysDir, "digest.key"), []byte(strings.Repeat("k3y", 16)), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// pipeline runs the collector twice (a clean restart between) and returns
// the environment with a sealed archive in <data>/audit.
func pipeline(t *testing.T) (*env, map[string]string) {
	e := newEnv(t)
	c := startCollector(t, e)
	traces := sendSpans(t, e.otlpHTTP)
	sendEvents(t, e.otlpHTTP, traces["genai"])
	sendReview(t, e.mlevents, traces["genai"])
	time.Sleep(1500 * time.Millisecond) // past the checkpoint interval
	c.stop()

	// A clean restart resumes the same epoch: a second run appends to it.
	c = startCollector(t, e)
	sendSpans(t, e.otlpHTTP)
	c.stop()
	return e, traces
}

func TestQuickstartPipeline(t *testing.T) {
	e, traces := pipeline(t)
	audit := filepath.Join(e.data, "audit")

	code, out := e.govaudit(t, "verify", "--key", e.pub, audit)
	if code != 0 {
		t.Fatalf("verify after a clean stop: exit %d\n%s", code, out)
	}
	t.Logf("verify:\n%s", out)
	var files int
	fmt.Sscanf(out[strings.Index(out, ": ")+2:], "%d files", &files)
	if files < 2 || strings.Count(out, "  log ") != 1 { // a file per run at least (more if max_age expired)
		t.Errorf("want two sealed files of one resumed epoch:\n%s", out)
		for i := 1; i <= e.runs; i++ {
			b, _ := os.ReadFile(filepath.Join(e.data, fmt.Sprintf("collector-%d.log", i)))
			t.Logf("collector run %d log:\n%s", i, b)
		}
	}

	code, out = e.govaudit(t, "query", audit, "--format", "json")
	if code != 0 {
		t.Fatal(out)
	}
	if strings.Contains(out, email) {
		t.Errorf("the raw e-mail address reached the archive under the default policy:\n%s", out)
	}
	bySource := map[string]rec{}
	for _, r := range parseRecords(t, out) {
		if r.Type == "inference" && bySource[r.Source].ID == "" {
			bySource[r.Source] = r // the first run's record
		}
	}
	for _, c := range []struct {
		source, provider, model, user string
		in, out                       int64
	}{
		{"otel_genai", "openai", "gpt-4o", "alice", 12, 34},
		{"openllmetry", "openai", "gpt-4o-mini", "carol", 9, 3},
		{"openinference", "anthropic", "claude-sonnet-4", "bob", 10, 20},
	} {
		r, ok := bySource[c.source]
		if !ok {
			t.Errorf("no inference record from %s; records: %v", c.source, bySource)
			continue
		}
		// OpenInference's llm.model_name is the model that answered: the
		// response model; the others name the requested one.
		if r.Provider != c.provider || (r.RequestModel != c.model && r.ResponseModel != c.model) || r.Operation == "" || r.Parameters == "" ||
			r.InputTokens == nil || *r.InputTokens != c.in || r.OutputTokens == nil || *r.OutputTokens != c.out ||
			!strings.HasPrefix(r.InputDigest, "hmac-sha256:") {
			t.Errorf("%s record: %+v", c.source, r)
		}
		if r.UserID != c.user { // alice is on the parent span only: attribution through the trace
			t.Errorf("%s record: user %q, want %q", c.source, r.UserID, c.user)
		}
	}

	// The user set on the parent span finds the child inference record.
	// (One chat per run, two runs.)
	code, out = e.govaudit(t, "query", audit, "--user", "alice", "--type", "inference", "--format", "json")
	if recs := parseRecords(t, out); code != 0 || len(recs) != 2 || recs[0].TraceID != traces["genai"] || recs[0].Provider != "openai" {
		t.Errorf("query --user alice: exit %d\n%s", code, out)
	}
	// The content event became a record linked to the chat span's trace.
	code, out = e.govaudit(t, "query", audit, "--trace", traces["genai"], "--type", "content", "--format", "json")
	if recs := parseRecords(t, out); code != 0 || len(recs) != 1 {
		t.Errorf("query content events of the chat trace: exit %d\n%s", code, out)
	}

	// The reviewer's decision is a sealed oversight record.
	code, out = e.govaudit(t, "query", audit, "--type", "oversight", "--format", "json")
	if recs := parseRecords(t, out); code != 0 || len(recs) != 1 || recs[0].UserID != "reviewer@example.com" {
		t.Errorf("query --type oversight: exit %d\n%s", code, out)
	}

	// prove + verify-proof.
	id := bySource["openinference"].ID
	proof := filepath.Join(e.data, "proof.json")
	if code, out := e.govaudit(t, "prove", audit, "--record", id, "--out", proof); code != 0 {
		t.Fatalf("prove: %s", out)
	}
	if code, out := e.govaudit(t, "verify-proof", "--key", e.pub, proof); code != 0 || !strings.Contains(out, "valid") {
		t.Fatalf("verify-proof: exit %d %s", code, out)
	}

	t.Run("tamper", func(t *testing.T) { tamperSuite(t, e, audit) })
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}
