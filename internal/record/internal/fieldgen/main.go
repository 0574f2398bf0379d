// Command fieldgen writes internal/record/fields_gen.go from the tags of the
// Record struct in record.go, so that the struct stays the one source of
// truth of the record's fields and the encoders need no reflection.
//
// From the parquet, canon and max tags of every field it generates: the
// field table (fields, attribute key constants), the canonical encoding
// (appendFields), the pdata mapping both ways (putAttrs, setAttr), the caps
// (applyCaps) and the UTF-8 check of Validate (appendUTF8Errors), each as
// straight-line code per field. Run it with go generate in internal/record:
//
//	//go:generate go run ./internal/fieldgen
//
// It reads the source with go/parser rather than reflecting on the compiled
// package, so that it still runs when the generated file is stale (a field
// renamed or removed) and the package does not compile.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"log"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

func main() {
	in := flag.String("in", "record.go", "the Go file declaring the Record struct")
	out := flag.String("out", "fields_gen.go", "the file to write")
	flag.Parse()
	src, err := os.ReadFile(*in)
	if err != nil {
		log.Fatal(err)
	}
	code, err := generate(*in, src)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, code, 0o644); err != nil {
		log.Fatal(err)
	}
}

// Kinds of fields, by Go type. The names are the record package's kind
// constants.
var kinds = map[string]string{
	"string":   "kindString",
	"Type":     "kindString",
	"int64":    "kindInt64",
	"uint64":   "kindUint64",
	"uint32":   "kindUint64",
	"*int64":   "kindInt64Ptr",
	"*float64": "kindFloat64Ptr",
	"[]string": "kindStrings",
	"[]byte":   "kindBytes",
}

// A field is one Record field as its tags describe it.
type field struct {
	goName, goType, kind string
	column               string // parquet column = JSON key = attribute suffix
	number               int    // canonical field number, 0 for derived
	max, maxLen          int
}

// attrConst is the name of the constant holding the field's attribute key.
func (f *field) attrConst() string { return "attr" + f.goName }

func parseFields(filename string, src []byte) ([]field, error) {
	file, err := parser.ParseFile(token.NewFileSet(), filename, src, 0)
	if err != nil {
		return nil, err
	}
	var st *ast.StructType
	ast.Inspect(file, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok && ts.Name.Name == "Record" {
			st, _ = ts.Type.(*ast.StructType)
		}
		return st == nil
	})
	if st == nil {
		return nil, fmt.Errorf("%s: no struct type Record", filename)
	}
	var out []field
	numbers := map[int]string{}
	for _, sf := range st.Fields.List {
		if len(sf.Names) != 1 || sf.Tag == nil {
			return nil, fmt.Errorf("%s: every Record field needs one name and tags", filename)
		}
		raw, err := strconv.Unquote(sf.Tag.Value)
		if err != nil {
			return nil, err
		}
		tag := reflect.StructTag(raw)
		f := field{goName: sf.Names[0].Name, goType: exprString(sf.Type)}
		if f.kind = kinds[f.goType]; f.kind == "" {
			return nil, fmt.Errorf("field %s: unsupported type %s", f.goName, f.goType)
		}
		f.column, _, _ = strings.Cut(tag.Get("parquet"), ",")
		if f.column == "" {
			return nil, fmt.Errorf("field %s: no parquet column name", f.goName)
		}
		if c := tag.Get("canon"); c != "-" {
			n, err := strconv.Atoi(c)
			if err != nil || n < 1 || n > 255 {
				return nil, fmt.Errorf("field %s: bad canon tag %q", f.goName, c)
			}
			if prev, dup := numbers[n]; dup {
				return nil, fmt.Errorf("fields %s and %s share canon number %d", prev, f.goName, n)
			}
			numbers[n], f.number = f.goName, n
		}
		if f.kind == "kindString" || f.kind == "kindStrings" {
			if f.max, f.maxLen, err = parseMax(tag.Get("max"), f.kind == "kindStrings"); err != nil {
				return nil, fmt.Errorf("field %s: %v", f.goName, err)
			}
		}
		out = append(out, f)
	}
	// Canonical order: ascending number, derived fields (0) last.
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].number, out[j].number
		if a == 0 || b == 0 {
			return b == 0 && a != 0
		}
		return a < b
	})
	return out, nil
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

