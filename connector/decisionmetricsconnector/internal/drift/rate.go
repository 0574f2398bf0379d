package drift

import "math"

// A RateTracker tracks a rate of one model version (the share of its
// decisions that failed, or were refused) and its two-proportion z
// statistic (see the package doc). Memory: one byte per window value.
type RateTracker struct {
	cfg        Config
	phase      phase
	refN, refX int
	// The window: the last WindowSize events (1 if the decision had the
	// property), and how many of them are 1.
	ring []uint8
	next int
	winX int
}

// NewRateTracker returns a rate tracker; cfg must be valid.
func NewRateTracker(cfg Config) *RateTracker { return &RateTracker{cfg: cfg, phase: newPhase(cfg)} }

// Add adds one decision of record time at (see Tracker.AddNumber): event
// says whether it counts in the rate (it failed, or was refused).
func (t *RateTracker) Add(event bool, at int64) Result {
	toRef, _, r := t.phase.place(at)
	var x uint8
	if event {
		x = 1
	}
	switch {
	case r != Counted:
		return r
	case toRef:
		t.refN++
		t.refX += int(x)
		t.phase.offered()
		return Counted
	}
	if len(t.ring) < t.cfg.WindowSize {
		if t.ring == nil {
			t.ring = make([]uint8, 0, t.cfg.WindowSize)
		}
		t.ring = append(t.ring, x)
	} else {
		t.winX -= int(t.ring[t.next])
		t.ring[t.next] = x
		t.next = (t.next + 1) % t.cfg.WindowSize
	}
	t.winX += int(x)
	return Counted
}

// Z returns the z statistic of the window's rate against the reference's,
// and false until the reference is closed (with enough values) and a whole
// window has been seen.
func (t *RateTracker) Z() (float64, bool) {
	if !t.phase.closed || t.phase.tooSmall || t.refN == 0 || len(t.ring) < t.cfg.WindowSize {
		return 0, false
	}
	return Z(t.refX, t.refN, t.winX, len(t.ring)), true
}

// Rates returns the reference's and the window's rates (NaN for an empty
// side).
func (t *RateTracker) Rates() (ref, window float64) {
	return float64(t.refX) / float64(t.refN), float64(t.winX) / float64(len(t.ring))
}

// ReferenceSize is the number of decisions in the reference.
func (t *RateTracker) ReferenceSize() int { return t.refN }

// Z is the two-proportion z statistic of x2 events in n2 trials against x1
// in n1, with the pooled rate in the standard error; 0 when the pooled
// rate is 0 or 1. Requires n1, n2 > 0.
func Z(x1, n1, x2, n2 int) float64 {
	p1, p2 := float64(x1)/float64(n1), float64(x2)/float64(n2)
	p := float64(x1+x2) / float64(n1+n2)
	if p == 0 || p == 1 {
		return 0
	}
	return (p2 - p1) / math.Sqrt(p*(1-p)*(1/float64(n1)+1/float64(n2)))
}

// A Measure is a Tracker (PSI) or a RateTracker (z).
type Measure interface {
	// Value is the statistic, and false until it exists.
	Value() (float64, bool)
	// ReferenceSize is the number of values in the reference.
	ReferenceSize() int
}

var (
	_ Measure = (*Tracker)(nil)
	_ Measure = (*RateTracker)(nil)
)

// Value is the PSI (see PSI).
func (t *Tracker) Value() (float64, bool) { return t.PSI() }

// Value is z (see Z).
func (t *RateTracker) Value() (float64, bool) { return t.Z() }
