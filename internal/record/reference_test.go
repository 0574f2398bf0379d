package record

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// This file keeps the reflective implementation that the generated code
// (fields_gen.go) replaced, as an independent reference for the tests: it
// reads the Record struct tags at run time, as the package did before, and
// walks the fields with reflect. The tests check that both agree on the
// field table and on every record (reference_test.go's users in
// codec_test.go and record_test.go).

// refField is a field of the reference table: field plus its struct index.
type refField struct {
	field
	index int
}

func (f refField) value(r *Record) reflect.Value { return reflect.ValueOf(r).Elem().Field(f.index) }

// refFields is the reference field table, read with reflect from the tags.
var refFields = refLoadFields()

func refLoadFields() []refField {
	t := reflect.TypeOf(Record{})
	var out []refField
	seen := map[int]string{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("parquet"), ",")
		f := refField{field: field{name: name, attr: AttributePrefix + name}, index: i}
		switch sf.Type {
		case reflect.TypeOf(""), reflect.TypeOf(Type("")):
			f.kind = kindString
		case reflect.TypeOf(int64(0)):
			f.kind = kindInt64
		case reflect.TypeOf(uint64(0)), reflect.TypeOf(uint32(0)):
			f.kind = kindUint64
		case reflect.TypeOf((*int64)(nil)):
			f.kind = kindInt64Ptr
		case reflect.TypeOf((*float64)(nil)):
			f.kind = kindFloat64Ptr
		case reflect.TypeOf([]string(nil)):
			f.kind = kindStrings
		case reflect.TypeOf([]byte(nil)):
			f.kind = kindBytes
		default:
			panic(fmt.Sprintf("record: field %s has unsupported type %s", sf.Name, sf.Type))
		}
		if f.kind == kindString || f.kind == kindStrings {
			var err error
			if f.max, f.maxLen, err = refParseMax(sf.Tag.Get("max"), f.kind == kindStrings); err != nil {
				panic(fmt.Sprintf("record: field %s: %v", sf.Name, err))
			}
		}
		if tag := sf.Tag.Get("canon"); tag != "-" {
			n, err := strconv.Atoi(tag)
			if err != nil || n < 1 || n > 255 {
				panic(fmt.Sprintf("record: field %s has bad canon tag %q", sf.Name, tag))
			}
			if prev, dup := seen[n]; dup {
				panic(fmt.Sprintf("record: fields %s and %s share canon number %d", prev, sf.Name, n))
			}
			seen[n] = sf.Name
			f.number = n
		}
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].number, out[j].number
		if a == 0 || b == 0 {
			return b == 0 && a != 0
		}
		return a < b
	})
	return out
}

func refParseMax(tag string, list bool) (size, count int, err error) {
	a, b, hasCount := strings.Cut(tag, ",")
	if size, err = strconv.Atoi(a); err != nil || size < 1 || hasCount != list {
		return 0, 0, fmt.Errorf("bad max tag %q", tag)
	}
	if list {
		if count, err = strconv.Atoi(b); err != nil || count < 1 {
			return 0, 0, fmt.Errorf("bad max tag %q", tag)
		}
	}
	return size, count, nil
}

// refAppendCanonical is the reflective canonical encoder.
func refAppendCanonical(r *Record, b []byte) []byte {
	b = append(b, Magic...)
	for _, f := range refFields {
		if f.number == 0 {
			continue
		}
		fv := f.value(r)
		switch f.kind {
		case kindString:
			if s := fv.String(); s != "" {
				b = append(b, byte(f.number))
				b = appendString(b, s)
			}
		case kindInt64:
			if n := fv.Int(); n != 0 {
				b = append(b, byte(f.number))
				b = binary.BigEndian.AppendUint64(b, uint64(n))
			}
		case kindUint64:
			if n := fv.Uint(); n != 0 {
				b = append(b, byte(f.number))
				b = binary.BigEndian.AppendUint64(b, n)
			}
		case kindInt64Ptr:
			if !fv.IsNil() {
				b = append(b, byte(f.number))
				b = binary.BigEndian.AppendUint64(b, uint64(fv.Elem().Int()))
			}
		case kindFloat64Ptr:
			if !fv.IsNil() {
				b = append(b, byte(f.number))
				b = binary.BigEndian.AppendUint64(b, math.Float64bits(fv.Elem().Float()))
			}
		case kindStrings:
			if n := fv.Len(); n > 0 {
				b = append(b, byte(f.number))
				b = binary.AppendUvarint(b, uint64(n))
				for i := 0; i < n; i++ {
					b = appendString(b, fv.Index(i).String())
				}
			}
		}
	}
	return b
}

