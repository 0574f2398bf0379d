package auditsignprocessor

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

// EventNameEpochStart is the event name of the lifecycle record that is leaf
// 0 of every epoch.
const EventNameEpochStart = "govaudit.epoch.start"

// Reasons for opening an epoch (the "reason" attribute of
// otelcol_auditsign_epochs_opened and of the epoch start record).
const (
	reasonNoStorage       = "no_storage"       // no storage extension configured
	reasonNoState         = "no_state"         // storage holds no state yet
	reasonDirtyState      = "dirty_state"      // the last run stopped between persisting and releasing
	reasonCorruptState    = "corrupt_state"    // the state did not decode or was inconsistent
	reasonOriginChanged   = "origin_changed"   // the state belongs to another origin
	reasonDownstreamError = "downstream_error" // downstream refused a batch: it may or may not be archived
)

// openLog reads the state and resumes its epoch if it can be trusted, or
// opens a new epoch. Requires p.mu.
//
//	no storage, no state       -> new epoch, previous unknown
//	corrupt state              -> new epoch, previous unknown (logged)
//	state of another origin    -> new epoch, previous unknown
//	dirty, leaf 0 in flight    -> same epoch, the same start record again
//	dirty state                -> new epoch linking the state's tree heads
//	clean state                -> resume the epoch
func (p *auditSign) openLog(ctx context.Context) error {
	if p.client == nil {
		p.newEpoch(auditlog.EpochLink{Reason: reasonNoStorage}, "", 0, nil)
		return nil
	}
	b, err := p.client.Get(ctx, stateKey)
	if err != nil {
		return fmt.Errorf("storage: reading state: %w", err)
	}
	if b == nil {
		p.newEpoch(auditlog.EpochLink{Reason: reasonNoState}, "", 0, nil)
		return nil
	}
	s, tree, err := unmarshalState(b)
	if err == nil && s.Origin == p.origin && s.EpochStart != nil {
		if err = p.resumeStart(s); err == nil {
			return nil
		}
	}
	switch {
	case err != nil:
		p.logger.Error("state cannot be trusted; opening a new epoch", zap.Error(err))
		p.newEpoch(auditlog.EpochLink{Reason: reasonCorruptState}, "", 0, nil)
	case s.Origin != p.origin:
		p.newEpoch(auditlog.EpochLink{Reason: reasonOriginChanged}, "", s.Epoch, map[string]any{"previous_origin": s.Origin})
	case s.Dirty || s.Size == 0:
		// Records up to s.Size may or may not have reached the archive: the
		// epoch cannot continue without risking a gap or two leaves at one
		// index. The new epoch's start record carries both possible tree
		// heads, so verify can prove the old tail either way. (A clean empty
		// tree never occurs: an epoch's first state is dirty.)
		link := auditlog.EpochLink{Reason: reasonDirtyState, PreviousEpoch: s.Epoch,
			Released: &auditlog.TreeHead{Size: s.Size, Root: tree.Root()}}
		if s.AcknowledgedRoot != nil {
			link.Acknowledged = &auditlog.TreeHead{Size: s.AcknowledgedSize, Root: s.AcknowledgedRoot}
		}
		p.newEpoch(link, s.LastCheckpoint, s.Epoch, nil)
	default:
		p.resume(s, tree)
	}
	return nil
}

// resumeStart continues an epoch whose start record was released but not
// acknowledged: the same record (same id, same leaf 0) is emitted again.
func (p *auditSign) resumeStart(s *state) error {
	ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(s.EpochStart)
	if err != nil {
		return fmt.Errorf("state: epoch_start: %w", err)
	}
	if ld.LogRecordCount() != 1 {
		return fmt.Errorf("state: epoch_start holds %d log records, want 1", ld.LogRecordCount())
	}
	rec, err := record.FromLogRecord(ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0))
	if err == nil {
		err = rec.Validate()
	}
	if err == nil && rec.EventName != EventNameEpochStart {
		err = fmt.Errorf("event %q, want %s", rec.EventName, EventNameEpochStart)
	}
	if err != nil {
		return fmt.Errorf("state: epoch_start: %w", err)
	}
	p.epoch, p.tree, p.lastCheckpoint = s.Epoch, auditlog.NewTree(), s.LastCheckpoint
	p.signedSize, p.pendingCheckpoint, p.lastSignedAt = 0, "", time.Time{}
	p.epochStart, p.startPending = ld, true
	p.tel.AuditsignTreeSize.Record(context.Background(), 0)
	p.logger.Info("resumed epoch whose start record was not acknowledged; emitting it again",
		zap.String("origin", p.origin), zap.Uint64("epoch", p.epoch), zap.String("record_id", rec.ID))
	return nil
}

