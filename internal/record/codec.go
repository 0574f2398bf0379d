package record

import (
	"errors"
	"fmt"
	"iter"

	"go.opentelemetry.io/collector/pdata/plog"
)

// The batch codec: how governance records cross a collector pipeline. A
// component that receives records decodes its plog.Logs batch once with
// DecodeLogs, which reads and validates every record in one pass and says
// where and why a log record is not a valid record; a component that sends
// records builds its batch with NewLogs or AppendLogRecords. The leaf hash
// travels with a sealed record (its leaf_hash attribute, Record.LeafHash),
// so no component downstream of auditsign recomputes it; only verify does.

// A Pos is the position of a log record in a plog.Logs batch: the indexes
// of its resource, of its scope within the resource and of the log record
// within the scope.
type Pos struct{ Resource, Scope, LogRecord int }

func (p Pos) String() string {
	return fmt.Sprintf("resource %d scope %d log record %d", p.Resource, p.Scope, p.LogRecord)
}

// ErrNotRecord is the reason DecodeLogs gives for a log record that carries
// no governance record: it has no govaudit.record_id attribute (IsRecord).
var ErrNotRecord = errors.New("not a governance record (no " + attrID + " attribute)")

// A DecodeError is a log record of a batch that is not a valid governance
// record: where it is and why. Err is ErrNotRecord, a decoding error naming
// the attribute (FromLogRecord), or the record's Validate error.
type DecodeError struct {
	Pos Pos
	ID  string // the record_id, when the record decoded but did not validate
	Err error
}

func (e *DecodeError) Error() string {
	if e.ID != "" {
		return fmt.Sprintf("%v: record %s: %v", e.Pos, e.ID, e.Err)
	}
	return fmt.Sprintf("%v: %v", e.Pos, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// An Item is one log record of a batch and the governance record decoded
// from it.
type Item struct {
	Record    Record         // decoded and validated; zero when decoding failed
	LogRecord plog.LogRecord // the log record it was decoded from (see PutLeaf)
	Pos       Pos
}

// DecodeLogs returns an iterator over the log records of ld, in batch
// order. For each it yields the decoded record, read as FromLogRecord reads
// it and checked with Validate, or a *DecodeError. A log record without a
// govaudit.record_id attribute yields an error wrapping ErrNotRecord, so
// that a caller tells "not a record" from "a broken record" with errors.Is.
// Each Item is a copy of its own: the caller may keep it.
func DecodeLogs(ld plog.Logs) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			sls := rls.At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					it := Item{LogRecord: lrs.At(k), Pos: Pos{i, j, k}}
					var err error
					if err = it.decode(); err != nil {
						it.Record = Record{}
					}
					if !yield(it, err) {
						return
					}
				}
			}
		}
	}
}

// decode reads and validates it.Record from it.LogRecord in one pass over
// its attributes.
func (it *Item) decode() error {
	hasID, err := it.Record.fromAttributes(it.LogRecord.Attributes())
	switch {
	case err != nil && !IsRecord(it.LogRecord):
		// A stray govaudit.* attribute on a log record that is no record:
		// say what it is not, as when the record_id is missing alone.
		return &DecodeError{Pos: it.Pos, Err: ErrNotRecord}
	case err != nil:
		return &DecodeError{Pos: it.Pos, Err: err}
	case !hasID:
		return &DecodeError{Pos: it.Pos, Err: ErrNotRecord}
	}
	if err := it.Record.Validate(); err != nil {
		return &DecodeError{Pos: it.Pos, ID: it.Record.ID, Err: err}
	}
	return nil
}

// AppendLogRecords appends recs to lrs, each as one log record written by
// ToLogRecord. It does not validate them: producers Validate a record once,
// when they build it.
func AppendLogRecords(lrs plog.LogRecordSlice, recs []Record) {
	lrs.EnsureCapacity(lrs.Len() + len(recs))
	for i := range recs {
		recs[i].ToLogRecord(lrs.AppendEmpty())
	}
}

// NewLogs returns a batch holding recs as the log records (AppendLogRecords)
// of one resource without attributes and one scope named scope (unnamed
// when scope is "").
func NewLogs(scope string, recs []Record) plog.Logs {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(scope)
	AppendLogRecords(sl.LogRecords(), recs)
	return ld
}
