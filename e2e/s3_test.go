package e2e

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/objectstore"
	"github.com/govaudit/govaudit/internal/objectstore/s3test"
)

// s3Env starts versitygw on 127.0.0.1 with a bucket under Object Lock and
// returns an environment running the collector with examples/s3.yaml
// against it (GOVERNANCE retention for a day, prefix e2e/eu), and the
// archive's s3:// root. The AWS variables are set for the test process, so
// the collector and govaudit inherit them.
func s3Env(t *testing.T) (*env, *s3test.Server, string) {
	t.Helper()
	bin := binDir(t) // skips without the binaries
	srv := s3test.Start(t)
	srv.CreateBucket("govaudit")
	for k, v := range map[string]string{
		"GOVAUDIT_S3_BUCKET":         "govaudit",
		"GOVAUDIT_S3_PREFIX":         "e2e/eu",
		"GOVAUDIT_S3_PATH_STYLE":     "true",
		"GOVAUDIT_S3_RETENTION_DAYS": "1",
		"GOVAUDIT_S3_RETENTION_MODE": "GOVERNANCE",
	} {
		t.Setenv(k, v)
	}
	e := newEnv(t)
	e.bin, e.config = bin, "../examples/s3.yaml"
	return e, srv, "s3://govaudit/e2e/eu"
}

// TestS3ExampleValidates: examples/s3.yaml is accepted by the built
// distribution with its variables set, and refused naming the field
// without the bucket or the retention.
func TestS3ExampleValidates(t *testing.T) {
	e := newEnv(t)
	base := []string{"GOVAUDIT_DATA=" + e.data, "GOVAUDIT_S3_PATH_STYLE=true", "GOVAUDIT_S3_PREFIX=team/a"}
	for _, c := range []struct {
		env     []string
		wantErr string
	}{
		{[]string{"GOVAUDIT_S3_BUCKET=audit-archive", "GOVAUDIT_S3_RETENTION_DAYS=400"}, ""},
		{[]string{"GOVAUDIT_S3_RETENTION_DAYS=400"}, "s3: bucket: required"},
		{[]string{"GOVAUDIT_S3_BUCKET=audit-archive"}, "retention::days: must be between 1 and 36500, got 0"},
		{[]string{"GOVAUDIT_S3_BUCKET=audit-archive", "GOVAUDIT_S3_RETENTION_DAYS=400", "GOVAUDIT_S3_RETENTION_MODE=LEGAL_HOLD"}, "want COMPLIANCE or GOVERNANCE"},
	} {
		cmd := exec.Command(filepath.Join(e.bin, "otelcol-govaudit"), "validate", "--config", "../examples/s3.yaml")
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "GOVAUDIT_S3_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(append(cmd.Env, base...), c.env...)
		out, err := cmd.CombinedOutput()
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%v: s3.yaml does not validate: %v\n%s", c.env, err, out)
		case c.wantErr != "" && (err == nil || !strings.Contains(string(out), c.wantErr)):
			t.Errorf("%v: want a validation error naming %q, got %v\n%s", c.env, c.wantErr, err, out)
		}
	}
}

