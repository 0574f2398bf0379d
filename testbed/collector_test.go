package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/process"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/exporter/otlpexporter"

	"github.com/open-telemetry/opentelemetry-collector-contrib/testbed/testbed"
)

// A pipeline is one collector configuration under test.
type pipeline string

const (
	// governance is examples/quickstart.yaml as shipped (otlp ->
	// memory_limiter -> mlgovernance, then auditsign -> auditparquet), with
	// only its endpoints and data directory set from the environment and
	// the pprof extension added.
	governance pipeline = "governance"
	// baseline is otlp -> memory_limiter -> batch -> file (OTLP JSON), the
	// usual shape of a collector that stores telemetry in files, in the
	// same distribution binary.
	baseline pipeline = "baseline"
)

// result is what one scenario measured. CPU figures are of the collector
// process only (the load generator runs in the test process).
type result struct {
	Pipeline pipeline `json:"pipeline"`
	Rate     int      `json:"target_spans_per_s"`
	// Duration is how long load was offered; Sent counts spans generated
	// (a span refused by the collector and given up on is still counted);
	// SentPerSec is the rate from the first request to the end of the load.
	Duration   time.Duration `json:"duration_ns"`
	Sent       uint64        `json:"sent"`
	SentPerSec float64       `json:"sent_per_s"`
	// SendErrors counts spans whose export the collector refused, and in
	// a flood (Senders set) the spans the SDKs dropped or gave up on.
	SendErrors uint64 `json:"send_errors"`
	// Flood only: SDK senders, spans their queues dropped (recorded, never
	// exported) and spans of exports that failed after the SDK's retries.
	Senders      int    `json:"sdk_senders,omitempty"`
	SDKDropped   uint64 `json:"sdk_dropped,omitempty"`
	ExportFailed uint64 `json:"export_failed,omitempty"`
	// Stored counts spans that reached the output: records in the
	// verified archive, spans in the file exporter's output.
	Stored uint64 `json:"stored"`
	Lost   int64  `json:"lost"`
	// Drain is how long the collector stayed busy after the load stopped.
	Drain time.Duration `json:"drain_ns"`
	// CPUPercent is the collector's mean CPU over the load window (100 =
	// one core); CPUMaxPercent the testbed's highest 1 s sample.
	CPUPercent    float64 `json:"cpu_percent"`
	CPUMaxPercent float64 `json:"cpu_max_percent"`
	// CPUPerSpan is the collector's CPU time from load start to exit
	// (including the final seal on shutdown) divided by Sent.
	CPUPerSpan time.Duration `json:"cpu_per_span_ns"`
	// GeneratorCPUPercent is the test process's CPU (the load generator)
	// and OtherCPUPercent everything else on the machine over the load
	// window: a run with OtherCPUPercent above a few percent was disturbed.
	GeneratorCPUPercent float64 `json:"generator_cpu_percent"`
	OtherCPUPercent     float64 `json:"other_cpu_percent"`
	RSSMaxMiB           uint32  `json:"rss_max_mib"`
	RSSAvgMiB           uint32  `json:"rss_avg_mib"`
	// OutputBytes is the size of what the pipeline wrote: the archive
	// (records, indexes, checkpoints) or the OTLP JSON file.
	OutputBytes int64 `json:"output_bytes"`
	// Verified reports `govaudit verify` on the archive (governance only).
	Verified  bool   `json:"verified,omitempty"`
	VerifyOut string `json:"verify,omitempty"`
	Dir       string `json:"dir"`
}

// Sustained reports whether the collector kept up: every span stored, the
// sender reached 97% of the target rate (no back-pressure) and the
// collector caught up within 5 s of the load stopping.
func (r result) Sustained() bool {
	return r.Lost == 0 && r.SendErrors == 0 && r.SentPerSec >= 0.97*float64(r.Rate) && r.Drain <= 5*time.Second
}

