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
	for _, f := range fields {
		fv := v.Field(f.index)
		key := AttributePrefix + f.name
		switch f.kind {
		case kindString:
			if s := fv.String(); s != "" {
				attrs.PutStr(key, s)
			}
		case kindInt64:
			if n := fv.Int(); n != 0 {
				attrs.PutInt(key, n)
			}
		case kindUint64:
			if n := fv.Uint(); n != 0 {
				attrs.PutInt(key, int64(n))
			}
		case kindInt64Ptr:
			if !fv.IsNil() {
				attrs.PutInt(key, fv.Elem().Int())
			}
		case kindFloat64Ptr:
			if !fv.IsNil() {
				attrs.PutDouble(key, fv.Elem().Float())
			}
		case kindStrings:
			if n := fv.Len(); n > 0 {
				s := attrs.PutEmptySlice(key)
				s.EnsureCapacity(n)
				for i := 0; i < n; i++ {
					s.AppendEmpty().SetStr(fv.Index(i).String())
				}
			}
		case kindBytes:
			if n := fv.Len(); n > 0 {
				attrs.PutEmptyBytes(key).FromRaw(fv.Bytes())
			}
		}
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
	v := reflect.ValueOf(&r).Elem()
	attrs := lr.Attributes()
	matched := 0
	for _, f := range fields {
		key := AttributePrefix + f.name
		av, ok := attrs.Get(key)
		if !ok {
			continue
		}
		matched++
		fv := v.Field(f.index)
		want := attrTypes[f.kind]
		if av.Type() != want {
			return Record{}, fmt.Errorf("attribute %s: type %s, want %s", key, av.Type(), want)
		}
		switch f.kind {
		case kindString:
			fv.SetString(av.Str())
		case kindInt64:
			fv.SetInt(av.Int())
		case kindUint64:
			n := uint64(av.Int())
			if fv.Kind() == reflect.Uint32 && n > math.MaxUint32 {
				return Record{}, fmt.Errorf("attribute %s: %d overflows uint32", key, n)
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
			list := make([]string, s.Len())
			for i := range list {
				e := s.At(i)
				if e.Type() != pcommon.ValueTypeStr {
					return Record{}, fmt.Errorf("attribute %s[%d]: type %s, want Str", key, i, e.Type())
				}
				list[i] = e.Str()
			}
			if len(list) > 0 {
				fv.Set(reflect.ValueOf(list))
			}
		case kindBytes:
			if b := av.Bytes().AsRaw(); len(b) > 0 {
				fv.SetBytes(append([]byte(nil), b...))
			}
		}
	}
	if matched != countPrefixed(attrs) {
		var unknown []string
		attrs.Range(func(k string, _ pcommon.Value) bool {
			if strings.HasPrefix(k, AttributePrefix) && !isFieldAttr(k) {
				unknown = append(unknown, k)
			}
			return true
		})
		return Record{}, fmt.Errorf("unknown record attributes %v", unknown)
	}
	return r, nil
}

func countPrefixed(attrs pcommon.Map) int {
	n := 0
	attrs.Range(func(k string, _ pcommon.Value) bool {
		if strings.HasPrefix(k, AttributePrefix) {
			n++
		}
		return true
	})
	return n
}

func isFieldAttr(k string) bool {
	for _, f := range fields {
		if AttributePrefix+f.name == k {
			return true
		}
	}
	return false
}
