package record

import (
	"math"
	"time"
	"unicode/utf8"
)

// MaxLarge is the cap of the content and attributes fields (16 MiB). Their
// producers' configured caps (capture max_content_bytes, the attribute size
// settings) must not exceed it.
const MaxLarge = 16 << 20

// Cap returns the cap in bytes of a string column, or of each element of a
// list column, and the cap on the list's length (0 for a string). It
// returns 0, 0 for unknown and non-string columns.
func Cap(column string) (size, count int) {
	f, ok := fieldByAttr[AttributePrefix+column]
	if !ok {
		return 0, 0
	}
	return f.max, f.maxLen
}

// FieldFlag returns the qualified form of a flag about one column,
// "<flag>:<column>" (e.g. "truncated:user_id").
func FieldFlag(flag, column string) string { return flag + ":" + column }

// AddFlag adds flag to r.Flags and, when column is not empty, its
// qualified form FieldFlag(flag, column), each at most once, in that order.
func (r *Record) AddFlag(flag, column string) {
	r.addFlag(flag)
	if column != "" {
		r.addFlag(FieldFlag(flag, column))
	}
}

func (r *Record) addFlag(f string) {
	for _, have := range r.Flags {
		if have == f {
			return
		}
	}
	r.Flags = append(r.Flags, f)
}

// ApplyCaps cuts every string field longer than its cap (the max tag, see
// the package doc) at a UTF-8 boundary, and every list longer than its
// count cap; each field cut adds FlagTruncated and "truncated:<column>"
// (AddFlag). Flags are left alone: producers set only govaudit's own. It
// reports whether anything was cut. Producers call it once, when a record
// is complete.
func (r *Record) ApplyCaps() bool { return r.applyCaps() }

// capStrings cuts list to at most count elements of at most size bytes
// each, and reports whether it cut. It never writes through list: a cut
// element goes into a copy, so a caller's slice is left as it was.
func capStrings(list []string, size, count int) ([]string, bool) {
	changed, copied := false, false
	if len(list) > count {
		list, changed = list[:count:count], true
	}
	for i, s := range list {
		if t, ok := Truncate(s, size); ok {
			if !copied {
				list, copied = append([]string(nil), list...), true
			}
			list[i], changed = t, true
		}
	}
	return list, changed
}

// Truncate cuts s to at most n bytes without splitting a UTF-8 sequence,
// and reports whether it cut. Requires n >= 0; s should be valid UTF-8 (an
// invalid s is still cut to at most n bytes).
func Truncate(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	// The rune that n falls into starts at the last rune start at or before n.
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 || i+size <= n {
		i = n // not a rune straddling n (invalid UTF-8): cut at n
	}
	return s[:i], true
}

// UnixNano converts an OTLP timestamp (unsigned nanoseconds since the Unix
// epoch) to a record time. It reports false for values above math.MaxInt64
// (after 2262-04-11), which int64 would wrap to 1677: the caller leaves the
// field unset and flags the record FlagInvalidValue.
func UnixNano(ts uint64) (int64, bool) {
	if ts > math.MaxInt64 {
		return 0, false
	}
	return int64(ts), true
}

// Bounds of the times a record can hold: int64 nanoseconds since the Unix epoch.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// TimeUnixNano converts a parsed time (CloudEvents, MLflow) to a record
// time. It reports false outside 1677-09-21T00:12:43Z..2262-04-11T23:47:16Z,
// where time.Time.UnixNano is undefined (it wraps).
func TimeUnixNano(t time.Time) (int64, bool) {
	if t.Before(minTime) || t.After(maxTime) {
		return 0, false
	}
	return t.UnixNano(), true
}
