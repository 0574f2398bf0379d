package mlgovernanceconnector // import "github.com/govaudit/govaudit/connector/mlgovernanceconnector"

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/capture"
	"github.com/govaudit/govaudit/internal/record"
)

// A builder fills one record from one attribute map. Every attribute it
// reads into a record field is marked used; the rest go to Attributes.
// Readers never fail: a value of the wrong type is converted and the record
// flagged, so bad input still yields a record.
type builder struct {
	attrs   pcommon.Map
	used    map[string]bool
	rec     record.Record
	flags   []string
	params  map[string]any
	content [6][]contentPart // indexed by capture.Field

	// paramKeys names the source attribute of each parameter that is not
	// plain (plainParam), for the allow-list of the unmapped policy: the
	// attribute key, or "<attribute>.<member>" for members of a JSON
	// object attribute.
	paramKeys map[string]string
}

// A contentPart is content read from one source attribute (or the body).
type contentPart struct {
	key   string
	value any // string, jsonText or a JSON value (map[string]any, []any, json.Number, ...)
}

// jsonText is JSON text kept as received, checked with record.ValidJSON. It
// marshals as itself (compacted by encoding/json, as json.RawMessage is),
// and spares the two copies of the text that converting the attribute's
// string to a json.RawMessage and back cost.
type jsonText string

// MarshalJSON returns t.
func (t jsonText) MarshalJSON() ([]byte, error) { return []byte(t), nil }

// usedSets recycles the builders' used sets: a map sized for a span's
// attributes, made per span, per span event and per resource, was the
// connector's largest allocation of its own (~6% of the objects of the
// governance pipeline benchmark, five per span).
var usedSets = sync.Pool{New: func() any { return map[string]bool{} }}

// maxRecycledUsed bounds the sets kept for reuse: clear costs a map's
// capacity, not its length, so one span with thousands of attributes must
// not make every later span pay for them.
const maxRecycledUsed = 256

// newBuilder returns a builder reading attrs; release it when done.
func newBuilder(attrs pcommon.Map) *builder {
	return &builder{attrs: attrs, used: usedSets.Get().(map[string]bool)}
}

// release recycles b's used set. b must not be used afterwards; nothing it
// built (rec, content, params) refers to the set.
func (b *builder) release() {
	if len(b.used) <= maxRecycledUsed {
		clear(b.used)
		usedSets.Put(b.used)
	}
	b.used = nil
}

func (b *builder) flag(f string) {
	for _, have := range b.flags {
		if have == f {
			return
		}
	}
	b.flags = append(b.flags, f)
}

// flagField sets flag and its qualified form naming column
// (record.FieldFlag), as record.AddFlag does.
func (b *builder) flagField(flag, column string) {
	b.flag(flag)
	b.flag(record.FieldFlag(flag, column))
}

// time sets *dst from an OTLP timestamp. A timestamp above math.MaxInt64
// would wrap to 1677: *dst is left unset and the record flagged
// invalid_value:<column>.
func (b *builder) time(dst *int64, column string, ts uint64) {
	n, ok := record.UnixNano(ts)
	if !ok {
		b.flagField(record.FlagInvalidValue, column)
		return
	}
	*dst = n
}

// count reads a token count (see integer). A negative count is not stored:
// the record is flagged invalid_value:<column> and the attribute stays in
// Attributes, so the value the application sent is kept.
func (b *builder) count(key, column string) *int64 {
	n := b.integer(key)
	if n != nil && *n < 0 {
		b.used[key] = false
		b.flagField(record.FlagInvalidValue, column)
		return nil
	}
	return n
}

// clean returns s as valid UTF-8, replacing bad bytes by U+FFFD and flagging.
func (b *builder) clean(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b.flag(record.FlagInvalidUTF8)
	return strings.ToValidUTF8(s, "\uFFFD")
}

func (b *builder) get(key string) (pcommon.Value, bool) {
	if b.used[key] {
		return pcommon.Value{}, false
	}
	return b.attrs.Get(key)
}