// asString is the Go expression of the string field f held by v.
func asString(f field, v string) string {
	if f.goType != "string" {
		return "string(" + v + ")"
	}
	return v
}

func exprString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.StarExpr:
		return "*" + exprString(e.X)
	case *ast.ArrayType:
		if e.Len == nil {
			return "[]" + exprString(e.Elt)
		}
	}
	return fmt.Sprintf("%T", e)
}

func generate(filename string, src []byte) ([]byte, error) {
	fs, err := parseFields(filename, src)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	p("// Code generated by go run ./internal/fieldgen from the Record struct tags in record.go; DO NOT EDIT.")
	p("")
	p("package record")
	p("")
	p("import (")
	p(`"encoding/binary"`)
	p(`"math"`)
	p(`"unicode/utf8"`)
	p("")
	p(`"go.opentelemetry.io/collector/pdata/pcommon"`)
	p(")")
	p("")
	p("// Attribute keys of the record fields: AttributePrefix + column.")
	p("const (")
	for _, f := range fs {
		p("%s = AttributePrefix + %q", f.attrConst(), f.column)
	}
	p(")")
	p("")
	p("// fields lists the Record fields in canonical order (ascending number),")
	p("// with the derived fields (number 0) last.")
	p("var fields = [...]field{")
	for _, f := range fs {
		p("{name: %q, attr: %s, number: %d, kind: %s, max: %d, maxLen: %d},", f.column, f.attrConst(), f.number, f.kind, f.max, f.maxLen)
	}
	p("}")
	p("")

	p("// appendFields appends the canonical encoding of r's fields, the part")
	p("// after Magic (see the package doc).")
	p("func (r *Record) appendFields(b []byte) []byte {")
	for _, f := range fs {
		if f.number == 0 {
			continue
		}
		v := "r." + f.goName
		switch f.kind {
		case "kindString":
			p("if len(%s) > 0 {", v)
			p("b = append(b, %d)", f.number)
			p("b = appendString(b, %s)", asString(f, v))
		case "kindInt64", "kindUint64":
			p("if %s != 0 {", v)
			p("b = append(b, %d)", f.number)
			p("b = binary.BigEndian.AppendUint64(b, uint64(%s))", v)
		case "kindInt64Ptr":
			p("if %s != nil {", v)
			p("b = append(b, %d)", f.number)
			p("b = binary.BigEndian.AppendUint64(b, uint64(*%s))", v)
		case "kindFloat64Ptr":
			p("if %s != nil {", v)
			p("b = append(b, %d)", f.number)
			p("b = binary.BigEndian.AppendUint64(b, math.Float64bits(*%s))", v)
		case "kindStrings":
			p("if len(%s) > 0 {", v)
			p("b = append(b, %d)", f.number)
			p("b = appendStrings(b, %s)", v)
		default:
			return nil, fmt.Errorf("field %s: kind %s cannot be encoded", f.goName, f.kind)
		}
		p("}")
	}
	p("return b")
	p("}")
	p("")

	p("// attrCount returns the number of attributes putAttrs writes: the fields")
	p("// of r that are not zero.")
	p("func (r *Record) attrCount() int {")
	p("n := 0")
	for _, f := range fs {
		v := "r." + f.goName
		switch f.kind {
		case "kindString", "kindStrings", "kindBytes":
			p("if len(%s) > 0 {", v)
		case "kindInt64", "kindUint64":
			p("if %s != 0 {", v)
		default:
			p("if %s != nil {", v)
		}
		p("n++")
		p("}")
	}
	p("return n")
	p("}")
	p("")

	p("// putAttrs writes every non-zero field of r as its attribute into m.")
	p("func (r *Record) putAttrs(m pcommon.Map) {")
	for _, f := range fs {
		v, k := "r."+f.goName, f.attrConst()
		switch f.kind {
		case "kindString":
			p("if len(%s) > 0 {", v)
			p("m.PutStr(%s, %s)", k, asString(f, v))
		case "kindInt64", "kindUint64":
			p("if %s != 0 {", v)
			p("m.PutInt(%s, int64(%s))", k, v)
		case "kindInt64Ptr":
			p("if %s != nil {", v)
			p("m.PutInt(%s, *%s)", k, v)
		case "kindFloat64Ptr":
			p("if %s != nil {", v)
			p("m.PutDouble(%s, *%s)", k, v)
		case "kindStrings":
			p("if len(%s) > 0 {", v)
			p("putStrings(m, %s, %s)", k, v)
		case "kindBytes":
			p("if len(%s) > 0 {", v)
			p("m.PutEmptyBytes(%s).FromRaw(%s)", k, v)
		}
		p("}")
	}
	p("}")
	p("")

	p("// setAttr sets the field whose attribute is AttributePrefix+column from v.")
	p("// It returns errUnknownAttr for a column the record does not have.")
	p("func (r *Record) setAttr(column string, v pcommon.Value) (err error) {")
	p("switch column {")
	for _, f := range fs {
		v, k := "r."+f.goName, f.attrConst()
		p("case %q:", f.column)
		switch f.goType {
		case "string":
			p("%s, err = strAttr(%s, v)", v, k)
		case "Type":
			p("var s string")
			p("s, err = strAttr(%s, v)", k)
			p("%s = Type(s)", v)
		case "int64":
			p("%s, err = intAttr(%s, v)", v, k)
		case "uint64":
			p("var n int64")
			p("n, err = intAttr(%s, v)", k)
			p("%s = uint64(n)", v)
		case "uint32":
			p("%s, err = uint32Attr(%s, v)", v, k)
		case "*int64":
			p("%s, err = intPtrAttr(%s, v)", v, k)
		case "*float64":
			p("%s, err = doublePtrAttr(%s, v)", v, k)
		case "[]string":
			p("%s, err = stringsAttr(%s, v)", v, k)
		case "[]byte":
			p("%s, err = bytesAttr(%s, v)", v, k)
		}
	}
	p("default:")
	p("return errUnknownAttr")
	p("}")
	p("return err")
	p("}")
	p("")

	p("// applyCaps is ApplyCaps: it cuts every string field to its max tag's")
	p("// cap and every list but flags to its caps, in canonical order.")
	p("func (r *Record) applyCaps() bool {")
	p("cut := false")
	for _, f := range fs {
		v := "r." + f.goName
		switch {
		case f.kind == "kindString":
			p("if s, ok := Truncate(%s, %d); ok {", asString(f, v), f.max)
			if f.goType == "Type" {
				p("%s = Type(s)", v)
			} else {
				p("%s = s", v)
			}
		case f.kind == "kindStrings" && f.column != "flags": // flags are govaudit's own (see ApplyCaps)
			p("if l, ok := capStrings(%s, %d, %d); ok {", v, f.max, f.maxLen)
			p("%s = l", v)
		default:
			continue
		}
		p("r.AddFlag(FlagTruncated, %q)", f.column)
		p("cut = true")
		p("}")
	}
	p("return cut")
	p("}")
	p("")

	p("// appendUTF8Errors appends an error for every string field of r that is")
	p("// not valid UTF-8, in canonical order.")
	p("func (r *Record) appendUTF8Errors(errs []error) []error {")
	for _, f := range fs {
		if f.kind != "kindString" {
			continue
		}
		p("if !utf8.ValidString(%s) {", asString(f, "r."+f.goName))
		p("errs = append(errs, notUTF8Error(%q))", f.column)
		p("}")
	}
	p("return errs")
	p("}")

	return format.Source(b.Bytes())
}
