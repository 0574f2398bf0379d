package auditparquetexporter // import "github.com/govaudit/govaudit/exporter/auditparquetexporter"

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/govaudit/govaudit/exporter/auditparquetexporter/internal/metadata"
	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/objectstore"
)

// Uploading mirrors the sealed archive into a bucket under Object Lock
// (s3 configured). The local directory stays the writer's archive: the
// write-ahead log and state never leave it, and a batch is acknowledged
// once it is durable there, as without s3. Uploads run on their own
// goroutine and never block or fail a batch.
//
// The unit of upload is a seal's signed manifest (manifests/<origin>/<seq>),
// in seq order per origin. For each one the uploader puts, in this order,
// the data file, its index and the checkpoint files that the manifest lists,
// then the manifest itself, and then records in the origin's upload marker
// (wal/origin=<origin>/uploaded.json, beside state.json) that manifests
// below seq+1 are uploaded. A data file thus reaches the bucket before the
// index and manifest that cover it. When an origin has nothing left to
// upload, its latest pointer is put too, once the checkpoint it names is in
// the bucket. What is pending is derived at every pass from the local
// manifests and the marker, so it survives a restart or a kill -9 without
// a queue of its own.
//
// Each object is put with If-None-Match: * (never over an existing key),
// its Object Lock retention (retention::mode, until now + retention::days)
// and the SHA-256 that its signed manifest lists, which the server checks
// (x-amz-checksum-sha256): a file damaged on disk after sealing is refused,
// never archived. A key that already exists (the conditional put fails: a
// crash after the upload, before the marker) is compared instead: the same size and SHA-256 is
// done; other bytes are a conflict, logged and counted, never overwritten,
// and that origin's uploads stop there until an operator resolves it. The
// latest pointer is the one key that is replaced (a new version).
//
// A failure (server down, checksum refused, conflict) is retried with
// exponential backoff (uploadBackoff), logged the first time and then at
// most once a minute, and counted in otelcol_auditparquet_upload_failures;
// the backlog gauge counts the files still to upload.

// uploadPoll is how often the uploader looks for work without being
// notified of a seal.
const uploadPoll = 10 * time.Second

// uploadFinalPass bounds the pass at shutdown that uploads the last seals.
const uploadFinalPass = 30 * time.Second

// uploadBackoff bounds the wait before a pass after a failed one: it starts
// at the first value and doubles up to the second. A variable for tests.
var uploadBackoff = [2]time.Duration{time.Second, time.Minute}

// Upload failure reasons, the "reason" attribute of the failure metric.
const (
	reasonRequest  = "request"
	reasonChecksum = "checksum"
	reasonConflict = "conflict"
)

// errUploadConflict is wrapped by an upload error when the key holds other bytes.
var errUploadConflict = errors.New("the bucket already holds other bytes under this key; it is never overwritten")

// uploadProgress is the content of an origin's upload marker. The
// destination is part of it: a marker written for another bucket or
// prefix does not count, and everything is uploaded (or found) again.
type uploadProgress struct {
	Bucket string `json:"bucket"`
	Prefix string `json:"prefix"`
	// NextManifest is the seq of the origin's first manifest not known to
	// be uploaded with every file it lists.
	NextManifest uint64 `json:"next_manifest"`
}

// uploader uploads the sealed files of the archive at root.
type uploader struct {
	root   string
	loc    objectstore.Location
	client *objectstore.Client
	mode   types.ObjectLockMode
	days   int
	logger *zap.Logger
	tel    *metadata.TelemetryBuilder
	now    func() time.Time

	notify chan struct{} // a seal finished: look for work now
	stop   chan struct{}
	done   chan struct{}
	cancel context.CancelFunc

	// mu serialises passes: the loop's and the final one at shutdown.
	mu      sync.Mutex
	backlog atomic.Int64
	// latest is, per origin, the SHA-256 of the latest pointer last found
	// in the bucket, so that an unchanged one is not checked at every pass.
	latest map[string][sha256.Size]byte

	// unchecked is set when the bucket did not answer the Object Lock check
	// at start: the next pass checks it before uploading anything.
	unchecked bool

	// Failures in a row, the current backoff and when the last failure was
	// logged; only the loop goroutine uses them.
	failures int
	backoff  time.Duration
	loggedAt time.Time
}

