package decisionmetricsconnector // import "github.com/govaudit/govaudit/connector/decisionmetricsconnector"

// modelRef is the model a decision was made by.
type modelRef struct{ model, version string }

// decisionCache remembers the model of the last size decisions by record_id
// and by trace_id, oldest first out, so an oversight record that names a
// decision (mlevents: reference = decision_id, or trace_id) is counted under
// its model. A trace with several decisions maps to the latest one.
type decisionCache struct {
	size  int
	ring  []cacheEntry // the last size decisions; next is the oldest once full
	next  int
	seq   uint64
	byKey map[string]cachedRef
}

type cacheEntry struct {
	id, trace string
	seq       uint64
}

type cachedRef struct {
	ref modelRef
	seq uint64 // the decision that set this key, so evicting an older one keeps it
}

func newDecisionCache(size int) *decisionCache {
	return &decisionCache{size: size, byKey: map[string]cachedRef{}}
}

func (c *decisionCache) add(id, trace string, ref modelRef) {
	if c.size == 0 {
		return
	}
	c.seq++
	e := cacheEntry{id: "r:" + id, seq: c.seq}
	if trace != "" {
		e.trace = "t:" + trace
	}
	if len(c.ring) < c.size {
		c.ring = append(c.ring, e)
	} else {
		old := c.ring[c.next]
		for _, k := range []string{old.id, old.trace} {
			if k != "" && c.byKey[k].seq == old.seq {
				delete(c.byKey, k)
			}
		}
		c.ring[c.next] = e
		c.next = (c.next + 1) % c.size
	}
	c.byKey[e.id] = cachedRef{ref, e.seq}
	if e.trace != "" {
		c.byKey[e.trace] = cachedRef{ref, e.seq}
	}
}

// lookup returns the model of the decision whose record_id is reference, or
// else of the latest decision of trace.
func (c *decisionCache) lookup(reference, trace string) (modelRef, bool) {
	if v, ok := c.byKey["r:"+reference]; ok && reference != "" {
		return v.ref, true
	}
	if v, ok := c.byKey["t:"+trace]; ok && trace != "" {
		return v.ref, true
	}
	return modelRef{}, false
}
