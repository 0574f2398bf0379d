package auditsignprocessor

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

// settle runs after leaves were accepted downstream: it signs a checkpoint
// if one is due (or force is set), otherwise records the state as clean and
// arms the timer; then it emits the pending checkpoint. Requires p.mu.
func (p *auditSign) settle(ctx context.Context, force bool) {
	if p.tree.Size() > p.signedSize {
		signed := false
		if force || p.checkpointDue() {
			if err := p.checkpoint(ctx); err != nil {
				p.logger.Error("signing checkpoint", zap.Error(err))
			} else {
				signed = true
			}
		}
		if !signed {
			if err := p.persist(ctx, p.tree, p.lastCheckpoint, false); err != nil {
				// The dirty state stays: a restart opens a new epoch. Safe.
				p.logger.Warn("persisting state after release", zap.Error(err))
			}
			p.armTimer()
		}
	}
	p.emitPending(ctx)
}

func (p *auditSign) checkpointDue() bool {
	return p.cfg.CheckpointInterval == 0 || time.Since(p.lastSignedAt) >= p.cfg.CheckpointInterval
}

// checkpoint signs the committed tree, persists the checkpoint as the last
// one, then queues it for emission. Requires p.mu and
// p.tree.Size() > p.signedSize, so no size is signed twice in an epoch.
func (p *auditSign) checkpoint(ctx context.Context) error {
	size, root := p.tree.Size(), p.tree.Root()
	cp, err := auditlog.Sign(p.signer, p.origin, p.epoch, size, root)
	if err != nil {
		return err
	}
	// Persist before release: a restart must know the checkpoint it names.
	if err := p.persist(ctx, p.tree, cp, false); err != nil {
		return err
	}
	p.signedSize, p.lastCheckpoint, p.lastSignedAt = size, cp, time.Now()
	p.pendingCheckpoint = cp // supersedes an older one not yet accepted
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.tel.AuditsignCheckpointsSigned.Add(ctx, 1)
	return nil
}

// emitPending releases the pending checkpoint record downstream, behind the
// records it covers. On failure it stays pending. Requires p.mu.
func (p *auditSign) emitPending(ctx context.Context) {
	if p.pendingCheckpoint == "" {
		return
	}
	now := time.Now().UnixNano()
	rec := record.Record{
		SchemaVersion: record.SchemaVersion,
		ID:            record.NewID(),
		Type:          record.TypeCheckpoint,
		EndTime:       now,
		ObservedTime:  now,
		Origin:        p.origin,
		Epoch:         p.epoch,
		Checkpoint:    p.pendingCheckpoint,
	}
	if err := p.next.ConsumeLogs(ctx, p.newLogs(&rec)); err != nil {
		p.logger.Warn("checkpoint not accepted downstream; retrying", zap.Error(err))
		p.armTimer()
		return
	}
	p.pendingCheckpoint = ""
}

// armTimer schedules onTimer CheckpointInterval from now unless it is
// already scheduled. Requires p.mu.
func (p *auditSign) armTimer() {
	if p.cfg.CheckpointInterval == 0 || p.timer != nil || p.stopped {
		return
	}
	p.timerGen++
	gen := p.timerGen
	p.timer = time.AfterFunc(p.cfg.CheckpointInterval, func() { p.onTimer(gen) })
}

// onTimer signs a checkpoint over unsigned leaves and retries what is
// pending, unless its timer (generation gen) was stopped or replaced.
func (p *auditSign) onTimer(gen uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.timer == nil || p.timerGen != gen || p.stopped {
		return
	}
	p.timer = nil
	ctx := context.Background()
	if err := p.flushStart(ctx); err != nil {
		p.logger.Warn("epoch start record not accepted downstream; retrying", zap.Error(err))
		p.armTimer()
		return
	}
	p.settle(ctx, true)
}
