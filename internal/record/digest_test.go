package record

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
)

// TestContentDigest: known answers (RFC 4231 test case 2; openssl dgst
// -sha256 -hmac for the second), and the Digester agrees with ContentDigest
// and with crypto/hmac over lengths around its 512-byte buffer.
func TestContentDigest(t *testing.T) {
	for _, c := range []struct{ key, content, want string }{
		{"Jefe", "what do ya want for nothing?", "hmac-sha256:5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{"govaudit-test-digest-key-0123456789", `{"income": 52000, "age": 41, "email": "dave@example.com"}`,
			"hmac-sha256:21b792b2c5c44b18817a351b6cbb992b0bcc6299367522433d90f7d48990e59f"},
	} {
		if got := ContentDigest([]byte(c.key), c.content); got != c.want {
			t.Errorf("ContentDigest(%q) = %s, want %s", c.content, got, c.want)
		}
		if got := NewDigester([]byte(c.key)).Digest(c.content); got != c.want {
			t.Errorf("Digest(%q) = %s, want %s", c.content, got, c.want)
		}
	}
	key := []byte("another key")
	d := NewDigester(key)
	for _, n := range []int{0, 1, 511, 512, 513, 1024, 5000} {
		content := strings.Repeat("é✓x", n)[:n]
		m := hmac.New(sha256.New, key)
		m.Write([]byte(content))
		want := DigestPrefix + hex.EncodeToString(m.Sum(nil))
		for i := 0; i < 2; i++ { // the second time from a reused HMAC state
			if got := d.Digest(content); got != want {
				t.Errorf("%d bytes, call %d: %s, want %s", n, i, got, want)
			}
		}
		if got := ContentDigest(key, content); got != want {
			t.Errorf("ContentDigest, %d bytes: %s, want %s", n, got, want)
		}
	}
}

// TestDigesterKeepsItsKey: the caller's key slice may change afterwards.
func TestDigesterKeepsItsKey(t *testing.T) {
	key := []byte("Jefe")
	d := NewDigester(key)
	key[0] = 'X'
	if got := d.Digest("what do ya want for nothing?"); got != "hmac-sha256:5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" {
		t.Errorf("got %s", got)
	}
}

// TestDigesterConcurrent: one Digester, many goroutines (run with -race).
func TestDigesterConcurrent(t *testing.T) {
	d := NewDigester([]byte("k"))
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				content := strings.Repeat("a", i)
				if got, want := d.Digest(content), ContentDigest([]byte("k"), content); got != want {
					t.Errorf("%d: %s, want %s", i, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestDigestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	d := NewDigester([]byte("k"))
	content := strings.Repeat("x", 2000)
	if n := testing.AllocsPerRun(100, func() { d.Digest(content) }); n != 1 {
		t.Errorf("%v allocations per digest, want 1 (the string)", n)
	}
}

// BenchmarkContentDigest and BenchmarkDigester measure a digest of 1.5 KB
// of content, a GenAI message's size, without and with a reused HMAC.
func BenchmarkContentDigest(b *testing.B) {
	content := strings.Repeat("x", 1500)
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	for b.Loop() {
		ContentDigest([]byte("govaudit-test-digest-key-0123456789"), content)
	}
}

func BenchmarkDigester(b *testing.B) {
	d := NewDigester([]byte("govaudit-test-digest-key-0123456789"))
	content := strings.Repeat("x", 1500)
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	for b.Loop() {
		d.Digest(content)
	}
}
