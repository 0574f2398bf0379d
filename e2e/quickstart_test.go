package e2e

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQuickstartPortInUse: `make run` (scripts/quickstart.sh) stops before
// creating keys or starting the collector when a port it would listen on is
// taken, naming the address and the GOVAUDIT_* variable that moves it. It
// needs no binaries: every quickstart port points at one busy listener.
func TestQuickstartPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().String()
	vars := []string{"GOVAUDIT_OTLP_GRPC_ENDPOINT", "GOVAUDIT_OTLP_HTTP_ENDPOINT", "GOVAUDIT_MLEVENTS_ENDPOINT",
		"GOVAUDIT_HEALTH_ENDPOINT", "GOVAUDIT_PROMETHEUS_ENDPOINT"}
	data := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "../scripts/quickstart.sh")
	cmd.Env = append(os.Environ(), "GOVAUDIT_DATA="+data)
	for _, v := range vars {
		cmd.Env = append(cmd.Env, v+"="+busy)
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("quickstart.sh with busy ports: exit %d (%v), want 1\nstdout:\n%s\nstderr:\n%s", code, err, stdout.String(), stderr.String())
	}
	for _, v := range vars {
		if want := busy + " (" + v + ") is in use by another process"; !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if !strings.Contains(stderr.String(), "export GOVAUDIT_OTLP_HTTP_ENDPOINT=127.0.0.1:") {
		t.Errorf("stderr does not show how to move a port:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(data, "keys", "govaudit-dev.key")); err == nil {
		t.Errorf("keys created although the collector cannot start")
	}
}