// str reads a string attribute. Other types are rendered as text and flagged.
func (b *builder) str(key string) (string, bool) {
	v, ok := b.get(key)
	if !ok {
		return "", false
	}
	b.used[key] = true
	return b.text(v, true), true
}

// text renders v as a string; strict flags non-string values.
func (b *builder) text(v pcommon.Value, strict bool) string {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return b.clean(v.Str())
	case pcommon.ValueTypeEmpty:
		return ""
	case pcommon.ValueTypeInt, pcommon.ValueTypeDouble, pcommon.ValueTypeBool:
		if strict {
			b.flag(record.FlagWrongType)
		}
		return v.AsString()
	default:
		if strict {
			b.flag(record.FlagWrongType)
		}
		s, err := record.CanonicalJSON(b.raw(v))
		if err != nil {
			return ""
		}
		return s
	}
}

// take sets *dst from the first present key when *dst is empty. Keys not
// taken stay unused, so a second, different value is kept in Attributes.
func (b *builder) take(dst *string, keys ...string) {
	for _, k := range keys {
		if *dst != "" {
			return
		}
		if s, ok := b.str(k); ok {
			*dst = s
		}
	}
}

// integer reads an integer attribute. Integral doubles and numeric strings
// are accepted and flagged; anything else is flagged and left in Attributes.
func (b *builder) integer(key string) *int64 {
	v, ok := b.get(key)
	if !ok {
		return nil
	}
	var n int64
	switch v.Type() {
	case pcommon.ValueTypeInt:
		n = v.Int()
	case pcommon.ValueTypeDouble:
		d := v.Double()
		if d != math.Trunc(d) || math.IsInf(d, 0) || math.Abs(d) > 1<<53 {
			b.flag(record.FlagWrongType)
			return nil
		}
		b.flag(record.FlagWrongType)
		n = int64(d)
	case pcommon.ValueTypeStr:
		p, err := strconv.ParseInt(strings.TrimSpace(v.Str()), 10, 64)
		b.flag(record.FlagWrongType)
		if err != nil {
			return nil
		}
		n = p
	default:
		b.flag(record.FlagWrongType)
		return nil
	}
	b.used[key] = true
	return &n
}

// float reads a finite number attribute; like integer for other types.
func (b *builder) float(key string) *float64 {
	v, ok := b.get(key)
	if !ok {
		return nil
	}
	var x float64
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		x = v.Double()
	case pcommon.ValueTypeInt:
		x = float64(v.Int())
	case pcommon.ValueTypeStr:
		p, err := strconv.ParseFloat(strings.TrimSpace(v.Str()), 64)
		b.flag(record.FlagWrongType)
		if err != nil {
			return nil
		}
		x = p
	default:
		b.flag(record.FlagWrongType)
		return nil
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		b.flag(record.FlagWrongType)
		return nil
	}
	b.used[key] = true
	return &x
}

// stringList reads a list of strings; a single string counts as a list of one,
// a string holding a JSON array is parsed.
func (b *builder) stringList(key string) []string {
	v, ok := b.get(key)
	if !ok {
		return nil
	}
	b.used[key] = true
	switch v.Type() {
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		out := make([]string, 0, s.Len())
		for i := 0; i < s.Len(); i++ {
			out = append(out, b.text(s.At(i), true))
		}
		return out
	case pcommon.ValueTypeStr:
		s := b.clean(v.Str())
		var list []string
		if strings.HasPrefix(s, "[") && json.Unmarshal([]byte(s), &list) == nil {
			return list
		}
		return []string{s}
	default:
		b.flag(record.FlagWrongType)
		return []string{b.text(v, false)}
	}
}

