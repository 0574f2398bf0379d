package archive

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
)

// A Bloom is a Bloom filter over strings, stored in an index when a set of ids
// is larger than MaxExactIDs. Value v sets the K bits
//
//	(h1 + i*h2) mod M,  i = 0..K-1
//
// of Bits (bit j is Bits[j/8] & (1 << (j%8))), where h1 and h2 are the first
// and second big-endian uint64 of SHA-256(v). The filter is sized for a false
// positive rate of about 1%.
type Bloom struct {
	M    uint64 `json:"m"`
	K    uint64 `json:"k"`
	Bits []byte `json:"bits"` // base64 in JSON
}

// bloomFPRate is the target false positive rate of the filters NewBloom makes.
const bloomFPRate = 0.01

// newBloom returns a filter holding values.
func newBloom(values []string) *Bloom {
	n := float64(len(values))
	m := uint64(math.Ceil(-n * math.Log(bloomFPRate) / (math.Ln2 * math.Ln2)))
	m = (m + 7) &^ 7
	if m < 64 {
		m = 64
	}
	k := uint64(math.Round(float64(m) / n * math.Ln2))
	if k < 1 {
		k = 1
	}
	b := &Bloom{M: m, K: k, Bits: make([]byte, m/8)}
	for _, v := range values {
		h1, h2 := bloomHashes(v)
		for i := uint64(0); i < k; i++ {
			j := (h1 + i*h2) % m
			b.Bits[j/8] |= 1 << (j % 8)
		}
	}
	return b
}

// MayContain reports whether v may be in the set: false means certainly not.
// A malformed filter answers true, so it never prunes wrongly.
func (b *Bloom) MayContain(v string) bool {
	if b.M == 0 || uint64(len(b.Bits))*8 < b.M {
		return true
	}
	h1, h2 := bloomHashes(v)
	for i := uint64(0); i < b.K; i++ {
		j := (h1 + i*h2) % b.M
		if b.Bits[j/8]&(1<<(j%8)) == 0 {
			return false
		}
	}
	return true
}

func bloomHashes(v string) (uint64, uint64) {
	h := sha256.Sum256([]byte(v))
	return binary.BigEndian.Uint64(h[0:8]), binary.BigEndian.Uint64(h[8:16])
}