// queryIDs returns the record ids that `govaudit query root --format json`
// prints for args, sorted.
func queryIDs(t *testing.T, e *env, root string, args ...string) []string {
	t.Helper()
	code, out := e.govaudit(t, append([]string{"query", root, "--format", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("query %s: exit %d\n%s", root, code, out)
	}
	var ids []string
	for _, r := range parseRecords(t, out) {
		ids = append(ids, r.ID)
	}
	sort.Strings(ids)
	return ids
}

// TestS3Archive runs the distribution with examples/s3.yaml against a real
// S3 gateway: the archive uploaded under Object Lock verifies straight from
// the bucket and queries find the same records as in the local copy; an
// overwrite or delete of an archived object is refused or leaves the locked
// version, which verify still reads; and a kill -9 while uploads are
// pending (the gateway down) loses nothing: after both restart, every
// acknowledged record is in the bucket and verify exits 0.
func TestS3Archive(t *testing.T) {
	e, srv, bucketRoot := s3Env(t)
	local := filepath.Join(e.data, "audit")
	c := startCollector(t, e)
	traces := sendSpans(t, e.otlpHTTP)
	time.Sleep(1500 * time.Millisecond) // past the checkpoint interval
	c.stop()                            // seals, and uploads in its last pass

	if code, out := e.govaudit(t, "verify", "--key", e.pub, bucketRoot); code != 0 || !strings.Contains(out, "verified") {
		t.Fatalf("verify %s: exit %d\n%s", bucketRoot, code, out)
	}
	got := queryIDs(t, e, bucketRoot, "--trace", traces["genai"])
	if len(got) == 0 || strings.Join(got, ",") != strings.Join(queryIDs(t, e, local, "--trace", traces["genai"]), ",") {
		t.Errorf("query --trace in the bucket: %v, want the local archive's records", got)
	}

	// Tampering through the S3 API, with the gateway's root credentials.
	data, err := archive.DataFiles(local)
	if err != nil || len(data) == 0 {
		t.Fatalf("local data files: %v %v", data, err)
	}
	ctx := context.Background()
	api := srv.Client().S3()
	loc := objectstore.Location{Bucket: "govaudit", Prefix: "e2e/eu"}
	key := loc.Key(data[0])
	versions, err := api.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("govaudit"), Prefix: aws.String(key)})
	if err != nil || len(versions.Versions) != 1 {
		t.Fatalf("versions of %s: %v %v", key, versions, err)
	}
	locked := versions.Versions[0].VersionId
	_, err = api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("govaudit"), Key: aws.String(key), VersionId: locked})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Errorf("deleting the locked version of %s: %v, want AccessDenied (object lock)", key, err)
	}
	if _, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("govaudit"), Key: aws.String(key), Body: strings.NewReader("forged")}); err != nil {
		t.Fatalf("overwrite (a new version): %v", err)
	}
	if _, err := api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("govaudit"), Key: aws.String(loc.Key(archive.IndexPath(data[0])))}); err != nil {
		t.Fatalf("delete (a delete marker): %v", err)
	}
	if code, out := e.govaudit(t, "verify", "--key", e.pub, bucketRoot); code != 0 {
		t.Errorf("verify after an overwrite and a delete: exit %d, want 0 (the locked versions are read)\n%s", code, out)
	}

	// kill -9 with uploads pending: the gateway is down while spans are
	// acknowledged and sealed.
	srv.Stop()
	before, _ := archive.DataFiles(local)
	c = startCollector(t, e)
	var acked atomic.Int64
	client := &http.Client{Timeout: 5 * time.Second}
	for seq := range 5 {
		resp, err := client.Post("http://"+e.otlpHTTP+"/v1/traces", "application/json", bytes.NewReader(chatBatch(t, seq, 10)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /v1/traces with the bucket down: %s (acknowledgement must not depend on the bucket)", resp.Status)
		}
		acked.Add(10)
	}
	// Wait for a seal (rotation max_age 10s), so that sealed files wait
	// for upload, then crash.
	deadline := time.Now().Add(45 * time.Second)
	for {
		now, _ := archive.DataFiles(local)
		if len(now) > len(before) {
			break
		}
		if time.Now().After(deadline) {
			c.dumpLog()
			t.Fatal("no seal within 45s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.kill()
	if code, out := e.govaudit(t, "query", bucketRoot, "--model", "crash-model"); code == 0 && strings.Contains(out, "crash-model") {
		t.Fatal("test setup: the spans reached the bucket with the gateway down")
	}

	srv.Start()
	c = startCollector(t, e)
	// The restarted collector uploads what waited, without a shutdown.
	deadline = time.Now().Add(60 * time.Second)
	for {
		code, out := e.govaudit(t, "query", bucketRoot, "--model", "crash-model", "--format", "json")
		if code == 0 && int64(strings.Count(out, "\n")) >= acked.Load() {
			break
		}
		if time.Now().After(deadline) {
			c.dumpLog()
			t.Fatalf("the acknowledged spans did not reach the bucket within 60s of the restart")
		}
		time.Sleep(500 * time.Millisecond)
	}
	c.stop()
	code, out := e.govaudit(t, "verify", "--key", e.pub, bucketRoot)
	if code != 0 {
		t.Fatalf("verify %s after kill -9 and restart: exit %d\n%s", bucketRoot, code, out)
	}
	crash := queryIDs(t, e, bucketRoot, "--model", "crash-model")
	if int64(len(crash)) != acked.Load() {
		t.Errorf("bucket holds %d of the %d acknowledged spans sent before the kill", len(crash), acked.Load())
	}
	if l := queryIDs(t, e, local, "--model", "crash-model"); strings.Join(l, ",") != strings.Join(crash, ",") {
		t.Errorf("bucket and local archive differ: %d vs %d records", len(crash), len(l))
	}
}
