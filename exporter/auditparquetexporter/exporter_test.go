package auditparquetexporter

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/govaudit/govaudit/exporter/auditparquetexporter/internal/metadata"
	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/record"
)

// testConfig returns a config without sending queue, so that ConsumeLogs is
// synchronous: it returns when the records are durable or rejected.
func testConfig(dir string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Directory = dir
	cfg.SigningKeyFile = testKeyFile()
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.BackOffConfig.Enabled = false
	return cfg
}

func startExporter(t testing.TB, cfg *Config, set exporter.Settings) exporter.Logs {
	t.Helper()
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	return exp
}

func consume(t testing.TB, exp exporter.Logs, recs []record.Record) {
	t.Helper()
	if err := exp.ConsumeLogs(context.Background(), toLogs(recs)); err != nil {
		t.Fatal(err)
	}
}

// checkArchive checks the whole archive against the records sent, per
// origin in order: rows, checkpoint files, latest, indexes, permissions, and
// that no WAL segment or temporary file is left.
func checkArchive(t *testing.T, root string, sent []record.Record) {
	t.Helper()
	got := readArchive(t, root)
	byOrigin := func(recs []record.Record) map[string][]string {
		m := map[string][]string{}
		for _, r := range recs {
			m[r.Origin] = append(m[r.Origin], r.ID)
		}
		return m
	}
	if g, w := byOrigin(got), byOrigin(sent); !reflect.DeepEqual(g, w) {
		t.Fatalf("archive rows (by origin, in order) differ from the records sent:\n got %v\nwant %v", g, w)
	}
	latest := map[string]string{}
	for i := range got {
		r := &got[i]
		if r.IsLeaf() {
			if err := r.CheckLeafHash(); err != nil {
				t.Errorf("row %s: %v", r.ID, err)
			}
			continue
		}
		c, err := archive.CheckpointOfRow(r)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(root, archive.CheckpointPath(c.Origin, c.Epoch, c.Size)))
		if err != nil || string(b) != r.Checkpoint {
			t.Errorf("checkpoint file of %s size %d: %q, %v", c.Origin, c.Size, b, err)
		}
		latest[r.Origin] = r.Checkpoint
	}
	for origin, text := range latest {
		if b, err := os.ReadFile(filepath.Join(root, archive.LatestPath(origin))); err != nil || string(b) != text {
			t.Errorf("latest of %s = %q, %v; want the last checkpoint", origin, b, err)
		}
	}
	files, _ := archive.DataFiles(root)
	for _, f := range files {
		fi, err := os.Stat(filepath.Join(root, f))
		if err != nil || fi.Mode().Perm() != 0o444 {
			t.Errorf("%s: mode %v, %v; want 0444", f, fi.Mode(), err)
		}
		written, err := archive.ReadIndex(root, f)
		if err != nil {
			t.Fatal(err)
		}
		rebuilt, err := archive.BuildIndex(root, f)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(written, rebuilt) {
			t.Errorf("%s: written index differs from the rebuilt one:\n got %+v\nwant %+v", f, written, rebuilt)
		}
	}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, _ error) error {
		if strings.HasSuffix(p, archive.WALExt) || strings.HasSuffix(p, archive.TempSuffix) {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

func TestArchive(t *testing.T) {
	root := t.TempDir()
	cfg := testConfig(root)
	cfg.Rotation.MaxRows = 25
	exp := startExporter(t, cfg, exportertest.NewNopSettings(metadata.Type))
	a, b := newStream("host-a", 100), newStream("host-b", 200)
	var sent []record.Record
	batchOf := map[string]int{} // record id -> batch number
	for i := range 8 {
		ra, rb := a.batch(t, 3+i), b.batch(t, 7)
		consume(t, exp, append(append([]record.Record(nil), ra...), rb...)) // two origins in one batch
		sent = append(append(sent, ra...), rb...)
		for _, r := range append(append([]record.Record(nil), ra...), rb...) {
			batchOf[r.ID] = i
		}
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkArchive(t, root, sent)
	files, _ := archive.DataFiles(root)
	if len(files) < 4 {
		t.Fatalf("%d files, want rotation by max_rows", len(files))
	}
	// max_rows is a threshold, "seal once reached": a batch is never split
	// across files, and a file was below max_rows before its last batch.
	fileOf := map[int]map[string]bool{} // batch -> origin/file
	for _, f := range files {
		rows, err := archive.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		last := batchOf[rows[len(rows)-1].ID]
		before := 0
		for _, r := range rows {
			k := batchOf[r.ID]
			if fileOf[k] == nil {
				fileOf[k] = map[string]bool{}
			}
			fileOf[k][r.Origin+" "+f] = true
			if k != last {
				before++
			}
		}
		if before >= 25 {
			t.Errorf("%s: %d rows before its last batch, want < max_rows 25", f, before)
		}
	}
	for k, fs := range fileOf {
		if len(fs) != 2 { // one file per origin
			t.Errorf("batch %d split across %v", k, fs)
		}
	}
}

func TestRotationByBytes(t *testing.T) {
	root := t.TempDir()
	cfg := testConfig(root)
	cfg.Rotation.MaxBytes = 1 // every append seals
	exp := startExporter(t, cfg, exportertest.NewNopSettings(metadata.Type))
	s := newStream("host-a", 1)
	var sent []record.Record
	for range 3 {
		recs := s.batch(t, 4)
		consume(t, exp, recs)
		sent = append(sent, recs...)
		// Sealed at once, before shutdown.
		if files, _ := archive.DataFiles(root); len(files) != len(sent)/5 {
			t.Fatalf("%d files after %d batches", len(files), len(sent)/5)
		}
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkArchive(t, root, sent)
}

func TestRotationByAge(t *testing.T) {
	root := t.TempDir()
	cfg := testConfig(root)
	cfg.Rotation.MaxAge = 50 * time.Millisecond
	exp := startExporter(t, cfg, exportertest.NewNopSettings(metadata.Type))
	defer exp.Shutdown(context.Background())
	recs := newStream("host-a", 1).batch(t, 3)
	consume(t, exp, recs)
	if files, _ := archive.DataFiles(root); len(files) != 0 {
		t.Fatalf("sealed before max_age: %v", files)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		// Sealing ends with the removal of the WAL segment.
		if files, _ := archive.DataFiles(root); len(files) == 1 && len(walFiles(t, root)) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("idle file not sealed after max_age")
		}
		time.Sleep(20 * time.Millisecond)
	}
	checkArchive(t, root, recs)
}

func TestRedeliveryIsDeduplicated(t *testing.T) {
	root := t.TempDir()
	tt := componenttest.NewTelemetry()
	defer tt.Shutdown(context.Background())
	set := exportertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tt.NewTelemetrySettings()
	exp := startExporter(t, testConfig(root), set)
	s := newStream("host-a", 1)
	b1, b2 := s.batch(t, 5), s.batch(t, 5)
	consume(t, exp, b1)
	consume(t, exp, b1)                                                  // redelivered while open
	consume(t, exp, append(append([]record.Record{}, b1[3:]...), b2...)) // overlapping redelivery
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A restart, then a redelivery of everything already sealed.
	exp = startExporter(t, testConfig(root), set)
	consume(t, exp, append(append([]record.Record{}, b1...), b2...))
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkArchive(t, root, append(append([]record.Record{}, b1...), b2...))
	if got := sumMetric(t, tt, "otelcol_auditparquet_records_deduplicated", ""); got != 6+3+12 {
		t.Errorf("records_deduplicated = %d, want 21", got)
	}
	if got := sumMetric(t, tt, "otelcol_auditparquet_rows_written", ""); got != 12 {
		t.Errorf("rows_written = %d, want 12", got)
	}
	if got := sumMetric(t, tt, "otelcol_auditparquet_files_sealed", ""); got != 1 {
		t.Errorf("files_sealed = %d, want 1", got)
	}
}

func TestRejectsNonRecords(t *testing.T) {
	root := t.TempDir()
	tt := componenttest.NewTelemetry()
	defer tt.Shutdown(context.Background())
	set := exportertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tt.NewTelemetrySettings()
	exp := startExporter(t, testConfig(root), set)

	good := newStream("host-a", 1).batch(t, 2)
	ld := toLogs(good)
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	plain := lrs.AppendEmpty()
	plain.Body().SetStr("just an application log")
	plain.SetEventName("app.log")
	unsealed := record.Record{SchemaVersion: 1, ID: "r-unsealed", Type: record.TypeInference}
	unsealed.ToLogRecord(lrs.AppendEmpty())

	err := exp.ConsumeLogs(context.Background(), ld)
	if !consumererror.IsPermanent(err) {
		t.Fatalf("error %v is not permanent", err)
	}
	for _, want := range []string{"2 of 5 log records rejected", `log record 3: not a governance record (no govaudit.record_id attribute; event name "app.log")`,
		"log record 4: record r-unsealed is not sealed by the auditsign processor"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkArchive(t, root, good) // the valid records of the batch are archived
	if got := sumMetric(t, tt, "otelcol_auditparquet_records_rejected", ""); got != 2 {
		t.Errorf("records_rejected = %d, want 2", got)
	}
}

func TestBadDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), testConfig(filepath.Join(file, "archive")))
	if err != nil {
		t.Fatal(err)
	}
	err = exp.Start(context.Background(), componenttest.NewNopHost())
	if err == nil || !strings.Contains(err.Error(), `auditparquet: directory "`+filepath.Join(file, "archive")+`" cannot be created`) {
		t.Fatalf("Start = %v", err)
	}
}

// TestSealFailure makes the partition directory impossible to create:
// sealing fails, but the batches are durable in the WAL, so they are
// acknowledged; the failure is counted, the open file keeps growing, and
// once the obstacle is gone the next batch seals it.
func TestSealFailure(t *testing.T) {
	setWriterHook(t, func(w *archiveWriter) { w.sealBackoff = [2]time.Duration{} })
	root := t.TempDir()
	tt := componenttest.NewTelemetry()
	defer tt.Shutdown(context.Background())
	set := exportertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tt.NewTelemetrySettings()
	cfg := testConfig(root)
	cfg.Rotation.MaxRows = 5
	exp := startExporter(t, cfg, set)
	obstacle := filepath.Join(root, archive.RecordsDir)
	if err := os.WriteFile(obstacle, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newStream("host-a", 1)
	var sent []record.Record
	for range 3 {
		recs := s.batch(t, 9)
		consume(t, exp, recs) // durable: acknowledged although sealing fails
		sent = append(sent, recs...)
	}
	if got := sumAttr(t, tt, "otelcol_auditparquet_errors", "operation", "seal"); got < 3 {
		t.Errorf("errors{operation=seal} = %d, want one per attempt (>= 3)", got)
	}
	wal := walFiles(t, root)
	if len(wal) != 1 {
		t.Fatalf("WAL segments %v, want the one open file", wal)
	}
	if recs, _, err := readSegment(wal[0]); err != nil || len(recs) != len(sent) {
		t.Fatalf("WAL holds %d records (%v), want %d", len(recs), err, len(sent))
	}
	if err := os.Remove(obstacle); err != nil {
		t.Fatal(err)
	}
	recs := s.batch(t, 2)
	consume(t, exp, recs)
	sent = append(sent, recs...)
	if files, _ := archive.DataFiles(root); len(files) != 1 {
		t.Errorf("after the obstacle is gone: data files %v, want the grown file sealed", files)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkArchive(t, root, sent)
}

// setWriterHook sets newWriterHook for the test.
func setWriterHook(t *testing.T, hook func(*archiveWriter)) {
	newWriterHook = hook
	t.Cleanup(func() { newWriterHook = nil })
}

func TestTelemetry(t *testing.T) {
	root := t.TempDir()
	tt := componenttest.NewTelemetry()
	defer tt.Shutdown(context.Background())
	set := exportertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tt.NewTelemetrySettings()
	cfg := testConfig(root)
	cfg.Rotation.MaxRows = 4
	exp := startExporter(t, cfg, set)
	s := newStream("host-a", 1)
	consume(t, exp, s.batch(t, 3)) // 4 rows: full and covered, sealed
	consume(t, exp, s.batch(t, 5)) // 6 rows: one batch is never split
	consume(t, exp, s.batch(t, 1)) // 2 rows: sealed at shutdown
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sumMetric(t, tt, "otelcol_auditparquet_files_sealed", ""); got != 3 {
		t.Errorf("files_sealed = %d, want 3", got)
	}
	if got := sumMetric(t, tt, "otelcol_auditparquet_rows_written", ""); got != 12 {
		t.Errorf("rows_written = %d, want 12", got)
	}
	var size int64
	files, _ := archive.DataFiles(root)
	for _, f := range files {
		fi, _ := os.Stat(filepath.Join(root, f))
		size += fi.Size()
	}
	if got := sumMetric(t, tt, "otelcol_auditparquet_bytes_written", ""); got != size {
		t.Errorf("bytes_written = %d, want %d", got, size)
	}
	m, err := tt.GetMetric("otelcol_auditparquet_seal_duration")
	if err != nil {
		t.Fatal(err)
	}
	if h := m.Data.(metricdata.Histogram[float64]); h.DataPoints[0].Count != 3 {
		t.Errorf("seal_duration count = %d, want 3", h.DataPoints[0].Count)
	}
}

// sumMetric returns the sum of an int counter, over the data points whose
// "action" attribute is action ("" for all).
func sumMetric(t *testing.T, tt *componenttest.Telemetry, name, action string) int64 {
	t.Helper()
	m, err := tt.GetMetric(name)
	if err != nil { // a counter never incremented is not reported
		return 0
	}
	var n int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		if v, ok := dp.Attributes.Value("action"); action == "" || ok && v.AsString() == action {
			n += dp.Value
		}
	}
	return n
}

// sumAttr returns the sum of an int counter over the data points whose
// attribute key is value.
func sumAttr(t *testing.T, tt *componenttest.Telemetry, name, key, value string) int64 {
	t.Helper()
	m, err := tt.GetMetric(name)
	if err != nil { // a counter never incremented is not reported
		return 0
	}
	var n int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		if v, ok := dp.Attributes.Value(attribute.Key(key)); ok && v.AsString() == value {
			n += dp.Value
		}
	}
	return n
}

func TestLifecycle(t *testing.T) {
	f := NewFactory()
	if f.Type() != metadata.Type || f.LogsStability() != component.StabilityLevelAlpha {
		t.Fatalf("factory %v %v", f.Type(), f.LogsStability())
	}
	root := t.TempDir()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Directory = root
	cfg.SigningKeyFile = testKeyFile()
	exp, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if exp.Capabilities().MutatesData {
		t.Error("the exporter does not mutate data")
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	recs := newStream("host-a", 1).batch(t, 3)
	ld := toLogs(recs)
	ld.MarkReadOnly()
	if err := exp.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	// Shutdown drains the (in-memory) queue, then seals.
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkArchive(t, root, recs)
}

// TestBacklogTelemetry: the WAL backlog gauges count the segment and bytes
// of an open file until it is sealed, the last-seal age runs from the start
// until a seal, and the seal-duration histogram has its seconds buckets.
func TestBacklogTelemetry(t *testing.T) {
	root := t.TempDir()
	tt := componenttest.NewTelemetry()
	defer tt.Shutdown(context.Background())
	set := exportertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tt.NewTelemetrySettings()
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	setWriterHook(t, func(w *archiveWriter) { w.now = now })
	cfg := testConfig(root)
	cfg.Rotation.MaxRows = 4
	exp := startExporter(t, cfg, set)
	gauge := func(name string) float64 {
		t.Helper()
		m, err := tt.GetMetric(name)
		if err != nil {
			t.Fatal(err)
		}
		switch d := m.Data.(type) {
		case metricdata.Gauge[int64]:
			return float64(d.DataPoints[0].Value)
		case metricdata.Gauge[float64]:
			return d.DataPoints[0].Value
		}
		t.Fatalf("%s: %T", name, m.Data)
		return 0
	}
	if g := gauge("otelcol_auditparquet_wal_segments"); g != 0 {
		t.Errorf("wal_segments at start = %v, want 0", g)
	}
	s := newStream("host-a", 1)
	consume(t, exp, s.batch(t, 1)) // 2 rows: open, not due
	if g := gauge("otelcol_auditparquet_wal_segments"); g != 1 {
		t.Errorf("wal_segments = %v, want 1", g)
	}
	wal, _ := filepath.Glob(filepath.Join(root, archive.WALDir, "*", "*"))
	if len(wal) != 1 {
		t.Fatalf("WAL files %v", wal)
	}
	fi, err := os.Stat(wal[0])
	if err != nil {
		t.Fatal(err)
	}
	if g := gauge("otelcol_auditparquet_wal_size"); g != float64(fi.Size()) {
		t.Errorf("wal_size = %v, want the segment's %d bytes", g, fi.Size())
	}
	mu.Lock()
	clock = clock.Add(90 * time.Second)
	mu.Unlock()
	if g := gauge("otelcol_auditparquet_last_seal_age"); g != 90 {
		t.Errorf("last_seal_age before any seal = %v, want 90 (since start)", g)
	}
	consume(t, exp, s.batch(t, 3)) // 6 rows: full, sealed
	if g := gauge("otelcol_auditparquet_last_seal_age"); g != 0 {
		t.Errorf("last_seal_age after a seal = %v, want 0", g)
	}
	if g, b := gauge("otelcol_auditparquet_wal_segments"), gauge("otelcol_auditparquet_wal_size"); g != 0 || b != 0 {
		t.Errorf("after the seal: wal_segments %v, wal_size %v, want 0", g, b)
	}
	m, err := tt.GetMetric("otelcol_auditparquet_seal_duration")
	if err != nil {
		t.Fatal(err)
	}
	h := m.Data.(metricdata.Histogram[float64])
	want := []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	if got := h.DataPoints[0].Bounds; !slices.Equal(got, want) {
		t.Errorf("seal_duration bounds %v, want %v", got, want)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