// raw converts v to a JSON-encodable Go value: strings cleaned, bytes as
// base64, non-finite doubles as strings (flagged).
func (b *builder) raw(v pcommon.Value) any {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return b.clean(v.Str())
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		d := v.Double()
		if math.IsNaN(d) || math.IsInf(d, 0) {
			b.flag(record.FlagWrongType)
			return strconv.FormatFloat(d, 'g', -1, 64)
		}
		return d
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeBytes:
		return base64.StdEncoding.EncodeToString(v.Bytes().AsRaw())
	case pcommon.ValueTypeMap:
		m := make(map[string]any, v.Map().Len())
		v.Map().Range(func(k string, e pcommon.Value) bool {
			m[b.clean(k)] = b.raw(e)
			return true
		})
		return m
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		out := make([]any, s.Len())
		for i := range out {
			out[i] = b.raw(s.At(i))
		}
		return out
	}
	return nil
}

// jsonValue reads an attribute that holds JSON: a string is parsed (on
// failure it is kept as a string and the record flagged malformed_json),
// structured values are taken as they are.
func (b *builder) jsonValue(key string) (any, bool) {
	v, ok := b.get(key)
	if !ok {
		return nil, false
	}
	b.used[key] = true
	return b.parseJSON(v), true
}

func (b *builder) parseJSON(v pcommon.Value) any {
	if v.Type() != pcommon.ValueTypeStr {
		return b.raw(v)
	}
	s := b.clean(v.Str())
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil || dec.More() {
		b.flag(record.FlagMalformedJSON)
		return s
	}
	return out
}

// addContent records content for field f from source key. Empty values are ignored.
func (b *builder) addContent(f capture.Field, key string, value any) {
	if value == nil || value == "" {
		return
	}
	b.content[f] = append(b.content[f], contentPart{key: key, value: value})
}

// contentAttr moves attribute key into content field f, as text.
func (b *builder) contentAttr(f capture.Field, key string) {
	if v, ok := b.get(key); ok {
		b.used[key] = true
		if v.Type() == pcommon.ValueTypeStr {
			b.addContent(f, key, b.clean(v.Str()))
		} else {
			b.addContent(f, key, b.raw(v))
		}
	}
}

// contentJSON moves attribute key, which should hold JSON, into field f.
// JSON text is kept as received (jsonText), only checked for
// validity: parsing it and re-serialising it canonically cost a third of the
// collector's CPU (docs/performance.md), and the text as the application
// sent it is what an auditor can reproduce. Invalid JSON is kept as a plain
// string and the record flagged; structured values are taken as they are.
func (b *builder) contentJSON(f capture.Field, key string) {
	v, ok := b.get(key)
	if !ok {
		return
	}
	b.used[key] = true
	if v.Type() != pcommon.ValueTypeStr {
		b.addContent(f, key, b.raw(v))
		return
	}
	s := b.clean(v.Str())
	if !record.ValidJSON(s) { // as strict as encoding/json.Valid, faster
		b.flag(record.FlagMalformedJSON)
		b.addContent(f, key, s)
		return
	}
	b.addContent(f, key, jsonText(s))
}

// param sets invocation parameter name from attribute key.
func (b *builder) param(name, key string) {
	v, ok := b.get(key)
	if !ok {
		return
	}
	b.used[key] = true
	b.setParam(name, key, b.raw(v))
}

// setParam sets parameter name, read from source attribute key, to v.
func (b *builder) setParam(name, key string, v any) {
	if b.params == nil {
		b.params = map[string]any{}
	}
	b.params[name] = v
	// Only protectParams reads the source keys, and only of values that
	// are not plain (numbers, booleans): the map is made for the first
	// such value, sparing two allocations per span that has none.
	switch {
	case !plainParam(v):
		if b.paramKeys == nil {
			b.paramKeys = map[string]string{}
		}
		b.paramKeys[name] = key
	case b.paramKeys != nil:
		delete(b.paramKeys, name)
	}
}

