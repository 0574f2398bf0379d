package archive

import (
	"slices"
	"time"

	"github.com/govaudit/govaudit/internal/record"
)

// A Filter selects records. Zero fields match everything; set fields must
// all match.
type Filter struct {
	Origin string
	// Since and Until bound EventTime to [Since, Until); zero times are open.
	Since, Until time.Time
	// Types matches any of the listed record types.
	Types []record.Type
	// Provider, Model (request or response model), ModelVersion, UserID,
	// SessionID, ConversationID and TraceID match the record's field exactly.
	Provider, Model, ModelVersion              string
	UserID, SessionID, ConversationID, TraceID string
}

// MatchRecord reports whether r matches f.
func (f *Filter) MatchRecord(r *record.Record) bool {
	if f.Origin != "" && r.Origin != f.Origin {
		return false
	}
	if !f.Since.IsZero() || !f.Until.IsZero() {
		t := EventTime(r)
		if t == 0 || !f.Since.IsZero() && t < f.Since.UnixNano() || !f.Until.IsZero() && t >= f.Until.UnixNano() {
			return false
		}
	}
	if len(f.Types) > 0 && !slices.Contains(f.Types, r.Type) {
		return false
	}
	eq := func(want, got string) bool { return want == "" || want == got }
	return eq(f.Provider, r.Provider) &&
		(f.Model == "" || f.Model == r.RequestModel || f.Model == r.ResponseModel) &&
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
	return may(&ix.Providers, f.Provider) && may(&ix.Models, f.Model) && may(&ix.ModelVersions, f.ModelVersion) &&
		may(&ix.Users, f.UserID) && may(&ix.Sessions, f.SessionID) &&
		may(&ix.Conversations, f.ConversationID) && may(&ix.Traces, f.TraceID)
}
