package auditparquetexporter

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/exporter/auditparquetexporter/internal/metadata"
	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
	"github.com/govaudit/govaudit/internal/verify"
	"github.com/govaudit/govaudit/processor/auditsignprocessor"
)

// The tests in this file run the logs/audit pipeline as the distribution
// does: the real auditsign processor (through its factory, with contrib's
// file_storage extension for its state) in front of this exporter.

// signingKey writes a new signing key (mode 0600) and returns its path and
// verifier.
func signingKey(t testing.TB) (string, note.Verifier) {
	t.Helper()
	skey, vkey, err := auditlog.GenerateKey("pipeline-test")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "signing.key")
	if err := os.WriteFile(p, []byte(skey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return p, v
}

// testHost is a component.Host holding extensions.
type testHost map[component.ID]component.Component

func (h testHost) GetExtensions() map[component.ID]component.Component { return h }

var storageID = component.MustNewIDWithName("file_storage", "auditsign")

// clientTracker is a storage extension that hands out the clients of a
// real one and remembers them, so that a simulated kill -9 can close them
// (releasing the database file) without the processor's shutdown.
type clientTracker struct {
	storage.Extension
	clients []storage.Client
}

func (s *clientTracker) GetClient(ctx context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	c, err := s.Extension.GetClient(ctx, kind, id, name)
	if err == nil {
		s.clients = append(s.clients, c)
	}
	return c, err
}

// startStorage starts a file_storage extension on dir; a restarted
// collector gets a new one on the same dir.
func startStorage(t testing.TB, dir string) (testHost, *clientTracker) {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	cfg.Timeout = time.Second
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	tracker := &clientTracker{Extension: ext.(storage.Extension)}
	host := testHost{storageID: tracker}
	if err := ext.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	return host, tracker
}

// A collector is one run of the pipeline auditsign -> auditparquet on an
// archive directory, with the processor's state in a storage directory.
type collector struct {
	t       testing.TB
	exp     exporter.Logs
	proc    processor.Logs
	storage *clientTracker
}

// pipelineEnv is what outlives one collector run: directories and key.
type pipelineEnv struct {
	archive, storage string
	key              string
	verifier         note.Verifier
	// exporterConfig adjusts the exporter config of every run.
	exporterConfig func(*Config)
}

func newPipelineEnv(t testing.TB) *pipelineEnv {
	key, v := signingKey(t)
	return &pipelineEnv{archive: t.TempDir(), storage: t.TempDir(), key: key, verifier: v}
}

// start starts a collector: the exporter first, then the processor (the
// collector starts downstream components first).
func (env *pipelineEnv) start(t testing.TB) *collector {
	t.Helper()
	cfg := testConfig(env.archive)
	cfg.SigningKeyFile = env.key // one key, as the examples configure it
	if env.exporterConfig != nil {
		env.exporterConfig(cfg)
	}
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	if err != nil {
		t.Fatal(err)
	}
	host, tracker := startStorage(t, env.storage)
	if err := exp.Start(context.Background(), host); err != nil {
		tracker.Shutdown(context.Background())
		t.Fatal(err)
	}
	pf := auditsignprocessor.NewFactory()
	pcfg := pf.CreateDefaultConfig().(*auditsignprocessor.Config)
	pcfg.Origin = "pipeline.test"
	pcfg.SigningKeyFile = env.key
	pcfg.CheckpointInterval = 0 // a checkpoint after every batch
	id := storageID
	pcfg.Storage = &id
	proc, err := pf.CreateLogs(context.Background(), processortest.NewNopSettings(pf.Type()), pcfg, exp)
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	return &collector{t: t, exp: exp, proc: proc, storage: tracker}
}

// crash abandons the collector as kill -9 would: nothing is sealed or
// flushed, files are closed and the archive lock released as the kernel
// does. w is the collector's archive writer.
func (c *collector) crash(w *archiveWriter) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	for _, o := range w.files {
		for _, f := range []*openFile{o.open, o.sealing} {
			if f != nil {
				f.seg.f.Close()
			}
		}
	}
	w.lock.Unlock()
	w.mu.Unlock()
	for _, cl := range c.storage.clients {
		cl.Close(context.Background()) // what was persisted stays; nothing is flushed
	}
	if err := c.storage.Shutdown(context.Background()); err != nil {
		c.t.Error(err)
	}
}

// stop shuts the collector down (processor first) and returns the
// exporter's shutdown error.
func (c *collector) stop() error {
	if err := c.proc.Shutdown(context.Background()); err != nil {
		c.t.Error(err)
	}
	err := c.exp.Shutdown(context.Background())
	if serr := c.storage.Shutdown(context.Background()); serr != nil {
		c.t.Error(serr)
	}
	return err
}

// send sends n new (unsealed) governance records through the processor, as
// a client's request, and returns their record ids and the result.
func (c *collector) send(n int) ([]string, error) {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	ids := make([]string, n)
	for i := range ids {
		tokens := int64(10 + i)
		r := record.Record{
			SchemaVersion: record.SchemaVersion, ID: record.NewID(), Type: record.TypeInference,
			EventName: "gen_ai.client.inference.operation.details", StartTime: time.Now().UnixNano(), EndTime: time.Now().UnixNano(),
			Operation: "chat", Provider: "openai", RequestModel: "gpt-4o", InputTokens: &tokens,
			Input: fmt.Sprintf("prompt %d", i), TraceID: "0af7651916cd43dd8448eb211c80319c", SpanID: "b7ad6b7169203331",
		}
		ids[i] = r.ID
		r.ToLogRecord(lrs.AppendEmpty())
	}
	return ids, c.proc.ConsumeLogs(context.Background(), ld)
}

