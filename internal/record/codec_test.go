package record

import (
	"errors"
	"reflect"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
)

func sealedRecords(n int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = full()
		recs[i].ID = NewID()
		recs[i].SetLeaf("host-a", 7, uint64(i))
	}
	return recs
}

// TestDecodeLogs: every log record of a batch of several resources and
// scopes is decoded or rejected with its position and reason.
func TestDecodeLogs(t *testing.T) {
	recs := sealedRecords(4)
	ld := plog.NewLogs()
	// resource 0: scope 0 holds records 0 and 1; scope 1 a plain log and record 2.
	rl := ld.ResourceLogs().AppendEmpty()
	AppendLogRecords(rl.ScopeLogs().AppendEmpty().LogRecords(), recs[:2])
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty().Body().SetStr("an application log")
	recs[2].ToLogRecord(lrs.AppendEmpty())
	// resource 1: an empty scope, then a scope of broken records and record 3.
	rl = ld.ResourceLogs().AppendEmpty()
	rl.ScopeLogs().AppendEmpty()
	lrs = rl.ScopeLogs().AppendEmpty().LogRecords()
	recs[0].ToLogRecord(lrs.AppendEmpty())
	lrs.At(0).Attributes().PutInt(AttributePrefix+"user_id", 42)
	bad := recs[1]
	bad.Type = "prediction"
	bad.ToLogRecord(lrs.AppendEmpty())
	stray := lrs.AppendEmpty()
	stray.Attributes().PutInt(AttributePrefix+"user_id", 1) // no record_id: not a record, whatever else
	recs[3].ToLogRecord(lrs.AppendEmpty())

	type result struct {
		pos    Pos
		id     string
		errMsg string
	}
	want := []result{
		{Pos{0, 0, 0}, recs[0].ID, ""},
		{Pos{0, 0, 1}, recs[1].ID, ""},
		{Pos{0, 1, 0}, "", "resource 0 scope 1 log record 0: not a governance record (no govaudit.record_id attribute)"},
		{Pos{0, 1, 1}, recs[2].ID, ""},
		{Pos{1, 1, 0}, "", "resource 1 scope 1 log record 0: attribute govaudit.user_id: type Int, want Str"},
		{Pos{1, 1, 1}, "", "resource 1 scope 1 log record 1: record " + recs[1].ID + `: record_type "prediction" is not a known type`},
		{Pos{1, 1, 2}, "", "resource 1 scope 1 log record 2: not a governance record (no govaudit.record_id attribute)"},
		{Pos{1, 1, 3}, recs[3].ID, ""},
	}
	var got []result
	var items []Item
	for it, err := range DecodeLogs(ld) {
		res := result{pos: it.Pos, id: it.Record.ID}
		if err != nil {
			res.errMsg = err.Error()
			var de *DecodeError
			if !errors.As(err, &de) || de.Pos != it.Pos {
				t.Errorf("%v: error %T %v is not a *DecodeError at the item's position", it.Pos, err, err)
			}
			if it.Record.ID != "" {
				t.Errorf("%v: a failed item carries a record", it.Pos)
			}
		} else {
			items = append(items, it)
		}
		got = append(got, res)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded\n got %+v\nwant %+v", got, want)
	}

	// Not-a-record is told apart from a broken record.
	var notRecord, broken int
	for _, err := range DecodeLogs(ld) {
		switch {
		case errors.Is(err, ErrNotRecord):
			notRecord++
		case err != nil:
			broken++
		}
	}
	if notRecord != 2 || broken != 2 {
		t.Errorf("%d not records, %d broken; want 2 and 2", notRecord, broken)
	}

	// The good items are the records, leaf hash carried, each a copy of its
	// own, each with its log record.
	for i, it := range items {
		if !reflect.DeepEqual(it.Record, recs[i]) {
			t.Errorf("item %d:\n got %+v\nwant %+v", i, it.Record, recs[i])
		}
	}
	items[0].Record.Flags[0] = "changed"
	items[0].Record.ID = "changed"
	if items[1].Record.ID != recs[1].ID {
		t.Error("items share their record")
	}
	items[3].Record.SetLeaf("host-b", 8, 99)
	items[3].Record.PutLeaf(items[3].LogRecord)
	lr := ld.ResourceLogs().At(1).ScopeLogs().At(1).LogRecords().At(3)
	if v, _ := lr.Attributes().Get(AttributePrefix + "origin"); v.Str() != "host-b" {
		t.Errorf("PutLeaf on the item's log record did not reach the batch: origin %q", v.Str())
	}
}

func TestDecodeLogsStops(t *testing.T) {
	ld := NewLogs("s", sealedRecords(5))
	n := 0
	for range DecodeLogs(ld) {
		if n++; n == 2 {
			break
		}
	}
	if n != 2 {
		t.Fatalf("iterated %d times after break", n)
	}
	for range DecodeLogs(plog.NewLogs()) {
		t.Fatal("an empty batch yields nothing")
	}
}

// TestNewLogs: records survive NewLogs and DecodeLogs unchanged, in order;
// AppendLogRecords keeps what the slice held.
func TestNewLogs(t *testing.T) {
	recs := sealedRecords(3)
	ld := NewLogs("github.com/govaudit/govaudit/test", recs)
	if ld.ResourceLogs().Len() != 1 || ld.ResourceLogs().At(0).ScopeLogs().Len() != 1 {
		t.Fatal("want one resource and one scope")
	}
	sl := ld.ResourceLogs().At(0).ScopeLogs().At(0)
	if sl.Scope().Name() != "github.com/govaudit/govaudit/test" {
		t.Errorf("scope %q", sl.Scope().Name())
	}
	AppendLogRecords(sl.LogRecords(), recs[:1])
	var got []Record
	for it, err := range DecodeLogs(ld) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, it.Record)
	}
	if want := append(recs[:3:3], recs[0]); !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if NewLogs("", nil).LogRecordCount() != 0 || NewLogs("", nil).ResourceLogs().At(0).ScopeLogs().At(0).Scope().Name() != "" {
		t.Error("empty NewLogs")
	}
}
