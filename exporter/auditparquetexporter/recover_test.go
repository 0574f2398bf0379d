package auditparquetexporter

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/govaudit/govaudit/exporter/auditparquetexporter/internal/metadata"
	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/record"
)

// crashed starts a writer on root, appends recs and abandons it as kill -9
// would: no seal, no shutdown.
func crashed(t *testing.T, root string, recs []record.Record) {
	t.Helper()
	w, err := newArchiveWriter(testConfig(root), componenttest.NewNopTelemetrySettings())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	if err := w.consumeLogs(context.Background(), toLogs(recs)); err != nil {
		t.Fatal(err)
	}
	close(w.stop)
	<-w.done
	for _, o := range w.files {
		if o.open != nil {
			o.open.seg.f.Close()
		}
	}
	w.lock.Unlock() // as the kernel does for a killed process
}

// restart starts a new exporter on root and returns the recovery actions
// counted at start.
func restart(t *testing.T, root string) map[string]int64 {
	t.Helper()
	tt := componenttest.NewTelemetry()
	defer tt.Shutdown(context.Background())
	set := exportertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tt.NewTelemetrySettings()
	exp := startExporter(t, testConfig(root), set)
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, a := range []string{actionReplayed, actionCompleted, actionTempRebuilt, actionTempKept, actionTornTail, actionEmptyWAL} {
		if n := sumMetric(t, tt, "otelcol_auditparquet_recovery_actions", a); n > 0 {
			got[a] = n
		}
	}
	return got
}

func walFiles(t *testing.T, root string) []string {
	m, _ := filepath.Glob(filepath.Join(root, archive.WALDir, "origin=*", "*"+archive.WALExt))
	return m
}

func TestRecoverWAL(t *testing.T) {
	root := t.TempDir()
	recs := newStream("host-a", 1).batch(t, 6)
	crashed(t, root, recs)
	if files, _ := archive.DataFiles(root); len(files) != 0 || len(walFiles(t, root)) != 1 {
		t.Fatalf("after the crash: files %v, wal %v", files, walFiles(t, root))
	}
	// The open file's records were also streaming into its temporary data
	// file, which recovery rebuilds from the WAL segment.
	temps, err := archive.TempDataFiles(root)
	if err != nil || len(temps) != 1 {
		t.Fatalf("after the crash: temporary data files %v (%v), want the open file's", temps, err)
	}
	if got := restart(t, root); got[actionReplayed] != 1 || got[actionTempRebuilt] != 1 || len(got) != 2 {
		t.Errorf("recovery actions %v", got)
	}
	checkArchive(t, root, recs)
}

func TestRecoverTornTail(t *testing.T) {
	root := t.TempDir()
	recs := newStream("host-a", 1).batch(t, 6)
	crashed(t, root, recs)
	wal := walFiles(t, root)[0]
	f, err := os.OpenFile(wal, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0, 0, 1, 0, 0xde, 0xad}) // a partly written entry header
	f.Close()
	if got := restart(t, root); got[actionReplayed] != 1 || got[actionTornTail] != 1 {
		t.Errorf("recovery actions %v", got)
	}
	checkArchive(t, root, recs)
}

func TestRecoverTempFile(t *testing.T) {
	root := t.TempDir()
	recs := newStream("host-a", 1).batch(t, 6)
	crashed(t, root, recs)
	// The crash hit while the data file was being written.
	wal := walFiles(t, root)[0]
	origin, ft := "host-a", mustFileTime(t, strings.TrimSuffix(filepath.Base(wal), archive.WALExt))
	tmp := filepath.Join(root, archive.TempPath(archive.DataPath(origin, ft)))
	if err := os.MkdirAll(filepath.Dir(tmp), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, []byte("PAR1 half written"), 0o600); err != nil {
		t.Fatal(err)
	}
	// And an orphan temporary file, with no WAL segment: kept, not archived.
	orphan := filepath.Join(root, archive.TempPath(archive.DataPath(origin, ft.Add(-1e9))))
	if err := os.WriteFile(orphan, []byte("?"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := restart(t, root)
	if got[actionReplayed] != 1 || got[actionTempRebuilt] != 1 || got[actionTempKept] != 1 {
		t.Errorf("recovery actions %v", got)
	}
	if _, err := os.Stat(orphan); err != nil {
		t.Errorf("orphan temporary file removed: %v", err)
	}
	os.Remove(orphan)
	checkArchive(t, root, recs)
}

// TestRecoverAfterRename: the crash hit after the data file was renamed into
// place but before its WAL segment was deleted. The file is kept (not
// rewritten), its index and checkpoints are completed, nothing is duplicated.
func TestRecoverAfterRename(t *testing.T) {
	root := t.TempDir()
	recs := newStream("host-a", 1).batch(t, 6)
	crashed(t, root, recs)
	wal := walFiles(t, root)[0]
	saved, err := os.ReadFile(wal)
	if err != nil {
		t.Fatal(err)
	}
	restart(t, root) // seals
	files, _ := archive.DataFiles(root)
	before, _ := os.ReadFile(filepath.Join(root, files[0]))
	// Put the state back as the crash left it: WAL present, index and
	// checkpoint files missing.
	if err := os.WriteFile(wal, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(root, archive.IndexPath(files[0])))
	os.RemoveAll(filepath.Join(root, archive.CheckpointsDir))
	os.Remove(filepath.Join(root, archive.StatePath("host-a")))

	if got := restart(t, root); got[actionCompleted] != 1 || len(got) != 1 {
		t.Errorf("recovery actions %v", got)
	}
	after, _ := os.ReadFile(filepath.Join(root, files[0]))
	if string(after) != string(before) {
		t.Error("a sealed file was rewritten")
	}
	checkArchive(t, root, recs)
}

// TestStateRebuiltFromArchive: with the WAL directory lost, the dedupe state
// comes from the indexes, so a redelivery is still not archived twice.
func TestStateRebuiltFromArchive(t *testing.T) {
	root := t.TempDir()
	recs := newStream("host-a", 1).batch(t, 6)
	exp := startExporter(t, testConfig(root), exportertest.NewNopSettings(metadata.Type))
	consume(t, exp, recs)
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, archive.WALDir)); err != nil {
		t.Fatal(err)
	}
	exp = startExporter(t, testConfig(root), exportertest.NewNopSettings(metadata.Type))
	consume(t, exp, recs)
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkArchive(t, root, recs)
}
