package record

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
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
	n := r.attrCount()
	if r.Origin == "" && r.LeafHash == nil {
		// Room for the position PutLeaf adds when auditsign seals the
		// record: without it, sealing grows (copies) every record's
		// attribute slice (about half of PutLeaf's 2.3% of the
		// governance pipeline's CPU, and its largest allocation).
		n += leafAttrs
	}
	attrs.EnsureCapacity(n)
	r.putAttrs(attrs)

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
	// The ids are copies: a record's ids that are not hex of the right
	// length (Validate rejects them) leave the log record's empty.
	var tid pcommon.TraceID
	if !decodeID(tid[:], r.TraceID) {
		tid = pcommon.TraceID{}
	}
	lr.SetTraceID(tid)
	var sid pcommon.SpanID
	if !decodeID(sid[:], r.SpanID) {
		sid = pcommon.SpanID{}
	}
	lr.SetSpanID(sid)
}

// leafAttrs is how many attributes PutLeaf writes at most.
const leafAttrs = 4

// PutLeaf writes r's position in its log — origin, epoch, leaf_index and
// leaf_hash — into lr, which must already carry r otherwise (as written by
// ToLogRecord). It is ToLogRecord for the auditsign processor, which only
// seals records: the other attributes are left as they are. Zero values are
// absent, as in ToLogRecord.
func (r *Record) PutLeaf(lr plog.LogRecord) {
	attrs := lr.Attributes()
	if r.Origin != "" {
		attrs.PutStr(attrOrigin, r.Origin)
	} else {
		attrs.Remove(attrOrigin)
	}
	if r.Epoch != 0 {
		attrs.PutInt(attrEpoch, int64(r.Epoch))
	} else {
		attrs.Remove(attrEpoch)
	}
	if r.LeafIndex != 0 {
		attrs.PutInt(attrLeafIndex, int64(r.LeafIndex))
	} else {
		attrs.Remove(attrLeafIndex)
	}
	if len(r.LeafHash) > 0 {
		attrs.PutEmptyBytes(attrLeafHash).FromRaw(r.LeafHash)
	} else {
		attrs.Remove(attrLeafHash)
	}
}

// decodeID decodes the hex id s into dst and reports whether s was exactly
// len(dst) bytes of hex (hex.Decode panics on a longer s).
func decodeID(dst []byte, s string) bool {
	if len(s) != hex.EncodedLen(len(dst)) {
		return false
	}
	_, err := hex.Decode(dst, []byte(s))
	return err == nil
}

func putStrings(m pcommon.Map, key string, list []string) {
	s := m.PutEmptySlice(key)
	s.EnsureCapacity(len(list))
	for _, e := range list {
		s.AppendEmpty().SetStr(e)
	}
}

// IsRecord reports whether lr carries a governance record (written by ToLogRecord).
func IsRecord(lr plog.LogRecord) bool {
	_, ok := lr.Attributes().Get(attrID)
	return ok
}

// FromLogRecord reads the record that ToLogRecord wrote into lr. It fails,
// naming the attribute, on an attribute of the wrong type or an unknown
// "govaudit." attribute, so nothing is lost silently. It does not validate
// the record (see Validate; DecodeLogs does both).
func FromLogRecord(lr plog.LogRecord) (Record, error) {
	var r Record
	if _, err := r.fromAttributes(lr.Attributes()); err != nil {
		return Record{}, err
	}
	return r, nil
}

// fromAttributes sets r's fields from the "govaudit." attributes of m and
// reports whether m has the record_id attribute (see IsRecord).
func (r *Record) fromAttributes(m pcommon.Map) (hasID bool, err error) {
	for key, v := range m.All() {
		column, ok := strings.CutPrefix(key, AttributePrefix)
		if !ok {
			continue
		}
		if err := r.setAttr(column, v); err != nil {
			if err == errUnknownAttr {
				err = fmt.Errorf("unknown record attribute %s", key)
			}
			return hasID, err
		}
		hasID = hasID || key == attrID
	}
	return hasID, nil
}

// errUnknownAttr is setAttr's answer for a column the record does not have.
var errUnknownAttr = errors.New("unknown record attribute")

// The attribute readers below return the value of attribute key for the
// generated setAttr, or an error naming the attribute when v has another
// type than the field's.

func typeError(key string, v pcommon.Value, want pcommon.ValueType) error {
	return fmt.Errorf("attribute %s: type %s, want %s", key, v.Type(), want)
}

func strAttr(key string, v pcommon.Value) (string, error) {
	if v.Type() != pcommon.ValueTypeStr {
		return "", typeError(key, v, pcommon.ValueTypeStr)
	}
	return v.Str(), nil
}

func intAttr(key string, v pcommon.Value) (int64, error) {
	if v.Type() != pcommon.ValueTypeInt {
		return 0, typeError(key, v, pcommon.ValueTypeInt)
	}
	return v.Int(), nil
}

// uint32Attr reads a uint32 field, written by bit pattern as an Int.
func uint32Attr(key string, v pcommon.Value) (uint32, error) {
	n, err := intAttr(key, v)
	if err != nil {
		return 0, err
	}
	if uint64(n) > math.MaxUint32 {
		return 0, fmt.Errorf("attribute %s: %d overflows uint32", key, uint64(n))
	}
	return uint32(n), nil
}

func intPtrAttr(key string, v pcommon.Value) (*int64, error) {
	n, err := intAttr(key, v)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

func doublePtrAttr(key string, v pcommon.Value) (*float64, error) {
	if v.Type() != pcommon.ValueTypeDouble {
		return nil, typeError(key, v, pcommon.ValueTypeDouble)
	}
	x := v.Double()
	return &x, nil
}

// stringsAttr reads a list field; an empty list is nil, as Normalize has it.
func stringsAttr(key string, v pcommon.Value) ([]string, error) {
	if v.Type() != pcommon.ValueTypeSlice {
		return nil, typeError(key, v, pcommon.ValueTypeSlice)
	}
	s := v.Slice()
	if s.Len() == 0 {
		return nil, nil
	}
	list := make([]string, s.Len())
	for i := range list {
		e := s.At(i)
		if e.Type() != pcommon.ValueTypeStr {
			return nil, fmt.Errorf("attribute %s[%d]: type %s, want Str", key, i, e.Type())
		}
		list[i] = e.Str()
	}
	return list, nil
}

// bytesAttr reads the leaf hash into a slice of its own: lr may be reused.
func bytesAttr(key string, v pcommon.Value) ([]byte, error) {
	if v.Type() != pcommon.ValueTypeBytes {
		return nil, typeError(key, v, pcommon.ValueTypeBytes)
	}
	b := v.Bytes().AsRaw()
	if len(b) == 0 {
		return nil, nil
	}
	return bytes.Clone(b), nil
}
