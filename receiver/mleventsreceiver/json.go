package mleventsreceiver // import "github.com/govaudit/govaudit/receiver/mleventsreceiver"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Strict JSON. A body whose object repeats a key is refused (400): with
// encoding/json the last value silently wins, so a signed or reviewed
// payload could say one thing to the sender's tooling and another to the
// archive. No decoder this module can use refuses duplicates:
// encoding/json/v2 does, but only under GOEXPERIMENT=jsonv2, which the ocb
// build of the distribution does not set, and its prototype
// (github.com/go-json-experiment/json) is not a dependency. So the decoder
// below walks encoding/json's tokens and checks each object's keys itself.

// maxJSONDepth bounds the nesting of arrays and objects. Token, unlike
// Unmarshal, has no limit of its own, and the walk recurses per level.
const maxJSONDepth = 1000

var errTooDeep = fmt.Errorf("nesting deeper than %d levels", maxJSONDepth)

// A strictDecoder decodes JSON values with numbers as json.Number, noting
// the first duplicate object key it meets and reading on, so that the
// value's other members (a CloudEvent's id) can still name it in the reply.
type strictDecoder struct {
	dec   *json.Decoder
	depth int
	dup   error // the first duplicate key of the value being decoded
}

// newStrictDecoder checks that b is one well-formed JSON value (so that
// syntax errors read as encoding/json's usual ones, with offsets) and
// returns a decoder over it.
func newStrictDecoder(b []byte) (*strictDecoder, error) {
	if !json.Valid(b) {
		var v any
		err := json.Unmarshal(b, &v) // fails in its validity check, before allocating anything
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return &strictDecoder{dec: dec}, nil
}

// decodeJSON decodes exactly one JSON value, keeping numbers as
// json.Number and refusing duplicate object keys and excessive nesting.
func decodeJSON(b []byte) (any, error) {
	d, err := newStrictDecoder(b)
	if err != nil {
		return nil, err
	}
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	if d.dup != nil {
		return nil, d.dup
	}
	return v, nil
}

// value decodes the next value. A duplicate key is noted in d.dup (the
// value is still consumed); a syntax error or excessive nesting is returned.
func (d *strictDecoder) value() (any, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return nil, err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	if d.depth++; d.depth > maxJSONDepth {
		return nil, errTooDeep
	}
	defer func() { d.depth-- }()
	switch delim {
	case '{':
		m := map[string]any{}
		for d.dec.More() {
			kt, err := d.dec.Token()
			if err != nil {
				return nil, err
			}
			key, _ := kt.(string)
			v, err := d.value()
			if err != nil {
				return nil, err
			}
			if _, dup := m[key]; dup {
				if d.dup == nil {
					d.dup = fmt.Errorf("duplicate key %q in a JSON object", key)
				}
				continue
			}
			m[key] = v
		}
		_, err = d.dec.Token() // '}'
		return m, err
	case '[':
		var list []any
		for d.dec.More() {
			v, err := d.value()
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		if list == nil {
			list = []any{}
		}
		_, err = d.dec.Token() // ']'
		return list, err
	}
	return nil, fmt.Errorf("unexpected %v at offset %d", delim, d.dec.InputOffset())
}
