// Package objectstore is govaudit's S3 client: the auditparquet exporter
// uploads sealed files through it and the govaudit command reads archives
// from buckets (s3://bucket/prefix) through it.
//
// It uses the AWS SDK for Go v2 (github.com/aws/aws-sdk-go-v2/service/s3),
// AWS's own maintained SDK: it resolves credentials and region from the
// standard chain (environment, shared config and credentials files, SSO,
// web identity, ECS and EC2 instance roles) and a non-AWS endpoint from
// AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, itself, exactly as the AWS CLI
// does; it speaks Object Lock and the flexible checksums
// (x-amz-checksum-sha256) that the exporter needs, and the collector's
// contrib distribution already depends on it. minio-go would do too, but
// it has its own credential chain and endpoint settings, which operators
// would have to learn in addition to AWS's.
//
// The package adds only what the SDK leaves to the caller: path-style
// addressing as an option (GOVAUDIT_S3_PATH_STYLE for the command; a local
// gateway such as versitygw on 127.0.0.1 needs it), a default region when
// the chain names none, the parsing of s3:// URLs, and the few calls govaudit
// makes, with bounded reads and errors that name the object.
package objectstore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Scheme is the URL scheme of an archive in a bucket.
const Scheme = "s3://"

// PathStyleEnv is the environment variable that makes the govaudit command
// use path-style addressing (http://host/bucket/key) instead of
// virtual-hosted style (http://bucket.host/key): "true" or "false".
const PathStyleEnv = "GOVAUDIT_S3_PATH_STYLE"

// DefaultRegion is used when the AWS chain names no region (no AWS_REGION,
// no region in the shared config): S3-compatible gateways accept any
// region, and AWS redirects a request to the bucket's own region.
const DefaultRegion = "us-east-1"

// ErrNotFound is wrapped by the errors of Stat and Get for a missing object.
// It is fs.ErrNotExist, so callers written for files need no change.
var ErrNotFound = fs.ErrNotExist

// ErrTooLarge is wrapped by Get's error for an object larger than its cap.
var ErrTooLarge = errors.New("object too large")

// ErrExists is wrapped by Put's error when the key already exists (the
// conditional write If-None-Match: * failed): nothing was written.
var ErrExists = errors.New("object already exists")

// A Location is a bucket and a key prefix: s3://<bucket>/<prefix>.
type Location struct {
	Bucket string
	// Prefix is a slash-separated key prefix without leading or trailing
	// slash; empty for the bucket's root.
	Prefix string
}

// ParseURL parses s3://<bucket>[/<prefix>]. The prefix may end in a slash.
func ParseURL(u string) (Location, error) {
	rest, ok := strings.CutPrefix(u, Scheme)
	if !ok {
		return Location{}, fmt.Errorf("%q: not an %s URL", u, Scheme)
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	l := Location{Bucket: bucket, Prefix: strings.TrimSuffix(prefix, "/")}
	if err := ValidBucket(l.Bucket); err != nil {
		return Location{}, fmt.Errorf("%q: %w", u, err)
	}
	if err := ValidPrefix(l.Prefix); err != nil {
		return Location{}, fmt.Errorf("%q: %w", u, err)
	}
	return l, nil
}

// String returns the location as an s3:// URL.
func (l Location) String() string {
	if l.Prefix == "" {
		return Scheme + l.Bucket
	}
	return Scheme + l.Bucket + "/" + l.Prefix
}

// Key returns the object key of rel, a slash path relative to the prefix.
func (l Location) Key(rel string) string {
	if l.Prefix == "" {
		return rel
	}
	return l.Prefix + "/" + rel
}

// Rel returns the path of key relative to the prefix, and whether key is
// under it.
func (l Location) Rel(key string) (string, bool) {
	if l.Prefix == "" {
		return key, true
	}
	return strings.CutPrefix(key, l.Prefix+"/")
}

// ValidBucket checks an S3 bucket name: 3 to 63 characters, lowercase
// letters, digits, '.' and '-', starting and ending with a letter or digit
// (AWS's general purpose bucket naming rules, which S3-compatible gateways
// share).
func ValidBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q must have 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		edge := i == 0 || i == len(b)-1
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '.' || c == '-') && !edge:
		default:
			return fmt.Errorf("bucket name %q: want lowercase letters, digits, '.' and '-', starting and ending with a letter or digit", b)
		}
	}
	if strings.Contains(b, "..") {
		return fmt.Errorf("bucket name %q must not contain \"..\"", b)
	}
	return nil
}

