package auditparquetexporter

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/govaudit/govaudit/exporter/auditparquetexporter/internal/metadata"
	"github.com/govaudit/govaudit/internal/record"
)

const (
	crashDirEnv  = "AUDITPARQUET_CRASH_DIR"
	crashFromEnv = "AUDITPARQUET_CRASH_FROM"
	crashOrigin  = "crash-origin"
	crashEpoch   = 5
)

func crashBatchSize(k int) int { return 1 + k*7%13 }

// crashBatches returns batches 0..n-1 of the crash test's stream.
func crashBatches(t testing.TB, n int) [][]record.Record {
	s := newStream(crashOrigin, crashEpoch)
	out := make([][]record.Record, n)
	for k := range out {
		out[k] = s.batch(t, crashBatchSize(k))
	}
	return out
}

// TestCrashChild is the writer process of TestCrash: it sends batches from
// $AUDITPARQUET_CRASH_FROM on, printing "ack <k>" once batch k is
// acknowledged, until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process of TestCrash")
	}
	from, err := strconv.Atoi(os.Getenv(crashFromEnv))
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(dir)
	cfg.Rotation.MaxRows = 37
	exp := startExporter(t, cfg, exportertest.NewNopSettings(metadata.Type))
	s := newStream(crashOrigin, crashEpoch)
	for k := 0; k < 100_000; k++ {
		b := s.batch(t, crashBatchSize(k)) // as crashBatches, generated lazily
		if k < from {
			continue
		}
		consume(t, exp, b)
		fmt.Printf("ack %d\n", k)
	}
}

// TestCrash kills a writer subprocess with SIGKILL mid-stream, three times,
// each time restarting from the last batch it acknowledged (the persistent
// queue redelivers at least once), then finishes in process. Every
// acknowledged record must be in the sealed archive exactly once, in order.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	root := t.TempDir()
	from := 0
	for _, killAt := range []int{20, 45, 90} {
		last := runAndKill(t, root, from, killAt)
		if last < killAt {
			t.Fatalf("child stopped at batch %d before being killed", last)
		}
		t.Logf("killed after batch %d was acknowledged", last)
		from = last // redeliver the last acknowledged batch
	}
	// Final run in process: recover, receive the redelivery and a few more.
	end := from + 4
	batches := crashBatches(t, end)
	exp := startExporter(t, testConfig(root), exportertest.NewNopSettings(metadata.Type))
	for _, b := range batches[from:] {
		consume(t, exp, b)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	var want []record.Record
	for _, b := range batches {
		want = append(want, b...)
	}
	checkArchive(t, root, want)
}

// runAndKill runs the child from batch from, kills it with SIGKILL once it
// acknowledged batch killAt, and returns the last batch it acknowledged.
func runAndKill(t *testing.T, root string, from, killAt int) int {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+root, crashFromEnv+"="+strconv.Itoa(from))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	last := -1
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() { // read to EOF: acks printed before the kill landed count too
		k, ok := strings.CutPrefix(sc.Text(), "ack ")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(k)
		if err != nil {
			t.Fatal(err)
		}
		last = n
		if n >= killAt && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !killed || !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL (%v): %s", err, stderr.String())
	}
	return last
}
