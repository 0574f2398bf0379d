package mlgovernanceconnector

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/record"
)

// captureMarker is the e-mail address every capture script
// (testdata/capture) puts into prompts, responses and tool arguments.
const captureMarker = "jane@example.com"

// TestCapturedStacks is issue 12's "Done when", stack by stack, over the
// spans captured from the real libraries (testdata/capture). Each stack's
// spans go through the distribution's path (connector, auditsign,
// auditparquet) under the default policy; the Parquet files are read back
// and checked: one counted record per model call (a second instrumentation's
// record of the same call flagged a duplicate of a counted one), provider
// and model set, the model found by the archive's model query (family
// names included, other families not), token sums equal to the usage the
// fake provider returned (in the capture scripts), tool calls, user and
// session on every record, and the marker e-mail in no archived byte.
func TestCapturedStacks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the archive pipeline")
	}
	type pair struct{ user, session string }
	tests := []struct {
		stack      string
		traces     string
		logs       string // content log events, if the stack emits them
		service    string // only the records of this service ("" = all)
		calls      int    // counted inference and embedding records
		duplicates int
		providers  []string // of the counted calls, sorted, one per call
		models     []string // model queries that must find the call records
		notModels  []string // model queries that must find none
		in, out    int64
		tools      []string // tool_call records' tool names
		toolIDs    bool     // the stack records the tool call id
		attributed []pair   // the (user, session) pairs of the records
	}{
		{
			// capture/vercel/capture.mjs: a tool loop (two calls), streamText,
			// generateObject, generateText on Anthropic, embed.
			stack: "Vercel AI SDK", traces: "vercel_captured_traces.json",
			calls: 6, providers: []string{"anthropic", "openai", "openai", "openai", "openai", "openai"},
			models:    []string{"gpt-4.1", "gpt-4.1-2025-04-14", "gpt-4.1-mini", "claude-3-5-haiku", "text-embedding-3-small"},
			notModels: []string{"gpt-4.1-mini-2025-05-01", "claude-3-5-sonnet"},
			in:        61 + 95 + 21 + 33 + 20 + 8, out: 19 + 14 + 5 + 9 + 7,
			tools: []string{"refund"}, toolIDs: true,
			attributed: []pair{{"user-vercel-1", "sess-vercel-1"}},
		},
		{
			// capture/anthropic/capture.cjs native: the SDK's span alone.
			stack: "Anthropic SDK native", traces: "anthropic_native_captured_traces.json",
			calls: 1, providers: []string{"anthropic"},
			models:    []string{"claude-3-5-haiku", "claude-3-5-haiku-latest", "claude-3-5-haiku-20241022"},
			notModels: []string{"claude-3-5-sonnet", "claude-3-5"},
			in:        88, out: 20,
			attributed: []pair{{"u-dup", "s-dup"}},
		},
		{
			stack: "Anthropic SDK under Traceloop", traces: "anthropic_captured_traces.json", service: "support-traceloop",
			calls: 1, duplicates: 1, providers: []string{"anthropic"},
			models:    []string{"claude-3-5-haiku", "claude-3-5-haiku-20241022"},
			notModels: []string{"claude-3-5-sonnet"},
			in:        88, out: 20,
			attributed: []pair{{"u-dup", "s-dup"}},
		},
		{
			stack: "Anthropic SDK under OpenInference", traces: "anthropic_captured_traces.json", service: "support-openinference",
			calls: 1, duplicates: 1, providers: []string{"anthropic"},
			models:    []string{"claude-3-5-haiku", "claude-3-5-haiku-20241022"},
			notModels: []string{"claude-3-5-sonnet"},
			in:        88, out: 20,
			attributed: []pair{{"u-dup", "s-dup"}},
		},
		{
			// capture/langchain: prompt | ChatOpenAI | parser, no tools.
			stack: "LangChain JS under OpenInference", traces: "openinference_langchain_captured_traces.json",
			calls: 1, providers: []string{"openai"},
			models:    []string{"gpt-4.1-mini"},
			notModels: []string{"gpt-4.1"},
			in:        14, out: 7,
			attributed: []pair{{"user-lc", "sess-lc"}},
		},
		{
			// capture/openai-agents: two runs (chat completions and
			// Responses API mode), two model calls and a tool call each.
			// The SDK's function span has no call id.
			stack: "OpenAI Agents SDK under OpenInference", traces: "openinference_agents_captured_traces.json",
			calls: 4, providers: []string{"openai", "openai", "openai", "openai"},
			models:    []string{"gpt-4.1", "gpt-4.1-2025-04-14"},
			notModels: []string{"gpt-4.1-mini", "gpt-4"},
			in:        120 + 140 + 130 + 160, out: 18 + 12 + 21 + 11,
			tools:      []string{"refund", "refund"},
			attributed: []pair{{"user-ag", "sess-agents"}, {"user-ag-2", "sess-agents-2"}},
		},
		{
			// capture/openai: a streaming chat completion and an embedding,
			// no tools; the prompt and the choice are log events.
			stack: "streaming OpenAI chat, official instrumentation", traces: "genai_openai_captured_traces.json",
			logs:  "genai_openai_captured_logs.json",
			calls: 2, providers: []string{"openai", "openai"},
			models:    []string{"gpt-4o-mini", "gpt-4o-mini-2024-07-18", "text-embedding-3-small"},
			notModels: []string{"gpt-4o"},
			in:        42 + 6, out: 17,
			attributed: []pair{{"u-1842", "s-77"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.stack, func(t *testing.T) {
			var captured []byte
			for _, f := range []string{tt.traces, tt.logs} {
				if f != "" {
					b, err := os.ReadFile(filepath.Join("testdata", f))
					require.NoError(t, err)
					captured = append(captured, b...)
				}
			}
			require.Contains(t, string(captured), captureMarker, "the capture holds the marker")

			p := newArchivePipeline(t, keyedDefaultConfig())
			require.NoError(t, p.traces.ConsumeTraces(context.Background(), readTraces(t, tt.traces)))
			if tt.logs != "" {
				require.NoError(t, p.logs.ConsumeLogs(context.Background(), readLogs(t, tt.logs)))
			}
			assertNoMarker(t, p.dir) // the write-ahead log
			p.stop()
			assertNoMarker(t, p.dir) // sealed files, indexes, checkpoints

			files, err := archive.DataFiles(p.dir)
			require.NoError(t, err)
			var recs []record.Record
			inFile := map[string][]int{} // data file -> indexes in recs
			for _, f := range files {
				rs, err := archive.ReadFile(filepath.Join(p.dir, filepath.FromSlash(f)))
				require.NoError(t, err)
				for _, r := range rs {
					if r.Type == record.TypeCheckpoint || strings.HasPrefix(r.EventName, "govaudit.") {
						continue // auditsign's epoch and checkpoint records
					}
					if tt.service == "" || r.ServiceName == tt.service {
						inFile[f] = append(inFile[f], len(recs))
						recs = append(recs, r)
					}
				}
			}
			require.NotEmpty(t, recs)

			byID := map[string]*record.Record{}
			for i := range recs {
				byID[recs[i].ID] = &recs[i]
			}
			var providers, tools []string
			var in, out int64
			var duplicates int
			pairs := map[pair]bool{}
			for i := range recs {
				r := &recs[i]
				j, err := json.Marshal(r)
				require.NoError(t, err)
				assert.NotContains(t, string(j), captureMarker, "decoded record %s", r.EventName)
				assert.NotEmpty(t, r.UserID, "user of %s", r.EventName)
				assert.NotEmpty(t, r.SessionID, "session of %s", r.EventName)
				pairs[pair{r.UserID, r.SessionID}] = true
				if r.Type == record.TypeToolCall {
					tools = append(tools, r.ToolName)
					if tt.toolIDs {
						assert.NotEmpty(t, r.ToolCallID, r.EventName)
					}
				}
				if r.Type != record.TypeInference && r.Type != record.TypeEmbedding {
					assert.Nil(t, r.InputTokens, "no tokens on a %s record (%s): they would count twice", r.Type, r.EventName)
					continue
				}
				if r.IsDuplicate() {
					duplicates++
					of := duplicateOf(r)
					require.Contains(t, byID, of, "%s: duplicate_of names a record of the same call", r.EventName)
					assert.False(t, byID[of].IsDuplicate(), "the record it duplicates counts")
					assert.Equal(t, r.TraceID, byID[of].TraceID)
					continue
				}
				providers = append(providers, r.Provider)
				assert.NotEmpty(t, r.RequestModel+r.ResponseModel, "model of %s", r.EventName)
				require.NotNil(t, r.InputTokens, "input tokens of %s", r.EventName)
				in += *r.InputTokens
				if r.OutputTokens != nil {
					out += *r.OutputTokens
				}
			}
			sort.Strings(providers)
			sort.Strings(tools)
			assert.Len(t, providers, tt.calls, "one counted record per model call")
			assert.Equal(t, tt.duplicates, duplicates)
			assert.Equal(t, tt.providers, providers)
			assert.Equal(t, tt.in, in, "input tokens")
			assert.Equal(t, tt.out, out, "output tokens")
			assert.Equal(t, tt.tools, tools)
			want := map[pair]bool{}
			for _, a := range tt.attributed {
				want[a] = true
			}
			assert.Equal(t, want, pairs)

			// Model queries as govaudit query runs them: the file index
			// first, then each row.
			query := func(model string) int {
				f := archive.Filter{Model: model, Types: []record.Type{record.TypeInference, record.TypeEmbedding}}
				n := 0
				for _, file := range files {
					ix, err := archive.ReadIndex(p.dir, file)
					require.NoError(t, err)
					if !ix.Matches(&f) {
						continue
					}
					for _, i := range inFile[file] {
						if f.MatchRecord(&recs[i]) && !recs[i].IsDuplicate() {
							n++
						}
					}
				}
				return n
			}
			for _, m := range tt.models {
				assert.Positive(t, query(m), "query --model %s", m)
			}
			for _, m := range tt.notModels {
				assert.Zero(t, query(m), "query --model %s", m)
			}
		})
	}
}

// duplicateOf returns the record id of r's "duplicate_of:<id>" flag.
func duplicateOf(r *record.Record) string {
	for _, f := range r.Flags {
		if id, ok := strings.CutPrefix(f, record.FlagDuplicateOf+":"); ok {
			return id
		}
	}
	return ""
}

// assertNoMarker checks that no file under dir holds the capture marker.
func assertNoMarker(t *testing.T, dir string) {
	t.Helper()
	n := 0
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		rel, _ := filepath.Rel(dir, path)
		assert.False(t, bytes.Contains(b, []byte(captureMarker)), "%s holds %s in clear", rel, captureMarker)
		return nil
	}))
	require.Positive(t, n, "files scanned")
}