// ValidPrefix checks a key prefix: empty, or slash-separated elements that
// are neither empty, "." nor "..", without leading or trailing slash.
func ValidPrefix(p string) error {
	if p == "" {
		return nil
	}
	if !fs.ValidPath(p) || strings.Contains(p, `\`) {
		return fmt.Errorf("prefix %q: want slash-separated names, without leading or trailing slash, empty, \".\" or \"..\" elements", p)
	}
	return nil
}

// IsURL reports whether s names an archive in a bucket (starts with s3://).
func IsURL(s string) bool { return strings.HasPrefix(s, Scheme) }

// Options are the settings that the AWS chain does not provide.
type Options struct {
	// PathStyle addresses buckets as http://host/bucket/key.
	PathStyle bool
}

// OptionsFromEnv returns the options the govaudit command takes from the
// environment: PathStyleEnv. An unparsable value is an error naming it.
func OptionsFromEnv() (Options, error) {
	var o Options
	if v := os.Getenv(PathStyleEnv); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return o, fmt.Errorf("%s=%q: want true or false", PathStyleEnv, v)
		}
		o.PathStyle = b
	}
	return o, nil
}

// A Client calls S3 for govaudit.
type Client struct {
	s3 *s3.Client
}

// New returns a client configured from the standard AWS chain (see the
// package doc) and opts.
func New(ctx context.Context, opts Options) (*Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	return &Client{s3: s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = opts.PathStyle
		// A ranged GET has no checksum of its bytes to validate (the
		// object's covers all of them); without this the SDK prints a line
		// on stderr for each. The archive's readers check what they read.
		o.DisableLogOutputChecksumValidationSkipped = true
	})}, nil
}

// S3 returns the SDK client, for tests and setup tools (creating a bucket).
func (c *Client) S3() *s3.Client { return c.s3 }

// Retention is the Object Lock retention put on an uploaded object.
type Retention struct {
	Mode  types.ObjectLockMode // COMPLIANCE or GOVERNANCE
	Until time.Time
}

// Put uploads size bytes of body to bucket/key, only if the key does not
// exist (If-None-Match: *; ErrExists otherwise), with the Object Lock
// retention ret (none when ret is nil) and sum, the SHA-256 of the bytes:
// the server recomputes it and refuses the upload if it differs
// (x-amz-checksum-sha256), so bytes damaged on disk or on the way never
// become an archived object.
func (c *Client) Put(ctx context.Context, bucket, key string, body io.ReadSeeker, size int64, sum []byte, ret *Retention) error {
	return c.put(ctx, bucket, key, body, size, sum, ret, true)
}

// Replace is Put without the condition: an existing key gets a new version
// (under Object Lock the older versions stay, retained).
func (c *Client) Replace(ctx context.Context, bucket, key string, body io.ReadSeeker, size int64, sum []byte, ret *Retention) error {
	return c.put(ctx, bucket, key, body, size, sum, ret, false)
}

func (c *Client) put(ctx context.Context, bucket, key string, body io.ReadSeeker, size int64, sum []byte, ret *Retention, once bool) error {
	in := &s3.PutObjectInput{
		Bucket:            aws.String(bucket),
		Key:               aws.String(key),
		Body:              body,
		ContentLength:     aws.Int64(size),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
		ChecksumSHA256:    aws.String(base64.StdEncoding.EncodeToString(sum)),
	}
	if once {
		in.IfNoneMatch = aws.String("*")
	}
	if ret != nil {
		in.ObjectLockMode = ret.Mode
		in.ObjectLockRetainUntilDate = aws.Time(ret.Until)
	}
	_, err := c.s3.PutObject(ctx, in)
	if err != nil {
		if status(err) == http.StatusPreconditionFailed {
			return fmt.Errorf("s3://%s/%s: %w", bucket, key, ErrExists)
		}
		return fmt.Errorf("uploading s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// Info describes an object.
type Info struct {
	Size int64
	// SHA256 is the checksum the object was uploaded with; nil when the
	// server has none (uploaded without it).
	SHA256 []byte
}

// Stat returns the size and SHA-256 checksum of the current version of
// bucket/key; an error wrapping ErrNotFound if there is none.
func (c *Client) Stat(ctx context.Context, bucket, key string) (Info, error) {
	out, err := c.s3.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled,
	})
	if err != nil {
		return Info{}, wrap(bucket, key, err)
	}
	info := Info{Size: aws.ToInt64(out.ContentLength)}
	if s := aws.ToString(out.ChecksumSHA256); s != "" {
		// A multipart object's checksum is "<checksum of checksums>-<parts>":
		// not the SHA-256 of its bytes, so not reported.
		if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
			info.SHA256 = b
		}
	}
	return info, nil
}

// Open returns the bytes of bucket/key (of version, if not empty) as a
// stream, and their length, refusing an object of more than max bytes
// before reading it (ErrTooLarge). The stream ends with an error if the
// server sends more or fewer bytes than it announced. A missing object or
// version is an error wrapping ErrNotFound.
func (c *Client) Open(ctx context.Context, bucket, key, version string, max int64) (io.ReadCloser, int64, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	out, err := c.s3.GetObject(ctx, in)
	if err != nil {
		return nil, 0, wrap(bucket, key, err)
	}
	n := aws.ToInt64(out.ContentLength)
	if out.ContentLength == nil || n < 0 || n > max {
		out.Body.Close()
		if out.ContentLength == nil {
			return nil, 0, fmt.Errorf("s3://%s/%s: the server announced no length", bucket, key)
		}
		return nil, 0, fmt.Errorf("s3://%s/%s: %w: %d bytes, at most %d accepted", bucket, key, ErrTooLarge, n, max)
	}
	return &exactReader{r: out.Body, left: n, name: Scheme + bucket + "/" + key}, n, nil
}

// Get reads bucket/key (of version, if not empty) whole: Open, then at most
// max bytes.
func (c *Client) Get(ctx context.Context, bucket, key, version string, max int64) ([]byte, error) {
	rc, n, err := c.Open(ctx, bucket, key, version, max)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data := make([]byte, n)
	if _, err := io.ReadFull(rc, data); err != nil {
		return nil, fmt.Errorf("s3://%s/%s: read %d bytes: %w", bucket, key, n, err)
	}
	var one [1]byte
	if k, _ := rc.Read(one[:]); k != 0 {
		return nil, fmt.Errorf("s3://%s/%s: more bytes than the %d announced", bucket, key, n)
	}
	return data, nil
}

// exactReader reads exactly left bytes from r: more is an error, an early
// end is io.ErrUnexpectedEOF.
type exactReader struct {
	r    io.ReadCloser
	left int64
	name string
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left == 0 {
		var one [1]byte
		if n, _ := e.r.Read(one[:]); n != 0 {
			return 0, fmt.Errorf("%s: more bytes than announced", e.name)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		return n, fmt.Errorf("%s: %w", e.name, io.ErrUnexpectedEOF)
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}

func (e *exactReader) Close() error { return e.r.Close() }

// A Version is one version of an object, as ListVersions reports it.
type Version struct {
	Key       string
	VersionID string
	Size      int64
	Modified  time.Time
}

// ListVersions calls visit with every version of the keys under prefix
// (all keys when empty), in the order S3 lists them: by key, and per key
// newest first. Delete markers are skipped: they hide older versions from a
// plain GET, but under Object Lock they remove nothing. It stops at the
// first error visit returns.
func (c *Client) ListVersions(ctx context.Context, bucket, prefix string, visit func(Version) error) error {
	p := s3.NewListObjectVersionsPaginator(c.s3, &s3.ListObjectVersionsInput{
		Bucket: aws.String(bucket), Prefix: aws.String(prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing the versions of s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, v := range page.Versions {
			err := visit(Version{Key: aws.ToString(v.Key), VersionID: aws.ToString(v.VersionId),
				Size: aws.ToInt64(v.Size), Modified: aws.ToTime(v.LastModified)})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// wrap names the object in err, wrapping ErrNotFound for a missing one.
func wrap(bucket, key string, err error) error {
	if s := status(err); s == http.StatusNotFound {
		return fmt.Errorf("s3://%s/%s: %w", bucket, key, ErrNotFound)
	}
	var nk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nk) || errors.As(err, &nf) {
		return fmt.Errorf("s3://%s/%s: %w", bucket, key, ErrNotFound)
	}
	return fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
}

// status returns the HTTP status of an S3 error response, or 0.
func status(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// Code returns the S3 error code of err ("AccessDenied", "BadDigest", …),
// or "".
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Any reports whether any object, version or delete marker exists under
// prefix: one listing request of at most one entry.
func (c *Client) Any(ctx context.Context, bucket, prefix string) (bool, error) {
	out, err := c.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{
		Bucket: aws.String(bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(1),
	})
	if err != nil {
		return false, fmt.Errorf("listing s3://%s/%s: %w", bucket, prefix, err)
	}
	return len(out.Versions) > 0 || len(out.DeleteMarkers) > 0, nil
}

// Errors of ObjectLock that are the bucket's answer, not a failure to reach
// it: the caller can tell an operator what to fix.
var (
	// ErrNoBucket: the bucket does not exist (NoSuchBucket).
	ErrNoBucket = errors.New("the bucket does not exist")
	// ErrNoObjectLock: the bucket has no Object Lock configuration
	// (ObjectLockConfigurationNotFoundError), or one that is not Enabled.
	ErrNoObjectLock = errors.New("the bucket does not have Object Lock enabled")
	// ErrDenied: the credentials may not make the request (AccessDenied,
	// or another 403).
	ErrDenied = errors.New("access denied")
)

// A LockConfig is a bucket's Object Lock configuration.
type LockConfig struct {
	// DefaultMode is the mode of the bucket's default retention, empty when
	// it has none; DefaultDays or DefaultYears its length.
	DefaultMode  types.ObjectLockRetentionMode
	DefaultDays  int32
	DefaultYears int32
}

// ObjectLock returns the Object Lock configuration of bucket, with one
// GetObjectLockConfiguration request (s3:GetBucketObjectLockConfiguration).
// A bucket without Object Lock enabled is an error wrapping
// ErrNoObjectLock; a missing bucket ErrNoBucket; a refused request
// ErrDenied. Any other error (no answer, a 5xx) says nothing about the
// bucket. Object Lock implies versioning: S3 turns it on with Object Lock
// and refuses to suspend it, so versioning needs no request of its own.
func (c *Client) ObjectLock(ctx context.Context, bucket string) (LockConfig, error) {
	out, err := c.s3.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(bucket)})
	if err != nil {
		code := Code(err)
		switch {
		case code == "ObjectLockConfigurationNotFoundError":
			return LockConfig{}, fmt.Errorf("s3://%s: %w (%s)", bucket, ErrNoObjectLock, code)
		case code == "NoSuchBucket":
			return LockConfig{}, fmt.Errorf("s3://%s: %w (%s)", bucket, ErrNoBucket, code)
		case code == "AccessDenied" || status(err) == http.StatusForbidden:
			return LockConfig{}, fmt.Errorf("s3://%s: %w: %w", bucket, ErrDenied, err)
		}
		return LockConfig{}, fmt.Errorf("reading the Object Lock configuration of s3://%s: %w", bucket, err)
	}
	lc := out.ObjectLockConfiguration
	if lc == nil || lc.ObjectLockEnabled != types.ObjectLockEnabledEnabled {
		return LockConfig{}, fmt.Errorf("s3://%s: %w (ObjectLockEnabled is not Enabled)", bucket, ErrNoObjectLock)
	}
	var cfg LockConfig
	if lc.Rule != nil && lc.Rule.DefaultRetention != nil {
		d := lc.Rule.DefaultRetention
		cfg.DefaultMode, cfg.DefaultDays, cfg.DefaultYears = d.Mode, aws.ToInt32(d.Days), aws.ToInt32(d.Years)
	}
	return cfg, nil
}

// ReadAt reads len(p) bytes at off of bucket/key (of version, if not
// empty), whose size is size (from a listing or a HEAD): one GetObject with
// a Range. The request must lie inside size, and the answer must be exactly
// that range (206, Content-Range "bytes off-last/size", len(p) bytes): a
// server that sends another range, another total, or more or fewer bytes
// is an error naming the object, and nothing is read beyond len(p). An
// empty p makes no request.
func (c *Client) ReadAt(ctx context.Context, bucket, key, version string, size int64, p []byte, off int64) error {
	name := Scheme + bucket + "/" + key
	if off < 0 || off > size || int64(len(p)) > size-off {
		return fmt.Errorf("%s: read of %d bytes at %d, past its %d bytes", name, len(p), off, size)
	}
	if len(p) == 0 {
		return nil
	}
	last := off + int64(len(p)) - 1
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, last))}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	out, err := c.s3.GetObject(ctx, in)
	if err != nil {
		return wrap(bucket, key, err)
	}
	defer out.Body.Close()
	want := fmt.Sprintf("bytes %d-%d/%d", off, last, size)
	if got := aws.ToString(out.ContentRange); got != want {
		return fmt.Errorf("%s: asked for %s, the server answered the range %q", name, want, got)
	}
	if n := aws.ToInt64(out.ContentLength); out.ContentLength == nil || n != int64(len(p)) {
		return fmt.Errorf("%s: asked for %d bytes at %d, the server announced %d", name, len(p), off, n)
	}
	r := &exactReader{r: out.Body, left: int64(len(p)), name: name}
	if _, err := io.ReadFull(r, p); err != nil {
		return fmt.Errorf("%s: read %d bytes at %d: %w", name, len(p), off, err)
	}
	var one [1]byte
	if _, err := r.Read(one[:]); err != io.EOF {
		return fmt.Errorf("%s: more bytes than the %d asked for at %d", name, len(p), off)
	}
	return nil
}
