package verify

import (
	"slices"
	"time"

	"github.com/govaudit/govaudit/internal/record"
)

// A Scope limits what a verification checks (docs/verification.md, "Verify
// what you ask"). The zero Scope is the whole archive.
//
// Origins, if not empty, limits the run to those origins: the scan reads
// no file, manifest, checkpoint or latest pointer of another origin, and
// external checkpoints of other origins are ignored. Each origin kept is
// verified whole (every epoch, every manifest of its chain).
//
// Since and Until (zero: unbounded; Until exclusive) limit which records
// are checked row by row: a record whose event time (record.Record.EventTime) is
// outside [Since, Until) is validated and re-hashed only if it is leaf 0 of
// its epoch (whose attributes are the epoch link verify relies on);
// otherwise its stored leaf hash is taken as is. Everything else is still
// checked in full: every data file is read and its SHA-256 compared with
// its signed manifest (so every stored leaf hash is the one that was
// signed), every tree is rebuilt from all its leaves and compared with
// every checkpoint, every manifest chain and every epoch link is checked.
type Scope struct {
	Origins      []string
	Since, Until time.Time
}

// Whole reports whether s is the whole archive.
func (s Scope) Whole() bool { return len(s.Origins) == 0 && s.Since.IsZero() && s.Until.IsZero() }

// HasOrigin reports whether origin is in scope.
func (s Scope) HasOrigin(origin string) bool {
	return len(s.Origins) == 0 || slices.Contains(s.Origins, origin)
}

// inPeriod reports whether a record's event time is in [Since, Until).
func (s Scope) inPeriod(r *record.Record) bool {
	t := r.EventTime()
	if !s.Since.IsZero() && t < s.Since.UnixNano() {
		return false
	}
	return s.Until.IsZero() || t < s.Until.UnixNano()
}

// ScopeReport says what a limited run checked (Report.Scope; absent for
// the whole archive).
type ScopeReport struct {
	// Origins are the origins verified; empty means all.
	Origins []string `json:"origins,omitempty"`
	// Since and Until bound the period (RFC 3339; Until exclusive).
	Since *time.Time `json:"since,omitempty"`
	Until *time.Time `json:"until,omitempty"`
	// RowsChecked counts the records validated and re-hashed from their
	// content; HashOnly those outside the period, of which only the stored
	// leaf hash (under the file's signed digest) was checked against the
	// signed tree.
	RowsChecked  uint64 `json:"rows_checked"`
	RowsHashOnly uint64 `json:"rows_hash_only"`
}

// SetScope limits the checks to s; call it before adding anything. The
// scan (internal/verify/scan) reads Scope to skip other origins' files.
func (c *Checker) SetScope(s Scope) {
	c.scope = s
	if s.Whole() {
		c.rep.Scope = nil
		return
	}
	sr := &ScopeReport{Origins: slices.Clone(s.Origins)}
	slices.Sort(sr.Origins)
	if !s.Since.IsZero() {
		t := s.Since.UTC()
		sr.Since = &t
	}
	if !s.Until.IsZero() {
		t := s.Until.UTC()
		sr.Until = &t
	}
	c.rep.Scope = sr
}

// Scope returns the Checker's scope.
func (c *Checker) Scope() Scope { return c.scope }

// String names the scope for a summary: "origins a, b, records from X to Y".
func (s *ScopeReport) String() string {
	if s == nil {
		return "the whole archive"
	}
	out := ""
	if len(s.Origins) > 0 {
		out = "origin"
		if len(s.Origins) > 1 {
			out += "s"
		}
		for i, o := range s.Origins {
			if i > 0 {
				out += ","
			}
			out += " " + o
		}
	}
	if s.Since != nil || s.Until != nil {
		if out != "" {
			out += ", "
		}
		out += "records"
		if s.Since != nil {
			out += " from " + s.Since.Format(time.RFC3339Nano)
		}
		if s.Until != nil {
			out += " before " + s.Until.Format(time.RFC3339Nano)
		}
		out += " checked row by row"
	}
	return out
}
