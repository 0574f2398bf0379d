package auditsignprocessor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.uber.org/zap"
	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
	"github.com/govaudit/govaudit/processor/auditsignprocessor/internal/metadata"
)

// auditSign is the auditsign processor. It implements consumer.Logs itself,
// rather than through processorhelper, because it must act around the
// downstream call: persist before it, roll back or commit after it.
//
// One mutex serialises everything that touches the log (a group commit, the
// checkpoint timer, Start and Shutdown): leaf indexes are assigned, state
// persisted, records released and the tree committed or rolled back as one
// step, so concurrent batches get disjoint, gapless index ranges and a
// rollback never discards another batch's leaves. Concurrent ConsumeLogs
// calls queue while a release is in flight and the next one goes out as a
// single downstream batch (group commit, see group.go): tree order is the
// order of release, which is the order of the exporter's write-ahead log.
type auditSign struct {
	logger      *zap.Logger
	id          component.ID
	cfg         *Config
	origin      string
	serviceName string
	next        consumer.Logs
	tel         *metadata.TelemetryBuilder

	mu     sync.Mutex
	signer note.Signer
	client storage.Client // nil without a storage extension
	epoch  uint64
	// tree holds only leaves accepted downstream; a checkpoint is only ever
	// signed over it.
	tree *auditlog.Tree
	// signedSize is the size of the last checkpoint signed in this epoch
	// (0 if none): sizes only grow, so no size is signed twice.
	signedSize     uint64
	lastCheckpoint string // last checkpoint signed by this origin (see state)
	lastSignedAt   time.Time
	// pendingCheckpoint is a signed and persisted checkpoint that downstream
	// has not accepted yet; it is retried with the next batch or timer.
	pendingCheckpoint string
	// epochStart holds the epoch start record while startPending.
	epochStart   plog.Logs
	startPending bool
	timer        *time.Timer
	timerGen     uint64 // identifies the armed timer to its callback
	stopped      bool

	// The group commit queue (group.go), guarded by qmu, never held with mu
	// by the same goroutine's wait: requests waiting for their group, in
	// arrival order, and whether one of them is leading.
	qmu     sync.Mutex
	queue   []*request
	leading bool
	limits  groupLimits
}

func newAuditSign(set processor.Settings, cfg *Config, next consumer.Logs) (*auditSign, error) {
	origin, err := cfg.resolveOrigin(set.ID)
	if err != nil {
		return nil, err
	}
	tel, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &auditSign{
		logger:      set.Logger,
		id:          set.ID,
		cfg:         cfg,
		origin:      origin,
		serviceName: set.BuildInfo.Command,
		next:        next,
		tel:         tel,
		limits:      defaultGroupLimits,
	}, nil
}

var _ processor.Logs = (*auditSign)(nil)

func (*auditSign) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

// Start loads the signing key, opens the storage client, resumes the epoch
// or opens a new one, and emits what is pending: the epoch start record and
// a checkpoint. Downstream components start before this processor, so they
// can accept records here; if they refuse, the records are retried with the
// first batch or the next timer tick.
func (p *auditSign) Start(ctx context.Context, host component.Host) error {
	signer, err := auditlog.LoadSigner(p.cfg.SigningKeyFile)
	if err != nil {
		return fmt.Errorf("signing_key_file: %w", err)
	}
	var client storage.Client
	if p.cfg.Storage != nil {
		if client, err = storageClient(ctx, host, *p.cfg.Storage, p.id); err != nil {
			return err
		}
	} else {
		p.logger.Warn("no storage extension configured: every start opens a new epoch, and epochs rely on the wall clock never going back across restarts")
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	p.signer, p.client = signer, client
	if err := p.openLog(ctx); err != nil {
		if client != nil {
			_ = client.Close(ctx)
			p.client = nil
		}
		return err
	}
	if err := p.flushStart(ctx); err != nil {
		p.logger.Warn("epoch start record not accepted downstream; retrying with the next batch", zap.Error(err))
		p.armTimer()
	}
	p.settle(ctx, true)
	return nil
}

// Shutdown signs a final checkpoint over any unsigned leaves, emits it and
// closes the storage client. Downstream components shut down after this
// processor, so they can still accept it.
func (p *auditSign) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || p.tree == nil {
		p.stopped = true
		return nil
	}
	p.stopped = true
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	if err := p.flushStart(ctx); err != nil {
		p.logger.Warn("epoch start record not accepted downstream at shutdown", zap.Error(err))
	}
	p.settle(ctx, true)
	if p.pendingCheckpoint != "" {
		p.logger.Error("final checkpoint not accepted downstream; it stays in the storage state", zap.String("checkpoint", p.pendingCheckpoint))
	}
	if p.client != nil {
		return p.client.Close(ctx)
	}
	return nil
}

