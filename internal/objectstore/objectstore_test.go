package objectstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/govaudit/govaudit/internal/objectstore"
	"github.com/govaudit/govaudit/internal/objectstore/s3test"
)

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    objectstore.Location
		wantErr string
	}{
		{"s3://audit-bucket", objectstore.Location{Bucket: "audit-bucket"}, ""},
		{"s3://audit-bucket/", objectstore.Location{Bucket: "audit-bucket"}, ""},
		{"s3://audit.bucket/team/a/", objectstore.Location{Bucket: "audit.bucket", Prefix: "team/a"}, ""},
		{"/tmp/audit", objectstore.Location{}, "not an s3:// URL"},
		{"s3://", objectstore.Location{}, "must have 3 to 63 characters"},
		{"s3://Audit", objectstore.Location{}, "want lowercase letters"},
		{"s3://-audit", objectstore.Location{}, "want lowercase letters"},
		{"s3://au..dit", objectstore.Location{}, `must not contain ".."`},
		{"s3://audit/a//b", objectstore.Location{}, "prefix \"a//b\""},
		{"s3://audit/a/../b", objectstore.Location{}, "prefix \"a/../b\""},
		{"s3://audit//a", objectstore.Location{}, "prefix \"/a\""},
	} {
		got, err := objectstore.ParseURL(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseURL(%q) = %v, %v; want an error containing %q", c.in, got, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	l := objectstore.Location{Bucket: "b", Prefix: "p/q"}
	if k := l.Key("records/x"); k != "p/q/records/x" {
		t.Errorf("Key = %q", k)
	}
	if r, ok := l.Rel("p/q/records/x"); !ok || r != "records/x" {
		t.Errorf("Rel = %q, %v", r, ok)
	}
	if _, ok := l.Rel("p/qr/x"); ok {
		t.Error("Rel accepted a key of a sibling prefix")
	}
}

func TestOptionsFromEnv(t *testing.T) {
	t.Setenv(objectstore.PathStyleEnv, "yes")
	if _, err := objectstore.OptionsFromEnv(); err == nil || !strings.Contains(err.Error(), objectstore.PathStyleEnv) {
		t.Errorf("OptionsFromEnv with a bad value: %v, want an error naming %s", err, objectstore.PathStyleEnv)
	}
	t.Setenv(objectstore.PathStyleEnv, "true")
	if o, err := objectstore.OptionsFromEnv(); err != nil || !o.PathStyle {
		t.Errorf("OptionsFromEnv = %+v, %v", o, err)
	}
}

// TestAgainstVersitygw exercises every call on a real S3 server with Object
// Lock: the endpoint comes from AWS_ENDPOINT_URL_S3 (the SDK's own
// variable), conditional writes refuse an existing key, the server checks
// the SHA-256 checksum, retention is applied and refuses deletion of the
// version, reads are bounded, and ListVersions sees a version hidden by a
// delete marker or an overwrite.
func TestAgainstVersitygw(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket("archive")
	ctx := context.Background()
	c, err := objectstore.New(ctx, objectstore.Options{PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("sealed bytes\n")
	sum := sha256.Sum256(data)
	until := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	ret := &objectstore.Retention{Mode: types.ObjectLockModeGovernance, Until: until}
	if err := c.Put(ctx, "archive", "p/a", bytes.NewReader(data), int64(len(data)), sum[:], ret); err != nil {
		t.Fatalf("Put: %v\n%s", err, srv.Log())
	}
	info, err := c.Stat(ctx, "archive", "p/a")
	if err != nil || info.Size != int64(len(data)) || !bytes.Equal(info.SHA256, sum[:]) {
		t.Errorf("Stat = %+v, %v; want size %d and the SHA-256 uploaded", info, err, len(data))
	}
	if mode, u := srv.Retention("archive", "p/a"); mode != types.ObjectLockRetentionModeGovernance || !u.Equal(until) {
		t.Errorf("retention = %s until %s, want GOVERNANCE until %s", mode, u, until)
	}

	// A second write of the key is refused, whatever its bytes.
	other := []byte("other bytes\n")
	osum := sha256.Sum256(other)
	if err := c.Put(ctx, "archive", "p/a", bytes.NewReader(other), int64(len(other)), osum[:], ret); !errors.Is(err, objectstore.ErrExists) {
		t.Errorf("Put over an existing key: %v, want ErrExists", err)
	}
	// A checksum that does not match the bytes is refused by the server.
	err = c.Put(ctx, "archive", "p/b", bytes.NewReader(other), int64(len(other)), sum[:], ret)
	if err == nil {
		t.Fatal("Put with a wrong SHA-256: accepted")
	}
	if code := objectstore.Code(err); code != "BadDigest" && code != "XAmzContentChecksumMismatch" {
		t.Errorf("Put with a wrong SHA-256: %v (code %q), want the server's checksum mismatch", err, code)
	}
	if _, err := c.Stat(ctx, "archive", "p/b"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat after a refused upload: %v, want not found", err)
	}

	got, err := c.Get(ctx, "archive", "p/a", "", 1<<10)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("Get = %q, %v", got, err)
	}
	if _, err := c.Get(ctx, "archive", "p/a", "", 4); !errors.Is(err, objectstore.ErrTooLarge) {
		t.Errorf("Get over its cap: %v, want ErrTooLarge", err)
	}
	if _, err := c.Get(ctx, "archive", "p/missing", "", 4); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get of a missing key: %v, want fs.ErrNotExist", err)
	}

	// Deleting the locked version is refused; a plain DELETE only adds a
	// delete marker, under which the locked version stays listed.
	var first objectstore.Version
	if err := c.ListVersions(ctx, "archive", "p/a", func(v objectstore.Version) error { first = v; return nil }); err != nil {
		t.Fatal(err)
	}
	_, err = c.S3().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("archive"), Key: aws.String("p/a"), VersionId: aws.String(first.VersionID)})
	if err == nil {
		t.Fatal("deleting a locked version: accepted")
	}
	if _, err := c.S3().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("archive"), Key: aws.String("p/a")}); err != nil {
		t.Fatalf("DELETE without version: %v", err)
	}
	var versions []objectstore.Version
	if err := c.ListVersions(ctx, "archive", "p/", func(v objectstore.Version) error { versions = append(versions, v); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(versions) != 1 || versions[0].VersionID != first.VersionID || versions[0].Size != int64(len(data)) {
		t.Errorf("versions after a delete marker = %+v, want the locked version %+v", versions, first)
	}
	got, err = c.Get(ctx, "archive", "p/a", first.VersionID, 1<<10)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("Get of the locked version = %q, %v", got, err)
	}
}

