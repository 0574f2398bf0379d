package drift

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func small() Config {
	c := DefaultConfig()
	c.Reference.Size, c.WindowSize = 100, 100
	return c
}

// TestCategoricalKnownAnswer: reference 50% A, 50% B; window 80% A, 20% B.
// PSI = 0.3·ln(0.8/0.5) + (-0.3)·ln(0.2/0.5) = 0.41588830833596715 (the
// shared bin is empty on both sides and adds nothing).
func TestCategoricalKnownAnswer(t *testing.T) {
	tr := NewTracker(small())
	for i := 0; i < 100; i++ {
		tr.AddCategory([]string{"A", "B"}[i%2], 0)
	}
	if _, ok := tr.PSI(); ok {
		t.Fatal("PSI before a whole window")
	}
	for i := 0; i < 100; i++ {
		c := "A"
		if i%5 == 0 {
			c = "B"
		}
		tr.AddCategory(c, 0)
	}
	got, ok := tr.PSI()
	if !ok || math.Abs(got-0.41588830833596715) > 1e-12 {
		t.Fatalf("PSI = %v, %v; want 0.41588830833596715", got, ok)
	}
	// The window slides: 100 more values as in the reference bring it back to 0.
	for i := 0; i < 100; i++ {
		tr.AddCategory([]string{"A", "B"}[i%2], 0)
	}
	if got, _ := tr.PSI(); got != 0 {
		t.Fatalf("PSI after the window returned to the reference = %v, want 0", got)
	}
}

// TestNewCategory: a category the reference never saw lands in the shared
// bin, empty in the reference (floored at ε): reference 50% A, 50% B;
// window 40% A, 40% B, 20% C gives
// PSI = 2·(0.4-0.5)·ln(0.4/0.5) + (0.2-ε)·ln(0.2/ε) ≈ 1.564.
func TestNewCategory(t *testing.T) {
	tr := NewTracker(small())
	for i := 0; i < 100; i++ {
		tr.AddCategory([]string{"A", "B"}[i%2], 0)
	}
	for i := 0; i < 100; i++ {
		tr.AddCategory([]string{"A", "B", "A", "B", "C"}[i%5], 0)
	}
	want := 2*(0.4-0.5)*math.Log(0.4/0.5) + (0.2-Epsilon)*math.Log(0.2/Epsilon)
	if got, ok := tr.PSI(); !ok || math.Abs(got-want) > 1e-12 || math.Abs(got-1.5640) > 1e-4 {
		t.Fatalf("PSI = %v, %v; want %v", got, ok, want)
	}
}

// TestCategoryCap: a reference counts max_categories categories one by
// one; later new ones go to the shared bin (CountedOther), and so do the
// categories beyond the bins-1 most frequent.
func TestCategoryCap(t *testing.T) {
	cfg := small()
	cfg.MaxCategories, cfg.Bins = 2, 3
	tr := NewTracker(cfg)
	var other int
	for i := 0; i < 100; i++ {
		// A 40, B 40, C 10, D 10: C and D come after the cap.
		c := []string{"A", "B", "A", "B", "A", "B", "A", "B", "C", "D"}[i%10]
		if r := tr.AddCategory(c, 0); r == CountedOther {
			other++
		} else if r != Counted {
			t.Fatalf("AddCategory(%s) = %v", c, r)
		}
	}
	if other != 20 {
		t.Fatalf("%d values counted in the shared bin over the cap, want 20", other)
	}
	want := []float64{0.4, 0.4, 0.2}
	for i, p := range tr.refP {
		if math.Abs(p-want[i]) > 1e-12 {
			t.Fatalf("reference proportions %v, want %v", tr.refP, want)
		}
	}
	if len(tr.cats) != 2 {
		t.Fatalf("bins for %v, want A and B", tr.cats)
	}
}

