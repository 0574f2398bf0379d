package mlgovernanceconnector

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/capture"
	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/metadata"
	"github.com/govaudit/govaudit/exporter/auditparquetexporter"
	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
	"github.com/govaudit/govaudit/processor/auditsignprocessor"
)

// The fail-closed test (issue 12): a marker e-mail address goes into every
// string attribute value (and every string inside JSON text, and every log
// body) of every fixture in testdata; the spans and events run through the
// real connector, the real auditsign processor and the real auditparquet
// exporter; then every byte under the archive directory — the write-ahead
// log while it exists, the sealed Parquet files decoded row by row and read
// raw, checkpoints and indexes — is searched for the marker.
//
// Each inserted marker is distinct ("marker.person+<n>@example.org"), so a
// hit names the attribute it came from. A value may be archived in clear
// only where the invariant allows it: in a record column that a mapping
// fills (model, user, tool name, ...: clearColumns), or under a key the
// configured allow-list names. Everywhere else — attributes,
// resource_attributes, parameters, content fields, a raw byte outside the
// decoded columns — a marker is a leak.

// keepUnmappedConfig is the default policy with a key and
// unmapped_attributes: keep, for tests of how values are read (types,
// UTF-8, caps) that compare the values sent with those stored.
func keepUnmappedConfig() *Config {
	cfg := keyedDefaultConfig()
	cfg.Capture.UnmappedAttributes = capture.UnmappedKeep
	return cfg
}

// markerRE matches one inserted marker and captures its number.
var markerRE = regexp.MustCompile(`marker\.person\+(\d+)@example\.org`)

// clearColumns are the record columns a mapping fills with an attribute
// value as it is (see docs/semantic-conventions.md); markers found there
// are expected. attributes, resource_attributes, parameters and the content
// columns are not among them.
var clearColumns = map[string]bool{
	"event_name": true, "service_name": true, "service_version": true, "deployment_environment": true,
	"operation": true, "provider": true, "request_model": true, "response_model": true,
	"model_version": true, "model_registry_uri": true, "agent_id": true, "agent_name": true,
	"tool_name": true, "tool_call_id": true, "conversation_id": true, "session_id": true,
	"user_id": true, "tenant_id": true, "data_source_id": true, "finish_reasons": true,
	"error_type": true, "prediction": true, "feature_set_digest": true, "dataset_version": true,
	"reference": true,
}

// A markerSite is where one marker was inserted.
type markerSite struct {
	fixture string
	key     string // attribute key ("body" for a log body)
	path    string // member path inside the value ("" for the value itself)
}

func (s markerSite) String() string {
	if s.path == "" {
		return s.fixture + ": " + s.key
	}
	return s.fixture + ": " + s.key + " → " + s.path
}

// markers inserts numbered markers and remembers where.
type markers struct {
	fixture string
	sites   []markerSite
}

func (m *markers) next(key, path string) string {
	m.sites = append(m.sites, markerSite{fixture: m.fixture, key: key, path: path})
	return fmt.Sprintf("marker.person+%d@example.org", len(m.sites)-1)
}

// markMap marks every value of attrs.
func (m *markers) markMap(attrs pcommon.Map) {
	for k, v := range attrs.All() {
		m.markValue(v, k, "")
	}
}

// markValue marks the strings of v: a plain string gets the marker appended;
// a string holding a JSON object or array gets a marker appended to each
// string inside it (so it stays valid JSON and is still parsed as such);
// lists and maps are marked element by element.
func (m *markers) markValue(v pcommon.Value, key, path string) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		s := v.Str()
		var tree any
		if (strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")) && json.Unmarshal([]byte(s), &tree) == nil {
			n := len(m.sites)
			tree = m.markJSON(tree, key, path)
			if len(m.sites) > n {
				b, err := json.Marshal(tree)
				if err != nil {
					panic(err)
				}
				v.SetStr(string(b))
				return
			}
		}
		v.SetStr(s + " " + m.next(key, path))
	case pcommon.ValueTypeSlice:
		for i := 0; i < v.Slice().Len(); i++ {
			m.markValue(v.Slice().At(i), key, joinPath(path, strconv.Itoa(i)))
		}
	case pcommon.ValueTypeMap:
		for k, e := range v.Map().All() {
			m.markValue(e, key, joinPath(path, k))
		}
	}
}