// TestServerDown: a request to a stopped server fails (after the SDK's
// retries) instead of hanging.
func TestServerDown(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket("archive")
	srv.Stop()
	c := srv.Client()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.Stat(ctx, "archive", "k"); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat with the server down: %v, want a connection error", err)
	}
}

// TestObjectLock: the configuration of a bucket created with Object Lock,
// with and without a default retention; a bucket created without it, a
// missing bucket and refused credentials are each told apart.
func TestObjectLock(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket("locked")
	srv.CreatePlainBucket("plain")
	ctx := context.Background()
	c := srv.Client()

	lc, err := c.ObjectLock(ctx, "locked")
	if err != nil || lc != (objectstore.LockConfig{}) {
		t.Errorf("ObjectLock(locked) = %+v, %v; want enabled, no default retention", lc, err)
	}
	_, err = c.S3().PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{
		Bucket: aws.String("locked"),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{
			ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{
				Mode: types.ObjectLockRetentionModeCompliance, Days: aws.Int32(200)}},
		},
	})
	if err != nil {
		t.Fatalf("setting a default retention: %v", err)
	}
	lc, err = c.ObjectLock(ctx, "locked")
	if want := (objectstore.LockConfig{DefaultMode: types.ObjectLockRetentionModeCompliance, DefaultDays: 200}); err != nil || lc != want {
		t.Errorf("ObjectLock(locked) with a default retention = %+v, %v; want %+v", lc, err, want)
	}

	if _, err := c.ObjectLock(ctx, "plain"); !errors.Is(err, objectstore.ErrNoObjectLock) || !strings.Contains(err.Error(), "s3://plain") {
		t.Errorf("ObjectLock(plain) = %v, want ErrNoObjectLock naming the bucket", err)
	}
	if _, err := c.ObjectLock(ctx, "missing"); !errors.Is(err, objectstore.ErrNoBucket) {
		t.Errorf("ObjectLock(missing) = %v, want ErrNoBucket", err)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
	if _, err := srv.Client().ObjectLock(ctx, "locked"); !errors.Is(err, objectstore.ErrDenied) {
		t.Errorf("ObjectLock with a wrong secret = %v, want ErrDenied", err)
	}
}

