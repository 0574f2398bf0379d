package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/archive/archivetest"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
	"github.com/govaudit/govaudit/internal/verify"
)

// benchRecords returns n sealed GenAI chat records of one log
// (archivetest.Records).
func benchRecords(origin string, epoch uint64, n int) []record.Record {
	return archivetest.Records(origin, epoch, n)
}

// writeBenchArchive writes n records as auditsign and auditparquet lay them
// out: data files of perFile records, a signed checkpoint (row, file and
// latest pointer) after every perCheckpoint leaves and at the end, and the
// audit indexes when withIndex. It returns the verifier key.
func writeBenchArchive(tb testing.TB, root string, n, perFile, perCheckpoint int, withIndex bool) string {
	tb.Helper()
	skey, vkey, err := auditlog.GenerateKey("bench")
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	const origin, epoch = "bench", uint64(1795720303427918821)
	recs := benchRecords(origin, epoch, n)
	tree := auditlog.NewTree()
	write := func(p string, b []byte, perm os.FileMode) {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			tb.Fatal(err)
		}
		os.Remove(full)
		if err := os.WriteFile(full, b, perm); err != nil {
			tb.Fatal(err)
		}
	}
	opened := time.Unix(0, recs[0].EndTime)
	var rows []record.Record
	flush := func() {
		p := archive.DataPath(origin, opened)
		var buf bytes.Buffer
		if err := archive.WriteRows(&buf, rows); err != nil {
			tb.Fatal(err)
		}
		write(p, buf.Bytes(), 0o444)
		if withIndex {
			sum := sha256.Sum256(buf.Bytes())
			ix, err := archive.NewIndex(p, rows, int64(buf.Len()), sum[:])
			if err != nil {
				tb.Fatal(err)
			}
			if err := archive.WriteIndex(root, ix); err != nil {
				tb.Fatal(err)
			}
		}
		rows = rows[:0]
		opened = opened.Add(time.Minute)
	}
	for i := range recs {
		tree.Append(recs[i].LeafHash)
		rows = append(rows, recs[i])
		if (i+1)%perCheckpoint == 0 || i == n-1 {
			text, err := auditlog.Sign(signer, origin, epoch, tree.Size(), tree.Root())
			if err != nil {
				tb.Fatal(err)
			}
			rows = append(rows, record.Record{SchemaVersion: 1, ID: fmt.Sprintf("cp-%d", tree.Size()),
				Type: record.TypeCheckpoint, Origin: origin, Epoch: epoch, EndTime: recs[i].EndTime, Checkpoint: text})
			write(archive.CheckpointPath(origin, epoch, tree.Size()), []byte(text), 0o444)
			write(archive.LatestPath(origin), []byte(text), 0o644)
		}
		if (i+1)%perFile == 0 || i == n-1 {
			flush()
		}
	}
	if err := archive.SignUnlisted(root, signer); err != nil { // the exporter's manifests
		tb.Fatal(err)
	}
	return vkey
}

func envInt(tb testing.TB, k string, def int) int {
	v := os.Getenv(k)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive integer", k, v)
	}
	return n
}