func newUploader(ctx context.Context, cfg *S3Config, root string, logger *zap.Logger, tel *metadata.TelemetryBuilder, now func() time.Time) (*uploader, error) {
	c, err := objectstore.New(ctx, objectstore.Options{PathStyle: cfg.PathStyle})
	if err != nil {
		return nil, err
	}
	u := &uploader{
		root: root, loc: cfg.location(), client: c, mode: types.ObjectLockMode(cfg.Retention.Mode), days: cfg.Retention.Days,
		logger: logger.With(zap.String("bucket", cfg.location().String())), tel: tel, now: now,
		notify: make(chan struct{}, 1), latest: map[string][sha256.Size]byte{},
	}
	return u, nil
}

// lockCheckTimeout bounds the Object Lock check at start (the SDK retries
// a request that gets no answer).
const lockCheckTimeout = 20 * time.Second

// checkBucket checks, with one GetObjectLockConfiguration request, that the
// bucket exists, that the credentials may read its configuration, and that
// it has Object Lock enabled (which implies versioning): without it the
// retention put on each object is refused or, on a lax gateway, ignored,
// and an archived file could be overwritten or deleted. Each of these is an
// error naming s3::bucket and the fix, and the exporter does not start: an
// operator learns it now, not from an upload backlog. A bucket that does
// not answer (unreachable, a 5xx) does not stop the start, since batches
// never depend on the bucket: it is logged, and the first upload pass
// checks again before uploading anything. A default retention on the
// bucket is logged at info: every object carries its own (retention::*),
// which takes precedence over the default.
func (u *uploader) checkBucket(ctx context.Context, atStart bool) error {
	ctx, cancel := context.WithTimeout(ctx, lockCheckTimeout)
	defer cancel()
	lc, err := u.client.ObjectLock(ctx, u.loc.Bucket)
	switch {
	case errors.Is(err, objectstore.ErrNoObjectLock):
		return fmt.Errorf("s3::bucket: bucket %q does not have Object Lock enabled (%w): the retention of uploaded files cannot be set and they could be overwritten or deleted; create the bucket with Object Lock enabled (aws s3api create-bucket --object-lock-enabled-for-bucket, which also turns versioning on), or on AWS enable it on this bucket (put-object-lock-configuration)", u.loc.Bucket, err)
	case errors.Is(err, objectstore.ErrNoBucket):
		return fmt.Errorf("s3::bucket: bucket %q does not exist (%w) at the configured endpoint; create it with Object Lock enabled (aws s3api create-bucket --object-lock-enabled-for-bucket)", u.loc.Bucket, err)
	case errors.Is(err, objectstore.ErrDenied):
		return fmt.Errorf("s3::bucket: the credentials may not read the Object Lock configuration of bucket %q (%w); check the credentials and grant s3:GetBucketObjectLockConfiguration on the bucket", u.loc.Bucket, err)
	case err != nil && atStart:
		u.unchecked = true
		u.logger.Warn("the bucket did not answer the Object Lock check at start; batches are archived locally and uploads wait until the check passes", zap.Error(err))
		return nil
	case err != nil:
		return err
	}
	u.unchecked = false
	if lc.DefaultMode != "" {
		u.logger.Info("the bucket has a default Object Lock retention; each uploaded object carries its own (s3::retention), which takes precedence",
			zap.String("default_mode", string(lc.DefaultMode)), zap.Int32("default_days", lc.DefaultDays), zap.Int32("default_years", lc.DefaultYears),
			zap.String("retention_mode", string(u.mode)), zap.Int("retention_days", u.days))
	}
	return nil
}

// registerGauge registers the callback of the backlog gauge.
func (u *uploader) registerGauge() error {
	return u.tel.RegisterAuditparquetUploadBacklogCallback(func(_ context.Context, o metric.Int64Observer) error {
		o.Observe(u.backlog.Load())
		return nil
	})
}

// start runs the upload loop until shutdown.
func (u *uploader) start() {
	ctx, cancel := context.WithCancel(context.Background())
	u.stop, u.done, u.cancel = make(chan struct{}), make(chan struct{}), cancel
	go u.loop(ctx)
}