var errNotRunning = errors.New("auditsign: processor is not running")

// ConsumeLogs seals the governance records of ld into the log and releases
// them downstream, together with those of concurrent calls (see group.go):
// it returns once downstream has accepted or refused them.
func (p *auditSign) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	items, err := p.decode(ctx, ld)
	if err != nil {
		return err
	}
	if ld.LogRecordCount() == 0 {
		return nil
	}
	return p.commit(ctx, newRequest(ld, items))
}

// appendLogs assigns the next leaf indexes to items (the leaf records of
// ld, in order), persists the state as dirty, releases ld downstream and
// commits the tree. If downstream fails, the batch may or may not have been
// archived, so its indexes are never reused: the epoch ends there and a new
// one starts whose first record names both possible tree heads
// (abandonEpoch). Only the epoch start record itself is retried as it is,
// with the same id and leaf. Requires p.mu.
func (p *auditSign) appendLogs(ctx context.Context, ld plog.Logs, items []sealItem) error {
	if len(items) == 0 {
		if ld.LogRecordCount() == 0 {
			return nil
		}
		return p.next.ConsumeLogs(ctx, ld) // checkpoint records only: not leaves
	}
	tree := p.tree.Clone()
	p.assign(items, tree)
	if err := p.persist(ctx, tree, p.lastCheckpoint, true); err != nil {
		return fmt.Errorf("auditsign: persisting state before release: %w", err)
	}
	if err := p.next.ConsumeLogs(ctx, ld); err != nil {
		if p.tree.Size() > 0 {
			p.abandonEpoch(tree, err)
		}
		return err
	}
	p.tree = tree
	p.tel.AuditsignLeavesAppended.Add(ctx, int64(len(items)))
	p.tel.AuditsignTreeSize.Record(ctx, int64(tree.Size()))
	return nil
}

// A sealItem is a log record and the governance record it carries.
type sealItem struct {
	lr  plog.LogRecord
	rec record.Record
}

// maxRejectDetails bounds the rejected records described in an error.
const maxRejectDetails = 3

// decode decodes and validates every log record of ld (record.DecodeLogs)
// and returns its leaf records in order. It touches no shared state, so concurrent requests
// decode in parallel before they queue for the log. A log record that is
// not a valid governance record rejects the whole batch, unchanged, with a
// permanent error.
func (p *auditSign) decode(ctx context.Context, ld plog.Logs) ([]sealItem, error) {
	items := make([]sealItem, 0, ld.LogRecordCount()) // ~1 KB each: sized once, not grown
	var details []string
	rejected, total := 0, 0
	for it, err := range record.DecodeLogs(ld) {
		total++
		if err != nil {
			rejected++
			if de, ok := err.(*record.DecodeError); ok && len(details) < maxRejectDetails {
				details = append(details, fmt.Sprintf("%v: %v", de.Pos, de.Err))
			}
			continue
		}
		if it.Record.IsLeaf() {
			items = append(items, sealItem{lr: it.LogRecord, rec: it.Record})
		}
	}
	if rejected > 0 {
		p.tel.AuditsignRejectedLogRecords.Add(ctx, int64(rejected))
		return nil, consumererror.NewPermanent(fmt.Errorf("auditsign: rejected the batch: %d of %d log records are not valid governance records: %s",
			rejected, total, strings.Join(details, "; ")))
	}
	return items, nil
}

// assign gives each item the next leaf index of tree and its leaf hash,
// writing both back into its log record, and appends the leaves to tree.
func (p *auditSign) assign(items []sealItem, tree *auditlog.Tree) {
	for i := range items {
		rec := &items[i].rec
		rec.SetLeaf(p.origin, p.epoch, tree.Size())
		rec.PutLeaf(items[i].lr) // the rest of the record is already in lr
		tree.Append(rec.LeafHash)
	}
}

// newLogs returns logs holding the single record rec.
func (p *auditSign) newLogs(rec *record.Record) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	if p.serviceName != "" {
		rl.Resource().Attributes().PutStr("service.name", p.serviceName)
	}
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	rec.ToLogRecord(sl.LogRecords().AppendEmpty())
	return ld
}

func storageClient(ctx context.Context, host component.Host, ext, id component.ID) (storage.Client, error) {
	c, ok := host.GetExtensions()[ext]
	if !ok {
		return nil, fmt.Errorf("storage: extension %q not found", ext)
	}
	se, ok := c.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("storage: extension %q is not a storage extension", ext)
	}
	client, err := se.GetClient(ctx, component.KindProcessor, id, "")
	if err != nil {
		return nil, fmt.Errorf("storage: extension %q: %w", ext, err)
	}
	return client, nil
}