// otlpSender is testbed.NewOTLPTraceDataSender without gzip: OTLP/gRPC
// with no compression, the OpenTelemetry SDKs' default. (The testbed's
// sender keeps the otlp exporter's gzip default; inflating it then costs the
// collector about a third of its CPU, the same in both pipelines, and the
// load generator more than it can spare on two cores.)
type otlpSender struct {
	testbed.DataSenderBase
	consumer.Traces
}

var _ testbed.TraceDataSender = (*otlpSender)(nil)

func (s *otlpSender) Start() error {
	f := otlpexporter.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpexporter.Config)
	cfg.ClientConfig.Endpoint = s.GetEndpoint().String()
	cfg.ClientConfig.Compression = configcompression.Type("none")
	cfg.ClientConfig.TLS = configtls.ClientConfig{Insecure: true}
	// As the testbed's sender: no retries and no queue, every request is
	// sent from the load generator's goroutine and an error is counted.
	cfg.RetryConfig.Enabled = false
	cfg.QueueConfig = configoptional.Default(*cfg.QueueConfig.Get())
	exp, err := f.CreateTraces(context.Background(), exportertest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		return err
	}
	s.Traces = exp
	return exp.Start(context.Background(), componenttest.NewNopHost())
}

// GenConfigYAMLStr is unused: the collector configs are written whole.
func (*otlpSender) GenConfigYAMLStr() string { return "" }
func (*otlpSender) ProtocolName() string     { return "otlp" }

// freePort returns a free TCP port on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// noValidator satisfies testbed.TestCaseValidator: the mock backend
// receives nothing here (both pipelines end in files), so loss is counted
// from the files by runScenario itself.
type noValidator struct{}

func (noValidator) Validate(*testbed.TestCase)      {}
func (noValidator) RecordResults(*testbed.TestCase) {}

// cpuTimes returns the user+system CPU time of a process.
func cpuTimes(p *process.Process) time.Duration {
	if p == nil {
		return 0
	}
	ts, err := p.Times()
	if err != nil {
		return 0
	}
	return time.Duration((ts.User + ts.System) * float64(time.Second))
}

// childrenCPU returns the CPU time of this process's reaped children.
func childrenCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// selfCPU returns the CPU time of this (the test) process.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineCPU returns the busy CPU time of the whole machine (all CPUs,
// from /proc/stat: everything but idle and iowait).
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 && i < 8 {
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / 100 // USER_HZ
}

