package record

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// canonicalCases are values whose canonical JSON must be byte-identical to
// encoding/json's (stdCanonicalJSON), including the values that make it
// fail.
var canonicalCases = map[string]any{
	"nil":              nil,
	"empty string":     "",
	"html":             "<a href='x'>&amp;</a>",
	"escapes":          "q\" b\\ \b\f\n\r\t \x00\x01\x1f\x7f",
	"invalid UTF-8":    "a\xffb\xe2\x82c\xed\xa0\x80",
	"separators":       "\u2028 \u2029 \u2027 \u202a",
	"non-ASCII":        "héllo wörld 日本語 🎉",
	"ints":             []any{int64(0), int64(-1), int64(math.MaxInt64), int64(math.MinInt64), 42},
	"floats":           []any{0.0, math.Copysign(0, -1), 1.0, -1.5, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 123456789e15, 5e-324, math.MaxFloat64, 0.1, 1.0 / 3},
	"NaN":              math.NaN(),
	"Inf in a map":     map[string]any{"a": math.Inf(-1)},
	"bools":            []any{true, false},
	"nil map":          map[string]any(nil),
	"nil slice":        []any(nil),
	"empty map":        map[string]any{},
	"empty slice":      []any{},
	"key order":        map[string]any{"b": 1.0, "a": 2.0, "A": 3.0, "aa": 4.0, "": 5.0, "é": 6.0, "\xff": 7.0, "a\x00": 8.0},
	"many keys":        manyKeys(40),
	"escaped keys":     map[string]any{"q\"k": "v", "<k>": "\u2028"},
	"nested":           map[string]any{"m": map[string]any{"s": []any{map[string]any{"x": nil}, []any{}}}},
	"json.Number":      json.Number("1.50"),
	"bad json.Number":  json.Number("1x"),
	"RawMessage":       map[string]any{"raw": json.RawMessage(`{ "b" : 1 , "a" : [ 2 ] }`)},
	"float32":          float32(0.1),
	"int32 in a slice": []any{int32(7)},
	"struct":           struct{ A int }{1},
}

func manyKeys(n int) map[string]any {
	m := map[string]any{}
	for i := range n {
		m[strings.Repeat("k", i%7)+string(rune('a'+i%26))+strings.Repeat("z", i/26)] = float64(i)
	}
	return m
}

// TestCanonicalJSON checks CanonicalJSON against encoding/json on the
// cases above and on a pdata map with every value type.
func TestCanonicalJSON(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("s", "x\ny")
	m.PutInt("i", -7)
	m.PutDouble("d", 2.5e-9)
	m.PutBool("b", true)
	m.PutEmptyBytes("bytes").FromRaw([]byte{0, 1, 2})
	m.PutEmpty("empty")
	sl := m.PutEmptySlice("sl")
	sl.AppendEmpty().SetStr("e")
	sl.AppendEmpty().SetEmptyMap().PutDouble("z", 1e21)
	canonicalCases["pdata AsRaw"] = m.AsRaw()
	defer delete(canonicalCases, "pdata AsRaw")

	for name, v := range canonicalCases {
		got, gotErr := CanonicalJSON(v)
		want, wantErr := stdCanonicalJSON(v)
		if got != want || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("%s: CanonicalJSON = %q, %v; encoding/json %q, %v", name, got, gotErr, want, wantErr)
		}
	}
	if got, _ := CanonicalJSON(canonicalCases["escapes"]); got != `"q\" b\\ \b\f\n\r\t \u0000\u0001\u001f`+"\x7f"+`"` {
		t.Errorf("escapes: %s", got) // pinned: a change in encoding/json shows here too
	}
	if got, _ := CanonicalJSON(canonicalCases["floats"]); got != `[0,-0,1,-1.5,0.000001,9.99e-7,1e-7,100000000000000000000,1e+21,1.23456789e+23,5e-324,1.7976931348623157e+308,0.1,0.3333333333333333]` {
		t.Errorf("floats: %s", got)
	}
}

// FuzzCanonicalJSON compares CanonicalJSON with encoding/json on values
// built from fuzzed JSON text (decoded to map/slice/float64/string/bool/nil)
// and on fuzzed strings, ints and floats as attribute values and keys.
func FuzzCanonicalJSON(f *testing.F) {
	f.Add(`{"b":[1,"x",null,true,{"a":1e-7}],"a":"\u2028"}`, "k\xff", "v\x01\u2029", int64(-3), 1e21)
	f.Add(`[0.000001,1e300,-0]`, "", "<>&", int64(0), math.Copysign(0, -1))
	f.Add(`"\ud800"`, "é", "\"\\", int64(math.MinInt64), 5e-324)
	f.Fuzz(func(t *testing.T, text, key, s string, i int64, d float64) {
		values := []any{s, i, d, map[string]any{key: s, s: []any{i, d, key}, "": nil}}
		var decoded any
		if json.Unmarshal([]byte(text), &decoded) == nil {
			values = append(values, decoded, map[string]any{key: decoded})
		}
		for _, v := range values {
			got, gotErr := CanonicalJSON(v)
			want, wantErr := stdCanonicalJSON(v)
			if got != want || (gotErr == nil) != (wantErr == nil) {
				t.Fatalf("CanonicalJSON(%#v) = %q, %v; encoding/json %q, %v", v, got, gotErr, want, wantErr)
			}
		}
	})
}
