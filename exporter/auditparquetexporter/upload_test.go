package auditparquetexporter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/exporter/auditparquetexporter/internal/metadata"
	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/objectstore/s3test"
	"github.com/govaudit/govaudit/internal/record"
	"github.com/govaudit/govaudit/internal/verify"
	"github.com/govaudit/govaudit/internal/verify/scan"
)

// s3Config returns testConfig(root) uploading to bucket/prefix of the test
// server, GOVERNANCE for one day, sealing every 3 rows.
func s3Config(root, bucket, prefix string) *Config {
	cfg := testConfig(root)
	cfg.Rotation.MaxRows = 3
	s := cfg.S3.GetOrInsertDefault()
	s.Bucket, s.Prefix, s.PathStyle = bucket, prefix, true
	s.Retention = RetentionConfig{Mode: RetentionGovernance, Days: 1}
	return cfg
}

// fastUploadRetry makes failed upload passes retry within milliseconds.
func fastUploadRetry(t *testing.T) {
	old := uploadBackoff
	uploadBackoff = [2]time.Duration{10 * time.Millisecond, 50 * time.Millisecond}
	t.Cleanup(func() { uploadBackoff = old })
}

// gaugeInt returns the value of an int gauge (0 if not reported).
func gaugeInt(t *testing.T, tt *componenttest.Telemetry, name string) int64 {
	t.Helper()
	m, err := tt.GetMetric(name)
	if err != nil {
		return 0
	}
	return m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value
}

// eventually polls cond every 20ms for up to 30s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// verifyBucket verifies the archive at an s3:// root through the readers
// that `govaudit verify` uses, and returns the report.
func verifyBucket(t *testing.T, root string) *verify.Report {
	t.Helper()
	c := verify.NewChecker(note.VerifierList(testVerifier()))
	if err := scan.Archive(root, c, nil, nil); err != nil {
		t.Fatalf("scanning %s: %v", root, err)
	}
	return c.Report()
}

// uploadable lists the local files the bucket must hold: everything the
// manifests cover, the manifests and each latest pointer.
func uploadable(t *testing.T, root string) []string {
	t.Helper()
	covered, err := archive.CoveredFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := archive.ManifestFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	origins, err := archive.CheckpointOrigins(root)
	if err != nil {
		t.Fatal(err)
	}
	out := append(covered, ms...)
	for _, o := range origins {
		out = append(out, archive.LatestPath(o))
	}
	return out
}

// TestUploadMirrorsArchive: with s3 configured, every sealed file, index,
// checkpoint file, manifest and latest pointer reaches the bucket byte for
// byte, each under the configured Object Lock retention; the archive in the
// bucket verifies; the WAL, state and upload marker stay local; the
// metrics count the uploads and the backlog drains to zero.
func TestUploadMirrorsArchive(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket("audit")
	root := t.TempDir()
	exp, tt := telemetryExporter(t, s3Config(root, "audit", "team/eu"))
	var sent []record.Record
	for _, origin := range []string{"host-a", "host-b"} {
		s := newStream(origin, 3)
		for range 4 {
			b := s.batch(t, 2)
			consume(t, exp, b)
			sent = append(sent, b...)
		}
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkArchive(t, root, sent)

	const bucketRoot = "s3://audit/team/eu"
	files := uploadable(t, root)
	if len(files) < 10 {
		t.Fatalf("test setup: only %d files sealed", len(files))
	}
	before := time.Now()
	for _, rel := range files {
		local, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		remote, err := archive.ReadRegular(bucketRoot, rel, archive.MaxDataFileSize)
		if err != nil || !bytes.Equal(local, remote) {
			t.Errorf("%s in the bucket: %d bytes, %v; want the %d local bytes", rel, len(remote), err, len(local))
			continue
		}
		mode, until := srv.Retention("audit", "team/eu/"+rel)
		if mode != types.ObjectLockRetentionModeGovernance || until.Before(before.Add(23*time.Hour)) || until.After(before.Add(25*time.Hour)) {
			t.Errorf("%s: retention %s until %s, want GOVERNANCE for a day", rel, mode, until)
		}
	}
	objects := srv.Objects("audit", "")
	if len(objects) != len(files) {
		t.Errorf("bucket holds %d objects, want the %d sealed files", len(objects), len(files))
	}
	for key := range objects {
		if !strings.HasPrefix(key, "team/eu/") || strings.Contains(key, "/"+archive.WALDir+"/") {
			t.Errorf("unexpected object %s (the WAL and state stay local)", key)
		}
	}
	if rep := verifyBucket(t, bucketRoot); !rep.OK() {
		t.Errorf("verify %s:\n%s", bucketRoot, reportText(rep))
	}
	if got := sumMetric(t, tt, "otelcol_auditparquet_uploads", ""); got < int64(len(files)) {
		t.Errorf("uploads = %d, want at least %d", got, len(files))
	}
	if got := sumMetric(t, tt, "otelcol_auditparquet_upload_failures", ""); got != 0 {
		t.Errorf("upload_failures = %d, want 0", got)
	}
	if got := gaugeInt(t, tt, "otelcol_auditparquet_upload_backlog"); got != 0 {
		t.Errorf("upload_backlog = %d, want 0", got)
	}
	var p uploadProgress
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(archive.UploadMarkerPath("host-a"))))
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	ms, _ := archive.ManifestFiles(root)
	if err != nil || p.Bucket != "audit" || p.Prefix != "team/eu" || p.NextManifest != uint64(len(ms)/2) {
		t.Errorf("host-a's upload marker = %+v, %v; want all %d manifests uploaded", p, err, len(ms)/2)
	}
}

