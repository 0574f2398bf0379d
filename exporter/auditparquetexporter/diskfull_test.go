package auditparquetexporter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/govaudit/govaudit/internal/record"
	"github.com/govaudit/govaudit/receiver/mleventsreceiver"
)

// diskFullClientTimeout is the client's patience: a request not answered
// within it counts as blocked (issue 11: under disk full a request blocked
// until the client's timeout). The time each answer took is logged; it is
// not asserted against a tighter bound, since the machine may be shared.
const diskFullClientTimeout = 10 * time.Second

// TestDiskFullAnswersQuickly runs mlevents -> auditsign -> auditparquet with
// the exporter's default configuration (no sending queue, no retry) and
// fills the disk: every request is then answered at once with a retryable
// error (503 with Retry-After), not held until the client gives up; once
// space is back, requests succeed again. Every acknowledged record is
// archived exactly once, no refused one is, and the archive verifies.
//
//   - enospc: the write-ahead log's segment creation and writes fail with
//     ENOSPC (failpoint);
//   - tmpfs: the archive and auditsign's state live on a 4 MiB tmpfs filled
//     to the last byte (a real ENOSPC, wherever it strikes); needs the
//     privilege to mount, skipped without it.
func TestDiskFullAnswersQuickly(t *testing.T) {
	t.Run("enospc", func(t *testing.T) {
		inj := newInjector()
		setWriterHook(t, func(w *archiveWriter) { w.fail = inj.fail })
		env := newPipelineEnv(t)
		runDiskFull(t, env, func(t *testing.T) {
			inj.arm(-1, stepSegmentCreate, stepWALWrite)
		}, func(t *testing.T) {
			if inj.count(stepSegmentCreate)+inj.count(stepWALWrite) == 0 {
				t.Fatal("the injected ENOSPC never fired")
			}
			inj.clear()
		})
	})
	t.Run("tmpfs", func(t *testing.T) {
		if runtime.GOOS != "linux" {
			t.Skip("tmpfs is Linux")
		}
		mnt := t.TempDir()
		if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=4m"); err != nil {
			t.Skipf("cannot mount a tmpfs (needs CAP_SYS_ADMIN): %v", err)
		}
		t.Cleanup(func() {
			if err := syscall.Unmount(mnt, 0); err != nil {
				t.Errorf("unmount %s: %v", mnt, err)
			}
		})
		env := newPipelineEnv(t)
		env.archive, env.storage = filepath.Join(mnt, "audit"), filepath.Join(mnt, "storage")
		for _, d := range []string{env.archive, env.storage} {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		filler := filepath.Join(mnt, "filler")
		runDiskFull(t, env, func(t *testing.T) {
			fill(t, filler)
		}, func(t *testing.T) {
			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// runDiskFull sends requests to mlevents before, during (between full and
// free) and after a full disk, and checks the answers and the archive.
func runDiskFull(t *testing.T, env *pipelineEnv, full, free func(t *testing.T)) {
	env.exporterConfig = func(c *Config) {
		d := createDefaultConfig().(*Config)
		d.Directory, d.SigningKeyFile = c.Directory, c.SigningKeyFile
		*c = *d
	}
	c := env.start(t)
	url := startMLEvents(t, c)
	client := &http.Client{Timeout: diskFullClientTimeout}
	acked := map[string]bool{}
	seq := 0
	send := func() (int, time.Duration, mleventsResponse) {
		t.Helper()
		seq++
		body := fmt.Sprintf(`{"specversion":"1.0","id":"ev-%d","source":"/reviews","type":"dev.govaudit.decision.reviewed",`+
			`"data":{"reviewer":"r","outcome":"approved","decision_id":"d-%d"}}`, seq, seq)
		start := time.Now()
		resp, err := client.Post(url, "application/cloudevents+json", bytes.NewReader([]byte(body)))
		took := time.Since(start)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("request %d blocked: no answer within the client's %s", seq, diskFullClientTimeout)
			}
			t.Fatalf("request %d: %v", seq, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var res mleventsResponse
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Fatalf("request %d: %d %s", seq, resp.StatusCode, raw)
		}
		if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
			t.Errorf("request %d: 503 without Retry-After", seq)
		}
		if resp.StatusCode == http.StatusOK {
			for _, r := range res.Records {
				acked[r.RecordID] = true
			}
		}
		return resp.StatusCode, took, res
	}
	for range 3 {
		if status, took, res := send(); status != http.StatusOK {
			t.Fatalf("before the disk is full: %d %s (%s)", status, res.Error, took)
		}
	}
	full(t)
	// A write may still fit in the last page a file already holds (tmpfs):
	// such a request is durable and rightly acknowledged. Every other answer
	// must be a quick 503.
	var slowest time.Duration
	refused := 0
	for k := 0; refused < 5; k++ {
		if k == 20 {
			t.Fatalf("only %d of 20 requests refused under disk full", refused)
		}
		status, took, res := send()
		switch status {
		case http.StatusOK:
			continue
		case http.StatusServiceUnavailable:
		default:
			t.Errorf("disk full: status %d (%s), want 503 (retryable)", status, res.Error)
		}
		if refused == 0 {
			t.Logf("first refusal under disk full (request %d): %d in %s: %s", k+1, status, took.Round(time.Millisecond), res.Error)
		}
		refused++
		slowest = max(slowest, took)
	}
	t.Logf("5 requests refused under disk full, the slowest answered in %s", slowest.Round(time.Millisecond))
	free(t)
	for range 3 {
		if status, took, res := send(); status != http.StatusOK {
			t.Errorf("space back: %d %s (%s)", status, res.Error, took)
		}
	}
	if err := c.stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	got := archivedIDs(t, env.archive)
	for id := range acked {
		if got[id] != 1 {
			t.Errorf("acknowledged record %s archived %d times", id, got[id])
		}
	}
	n := 0
	for _, r := range readArchive(t, env.archive) {
		if r.SourceConvention == record.SourceMLEvents {
			n++
		}
	}
	if n != len(acked) {
		t.Errorf("%d mlevents records archived, %d acknowledged: refused ones archived", n, len(acked))
	}
	if rep := verifyArchive(t, env.archive, env.verifier); !rep.OK() {
		t.Errorf("the archive does not verify:\n%s", reportText(rep))
	}
}

// mleventsResponse is mlevents' answer, as far as these tests read it.
type mleventsResponse struct {
	Error   string `json:"error"`
	Records []struct {
		RecordID string `json:"record_id"`
	} `json:"records"`
}

// startMLEvents starts an mlevents receiver (made by its factory) on
// 127.0.0.1 in front of c's auditsign processor and returns its
// CloudEvents URL.
func startMLEvents(t *testing.T, c *collector) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	f := mleventsreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*mleventsreceiver.Config)
	cfg.NetAddr.Endpoint = addr
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	rcv, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, c.proc)
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rcv.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return "http://" + addr + "/v1/events"
}

// fill writes path until its file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	// The last bytes: a smaller write may still fit.
	for _, n := range []int{4096, 512, 1} {
		for {
			if _, err := f.Write(buf[:n]); err != nil {
				break
			}
		}
	}
}
