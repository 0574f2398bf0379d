// Package drift measures how far the recent values of one feature of one
// model version have moved from that version's reference values: the
// Population Stability Index (PSI) for distributions (numbers and
// categories), a two-proportion z statistic for rates.
//
// # Reference and window
//
// Each tracker follows one feature of one model version (a new version
// starts a new tracker, so promoting a version never reads as drift). Its
// reference is, by reference.mode:
//
//   - first_records: the first reference.size values the tracker sees.
//   - window: the values whose record time t is in [reference.since,
//     reference.until). Values with t < since are skipped
//     (before_reference). The reference closes at the first value with
//     t ≥ until; a value with since ≤ t < until arriving after that is
//     skipped (late_reference). A reference closed with fewer than
//     MinReference (100) values never gives a statistic, and every later
//     value of that tracker is skipped (reference_too_small). Numbers of
//     the period are kept as a uniform sample of at most reference.size
//     (reservoir sampling, Vitter's algorithm R, with a fixed seed so a
//     run is reproducible) for the bin edges; categories and rates are
//     counted exactly.
//
// The window is the last window_size values after the reference (in
// window mode, values with t ≥ until). A statistic exists once the
// reference is closed and a whole window has been seen.
//
// # PSI
//
// Reference and window are binned the same way, into proportions r_i and
// w_i, and
//
//	PSI = Σ_i (w_i - r_i) · ln(w_i / r_i)
//
// where a proportion below ε = 0.0001 counts as ε, so an empty bin does not
// make the sum infinite. PSI is 0 for identical distributions; the usual
// reading is below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a
// significant one. Between two samples of one distribution it is not 0:
// n·m/(n+m)·PSI is then about χ² with bins-1 degrees of freedom, so its
// mean is about (bins-1)·(1/n + 1/m), 0.018 for 10 bins and 1,000 values
// each.
//
// # Binning
//
// Numbers (scores, token counts, numeric declared features): bins
// equal-frequency bins whose edges are the reference's quantiles: edge k
// (1 ≤ k < bins) is the value at position ⌊k·n/bins⌋ of the sorted
// reference (or of its sample); a value v falls in the bin numbered by how
// many edges are ≤ v. Repeated values can make edges equal; such bins stay
// empty on both sides and add nothing.
//
// Categories (finish reasons, predicted classes, string and boolean
// declared features): the up to bins-1 most frequent categories of the
// reference (ties by name) each have a bin; every other category, seen in
// the reference or not, shares one more bin. So a category the reference
// never saw lands in the shared bin, and its share of the window is drift.
// A reference counts at most max_categories distinct categories; later new
// ones count in the shared bin (Counted reports CountedOther). A string
// longer than 256 bytes counts as "sha256:<hex>" of it (Category).
//
// # Rates
//
// A rate (error rate, refusal rate) is a share of decisions x/n. Its
// drift is the two-proportion z statistic of the window's rate p_w = x_w/n_w
// against the reference's p_r = x_r/n_r:
//
//	z = (p_w - p_r) / √(p·(1-p)·(1/n_r + 1/n_w)),   p = (x_r + x_w)/(n_r + n_w)
//
// and 0 when p is 0 or 1 (no evidence of a change). A rate has drifted
// when |z| exceeds its threshold (default 3: two-sided p ≈ 0.0027 if
// nothing changed); the sign says which way it moved. PSI is not used for
// rates because it barely sees a change of a rare event: 1% → 3% errors is
// PSI 0.022, far below 0.1, while z = 3.19 for 1,000 decisions each.
package drift // import "github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/drift"

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Epsilon is the floor of a bin's proportion in the PSI sum.
const Epsilon = 0.0001

// Result says what a tracker did with a value.
type Result uint8

// Results of Add.
const (
	// Counted: the value is in the reference or the window.
	Counted Result = iota
	// CountedOther: a category beyond max_categories of the reference,
	// counted in the shared bin.
	CountedOther
	// SkippedTypeMismatch: a number for a categorical tracker or the
	// reverse (the first value decides).
	SkippedTypeMismatch
	// SkippedBeforeReference: window mode, the value is older than since.
	SkippedBeforeReference
	// SkippedLateReference: window mode, the value is in the reference
	// period but arrived after the reference closed.
	SkippedLateReference
	// SkippedReferenceTooSmall: window mode, the reference closed with
	// fewer than MinReference values; the tracker gives no statistic.
	SkippedReferenceTooSmall
)

