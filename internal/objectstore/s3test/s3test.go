// Package s3test runs a real S3 server for tests: versitygw
// (github.com/versity/versitygw, an S3 gateway over a local directory, with
// versioning and Object Lock), listening on 127.0.0.1.
//
// The binary is found through the environment variable GOVAUDIT_VERSITYGW,
// which the Makefile sets to the copy it installs in .tools/ (`make
// versitygw`); tests that need the server are skipped when it is unset, and
// fail when it is set but does not run.
package s3test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/govaudit/govaudit/internal/objectstore"
)

// BinaryEnv names the environment variable holding the versitygw binary.
const BinaryEnv = "GOVAUDIT_VERSITYGW"

// Credentials of the gateway's root account.
const (
	AccessKey = "govaudit-test"
	SecretKey = "govaudit-test-secret"
)

// A Server is a running versitygw.
type Server struct {
	t        testing.TB
	bin      string
	dir      string // data and versioning directories
	Addr     string // 127.0.0.1:port
	Endpoint string // http://127.0.0.1:port
	cmd      *exec.Cmd
	done     chan struct{}
	log      syncBuffer
}

// syncBuffer is the server's output: written by exec's copying goroutine
// while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *syncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.Reset()
}

// Binary returns the versitygw binary named by BinaryEnv, skipping the
// test when it is unset.
func Binary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv(BinaryEnv)
	if bin == "" {
		t.Skip(BinaryEnv + " not set: run through `make test`, which installs versitygw into .tools/")
	}
	return bin
}

// Start starts versitygw on a free loopback port with a fresh directory,
// and stops it when the test ends. It sets the AWS environment of the test
// (t.Setenv: credentials, region, AWS_ENDPOINT_URL_S3 and
// GOVAUDIT_S3_PATH_STYLE) so that objectstore.New and the govaudit command
// reach it; tests using it cannot run in parallel.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, bin: Binary(t), dir: t.TempDir()}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	l.Close()
	s.Endpoint = "http://" + s.Addr
	for _, d := range []string{"data", "versions"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range s.Env() {
		t.Setenv(k, v)
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Env returns the environment that points an AWS client at the server.
func (s *Server) Env() map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID":           AccessKey,
		"AWS_SECRET_ACCESS_KEY":       SecretKey,
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  objectstore.DefaultRegion,
		"AWS_ENDPOINT_URL_S3":         s.Endpoint,
		"AWS_ENDPOINT_URL":            "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             filepath.Join(s.dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(s.dir, "no-aws-credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		objectstore.PathStyleEnv:      "true",
	}
}