// mergeParams adds the members of a JSON object read from attribute key (or
// the value itself under name) to the parameters. Members that carry
// content (system, messages, prompt, tools, ...: contentParams) go to their
// content field instead, under the content policy.
func (b *builder) mergeParams(key, name string, v any) {
	if m, ok := v.(map[string]any); ok {
		for k, e := range m {
			if f, isContent := contentParams[k]; isContent {
				b.addContent(f, key+"."+k, e)
				continue
			}
			if _, dup := b.params[k]; !dup {
				b.setParam(k, key+"."+k, e)
			}
		}
		return
	}
	b.setParam(name, key, v)
}

// unflatten collects the attributes "<prefix>N.a.b" into a nested value:
// numeric path segments become list indexes, others object keys, so
// "llm.input_messages.0.message.role" becomes [{"message":{"role":...}}].
// Keys for which drop returns true are consumed without being kept.
func (b *builder) unflatten(prefix string, drop func(rest string) bool) any {
	root := map[string]any{}
	found := false
	b.attrs.Range(func(k string, v pcommon.Value) bool {
		if !strings.HasPrefix(k, prefix) || b.used[k] {
			return true
		}
		b.used[k] = true
		found = true
		rest := k[len(prefix):]
		if drop != nil && drop(rest) {
			return true
		}
		node := root
		segs := strings.Split(b.clean(rest), ".")
		for i, seg := range segs {
			if i == len(segs)-1 {
				if _, exists := node[seg]; exists {
					b.flag(record.FlagWrongType) // "a" and "a.b" both set
				}
				node[seg] = b.raw(v)
				break
			}
			child, ok := node[seg].(map[string]any)
			if !ok {
				if _, exists := node[seg]; exists {
					b.flag(record.FlagWrongType)
				}
				child = map[string]any{}
				node[seg] = child
			}
			node = child
		}
		return true
	})
	if !found {
		return nil
	}
	return listify(root)
}

// listify turns objects whose keys are all decimal integers into lists
// ordered by index, recursively.
func listify(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	type entry struct {
		i int
		v any
	}
	entries := make([]entry, 0, len(m))
	numeric := len(m) > 0
	for k, e := range m {
		m[k] = listify(e)
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || strconv.Itoa(i) != k {
			numeric = false
		}
		entries = append(entries, entry{i, m[k]})
	}
	if !numeric {
		return m
	}
	sort.Slice(entries, func(a, c int) bool { return entries[a].i < entries[c].i })
	out := make([]any, len(entries))
	for j, e := range entries {
		out[j] = e.v
	}
	return out
}

// hasPrefix reports whether any unused attribute key starts with prefix.
func (b *builder) hasPrefix(prefix string) bool {
	found := false
	b.attrs.Range(func(k string, _ pcommon.Value) bool {
		if strings.HasPrefix(k, prefix) && !b.used[k] {
			found = true
			return false
		}
		return true
	})
	return found
}

// set assigns v to *dst when *dst is empty.
func set(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

// remaining returns the unused attributes as a JSON-ready map, or nil.
func (b *builder) remaining() map[string]any {
	var out map[string]any
	b.attrs.Range(func(k string, v pcommon.Value) bool {
		if !b.used[k] {
			if out == nil {
				out = map[string]any{}
			}
			out[b.clean(k)] = b.raw(v)
		}
		return true
	})
	return out
}

// cappedJSON returns the canonical JSON of m within max bytes: when the whole
// map does not fit, entries are kept in key order while they fit and the
// result reports truncation.
func cappedJSON(m map[string]any, max int) (string, bool) {
	if len(m) == 0 {
		return "", false
	}
	full, err := record.CanonicalJSON(m)
	if err == nil && len(full) <= max {
		return full, false
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kept := map[string]any{}
	size := 2 // {}
	for _, k := range keys {
		ks, err1 := record.CanonicalJSON(k)
		vs, err2 := record.CanonicalJSON(m[k])
		if err1 != nil || err2 != nil {
			continue
		}
		n := len(ks) + 1 + len(vs) + 1 // "k":v,
		if size+n > max {
			continue
		}
		size += n
		kept[k] = m[k]
	}
	out, err := record.CanonicalJSON(kept)
	if err != nil || out == "{}" {
		return "", true
	}
	return out, true
}
