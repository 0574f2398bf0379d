package record

import (
	"encoding/json"
	"strings"
	"testing"
)

// benchMessages is a gen_ai.input.messages attribute of ~1.6 KB, the shape
// the load test sends.
var benchMessages = `[{"role":"system","parts":[{"type":"text","content":"You are a customer support assistant. ` +
	strings.Repeat("Answer briefly and cite the order number. ", 8) + `"}]},` +
	`{"role":"user","parts":[{"type":"text","content":"` + strings.Repeat("Where is my order \\\"A-1234\\\"? It was due \u00e0 Paris. ", 12) + `"}]},` +
	`{"role":"assistant","parts":[{"type":"text","content":"It ships today."},{"type":"tool_call","id":"c1","name":"track","arguments":{"order":"A-1234","n":3.5}}]}]`

// BenchmarkValidJSON compares ValidJSON with encoding/json.Valid (the
// baseline, same run) on a messages attribute.
func BenchmarkValidJSON(b *testing.B) {
	for _, bm := range []struct {
		name  string
		valid func(string) bool
	}{
		{"encoding-json", func(s string) bool { return json.Valid([]byte(s)) }},
		{"ValidJSON", ValidJSON},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(benchMessages)))
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				if !bm.valid(benchMessages) {
					b.Fatal("invalid")
				}
			}
			reportCPU(b, start, 1, "cpu-ns/op")
		})
	}
}

// BenchmarkCanonicalJSON compares CanonicalJSON with encoding/json (the
// baseline, same run) on the leftover attributes of a GenAI span.
func BenchmarkCanonicalJSON(b *testing.B) {
	attrs := map[string]any{
		"gen_ai.response.id": "chatcmpl-6dacb525fad4480f", "server.address": "api.example-llm.com",
		"server.port": int64(443), "gen_ai.request.seed": int64(42), "http.route": "/v1/chat <completions>",
		"tags": []any{"a", "b", true, 2.5e-9}, "nested": map[string]any{"k": "v\n", "n": nil},
	}
	for _, bm := range []struct {
		name string
		enc  func(any) (string, error)
	}{
		{"encoding-json", stdCanonicalJSON},
		{"CanonicalJSON", CanonicalJSON},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				if _, err := bm.enc(attrs); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start, 1, "cpu-ns/op")
		})
	}
}