// TestNumericKnownAnswer: reference 0, 1, ..., 99 makes ten bins of ten
// values; a window of values ≥ 90 puts everything in the last bin:
// PSI = 9·(ε-0.1)·ln(ε/0.1) + (1-0.1)·ln(1/0.1) with ε = 0.0001,
// = 8.28308935... A window spread as the reference gives 0.
func TestNumericKnownAnswer(t *testing.T) {
	tr := NewTracker(small())
	for i := 0; i < 100; i++ {
		tr.AddNumber(float64(i), 0)
	}
	for i := 0; i < 100; i++ {
		tr.AddNumber(float64(99-i), 0) // same distribution, other order
	}
	if got, ok := tr.PSI(); !ok || got != 0 {
		t.Fatalf("PSI of the reference's distribution = %v, %v; want 0", got, ok)
	}
	for i := 0; i < 100; i++ {
		tr.AddNumber(90+float64(i%10), 0)
	}
	want := 9*(0.0001-0.1)*math.Log(0.0001/0.1) + 0.9*math.Log(10)
	if got, _ := tr.PSI(); math.Abs(got-want) > 1e-12 || math.Abs(got-8.283089355) > 1e-8 {
		t.Fatalf("PSI = %v, want %v", got, want)
	}
}

func phi(x float64) float64    { return 0.5 * (1 + math.Erf(x/math.Sqrt2)) }
func phiInv(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }

// normalPSI is the PSI of N(δ, 1) against N(0, 1) in bins equal-frequency
// bins of N(0, 1): w_k = Φ(e_{k+1} - δ) - Φ(e_k - δ), e_k = Φ⁻¹(k/bins),
// r_k = 1/bins. 0.2378 for δ = 0.5 and 10 bins.
func normalPSI(delta float64, bins int) float64 {
	sum := 0.0
	for k := 0; k < bins; k++ {
		lo, hi := math.Inf(-1), math.Inf(1)
		if k > 0 {
			lo = phiInv(float64(k) / float64(bins))
		}
		if k < bins-1 {
			hi = phiInv(float64(k+1) / float64(bins))
		}
		w, r := phi(hi-delta)-phi(lo-delta), 1/float64(bins)
		sum += (w - r) * math.Log(w/r)
	}
	return sum
}

// TestShiftedNormal: 1,000 reference values spread exactly as N(0, 1)
// (the quantiles Φ⁻¹((i+½)/1000)) against 1,000 spread as N(δ, 1) give
// the PSI computed from Φ (normalPSI) within 0.005, the error of placing
// 1,000 points (measured: at most 0.0022 for δ ≤ 1).
func TestShiftedNormal(t *testing.T) {
	for _, delta := range []float64{0, 0.1, 0.25, 0.5, 1} {
		tr := NewTracker(DefaultConfig())
		for i := 0; i < 1000; i++ {
			tr.AddNumber(phiInv((float64(i)+0.5)/1000), 0)
		}
		for i := 0; i < 1000; i++ {
			tr.AddNumber(phiInv((float64(i)+0.5)/1000)+delta, 0)
		}
		got, ok := tr.PSI()
		want := normalPSI(delta, 10)
		if !ok || math.Abs(got-want) > 0.005 {
			t.Errorf("δ = %v: PSI %v, %v; want %v ± 0.005", delta, got, ok, want)
		}
	}
	if v := normalPSI(0.5, 10); math.Abs(v-0.2378) > 1e-4 {
		t.Fatalf("normalPSI(0.5) = %v, want 0.2378", v)
	}
}

// TestSampledNormal: random samples (200 seeded runs of 1,000 + 1,000
// values, 10 bins). Without drift, n·m/(n+m)·PSI is about χ²(9): its mean
// is 9·(1/1000 + 1/1000) = 0.018 and it exceeds χ²(9)'s 99.9% quantile
// (27.877) over 500 = 0.0558 in about 0.1% of runs; at most 1% may. With
// δ = 0.5 the mean PSI is normalPSI(0.5) plus that same sampling bias. Both
// means must lie within 4 standard errors (sd/√200).
func TestSampledNormal(t *testing.T) {
	const runs, bias, bound = 200, 9 * (1.0/1000 + 1.0/1000), 27.877 / 500
	for _, delta := range []float64{0, 0.5} {
		var sum, sq float64
		over := 0
		for s := range runs {
			rng := rand.New(rand.NewPCG(uint64(s), 7))
			tr := NewTracker(DefaultConfig())
			for i := 0; i < 2000; i++ {
				v := rng.NormFloat64()
				if i >= 1000 {
					v += delta
				}
				tr.AddNumber(v, 0)
			}
			v, _ := tr.PSI()
			sum, sq = sum+v, sq+v*v
			if v > bound {
				over++
			}
		}
		mean := sum / runs
		se := math.Sqrt(sq/runs-mean*mean) / math.Sqrt(runs)
		want := normalPSI(delta, 10) + bias
		if math.Abs(mean-want) > 4*se {
			t.Errorf("δ = %v: mean PSI %.5f, want %.5f ± %.5f", delta, mean, want, 4*se)
		}
		if delta == 0 && over > runs/100 {
			t.Errorf("no drift: %d of %d runs above the χ² 99.9%% bound %.4f", over, runs, bound)
		}
		if delta == 0.5 && over != runs {
			t.Errorf("δ = 0.5: only %d of %d runs above %.4f", over, runs, bound)
		}
	}
}

