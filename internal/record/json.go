package record

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// CanonicalJSON returns the canonical JSON text of v: object keys sorted,
// no insignificant whitespace, no HTML escaping. Hashes cover the stored
// text, so canonical JSON only needs to be deterministic, not RFC 8785.
//
// The text is exactly what encoding/json's Encoder writes with
// SetEscapeHTML(false): values made of the types pdata attributes turn
// into (see appendCanonical) are written directly, anything else by
// encoding/json.
func CanonicalJSON(v any) (string, error) {
	if b, ok := appendCanonical(make([]byte, 0, 256), v); ok {
		return string(b), nil
	}
	return stdCanonicalJSON(v)
}

// stdCanonicalJSON is CanonicalJSON by encoding/json alone: the reference
// that appendCanonical must match byte for byte (FuzzCanonicalJSON).
func stdCanonicalJSON(v any) (string, error) {
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

// JSON form of a Record (govaudit query --format json, inclusion proofs):
// the json tags of Record, except that
//
//   - start_time, end_time and observed_time are RFC 3339 UTC times with
//     nine fraction digits ("2026-11-26T18:34:48.000000000Z"): lossless
//     and sortable as text;
//   - epoch and leaf_index are decimal strings ("1764182000000000000"):
//     JSON numbers above 2^53 lose precision in common tools (jq 1.6,
//     JavaScript);
//   - leaf_hash is lowercase hex, like every hash govaudit prints.
//
// UnmarshalJSON also accepts the earlier form (integer times and numbers,
// base64 leaf_hash), so proofs written before keep verifying.

// JSONTimeFormat is the layout of the times in a record's JSON form.
const JSONTimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// jsonTime is Unix nanoseconds written as an RFC 3339 time.
type jsonTime int64

func (t jsonTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Unix(0, int64(t)).UTC().Format(JSONTimeFormat) + `"`), nil
}

func (t *jsonTime) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] != '"' {
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return fmt.Errorf("time %s: want an RFC 3339 string", b)
		}
		*t = jsonTime(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time %q: want RFC 3339", s)
	}
	if v.Year() < 1678 || v.Year() > 2262 { // beyond int64 nanoseconds
		return fmt.Errorf("time %q: out of range", s)
	}
	*t = jsonTime(v.UnixNano())
	return nil
}

// JSONUint64 is a uint64 written as a decimal string; it reads a string or
// a number.
type JSONUint64 uint64

func (n JSONUint64) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatUint(uint64(n), 10) + `"`), nil
}

func (n *JSONUint64) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || strconv.FormatUint(v, 10) != s {
		return fmt.Errorf("%s: want a canonical unsigned decimal number", b)
	}
	*n = JSONUint64(v)
	return nil
}

// HexBytes is a byte string written as lowercase hex. It reads hex, or
// base64 (the earlier form of leaf_hash).
type HexBytes []byte

func (h HexBytes) MarshalJSON() ([]byte, error) {
	return []byte(`"` + hex.EncodeToString(h) + `"`), nil
}

func (h *HexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if v, err := hex.DecodeString(s); err == nil && len(s) == 64 {
		*h = v
		return nil
	}
	v, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("%q: want a hex hash", s)
	}
	*h = v
	return nil
}

// recordFields has Record's fields without its methods, so that the JSON
// encoder can handle them without recursing into Record.MarshalJSON.
type recordFields Record

// recordJSON overrides the fields of Record whose JSON form differs from
// the default: shallower fields win over the embedded struct's.
type recordJSON struct {
	*recordFields
	StartTime    jsonTime   `json:"start_time,omitempty"`
	EndTime      jsonTime   `json:"end_time,omitempty"`
	ObservedTime jsonTime   `json:"observed_time,omitempty"`
	Epoch        JSONUint64 `json:"epoch,omitempty"`
	LeafIndex    JSONUint64 `json:"leaf_index"`
	LeafHash     HexBytes   `json:"leaf_hash,omitempty"`
}

// MarshalJSON writes the JSON form of r (see JSONTimeFormat).
func (r Record) MarshalJSON() ([]byte, error) {
	return json.Marshal(recordJSON{
		recordFields: (*recordFields)(&r),
		StartTime:    jsonTime(r.StartTime), EndTime: jsonTime(r.EndTime), ObservedTime: jsonTime(r.ObservedTime),
		Epoch: JSONUint64(r.Epoch), LeafIndex: JSONUint64(r.LeafIndex), LeafHash: r.LeafHash,
	})
}

// UnmarshalJSON reads the JSON form of a record, or its earlier form.
// Unknown fields are an error when the caller's decoder disallows them.
func (r *Record) UnmarshalJSON(b []byte) error {
	var v recordJSON
	v.recordFields = (*recordFields)(r)
	*r = Record{}
	if err := strictUnmarshal(b, &v); err != nil {
		return err
	}
	r.StartTime, r.EndTime, r.ObservedTime = int64(v.StartTime), int64(v.EndTime), int64(v.ObservedTime)
	r.Epoch, r.LeafIndex, r.LeafHash = uint64(v.Epoch), uint64(v.LeafIndex), v.LeafHash
	return nil
}

// strictUnmarshal decodes b refusing unknown fields: a record that names a
// field the schema does not have is not silently a different record.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
