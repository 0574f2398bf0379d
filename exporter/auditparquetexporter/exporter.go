package auditparquetexporter // import "github.com/govaudit/govaudit/exporter/auditparquetexporter"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/exporter/auditparquetexporter/internal/metadata"
	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

// archiveWriter writes the archive under one directory, which it holds
// locked (archive.Lock) from start to shutdown. All state is guarded by mu:
// ConsumeLogs (synchronous, or the sending queue's single consumer), the
// age loop and shutdown take the same lock.
type archiveWriter struct {
	cfg    *Config
	root   string
	logger *zap.Logger
	tel    *metadata.TelemetryBuilder
	now    func() time.Time
	fail   failpoint // nil in production
	// sealBackoff bounds the wait between attempts to seal after a failure:
	// it starts at the first value and doubles up to the second.
	sealBackoff [2]time.Duration

	lock *archive.DirLock
	// signer signs the file manifests; loaded at start.
	signer note.Signer

	mu      sync.Mutex
	files   map[string]*originFiles // origin -> its open and sealing files
	origins map[string]*originState // origin -> what is already archived
	// failed, once set, is why the writer stopped: a WAL append failed and
	// could not be undone, so the WAL may end in an entry that was never
	// acknowledged. Every later batch is refused; recovery at the next start
	// archives what the WAL holds.
	failed error

	stop chan struct{}
	done chan struct{}

	// What the backlog gauges report, updated under mu (publishBacklog) and
	// read without it, so that a scrape never waits for a seal: WAL segments
	// and bytes not sealed yet, and when the last seal finished (Unix ns;
	// the writer's creation until one does).
	walSegments, walBytes atomic.Int64
	lastSeal              atomic.Int64

	// up uploads sealed files to the bucket; nil without s3 (upload.go).
	up *uploader
}

// originFiles is what the writer holds in memory for one origin.
type originFiles struct {
	open *openFile // being filled; nil if none
	// sealing is a file renamed into place whose index, checkpoint files,
	// state or WAL deletion failed; it is finished before open is sealed.
	sealing *openFile
	// prev holds the ids of the last sealed file, read from the archive the
	// first time a redelivery check needs them after a start or a seal
	// (prevLoaded).
	prev       *fileIDs
	prevLoaded bool

	// Sealing failures: how many in a row, when to try again, the current
	// backoff and when the last one was logged.
	failures int
	retryAt  time.Time
	backoff  time.Duration
	loggedAt time.Time
}

// openFile is the data file of one origin being filled. Its records are in
// its write-ahead log segment and, as they arrive, in its temporary data
// file (data), which sealing completes; nothing keeps its rows in memory.
type openFile struct {
	origin string
	t      time.Time // names the data file and its WAL segment
	opened time.Time // when the first row arrived, for max_age (zero while empty)
	due    time.Time // when it first was due for sealing (zero if not yet)
	warned bool      // the "sealing uncovered" warning was logged
	seg    *segment
	rows   int   // records in the file
	bytes  int64 // their bytes in the WAL segment
	// leafMax is, per epoch, the highest leaf index in the file.
	leafMax map[uint64]uint64
	// checkpoints are the file's checkpoint rows (about one per
	// checkpoint_interval), which sealing writes as checkpoint files.
	checkpoints []record.Record
	// data is the temporary data file, written as records arrive (stream);
	// nil before the first record. Once a write to it failed (dataFailed),
	// sealing rebuilds it from the WAL segment instead.
	data       *archive.DataWriter
	dataFailed bool
	sealed     *sealedFile // set once the data file is renamed into place
	sealStart  time.Time
}

// add records that recs, written as one WAL entry of n bytes at now, are in f.
func (f *openFile) add(recs []record.Record, n int64, now time.Time) {
	if f.rows == 0 {
		f.opened = now
	}
	f.rows += len(recs)
	f.bytes += n
	for i := range recs {
		r := &recs[i]
		if !r.IsLeaf() {
			f.checkpoints = append(f.checkpoints, *r)
			continue
		}
		if top, ok := f.leafMax[r.Epoch]; !ok || r.LeafIndex > top {
			f.leafMax[r.Epoch] = r.LeafIndex
		}
	}
}

