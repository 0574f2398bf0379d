package record

import (
	"bytes"
	"encoding/json"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// CanonicalJSON returns the canonical JSON text of v: object keys sorted,
// no insignificant whitespace, no HTML escaping. Hashes cover the stored
// text, so canonical JSON only needs to be deterministic, not RFC 8785.
func CanonicalJSON(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// CanonicalizeJSON parses JSON text and returns its canonical form. Numbers
// keep their text (no float rounding).
func CanonicalizeJSON(text string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	if dec.More() {
		return "", &json.SyntaxError{Offset: dec.InputOffset()}
	}
	return CanonicalJSON(v)
}

// MapJSON returns the canonical JSON of a pdata attribute map (bytes values
// become base64 strings).
func MapJSON(m pcommon.Map) string {
	if m.Len() == 0 {
		return ""
	}
	s, err := CanonicalJSON(m.AsRaw())
	if err != nil { // AsRaw yields only JSON-encodable values; NaN/Inf are the exception
		return `{"_error":"` + strings.ReplaceAll(err.Error(), `"`, `'`) + `"}`
	}
	return s
}
