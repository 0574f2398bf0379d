package record

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"sync"
)

// DigestPrefix starts every content digest (the *_digest fields).
const DigestPrefix = "hmac-sha256:"

// ContentDigest returns the value of a *_digest field for content under
// key: "hmac-sha256:" and the lowercase hex HMAC-SHA256(key, content). An
// auditor who holds the key proves what a prompt was by recomputing it for
// the candidate text (govaudit digest). Producers that digest many contents
// under one key use a Digester.
func ContentDigest(key []byte, content string) string {
	return newMAC(key).digest(content)
}

// A Digester computes ContentDigest under one key. It is safe for
// concurrent use, and cheaper than ContentDigest per call: it reuses HMAC
// states (a new one hashes the padded key, two SHA-256 blocks, and
// allocates), and does not copy the content.
type Digester struct {
	macs sync.Pool // of *mac under the key
}

// NewDigester returns a Digester for key; it keeps a copy of key.
func NewDigester(key []byte) *Digester {
	key = bytes.Clone(key)
	return &Digester{macs: sync.Pool{New: func() any { return newMAC(key) }}}
}

// Digest returns ContentDigest(key, content).
func (d *Digester) Digest(content string) string {
	m := d.macs.Get().(*mac)
	s := m.digest(content)
	m.h.Reset()
	d.macs.Put(m)
	return s
}

// A mac is an HMAC-SHA256 state with the buffers digest needs: held here
// rather than on the stack, where passing them to the hash.Hash interface
// would move them to the heap on every call.
type mac struct {
	h   hash.Hash
	buf [512]byte
	sum [sha256.Size]byte
}

func newMAC(key []byte) *mac { return &mac{h: hmac.New(sha256.New, key)} }

// digest writes content into the fresh state m and formats its sum. The
// content goes through m.buf: []byte(content) would copy it to the heap,
// and content is often kilobytes.
func (m *mac) digest(content string) string {
	for len(content) > 0 {
		n := copy(m.buf[:], content)
		m.h.Write(m.buf[:n])
		content = content[n:]
	}
	var out [len(DigestPrefix) + 2*sha256.Size]byte
	copy(out[:], DigestPrefix)
	hex.Encode(out[len(DigestPrefix):], m.h.Sum(m.sum[:0]))
	return string(out[:])
}

// DigestKeyFingerprint returns the default digest_key_id of key: "fp:" and
// the first 16 hex digits of HMAC-SHA256(key, "govaudit digest key id"),
// which names the key without revealing it.
func DigestKeyFingerprint(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("govaudit digest key id"))
	return "fp:" + hex.EncodeToString(m.Sum(nil)[:8])
}
