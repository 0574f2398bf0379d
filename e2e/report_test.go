package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReportHTMLInChromium: the HTML report of the quickstart's archive
// (real spans, content events and a review) loads in headless Chromium
// (Debian's chromium) with its charts, without a console message, a
// refused load or a network error.
func TestReportHTMLInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (apt-get install chromium): HTML report not rendered")
	}
	e, _ := pipeline(t)
	page := filepath.Join(e.data, "report.html")
	out, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd := exec.Command(filepath.Join(e.bin, "govaudit"), "report", "--key", e.pub, "--format", "html", filepath.Join(e.data, "audit"))
	cmd.Stdout, cmd.Stderr = out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("govaudit report --format html: %v\n%s", err, stderr.String())
	}
	out.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stderr.Reset()
	browser := exec.CommandContext(ctx, chromium, "--headless", "--disable-gpu", "--no-sandbox",
		"--user-data-dir="+filepath.Join(e.data, "chromium"), "--enable-logging=stderr", "--v=0",
		"--host-resolver-rules=MAP * ~NOTFOUND", "--dump-dom", "file://"+page)
	browser.Stderr = &stderr
	dom, err := browser.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{`data-verified="true"`, `data-chart="decisions-per-day"`, `data-chart="tokens"`,
		`data-chart="rates"`, `data-chart="oversight"`, "gpt-4o", "decision.reviewed", "<polyline"} {
		if !strings.Contains(string(dom), want) {
			t.Errorf("rendered report lacks %q", want)
		}
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "CONSOLE") || strings.Contains(line, "Refused to") || strings.Contains(line, "net::ERR_") {
			t.Errorf("chromium: %s", line)
		}
	}
}
