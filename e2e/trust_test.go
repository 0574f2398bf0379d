package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// post sends one OTLP/JSON request of n chat spans and reports whether the
// collector acknowledged it.
func post(t *testing.T, e *env, seq, n int) bool {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Post("http://"+e.otlpHTTP+"/v1/traces", "application/json", bytes.NewReader(chatBatch(t, seq, n)))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// archivedTraces returns how often each trace id of crash-model spans is in
// the archive, read with the built govaudit query.
func archivedTraces(t *testing.T, e *env, audit string) map[string]int {
	t.Helper()
	code, out := e.govaudit(t, "query", audit, "--model", "crash-model", "--format", "json")
	if code != 0 {
		t.Fatalf("query: exit %d\n%s", code, out)
	}
	n := map[string]int{}
	for _, r := range parseRecords(t, out) {
		n[r.TraceID]++
	}
	return n
}

// The seal of a data file fails (records/ replaced by a plain file, as a
// full or broken disk would) while batches cross max_rows: every
// acknowledged span is archived exactly once when the disk is back, and the
// archive verifies by default.
func TestSealFailureKeepsAcknowledgedRecords(t *testing.T) {
	e := newEnv(t)
	e.args = []string{"--set=exporters::auditparquet::rotation::max_rows=4"}
	c := startCollector(t, e)
	audit := filepath.Join(e.data, "audit")
	const perBatch = 3
	var acked []int
	records := filepath.Join(audit, "records")
	// Until a first file is sealed (a file is sealed once full and covered
	// by a checkpoint, signed every second here).
	for seq := 0; ; seq++ {
		if seq == 20 {
			t.Fatal("no data file sealed after 20 batches")
		}
		if !post(t, e, seq, perBatch) {
			t.Fatalf("batch %d refused before the fault", seq)
		}
		acked = append(acked, seq)
		if _, err := os.Stat(records); err == nil {
			break
		}
		time.Sleep(700 * time.Millisecond)
	}
	first := len(acked)
	must(t, os.Rename(records, records+".away"))
	must(t, os.WriteFile(records, []byte("not a directory"), 0o644))
	for seq := 100; seq < 108; seq++ {
		if post(t, e, seq, perBatch) {
			acked = append(acked, seq)
		}
		time.Sleep(300 * time.Millisecond) // checkpoints come in between: files fall due
	}
	if len(acked) < first+8 {
		t.Errorf("only %d of 8 batches acknowledged while sealing fails: durable records must be acknowledged", len(acked)-first)
	}
	must(t, os.Remove(records))
	must(t, os.Rename(records+".away", records))
	for seq := 200; seq < 202; seq++ {
		if post(t, e, seq, perBatch) {
			acked = append(acked, seq)
		}
	}
	c.stop()
	log, err := os.ReadFile(c.logf.Name())
	must(t, err)
	if !strings.Contains(string(log), "not a directory") {
		t.Errorf("the collector never failed to seal (the fault did not fire):\n%s", log)
	}

	if code, out := e.govaudit(t, "verify", "--key", e.pub, audit); code != 0 {
		t.Fatalf("verify after a seal failure: exit %d\n%s", code, out)
	}
	got := archivedTraces(t, e, audit)
	for _, seq := range acked {
		for i := 0; i < perBatch; i++ {
			id := fmt.Sprintf("%032x", seq*perBatch+i+1)
			if got[id] != 1 {
				t.Errorf("acknowledged span of trace %s archived %d times, want 1", id, got[id])
			}
		}
	}
	if len(got) != len(acked)*perBatch {
		t.Errorf("%d spans archived, %d acknowledged", len(got), len(acked)*perBatch)
	}
}

// A second collector pointed at the same archive directory (with its own
// storage and origin) refuses to start, naming the directory; the first
// keeps acknowledging and loses nothing.
func TestSecondCollectorOnArchiveRefused(t *testing.T) {
	e := newEnv(t)
	audit := filepath.Join(e.data, "audit")
	c := startCollector(t, e)
	if !post(t, e, 0, 5) {
		t.Fatal("first batch refused")
	}

	e2 := *e
	e2.data = t.TempDir()
	must(t, os.MkdirAll(filepath.Join(e2.data, "keys"), 0o755))
	for _, name := range []string{"govaudit-dev.key", "digest.key"} {
		b, err := os.ReadFile(filepath.Join(e.data, "keys", name))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(e2.data, "keys", name), b, 0o600))
	}
	e2.args = []string{"--set=exporters::auditparquet::directory=" + audit, "--set=processors::auditsign::origin=intruder"}
	code, log := runToExit(t, &e2, 60*time.Second)
	if code == 0 {
		t.Fatalf("a second collector on %s started:\n%s", audit, log)
	}
	if !strings.Contains(log, audit) || !strings.Contains(log, "in use") {
		t.Errorf("the refusal does not name the directory and its holder:\n%s", log)
	}

	if !post(t, e, 1, 5) {
		t.Fatal("the first collector stopped acknowledging")
	}
	c.stop()
	if code, out := e.govaudit(t, "verify", "--key", e.pub, audit); code != 0 {
		t.Fatalf("verify: exit %d\n%s", code, out)
	}
	if got := archivedTraces(t, e, audit); len(got) != 10 {
		t.Errorf("%d spans archived, want the 10 acknowledged", len(got))
	}
}

// runToExit runs a collector that is expected to exit by itself and returns
// its exit code and log.
func runToExit(t *testing.T, e *env, timeout time.Duration) (int, string) {
	t.Helper()
	cmd, logf, _ := e.command(t)
	defer logf.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
	}
	b, err := os.ReadFile(logf.Name())
	must(t, err)
	return cmd.ProcessState.ExitCode(), string(b)
}