// runScenario starts the distribution with pipeline p, offers GenAI spans
// at rate spans/s for d — from the testbed's load generator, or from fl's
// SDK senders if fl is set — waits for the collector to go idle, stops it
// (which seals the archive) and counts what was stored.
func runScenario(t *testing.T, p pipeline, rate int, d time.Duration, fl *flood) result {
	dir, err := filepath.Abs(filepath.Join("results", t.Name()))
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	grpcPort, pprofPort := freePort(t), freePort(t)
	exe := filepath.Join(binDir, "otelcol-govaudit")
	opts := []testbed.ChildProcessOption{
		testbed.WithAgentExePath(exe),
		// As contrib's scenarios do: the collector gets the machine's 2 cores.
		testbed.WithEnvVar("GOMAXPROCS", "2"),
	}
	var args []string
	switch p {
	case governance:
		data := filepath.Join(dir, "data")
		makeKeys(t, data)
		overlay := writeFile(t, dir, "pprof.yaml", fmt.Sprintf(`extensions:
  pprof:
    endpoint: 127.0.0.1:%d
service:
  extensions: [file_storage/govaudit, health_check, pprof]
`, pprofPort))
		args = []string{"--config", quickstart, "--config", overlay}
		for k, v := range map[string]string{
			"GOVAUDIT_DATA":               data,
			"GOVAUDIT_ORIGIN":             "loadtest",
			"GOVAUDIT_OTLP_GRPC_ENDPOINT": fmt.Sprintf("127.0.0.1:%d", grpcPort),
			"GOVAUDIT_OTLP_HTTP_ENDPOINT": fmt.Sprintf("127.0.0.1:%d", freePort(t)),
			"GOVAUDIT_MLEVENTS_ENDPOINT":  fmt.Sprintf("127.0.0.1:%d", freePort(t)),
			"GOVAUDIT_HEALTH_ENDPOINT":    fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		} {
			opts = append(opts, testbed.WithEnvVar(k, v))
		}
	case baseline:
		cfg := writeFile(t, dir, "baseline.yaml", fmt.Sprintf(baselineConfig, pprofPort, grpcPort, filepath.Join(dir, "spans.json")))
		args = []string{"--config", cfg}
	}

	agent := testbed.NewChildProcessCollector(opts...)
	sender := &otlpSender{DataSenderBase: testbed.DataSenderBase{Host: "127.0.0.1", Port: grpcPort}}
	provider := newGenAIProvider(perBatch)
	tc := testbed.NewTestCase(t, provider, sender, testbed.NewOTLPDataReceiver(0), agent, noValidator{}, nil,
		testbed.WithSkipResults(),
		// Limits high enough never to trip: they switch the testbed's
		// CPU and RSS sampling on.
		testbed.WithResourceLimits(testbed.ResourceSpec{ExpectedMaxCPU: 10_000, ExpectedMaxRAM: 64 << 10, ResourceCheckPeriod: time.Second}))
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			tc.Stop()
		}
	})

	tc.StartAgent(args...)
	var mon *process.Process
	if pm, ok := agent.(interface{ GetProcessMon() *process.Process }); ok {
		// Set by the resource watcher once the process runs.
		tc.WaitFor(func() bool { mon = pm.GetProcessMon(); return mon != nil }, "process monitor")
	}
	if p == governance {
		waitHealthy(t, tc)
	}

	cpuStart, loadStart := cpuTimes(mon), time.Now()
	selfStart, machineStart := selfCPU(), machineCPU()
	var firstSend time.Time
	var sentBefore uint64
	if fl != nil {
		if err := fl.start(fmt.Sprintf("127.0.0.1:%d", grpcPort)); err != nil {
			t.Fatal(err)
		}
		firstSend = time.Now()
	} else {
		tc.StartLoad(testbed.LoadOptions{DataItemsPerSecond: rate, ItemsPerBatch: perBatch, Parallel: senders(rate)})
		tc.WaitFor(func() bool { return tc.LoadGenerator.DataItemsSent() > 0 }, "load generator started")
		// The send rate is taken from the first request on, so that the
		// sender's start-up (a gRPC connection) does not count as
		// back-pressure.
		firstSend, sentBefore = time.Now(), tc.LoadGenerator.DataItemsSent()
	}
	profile := profileName(p, rate)
	if profile != "" && fl == nil {
		go captureProfile(t, pprofPort, filepath.Join(dir, profile), d-2*time.Second)
	}
	tc.Sleep(d)
	r := result{Pipeline: p, Rate: rate, Dir: dir}
	if fl != nil {
		// The applications stop recording, then shut their SDKs down,
		// which exports what their queues hold.
		close(fl.stop)
		fl.wg.Wait()
		r.Sent = fl.generated.Load()
	} else {
		tc.StopLoad()
		r.Sent = tc.LoadGenerator.DataItemsSent()
	}
	loadEnd := time.Now()
	cpuLoad := cpuTimes(mon) - cpuStart
	self, machine := selfCPU()-selfStart, machineCPU()-machineStart
	r.Duration = loadEnd.Sub(loadStart)
	if fl != nil {
		fl.shutdown(30 * time.Second)
		r.Senders, r.SDKDropped, r.ExportFailed = fl.senders, fl.dropped(), fl.failed.Load()
		r.SendErrors = r.SDKDropped + r.ExportFailed
	} else {
		r.SendErrors = tc.LoadGenerator.PermanentErrors()
		if ps, ok := tc.LoadGenerator.(*testbed.ProviderSender); ok {
			r.SendErrors += ps.NonPermanentErrors()
		}
	}
	r.SentPerSec = float64(r.Sent-sentBefore) / loadEnd.Sub(firstSend).Seconds()
	r.CPUPercent = 100 * cpuLoad.Seconds() / r.Duration.Seconds()
	r.GeneratorCPUPercent = 100 * self.Seconds() / r.Duration.Seconds()
	r.OtherCPUPercent = max(0, 100*(machine-self-cpuLoad).Seconds()/r.Duration.Seconds())
	r.Drain = waitIdle(mon, 60*time.Second)

	// Stopping the collector seals the last Parquet file; the collector's
	// CPU time including that work is known once it has been reaped.
	before := childrenCPU()
	tc.Stop()
	stopped = true
	if total := childrenCPU() - before; total > 0 && r.Sent > 0 {
		r.CPUPerSpan = (total - cpuStart) / time.Duration(r.Sent)
	}
	rc := agent.GetTotalConsumption()
	r.CPUMaxPercent, r.RSSMaxMiB, r.RSSAvgMiB = rc.CPUPercentMax, rc.RAMMiBMax, rc.RAMMiBAvg

	switch p {
	case governance:
		archiveDir := filepath.Join(dir, "data", "audit")
		r.OutputBytes = dirSize(t, archiveDir)
		r.Stored, r.Verified, r.VerifyOut = verifyArchive(t, filepath.Join(dir, "data", "keys", "govaudit-dev.pub"), archiveDir)
		if !r.Verified {
			t.Errorf("govaudit verify failed on %s:\n%s", archiveDir, r.VerifyOut)
		}
	case baseline:
		r.Stored, r.OutputBytes = countJSONSpans(t, filepath.Join(dir, "spans.json"))
	}
	r.Lost = int64(r.Sent) - int64(r.Stored)
	if fl != nil {
		t.Logf("flood of %d SDK senders: %d spans recorded, %d dropped in the SDK queues, %d in exports that failed, %d archived",
			fl.senders, r.Sent, r.SDKDropped, r.ExportFailed, r.Stored)
	}
	t.Logf("%s at %d spans/s: sent %d (%.0f/s), stored %d, lost %d, CPU %.0f%% (max %.0f%%), %.1f µs CPU/span, RSS max %d MiB, drain %s; load generator %.0f%% CPU, other processes %.0f%%",
		p, rate, r.Sent, r.SentPerSec, r.Stored, r.Lost, r.CPUPercent, r.CPUMaxPercent, float64(r.CPUPerSpan.Nanoseconds())/1e3, r.RSSMaxMiB, r.Drain.Round(10*time.Millisecond),
		r.GeneratorCPUPercent, r.OtherCPUPercent)
	return r
}