func (m *markers) markJSON(v any, key, path string) any {
	switch t := v.(type) {
	case string:
		return t + " " + m.next(key, path)
	case []any:
		for i := range t {
			t[i] = m.markJSON(t[i], key, joinPath(path, strconv.Itoa(i)))
		}
	case map[string]any:
		for k := range t {
			t[k] = m.markJSON(t[k], key, joinPath(path, k))
		}
	}
	return v
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// markTraces marks every resource, span and span event attribute.
func (m *markers) markTraces(td ptrace.Traces) {
	for _, rs := range td.ResourceSpans().All() {
		m.markMap(rs.Resource().Attributes())
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				m.markMap(s.Attributes())
				for _, e := range s.Events().All() {
					m.markMap(e.Attributes())
				}
			}
		}
	}
}

// markLogs marks every resource and log attribute and every log body.
func (m *markers) markLogs(ld plog.Logs) {
	for _, rl := range ld.ResourceLogs().All() {
		m.markMap(rl.Resource().Attributes())
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				m.markMap(lr.Attributes())
				m.markValue(lr.Body(), "body", "")
			}
		}
	}
}

// archivePipeline is the distribution's path for one connector config:
// mlgovernance (traces and logs sides) -> auditsign -> auditparquet, each
// built by its factory, started downstream first, with a signing key made by
// auditlog.GenerateKey (mode 0600).
type archivePipeline struct {
	dir    string
	traces consumerTraces
	logs   consumerLogs
	stop   func()
}

type (
	consumerTraces interface {
		ConsumeTraces(context.Context, ptrace.Traces) error
	}
	consumerLogs interface {
		ConsumeLogs(context.Context, plog.Logs) error
	}
)

func newArchivePipeline(t *testing.T, cfg *Config) *archivePipeline {
	t.Helper()
	ctx := context.Background()
	host := componenttest.NewNopHost()
	dir := t.TempDir()

	skey, _, err := auditlog.GenerateKey("failclosed-test")
	require.NoError(t, err)
	keyPath := filepath.Join(t.TempDir(), "signing.key")
	require.NoError(t, os.WriteFile(keyPath, []byte(skey+"\n"), 0o600))

	ef := auditparquetexporter.NewFactory()
	ecfg := ef.CreateDefaultConfig().(*auditparquetexporter.Config)
	ecfg.Directory = dir
	ecfg.SigningKeyFile = keyPath // the exporter signs its file digests with the same key
	exp, err := ef.CreateLogs(ctx, exportertest.NewNopSettings(ef.Type()), ecfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(ctx, host))
	pf := auditsignprocessor.NewFactory()
	pcfg := pf.CreateDefaultConfig().(*auditsignprocessor.Config)
	pcfg.Origin = "failclosed.test"
	pcfg.SigningKeyFile = keyPath
	pcfg.CheckpointInterval = 0
	proc, err := pf.CreateLogs(ctx, processortest.NewNopSettings(pf.Type()), pcfg, exp)
	require.NoError(t, err)
	require.NoError(t, proc.Start(ctx, host))

	cf := NewFactory()
	set := connectortest.NewNopSettings(metadata.Type)
	tc, err := cf.CreateTracesToLogs(ctx, set, cfg, proc)
	require.NoError(t, err)
	lc, err := cf.CreateLogsToLogs(ctx, set, cfg, proc)
	require.NoError(t, err)
	require.NoError(t, tc.Start(ctx, host))
	require.NoError(t, lc.Start(ctx, host))

	return &archivePipeline{dir: dir, traces: tc, logs: lc, stop: func() {
		assert.NoError(t, tc.Shutdown(ctx))
		assert.NoError(t, lc.Shutdown(ctx))
		assert.NoError(t, proc.Shutdown(ctx))
		assert.NoError(t, exp.Shutdown(ctx))
	}}
}