// refPutAttrs is the reflective ToLogRecord attribute writer.
func refPutAttrs(r *Record, attrs pcommon.Map) {
	for _, f := range refFields {
		fv := f.value(r)
		key := f.attr
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
				for i := 0; i < n; i++ {
					s.AppendEmpty().SetStr(fv.Index(i).String())
				}
			}
		case kindBytes:
			if fv.Len() > 0 {
				attrs.PutEmptyBytes(key).FromRaw(fv.Bytes())
			}
		}
	}
}

var refAttrTypes = [...]pcommon.ValueType{
	kindString: pcommon.ValueTypeStr, kindInt64: pcommon.ValueTypeInt,
	kindUint64: pcommon.ValueTypeInt, kindInt64Ptr: pcommon.ValueTypeInt,
	kindFloat64Ptr: pcommon.ValueTypeDouble, kindStrings: pcommon.ValueTypeSlice,
	kindBytes: pcommon.ValueTypeBytes,
}

// refFromLogRecord is the reflective FromLogRecord.
func refFromLogRecord(lr plog.LogRecord) (Record, error) {
	byAttr := map[string]refField{}
	for _, f := range refFields {
		byAttr[f.attr] = f
	}
	var r Record
	var err error
	v := reflect.ValueOf(&r).Elem()
	lr.Attributes().Range(func(key string, av pcommon.Value) bool {
		if !strings.HasPrefix(key, AttributePrefix) {
			return true
		}
		f, ok := byAttr[key]
		if !ok {
			err = fmt.Errorf("unknown record attribute %s", key)
			return false
		}
		fv := v.Field(f.index)
		if want := refAttrTypes[f.kind]; av.Type() != want {
			err = fmt.Errorf("attribute %s: type %s, want %s", f.attr, av.Type(), want)
			return false
		}
		switch f.kind {
		case kindString:
			fv.SetString(av.Str())
		case kindInt64:
			fv.SetInt(av.Int())
		case kindUint64:
			n := uint64(av.Int())
			if fv.Kind() == reflect.Uint32 && n > math.MaxUint32 {
				err = fmt.Errorf("attribute %s: %d overflows uint32", f.attr, n)
				return false
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
				return true
			}
			list := make([]string, s.Len())
			for i := range list {
				e := s.At(i)
				if e.Type() != pcommon.ValueTypeStr {
					err = fmt.Errorf("attribute %s[%d]: type %s, want Str", f.attr, i, e.Type())
					return false
				}
				list[i] = e.Str()
			}
			fv.Set(reflect.ValueOf(list))
		case kindBytes:
			if b := av.Bytes().AsRaw(); len(b) > 0 {
				fv.SetBytes(append([]byte(nil), b...))
			}
		}
		return true
	})
	if err != nil {
		return Record{}, err
	}
	return r, nil
}

// refApplyCaps is the reflective ApplyCaps.
func refApplyCaps(r *Record) bool {
	cut := false
	for _, f := range refFields {
		fv := f.value(r)
		switch {
		case f.kind == kindString:
			if s, ok := Truncate(fv.String(), f.max); ok {
				fv.SetString(s)
				r.AddFlag(FlagTruncated, f.name)
				cut = true
			}
		case f.kind == kindStrings && f.name != "flags":
			n := fv.Len()
			if n == 0 {
				continue
			}
			list := fv.Interface().([]string)
			changed, copied := false, false
			if n > f.maxLen {
				list, changed = list[:f.maxLen:f.maxLen], true
			}
			for j, s := range list {
				if t, ok := Truncate(s, f.max); ok {
					if !copied {
						list, copied = append([]string(nil), list...), true
					}
					list[j], changed = t, true
				}
			}
			if changed {
				fv.Set(reflect.ValueOf(list))
				r.AddFlag(FlagTruncated, f.name)
				cut = true
			}
		}
	}
	return cut
}

// refUTF8Errors is the reflective UTF-8 check of Validate.
func refUTF8Errors(r *Record) []error {
	var errs []error
	for _, f := range refFields {
		if f.kind == kindString && !utf8.ValidString(f.value(r).String()) {
			errs = append(errs, fmt.Errorf("%s is not valid UTF-8", f.name))
		}
	}
	return errs
}