// TestReadAt: ranged reads of a given version, bounded by the size the
// caller knows; a size that the server contradicts (a lying listing) is an
// error, and a read outside the size makes no request.
func TestReadAt(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket("archive")
	cnt := srv.Counter()
	ctx := context.Background()
	c := srv.Client()
	data := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	sum := sha256.Sum256(data)
	if err := c.Put(ctx, "archive", "k", bytes.NewReader(data), int64(len(data)), sum[:], nil); err != nil {
		t.Fatal(err)
	}
	var first objectstore.Version
	if err := c.ListVersions(ctx, "archive", "k", func(v objectstore.Version) error { first = v; return nil }); err != nil {
		t.Fatal(err)
	}
	newer := []byte("a newer version, shorter")
	nsum := sha256.Sum256(newer)
	if err := c.Replace(ctx, "archive", "k", bytes.NewReader(newer), int64(len(newer)), nsum[:], nil); err != nil {
		t.Fatal(err)
	}
	size := int64(len(data))
	for _, r := range [][2]int64{{0, 4}, {size - 8, 8}, {1000, 30000}, {0, size}, {size, 0}} {
		p := make([]byte, r[1])
		cnt.Reset()
		if err := c.ReadAt(ctx, "archive", "k", first.VersionID, size, p, r[0]); err != nil || !bytes.Equal(p, data[r[0]:r[0]+r[1]]) {
			t.Errorf("ReadAt(%d bytes at %d) of the first version: %v", r[1], r[0], err)
		}
		if r[1] > 0 && cnt.Bytes() != r[1] {
			t.Errorf("ReadAt(%d bytes at %d) fetched %d bytes", r[1], r[0], cnt.Bytes())
		}
	}
	cnt.Reset()
	for _, r := range [][2]int64{{-1, 4}, {size - 3, 4}, {size + 1, 0}} {
		if err := c.ReadAt(ctx, "archive", "k", first.VersionID, size, make([]byte, r[1]), r[0]); err == nil || !strings.Contains(err.Error(), "past its") {
			t.Errorf("ReadAt(%d bytes at %d) of %d bytes: %v, want an error", r[1], r[0], size, err)
		}
	}
	if cnt.Requests() != 0 {
		t.Errorf("reads outside the size made %d requests", cnt.Requests())
	}
	// A size larger than the object's (a listing that lies): the server's
	// Content-Range names the real size, and the read fails.
	if err := c.ReadAt(ctx, "archive", "k", first.VersionID, size+100, make([]byte, 10), 0); err == nil || !strings.Contains(err.Error(), "the server answered the range") {
		t.Errorf("ReadAt with a wrong size: %v, want the range mismatch", err)
	}
	// The newer version is shorter: a range of the first is past its end.
	if err := c.ReadAt(ctx, "archive", "k", "", size, make([]byte, 10), 1000); err == nil {
		t.Error("ReadAt past the end of the current version: no error")
	}
	if err := c.ReadAt(ctx, "archive", "missing", "", 10, make([]byte, 4), 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadAt of a missing key: %v, want fs.ErrNotExist", err)
	}
}
