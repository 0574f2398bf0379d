package archive

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestReadPending(t *testing.T) {
	root := t.TempDir()
	if p, err := ReadPending(root); err != nil || p != (Pending{}) {
		t.Fatalf("no wal/: %+v %v", p, err)
	}
	entry := func(payload string) []byte {
		b := make([]byte, 8, 8+len(payload))
		binary.BigEndian.PutUint32(b, uint32(len(payload)))
		return append(b, payload...)
	}
	t1 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	seg := func(origin string, at time.Time, content []byte) {
		p := filepath.Join(root, filepath.FromSlash(WALPath(origin, at)))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	two := append(append([]byte(WALMagic), entry("abc")...), entry("defg")...)
	seg("host-a", t2, two)
	torn := append(append([]byte(WALMagic), entry("abc")...), entry("defg")[:9]...)
	seg("host-b", t1, torn)
	os.WriteFile(filepath.Join(root, WALDir, "origin=host-a", "state.json"), []byte("{}"), 0o600)
	p, err := ReadPending(root)
	if err != nil {
		t.Fatal(err)
	}
	want := Pending{Segments: 2, Entries: 3, Bytes: int64(len(two) + len(torn)), Oldest: t1}
	if p != want {
		t.Fatalf("got %+v, want %+v", p, want)
	}
}
