package auditsignprocessor

import (
	"context"
	"fmt"
	"time"

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
	reasonNoStorage     = "no_storage"     // no storage extension configured
	reasonNoState       = "no_state"       // storage holds no state yet
	reasonDirtyState    = "dirty_state"    // the last run stopped between persisting and releasing
	reasonCorruptState  = "corrupt_state"  // the state did not decode or was inconsistent
	reasonOriginChanged = "origin_changed" // the state belongs to another origin
)

// openLog reads the state and resumes its epoch if it can be trusted, or
// opens a new epoch. Requires p.mu.
//
//	no storage, no state       -> new epoch, previous unknown
//	corrupt state              -> new epoch, previous unknown (logged)
//	state of another origin    -> new epoch, previous unknown
//	dirty state                -> new epoch naming the state's last checkpoint
//	clean state                -> resume the epoch
func (p *auditSign) openLog(ctx context.Context) error {
	if p.client == nil {
		p.newEpoch(reasonNoStorage, "", 0, nil)
		return nil
	}
	b, err := p.client.Get(ctx, stateKey)
	if err != nil {
		return fmt.Errorf("storage: reading state: %w", err)
	}
	if b == nil {
		p.newEpoch(reasonNoState, "", 0, nil)
		return nil
	}
	s, tree, err := unmarshalState(b)
	switch {
	case err != nil:
		p.logger.Error("state cannot be trusted; opening a new epoch", zap.Error(err))
		p.newEpoch(reasonCorruptState, "", 0, nil)
	case s.Origin != p.origin:
		p.newEpoch(reasonOriginChanged, "", s.Epoch, map[string]any{"previous_origin": s.Origin})
	case s.Dirty || s.Size == 0:
		// Records up to s.Size may or may not have reached the archive: the
		// epoch cannot continue without risking a gap or two leaves at one
		// index. (A clean empty tree never occurs: an epoch's first state
		// is dirty, and a refused epoch start record leaves it so.)
		p.newEpoch(reasonDirtyState, s.LastCheckpoint, s.Epoch, nil)
	default:
		p.resume(s, tree)
	}
	return nil
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
// record.FlagNoPreviousEpoch if prev is empty) and the reason, emitted as
// leaf 0 by flushStart.
func (p *auditSign) newEpoch(reason, prev string, prevEpoch uint64, extra map[string]any) {
	now := time.Now()
	epoch := uint64(now.UnixNano())
	if epoch <= prevEpoch {
		epoch = prevEpoch + 1
	}
	p.epoch, p.tree = epoch, auditlog.NewTree()
	p.signedSize, p.lastCheckpoint, p.pendingCheckpoint = 0, prev, ""
	p.lastSignedAt = time.Time{}

	attrs := map[string]any{"reason": reason}
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
	if prev == "" {
		rec.Flags = []string{record.FlagNoPreviousEpoch}
	}
	p.epochStart, p.startPending = p.newLogs(&rec), true
	p.tel.AuditsignEpochsOpened.Add(context.Background(), 1, metric.WithAttributes(attribute.String("reason", reason)))
	p.tel.AuditsignTreeSize.Record(context.Background(), 0)
	p.logger.Info("opened epoch", zap.String("origin", p.origin), zap.Uint64("epoch", epoch),
		zap.String("reason", reason), zap.Bool("previous_checkpoint_known", prev != ""))
}

// flushStart releases the epoch start record if it is pending. Requires p.mu.
func (p *auditSign) flushStart(ctx context.Context) error {
	if !p.startPending {
		return nil
	}
	if err := p.appendLogs(ctx, p.epochStart); err != nil {
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
	return p.client.Set(ctx, stateKey, s.marshal())
}
