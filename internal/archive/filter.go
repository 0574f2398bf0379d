package archive

import (
	"slices"
	"strings"
	"time"

	"github.com/govaudit/govaudit/internal/record"
)

// A Filter selects records. Zero fields match everything; set fields must
// all match.
type Filter struct {
	Origin string
	// Since and Until bound the record event time (record.Record.EventTime) to [Since, Until); zero times are open.
	Since, Until time.Time
	// Types matches any of the listed record types.
	Types []record.Type
	// Model matches the request or the response model with ModelMatches:
	// the same name, or the snapshots of a model family (gpt-4.1 finds
	// gpt-4.1-2025-04-14, not gpt-4.1-mini).
	Model string
	// Provider, ModelVersion, UserID, SessionID, ConversationID and TraceID
	// match the record's field exactly.
	Provider, ModelVersion                     string
	UserID, SessionID, ConversationID, TraceID string
}

// MatchRecord reports whether r matches f.
func (f *Filter) MatchRecord(r *record.Record) bool {
	if f.Origin != "" && r.Origin != f.Origin {
		return false
	}
	if !f.Since.IsZero() || !f.Until.IsZero() {
		t := r.EventTime()
		if t == 0 || !f.Since.IsZero() && t < f.Since.UnixNano() || !f.Until.IsZero() && t >= f.Until.UnixNano() {
			return false
		}
	}
	if len(f.Types) > 0 && !slices.Contains(f.Types, r.Type) {
		return false
	}
	eq := func(want, got string) bool { return want == "" || want == got }
	return eq(f.Provider, r.Provider) &&
		(f.Model == "" || ModelMatches(f.Model, r.RequestModel) || ModelMatches(f.Model, r.ResponseModel)) &&
		eq(f.ModelVersion, r.ModelVersion) && eq(f.UserID, r.UserID) && eq(f.SessionID, r.SessionID) &&
		eq(f.ConversationID, r.ConversationID) && eq(f.TraceID, r.TraceID)
}

// Matches reports whether the data file that ix describes may hold a record
// matching f. False means it certainly holds none and a query can skip it;
// true means it must be read (and rows checked with MatchRecord).
func (ix *Index) Matches(f *Filter) bool {
	if f.Origin != "" && ix.Origin != f.Origin {
		return false
	}
	if !f.Since.IsZero() || !f.Until.IsZero() {
		if ix.TimeMin == 0 && ix.TimeMax == 0 {
			return false // no row has an event time
		}
		if !f.Since.IsZero() && ix.TimeMax < f.Since.UnixNano() || !f.Until.IsZero() && ix.TimeMin >= f.Until.UnixNano() {
			return false
		}
	}
	if len(f.Types) > 0 && !slices.ContainsFunc(f.Types, func(t record.Type) bool { return ix.Types[t] > 0 }) {
		return false
	}
	may := func(s *IDSet, v string) bool { return v == "" || s.MayContain(v) }
	return may(&ix.Providers, f.Provider) && ix.Models.mayMatchModel(f.Model) && may(&ix.ModelVersions, f.ModelVersion) &&
		may(&ix.Users, f.UserID) && may(&ix.Sessions, f.SessionID) &&
		may(&ix.Conversations, f.ConversationID) && may(&ix.Traces, f.TraceID)
}

// mayMatchModel reports whether s may hold a model that ModelMatches want.
// A snapshot name (gpt-4.1-2025-04-14) matches itself only; a family name
// (gpt-4.1) also matches its snapshots. Only an exact set can prune.
func (s *IDSet) mayMatchModel(want string) bool {
	if want == "" || !s.Exact() {
		return true
	}
	if _, snapshot := ModelFamily(want); snapshot {
		return s.MayContain(want)
	}
	return slices.ContainsFunc(s.Values, func(v string) bool { return ModelMatches(want, v) })
}

// ModelMatches reports whether a record's model got is the queried model
// want: the same name, or got is a snapshot of the family want (want
// followed by a snapshot suffix, see ModelFamily). A snapshot name matches
// itself only, and a family never matches another family's snapshots:
// gpt-4.1 matches gpt-4.1-2025-04-14, not gpt-4.1-mini-2025-04-14;
// claude-3-5-haiku matches claude-3-5-haiku-20241022 and
// claude-3-5-haiku-latest. Names compare case-sensitively, as the index
// stores them.
func ModelMatches(want, got string) bool {
	if want == got {
		return want != ""
	}
	if _, snapshot := ModelFamily(want); snapshot {
		return false
	}
	family, snapshot := ModelFamily(got)
	return snapshot && family == want
}

// ModelFamily splits a snapshot suffix off model and reports whether there
// was one. The suffixes are the providers' ways of naming a snapshot or an
// alias of a family:
//
//	-YYYY-MM-DD   OpenAI            gpt-4.1-2025-04-14, gpt-4o-2024-08-06
//	-YYYYMMDD     Anthropic         claude-3-5-haiku-20241022
//	@YYYYMMDD     Vertex AI         claude-3-5-haiku@20241022
//	-NNNN         OpenAI, Mistral   gpt-4-0613, gpt-3.5-turbo-0125, mistral-large-2407
//	-NNN          Gemini            gemini-1.5-pro-002
//	-latest       Anthropic, Mistral, Gemini aliases: claude-3-5-haiku-latest
//
// Anything else (-mini, -preview, -v1:0) names another model.
func ModelFamily(model string) (family string, snapshot bool) {
	if f, ok := strings.CutSuffix(model, "-latest"); ok && f != "" {
		return f, true
	}
	i := strings.LastIndexAny(model, "-@")
	if i <= 0 {
		return model, false
	}
	suffix := model[i+1:]
	switch {
	case model[i] == '@':
		if len(suffix) == 8 && allDigits(suffix) {
			return model[:i], true
		}
	case len(suffix) == 8 && allDigits(suffix), len(suffix) == 4 && allDigits(suffix), len(suffix) == 3 && allDigits(suffix):
		return model[:i], true
	case len(suffix) == 2 && allDigits(suffix):
		// -YYYY-MM-DD: the suffix is DD; check the whole date.
		if d := len(model) - len("2025-04-14"); d > 1 && model[d-1] == '-' && isDate(model[d:]) {
			return model[:d-1], true
		}
	}
	return model, false
}

// isDate reports whether s is YYYY-MM-DD with a month and day in range.
func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' || !allDigits(s[:4]) || !allDigits(s[5:7]) || !allDigits(s[8:]) {
		return false
	}
	m, d := (s[5]-'0')*10+s[6]-'0', (s[8]-'0')*10+s[9]-'0'
	return m >= 1 && m <= 12 && d >= 1 && d <= 31
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