// TestUploadSurvivesServerDownAndRestart: with the server down, batches
// are still acknowledged (durable locally) and sealed, uploads fail and are
// counted and the backlog grows; after the exporter restarts (the pending
// uploads derived from the archive and the markers) and the server is
// back, everything is uploaded and the bucket verifies.
func TestUploadSurvivesServerDownAndRestart(t *testing.T) {
	fastUploadRetry(t)
	srv := s3test.Start(t)
	srv.CreateBucket("audit")
	root := t.TempDir()
	cfg := s3Config(root, "audit", "")
	exp, tt := telemetryExporter(t, cfg)
	s := newStream("host-a", 1)
	sent := s.batch(t, 3)
	consume(t, exp, sent)
	eventually(t, "the first seal's upload", func() bool { return sumMetric(t, tt, "otelcol_auditparquet_uploads", "") >= 3 })

	srv.Stop()
	for range 3 {
		b := s.batch(t, 3)
		consume(t, exp, b) // acknowledged: the bucket is not on the path
		sent = append(sent, b...)
	}
	eventually(t, "failed uploads", func() bool {
		return sumAttr(t, tt, "otelcol_auditparquet_upload_failures", "reason", reasonRequest) >= 2
	})
	if got := gaugeInt(t, tt, "otelcol_auditparquet_upload_backlog"); got < 3 {
		t.Errorf("upload_backlog with the server down = %d, want at least 3", got)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Errorf("shutdown with uploads pending: %v (the files are safe locally)", err)
	}
	checkArchive(t, root, sent)

	srv.Start()
	exp, tt = telemetryExporter(t, cfg)
	eventually(t, "the backlog to drain after the restart", func() bool {
		return gaugeInt(t, tt, "otelcol_auditparquet_upload_backlog") == 0 && sumMetric(t, tt, "otelcol_auditparquet_uploads", "") > 0
	})
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rep := verifyBucket(t, "s3://audit"); !rep.OK() || rep.Covered != leaves(sent) {
		t.Errorf("verify s3://audit: %+v\n%s", rep, reportText(rep))
	}
	for _, rel := range uploadable(t, root) {
		if _, err := archive.ReadRegular("s3://audit", rel, archive.MaxDataFileSize); err != nil {
			t.Errorf("%s not in the bucket: %v", rel, err)
		}
	}
}