// sealed tells the loop that a seal finished. It never blocks.
func (u *uploader) sealed() {
	select {
	case u.notify <- struct{}{}:
	default:
	}
}

// shutdown stops the loop (cancelling an upload in flight) and then makes
// one last pass for the files sealed at shutdown, bounded by ctx and
// uploadFinalPass. What it cannot upload is uploaded after the next start.
func (u *uploader) shutdown(ctx context.Context) {
	if u.stop == nil {
		return
	}
	close(u.stop)
	u.cancel()
	<-u.done
	u.stop = nil
	ctx, cancel := context.WithTimeout(ctx, uploadFinalPass)
	defer cancel()
	if err := u.pass(ctx); err != nil {
		u.logger.Warn("files left to upload at shutdown; they are uploaded after the next start",
			zap.Int64("files", u.backlog.Load()), zap.Error(err))
	}
}

func (u *uploader) loop(ctx context.Context) {
	defer close(u.done)
	wait := time.Duration(0)
	for {
		timer := time.NewTimer(wait)
		select {
		case <-u.stop:
			timer.Stop()
			return
		case <-u.notify:
			timer.Stop()
			if u.failures > 0 {
				continue // backing off: the timer decides
			}
		case <-timer.C:
		}
		err := u.pass(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			if u.failures > 0 {
				u.logger.Info("uploads work again", zap.Int("failures", u.failures))
			}
			u.failures, u.backoff, wait = 0, 0, uploadPoll
			continue
		}
		u.failures++
		u.backoff = min(max(2*u.backoff, uploadBackoff[0]), uploadBackoff[1])
		wait = u.backoff
		if now := u.now(); u.failures == 1 || now.Sub(u.loggedAt) >= time.Minute {
			u.loggedAt = now
			u.logger.Error("uploading sealed files failed; they are safe on local disk and retried",
				zap.Int("failures_in_a_row", u.failures), zap.Duration("retry_in", u.backoff),
				zap.Int64("backlog_files", u.backlog.Load()), zap.Error(err))
		}
	}
}

// pendingManifest is a local manifest not yet uploaded.
type pendingManifest struct {
	rel   string
	seq   uint64
	files int // files it lists
}

// pass uploads everything pending, origin by origin. An origin stops at its
// first failure (order matters within an origin); the others go on. It
// returns the failures joined.
func (u *uploader) pass(ctx context.Context) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.unchecked {
		if err := u.checkBucket(ctx, false); err != nil {
			return u.failed(ctx, reasonRequest, fmt.Errorf("nothing uploaded: %w", err))
		}
	}
	pending, err := u.pending()
	if err != nil {
		return err
	}
	var errs []error
	for _, origin := range sortedKeys(pending) {
		if err := u.uploadOrigin(ctx, origin, pending[origin]); err != nil {
			errs = append(errs, fmt.Errorf("origin %s: %w", origin, err))
		}
	}
	return errors.Join(errs...)
}

// pending returns, per origin, the local manifests at or after the origin's
// marker, in seq order, and sets the backlog gauge.
func (u *uploader) pending() (map[string][]pendingManifest, error) {
	all, err := archive.ManifestFiles(u.root)
	if err != nil {
		return nil, err
	}
	out := map[string][]pendingManifest{}
	next := map[string]uint64{}
	var backlog int64
	for _, rel := range all {
		origin, seq, err := archive.ParseManifestPath(rel)
		if err != nil {
			continue // not the writer's: never uploaded
		}
		n, ok := next[origin]
		if !ok {
			p, err := u.readMarker(origin)
			if err != nil {
				return nil, err
			}
			n = p.NextManifest
			next[origin] = n
			out[origin] = nil // an origin with nothing pending still gets its latest checked
		}
		if seq < n {
			continue
		}
		m, err := readManifest(u.root, rel)
		if err != nil {
			return nil, err
		}
		out[origin] = append(out[origin], pendingManifest{rel: rel, seq: seq, files: len(m.Files)})
		backlog += int64(len(m.Files)) + 1
	}
	u.backlog.Store(backlog)
	return out, nil
}

