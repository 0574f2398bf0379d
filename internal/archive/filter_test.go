package archive

import (
	"fmt"
	"testing"

	"github.com/govaudit/govaudit/internal/record"
)

func TestFilterModelMatches(t *testing.T) {
	tests := []struct {
		want, got string
		match     bool
	}{
		{"gpt-4.1", "gpt-4.1", true},
		{"gpt-4.1", "gpt-4.1-2025-04-14", true},
		{"gpt-4.1", "gpt-4.1-mini", false},
		{"gpt-4.1", "gpt-4.1-mini-2025-04-14", false},
		{"gpt-4.1-mini", "gpt-4.1-mini-2025-04-14", true},
		{"gpt-4.1-2025-04-14", "gpt-4.1-2025-04-14", true},
		{"gpt-4.1-2025-04-14", "gpt-4.1", false}, // a snapshot names itself only
		{"gpt-4.1-2025-04-14", "gpt-4.1-2025-05-14", false},
		{"gpt-4o", "gpt-4o-2024-08-06", true},
		{"gpt-4", "gpt-4o-2024-08-06", false},
		{"gpt-4", "gpt-4-0613", true},
		{"gpt-3.5-turbo", "gpt-3.5-turbo-0125", true},
		{"gpt-4", "gpt-4-1106-preview", false},
		{"claude-3-5-haiku", "claude-3-5-haiku-20241022", true},
		{"claude-3-5-haiku", "claude-3-5-haiku-latest", true},
		{"claude-3-5-haiku", "claude-3-5-haiku@20241022", true},
		{"claude-3-5-haiku", "claude-3-5-sonnet-20241022", false},
		{"claude-3-5", "claude-3-5-haiku-20241022", false}, // not a prefix match
		{"claude-3-5-haiku-latest", "claude-3-5-haiku-20241022", false},
		{"claude-3-5-haiku-latest", "claude-3-5-haiku-latest", true},
		{"mistral-large", "mistral-large-2407", true},
		{"mistral-large", "mistral-large-latest", true},
		{"gemini-1.5-pro", "gemini-1.5-pro-002", true},
		{"gemini-1.5-pro", "gemini-1.5-pro-exp", false},
		{"gpt-4.1", "gpt-4.1-2025-13-14", false}, // not a date
		{"gpt-4.1", "gpt-4.1-14", false},
		{"gpt-4.1", "", false},
		{"", "", false},
		{"-latest", "-latest", true},
	}
	for _, tt := range tests {
		t.Run(tt.want+"/"+tt.got, func(t *testing.T) {
			if got := ModelMatches(tt.want, tt.got); got != tt.match {
				t.Errorf("ModelMatches(%q, %q) = %v, want %v", tt.want, tt.got, got, tt.match)
			}
		})
	}
}

func TestFilterModelFamily(t *testing.T) {
	tests := []struct {
		model, family string
		snapshot      bool
	}{
		{"gpt-4.1-2025-04-14", "gpt-4.1", true},
		{"claude-3-5-haiku-20241022", "claude-3-5-haiku", true},
		{"claude-3-5-haiku@20241022", "claude-3-5-haiku", true},
		{"claude-3-5-haiku-latest", "claude-3-5-haiku", true},
		{"gemini-2.0-flash-001", "gemini-2.0-flash", true},
		{"gpt-4-0613", "gpt-4", true},
		{"gpt-4.1", "gpt-4.1", false},
		{"gpt-4.1-mini", "gpt-4.1-mini", false},
		{"anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic.claude-3-5-haiku-20241022-v1:0", false},
		{"2025-04-14", "2025-04-14", false},
		{"-20241022", "-20241022", false},
		{"latest", "latest", false},
	}
	for _, tt := range tests {
		if f, s := ModelFamily(tt.model); f != tt.family || s != tt.snapshot {
			t.Errorf("ModelFamily(%q) = %q, %v; want %q, %v", tt.model, f, s, tt.family, tt.snapshot)
		}
	}
}

// TestFilterModelIndex checks that a file is pruned for a model query only
// when none of its models can match: with the exact set of values; a set
// too large to be exact never prunes.
func TestFilterModelIndex(t *testing.T) {
	exact := newIDSet(map[string]struct{}{"gpt-4.1-2025-04-14": {}, "claude-3-5-haiku-latest": {}})
	big := map[string]struct{}{"gpt-4.1-2025-04-14": {}}
	for i := 0; i < MaxExactIDs+1; i++ {
		big[fmt.Sprintf("ft:model-%d", i)] = struct{}{}
	}
	large := newIDSet(big)
	if large.Exact() {
		t.Fatal("want an inexact set")
	}
	tests := []struct {
		name       string
		set        IDSet
		want       string
		mayContain bool
	}{
		{"exact family", exact, "gpt-4.1", true},
		{"exact snapshot", exact, "gpt-4.1-2025-04-14", true},
		{"exact other family", exact, "gpt-4.1-mini", false},
		{"exact other snapshot", exact, "gpt-4.1-2025-05-01", false},
		{"exact alias family", exact, "claude-3-5-haiku", true},
		{"large family", large, "gpt-4.1", true},
		{"large snapshot", large, "gpt-4.1-2025-04-14", true},
		{"large other snapshot", large, "gpt-9-2030-01-01", true},
		{"empty set", IDSet{}, "gpt-4.1", false},
		{"inconsistent", IDSet{Count: 3, Values: []string{"a"}}, "gpt-4.1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.set
			if got := s.mayMatchModel(tt.want); got != tt.mayContain {
				t.Errorf("mayMatchModel(%q) = %v, want %v", tt.want, got, tt.mayContain)
			}
			ix := Index{Models: s}
			r := record.Record{RequestModel: "gpt-4.1-2025-04-14"}
			f := Filter{Model: tt.want}
			if f.MatchRecord(&r) && s.Count > 0 && !ix.Matches(&f) && (!s.Exact() || s.MayContain(r.RequestModel)) {
				t.Errorf("a file holding %q is pruned for --model %q", r.RequestModel, tt.want)
			}
		})
	}
}

func TestFilterMatchRecordModel(t *testing.T) {
	r := record.Record{RequestModel: "gpt-4.1", ResponseModel: "gpt-4.1-2025-04-14"}
	for want, match := range map[string]bool{
		"gpt-4.1": true, "gpt-4.1-2025-04-14": true, "gpt-4.1-mini": false, "gpt-4": false,
	} {
		f := Filter{Model: want}
		if got := f.MatchRecord(&r); got != match {
			t.Errorf("--model %q: %v, want %v", want, got, match)
		}
	}
	dated := record.Record{ResponseModel: "claude-3-5-haiku-20241022"}
	if f := (Filter{Model: "claude-3-5-haiku"}); !f.MatchRecord(&dated) {
		t.Error("family on a response model only")
	}
}
