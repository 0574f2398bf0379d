package auditparquetexporter // import "github.com/govaudit/govaudit/exporter/auditparquetexporter"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/govaudit/govaudit/exporter/auditparquetexporter/internal/metadata"
	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

// archiveWriter writes the archive under one directory. All state is guarded
// by mu: the sending queue has a single consumer, and the age ticker and
// shutdown take the same lock.
type archiveWriter struct {
	cfg    *Config
	root   string
	logger *zap.Logger
	tel    *metadata.TelemetryBuilder
	now    func() time.Time

	mu      sync.Mutex
	open    map[string]*openFile    // origin -> file being filled
	origins map[string]*originState // origin -> what is already archived

	stop chan struct{}
	done chan struct{}
}

// openFile is the data file of one origin being filled: its rows in memory
// and in its write-ahead log segment.
type openFile struct {
	origin string
	t      time.Time // names the data file and its WAL segment
	opened time.Time // when the first row arrived, for max_age
	seg    *segment
	rows   []record.Record
	bytes  int64
	sealed *sealedFile // set once the data file is renamed into place
}

func newArchiveWriter(cfg *Config, set component.TelemetrySettings) (*archiveWriter, error) {
	tel, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	return &archiveWriter{
		cfg: cfg, root: cfg.Directory, logger: set.Logger, tel: tel, now: time.Now,
		open: map[string]*openFile{}, origins: map[string]*originState{},
	}, nil
}

func (w *archiveWriter) start(ctx context.Context, _ component.Host) error {
	if err := archive.MkdirAll(w.root); err != nil {
		return fmt.Errorf("auditparquet: directory %q cannot be created: %w", w.root, err)
	}
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
	w.mu.Unlock()
	if err != nil {
		return fmt.Errorf("auditparquet: recovery of %q failed: %w", w.root, err)
	}
	w.stop, w.done = make(chan struct{}), make(chan struct{})
	go w.ageLoop()
	return nil
}

func (w *archiveWriter) shutdown(context.Context) error {
	if w.stop != nil {
		close(w.stop)
		<-w.done
		w.stop = nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for origin := range w.open {
		if err := w.seal(origin); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ageLoop seals files older than max_age even when no records arrive.
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
			for origin, f := range w.open {
				if w.expired(f, now) {
					if err := w.seal(origin); err != nil {
						w.logger.Error("sealing an expired file failed; retrying", zap.String("origin", origin), zap.Error(err))
					}
				}
			}
			w.mu.Unlock()
		}
	}
}

func (w *archiveWriter) expired(f *openFile, now time.Time) bool {
	return now.Sub(f.opened) >= w.cfg.Rotation.MaxAge || now.UTC().Format(archive.DateFormat) != f.t.Format(archive.DateFormat)
}

// consumeLogs archives every governance record of ld. It returns nil only
// once every record is durable (fsynced to the write-ahead log). Log records
// that are not valid sealed governance records are reported together in a
// permanent error after the valid ones are written.
func (w *archiveWriter) consumeLogs(ctx context.Context, ld plog.Logs) error {
	var rejected []error
	var order []string
	byOrigin := map[string][]record.Record{}
	n := 0
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				r, err := decode(lrs.At(k))
				if err != nil {
					rejected = append(rejected, fmt.Errorf("log record %d: %w", n, err))
				} else {
					if _, ok := byOrigin[r.Origin]; !ok {
						order = append(order, r.Origin)
					}
					byOrigin[r.Origin] = append(byOrigin[r.Origin], r)
				}
				n++
			}
		}
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	for _, origin := range order {
		if err := w.append(ctx, origin, byOrigin[origin]); err != nil {
			w.countError(ctx, "append")
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

// countError counts one failed operation (append, seal,
// checkpoint_conflict) in otelcol_auditparquet_errors.
func (w *archiveWriter) countError(ctx context.Context, op string) {
	w.tel.AuditparquetErrors.Add(ctx, 1, metric.WithAttributes(attribute.String("operation", op)))
}

// decode returns the sealed governance record that lr carries.
func decode(lr plog.LogRecord) (record.Record, error) {
	if !record.IsRecord(lr) {
		return record.Record{}, fmt.Errorf("not a governance record (no %srecord_id attribute; event name %q)", record.AttributePrefix, lr.EventName())
	}
	r, err := record.FromLogRecord(lr)
	if err != nil {
		return record.Record{}, fmt.Errorf("malformed governance record: %w", err)
	}
	if err := r.Validate(); err != nil {
		return record.Record{}, fmt.Errorf("record %s: %w", r.ID, err)
	}
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

// append archives recs of one origin, in order, skipping those already
// archived, sealing files as they fill up.
func (w *archiveWriter) append(ctx context.Context, origin string, recs []record.Record) error {
	st, err := w.state(origin)
	if err != nil {
		return err
	}
	fresh, dups := st.filter(recs)
	if dups > 0 {
		w.tel.AuditparquetRecordsDeduplicated.Add(ctx, int64(dups))
		w.logger.Info("skipped records already archived (queue redelivery)", zap.String("origin", origin), zap.Int("records", dups))
	}
	for {
		f := w.open[origin]
		if f != nil && (f.sealed != nil || w.full(f) || w.expired(f, w.now())) {
			if err := w.seal(origin); err != nil {
				return fmt.Errorf("auditparquet: the records are safe in the write-ahead log, but sealing %s failed: %w", archive.DataPath(origin, f.t), err)
			}
			continue
		}
		if len(fresh) == 0 {
			return nil
		}
		if f == nil {
			if f, err = w.create(origin, st); err != nil {
				return err
			}
		}
		chunk := fresh[:min(len(fresh), w.cfg.Rotation.MaxRows-len(f.rows))]
		n, err := f.seg.append(chunk)
		if err != nil {
			return err
		}
		f.rows = append(f.rows, chunk...)
		f.bytes += n
		st.add(chunk)
		fresh = fresh[len(chunk):]
	}
}

func (w *archiveWriter) full(f *openFile) bool {
	return len(f.rows) >= w.cfg.Rotation.MaxRows || f.bytes >= w.cfg.Rotation.MaxBytes
}

// create opens a new file for origin, named by the current time or, if the
// clock has not moved past the last file of origin, just after it, so names
// stay unique and in write order.
func (w *archiveWriter) create(origin string, st *originState) (*openFile, error) {
	now := w.now()
	t := now.UTC().Truncate(0)
	if !t.After(st.LastFile) {
		t = st.LastFile.Add(time.Nanosecond)
	}
	walPath := w.path(archive.WALPath(origin, t))
	if err := archive.MkdirAll(filepath.Dir(walPath)); err != nil {
		return nil, err
	}
	seg, err := createSegment(walPath)
	if err != nil {
		return nil, err
	}
	if err := archive.SyncDir(filepath.Dir(walPath)); err != nil {
		if rerr := seg.remove(); rerr != nil { // an empty segment: replay would ignore it
			w.logger.Warn("removing an unused WAL segment", zap.String("path", walPath), zap.Error(rerr))
		}
		return nil, err
	}
	st.LastFile = t
	f := &openFile{origin: origin, t: t, opened: now, seg: seg}
	w.open[origin] = f
	return f, nil
}

// path returns the OS path of an archive path.
func (w *archiveWriter) path(rel string) string {
	return filepath.Join(w.root, filepath.FromSlash(rel))
}
