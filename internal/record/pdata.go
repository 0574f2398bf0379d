package record

import (
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Event names of the log records that carry governance records.
const (
	EventNameRecord     = "govaudit.record"
	EventNameCheckpoint = "govaudit.checkpoint"
)

// ToLogRecord writes r into lr: every non-zero field becomes the attribute
// "govaudit.<column>" (strings as Str, integers as Int — uint64 by bit pattern —,
// floats as Double, lists as Slice of Str, the leaf hash as Bytes). lr's
// previous attributes are replaced. For OpenTelemetry-native consumers lr also
// gets the event name, timestamps, trace and span ids and INFO severity; those
// are copies, FromLogRecord reads only the attributes.
func (r *Record) ToLogRecord(lr plog.LogRecord) {
	attrs := lr.Attributes()
	attrs.Clear()
	attrs.EnsureCapacity(24)
	v := reflect.ValueOf(r).Elem()
	for i := range fields {
		putField(attrs, &fields[i], v.Field(fields[i].index))
	}

	if r.Type == TypeCheckpoint {
		lr.SetEventName(EventNameCheckpoint)
	} else {
		lr.SetEventName(EventNameRecord)
	}
	ts := r.EndTime
	if ts == 0 {
		ts = r.StartTime
	}
	lr.SetTimestamp(pcommon.Timestamp(ts))
	lr.SetObservedTimestamp(pcommon.Timestamp(r.ObservedTime))
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	lr.SetSeverityText("INFO")
	var tid pcommon.TraceID
	if _, err := hex.Decode(tid[:], []byte(r.TraceID)); err != nil || len(r.TraceID) != 2*len(tid) {
		tid = pcommon.TraceID{}
	}
	lr.SetTraceID(tid)
	var sid pcommon.SpanID
	if _, err := hex.Decode(sid[:], []byte(r.SpanID)); err != nil || len(r.SpanID) != 2*len(sid) {
		sid = pcommon.SpanID{}
	}
	lr.SetSpanID(sid)
}

// attrTypes is the pdata value type of each field kind.
var attrTypes = [...]pcommon.ValueType{
	kindString: pcommon.ValueTypeStr, kindInt64: pcommon.ValueTypeInt,
	kindUint64: pcommon.ValueTypeInt, kindInt64Ptr: pcommon.ValueTypeInt,
	kindFloat64Ptr: pcommon.ValueTypeDouble, kindStrings: pcommon.ValueTypeSlice,
	kindBytes: pcommon.ValueTypeBytes,
}

// PutLeaf writes r's position in its log — origin, epoch, leaf_index and
// leaf_hash — into lr, which must already carry r otherwise (as written by
// ToLogRecord). It is ToLogRecord for the auditsign processor, which only
// seals records: the other attributes are left as they are.
func (r *Record) PutLeaf(lr plog.LogRecord) {
	attrs := lr.Attributes()
	v := reflect.ValueOf(r).Elem()
	for _, f := range leafFields {
		if !putField(attrs, f, v.Field(f.index)) {
			attrs.Remove(f.attr) // zero values are absent, as in ToLogRecord
		}
	}
}

// leafFields are the fields PutLeaf writes.
var leafFields = func() []*field {
	var out []*field
	for _, name := range []string{"origin", "epoch", "leaf_index", "leaf_hash"} {
		out = append(out, fieldByAttr[AttributePrefix+name])
	}
	return out
}()

// putField writes one field as its attribute and reports whether it did:
// zero values (empty string, 0, nil, empty list) are not written.
func putField(attrs pcommon.Map, f *field, fv reflect.Value) bool {
	key := f.attr
	switch f.kind {
	case kindString:
		if s := fv.String(); s != "" {
			attrs.PutStr(key, s)
			return true
		}
	case kindInt64:
		if n := fv.Int(); n != 0 {
			attrs.PutInt(key, n)
			return true
		}
	case kindUint64:
		if n := fv.Uint(); n != 0 {
			attrs.PutInt(key, int64(n))
			return true
		}
	case kindInt64Ptr:
		if !fv.IsNil() {
			attrs.PutInt(key, fv.Elem().Int())
			return true
		}
	case kindFloat64Ptr:
		if !fv.IsNil() {
			attrs.PutDouble(key, fv.Elem().Float())
			return true
		}
	case kindStrings:
		if n := fv.Len(); n > 0 {
			s := attrs.PutEmptySlice(key)
			s.EnsureCapacity(n)
			for i := 0; i < n; i++ {
				s.AppendEmpty().SetStr(fv.Index(i).String())
			}
			return true
		}
	case kindBytes:
		if n := fv.Len(); n > 0 {
			attrs.PutEmptyBytes(key).FromRaw(fv.Bytes())
			return true
		}
	}
	return false
}

// IsRecord reports whether lr carries a governance record (written by ToLogRecord).
func IsRecord(lr plog.LogRecord) bool {
	_, ok := lr.Attributes().Get(AttributePrefix + "record_id")
	return ok
}

// FromLogRecord reads the record that ToLogRecord wrote into lr. It fails,
// naming the attribute, on an attribute of the wrong type or an unknown
// "govaudit." attribute, so nothing is lost silently. It does not validate
// the record (see Validate).
func FromLogRecord(lr plog.LogRecord) (Record, error) {
	var r Record
	var err error
	v := reflect.ValueOf(&r).Elem()
	lr.Attributes().Range(func(key string, av pcommon.Value) bool {
		if !strings.HasPrefix(key, AttributePrefix) {
			return true
		}
		f, ok := fieldByAttr[key]
		if !ok {
			err = fmt.Errorf("unknown record attribute %s", key)
			return false
		}
		err = setField(v.Field(f.index), f, av)
		return err == nil
	})
	if err != nil {
		return Record{}, err
	}
	return r, nil
}

// setField sets one Record field from its attribute value.
func setField(fv reflect.Value, f *field, av pcommon.Value) error {
	if want := attrTypes[f.kind]; av.Type() != want {
		return fmt.Errorf("attribute %s: type %s, want %s", f.attr, av.Type(), want)
	}
	switch f.kind {
	case kindString:
		fv.SetString(av.Str())
	case kindInt64:
		fv.SetInt(av.Int())
	case kindUint64:
		n := uint64(av.Int())
		if fv.Kind() == reflect.Uint32 && n > math.MaxUint32 {
			return fmt.Errorf("attribute %s: %d overflows uint32", f.attr, n)
		}
		fv.SetUint(n)
	case kindInt64Ptr:
		n := av.Int()
		fv.Set(reflect.ValueOf(&n))
	case kindFloat64Ptr:
		x := av.Double()
		fv.Set(reflect.ValueOf(&x))
	case kindStrings:
		s := av.Slice()
		if s.Len() == 0 {
			return nil
		}
		list := make([]string, s.Len())
		for i := range list {
			e := s.At(i)
			if e.Type() != pcommon.ValueTypeStr {
				return fmt.Errorf("attribute %s[%d]: type %s, want Str", f.attr, i, e.Type())
			}
			list[i] = e.Str()
		}
		fv.Set(reflect.ValueOf(list))
	case kindBytes:
		if b := av.Bytes().AsRaw(); len(b) > 0 {
			fv.SetBytes(append([]byte(nil), b...))
		}
	}
	return nil
}