// TestTypeMismatch: the first value decides a tracker's kind.
func TestTypeMismatch(t *testing.T) {
	tr := NewTracker(small())
	if r := tr.AddNumber(1, 0); r != Counted {
		t.Fatal(r)
	}
	if r := tr.AddCategory("x", 0); r != SkippedTypeMismatch || r.Reason() != "type_mismatch" {
		t.Fatalf("category on a number tracker: %v %q", r, r.Reason())
	}
	tc := NewTracker(small())
	tc.AddCategory("x", 0)
	if r := tc.AddNumber(1, 0); r != SkippedTypeMismatch {
		t.Fatalf("number on a category tracker: %v", r)
	}
	if tr.ReferenceSize() != 1 || tc.ReferenceSize() != 1 {
		t.Fatal("a skipped value entered a reference")
	}
}

func TestNaNIgnored(t *testing.T) {
	tr := NewTracker(small())
	tr.AddNumber(math.NaN(), 0)
	tr.AddNumber(math.Inf(1), 0)
	if tr.ReferenceSize() != 0 {
		t.Fatalf("NaN or Inf counted: %d", tr.ReferenceSize())
	}
}

var (
	since = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	until = since.Add(24 * time.Hour)
)

func windowConfig() Config {
	c := small()
	c.Reference = ReferenceConfig{Mode: ReferenceWindow, Size: 100, Since: since, Until: until}
	return c
}

// TestWindowReference: the values of [since, until) form the reference
// whatever their number; earlier ones and late ones are skipped; the
// window starts at until.
func TestWindowReference(t *testing.T) {
	tr := NewTracker(windowConfig())
	in := func(i int) int64 { return since.Add(time.Duration(i) * time.Minute).UnixNano() }
	if r := tr.AddCategory("A", since.Add(-time.Nanosecond).UnixNano()); r != SkippedBeforeReference || r.Reason() != "before_reference" {
		t.Fatalf("before since: %v", r)
	}
	// 300 values in the period (more than reference.size: categories are
	// counted exactly), half A, half B.
	for i := 0; i < 300; i++ {
		if r := tr.AddCategory([]string{"A", "B"}[i%2], in(i)); r != Counted {
			t.Fatalf("in the period: %v", r)
		}
	}
	if tr.ready {
		t.Fatal("reference closed before a value at until")
	}
	for i := 0; i < 100; i++ {
		c := "A"
		if i%5 == 0 {
			c = "B"
		}
		if r := tr.AddCategory(c, until.UnixNano()+int64(i)); r != Counted {
			t.Fatalf("after until: %v", r)
		}
	}
	if r := tr.AddCategory("B", in(5)); r != SkippedLateReference || r.Reason() != "late_reference" {
		t.Fatalf("late value of the period: %v", r)
	}
	got, ok := tr.PSI()
	if !ok || math.Abs(got-0.41588830833596715) > 1e-12 || tr.ReferenceSize() != 300 {
		t.Fatalf("PSI = %v, %v over %d reference values; want 0.4159 over 300", got, ok, tr.ReferenceSize())
	}
}

