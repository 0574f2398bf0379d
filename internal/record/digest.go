package record

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// DigestPrefix starts every content digest (the *_digest fields).
const DigestPrefix = "hmac-sha256:"

// ContentDigest returns the value of a *_digest field for content under
// key: "hmac-sha256:" and the lowercase hex HMAC-SHA256(key, content). An
// auditor who holds the key proves what a prompt was by recomputing it for
// the candidate text (govaudit digest).
func ContentDigest(key []byte, content string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(content))
	return DigestPrefix + hex.EncodeToString(m.Sum(nil))
}

// DigestKeyFingerprint returns the default digest_key_id of key: "fp:" and
// the first 16 hex digits of HMAC-SHA256(key, "govaudit digest key id"),
// which names the key without revealing it.
func DigestKeyFingerprint(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("govaudit digest key id"))
	return "fp:" + hex.EncodeToString(m.Sum(nil)[:8])
}