// A leak is a marker archived where it may not be.
type leak struct {
	site  markerSite
	where string // column of a decoded row, or a file for raw bytes
}

// runMarkedFixtures feeds every fixture of testdata, marked, through an
// archive pipeline under cfg, and returns the leaks and the number of
// records archived.
func runMarkedFixtures(t *testing.T, cfg *Config) ([]leak, int) {
	t.Helper()
	policy, err := capture.New(cfg.Capture)
	require.NoError(t, err)
	p := newArchivePipeline(t, cfg)
	m := &markers{}
	ctx := context.Background()
	traces, err := filepath.Glob(filepath.Join("testdata", "*_traces.json"))
	require.NoError(t, err)
	logs, err := filepath.Glob(filepath.Join("testdata", "*_logs.json"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(traces), 7, "every convention's fixture")
	// Spans first: events are attributed from them.
	for _, f := range traces {
		m.fixture = filepath.Base(f)
		td := readTraces(t, filepath.Base(f))
		m.markTraces(td)
		require.NoError(t, p.traces.ConsumeTraces(ctx, td))
	}
	for _, f := range logs {
		m.fixture = filepath.Base(f)
		ld := readLogs(t, filepath.Base(f))
		m.markLogs(ld)
		require.NoError(t, p.logs.ConsumeLogs(ctx, ld))
	}
	require.Greater(t, len(m.sites), 300, "markers inserted")

	raw := map[int][]string{} // marker -> files holding it in raw bytes
	scanRaw := func() {
		require.NoError(t, filepath.WalkDir(p.dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(p.dir, path)
			for _, sm := range markerRE.FindAllSubmatch(b, -1) {
				n, _ := strconv.Atoi(string(sm[1]))
				raw[n] = append(raw[n], rel)
			}
			return nil
		}))
	}
	walFiles := func() int {
		n := 0
		_ = filepath.WalkDir(filepath.Join(p.dir, archive.WALDir), func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				n++
			}
			return nil
		})
		return n
	}
	require.Positive(t, walFiles(), "the write-ahead log is scanned while it holds the records")
	scanRaw()
	p.stop()
	scanRaw()

	// Decode every data file: a marker in a clear column is expected (and
	// excuses the same marker in raw bytes, such as column statistics);
	// anywhere else it is a leak unless its key is allowed.
	allowed := func(s markerSite) bool {
		if policy.Allowed(s.key) {
			return true
		}
		member, _, _ := strings.Cut(s.path, ".")
		return s.path != "" && policy.Allowed(s.key+"."+member)
	}
	var leaks []leak
	expected := map[int]bool{}
	files, err := archive.DataFiles(p.dir)
	require.NoError(t, err)
	require.NotEmpty(t, files)
	rows := 0
	for _, f := range files {
		recs, err := archive.ReadFile(filepath.Join(p.dir, filepath.FromSlash(f)))
		require.NoError(t, err)
		for _, r := range recs {
			if r.SourceConvention == record.SourceGovaudit {
				continue // epoch records written by auditsign
			}
			rows++
			b, err := json.Marshal(r)
			require.NoError(t, err)
			var cols map[string]any
			require.NoError(t, json.Unmarshal(b, &cols))
			for col, v := range cols {
				text := fmt.Sprint(v)
				for _, sm := range markerRE.FindAllStringSubmatch(text, -1) {
					n, _ := strconv.Atoi(sm[1])
					switch {
					case clearColumns[col]:
						expected[n] = true
					case allowed(m.sites[n]):
					default:
						leaks = append(leaks, leak{site: m.sites[n], where: "column " + col})
					}
				}
			}
		}
	}
	for n, where := range raw {
		if !expected[n] && !allowed(m.sites[n]) {
			leaks = append(leaks, leak{site: m.sites[n], where: "raw bytes of " + strings.Join(where, ", ")})
		}
	}
	t.Logf("%d markers in %d fixtures, %d records archived in %d data files, %d leaks", len(m.sites), len(traces)+len(logs), rows, len(files), len(leaks))
	return leaks, rows
}

