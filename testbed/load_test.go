package loadtest

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Environment knobs (all optional):
//
//	GOVAUDIT_BIN                  directory holding otelcol-govaudit and govaudit (default ../bin)
//	GOVAUDIT_LOADTEST_DURATION    load per scenario (default 30s)
//	GOVAUDIT_LOADTEST_RATES       comma-separated spans/s, each run for both pipelines (default 10000,50000)
//	GOVAUDIT_LOADTEST_SEARCH      extra governance runs bisecting for the highest sustained rate (default 4, 0 = off)
//	GOVAUDIT_LOADTEST_PROFILE     scenarios to CPU-profile through the pprof extension, e.g. governance-10000
//	                              (written to results/TestLoad/<scenario>/cpu.pprof)
//	GOVAUDIT_LOADTEST_KEEP        keep the baseline's OTLP JSON output (deleted after counting otherwise)
//
// Results go to results/: summary.md, results.json and per scenario the
// collector's config, log (agent.log) and output.
const perBatch = 100

var (
	binDir     = envOr("GOVAUDIT_BIN", "../bin")
	quickstart = "../examples/quickstart.yaml"
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func TestMain(m *testing.M) {
	var err error
	if binDir, err = filepath.Abs(binDir); err == nil {
		quickstart, err = filepath.Abs(quickstart)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for _, exe := range []string{"otelcol-govaudit", "govaudit"} {
		if _, err := os.Stat(filepath.Join(binDir, exe)); err != nil {
			fmt.Fprintf(os.Stderr, "loadtest: %v: run `make build` first (or set GOVAUDIT_BIN)\n", err)
			os.Exit(2)
		}
	}
	os.Exit(m.Run())
}

func profileName(p pipeline, rate int) string {
	want := fmt.Sprintf("%s-%d", p, rate)
	if slices.Contains(strings.Split(os.Getenv("GOVAUDIT_LOADTEST_PROFILE"), ","), want) {
		return "cpu.pprof"
	}
	return ""
}

// TestLoad runs both pipelines at each rate (baseline first, then
// governance, so both see the same machine state), bisects for the highest
// rate the governance pipeline sustains, compares output sizes and writes
// results/summary.md and results/results.json. It measures; it asserts only
// that the archive verifies.
func TestLoad(t *testing.T) {
	d, err := time.ParseDuration(envOr("GOVAUDIT_LOADTEST_DURATION", "30s"))
	if err != nil {
		t.Fatalf("GOVAUDIT_LOADTEST_DURATION: %v", err)
	}
	var rates []int
	for _, s := range strings.Split(envOr("GOVAUDIT_LOADTEST_RATES", "10000,50000"), ",") {
		r, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || r <= 0 {
			t.Fatalf("GOVAUDIT_LOADTEST_RATES: bad rate %q", s)
		}
		rates = append(rates, r)
	}
	slices.Sort(rates)
	steps, err := strconv.Atoi(envOr("GOVAUDIT_LOADTEST_SEARCH", "4"))
	if err != nil {
		t.Fatalf("GOVAUDIT_LOADTEST_SEARCH: %v", err)
	}
	load := loadAverage()
	if l, err := strconv.ParseFloat(strings.Fields(load + " 0")[0], 64); err == nil && l > 0.5 {
		t.Logf("WARNING: 1-minute load average %.2f before the run: figures are disturbed by other work", l)
	}

	var all []result
	run := func(p pipeline, rate int) result {
		var r result
		t.Run(fmt.Sprintf("%s-%d", p, rate), func(t *testing.T) { r = runScenario(t, p, rate, d, nil) })
		all = append(all, r)
		return r
	}
	pass := map[int]bool{}
	for _, rate := range rates {
		run(baseline, rate)
		pass[rate] = run(governance, rate).Sustained()
	}

	// Bisect between the highest sustained and the lowest failed rate, to
	// the nearest 2,500 spans/s (500 below 10,000); above every sustained
	// rate, step up by half.
	lo, hi := 0, 0
	for _, rate := range rates {
		if pass[rate] {
			lo = rate
		} else if hi == 0 && rate > lo {
			hi = rate
		}
	}
	grain := func() int {
		if hi != 0 && hi <= 10_000 {
			return 500
		}
		return 2_500
	}
	for i := 0; i < steps && (hi == 0 || hi-lo > grain()); i++ {
		next := lo + lo/2
		if hi != 0 {
			next = (lo + hi) / 2 / grain() * grain()
		}
		if next <= lo || (hi != 0 && next >= hi) {
			break
		}
		if run(governance, next).Sustained() {
			lo = next
		} else {
			hi = next
		}
	}
	maxRate := fmt.Sprintf("%d spans/s", lo)
	switch {
	case lo == 0:
		maxRate = fmt.Sprintf("none of the rates tried (lowest failed: %d spans/s)", hi)
	case hi == 0:
		maxRate = fmt.Sprintf("at least %d spans/s (the highest rate tried)", lo)
	default:
		maxRate += fmt.Sprintf(" (%d spans/s failed)", hi)
	}

	sizes := compareSizes(t, all)
	writeSummary(t, d, load, all, maxRate, sizes)
	if os.Getenv("GOVAUDIT_LOADTEST_KEEP") == "" {
		// The baseline's OTLP JSON is ~3 KB per span (3 GB at 50k spans/s
		// for 30 s); the governance archives are kept for inspection.
		for _, r := range all {
			if r.Pipeline == baseline {
				os.Remove(filepath.Join(r.Dir, "spans.json"))
			}
		}
	}
}

// sizes compares bytes per span of the same generated spans as stored by
// each pipeline.
type sizes struct {
	Rate              int     `json:"rate"`
	Spans             uint64  `json:"spans"`
	ArchivePerRecord  float64 `json:"archive_bytes_per_record"`
	ParquetPerRecord  float64 `json:"parquet_bytes_per_record"`
	OTLPJSONPerSpan   float64 `json:"otlp_json_bytes_per_span"`
	OTLPProtoZstdSpan float64 `json:"otlp_proto_zstd_bytes_per_span"`
}

// compareSizes takes the two runs at the lowest rate both pipelines ran: the archive's bytes per
// record, the file exporter's OTLP JSON bytes per span, and the same JSON
// re-encoded as the file exporter writes `format: proto` with
// `compression: zstd` (each batch a zstd frame after a 4-byte length).
func compareSizes(t *testing.T, all []result) *sizes {
	var gov, base *result
	for i := range all {
		for j := range all {
			g, b := &all[i], &all[j]
			if g.Pipeline == governance && b.Pipeline == baseline && g.Rate == b.Rate && g.Stored > 0 && b.Stored > 0 &&
				(gov == nil || g.Rate < gov.Rate) {
				gov, base = g, b
			}
		}
	}
	if gov == nil || base == nil {
		return nil
	}
	s := &sizes{Rate: base.Rate, Spans: base.Stored,
		ArchivePerRecord: float64(gov.OutputBytes) / float64(gov.Stored),
		ParquetPerRecord: float64(dirSize(t, filepath.Join(gov.Dir, "data", "audit", "records"))) / float64(gov.Stored),
		OTLPJSONPerSpan:  float64(base.OutputBytes) / float64(base.Stored),
	}
	f, err := os.Open(filepath.Join(base.Dir, "spans.json"))
	if err != nil {
		t.Error(err)
		return s
	}
	defer f.Close()
	enc, _ := zstd.NewWriter(nil) // the file exporter's codec: default level
	var proto int64
	br := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 1 {
			td, uerr := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line)
			if uerr != nil {
				t.Errorf("spans.json: %v", uerr)
				return s
			}
			b, _ := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
			proto += int64(binary.Size(uint32(0)) + len(enc.EncodeAll(b, nil)))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Error(err)
			return s
		}
	}
	s.OTLPProtoZstdSpan = float64(proto) / float64(base.Stored)
	return s
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func machine() string {
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "?"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		f := strings.Fields(string(b))
		if len(f) > 1 {
			if kb, err := strconv.Atoi(f[1]); err == nil {
				mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	kernel, _ := exec.Command("uname", "-r").Output()
	return fmt.Sprintf("%d CPUs (%s), %s RAM, Linux %s, %s", runtime.NumCPU(), cpu, mem, strings.TrimSpace(string(kernel)), runtime.Version())
}

func writeSummary(t *testing.T, d time.Duration, load string, all []result, maxRate string, sz *sizes) {
	var b strings.Builder
	fmt.Fprintf(&b, "# govaudit load test, %s\n\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "- machine: %s\n- load average before the run: %s\n- %s of load per scenario, %d spans per request, GenAI chat spans with 1–2 KB of content\n\n", machine(), load, d, perBatch)
	b.WriteString("| pipeline | target spans/s | sent/s | sent | stored | lost | CPU % (mean) | CPU % (max 1 s) | CPU µs/span | RSS max MiB | drain | generator CPU % | other CPU % | sustained | verify |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, r := range all {
		v := ""
		if r.Pipeline == governance {
			v = strings.SplitN(r.VerifyOut, "\n", 2)[0]
		}
		fmt.Fprintf(&b, "| %s | %d | %.0f | %d | %d | %d | %.0f | %.0f | %.1f | %d | %s | %.0f | %.0f | %v | %s |\n",
			r.Pipeline, r.Rate, r.SentPerSec, r.Sent, r.Stored, r.Lost, r.CPUPercent, r.CPUMaxPercent,
			float64(r.CPUPerSpan.Nanoseconds())/1e3, r.RSSMaxMiB, r.Drain.Round(10*time.Millisecond),
			r.GeneratorCPUPercent, r.OtherCPUPercent, r.Sustained(), v)
	}
	b.WriteString("\nCPU per span, governance / baseline at the same rate:")
	for _, g := range all {
		for _, bl := range all {
			if g.Pipeline == governance && bl.Pipeline == baseline && g.Rate == bl.Rate && bl.CPUPerSpan > 0 {
				fmt.Fprintf(&b, " %d spans/s: %.2fx;", g.Rate, float64(g.CPUPerSpan)/float64(bl.CPUPerSpan))
			}
		}
	}
	var best result
	for _, r := range all {
		if r.Pipeline == governance && r.Lost == 0 && r.SentPerSec > best.SentPerSec {
			best = r
		}
	}
	fmt.Fprintf(&b, "\n\nHighest governance throughput without loss: %.0f spans/s (offered %d spans/s, collector CPU %.0f%%)", best.SentPerSec, best.Rate, best.CPUPercent)
	fmt.Fprintf(&b, "\n\nHighest rate the governance pipeline sustained (no loss, no refused export, >= 97%% of the target sent, drained within 5 s): %s\n", maxRate)
	if sz != nil {
		fmt.Fprintf(&b, "\nOutput size at %d spans/s (%d spans): archive %.0f B/record (Parquet data files alone %.0f B), OTLP JSON %.0f B/span, zstd OTLP protobuf %.0f B/span; archive = %.1f%% of OTLP JSON, %.0f%% of zstd protobuf\n",
			sz.Rate, sz.Spans, sz.ArchivePerRecord, sz.ParquetPerRecord, sz.OTLPJSONPerSpan, sz.OTLPProtoZstdSpan,
			100*sz.ArchivePerRecord/sz.OTLPJSONPerSpan, 100*sz.ArchivePerRecord/sz.OTLPProtoZstdSpan)
	}
	t.Log("\n" + b.String())
	if err := os.WriteFile(filepath.Join("results", "summary.md"), []byte(b.String()), 0o644); err != nil {
		t.Error(err)
	}
	js, _ := json.MarshalIndent(struct {
		Machine  string    `json:"machine"`
		Load     string    `json:"load_average_before"`
		Results  []result  `json:"results"`
		MaxRate  string    `json:"max_sustained_rate"`
		Sizes    *sizes    `json:"sizes,omitempty"`
		Finished time.Time `json:"finished"`
	}{machine(), load, all, maxRate, sz, time.Now().UTC()}, "", "  ")
	if err := os.WriteFile(filepath.Join("results", "results.json"), js, 0o644); err != nil {
		t.Error(err)
	}
}