// TestUploadRefusesDamageAndConflicts: files sealed before s3 was
// configured are uploaded at the next start, except that a sealed file
// damaged on disk is refused by the server's SHA-256 check (the signed
// manifest's checksum is sent), a key already holding other bytes is never
// overwritten, and a key already holding the same bytes counts as
// uploaded; each failure is counted by reason and stops its origin's
// uploads (nothing after it is uploaded), while other origins go on.
func TestUploadRefusesDamageAndConflicts(t *testing.T) {
	fastUploadRetry(t)
	srv := s3test.Start(t)
	srv.CreateBucket("audit")
	root := t.TempDir()
	noS3 := testConfig(root) // no s3 yet
	noS3.Rotation.MaxRows = 3
	exp, _ := telemetryExporter(t, noS3)
	for _, origin := range []string{"host-a", "host-b", "host-c"} {
		s := newStream(origin, 1)
		for range 2 {
			consume(t, exp, s.batch(t, 3))
		}
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	data, err := archive.DataFiles(root)
	if err != nil || len(data) != 6 {
		t.Fatalf("DataFiles = %v, %v; want 2 per origin", data, err)
	}
	firstOf := func(origin string) string {
		for _, p := range data {
			if o, _, _ := archive.ParseDataPath(p); o == origin {
				return p
			}
		}
		t.Fatalf("no data file of %s", origin)
		return ""
	}
	c := srv.Client()
	ctx := context.Background()
	put := func(rel string, b []byte) {
		sum := sha256Sum(b)
		if err := c.Put(ctx, "audit", rel, bytes.NewReader(b), int64(len(b)), sum[:], nil); err != nil {
			t.Fatal(err)
		}
	}
	// host-a: its first data file is already in the bucket, same bytes.
	aFirst := firstOf("host-a")
	same, err := os.ReadFile(filepath.Join(root, aFirst))
	if err != nil {
		t.Fatal(err)
	}
	put(aFirst, same)
	// host-b: its first data file's key holds other bytes.
	bFirst := firstOf("host-b")
	put(bFirst, []byte("not the sealed file"))
	// host-c: its first data file is damaged on disk (same size).
	cFirst := filepath.Join(root, firstOf("host-c"))
	damaged, err := os.ReadFile(cFirst)
	if err != nil {
		t.Fatal(err)
	}
	damaged[len(damaged)/2] ^= 0xff
	os.Chmod(cFirst, 0o644)
	if err := os.WriteFile(cFirst, damaged, 0o444); err != nil {
		t.Fatal(err)
	}

	exp, tt := telemetryExporter(t, s3Config(root, "audit", ""))
	eventually(t, "a conflict and a checksum failure", func() bool {
		return sumAttr(t, tt, "otelcol_auditparquet_upload_failures", "reason", reasonConflict) >= 1 &&
			sumAttr(t, tt, "otelcol_auditparquet_upload_failures", "reason", reasonChecksum) >= 1
	})
	eventually(t, "host-a's uploads", func() bool {
		_, err := archive.ReadRegular("s3://audit", archive.LatestPath("host-a"), archive.MaxCheckpointFileSize)
		return err == nil
	})
	// The failures are retried: the backlog stays.
	if got := gaugeInt(t, tt, "otelcol_auditparquet_upload_backlog"); got < 8 {
		t.Errorf("upload_backlog = %d with host-b's and host-c's files not uploaded, want at least 8", got)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	objects := srv.Objects("audit", "")
	for _, rel := range uploadable(t, root) {
		o, _ := archive.OriginOf(rel)
		_, in := objects[rel]
		switch {
		case o == "host-a" && !in:
			t.Errorf("%s of host-a not uploaded", rel)
		case o == "host-b" && rel != bFirst && in:
			t.Errorf("%s of host-b uploaded after a conflict", rel)
		case o == "host-c" && in:
			t.Errorf("%s of host-c uploaded after its data file was refused", rel)
		}
	}
	got, err := c.Get(ctx, "audit", bFirst, "", 1<<20)
	if err != nil || string(got) != "not the sealed file" {
		t.Errorf("the conflicting object was changed: %q, %v", got, err)
	}
	if rep := verifyBucket(t, "s3://audit"); rep.OK() {
		t.Error("the bucket verifies although host-b's object is foreign and host-c's files are missing")
	}
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

// leaves counts the leaf records of recs.
func leaves(recs []record.Record) uint64 {
	var n uint64
	for i := range recs {
		if recs[i].IsLeaf() {
			n++
		}
	}
	return n
}

// BenchmarkArchiveS3 writes the records of BenchmarkArchive (10,000 rows,
// files of 2,000) to a local archive ("local") and to a local archive
// uploaded to versitygw on 127.0.0.1 ("s3"), in one run: each iteration
// ends when the exporter has shut down, that is with every sealed file in
// the bucket, so rows/s compares "archived locally" with "archived and
// under Object Lock".
func BenchmarkArchiveS3(b *testing.B) {
	srv := s3test.Start(b)
	srv.CreateBucket("bench")
	s := newStream("bench-origin", 1)
	var lds []plog.Logs
	rows := 0
	for range 100 {
		ld := toLogs(s.batch(b, 100))
		rows += ld.LogRecordCount()
		lds = append(lds, ld)
	}
	for _, withS3 := range []bool{false, true} {
		name := map[bool]string{false: "local", true: "s3"}[withS3]
		b.Run(name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				root := b.TempDir()
				cfg := testConfig(root)
				if withS3 {
					i++
					cfg = s3Config(root, "bench", fmt.Sprintf("run-%d", i))
				}
				cfg.Rotation.MaxRows = 2_000
				exp := startExporter(b, cfg, exportertest.NewNopSettings(metadata.Type))
				for _, ld := range lds {
					if err := exp.ConsumeLogs(context.Background(), ld); err != nil {
						b.Fatal(err)
					}
				}
				if err := exp.Shutdown(context.Background()); err != nil {
					b.Fatal(err)
				}
				if withS3 {
					if _, err := archive.ReadRegular(fmt.Sprintf("s3://bench/run-%d", i), archive.LatestPath("bench-origin"), archive.MaxCheckpointFileSize); err != nil {
						b.Fatalf("the last seal is not in the bucket after shutdown: %v", err)
					}
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// startS3 creates the exporter of cfg through the factory with an observed
// logger and starts it, returning Start's error and the logs.
func startS3(t *testing.T, cfg *Config) (error, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	set := exportertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = exp.Start(context.Background(), componenttest.NewNopHost())
	if err == nil {
		t.Cleanup(func() { exp.Shutdown(context.Background()) })
	}
	return err, logs
}

// TestUploadChecksObjectLockAtStart: Start asks the bucket for its Object
// Lock configuration once and refuses to start, naming s3::bucket and the
// fix, when the bucket was created without Object Lock (versitygw creates
// one so when asked without it), does not exist, or the credentials may not
// read the configuration; a bucket's default retention is logged at info;
// a bucket that does not answer does not stop the start, and nothing is
// uploaded until it answers the check.
func TestUploadChecksObjectLockAtStart(t *testing.T) {
	fastUploadRetry(t)
	srv := s3test.Start(t)
	srv.CreatePlainBucket("plain")
	srv.CreateBucket("locked")
	cnt := srv.Counter()

	for _, c := range []struct {
		bucket, secret string
		want           []string
	}{
		{"plain", s3test.SecretKey, []string{`s3::bucket: bucket "plain" does not have Object Lock enabled`, "ObjectLockConfigurationNotFoundError", "create the bucket with Object Lock enabled"}},
		{"missing", s3test.SecretKey, []string{`s3::bucket: bucket "missing" does not exist`, "NoSuchBucket", "create it with Object Lock enabled"}},
		{"locked", "wrong-secret", []string{`s3::bucket: the credentials may not read the Object Lock configuration of bucket "locked"`, "s3:GetBucketObjectLockConfiguration"}},
	} {
		t.Setenv("AWS_SECRET_ACCESS_KEY", c.secret)
		cnt.Reset()
		err, _ := startS3(t, s3Config(t.TempDir(), c.bucket, ""))
		if err == nil {
			t.Errorf("bucket %s, secret %s: started", c.bucket, c.secret)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("bucket %s: Start: %v\nwant it to contain %q", c.bucket, err, w)
			}
		}
		if n := cnt.Requests(); n != 1 {
			t.Errorf("bucket %s: %d requests at start, want the one check", c.bucket, n)
		}
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)

	// Object Lock enabled: starts; a default retention is logged at info.
	err, logs := startS3(t, s3Config(t.TempDir(), "locked", "a"))
	if err != nil {
		t.Fatalf("a bucket with Object Lock: %v", err)
	}
	if n := logs.FilterMessageSnippet("default Object Lock retention").Len(); n != 0 {
		t.Errorf("a bucket without a default retention: %d log lines about one", n)
	}
	_, err = srv.Client().S3().PutObjectLockConfiguration(context.Background(), &s3.PutObjectLockConfigurationInput{
		Bucket: aws.String("locked"),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeCompliance, Years: aws.Int32(1)}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	err, logs = startS3(t, s3Config(t.TempDir(), "locked", "b"))
	if err != nil {
		t.Fatalf("a bucket with a default retention: %v", err)
	}
	if l := logs.FilterMessageSnippet("default Object Lock retention").All(); len(l) != 1 || l[0].Level != zap.InfoLevel ||
		l[0].ContextMap()["default_mode"] != "COMPLIANCE" || l[0].ContextMap()["default_years"] != int32(1) {
		t.Errorf("a bucket with a default retention: logged %+v, want one info line with its mode and years", l)
	}

	// No answer at start: the exporter starts and archives locally; once
	// the server is back, the check passes and the files are uploaded.
	srv.Stop()
	root := t.TempDir()
	cfg := s3Config(root, "locked", "c")
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { tt.Shutdown(context.Background()) })
	core, logs := observer.New(zap.InfoLevel)
	set := exportertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tt.NewTelemetrySettings()
	set.Logger = zap.New(core)
	exp := startExporter(t, cfg, set)
	if logs.FilterMessageSnippet("did not answer the Object Lock check").Len() != 1 {
		t.Errorf("no warning that the check could not be made: %v", logs.All())
	}
	sent := newStream("host-a", 1).batch(t, 3)
	consume(t, exp, sent)
	eventually(t, "a failed pass", func() bool {
		return sumAttr(t, tt, "otelcol_auditparquet_upload_failures", "reason", reasonRequest) >= 1
	})
	srv.Start()
	eventually(t, "the uploads after the check", func() bool {
		return gaugeInt(t, tt, "otelcol_auditparquet_upload_backlog") == 0 && sumMetric(t, tt, "otelcol_auditparquet_uploads", "") > 0
	})
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rep := verifyBucket(t, "s3://locked/c"); !rep.OK() || rep.Covered != leaves(sent) {
		t.Errorf("verify s3://locked/c: %+v\n%s", rep, reportText(rep))
	}
}
