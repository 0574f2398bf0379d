package mlgovernanceconnector // import "github.com/govaudit/govaudit/connector/mlgovernanceconnector"

import (
	"encoding/json"
)

// protect applies capture.unmapped_attributes to attributes that no mapping
// read (builder.remaining): allowed keys stay as they are, the others are
// digested (key kept, value "hmac-sha256:<hex>"), dropped or kept.
func (g *governor) protect(attrs map[string]any) map[string]any {
	for k, v := range attrs {
		if out, ok := g.policy.Unmapped(k, v); ok {
			attrs[k] = out
		} else {
			delete(attrs, k)
		}
	}
	return attrs
}

// protectParams applies the same policy to the parameters: numbers and
// booleans (temperature, max_tokens, top_p, stream, ...) are what the
// mappings read parameters for and stay; any other value (a stop sequence,
// a user name, a malformed JSON string) is an unmapped value, named for the
// allow-list by its source attribute (b.paramKeys).
func (g *governor) protectParams(b *builder) {
	for name, v := range b.params {
		if plainParam(v) {
			continue
		}
		key := b.paramKeys[name]
		if key == "" {
			key = name
		}
		if out, ok := g.policy.Unmapped(key, v); ok {
			b.params[name] = out
		} else {
			delete(b.params, name)
		}
	}
}

// plainParam reports whether v is a number, a boolean, or a list of them.
func plainParam(v any) bool {
	switch t := v.(type) {
	case int64, float64, bool, json.Number:
		return true
	case []any:
		for _, e := range t {
			if !plainParam(e) {
				return false
			}
		}
		return true
	}
	return false
}