// abandonEpoch opens a new epoch after downstream refused a batch whose
// leaves extend the committed tree to released. The refused batch may still
// have reached the archive (a timeout, a failed write that could not be
// undone), so its leaf indexes are never given to other records: the new
// epoch's start record names both tree heads instead. Requires p.mu.
func (p *auditSign) abandonEpoch(released *auditlog.Tree, cause error) {
	p.logger.Warn("downstream refused a batch; opening a new epoch so that no leaf index is ever reused",
		zap.Uint64("epoch", p.epoch), zap.Uint64("acknowledged_size", p.tree.Size()),
		zap.Uint64("released_size", released.Size()), zap.Error(cause))
	p.newEpoch(auditlog.EpochLink{Reason: reasonDownstreamError, PreviousEpoch: p.epoch,
		Acknowledged: &auditlog.TreeHead{Size: p.tree.Size(), Root: p.tree.Root()},
		Released:     &auditlog.TreeHead{Size: released.Size(), Root: released.Root()},
	}, p.lastCheckpoint, p.epoch, nil)
}

// resume continues the epoch of the clean state s.
func (p *auditSign) resume(s *state, tree *auditlog.Tree) {
	p.epoch, p.tree, p.lastCheckpoint = s.Epoch, tree, s.LastCheckpoint
	p.signedSize, p.pendingCheckpoint = 0, ""
	if cp, err := auditlog.ParseUnverified(s.LastCheckpoint); err == nil && cp.Origin == p.origin && cp.Epoch == p.epoch {
		p.signedSize = cp.Size
		// The last run may have stopped between persisting this checkpoint
		// and releasing it: emit it again (a duplicate is harmless).
		p.pendingCheckpoint = s.LastCheckpoint
	}
	p.tel.AuditsignTreeSize.Record(context.Background(), int64(tree.Size()))
	p.logger.Info("resumed epoch", zap.String("origin", p.origin), zap.Uint64("epoch", p.epoch),
		zap.Uint64("size", tree.Size()), zap.Uint64("signed_size", p.signedSize))
}

// newEpoch opens a new epoch, later than prevEpoch, and prepares its start
// record: a lifecycle record naming the previous checkpoint prev (or flagged
// record.FlagNoPreviousEpoch if prev is empty and no previous tree head is
// known), with the link (reason, previous epoch, tree heads) and extra as
// attributes, emitted as leaf 0 by flushStart.
func (p *auditSign) newEpoch(link auditlog.EpochLink, prev string, prevEpoch uint64, extra map[string]any) {
	reason := link.Reason
	now := time.Now()
	epoch := uint64(now.UnixNano())
	if epoch <= prevEpoch {
		epoch = prevEpoch + 1
	}
	p.epoch, p.tree = epoch, auditlog.NewTree()
	p.signedSize, p.lastCheckpoint, p.pendingCheckpoint = 0, prev, ""
	p.lastSignedAt = time.Time{}

	attrs := link.Attributes()
	for k, v := range extra {
		attrs[k] = v
	}
	js, err := record.CanonicalJSON(attrs)
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	rec := record.Record{
		SchemaVersion:      record.SchemaVersion,
		ID:                 record.NewID(),
		Type:               record.TypeLifecycle,
		EventName:          EventNameEpochStart,
		StartTime:          now.UnixNano(),
		EndTime:            now.UnixNano(),
		ObservedTime:       now.UnixNano(),
		Attributes:         js,
		PreviousCheckpoint: prev,
	}
	if prev == "" && link.Released == nil {
		rec.Flags = []string{record.FlagNoPreviousEpoch}
	}
	p.epochStart, p.startPending = p.newLogs(&rec), true
	p.tel.AuditsignEpochsOpened.Add(context.Background(), 1, metric.WithAttributes(attribute.String("reason", reason)))
	p.tel.AuditsignTreeSize.Record(context.Background(), 0)
	p.logger.Info("opened epoch", zap.String("origin", p.origin), zap.Uint64("epoch", epoch),
		zap.String("reason", reason), zap.Bool("previous_checkpoint_known", prev != ""),
		zap.Bool("previous_tail_linked", link.Released != nil))
}

// flushStart releases the epoch start record if it is pending. Requires p.mu.
func (p *auditSign) flushStart(ctx context.Context) error {
	if !p.startPending {
		return nil
	}
	items, err := p.decode(ctx, p.epochStart)
	if err != nil {
		return err
	}
	if err := p.appendLogs(ctx, p.epochStart, items); err != nil {
		return err
	}
	p.startPending = false
	return nil
}

// persist writes the state of tree through the storage client (a no-op
// without storage). Requires p.mu.
func (p *auditSign) persist(ctx context.Context, tree *auditlog.Tree, lastCheckpoint string, dirty bool) error {
	if p.client == nil {
		return nil
	}
	s := state{
		Version:        stateVersion,
		Origin:         p.origin,
		Epoch:          p.epoch,
		Size:           tree.Size(),
		Hashes:         tree.Hashes(),
		LastCheckpoint: lastCheckpoint,
		Dirty:          dirty,
	}
	if dirty {
		// p.tree is what downstream has accepted; tree adds the batch about
		// to be released.
		s.AcknowledgedSize, s.AcknowledgedRoot = p.tree.Size(), p.tree.Root()
		if p.startPending && tree.Size() == 1 {
			b, err := (&plog.ProtoMarshaler{}).MarshalLogs(p.epochStart)
			if err != nil {
				return fmt.Errorf("encoding the epoch start record: %w", err)
			}
			s.EpochStart = b
		}
	}
	return p.client.Set(ctx, stateKey, s.marshal())
}