// Reason is the reason label of a skipped value ("" for a counted one).
func (r Result) Reason() string {
	switch r {
	case SkippedTypeMismatch:
		return "type_mismatch"
	case SkippedBeforeReference:
		return "before_reference"
	case SkippedLateReference:
		return "late_reference"
	case SkippedReferenceTooSmall:
		return "reference_too_small"
	}
	return ""
}

// phase places values in the reference or the window by reference mode.
type phase struct {
	mode         ReferenceMode
	size         int
	since, until int64
	closed       bool // the reference is complete
	tooSmall     bool // closed with fewer than MinReference values
	seen         int  // values offered to the reference
}

func newPhase(cfg Config) phase {
	p := phase{mode: cfg.Reference.Mode, size: cfg.Reference.Size}
	if p.mode == ReferenceWindow {
		p.since, p.until = cfg.Reference.period()
	}
	return p
}

// place returns where a value of record time at goes: the reference
// (toRef), the window, or skipped (r); closing reports that the reference
// has just closed and must be finished before the value is added to the
// window.
func (p *phase) place(at int64) (toRef, closing bool, r Result) {
	if p.mode != ReferenceWindow {
		return !p.closed, false, Counted
	}
	switch {
	case at < p.since:
		return false, false, SkippedBeforeReference
	case at < p.until:
		if p.closed {
			return false, false, SkippedLateReference
		}
		return true, false, Counted
	}
	if !p.closed {
		p.closed, p.tooSmall, closing = true, p.seen < MinReference, true
	}
	if p.tooSmall {
		return false, closing, SkippedReferenceTooSmall
	}
	return false, closing, Counted
}

// offered counts a value added to the reference and reports whether a
// first_records reference is now complete.
func (p *phase) offered() bool {
	p.seen++
	if p.mode != ReferenceWindow && p.seen == p.size {
		p.closed = true
		return true
	}
	return false
}

// kind is what a Tracker holds.
type kind uint8

const (
	kindUnset kind = iota
	kindNumbers
	kindCategories
)

// A Tracker tracks the PSI of one feature of one model version: numbers
// or categories, never both (the first value decides; the other kind is
// skipped as SkippedTypeMismatch).
type Tracker struct {
	cfg   Config
	phase phase
	kind  kind
	// While the reference fills: its numbers (all, or a sample of at most
	// reference.size in window mode) or category counts.
	refNums  []float64
	rng      *rand.Rand
	refCats  map[string]int
	refOther int // categories beyond max_categories
	// Once it is closed: the binning and the reference proportions.
	ready bool
	edges []float64      // numbers: bins-1 edges
	cats  map[string]int // categories: category -> bin; others -> len(refP)-1
	refP  []float64
	// The window: the last WindowSize bins, and how many values each holds.
	ring   []uint8
	next   int
	counts []int
}

// NewTracker returns a tracker; cfg must be valid.
func NewTracker(cfg Config) *Tracker { return &Tracker{cfg: cfg, phase: newPhase(cfg)} }

// AddNumber adds a numeric value of record time at (Unix nanoseconds; only
// window mode reads it). NaN and infinities are ignored and reported
// Counted: records never hold them (record.Validate), so they are not
// worth a reason.
func (t *Tracker) AddNumber(v float64, at int64) Result {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Counted
	}
	toRef, r := t.enter(kindNumbers, at)
	switch {
	case r != Counted:
		return r
	case toRef:
		t.sampleNumber(v)
		if t.phase.offered() {
			t.finish()
		}
		return Counted
	}
	t.add(binOf(t.edges, v))
	return Counted
}

// enter places a value of kind k and record time at: the tracker takes the
// kind of its first value and skips values of the other kind; a reference
// period that at ends is closed first. toRef says the value belongs to the
// reference; r is Counted unless the value is skipped.
func (t *Tracker) enter(k kind, at int64) (toRef bool, r Result) {
	if t.kind == kindUnset {
		t.kind = k
	} else if t.kind != k {
		return false, SkippedTypeMismatch
	}
	toRef, closing, r := t.phase.place(at)
	if closing {
		t.finish()
	}
	return toRef, r
}

// sampleNumber keeps v in the reference: every value in first_records mode
// (there are at most reference.size), else algorithm R: the i-th value of
// the period replaces a random kept one with probability size/i.
func (t *Tracker) sampleNumber(v float64) {
	if len(t.refNums) < t.phase.size {
		t.refNums = append(t.refNums, v)
		return
	}
	if t.rng == nil {
		t.rng = rand.New(rand.NewPCG(1, 2))
	}
	if j := t.rng.IntN(t.phase.seen + 1); j < t.phase.size {
		t.refNums[j] = v
	}
}