// TestWindowReferenceSample: numbers of the period beyond reference.size
// are kept as a uniform sample: 10,000 values uniform on [0, 1) kept as
// 100 still bin a window of the same distribution near PSI 0 (below the
// χ²(9) 99.9% bound for 100 against 1,000 values, 27.877·(1/100+1/1000)),
// and a window shifted by 0.3 far above it.
func TestWindowReferenceSample(t *testing.T) {
	psi := func(shift float64) float64 {
		cfg := windowConfig()
		cfg.WindowSize = 1000
		tr := NewTracker(cfg)
		rng := rand.New(rand.NewPCG(3, 4))
		for i := 0; i < 10000; i++ {
			tr.AddNumber(rng.Float64(), since.UnixNano()+int64(i))
		}
		for i := 0; i < 1000; i++ {
			tr.AddNumber(rng.Float64()+shift, until.UnixNano()+int64(i))
		}
		if len(tr.edges) != 9 || tr.ReferenceSize() != 10000 {
			t.Fatalf("edges %v, reference size %d", tr.edges, tr.ReferenceSize())
		}
		v, ok := tr.PSI()
		if !ok {
			t.Fatal("no PSI")
		}
		return v
	}
	bound := 27.877 * (1.0/100 + 1.0/1000)
	if v := psi(0); v > bound {
		t.Errorf("same distribution: PSI %v above %v", v, bound)
	}
	if v := psi(0.3); v < 1 {
		t.Errorf("shift 0.3: PSI %v, want above 1", v)
	}
}

// TestWindowReferenceTooSmall: a period with fewer than 100 values gives
// no statistic, and every later value says why.
func TestWindowReferenceTooSmall(t *testing.T) {
	tr := NewTracker(windowConfig())
	rt := NewRateTracker(windowConfig())
	for i := 0; i < 99; i++ {
		tr.AddNumber(float64(i), since.UnixNano()+int64(i))
		rt.Add(i%2 == 0, since.UnixNano()+int64(i))
	}
	for i := 0; i < 200; i++ {
		if r := tr.AddNumber(float64(i), until.UnixNano()); r != SkippedReferenceTooSmall || r.Reason() != "reference_too_small" {
			t.Fatalf("after a too small reference: %v", r)
		}
		if r := rt.Add(true, until.UnixNano()); r != SkippedReferenceTooSmall {
			t.Fatalf("rate after a too small reference: %v", r)
		}
	}
	if _, ok := tr.PSI(); ok {
		t.Fatal("PSI of a too small reference")
	}
	if _, ok := rt.Z(); ok {
		t.Fatal("z of a too small reference")
	}
}