func newArchiveWriter(cfg *Config, set component.TelemetrySettings) (*archiveWriter, error) {
	tel, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	w := &archiveWriter{
		cfg: cfg, root: cfg.Directory, logger: set.Logger, tel: tel, now: time.Now,
		sealBackoff: [2]time.Duration{time.Second, time.Minute},
		files:       map[string]*originFiles{}, origins: map[string]*originState{},
	}
	if newWriterHook != nil {
		newWriterHook(w)
	}
	w.lastSeal.Store(w.now().UnixNano())
	if err := w.registerGauges(); err != nil {
		tel.Shutdown()
		return nil, err
	}
	if s3 := cfg.S3.Get(); s3 != nil {
		if w.up, err = newUploader(context.Background(), s3, w.root, w.logger, tel, w.now); err == nil {
			err = w.up.registerGauge()
		}
		if err != nil {
			tel.Shutdown()
			return nil, fmt.Errorf("auditparquet: s3: %w", err)
		}
	}
	return w, nil
}

// registerGauges registers the callbacks of the backlog gauges.
func (w *archiveWriter) registerGauges() error {
	return errors.Join(
		w.tel.RegisterAuditparquetWalSegmentsCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(w.walSegments.Load())
			return nil
		}),
		w.tel.RegisterAuditparquetWalSizeCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(w.walBytes.Load())
			return nil
		}),
		w.tel.RegisterAuditparquetLastSealAgeCallback(func(_ context.Context, o metric.Float64Observer) error {
			o.Observe(max(0, w.now().Sub(time.Unix(0, w.lastSeal.Load())).Seconds()))
			return nil
		}),
	)
}

// publishBacklog updates what the WAL backlog gauges report. Requires w.mu.
func (w *archiveWriter) publishBacklog() {
	var segs, bytes int64
	for _, o := range w.files {
		for _, f := range []*openFile{o.open, o.sealing} {
			if f != nil && f.seg != nil {
				segs++
				bytes += f.seg.good
			}
		}
	}
	w.walSegments.Store(segs)
	w.walBytes.Store(bytes)
}

func (w *archiveWriter) start(ctx context.Context, _ component.Host) (err error) {
	if w.signer, err = auditlog.LoadSigner(w.cfg.SigningKeyFile); err != nil {
		return fmt.Errorf("auditparquet: signing_key_file: %w", err)
	}
	if w.up != nil {
		if err := w.up.checkBucket(ctx, true); err != nil {
			return fmt.Errorf("auditparquet: %w", err)
		}
	}
	if err := archive.MkdirAll(w.root); err != nil {
		return fmt.Errorf("auditparquet: directory %q cannot be created: %w", w.root, err)
	}
	// One writer per directory: a second one would "recover" the live WAL
	// of the first, seal it and delete it under its feet.
	if w.lock, err = archive.Lock(w.root); err != nil {
		if errors.Is(err, archive.ErrLocked) {
			return fmt.Errorf("auditparquet: %w", err)
		}
		return fmt.Errorf("auditparquet: directory %q is not writable: %w", w.root, err)
	}
	defer func() {
		if err != nil {
			w.lock.Unlock()
			w.lock = nil
		}
	}()
	probe, err := os.CreateTemp(w.root, ".probe-*")
	if err == nil {
		probe.Close()
		err = os.Remove(probe.Name())
	}
	if err != nil {
		return fmt.Errorf("auditparquet: directory %q is not writable: %w", w.root, err)
	}
	w.mu.Lock()
	err = w.recover(ctx)
	w.publishBacklog()
	w.mu.Unlock()
	if err != nil {
		return fmt.Errorf("auditparquet: recovery of %q failed: %w", w.root, err)
	}
	w.stop, w.done = make(chan struct{}), make(chan struct{})
	go w.ageLoop()
	if w.up != nil {
		w.up.start()
	}
	return nil
}

