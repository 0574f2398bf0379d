package archive_test

import (
	"context"
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/objectstore/s3test"
)

// TestBucketStore: the readers list and read a bucket root with the same
// rules as a directory: hidden and private names skipped, a "directory"
// named like a data file listed (and unreadable), reads bounded by the cap
// of their kind before any byte is read, paths outside the archive refused,
// a sibling prefix invisible; of each key the oldest version is read (the
// one Object Lock retains), of a latest pointer the newest, and delete
// markers hide nothing.
func TestBucketStore(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket("audit")
	api := srv.Client().S3()
	ctx := context.Background()
	put := func(key, body string) {
		t.Helper()
		if _, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("audit"), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	const d = "records/origin=a/date=2026-11-27/"
	put("p/"+d+"20261127T100000.000000000Z.parquet", "first")
	put("p/"+d+"20261127T100000.000000000Z.parquet", "second") // a later version
	put("p/"+d+".20261127T110000.000000000Z.parquet.tmp", "temp")
	put("p/"+d+"_private.parquet", "private")
	put("p/records/.hidden/x.parquet", "hidden")
	put("p/"+d+"dir.parquet/inner", "inner")
	put("p/"+d+"notes.txt", "not a data file")
	put("p/checkpoints/a/7/3", "cp")
	put("p/checkpoints/a/latest", "old")
	put("p/checkpoints/a/latest", "new")
	put("pq/records/origin=b/date=2026-11-27/20261127T100000.000000000Z.parquet", "sibling")
	put("p/checkpoints/b/1/1", strings.Repeat("x", archive.MaxCheckpointFileSize+1))
	if _, err := api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("audit"), Key: aws.String("p/checkpoints/a/7/3")}); err != nil {
		t.Fatal(err)
	}

	const root = "s3://audit/p"
	files, err := archive.DataFiles(root)
	want := []string{d + "20261127T100000.000000000Z.parquet", d + "dir.parquet"}
	if err != nil || !reflect.DeepEqual(files, want) {
		t.Errorf("DataFiles = %q, %v\nwant %q", files, err, want)
	}
	cps, err := archive.CheckpointFiles(root)
	if want := []string{"checkpoints/a/7/3", "checkpoints/b/1/1"}; err != nil || !reflect.DeepEqual(cps, want) {
		t.Errorf("CheckpointFiles = %q, %v; want %q", cps, err, want)
	}
	origins, err := archive.CheckpointOrigins(root)
	if want := []string{"a", "b"}; err != nil || !reflect.DeepEqual(origins, want) {
		t.Errorf("CheckpointOrigins = %q, %v; want %q", origins, err, want)
	}
	covered, err := archive.CoveredFiles(root)
	if err != nil || !strings.Contains(strings.Join(covered, " "), d+"notes.txt") || strings.Contains(strings.Join(covered, " "), "latest") {
		t.Errorf("CoveredFiles = %q, %v; want every non-hidden file but latest", covered, err)
	}

	for _, c := range []struct {
		rel, want string
		max       int64
		err       error
	}{
		{d + "20261127T100000.000000000Z.parquet", "first", archive.MaxDataFileSize, nil}, // the oldest version
		{"checkpoints/a/latest", "new", archive.MaxCheckpointFileSize, nil},               // the newest
		{"checkpoints/a/7/3", "cp", archive.MaxCheckpointFileSize, nil},                   // under a delete marker
		{"checkpoints/b/1/1", "", archive.MaxCheckpointFileSize, archive.ErrTooLarge},
		{d + "dir.parquet", "", archive.MaxDataFileSize, fs.ErrNotExist},
		{"records/missing.parquet", "", archive.MaxDataFileSize, fs.ErrNotExist},
	} {
		b, err := archive.ReadRegular(root, c.rel, c.max)
		if c.err != nil {
			if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.rel) && c.err != archive.ErrTooLarge {
				t.Errorf("ReadRegular(%s) = %q, %v; want %v naming it", c.rel, b, err, c.err)
			}
			continue
		}
		if err != nil || string(b) != c.want {
			t.Errorf("ReadRegular(%s) = %q, %v; want %q", c.rel, b, err, c.want)
		}
	}
	for _, rel := range []string{"../pq/records/x", "/etc/passwd", "records//x", "."} {
		if _, err := archive.ReadRegular(root, rel, 10); err == nil || !strings.Contains(err.Error(), "not a path inside the archive") {
			t.Errorf("ReadRegular(%q): %v, want it refused", rel, err)
		}
	}

	for _, c := range []struct {
		root string
		want bool
	}{{root, true}, {"s3://audit/nothing", false}, {"s3://audit", false}} {
		if ok, err := archive.HasArchive(c.root); err != nil || ok != c.want {
			t.Errorf("HasArchive(%s) = %v, %v; want %v", c.root, ok, err, c.want)
		}
	}
	if p, err := archive.ReadPending(root); err != nil || p.Segments != 0 {
		t.Errorf("ReadPending(bucket) = %+v, %v; want none (the WAL is never uploaded)", p, err)
	}
	if _, err := archive.Reindex(root); err == nil || !strings.Contains(err.Error(), "needs a local directory") {
		t.Errorf("Reindex(bucket) = %v, want refused", err)
	}
	if err := archive.CheckRoot("s3://Bad_Bucket"); err == nil {
		t.Error("CheckRoot accepted a malformed bucket name")
	}
}
