package record

import (
	"encoding/json"
	"strings"
	"unsafe"

	segjson "github.com/segmentio/encoding/json"
)

// maxJSONDepth is encoding/json's nesting limit (maxNestingDepth in
// encoding/json/scanner.go): text nested deeper is not valid JSON to it.
const maxJSONDepth = 10000

// ValidJSON reports whether s is one valid JSON value, with exactly the
// verdict of encoding/json.Valid (TestValidJSON and FuzzValidJSON compare
// them): surrounding whitespace is allowed, trailing data is not, strings
// may hold invalid UTF-8 and lone \u surrogates (encoding/json.Valid accepts
// both), and nesting deeper than 10,000 is invalid.
//
// It uses github.com/segmentio/encoding/json.Valid, about twice as fast on
// message attributes (docs/performance.md, "CPU round 2"). That validator
// has no nesting limit and recurses once per level, so text that could nest
// deeper than encoding/json allows (more than 10,000 '[' or '{' bytes,
// inside strings or not) goes to encoding/json.Valid instead: the verdict
// stays the same and hostile input cannot grow the stack.
func ValidJSON(s string) bool {
	if strings.Count(s, "[")+strings.Count(s, "{") > maxJSONDepth {
		return json.Valid([]byte(s))
	}
	// segjson.Valid only reads its argument: no copy of s is needed.
	return segjson.Valid(unsafe.Slice(unsafe.StringData(s), len(s)))
}