// shutdown seals every file, whether due or not, and releases the lock. A
// file that cannot be sealed stays in the WAL for the next start.
func (w *archiveWriter) shutdown(ctx context.Context) error {
	if w.stop != nil {
		close(w.stop)
		<-w.done
		w.stop = nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	if w.failed != nil {
		errs = append(errs, fmt.Errorf("auditparquet: nothing sealed at shutdown, the writer had stopped (%w); the write-ahead log is recovered at the next start", w.failed))
	} else {
		for _, origin := range w.originNames() {
			if err := w.sealNow(context.Background(), origin); err != nil {
				w.countError(context.Background(), "seal")
				errs = append(errs, fmt.Errorf("auditparquet: sealing origin %s at shutdown failed; its write-ahead log is recovered at the next start: %w", origin, err))
			}
		}
	}
	for _, o := range w.files {
		for _, f := range []*openFile{o.open, o.sealing} {
			if f != nil {
				f.seg.f.Close()
				if f.data != nil {
					f.data.Abort() // recovery rebuilds it from the WAL segment
				}
			}
		}
	}
	w.files = map[string]*originFiles{}
	if w.up != nil {
		w.up.shutdown(ctx) // the last seals' files, if the bucket answers in time
	}
	w.tel.Shutdown()
	if err := w.lock.Unlock(); err != nil {
		errs = append(errs, err)
	}
	w.lock = nil
	return errors.Join(errs...)
}

func (w *archiveWriter) originNames() []string {
	names := make([]string, 0, len(w.files))
	for o := range w.files {
		names = append(names, o)
	}
	sort.Strings(names)
	return names
}

// ageLoop seals files that are due (full, older than max_age or of an
// earlier date) even when no records arrive, and retries failed seals.
func (w *archiveWriter) ageLoop() {
	defer close(w.done)
	period := min(w.cfg.Rotation.MaxAge/4, time.Second)
	tick := time.NewTicker(max(period, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
			w.mu.Lock()
			now := w.now()
			for _, origin := range w.originNames() {
				w.maintain(context.Background(), origin, now)
			}
			w.publishBacklog()
			w.mu.Unlock()
		}
	}
}

func (w *archiveWriter) expired(f *openFile, now time.Time) bool {
	return now.Sub(f.opened) >= w.cfg.Rotation.MaxAge || now.UTC().Format(archive.DateFormat) != f.t.Format(archive.DateFormat)
}

// full reports whether f reached a rotation threshold. The thresholds are
// "seal once reached": a batch is never split, so a file exceeds them by
// the rest of the batch that reached them (and by what arrives while it
// waits for coverage or a seal fails).
func (w *archiveWriter) full(f *openFile) bool {
	return f.rows >= w.cfg.Rotation.MaxRows || f.bytes >= w.cfg.Rotation.MaxBytes
}

// maintain seals origin's files that are due, if their records are covered
// (see uncovered) or have waited max_age for coverage, and no seal failure
// asks to wait. A failure is logged (first, then at most once a minute),
// counted and retried with exponential backoff; it never reaches a sender.
// Requires w.mu.
func (w *archiveWriter) maintain(ctx context.Context, origin string, now time.Time) {
	o := w.files[origin]
	if o == nil || w.failed != nil || now.Before(o.retryAt) {
		return
	}
	if o.sealing != nil {
		if err := w.finishSeal(ctx, o); err != nil {
			w.sealFailed(ctx, origin, o, err, now)
			return
		}
		w.sealRecovered(origin, o)
	}
	f := o.open
	if f == nil || f.rows == 0 || !w.full(f) && !w.expired(f, now) {
		return
	}
	if f.due.IsZero() {
		f.due = now
	}
	st, err := w.state(origin)
	if err != nil {
		w.sealFailed(ctx, origin, o, err, now)
		return
	}
	if epoch, ok := uncovered(f, st); ok {
		if now.Sub(f.due) < w.cfg.Rotation.MaxAge {
			return // the checkpoint covering its last leaves is on its way
		}
		if !f.warned {
			f.warned = true
			w.logger.Warn("sealing a data file whose last leaves no checkpoint covers yet, after waiting max_age (is the auditsign processor down?); verify reports them until a later epoch covers them",
				zap.String("file", archive.DataPath(origin, f.t)), zap.Uint64("epoch", epoch), zap.Uint64("leaf", f.leafMax[epoch]))
		}
	}
	if err := w.sealOpen(ctx, o); err != nil {
		w.sealFailed(ctx, origin, o, err, now)
		return
	}
	w.sealRecovered(origin, o)
}

func (w *archiveWriter) sealFailed(ctx context.Context, origin string, o *originFiles, err error, now time.Time) {
	w.countError(ctx, "seal")
	o.failures++
	o.backoff = min(max(2*o.backoff, w.sealBackoff[0]), w.sealBackoff[1])
	o.retryAt = now.Add(o.backoff)
	if o.failures == 1 || now.Sub(o.loggedAt) >= time.Minute {
		o.loggedAt = now
		w.logger.Error("sealing failed; the records are safe in the write-ahead log and the open file keeps growing until a retry succeeds",
			zap.String("origin", origin), zap.Int("failures_in_a_row", o.failures), zap.Duration("retry_in", o.backoff), zap.Error(err))
	}
}

func (w *archiveWriter) sealRecovered(origin string, o *originFiles) {
	if o.failures > 0 {
		w.logger.Info("sealing works again", zap.String("origin", origin), zap.Int("failures", o.failures))
	}
	o.failures, o.backoff, o.retryAt = 0, 0, time.Time{}
}

// sealNow seals origin's files whether due or covered or not (shutdown,
// recovery). Requires w.mu.
func (w *archiveWriter) sealNow(ctx context.Context, origin string) error {
	o := w.files[origin]
	if o == nil {
		return nil
	}
	if o.sealing != nil {
		if err := w.finishSeal(ctx, o); err != nil {
			return err
		}
	}
	if o.open != nil {
		return w.sealOpen(ctx, o)
	}
	return nil
}

// consumeLogs archives every governance record of ld. It returns nil only
// once every record is durable (fsynced to the write-ahead log, one entry
// per origin). A failed write is undone and returned at once as a
// retryable error. Log records that are not valid sealed governance records
// are reported together in a permanent error after the valid ones are
// written; a batch holding a leaf the archive holds with another record id
// is refused whole with a permanent error.
func (w *archiveWriter) consumeLogs(ctx context.Context, ld plog.Logs) error {
	var rejected []error
	var order []string
	byOrigin := map[string][]record.Record{}
	n := 0
	for it, err := range record.DecodeLogs(ld) {
		r, err := sealed(it, err)
		if err != nil {
			rejected = append(rejected, fmt.Errorf("log record %d: %w", n, err))
		} else {
			if _, ok := byOrigin[r.Origin]; !ok {
				order = append(order, r.Origin)
				if len(order) == 1 {
					// A batch is mostly one origin: size its slice once
					// (a Record is ~1 KB) rather than grow it by doubling.
					byOrigin[r.Origin] = make([]record.Record, 0, ld.LogRecordCount()-n)
				}
			}
			byOrigin[r.Origin] = append(byOrigin[r.Origin], r)
		}
		n++
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.publishBacklog()
	if w.failed != nil {
		w.countError(ctx, "refused")
		return fmt.Errorf("auditparquet: refusing records: the writer stopped after a write-ahead log failure it could not undo (%w); restart required", w.failed)
	}
	// The common batch — one origin, every log record a valid record — is
	// written to the WAL as received (see encodeReceived) unless some of
	// its records are redeliveries.
	whole := plog.Logs{}
	if len(order) == 1 && len(rejected) == 0 {
		whole = ld
	}
	for _, origin := range order {
		if err := w.append(ctx, origin, byOrigin[origin], whole); err != nil {
			return err
		}
	}
	if len(rejected) > 0 {
		w.tel.AuditparquetRecordsRejected.Add(ctx, int64(len(rejected)))
		return consumererror.NewPermanent(fmt.Errorf("auditparquet: %d of %d log records rejected: %w", len(rejected), n, errors.Join(rejected...)))
	}
	return nil
}

// countRecovery counts one recovery action in
// otelcol_auditparquet_recovery_actions.
func (w *archiveWriter) countRecovery(ctx context.Context, action string) {
	w.tel.AuditparquetRecoveryActions.Add(ctx, 1, metric.WithAttributes(attribute.String("action", action)))
}

// countError counts one failed operation in otelcol_auditparquet_errors:
// append (a WAL write, undone), wal_undo (a WAL write that could not be
// undone: the writer stops), refused (a batch refused after that), seal,
// record_conflict, checkpoint_conflict.
func (w *archiveWriter) countError(ctx context.Context, op string) {
	w.tel.AuditparquetErrors.Add(ctx, 1, metric.WithAttributes(attribute.String("operation", op)))
}

// sealed returns the sealed governance record that DecodeLogs decoded (it,
// err): a valid record that the auditsign processor sealed.
func sealed(it record.Item, err error) (record.Record, error) {
	if err != nil {
		var de *record.DecodeError
		switch {
		case errors.Is(err, record.ErrNotRecord):
			return record.Record{}, fmt.Errorf("not a governance record (no %srecord_id attribute; event name %q)", record.AttributePrefix, it.LogRecord.EventName())
		case errors.As(err, &de) && de.ID != "":
			return record.Record{}, fmt.Errorf("record %s: %w", de.ID, de.Err)
		case errors.As(err, &de):
			return record.Record{}, fmt.Errorf("malformed governance record: %w", de.Err)
		}
		return record.Record{}, err
	}
	r := it.Record
	if err := auditlog.ValidOrigin(r.Origin); err != nil {
		return record.Record{}, fmt.Errorf("record %s is not sealed by the auditsign processor: %w", r.ID, err)
	}
	if r.IsLeaf() {
		if len(r.LeafHash) != 32 {
			return record.Record{}, fmt.Errorf("record %s is not sealed by the auditsign processor: leaf_hash has %d bytes, want 32", r.ID, len(r.LeafHash))
		}
	} else if _, err := archive.CheckpointOfRow(&r); err != nil {
		return record.Record{}, fmt.Errorf("checkpoint record %s: %w", r.ID, err)
	}
	return r, nil
}

// append archives recs of one origin as one WAL entry, skipping
// redeliveries, then seals the file if it is due. If received is set, it is
// the batch recs came from, all of it. Requires w.mu.
func (w *archiveWriter) append(ctx context.Context, origin string, recs []record.Record, received plog.Logs) error {
	st, err := w.state(origin)
	if err != nil {
		w.countError(ctx, "append")
		return err
	}
	o := w.files[origin]
	if o == nil {
		o = &originFiles{}
		w.files[origin] = o
	}
	fresh, dups, err := w.filter(o, st, origin, recs)
	if err != nil {
		w.countError(ctx, "record_conflict")
		w.logger.Error("refused a batch holding leaves archived with other record ids", zap.String("origin", origin), zap.Error(err))
		return consumererror.NewPermanent(err)
	}
	if dups > 0 {
		w.tel.AuditparquetRecordsDeduplicated.Add(ctx, int64(dups))
		w.logger.Info("skipped records already archived (redelivery)", zap.String("origin", origin), zap.Int("records", dups))
	}
	now := w.now()
	w.maintain(ctx, origin, now) // a due file is sealed first: the batch starts the next one
	if len(fresh) == 0 {
		return nil
	}
	f := o.open
	if f == nil {
		if f, err = w.create(origin, st); err != nil {
			w.countError(ctx, "append")
			return fmt.Errorf("auditparquet: records not written (retry): creating a write-ahead log segment: %w", err)
		}
		o.open = f
	}
	if len(fresh) != len(recs) {
		received = plog.Logs{} // redeliveries are not written again
	}
	n, err := f.seg.append(fresh, received)
	if err != nil {
		var ue *undoError
		if errors.As(err, &ue) {
			w.failed = err
			w.countError(ctx, "wal_undo")
			w.logger.Error("a write-ahead log append failed and could not be undone; refusing every further batch until a restart, which archives what the write-ahead log holds",
				zap.String("segment", f.seg.path), zap.Error(err))
			return fmt.Errorf("auditparquet: records not acknowledged: %w; restart required", err)
		}
		w.countError(ctx, "append")
		return fmt.Errorf("auditparquet: records not written (retry): %w", err)
	}
	f.add(fresh, n, now)
	st.add(fresh)
	w.stream(ctx, f, fresh)
	w.maintain(ctx, origin, now)
	return nil
}

// stream writes recs, just made durable in f's WAL segment, to f's
// temporary data file, so that sealing only has to complete it. A failure
// is logged and counted, never returned: the records are durable, and
// sealing rebuilds the data file from the WAL segment. Requires w.mu.
func (w *archiveWriter) stream(ctx context.Context, f *openFile, recs []record.Record) {
	if f.dataFailed {
		return
	}
	rel := archive.DataPath(f.origin, f.t)
	err := w.fail.at(stepTempWrite, w.path(archive.TempPath(rel)))
	if err == nil && f.data == nil {
		f.data, err = archive.CreateData(w.root, rel)
	}
	if err == nil {
		err = f.data.Write(recs)
	}
	if err != nil {
		if f.data != nil {
			f.data.Abort()
			f.data = nil
		}
		f.dataFailed = true
		w.countError(ctx, "seal")
		w.logger.Warn("writing the temporary data file failed; the records are durable in the write-ahead log, from which sealing rebuilds the file",
			zap.String("file", rel), zap.Error(err))
	}
}

// create opens a new file for origin, named by the current time or, if the
// clock has not moved past the last file of origin, just after it, so names
// stay unique and in write order.
func (w *archiveWriter) create(origin string, st *originState) (*openFile, error) {
	t := w.now().UTC().Truncate(0)
	if !t.After(st.LastFile) {
		t = st.LastFile.Add(time.Nanosecond)
	}
	st.LastFile = t // even on failure: a leftover segment must not block the name
	walPath := w.path(archive.WALPath(origin, t))
	if err := archive.MkdirAll(filepath.Dir(walPath)); err != nil {
		return nil, err
	}
	seg, err := createSegment(walPath, w.fail)
	if err != nil {
		return nil, err
	}
	if err := w.syncDir(stepWALDirSync, filepath.Dir(walPath)); err != nil {
		if rerr := seg.remove(); rerr != nil { // an empty segment: recovery removes it
			w.logger.Warn("removing an unused WAL segment", zap.String("path", walPath), zap.Error(rerr))
		}
		return nil, err
	}
	return &openFile{origin: origin, t: t, seg: seg, leafMax: map[uint64]uint64{}}, nil
}

// path returns the OS path of an archive path.
func (w *archiveWriter) path(rel string) string {
	return filepath.Join(w.root, filepath.FromSlash(rel))
}
