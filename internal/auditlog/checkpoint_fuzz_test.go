package auditlog

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzCheckpoint: no text makes Open or ParseUnverified panic or accept
// more than maxNoteSize bytes; whatever Open accepts, ParseUnverified reads
// the same way, and it is what Sign would write for those values (one
// encoding per checkpoint: no alternative spelling verifies).
func FuzzCheckpoint(f *testing.F) {
	s, vs := testKeys(f)
	f.Add(testNote)
	for _, size := range []uint64{0, 1, 1 << 40, 1<<64 - 1} {
		text, err := Sign(s, "host-a", 7, size, bytes.Repeat([]byte{7}, 32))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(text)
	}
	f.Add(strings.Replace(testNote, "\n8\n", "\n08\n", 1))
	f.Add(strings.Replace(testNote, "collector-1/", "../", 1))
	f.Add(testNote + testNote)
	f.Add(strings.Repeat("a", maxNoteSize+1))
	f.Add("collector-1/1\n18446744073709551616\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n")
	f.Fuzz(func(t *testing.T, text string) {
		u, uerr := ParseUnverified(text)
		cp, err := Open(text, vs)
		if len(text) > maxNoteSize && (err == nil || uerr == nil) {
			t.Fatalf("accepted a note of %d bytes", len(text))
		}
		if err != nil {
			return
		}
		if uerr != nil {
			t.Fatalf("Open accepts what ParseUnverified refuses (%v)", uerr)
		}
		if u.Origin != cp.Origin || u.Epoch != cp.Epoch || u.Size != cp.Size || !bytes.Equal(u.Root, cp.Root) {
			t.Fatalf("Open = %+v, ParseUnverified = %+v", cp, u)
		}
		if ValidOrigin(cp.Origin) != nil || len(cp.Root) != 32 {
			t.Fatalf("Open accepted origin %q, root of %d bytes", cp.Origin, len(cp.Root))
		}
		again, err := Sign(s, cp.Origin, cp.Epoch, cp.Size, cp.Root)
		if err != nil {
			t.Fatal(err)
		}
		body, _, _ := strings.Cut(text, "\n\n")
		wantBody, _, _ := strings.Cut(again, "\n\n")
		if body != wantBody {
			t.Fatalf("verified body %q is not the canonical %q", body, wantBody)
		}
	})
}
