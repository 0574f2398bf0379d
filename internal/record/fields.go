package record

//go:generate go run ./internal/fieldgen

// kind is the encoding class of a field.
type kind int

const (
	kindString kind = iota // string, Type
	kindInt64
	kindUint64 // uint64, uint32
	kindInt64Ptr
	kindFloat64Ptr
	kindStrings
	kindBytes // derived, never encoded (LeafHash)
)

// field describes one Record field as its struct tags declare it.
//
// The Record struct's tags are the one source of truth: go generate runs
// internal/fieldgen, which reads them from record.go and writes
// fields_gen.go — the table fields and, per field, straight-line code for
// the canonical encoding, the pdata mapping, the caps and the UTF-8 check.
// Generated rather than reflective code because every record crosses these
// functions several times on the collector's hot path (issue 13); the tests
// check the generated code against a reflective reference reading the same
// tags.
type field struct {
	name   string // column name, JSON key, attribute suffix
	attr   string // pdata attribute key: AttributePrefix + name
	number int    // canonical field number; 0 for derived fields
	kind   kind
	max    int // cap in bytes of a string, or of each element of a list; 0 for other kinds
	maxLen int // cap on the number of elements of a list
}

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

// Columns returns the Parquet column names of the record schema, in
// canonical order; leaf_hash comes last.
func Columns() []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.name
	}
	return out
}