// Start (re)starts the server on its address and data, after Stop, and
// waits until it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("s3test: server already running")
	}
	cmd := exec.Command(s.bin, "--port", s.Addr, "posix",
		"--versioning-dir", filepath.Join(s.dir, "versions"), filepath.Join(s.dir, "data"))
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+AccessKey, "ROOT_SECRET_KEY="+SecretKey)
	s.log.Reset()
	cmd.Stdout, cmd.Stderr = &s.log, &s.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting versitygw (%s): %v", s.bin, err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-s.done:
			s.cmd = nil
			s.t.Fatalf("versitygw exited at start: %s", s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			s.t.Fatalf("versitygw did not listen on %s within 30s: %s", s.Addr, s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills the server (its data stays for a later Start).
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Client returns an objectstore client for the server (path style).
func (s *Server) Client() *objectstore.Client {
	s.t.Helper()
	c, err := objectstore.New(context.Background(), objectstore.Options{PathStyle: true})
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// CreateBucket creates a bucket with Object Lock enabled (which turns
// versioning on), as an operator would for an archive.
func (s *Server) CreateBucket(name string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.Client().S3().CreateBucket(ctx, &s3.CreateBucketInput{
		Bucket:                     aws.String(name),
		ObjectLockEnabledForBucket: aws.Bool(true),
	})
	if err != nil {
		s.t.Fatalf("creating bucket %s: %v\n%s", name, err, s.log.String())
	}
}

// CreatePlainBucket creates a bucket without Object Lock (and without
// versioning): one the exporter must refuse.
func (s *Server) CreatePlainBucket(name string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Client().S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		s.t.Fatalf("creating bucket %s: %v\n%s", name, err, s.log.String())
	}
}

// A Counter is a reverse proxy on 127.0.0.1 in front of the server that
// counts the requests it forwards and the bytes of the response bodies it
// returns: what a client fetched, measured outside the client.
type Counter struct {
	Endpoint string // http://127.0.0.1:port
	requests atomic.Int64
	gets     atomic.Int64
	bytes    atomic.Int64
	getBytes atomic.Int64
}

// Counter starts a Counter in front of the server, stopped when the test
// ends, and points the test's AWS environment (AWS_ENDPOINT_URL_S3) at it.
// The SDK signs the Host header, which the proxy passes on unchanged.
func (s *Server) Counter() *Counter {
	s.t.Helper()
	target, err := url.Parse(s.Endpoint)
	if err != nil {
		s.t.Fatal(err)
	}
	c := &Counter{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0) // a stopped server is a 502, as tests expect
	rp.ModifyResponse = func(r *http.Response) error {
		c.requests.Add(1)
		n := []*atomic.Int64{&c.bytes}
		if r.Request.Method == http.MethodGet && !r.Request.URL.Query().Has("versions") && !r.Request.URL.Query().Has("list-type") {
			c.gets.Add(1)
			n = append(n, &c.getBytes)
		}
		r.Body = &countingBody{r: r.Body, n: n}
		return nil
	}
	hs := httptest.NewServer(rp)
	s.t.Cleanup(hs.Close)
	c.Endpoint = hs.URL
	s.t.Setenv("AWS_ENDPOINT_URL_S3", c.Endpoint)
	return c
}

// Reset sets the counts to zero.
func (c *Counter) Reset() {
	c.requests.Store(0)
	c.gets.Store(0)
	c.bytes.Store(0)
	c.getBytes.Store(0)
}

// Requests returns the number of requests forwarded; Gets those that were
// object reads (GetObject, not a listing); Bytes the response body bytes
// returned (objects, listings and error documents); GetBytes those of the
// object reads.
func (c *Counter) Requests() int64 { return c.requests.Load() }

// Gets: see Requests.
func (c *Counter) Gets() int64 { return c.gets.Load() }

// Bytes: see Requests.
func (c *Counter) Bytes() int64 { return c.bytes.Load() }

// GetBytes: see Requests.
func (c *Counter) GetBytes() int64 { return c.getBytes.Load() }

type countingBody struct {
	r io.ReadCloser
	n []*atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	for _, c := range b.n {
		c.Add(int64(n))
	}
	return n, err
}

func (b *countingBody) Close() error { return b.r.Close() }

// Objects returns the keys of the current versions under prefix, with their
// sizes.
func (s *Server) Objects(bucket, prefix string) map[string]int64 {
	s.t.Helper()
	out := map[string]int64{}
	p := s3.NewListObjectsV2Paginator(s.Client().S3(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			s.t.Fatalf("listing s3://%s/%s: %v", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			out[aws.ToString(o.Key)] = aws.ToInt64(o.Size)
		}
	}
	return out
}

// Retention returns the Object Lock mode and retain-until date of the
// current version of bucket/key.
func (s *Server) Retention(bucket, key string) (types.ObjectLockRetentionMode, time.Time) {
	s.t.Helper()
	out, err := s.Client().S3().GetObjectRetention(context.Background(), &s3.GetObjectRetentionInput{
		Bucket: aws.String(bucket), Key: aws.String(key),
	})
	if err != nil {
		s.t.Fatalf("retention of s3://%s/%s: %v", bucket, key, err)
	}
	return out.Retention.Mode, aws.ToTime(out.Retention.RetainUntilDate)
}

// Log returns what the server printed since its last start.
func (s *Server) Log() string { return s.log.String() }

// String describes the server for test messages.
func (s *Server) String() string { return fmt.Sprintf("versitygw on %s", s.Addr) }
