package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/objectstore"
	"github.com/govaudit/govaudit/internal/objectstore/s3test"
	"github.com/govaudit/govaudit/internal/verify"
)

// upload copies every file of the local archive root except the
// write-ahead log to bucket under prefix, as the exporter's uploader lays
// them out.
func upload(t testing.TB, c *objectstore.Client, root, bucket, prefix string) {
	t.Helper()
	loc := objectstore.Location{Bucket: bucket, Prefix: prefix}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, archive.WALDir+"/") || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		return c.Put(context.Background(), bucket, loc.Key(rel), bytes.NewReader(b), int64(len(b)), sum[:], nil)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBucketLikeDirectory: verify, query, prove and report give the same
// results on an archive in a bucket (s3://bucket/prefix, on a real S3
// server) as on the same archive in a directory; an empty prefix is "no
// archive at"; reindex refuses a bucket; objects overwritten or deleted
// in the bucket (new versions and delete markers over the retained
// version) do not change what is verified, while an object added under a
// new key makes verify fail naming it.
func TestBucketLikeDirectory(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket("audit")
	dir := t.TempDir()
	key, pub := keys(t, dir, "k1")
	root := filepath.Join(dir, "audit")
	recs := writeArchive(t, root, key, 12, 5)
	c := srv.Client()
	upload(t, c, root, "audit", "team/a")
	const bucketRoot = "s3://audit/team/a"

	same := func(args ...string) {
		t.Helper()
		local := make([]string, len(args))
		remote := make([]string, len(args))
		for i, a := range args {
			local[i] = strings.ReplaceAll(a, "ROOT", root)
			remote[i] = strings.ReplaceAll(a, "ROOT", bucketRoot)
		}
		lc, lout, lerr := runCmd(t, local...)
		rc, rout, rerr := runCmd(t, remote...)
		lout, lerr = strings.ReplaceAll(lout, root, "ROOT"), strings.ReplaceAll(lerr, root, "ROOT")
		rout, rerr = strings.ReplaceAll(rout, bucketRoot, "ROOT"), strings.ReplaceAll(rerr, bucketRoot, "ROOT")
		if lc != exitOK || rc != lc || rout != lout || rerr != lerr {
			t.Errorf("govaudit %s: directory exit %d, bucket exit %d\ndirectory:\n%s%s\nbucket:\n%s%s", strings.Join(args, " "), lc, rc, lout, lerr, rout, rerr)
		}
	}
	same("verify", "--key", pub, "ROOT")
	same("verify", "--json", "--key", pub, "ROOT")
	same("query", "ROOT", "--model", "claude-sonnet", "--format", "json", "--stats")
	same("query", "ROOT", "--user", "alice", "--type", "inference", "--format", "csv")
	same("prove", "ROOT", "--record", recs[7].ID, "--checkpoint", "10")
	same("report", "--key", pub, "--format", "json", "ROOT")

	if code, out, _ := runCmd(t, "verify", bucketRoot, "--key", pub); code != exitOK || !strings.Contains(out, "verified up to size 12") {
		t.Fatalf("verify %s: exit %d\n%s", bucketRoot, code, out)
	}
	code, _, stderr := runCmd(t, "verify", "s3://audit/team/b", "--key", pub)
	if code != exitUsage || !strings.Contains(stderr, "no archive at s3://audit/team/b") {
		t.Errorf("verify of an empty prefix: exit %d %s", code, stderr)
	}
	code, _, stderr = runCmd(t, "query", "s3://Audit/x")
	if code != exitUsage || !strings.Contains(stderr, "bucket name") {
		t.Errorf("query of a malformed bucket URL: exit %d %s", code, stderr)
	}
	code, _, stderr = runCmd(t, "reindex", bucketRoot)
	if code == exitOK || !strings.Contains(stderr, "needs a local directory") {
		t.Errorf("reindex of a bucket: exit %d %s", code, stderr)
	}

	// An overwrite (a new version) of a data file and a delete marker over
	// an index leave the versions the exporter wrote: still verified.
	files, err := archive.DataFiles(root)
	if err != nil || len(files) != 2 {
		t.Fatalf("DataFiles = %v, %v", files, err)
	}
	ctx := context.Background()
	loc := objectstore.Location{Bucket: "audit", Prefix: "team/a"}
	if _, err := c.S3().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("audit"), Key: aws.String(loc.Key(files[0])),
		Body: strings.NewReader("forged")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.S3().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("audit"), Key: aws.String(loc.Key(archive.IndexPath(files[1])))}); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCmd(t, "verify", bucketRoot, "--key", pub); code != exitOK {
		t.Errorf("verify after an overwrite and a delete marker: exit %d\n%s", code, out)
	}
	// A new key is a file no manifest lists.
	extra := strings.Replace(files[1], "T10", "T11", 1)
	if _, err := c.S3().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("audit"), Key: aws.String(loc.Key(extra)),
		Body: strings.NewReader("injected")}); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCmd(t, "verify", bucketRoot, "--key", pub); code != exitFailed || !strings.Contains(out, extra) {
		t.Errorf("verify with an injected object: exit %d, want %d naming %s\n%s", code, exitFailed, extra, out)
	}
}

// BenchmarkVerifyBucket verifies one archive from a directory and from a
// bucket on versitygw (127.0.0.1, same machine), as sub-benchmarks of one
// run, so that their ratio is the cost of reading through S3.
// GOVAUDIT_BENCH_RECORDS sets the size (default 20,000; files of 5,000).
func BenchmarkVerifyBucket(b *testing.B) {
	srv := s3test.Start(b)
	srv.CreateBucket("bench")
	n := envInt(b, "GOVAUDIT_BENCH_RECORDS", 20_000)
	root := b.TempDir()
	vkey := writeBenchArchive(b, root, n, 5_000, 5_000, true)
	upload(b, srv.Client(), root, "bench", "a")
	v, err := note.NewVerifier(vkey)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, root string }{{"dir", root}, {"s3", "s3://bench/a"}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				checker := verify.NewChecker(note.VerifierList(v))
				if err := scanArchive(c.root, checker, nil, nil); err != nil {
					b.Fatal(err)
				}
				if rep := checker.Report(); !rep.OK() || rep.Records != uint64(n) {
					b.Fatalf("verify %s: %d records, problems %v", c.root, rep.Records, rep.Problems)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
