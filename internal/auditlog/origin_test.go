package auditlog

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// originPattern is ValidOrigin's rule as the regular expression it replaced.
var originPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// TestValidOriginMatchesPattern: ValidOrigin accepts exactly what
// originPattern matches — chosen edge cases, then random strings over an
// alphabet of allowed, forbidden, multi-byte and invalid UTF-8 bytes and
// lengths around the 128 limit.
func TestValidOriginMatchesPattern(t *testing.T) {
	check := func(s string) {
		t.Helper()
		if got, want := ValidOrigin(s) == nil, originPattern.MatchString(s); got != want {
			t.Fatalf("ValidOrigin(%q) valid = %v, pattern %v", s, got, want)
		}
	}
	for _, s := range []string{"", "a", "Z", "0", ".", "_", "-", "a.", "a-b_c.d", ".a", "-a", "_a", "a b", "a/b", "a\n", "a\x00",
		"é", "aé", "a\xff", strings.Repeat("a", 127), strings.Repeat("a", 128), strings.Repeat("a", 129), "prod.eu-west-1"} {
		check(s)
	}
	alphabet := []string{"a", "Q", "7", ".", "_", "-", "/", " ", "\n", "\x00", "é", "\xff", "\xc3", ":", "~", "+"}
	rnd := rand.New(rand.NewPCG(19, 2026))
	for range 20000 {
		var sb strings.Builder
		n := rnd.IntN(8)
		if rnd.IntN(10) == 0 {
			n = 125 + rnd.IntN(6)
		}
		for range n {
			if rnd.IntN(4) == 0 {
				sb.WriteString(alphabet[rnd.IntN(len(alphabet))])
			} else {
				sb.WriteString(alphabet[rnd.IntN(6)]) // mostly allowed bytes, so that many are valid
			}
		}
		check(sb.String())
	}
}

func FuzzValidOrigin(f *testing.F) {
	f.Add("prod.eu-west-1")
	f.Add("-x")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidOrigin(s) == nil, originPattern.MatchString(s); got != want {
			t.Fatalf("ValidOrigin(%q) valid = %v, pattern %v", s, got, want)
		}
	})
}