// uploadOrigin uploads the pending manifests of origin in seq order, each
// after the files it lists, advancing the marker after each, then the
// latest pointer.
func (u *uploader) uploadOrigin(ctx context.Context, origin string, ms []pendingManifest) error {
	for _, pm := range ms {
		m, err := readManifest(u.root, pm.rel)
		if err != nil {
			return err
		}
		for _, f := range uploadOrder(m.Files) {
			if err := u.put(ctx, f.Path, nil, f.SHA256[:], f.Size, false); err != nil {
				return err
			}
			u.backlog.Add(-1)
		}
		data, err := archive.ReadManifestFile(u.root, pm.rel)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		if err := u.put(ctx, pm.rel, data, sum[:], int64(len(data)), false); err != nil {
			return err
		}
		u.backlog.Add(-1)
		if err := u.writeMarker(origin, uploadProgress{Bucket: u.loc.Bucket, Prefix: u.loc.Prefix, NextManifest: pm.seq + 1}); err != nil {
			return err
		}
	}
	return u.putLatest(ctx, origin)
}

// uploadOrder returns the files of a manifest (sorted by path) in upload
// order: data files, then indexes, then checkpoint files.
func uploadOrder(files []archive.Digest) []archive.Digest {
	rank := func(p string) int {
		switch {
		case strings.HasPrefix(p, archive.RecordsDir+"/"):
			return 0
		case strings.HasPrefix(p, archive.IndexDir+"/"):
			return 1
		}
		return 2
	}
	out := append([]archive.Digest(nil), files...)
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i].Path) < rank(out[j].Path) })
	return out
}

// put uploads the local file rel, whose SHA-256 and size its manifest
// lists, unless the bucket already holds those bytes. data, if not nil, is
// the file's content, already read (a manifest or the latest pointer, which
// may be replaced on disk meanwhile); otherwise the file is streamed from
// disk. With replace (the latest pointer only) an existing key with other
// bytes gets a new version instead of being a conflict.
//
// A write-once file is put conditionally at once (one request in the usual
// case) and compared only when the key exists; the latest pointer is
// compared first, so that an unchanged one adds no version.
func (u *uploader) put(ctx context.Context, rel string, data, sum []byte, size int64, replace bool) error {
	key := u.loc.Key(rel)
	if replace {
		same, err := u.holds(ctx, key, sum, size)
		if err != nil && !errors.Is(err, objectstore.ErrNotFound) {
			return u.failed(ctx, reasonRequest, err)
		}
		if err == nil && same {
			u.tel.AuditparquetUploads.Add(ctx, 1)
			return nil
		}
	}
	var body io.ReadSeeker
	if data != nil {
		body = bytes.NewReader(data)
	} else {
		f, err := os.Open(u.local(rel))
		if err != nil {
			return u.failed(ctx, reasonRequest, err)
		}
		defer f.Close()
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() != size {
			// Sealed files are read-only and never change size: the
			// server's checksum check would refuse it anyway; say why here.
			return u.failed(ctx, reasonChecksum, fmt.Errorf("%s: not the %d-byte regular file its manifest lists", u.local(rel), size))
		}
		body = f
	}
	ret := &objectstore.Retention{Mode: u.mode, Until: u.now().Add(time.Duration(u.days) * 24 * time.Hour)}
	var err error
	if replace {
		err = u.client.Replace(ctx, u.loc.Bucket, key, body, size, sum, ret)
	} else {
		err = u.client.Put(ctx, u.loc.Bucket, key, body, size, sum, ret)
	}
	switch code := objectstore.Code(err); {
	case err == nil:
	case errors.Is(err, objectstore.ErrExists):
		// Uploaded before (a crash before the marker was saved), or by
		// someone else: the same bytes are done, others a conflict.
		same, herr := u.holds(ctx, key, sum, size)
		if herr != nil {
			return u.failed(ctx, reasonRequest, herr)
		}
		if !same {
			u.logger.Error("refusing to overwrite an archived object that holds other bytes than the local sealed file (another writer with the same origin and bucket, or tampering); uploads of this origin stop here until it is resolved",
				zap.String("key", key), zap.String("local", u.local(rel)))
			return u.failed(ctx, reasonConflict, fmt.Errorf("%s: %w", key, errUploadConflict))
		}
	case code == "BadDigest" || code == "XAmzContentChecksumMismatch" || code == "InvalidDigest":
		u.logger.Error("the server refused a sealed file: its bytes on disk differ from the SHA-256 its signed manifest lists (damaged after sealing); it is not uploaded",
			zap.String("file", u.local(rel)), zap.Error(err))
		return u.failed(ctx, reasonChecksum, err)
	default:
		return u.failed(ctx, reasonRequest, err)
	}
	u.tel.AuditparquetUploads.Add(ctx, 1)
	u.logger.Debug("uploaded", zap.String("key", key), zap.Int64("bytes", size))
	return nil
}