// baselineConfig: the same receiver and memory limiter settings as the
// governance pipeline, a batch processor and contrib's file exporter (OTLP
// JSON, one line per batch).
const baselineConfig = `extensions:
  pprof:
    endpoint: 127.0.0.1:%d
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
    spike_limit_percentage: 20
  batch:
    send_batch_size: 1024
    timeout: 200ms
exporters:
  file:
    path: %s
    format: json
service:
  extensions: [pprof]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [file]
  telemetry:
    metrics:
      level: none
`

// senders returns how many goroutines offer load. The testbed sends each
// request synchronously from a ticker (a tick that comes while the previous
// request is still running is dropped), and the governance pipeline maps
// spans inside the OTLP call; one client per 2,500 spans/s (25 requests/s,
// at least 4) keeps the offered rate from depending on one request's
// latency, as many independent SDK exporters would.
func senders(rate int) int { return max(4, rate/2_500) }

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// makeKeys creates the signing and digest keys the quickstart config
// expects under data/keys, as scripts/quickstart.sh does.
func makeKeys(t *testing.T, data string) {
	t.Helper()
	keys := filepath.Join(data, "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(binDir, "govaudit"), "keygen", "--name", "govaudit-dev", "--out", keys).CombinedOutput()
	if err != nil {
		t.Fatalf("govaudit keygen: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(keys, "digest.key"), []byte(strings.Repeat("5a", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitHealthy waits until the collector's OTLP gRPC port accepts
// connections (StartAgent already waited) and it logged that it is ready.
func waitHealthy(t *testing.T, tc *testbed.TestCase) {
	t.Helper()
	tc.WaitForN(func() bool { return tc.AgentLogsContains("Everything is ready") }, 30*time.Second, "collector ready")
}

// waitIdle waits until the process used under 5% of a core over 500 ms,
// and returns how long that took.
func waitIdle(mon *process.Process, limit time.Duration) time.Duration {
	start := time.Now()
	if mon == nil {
		time.Sleep(5 * time.Second)
		return time.Since(start)
	}
	prev := cpuTimes(mon)
	for time.Since(start) < limit {
		time.Sleep(500 * time.Millisecond)
		cur := cpuTimes(mon)
		if cur-prev < 25*time.Millisecond {
			return time.Since(start) - 500*time.Millisecond
		}
		prev = cur
	}
	return time.Since(start)
}

// verifyArchive runs `govaudit verify --json` and returns the number of
// span records in the archive and whether it verified. Every leaf is a
// span's record except the first of each log, the auditsign processor's
// epoch-start record.
func verifyArchive(t *testing.T, pub, dir string) (uint64, bool, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "govaudit"), "verify", "--json", "--key", pub, dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var rep struct {
		OK       bool              `json:"ok"`
		Records  uint64            `json:"records"`
		Problems []json.RawMessage `json:"problems"`
		Warnings []json.RawMessage `json:"warnings"`
		Logs     []struct {
			Leaves   uint64 `json:"leaves"`
			Verified uint64 `json:"verified_size,string"` // a decimal string
		} `json:"logs"`
	}
	if jerr := json.Unmarshal(stdout.Bytes(), &rep); jerr != nil {
		t.Errorf("govaudit verify: %v (%v)\n%s", err, jerr, stderr.String())
		return 0, false, stderr.String()
	}
	var leaves, verified uint64
	for _, l := range rep.Logs {
		leaves += l.Leaves
		verified += l.Verified
	}
	summary := fmt.Sprintf("ok=%v records=%d leaves=%d verified=%d problems=%d warnings=%d",
		rep.OK, rep.Records, leaves, verified, len(rep.Problems), len(rep.Warnings))
	if !rep.OK {
		n := min(len(rep.Problems), 5)
		for _, p := range rep.Problems[:n] {
			summary += "\n  " + string(p)
		}
	}
	return leaves - uint64(len(rep.Logs)), rep.OK && err == nil, summary
}

// countJSONSpans counts the spans in the file exporter's OTLP JSON output
// (one ExportTraceServiceRequest per line) and returns the file size. It
// counts `"spanId":` keys: the generated spans have no links or events,
// and parentSpanId does not match.
func countJSONSpans(t *testing.T, path string) (uint64, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	key := []byte(`"spanId":`)
	var n uint64
	var size int64
	// buf holds the last len(key)-1 bytes of the previous chunk, too short
	// to hold a whole key, so no key is counted twice.
	buf := make([]byte, 0, 4<<20+len(key))
	for {
		carry := len(buf)
		m, err := f.Read(buf[carry:cap(buf)])
		buf = buf[:carry+m]
		size += int64(m)
		n += uint64(bytes.Count(buf, key))
		keep := min(len(buf), len(key)-1)
		buf = append(buf[:0], buf[len(buf)-keep:]...)
		if err == io.EOF {
			return n, size
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// captureProfile saves a CPU profile of the collector from its pprof
// extension.
func captureProfile(t *testing.T, port int, path string, d time.Duration) {
	secs := max(1, int(d.Seconds()))
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", port, secs))
	if err != nil {
		t.Logf("cpu profile: %v", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		t.Logf("cpu profile: %v", err)
		return
	}
	defer f.Close()
	io.Copy(f, resp.Body)
}