// BenchmarkVerify measures what `govaudit verify` does per record: read,
// hash (against the signed manifests) and decode every data file,
// recompute every leaf hash, rebuild the trees and open the checkpoints.
// The archive holds GOVAUDIT_BENCH_RECORDS records (default 100,000) in
// files of 50,000 with a checkpoint every 50,000 leaves (one second at
// 50k records/s). Run with -cpu 1 for the one-core figure.
func BenchmarkVerify(b *testing.B) {
	n := envInt(b, "GOVAUDIT_BENCH_RECORDS", 100_000)
	root := b.TempDir()
	vkey := writeBenchArchive(b, root, n, 50_000, 50_000, false)
	v, err := note.NewVerifier(vkey)
	if err != nil {
		b.Fatal(err)
	}
	trusted := note.VerifierList(v)
	b.ReportAllocs()
	for b.Loop() {
		checker := verify.NewChecker(trusted)
		if err := scanArchive(root, checker, nil, nil); err != nil {
			b.Fatal(err)
		}
		rep := checker.Report()
		if !rep.OK() || rep.Records != uint64(n) {
			b.Fatalf("verify: %d records, problems %v, warnings %v", rep.Records, rep.Problems, rep.Warnings)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// TestWriteBenchArchive writes a large archive for timing the built
// `govaudit verify` (docs/performance.md); it runs only when
// GOVAUDIT_BENCH_ARCHIVE names the directory to write (which must not
// exist). GOVAUDIT_BENCH_RECORDS sets the size (default 1,000,000). The
// verifier key is written to GOVAUDIT_BENCH_ARCHIVE.pub.
func TestWriteBenchArchive(t *testing.T) {
	root := os.Getenv("GOVAUDIT_BENCH_ARCHIVE")
	if root == "" {
		t.Skip("set GOVAUDIT_BENCH_ARCHIVE=DIR to write a benchmark archive")
	}
	if _, err := os.Stat(root); err == nil {
		t.Fatalf("%s exists", root)
	}
	n := envInt(t, "GOVAUDIT_BENCH_RECORDS", 1_000_000)
	start := time.Now()
	vkey := writeBenchArchive(t, root, n, 250_000, 50_000, true)
	if err := os.WriteFile(filepath.Clean(root)+".pub", []byte(vkey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d records to %s in %s; verify with: govaudit verify --key %s.pub %s", n, root, time.Since(start).Round(time.Millisecond), filepath.Clean(root), root)
}

// BenchmarkProve measures `govaudit prove` of one record in the middle of
// an archive of GOVAUDIT_BENCH_RECORDS records (default 100,000) in files
// of 50,000, with indexes: find the file by the record_id bloom filters,
// collect the log's leaf hashes, build and check the audit path.
func BenchmarkProve(b *testing.B) {
	n := envInt(b, "GOVAUDIT_BENCH_RECORDS", 100_000)
	root := b.TempDir()
	writeBenchArchive(b, root, n, 50_000, 50_000, true)
	id := benchRecords("bench", 1795720303427918821, n)[n/2].ID
	b.ReportAllocs()
	for b.Loop() {
		p, err := prove(root, id, 0)
		if err != nil || uint64(p.TreeSize) != uint64(n) {
			b.Fatalf("prove: %v", err)
		}
	}
}

// BenchmarkReadLeaves measures verify's work on one data file of 50,000
// GenAI records, on one goroutine: hash the file's bytes, read its columns
// and recompute every leaf hash (verify.ReadLeaves). records/s is the
// one-core ceiling of verify before the trees and signatures.
func BenchmarkReadLeaves(b *testing.B) {
	const n = 50_000
	recs := benchRecords("bench", 1795720303427918821, n)
	var buf bytes.Buffer
	if err := archive.WriteRows(&buf, recs); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		d := archive.DigestOf("f.parquet", data)
		lf, err := verify.ReadLeaves("f.parquet", data, &d, verify.Scope{}, nil)
		if err != nil || len(lf.Leaves) != n {
			b.Fatalf("ReadLeaves: %v", err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkProveArchive proves record GOVAUDIT_BENCH_RECORD of the archive
// GOVAUDIT_BENCH_ARCHIVE written by TestWriteBenchArchive (skipped unless
// both are set): for profiling prove on a large archive without writing it
// again.
func BenchmarkProveArchive(b *testing.B) {
	root, id := os.Getenv("GOVAUDIT_BENCH_ARCHIVE"), os.Getenv("GOVAUDIT_BENCH_RECORD")
	if root == "" || id == "" {
		b.Skip("set GOVAUDIT_BENCH_ARCHIVE=DIR and GOVAUDIT_BENCH_RECORD=ID")
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := prove(root, id, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyArchive verifies the archive GOVAUDIT_BENCH_ARCHIVE
// written by TestWriteBenchArchive (skipped unless set), with its key
// GOVAUDIT_BENCH_ARCHIVE.pub: for profiling verify on a large archive
// without writing it again.
func BenchmarkVerifyArchive(b *testing.B) {
	root := os.Getenv("GOVAUDIT_BENCH_ARCHIVE")
	if root == "" {
		b.Skip("set GOVAUDIT_BENCH_ARCHIVE=DIR")
	}
	trusted, err := auditlog.LoadVerifiers(filepath.Clean(root) + ".pub")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var records uint64
	for b.Loop() {
		checker := verify.NewChecker(trusted)
		if err := scanArchive(root, checker, nil, nil); err != nil {
			b.Fatal(err)
		}
		rep := checker.Report()
		if !rep.OK() {
			b.Fatalf("verify: %v", rep.Problems)
		}
		records += rep.Records
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}