// archivedIDs reads every data file back with archive.ReadFile and returns
// how often each record id appears.
func archivedIDs(t testing.TB, root string) map[string]int {
	t.Helper()
	files, err := archive.DataFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, f := range files {
		rows, err := archive.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		for i := range rows {
			n[rows[i].ID]++
		}
	}
	return n
}

// verifyArchive runs internal/verify over the archive as `govaudit verify`
// reads it (data files hashed and decoded, checkpoint files, latest,
// indexes hashed, manifests),
// and returns the report.
func verifyArchive(t testing.TB, root string, trusted note.Verifier) *verify.Report {
	t.Helper()
	in := verify.Input{Trusted: note.VerifierList(trusted)}
	files, err := archive.DataFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range files {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		d := archive.DigestOf(p, data)
		f := verify.File{Path: p, Digest: &d}
		f.Rows, f.Err = archive.DecodeFile(p, data)
		in.Files = append(in.Files, f)
	}
	cps, err := archive.CheckpointFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range cps {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		d := archive.DigestOf(p, b)
		cf := verify.CheckpointFile{Path: p, Text: string(b), Digest: &d}
		if cf.Origin, cf.Epoch, cf.Size, err = archive.ParseCheckpointPath(p); err != nil {
			t.Fatalf("checkpoint file %s: %v", p, err)
		}
		in.Checkpoints = append(in.Checkpoints, cf)
	}
	origins, err := os.ReadDir(filepath.Join(root, archive.CheckpointsDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, o := range origins {
		p := archive.LatestPath(o.Name())
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			t.Fatalf("latest of %s: %v", o.Name(), err)
		}
		in.Latest = append(in.Latest, verify.LatestFile{Path: p, Origin: o.Name(), Text: string(b)})
	}
	// Indexes, and anything else the manifests must cover.
	covered, err := archive.CoveredFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range covered {
		if strings.HasPrefix(p, archive.IndexDir+"/") || !strings.HasSuffix(p, archive.DataExt) && strings.HasPrefix(p, archive.RecordsDir+"/") {
			b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
			if err != nil {
				t.Fatal(err)
			}
			d := archive.DigestOf(p, b)
			in.Covered = append(in.Covered, verify.CoveredFile{Path: p, Digest: &d})
		}
	}
	manifests, err := archive.ManifestFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range manifests {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		in.Manifests = append(in.Manifests, verify.ManifestFile{Path: p, Data: b, Err: err})
	}
	return verify.Check(in)
}

// reportText lists a report's problems and warnings, one a line.
func reportText(r *verify.Report) string {
	var b strings.Builder
	for _, p := range r.Problems {
		b.WriteString("problem: " + p.String() + "\n")
	}
	for _, p := range r.Warnings {
		b.WriteString("warning: " + p.String() + "\n")
	}
	return b.String()
}

// TestSealFailureAcrossRotation reproduces issue 11 item 1: with
// max_rows 4 and records/ replaced by a plain file, batches that cross the
// rotation boundary go through the real auditsign processor. Every request
// that succeeded must be archived exactly once once the obstacle is gone,
// and the archive must verify. (Before the fix the exporter split the batch,
// returned the seal error for a durable first chunk, auditsign reused its
// leaf indexes and the next batch was skipped as "already archived".)
func TestSealFailureAcrossRotation(t *testing.T) {
	env := newPipelineEnv(t)
	env.exporterConfig = func(c *Config) { c.Rotation.MaxRows = 4 }
	c := env.start(t)
	obstacle := filepath.Join(env.archive, archive.RecordsDir)
	// The epoch start record's temporary data file is already under
	// records/: it goes too (sealing rebuilds it from the WAL).
	if err := os.RemoveAll(obstacle); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(obstacle, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	failed := map[string]bool{}
	for _, n := range []int{3, 5, 2, 6, 3} {
		ids, err := c.send(n)
		for _, id := range ids {
			if err == nil {
				acked[id] = true
			} else {
				failed[id] = true
			}
		}
		if err != nil {
			t.Logf("batch of %d: %v", n, err)
		}
	}
	if err := os.Remove(obstacle); err != nil {
		t.Fatal(err)
	}
	ids, err := c.send(2)
	if err != nil {
		t.Fatalf("after the obstacle is gone: %v", err)
	}
	for _, id := range ids {
		acked[id] = true
	}
	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
	got := archivedIDs(t, env.archive)
	for id := range acked {
		if got[id] != 1 {
			t.Errorf("acknowledged record %s archived %d times", id, got[id])
		}
	}
	for id := range failed {
		if got[id] != 0 {
			t.Errorf("record %s of a failed request archived %d times", id, got[id])
		}
	}
	if len(failed) > 0 {
		t.Errorf("%d records refused although they could be made durable", len(failed))
	}
	if rep := verifyArchive(t, env.archive, env.verifier); !rep.OK() {
		t.Errorf("verify failed:\n%s", reportText(rep))
	}
}