func leakReport(leaks []leak) string {
	lines := make([]string, 0, len(leaks))
	seen := map[string]bool{}
	for _, l := range leaks {
		s := l.site.String() + " in " + l.where
		if !seen[s] {
			seen[s] = true
			lines = append(lines, s)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestFailClosedArchive is issue 12's acceptance test: under the default
// policy no marker reaches any archived byte outside the columns mappings
// fill; with unmapped_attributes: keep, markers do reach the archive, so the
// test can fail.
func TestFailClosedArchive(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the archive pipeline")
	}
	t.Run("default", func(t *testing.T) {
		leaks, rows := runMarkedFixtures(t, keyedDefaultConfig())
		assert.Greater(t, rows, 20)
		assert.Empty(t, leakReport(leaks), "archived in clear")
	})
	t.Run("default_include_non_ml", func(t *testing.T) {
		// Spans without ML meaning (the Vercel AI SDK's ai.generateText
		// wrapper and ai.toolCall spans, HTTP parents) become records too.
		cfg := keyedDefaultConfig()
		cfg.IncludeNonML = true
		leaks, _ := runMarkedFixtures(t, cfg)
		assert.Empty(t, leakReport(leaks), "archived in clear")
	})
	t.Run("keep", func(t *testing.T) {
		cfg := keyedDefaultConfig()
		cfg.Capture.UnmappedAttributes = capture.UnmappedKeep
		leaks, _ := runMarkedFixtures(t, cfg)
		require.NotEmpty(t, leaks, "unmapped_attributes: keep archives unmapped values in clear")
		// The content attributes of issue 12 follow the content policy
		// (digest), not unmapped_attributes.
		content := map[string]bool{
			"ai.prompt": true, "ai.prompt.messages": true, "ai.response.text": true, "ai.response.toolCalls": true,
			"ai.toolCall.args": true, "ai.toolCall.result": true, "anthropic.tool_result.content": true,
			"llm.invocation_parameters.system": true, "llm.invocation_parameters.messages": true,
			"llm.invocation_parameters.prompt": true, "input.value": true, "output.value": true,
			"llm.input_messages": true, "gen_ai.input.messages": true, "tool.parameters": true,
		}
		var inAttributes []leak
		for _, l := range leaks {
			if l.where == "column attributes" {
				inAttributes = append(inAttributes, l)
			}
			member, _, _ := strings.Cut(l.site.path, ".")
			key := strings.TrimSuffix(strings.SplitN(l.site.key, ".0.", 2)[0], ".")
			assert.False(t, content[key] || content[key+"."+member], "content key %s archived in clear", l.site)
		}
		assert.NotEmpty(t, inAttributes)
	})
}

// TestUnmappedAttributes checks each unmapped_attributes mode on the three
// places a record keeps unmapped values: attributes, resource_attributes
// and the non-numeric parameters.
func TestUnmappedAttributes(t *testing.T) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	rs.Resource().Attributes().PutStr("user.id", "res-user@example.org")
	rs.Resource().Attributes().PutStr("telemetry.sdk.language", "go")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetTraceID(traceA)
	s.SetSpanID(childID)
	a := s.Attributes()
	a.PutStr("gen_ai.operation.name", "chat")
	a.PutStr("gen_ai.request.model", "gpt-4o")
	a.PutDouble("gen_ai.request.temperature", 0.5)
	a.PutEmptySlice("gen_ai.request.stop_sequences").AppendEmpty().SetStr("Bye jane@example.org")
	a.PutStr("app.customer", "jane@example.org")
	a.PutInt("app.account", 4711)
	a.PutInt("http.response.status_code", 200)

	policy, err := capture.New(keyedDefaultConfig().Capture)
	require.NoError(t, err)
	stop, err := record.CanonicalJSON([]any{"Bye jane@example.org"})
	require.NoError(t, err)

	tests := []struct {
		mode                      capture.UnmappedMode
		attributes, resource, par string
	}{
		{
			capture.UnmappedDigest,
			`{"app.account":"` + policy.Digest("4711") + `","app.customer":"` + policy.Digest("jane@example.org") + `","http.response.status_code":200}`,
			`{"telemetry.sdk.language":"go","user.id":"` + policy.Digest("res-user@example.org") + `"}`,
			`{"stop_sequences":"` + policy.Digest(stop) + `","temperature":0.5}`,
		},
		{
			capture.UnmappedDrop,
			`{"http.response.status_code":200}`,
			`{"telemetry.sdk.language":"go"}`,
			`{"temperature":0.5}`,
		},
		{
			capture.UnmappedKeep,
			`{"app.account":4711,"app.customer":"jane@example.org","http.response.status_code":200}`,
			`{"telemetry.sdk.language":"go","user.id":"res-user@example.org"}`,
			`{"stop_sequences":["Bye jane@example.org"],"temperature":0.5}`,
		},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			cfg := keyedDefaultConfig()
			cfg.Capture.UnmappedAttributes = tt.mode
			p := newPipeline(t, cfg)
			require.NoError(t, p.traces.ConsumeTraces(context.Background(), td))
			recs := p.records(t)
			require.Len(t, recs, 1)
			r := recs[0]
			assert.Equal(t, tt.attributes, r.Attributes)
			assert.Equal(t, tt.resource, r.ResourceAttributes)
			assert.Equal(t, tt.par, r.Parameters)
			assert.Equal(t, "gpt-4o", r.RequestModel, "mapped values are not affected")
			assert.Equal(t, "res-user@example.org", r.UserID, "attribution is a mapping")
			assert.Empty(t, r.Flags)
		})
	}

	t.Run("allowed_attributes", func(t *testing.T) {
		cfg := keyedDefaultConfig()
		cfg.Capture.UnmappedAttributes = capture.UnmappedDrop
		cfg.Capture.AllowedAttributes = []string{"app.*", "gen_ai.request.stop_sequences"}
		p := newPipeline(t, cfg)
		require.NoError(t, p.traces.ConsumeTraces(context.Background(), td))
		r := p.records(t)[0]
		assert.Equal(t, `{"app.account":4711,"app.customer":"jane@example.org"}`, r.Attributes, "the list replaces the default")
		assert.Empty(t, r.ResourceAttributes)
		assert.Equal(t, `{"stop_sequences":["Bye jane@example.org"],"temperature":0.5}`, r.Parameters)
	})
}

