package drift

import (
	"math"
	"testing"
)

func small() Config {
	return Config{Enabled: true, ReferenceSize: 100, WindowSize: 100, Bins: 10, Threshold: 0.25}
}

// TestCategoricalKnownAnswer: reference 50% A, 50% B; window 80% A, 20% B.
// PSI = 0.3·ln(0.8/0.5) + (-0.3)·ln(0.2/0.5) = 0.41588830833596715 (the
// shared bin is empty on both sides and adds nothing).
func TestCategoricalKnownAnswer(t *testing.T) {
	tr := NewTracker(small())
	for i := 0; i < 100; i++ {
		tr.AddCategory([]string{"A", "B"}[i%2])
	}
	if _, ok := tr.PSI(); ok {
		t.Fatal("PSI before a whole window")
	}
	for i := 0; i < 100; i++ {
		c := "A"
		if i%5 == 0 {
			c = "B"
		}
		tr.AddCategory(c)
	}
	got, ok := tr.PSI()
	if !ok || math.Abs(got-0.41588830833596715) > 1e-12 {
		t.Fatalf("PSI = %v, %v; want 0.41588830833596715", got, ok)
	}
	// The window slides: 100 more values as in the reference bring it back to 0.
	for i := 0; i < 100; i++ {
		tr.AddCategory([]string{"A", "B"}[i%2])
	}
	if got, _ := tr.PSI(); got != 0 {
		t.Fatalf("PSI after the window returned to the reference = %v, want 0", got)
	}
}

// TestNumericKnownAnswer: reference 0, 1, ..., 99 makes ten bins of ten
// values; a window of values ≥ 90 puts everything in the last bin:
// PSI = 9·(ε-0.1)·ln(ε/0.1) + (1-0.1)·ln(1/0.1) with ε = 0.0001,
// = 8.28308935... A window spread as the reference gives 0.
func TestNumericKnownAnswer(t *testing.T) {
	tr := NewTracker(small())
	for i := 0; i < 100; i++ {
		tr.AddNumber(float64(i))
	}
	for i := 0; i < 100; i++ {
		tr.AddNumber(float64(99 - i)) // same distribution, other order
	}
	if got, ok := tr.PSI(); !ok || got != 0 {
		t.Fatalf("PSI of the reference's distribution = %v, %v; want 0", got, ok)
	}
	for i := 0; i < 100; i++ {
		tr.AddNumber(90 + float64(i%10))
	}
	want := 9*(0.0001-0.1)*math.Log(0.0001/0.1) + 0.9*math.Log(10)
	if got, _ := tr.PSI(); math.Abs(got-want) > 1e-12 || math.Abs(got-8.283089355) > 1e-8 {
		t.Fatalf("PSI = %v, want %v", got, want)
	}
}

// TestShiftedScores: synthetic scores whose mean moves by a known amount
// give a PSI that grows with the shift and stays near 0 without one.
func TestShiftedScores(t *testing.T) {
	cfg := Config{Enabled: true, ReferenceSize: 1000, WindowSize: 1000, Bins: 10, Threshold: 0.25}
	psi := func(shift float64) float64 {
		tr := NewTracker(cfg)
		for i := 0; i < 1000; i++ {
			tr.AddNumber(float64((i*7919)%1000) / 1000) // uniform on [0, 1)
		}
		for i := 0; i < 1000; i++ {
			tr.AddNumber(float64((i*104729)%1000)/1000 + shift)
		}
		v, _ := tr.PSI()
		return v
	}
	if v := psi(0); v > 0.01 {
		t.Errorf("no shift: PSI %v, want < 0.01", v)
	}
	if v := psi(0.05); v < 0.01 || v > 0.25 {
		t.Errorf("shift 0.05: PSI %v, want a small shift", v)
	}
	if v := psi(0.3); v < 0.25 {
		t.Errorf("shift 0.3: PSI %v, want > 0.25", v)
	}
}

func TestNaNIgnored(t *testing.T) {
	tr := NewTracker(small())
	tr.AddNumber(math.NaN())
	tr.AddNumber(math.Inf(1))
	if tr.n != 0 {
		t.Fatalf("NaN or Inf counted: n = %d", tr.n)
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Config{Bins: 1}).Validate(); err != nil {
		t.Fatalf("disabled: %v", err)
	}
	err := Config{Enabled: true, ReferenceSize: 10, WindowSize: 2000000, Bins: 1, Threshold: -1}.Validate()
	want := "reference_size: 10, want 100 to 1000000\nwindow_size: 2000000, want 100 to 1000000\nbins: 1, want 2 to 50\nthreshold: -1, want above 0 and at most 100"
	if err == nil || err.Error() != want {
		t.Fatalf("Validate: %v, want %s", err, want)
	}
}
