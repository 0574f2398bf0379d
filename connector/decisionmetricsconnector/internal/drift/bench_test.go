package drift

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// BenchmarkTrackerMemory reports the heap one tracker holds with the
// default configuration (reference.size 1000, window_size 1000,
// max_categories 100), in its largest states: a numeric reference of 999
// values not yet closed, a categorical reference of 100 distinct 256-byte
// categories not yet closed, and a closed numeric tracker with a full
// window. bytes/tracker is measured over 1,000 trackers.
func BenchmarkTrackerMemory(b *testing.B) {
	long := strings.Repeat("x", 250)
	for _, tc := range []struct {
		name string
		fill func(t *Tracker)
	}{
		{"numbers-filling", func(t *Tracker) {
			for i := 0; i < 999; i++ {
				t.AddNumber(float64(i), 0)
			}
		}},
		{"categories-filling", func(t *Tracker) {
			for i := 0; i < 999; i++ {
				t.AddCategory(fmt.Sprintf("%s%06d", long, i%100), 0)
			}
		}},
		{"numbers-closed", func(t *Tracker) {
			for i := 0; i < 2000; i++ {
				t.AddNumber(float64(i%1000), 0)
			}
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 1000
			var perTracker float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				ts := make([]*Tracker, n)
				for i := range ts {
					ts[i] = NewTracker(DefaultConfig())
					tc.fill(ts[i])
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perTracker = float64(after.HeapAlloc-before.HeapAlloc) / n
				runtime.KeepAlive(ts)
			}
			b.ReportMetric(perTracker, "bytes/tracker")
		})
	}
}