// TestContentKeys checks that the content attributes of the Vercel AI SDK,
// the Anthropic SDK and OpenInference's invocation parameters reach the
// content fields, under the content policy, and nothing else.
func TestContentKeys(t *testing.T) {
	p := newPipeline(t, keyedDefaultConfig())
	for _, f := range []string{"vercel_traces.json", "anthropic_traces.json", "openinference_params_traces.json"} {
		require.NoError(t, p.traces.ConsumeTraces(context.Background(), readTraces(t, f)))
	}
	bySpan := map[string]record.Record{}
	for _, r := range p.records(t) {
		bySpan[r.SpanID] = r
		assert.NotContains(t, r.Attributes+r.Parameters+r.ResourceAttributes, "example.com", r.EventName)
		for _, k := range []string{"ai.prompt", "ai.prompt.messages", "ai.prompt.tools", "ai.response.text", "ai.response.toolCalls", "ai.values", "llm.tools"} {
			assert.NotContains(t, r.Attributes, `"`+k+`"`, "content keys are not in attributes")
		}
	}

	gen := bySpan["a000000000000002"] // ai.generateText.doGenerate
	assert.NotEmpty(t, gen.InputDigest, "ai.prompt.messages")
	assert.NotEmpty(t, gen.OutputDigest, "ai.response.toolCalls")
	assert.NotEmpty(t, gen.SystemInstructionsDigest, "ai.prompt.tools")
	assert.Equal(t, `{"max_tokens":400,"temperature":0.3}`, gen.Parameters)
	emb := bySpan["a000000000000005"] // ai.embed.doEmbed
	assert.NotEmpty(t, emb.InputDigest, "ai.values")
	assert.NotContains(t, emb.Attributes, "ai.embeddings", "vectors are dropped")

	ant := bySpan["b000000000000001"]
	assert.NotEmpty(t, ant.ToolResultDigest, "anthropic.tool_result.content follows tool_result")
	assert.NotContains(t, ant.Attributes, "anthropic.tool_result.content")

	oi := bySpan["c000000000000001"]
	assert.Equal(t, `{"max_tokens":300,"model":"gpt-4.1","stop":"`+mustDigest(t, `["\nUser:"]`)+`","stream":true,"temperature":0.2,"top_p":0.9,"user":"`+mustDigest(t, "jane@example.com")+`"}`,
		oi.Parameters, "generation parameters kept, strings digested, content members moved out")
	assert.NotEmpty(t, oi.SystemInstructionsDigest, "invocation_parameters system, instructions, tools; llm.tools")
	assert.NotEmpty(t, oi.InputDigest)

	// With include_non_ml, the Vercel wrapper and tool spans become records
	// and their content still follows the content policy.
	cfg := keyedDefaultConfig()
	cfg.IncludeNonML = true
	cfg.Capture.ToolArguments = capture.ModeKeep
	p = newPipeline(t, cfg)
	require.NoError(t, p.traces.ConsumeTraces(context.Background(), readTraces(t, "vercel_traces.json")))
	bySpan = map[string]record.Record{}
	for _, r := range p.records(t) {
		bySpan[r.SpanID] = r
	}
	tool := bySpan["a000000000000003"] // ai.toolCall
	assert.Equal(t, `{"order": "A-77", "email": "jane@example.com"}`, tool.ToolArguments, "ai.toolCall.args under tool_arguments: keep")
	assert.NotEmpty(t, tool.ToolResultDigest, "ai.toolCall.result under tool_result: digest")
	wrapper := bySpan["a000000000000001"] // ai.generateText
	assert.NotEmpty(t, wrapper.InputDigest, "ai.prompt")
	assert.NotEmpty(t, wrapper.OutputDigest, "ai.response.text")
}

// mustDigest is the default test policy's digest of s.
func mustDigest(t *testing.T, s string) string {
	policy, err := capture.New(keyedDefaultConfig().Capture)
	require.NoError(t, err)
	return policy.Digest(s)
}

// TestReadmeDefaultAllowList keeps the README's default allow-list equal
// to capture.DefaultAllowedAttributes.
func TestReadmeDefaultAllowList(t *testing.T) {
	b, err := os.ReadFile("README.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)```yaml\nallowed_attributes:\n(.*?)```").FindSubmatch(b)
	require.NotNil(t, m, "README: the default allow-list block")
	var got []string
	for _, line := range strings.Split(string(m[1]), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, f := range strings.FieldsFunc(line, func(r rune) bool { return strings.ContainsRune(" ,[]", r) }) {
			got = append(got, f)
		}
	}
	assert.Equal(t, capture.DefaultAllowedAttributes(), got)
}