// holds reports whether the current version of key has the given size and
// SHA-256: from the checksum the server stored, or else (an object uploaded
// without one) by reading it. A missing key is ErrNotFound.
func (u *uploader) holds(ctx context.Context, key string, sum []byte, size int64) (bool, error) {
	info, err := u.client.Stat(ctx, u.loc.Bucket, key)
	if err != nil {
		return false, err
	}
	if info.Size != size {
		return false, nil
	}
	if info.SHA256 != nil {
		return bytes.Equal(info.SHA256, sum), nil
	}
	rc, _, err := u.client.Open(ctx, u.loc.Bucket, key, "", size)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return false, err
	}
	return bytes.Equal(h.Sum(nil), sum), nil
}

// putLatest uploads origin's latest pointer if it changed and the
// checkpoint file it names is in the bucket (so that the bucket's latest
// never names a checkpoint the bucket lacks).
func (u *uploader) putLatest(ctx context.Context, origin string) error {
	rel := archive.LatestPath(origin)
	b, err := archive.ReadCheckpointFile(u.root, rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	if u.latest[origin] == sum {
		return nil
	}
	c, err := auditlog.ParseUnverified(string(b))
	if err != nil || c.Origin != origin {
		u.logger.Warn("latest pointer does not parse as a checkpoint of its origin; not uploaded", zap.String("file", u.local(rel)), zap.Error(err))
		return nil
	}
	if _, err := u.client.Stat(ctx, u.loc.Bucket, u.loc.Key(archive.CheckpointPath(origin, c.Epoch, c.Size))); err != nil {
		if errors.Is(err, objectstore.ErrNotFound) {
			return nil // its manifest is not uploaded yet: a later pass puts it
		}
		return u.failed(ctx, reasonRequest, err)
	}
	if err := u.put(ctx, rel, b, sum[:], int64(len(b)), true); err != nil {
		return err
	}
	u.latest[origin] = sum
	return nil
}

// failed counts a failed upload and returns err.
func (u *uploader) failed(ctx context.Context, reason string, err error) error {
	if ctx.Err() == nil { // not a shutdown cancelling the request
		u.tel.AuditparquetUploadFailures.Add(ctx, 1, metric.WithAttributes(attribute.String("reason", reason)))
	}
	return err
}

// local returns the OS path of rel in the local archive.
func (u *uploader) local(rel string) string { return filepath.Join(u.root, filepath.FromSlash(rel)) }

// readMarker returns origin's upload progress towards this uploader's
// bucket and prefix: zero without a marker or with one for another
// destination.
func (u *uploader) readMarker(origin string) (uploadProgress, error) {
	var p uploadProgress
	b, err := os.ReadFile(u.local(archive.UploadMarkerPath(origin)))
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return uploadProgress{}, fmt.Errorf("%s: %w (delete it to check every file against the bucket again)", u.local(archive.UploadMarkerPath(origin)), err)
	}
	if p.Bucket != u.loc.Bucket || p.Prefix != u.loc.Prefix {
		return uploadProgress{}, nil
	}
	return p, nil
}

func (u *uploader) writeMarker(origin string, p uploadProgress) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return archive.WriteFileAtomic(u.local(archive.UploadMarkerPath(origin)), b, 0o600)
}

// readManifest parses the local manifest file rel without verifying its
// signature (the writer trusts its own archive; verify checks the bucket).
func readManifest(root, rel string) (archive.Manifest, error) {
	data, err := archive.ReadManifestFile(root, rel)
	if err != nil {
		return archive.Manifest{}, err
	}
	text := data
	if i := bytes.LastIndex(data, []byte("\n\n")); i >= 0 {
		text = data[:i+1]
	}
	m, err := archive.ParseManifest(string(text))
	if err != nil {
		return archive.Manifest{}, fmt.Errorf("%s: %w", rel, err)
	}
	return m, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
