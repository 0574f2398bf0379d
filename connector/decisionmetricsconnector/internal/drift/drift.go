// Package drift measures how far the recent values of one feature of one
// model version have moved from that version's reference values, as the
// Population Stability Index (PSI).
//
// # Statistic
//
// The reference is the first reference_size values the tracker sees (of a
// model version: a new version starts a new reference). The window is the
// last window_size values after the reference. Both are binned the same
// way, into proportions r_i and w_i, and
//
//	PSI = Σ_i (w_i - r_i) · ln(w_i / r_i)
//
// where a proportion below ε = 0.0001 counts as ε, so an empty bin does not
// make the sum infinite. PSI is 0 for identical distributions; the usual
// reading is below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a
// significant one.
//
// # Binning
//
// Numbers (scores, token counts): bins equal-frequency bins whose edges are
// the reference's quantiles: edge k (1 ≤ k < bins) is the value at
// position ⌊k·n/bins⌋ of the sorted reference; a value v falls in the bin
// numbered by how many edges are ≤ v. Repeated values can make edges
// equal; such bins stay empty on both sides and add nothing.
//
// Categories (finish reasons, predicted classes): the up to bins-1 most
// frequent categories of the reference (ties by name) each have a bin; every
// other category, seen in the reference or not, shares one more bin.
package drift // import "github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/drift"

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Config configures drift measurement.
type Config struct {
	// Enabled turns drift measurement on. Default true.
	Enabled bool `mapstructure:"enabled"`
	// ReferenceSize is the number of first values of a model version that
	// form its reference. 100 ≤ ReferenceSize ≤ 1000000. Default 1000.
	ReferenceSize int `mapstructure:"reference_size"`
	// WindowSize is the number of latest values compared with the
	// reference. 100 ≤ WindowSize ≤ 1000000. Default 1000.
	WindowSize int `mapstructure:"window_size"`
	// Bins is the number of bins. 2 ≤ Bins ≤ 50. Default 10.
	Bins int `mapstructure:"bins"`
	// Threshold is the PSI above which a feature of a model version has
	// drifted: the decisionmetrics connector, in a logs pipeline, writes a
	// drift governance record when the PSI rises above it (an upward
	// crossing; it re-arms once the PSI is back at or below it).
	// 0 < Threshold ≤ 100. Default 0.25.
	Threshold float64 `mapstructure:"threshold"`
}

// DefaultConfig returns the default drift configuration.
func DefaultConfig() Config {
	return Config{Enabled: true, ReferenceSize: 1000, WindowSize: 1000, Bins: 10, Threshold: 0.25}
}

const (
	minSize, maxSize = 100, 1_000_000
	minBins, maxBins = 2, 50
	maxThreshold     = 100
	// Epsilon is the floor of a bin's proportion in the PSI sum.
	Epsilon = 0.0001
)

// Validate checks the configuration, naming each bad field; a disabled
// configuration is not checked.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	if c.ReferenceSize < minSize || c.ReferenceSize > maxSize {
		errs = append(errs, fmt.Errorf("reference_size: %d, want %d to %d", c.ReferenceSize, minSize, maxSize))
	}
	if c.WindowSize < minSize || c.WindowSize > maxSize {
		errs = append(errs, fmt.Errorf("window_size: %d, want %d to %d", c.WindowSize, minSize, maxSize))
	}
	if c.Bins < minBins || c.Bins > maxBins {
		errs = append(errs, fmt.Errorf("bins: %d, want %d to %d", c.Bins, minBins, maxBins))
	}
	if math.IsNaN(c.Threshold) || c.Threshold <= 0 || c.Threshold > maxThreshold {
		errs = append(errs, fmt.Errorf("threshold: %v, want above 0 and at most %d", c.Threshold, maxThreshold))
	}
	return errors.Join(errs...)
}

// A Tracker tracks one feature of one model version: numbers or
// categories, never both (the first Add decides).
type Tracker struct {
	cfg Config
	// While the reference fills: its values.
	refNums []float64
	refCats map[string]int
	n       int
	// Once it is full: the binning and the reference proportions.
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
func NewTracker(cfg Config) *Tracker { return &Tracker{cfg: cfg} }

// AddNumber adds a numeric value. NaN and infinities are ignored.
func (t *Tracker) AddNumber(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if !t.ready {
		t.refNums = append(t.refNums, v)
		if t.n++; t.n == t.cfg.ReferenceSize {
			t.finishNumbers()
		}
		return
	}
	t.add(binOf(t.edges, v))
}

// AddCategory adds a categorical value.
func (t *Tracker) AddCategory(c string) {
	if !t.ready {
		if t.refCats == nil {
			t.refCats = map[string]int{}
		}
		t.refCats[c]++
		if t.n++; t.n == t.cfg.ReferenceSize {
			t.finishCategories()
		}
		return
	}
	b, ok := t.cats[c]
	if !ok {
		b = len(t.refP) - 1
	}
	t.add(b)
}

// PSI returns the PSI of the window against the reference, and false until
// the reference and a whole window have been seen.
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
	t.start()
	t.refNums = nil
}

func (t *Tracker) finishCategories() {
	type kv struct {
		cat string
		n   int
	}
	var all []kv
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
	for i, e := range all {
		b := keep // the shared bin
		if i < keep {
			b = i
			t.cats[e.cat] = i
		}
		t.refP[b] += float64(e.n)
	}
	t.start()
	t.refCats = nil
}

// start turns the reference counts into proportions and opens the window.
func (t *Tracker) start() {
	for i := range t.refP {
		t.refP[i] /= float64(t.n)
	}
	t.counts = make([]int, len(t.refP))
	t.ring = make([]uint8, 0, t.cfg.WindowSize)
	t.ready = true
}
