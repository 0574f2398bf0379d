package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 12345: "12,345",
		1234567: "1,234,567", -1234: "-1,234", 100000: "100,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// writeDecisions writes rows as one signed epoch of origin host-r: leaves,
// a checkpoint after the last, the checkpoint file and latest.
func writeDecisions(t *testing.T, root, keyFile string, rows []record.Record) {
	t.Helper()
	signer, err := auditlog.LoadSigner(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	const origin, epoch = "host-r", uint64(7)
	tree := auditlog.NewTree()
	for i := range rows {
		rows[i].SetLeaf(origin, epoch, uint64(i))
		tree.Append(rows[i].LeafHash)
	}
	text, err := auditlog.Sign(signer, origin, epoch, tree.Size(), tree.Root())
	if err != nil {
		t.Fatal(err)
	}
	rows = append(rows, record.Record{SchemaVersion: 1, ID: "cp-7", Type: record.TypeCheckpoint, Origin: origin, Epoch: epoch, Checkpoint: text})
	writeFile(t, root, archive.CheckpointPath(origin, epoch, tree.Size()), []byte(text))
	writeFile(t, root, archive.LatestPath(origin), []byte(text))
	writeRows(t, root, archive.DataPath(origin, t0), rows)
	if err := archive.SignUnlisted(root, signer); err != nil { // the exporter's signed manifest of the seal
		t.Fatal(err)
	}
}

// reportArchive writes decisions over three days by two versions of one
// model and a hostile model name, with errors, refusals, tokens, oversight
// and lifecycle events (out of time order), and with copied, records that
// no trusted checkpoint covers.
func reportArchive(t *testing.T, copied bool) (root, pub string) {
	dir := t.TempDir()
	key, pub := keys(t, dir, "k1")
	otherKey, _ := keys(t, dir, "k2")
	root = filepath.Join(dir, "audit")
	tok := func(v int64) *int64 { return &v }
	var rows []record.Record
	day := 24 * time.Hour
	for i := 0; i < 1200; i++ {
		r := record.Record{SchemaVersion: 1, ID: fmt.Sprintf("d-%04d", i), Type: record.TypeInference, Provider: "acme",
			RequestModel: "credit-risk", ModelVersion: "3", StartTime: t0.Add(time.Duration(i%3) * day).UnixNano(),
			TraceID: fmt.Sprintf("%032x", i+1), InputTokens: tok(1000), OutputTokens: tok(10), FinishReasons: []string{"stop"}}
		if i%2 == 1 {
			r.ModelVersion = "4"
		}
		if i%100 == 0 {
			r.StatusCode, r.ErrorType = "error", "timeout"
		}
		if i%50 == 7 {
			r.FinishReasons = []string{"content_filter"}
		}
		if i == 5 {
			r.Flags = []string{record.FlagTruncated, record.FieldFlag(record.FlagTruncated, "user_id")}
		}
		rows = append(rows, r)
	}
	hostile := record.Record{SchemaVersion: 1, ID: "d-hostile", Type: record.TypeInference, RequestModel: `<script>alert(1)</script>`,
		StartTime: t0.UnixNano(), UserID: `"><img src=x onerror=alert(2)>`}
	rows = append(rows, hostile)
	ev := func(id string, typ record.Type, name string, at time.Duration, f func(*record.Record)) record.Record {
		r := record.Record{SchemaVersion: 1, ID: id, Type: typ, EventName: name, StartTime: t0.Add(at).UnixNano(), UserID: "ops@example.com"}
		if f != nil {
			f(&r)
		}
		return r
	}
	rows = append(rows,
		ev("lc-late", record.TypeLifecycle, "model.promoted", 30*time.Hour, func(r *record.Record) { r.RequestModel, r.ModelVersion = "credit-risk", "4" }),
		ev("lc-early", record.TypeLifecycle, "model.registered", -2*time.Hour, func(r *record.Record) { r.RequestModel, r.ModelVersion = "credit-risk", "4" }),
		ev("cfg-1", record.TypeConfigChange, "policy.changed", 5*time.Hour, nil),
		ev("ov-1", record.TypeOversight, "decision.reviewed", time.Hour, func(r *record.Record) { r.Reference = "d-0002" }),
		ev("ov-2", record.TypeOversight, "decision.reviewed", 2*time.Hour, func(r *record.Record) { r.Reference = fmt.Sprintf("%032x", 4) }),
		ev("ov-3", record.TypeOversight, "decision.overridden", 3*time.Hour, func(r *record.Record) { r.RequestModel = "credit-risk" }),
	)
	writeDecisions(t, root, key, rows)
	if !copied {
		return root, pub
	}
	other, err := auditlog.LoadSigner(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	writeEpoch(t, root, other, epochSpec{origin: "host-b", epoch: 5, n: 3, batch: 3, signed: -1, opened: t0})
	return root, pub
}

func TestReportHTML(t *testing.T) {
	root, pub := reportArchive(t, true)
	code, out, stderr := runCmd(t, "report", "--key", pub, "--format", "html", root)
	if code != exitFailed { // host-b's records are covered by no trusted checkpoint
		t.Fatalf("report --format html: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{
		"<!DOCTYPE html>", `data-verified="false"`, "FAILED: ",
		`<td>k1</td>`, // the trusted key, with its hash and fingerprint
		`data-chart="decisions-per-day"`, `data-chart="rates"`, `data-chart="tokens"`, `data-chart="oversight"`, `data-chart="lifecycle-timeline"`,
		"1,201",                      // decisions, with a thousands separator
		`<td class="n">600,000</td>`, // input tokens of each version: 600 decisions x 1,000
		`<td class="n">2.0%</td>`,    // error rate of v3: 12 of 600 (i%100 == 0 is even)
		`<td class="n">4.0%</td>`,    // refusal rate of v4: 24 of 600 (i%50 == 7 is odd)
		"<td>2026-11-27</td>",        // decisions per day
		"(of the decision)",          // ov-1 and ov-2 resolved to the decision's model
		`<td class="n">1.7</td>`,     // 2 reviews per 1,200 credit-risk decisions, per 1,000
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		`<span class="unverified"`, "(3 unverified)",
		"<code>truncated:user_id</code>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	// Integrity first: before any other section.
	if i, j := strings.Index(out, `id="integrity"`), strings.Index(out, `id="records"`); i < 0 || j < i {
		t.Errorf("integrity section not first (%d, %d)", i, j)
	}
	// Lifecycle in time order whatever the archive order.
	if i, j, k := strings.Index(out, "<code>lc-early</code>"), strings.Index(out, "<code>cfg-1</code>"), strings.Index(out, "<code>lc-late</code>"); !(i >= 0 && i < j && j < k) {
		t.Errorf("lifecycle events not in time order: %d %d %d", i, j, k)
	}
	// Self-contained: nothing that loads a resource, no script.
	for _, re := range []string{`(?i)<script`, `(?i)\ssrc=`, `(?i)<link`, `(?i)url\(`, `(?i)@import`, `(?i)https?://[^"]*"`} {
		for _, m := range regexp.MustCompile(re).FindAllString(out, -1) {
			if m != `http://www.w3.org/2000/svg"` { // the SVG namespace name, never fetched
				t.Errorf("HTML report has %q", m)
			}
		}
	}
	for _, want := range []string{"| 2026-11-26 | credit-risk | 3 | 200 |", "### Oversight per 1,000 decisions", "| error rate |", "| trusted key |"} {
		if _, md, _ := runCmd(t, "report", "--key", pub, root); !strings.Contains(md, want) {
			t.Errorf("markdown report lacks %q", want)
		}
	}
	testChromium(t, out)
}

// testChromium loads the report in headless Chromium (Debian's chromium
// package) and checks that it renders its charts without a console message
// or a blocked request.
func testChromium(t *testing.T, page string) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (apt-get install chromium): HTML report not rendered in a browser")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := []string{"--headless", "--disable-gpu", "--no-sandbox", "--user-data-dir=" + filepath.Join(dir, "profile"),
		"--enable-logging=stderr", "--v=0", "--no-first-run", "--disable-extensions",
		// Any host lookup fails: a request to the network would show as an error.
		"--host-resolver-rules=MAP * ~NOTFOUND"}
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, bin, append(args, "--dump-dom", "file://"+file)...)
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{`data-chart="decisions-per-day"`, `data-chart="oversight"`, "<polyline", "<rect", `data-verified="false"`} {
		if !strings.Contains(string(dom), want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	if n := strings.Count(string(dom), "<svg"); n < 5 {
		t.Errorf("rendered DOM has %d svg charts, want 5", n)
	}
	// Console messages (CONSOLE), CSP violations ("Refused to") and failed
	// loads (net::ERR_) are logged to stderr with --enable-logging.
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "CONSOLE") || strings.Contains(line, "Refused to") || strings.Contains(line, "net::ERR_") {
			t.Errorf("chromium: %s", line)
		}
	}
	png := filepath.Join(dir, "report.png")
	cmd = exec.CommandContext(ctx, bin, append(args, "--screenshot="+png, "--window-size=1200,3000", "file://"+file)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	fi, err := os.Stat(png)
	if err != nil || fi.Size() < 10000 {
		t.Fatalf("screenshot %s: %v", png, err)
	}
	// GOVAUDIT_REPORT_SCREENSHOT=<file> keeps the screenshot, to look at.
	if keep := os.Getenv("GOVAUDIT_REPORT_SCREENSHOT"); keep != "" {
		b, _ := os.ReadFile(png)
		if err := os.WriteFile(keep, b, 0o644); err != nil {
			t.Error(err)
		}
	}
}

func TestReportHTMLVerified(t *testing.T) {
	root, pub := reportArchive(t, false)
	code, out, stderr := runCmd(t, "report", "--key", pub, "--format", "html", root)
	if code != exitOK {
		t.Fatalf("report --format html: exit %d\n%s\n%s", code, stderr, out)
	}
	for _, want := range []string{`data-verified="true"`, "all 1,207 records are covered by checkpoints signed with a trusted key"} {
		if !strings.Contains(out, want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	if strings.Contains(out, `class="unverified"`) {
		t.Error("a verified archive's report marks figures unverified")
	}
}

// Drift alerts sealed in the archive (records of type drift, as the
// decisionmetrics connector writes them) appear in every report format, in
// time order, with what crossed which threshold.
func TestReportDrift(t *testing.T) {
	dir := t.TempDir()
	key, pub := keys(t, dir, "k1")
	root := filepath.Join(dir, "audit")
	drift := func(id string, at time.Duration, feature, value string) record.Record {
		return record.Record{SchemaVersion: 1, ID: id, Type: record.TypeDrift, EventName: "drift.threshold_exceeded",
			StartTime: t0.Add(at).UnixNano(), RequestModel: "credit-risk", ModelVersion: "4",
			Attributes: `{"drift.feature":"` + feature + `","drift.statistic":"psi","drift.threshold":0.25,"drift.value":` + value + `}`}
	}
	rows := []record.Record{
		{SchemaVersion: 1, ID: "d-1", Type: record.TypeInference, RequestModel: "credit-risk", ModelVersion: "4", StartTime: t0.UnixNano()},
		drift("dr-late", 2*time.Hour, "score", "0.4159"),
		drift("dr-early", time.Hour, "predicted_class", "0.31"),
	}
	writeDecisions(t, root, key, rows)

	code, out, stderr := runCmd(t, "report", "--key", pub, root)
	if code != exitOK {
		t.Fatalf("report: exit %d\n%s\n%s", code, stderr, out)
	}
	early := strings.Index(out, "feature predicted_class: psi 0.31 > 0.25")
	late := strings.Index(out, "feature score: psi 0.4159 > 0.25")
	if !strings.Contains(out, "## Drift alerts") || early < 0 || late < 0 || early > late {
		t.Errorf("markdown report lacks the drift alerts in time order:\n%s", out)
	}

	code, out, stderr = runCmd(t, "report", "--key", pub, "--format", "json", root)
	if code != exitOK {
		t.Fatalf("report --format json: exit %d\n%s", code, stderr)
	}
	var rep struct {
		Drift []EventLine `json:"drift"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Drift) != 2 || rep.Drift[0].RecordID != "dr-early" || !rep.Drift[0].Verified || rep.Drift[1].Model != "credit-risk" {
		t.Errorf("JSON drift = %+v", rep.Drift)
	}

	code, out, _ = runCmd(t, "report", "--key", pub, "--format", "html", root)
	if code != exitOK || !strings.Contains(out, `id="drift"`) || !strings.Contains(out, "feature score: psi 0.4159 &gt; 0.25") {
		t.Errorf("HTML report lacks the drift alerts (exit %d)", code)
	}
}