// TestZKnownAnswer: 1% errors in the reference, 3% in the window, 1,000
// decisions each: z = 0.02 / √(0.02·0.98·0.002) = 3.1944, above the
// default threshold 3, while the PSI of the same two outcomes is only
// 0.0224 (why rates use z).
func TestZKnownAnswer(t *testing.T) {
	cfg := DefaultConfig()
	rt := NewRateTracker(cfg)
	for i := 0; i < 1000; i++ {
		rt.Add(i%100 == 0, 0)
	}
	if _, ok := rt.Z(); ok {
		t.Fatal("z before a whole window")
	}
	for i := 0; i < 1000; i++ {
		rt.Add(i%100 < 3, 0)
	}
	want := 0.02 / math.Sqrt(0.02*0.98*0.002)
	got, ok := rt.Z()
	if !ok || math.Abs(got-want) > 1e-12 || math.Abs(got-3.1944) > 1e-4 {
		t.Fatalf("z = %v, %v; want %v", got, ok, want)
	}
	if ref, win := rt.Rates(); ref != 0.01 || win != 0.03 {
		t.Fatalf("rates %v, %v", ref, win)
	}
	if psi := PSI([]float64{0.99, 0.01}, []float64{0.97, 0.03}); math.Abs(psi-0.0224) > 1e-4 {
		t.Fatalf("PSI of 1%% → 3%% = %v, want 0.0224", psi)
	}
	// Back to 1%: z falls to 0; no events at all: z is 0, not NaN.
	for i := 0; i < 1000; i++ {
		rt.Add(i%100 == 0, 0)
	}
	if got, _ := rt.Z(); got != 0 {
		t.Fatalf("z after returning to 1%% = %v", got)
	}
	if z := Z(0, 100, 0, 100); z != 0 {
		t.Fatalf("Z with no events = %v", z)
	}
	if z := Z(10, 100, 0, 100); z >= 0 {
		t.Fatalf("Z of a falling rate = %v, want negative", z)
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := windowConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Config{Bins: 1}).Validate(); err != nil {
		t.Fatalf("disabled: %v", err)
	}
	bad := DefaultConfig()
	bad.Reference.Size, bad.WindowSize, bad.Bins, bad.Threshold = 10, 2000000, 1, -1
	bad.Reference.Since = since
	bad.Thresholds = map[string]float64{"scroe": 0.1, "feature.income": 0, "z": 4, "feature.": 1, "error_rate": 101}
	bad.MaxFeatures, bad.MaxCategories, bad.MaxModelVersions = 0, 0, 10001
	want := []string{
		"reference::size: 10, want 100 to 1000000",
		"reference::since: set, but reference::mode is first_records (set mode: window to use a period)",
		"window_size: 2000000, want 100 to 1000000",
		"bins: 1, want 2 to 50",
		"threshold: -1, want above 0 and at most 100",
		"thresholds::error_rate: 101, want above 0 and at most 100",
		"thresholds::feature.: a declared feature's name must have 1 to 128 bytes",
		"thresholds::feature.income: 0, want above 0 and at most 100",
		"thresholds::scroe: unknown feature or statistic (want psi, z, error_rate, input_tokens, outcome, output_tokens, prediction, refusal_rate, score, or feature.<name> for a declared feature)",
		"max_features: 0, want 1 to 1000",
		"max_categories: 0, want 1 to 100000",
		"max_model_versions: 10001, want 1 to 10000",
	}
	if err := bad.Validate(); err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("Validate:\n%v\nwant\n%s", err, strings.Join(want, "\n"))
	}
	c := windowConfig()
	c.Reference.Since, c.Reference.Until = time.Time{}, time.Time{}
	want2 := "reference::since: required when reference::mode is window (an RFC 3339 time, e.g. 2026-01-01T00:00:00Z)\n" +
		"reference::until: required when reference::mode is window (an RFC 3339 time, e.g. 2026-01-01T00:00:00Z)"
	if err := c.Validate(); err == nil || err.Error() != want2 {
		t.Errorf("no period: %v", err)
	}
	c.Reference.Since, c.Reference.Until = until, until.Add(-time.Hour).In(time.FixedZone("", 3600))
	if err := c.Validate(); err == nil || err.Error() != "reference::until: 2026-01-02T00:00:00+01:00 is not after reference::since (2026-01-02T00:00:00Z)" {
		t.Errorf("until before since: %v", err)
	}
	var m ReferenceMode
	if err := m.UnmarshalText([]byte("sliding")); err == nil || err.Error() != `unknown reference mode "sliding" (want first_records or window)` {
		t.Fatalf("UnmarshalText: %v", err)
	}
}

func TestThresholdOf(t *testing.T) {
	c := DefaultConfig()
	c.Thresholds = map[string]float64{"psi": 0.2, "feature.income": 0.1, "refusal_rate": 4}
	for feature, want := range map[string]float64{
		"feature.income": 0.1, "feature.age": 0.2, "score": 0.2,
		"refusal_rate": 4, "error_rate": DefaultZThreshold,
	} {
		if got := c.ThresholdOf(feature); got != want {
			t.Errorf("ThresholdOf(%s) = %v, want %v", feature, got, want)
		}
	}
	c.Thresholds = map[string]float64{"z": 2.5}
	if got := c.ThresholdOf("error_rate"); got != 2.5 {
		t.Errorf("z default: %v", got)
	}
	if got := c.ThresholdOf("score"); got != 0.25 {
		t.Errorf("threshold default: %v", got)
	}
}

func TestCategory(t *testing.T) {
	long := strings.Repeat("x", 257)
	if c := Category(long); !strings.HasPrefix(c, "sha256:") || len(c) != 7+64 || Category(long+"y") == c {
		t.Fatalf("Category of a long value = %q", c)
	}
	if c := Category(strings.Repeat("x", 256)); len(c) != 256 {
		t.Fatal("a 256-byte category changed")
	}
	if _, ok := DeclaredFeature(strings.Repeat("n", 129)); ok {
		t.Fatal("a 129-byte feature name accepted")
	}
	if f, ok := DeclaredFeature("income"); !ok || f != "feature.income" {
		t.Fatal(f)
	}
}
