package record

import (
	"math"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
		cut  bool
	}{
		{"abc", 3, "abc", false},
		{"abc", 2, "ab", true},
		{"abc", 0, "", true},
		{"aé", 2, "a", true},                           // é is 2 bytes: not split
		{"a€", 3, "a", true},                           // € is 3 bytes
		{"a€", 4, "a€", false},                         //
		{"a𝄞b", 4, "a", true},                          // 𝄞 is 4 bytes
		{"a𝄞b", 5, "a𝄞", true},                         //
		{"ab\x80\x80\x80\x80c", 4, "ab\x80\x80", true}, // not UTF-8: cut at n
	} {
		got, cut := Truncate(tc.s, tc.n)
		if got != tc.want || cut != tc.cut {
			t.Errorf("Truncate(%q, %d) = %q, %v; want %q, %v", tc.s, tc.n, got, cut, tc.want, tc.cut)
		}
	}
}

// TestApplyCaps: a 10 MB model, user and span name are cut to their caps
// at a UTF-8 boundary and flagged by column; a record within its caps is
// left alone.
func TestApplyCaps(t *testing.T) {
	r := full()
	r.Flags = nil
	if r.ApplyCaps() || r.Flags != nil {
		t.Fatalf("a record within its caps was changed: %v", r.Flags)
	}
	if !reflect.DeepEqual(r, func() Record { f := full(); f.Flags = nil; return f }()) {
		t.Fatal("ApplyCaps changed a record within its caps")
	}

	huge := strings.Repeat("€", 10<<20/3) // 3-byte runes: every cap falls inside one for some length
	r.RequestModel, r.UserID, r.EventName = huge, "u"+huge, "sp"+huge
	reasons := make([]string, 100)
	for i := range reasons {
		reasons[i] = "stop"
	}
	reasons[3] = strings.Repeat("x", 300)
	r.FinishReasons = reasons
	if !r.ApplyCaps() {
		t.Fatal("ApplyCaps reported nothing cut")
	}
	for col, got := range map[string]string{"request_model": r.RequestModel, "user_id": r.UserID, "event_name": r.EventName} {
		size, _ := Cap(col)
		if size != 1024 || len(got) > size || len(got) < size-3 || !utf8.ValidString(got) {
			t.Errorf("%s: %d bytes (cap %d), valid UTF-8 %v", col, len(got), size, utf8.ValidString(got))
		}
	}
	if len(r.FinishReasons) != 64 || len(r.FinishReasons[3]) != 256 || len(reasons[3]) != 300 {
		t.Errorf("finish_reasons: %d elements, element 3 %d bytes; caller's slice element 3 %d bytes",
			len(r.FinishReasons), len(r.FinishReasons[3]), len(reasons[3]))
	}
	want := []string{FlagTruncated, "truncated:event_name", "truncated:request_model", "truncated:user_id", "truncated:finish_reasons"}
	if !reflect.DeepEqual(r.Flags, want) {
		t.Errorf("flags %q, want %q", r.Flags, want)
	}
	if err := r.Validate(); err != nil {
		t.Error(err)
	}
	if r.ApplyCaps() {
		t.Error("a second ApplyCaps cut again")
	}
}

// TestCapsDocumented: every string and list column has a cap, and
// docs/record-format.md states the same cap for it.
func TestCapsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/record-format.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| [0-9-]+ \\| `([a-z_]+)` \\| [^|]+ \\| ([^|]*) \\|")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = strings.TrimSpace(m[2])
	}
	for _, f := range fields {
		size, count := Cap(f.name)
		var want string
		switch f.kind {
		case kindString:
			want = byteSize(size)
		case kindStrings:
			want = byteSize(size) + " × " + strconv.Itoa(count)
		default:
			if size != 0 || count != 0 {
				t.Errorf("%s: non-string column with a cap", f.name)
			}
			continue
		}
		if size == 0 {
			t.Errorf("%s: no cap", f.name)
		}
		if got, ok := documented[f.name]; !ok || got != want {
			t.Errorf("docs/record-format.md: %s cap %q, want %q", f.name, got, want)
		}
	}
}

// byteSize formats a cap as the docs write it: 256 B, 1 KiB, 16 MiB.
func byteSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " B"
}

func TestUnixNano(t *testing.T) {
	for _, tc := range []struct {
		ts   uint64
		want int64
		ok   bool
	}{
		{0, 0, true},
		{1764182088000000000, 1764182088000000000, true},
		{math.MaxInt64, math.MaxInt64, true},
		{math.MaxInt64 + 1, 0, false},
		{math.MaxUint64, 0, false},
	} {
		if got, ok := UnixNano(tc.ts); got != tc.want || ok != tc.ok {
			t.Errorf("UnixNano(%d) = %d, %v; want %d, %v", tc.ts, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTimeUnixNano(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want int64
		ok   bool
	}{
		{time.Date(2026, 3, 2, 10, 0, 0, 5, time.UTC), time.Date(2026, 3, 2, 10, 0, 0, 5, time.UTC).UnixNano(), true},
		{time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), -1e9, true},
		{time.Unix(0, math.MaxInt64), math.MaxInt64, true},
		{time.Unix(0, math.MinInt64), math.MinInt64, true},
		{time.Unix(0, math.MaxInt64).Add(1), 0, false},
		{time.Unix(0, math.MinInt64).Add(-1), 0, false},
		{time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), 0, false}, // would wrap to 1816
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), 0, false},
	} {
		if got, ok := TimeUnixNano(tc.t); got != tc.want || ok != tc.ok {
			t.Errorf("TimeUnixNano(%s) = %d, %v; want %d, %v", tc.t, got, ok, tc.want, tc.ok)
		}
	}
}

func TestAddFlag(t *testing.T) {
	var r Record
	r.AddFlag(FlagInvalidValue, "start_time")
	r.AddFlag(FlagInvalidValue, "end_time")
	r.AddFlag(FlagInvalidValue, "start_time")
	r.AddFlag(FlagWrongType, "")
	want := []string{"invalid_value", "invalid_value:start_time", "invalid_value:end_time", "wrong_type"}
	if !reflect.DeepEqual(r.Flags, want) {
		t.Errorf("flags %q, want %q", r.Flags, want)
	}
}
