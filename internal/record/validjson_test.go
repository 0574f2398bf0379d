package record

import (
	"encoding/json"
	"strings"
	"testing"
)

// validJSONCases are the edge cases ValidJSON must judge exactly as
// encoding/json.Valid does; want is encoding/json's verdict, written out so
// that a change of either side shows.
var validJSONCases = []struct {
	name, in string
	want     bool
}{
	{"empty", "", false},
	{"spaces only", " \t\r\n", false},
	{"null", "null", true},
	{"true in spaces", " \t\r\ntrue\n ", true},
	{"form feed is not space", "\f1", false},
	{"vertical tab is not space", "1\v", false},
	{"nbsp is not space", "\u00a01", false},
	{"trailing garbage", "{} x", false},
	{"two values", "1 2", false},
	{"trailing comma array", "[1,]", false},
	{"trailing comma object", `{"a":1,}`, false},
	{"missing colon", `{"a" 1}`, false},
	{"unquoted key", `{a:1}`, false},
	{"single quotes", `'a'`, false},
	{"nul byte after value", "1\x00", false},
	{"truncated", `{"a":[1,2`, false},
	{"truncated string", `"abc`, false},
	{"truncated literal", "tru", false},
	{"capital literal", "True", false},
	{"nan", "NaN", false},
	{"infinity", "-Infinity", false},
	{"leading zero", "01", false},
	{"leading zero in array", "[01]", false},
	{"negative zero", "-0", true},
	{"minus alone", "-", false},
	{"plus sign", "+1", false},
	{"dot alone", "1.", false},
	{"dot first", ".5", false},
	{"exponent alone", "1e", false},
	{"exponent sign alone", "1e+", false},
	{"exponent", "-1.5E+10", true},
	{"hex number", "0x10", false},
	{"huge number", "1" + strings.Repeat("0", 400) + "e999999999999", true},
	{"huge negative fraction", "-0." + strings.Repeat("9", 5000), true},
	{"invalid UTF-8 in string", "\"\xff\xfe\"", true},
	{"invalid UTF-8 outside string", "\xff", false},
	{"truncated UTF-8 sequence", "\"\xe2\x82\"", true},
	{"lone high surrogate", `"\ud800"`, true},
	{"lone low surrogate", `"\udc00x"`, true},
	{"reversed surrogates", `"\udc00\ud800"`, true},
	{"short unicode escape", `"\u12"`, false},
	{"bad hex in escape", `"\u12g4"`, false},
	{"unknown escape", `"\x41"`, false},
	{"escaped slash", `"\/"`, true},
	{"raw control char", "\"a\x01b\"", false},
	{"raw tab in string", "\"a\tb\"", false},
	{"raw DEL in string", "\"a\x7fb\"", true},
	{"raw newline in string", "\"a\nb\"", false},
	{"U+2028 raw", "\"\u2028\"", true},
	{"escaped quote at end", `"a\"`, false},
	{"escaped backslash at end", `"a\\"`, true},
	{"messages", `[{"role":"user","parts":[{"type":"text","content":"hi \"there\" \u00e9"}]}]`, true},
	{"depth 10000", strings.Repeat("[", 10000) + strings.Repeat("]", 10000), true},
	{"depth 10001", strings.Repeat("[", 10001) + strings.Repeat("]", 10001), false},
	{"depth 10001 objects", strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001), false},
	{"brackets in a string", `"` + strings.Repeat("[", 20000) + `"`, true},
	{"brackets in a string then garbage", `"` + strings.Repeat("{", 20000) + `"x`, false},
	{"deep and unclosed", strings.Repeat("[", 100000), false},
}

// TestValidJSON checks ValidJSON against encoding/json.Valid and against
// the verdict written in the table.
func TestValidJSON(t *testing.T) {
	for _, c := range validJSONCases {
		if std := json.Valid([]byte(c.in)); std != c.want {
			t.Errorf("%s: encoding/json.Valid = %v, table says %v", c.name, std, c.want)
		}
		if got := ValidJSON(c.in); got != c.want {
			t.Errorf("%s: ValidJSON = %v, want %v", c.name, got, c.want)
		}
	}
}

// FuzzValidJSON compares ValidJSON with encoding/json.Valid on any input.
func FuzzValidJSON(f *testing.F) {
	for _, c := range validJSONCases {
		if len(c.in) < 1000 {
			f.Add(c.in)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidJSON(s), json.Valid([]byte(s)); got != want {
			t.Fatalf("ValidJSON(%q) = %v, encoding/json.Valid says %v", s, got, want)
		}
	})
}