// AddCategory adds a categorical value of record time at (see AddNumber);
// values longer than 256 bytes should go through Category first.
func (t *Tracker) AddCategory(c string, at int64) Result {
	toRef, r := t.enter(kindCategories, at)
	switch {
	case r != Counted:
		return r
	case toRef:
		if t.refCats == nil {
			t.refCats = map[string]int{}
		}
		if _, ok := t.refCats[c]; ok || len(t.refCats) < t.cfg.MaxCategories {
			t.refCats[c]++
		} else {
			t.refOther++
			r = CountedOther
		}
		if t.phase.offered() {
			t.finish()
		}
		return r
	}
	b, ok := t.cats[c]
	if !ok {
		b = len(t.refP) - 1
	}
	t.add(b)
	return Counted
}

// PSI returns the PSI of the window against the reference, and false until
// the reference is closed (with enough values) and a whole window has been
// seen.
func (t *Tracker) PSI() (float64, bool) {
	if !t.ready || len(t.ring) < t.cfg.WindowSize {
		return 0, false
	}
	w := make([]float64, len(t.counts))
	for i, c := range t.counts {
		w[i] = float64(c) / float64(len(t.ring))
	}
	return PSI(t.refP, w), true
}

// ReferenceSize is the number of values the reference holds (counted, in
// window mode; a sample of at most reference.size of them is kept).
func (t *Tracker) ReferenceSize() int { return t.phase.seen }

// PSI is the Population Stability Index of proportions w against r (same
// length), each proportion floored at Epsilon.
func PSI(r, w []float64) float64 {
	sum := 0.0
	for i := range r {
		ri, wi := math.Max(r[i], Epsilon), math.Max(w[i], Epsilon)
		sum += (wi - ri) * math.Log(wi/ri)
	}
	return sum
}

func (t *Tracker) add(bin int) {
	if len(t.ring) < t.cfg.WindowSize {
		t.ring = append(t.ring, uint8(bin))
	} else {
		t.counts[t.ring[t.next]]--
		t.ring[t.next] = uint8(bin)
		t.next = (t.next + 1) % t.cfg.WindowSize
	}
	t.counts[bin]++
}

// binOf is the number of edges ≤ v.
func binOf(edges []float64, v float64) int {
	return sort.Search(len(edges), func(i int) bool { return edges[i] > v })
}

// finish closes the reference: it computes the binning and the reference
// proportions and opens the window, unless the reference is too small.
func (t *Tracker) finish() {
	defer func() { t.refNums, t.refCats, t.rng = nil, nil, nil }()
	if t.phase.tooSmall || t.phase.seen == 0 {
		return
	}
	switch t.kind {
	case kindNumbers:
		t.finishNumbers()
	case kindCategories:
		t.finishCategories()
	}
	t.counts = make([]int, len(t.refP))
	t.ring = make([]uint8, 0, t.cfg.WindowSize)
	t.ready = true
}

func (t *Tracker) finishNumbers() {
	ref := t.refNums
	sort.Float64s(ref)
	bins := t.cfg.Bins
	t.edges = make([]float64, bins-1)
	for k := 1; k < bins; k++ {
		t.edges[k-1] = ref[k*len(ref)/bins]
	}
	t.refP = make([]float64, bins)
	for _, v := range ref {
		t.refP[binOf(t.edges, v)]++
	}
	for i := range t.refP {
		t.refP[i] /= float64(len(ref))
	}
}

func (t *Tracker) finishCategories() {
	type kv struct {
		cat string
		n   int
	}
	all := make([]kv, 0, len(t.refCats))
	for c, n := range t.refCats {
		all = append(all, kv{c, n})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].n != all[j].n {
			return all[i].n > all[j].n
		}
		return all[i].cat < all[j].cat
	})
	keep := min(len(all), t.cfg.Bins-1)
	t.cats = map[string]int{}
	t.refP = make([]float64, keep+1)
	t.refP[keep] = float64(t.refOther)
	for i, e := range all {
		b := keep // the shared bin
		if i < keep {
			b = i
			t.cats[e.cat] = i
		}
		t.refP[b] += float64(e.n)
	}
	for i := range t.refP {
		t.refP[i] /= float64(t.phase.seen)
	}
}
