package record

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// kind is the encoding class of a field.
type kind int

const (
	kindString kind = iota
	kindInt64
	kindUint64
	kindInt64Ptr
	kindFloat64Ptr
	kindStrings
	kindBytes // derived, never encoded (LeafHash)
)

// field describes one Record field, read once from the struct tags.
type field struct {
	name   string // column name, JSON key, attribute suffix
	attr   string // pdata attribute key: AttributePrefix + name
	number int    // canonical field number; 0 for derived fields
	index  int    // struct field index
	kind   kind
	max    int // cap in bytes of a string, or of each element of a list; 0 for other kinds
	maxLen int // cap on the number of elements of a list
}

func (f field) value(r *Record) reflect.Value { return reflect.ValueOf(r).Elem().Field(f.index) }

// fields lists the Record fields in canonical order (ascending number), with
// the derived fields (number 0) last.
var fields = loadFields()

// fieldByAttr maps each pdata attribute key to its field.
var fieldByAttr = func() map[string]*field {
	m := make(map[string]*field, len(fields))
	for i := range fields {
		m[fields[i].attr] = &fields[i]
	}
	return m
}()

// AttributePrefix prefixes every pdata attribute that carries a record field.
const AttributePrefix = "govaudit."

func loadFields() []field {
	t := reflect.TypeOf(Record{})
	var out []field
	seen := map[int]string{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("parquet"), ",")
		f := field{name: name, attr: AttributePrefix + name, index: i}
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
			if f.max, f.maxLen, err = parseMax(sf.Tag.Get("max"), f.kind == kindStrings); err != nil {
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

// Columns returns the Parquet column names of the record schema, in
// canonical order; leaf_hash comes last.
func Columns() []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.name
	}
	return out
}

// parseMax parses a max tag: "N" for a string, "N,C" for a list of strings.
func parseMax(tag string, list bool) (size, count int, err error) {
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
