package auditsignprocessor

import (
	"context"
	"fmt"
	"slices"

	"go.opentelemetry.io/collector/pdata/plog"
)

// Group commit. Downstream, the auditparquet exporter acknowledges a batch
// only once it is in its fsynced write-ahead log, one entry and one fsync
// per batch; releasing concurrent requests one by one would cap the
// pipeline at one fsync per request. So concurrent requests share one:
//
//   - ConsumeLogs decodes and validates its records in the caller's
//     goroutine (in parallel with other requests), then queues a request.
//   - If no request is leading, it leads: it takes a group from the head of
//     the queue (itself first, then later arrivals in arrival order, within
//     groupLimits) and, holding p.mu, assigns the group's leaves in that
//     order, moves their log records into one plog batch and releases it
//     downstream in one ConsumeLogs. Every request of the group then gets
//     that one result. If requests queued meanwhile, it hands the lead to
//     the first of them and returns; otherwise nobody leads until the next
//     request arrives.
//
// So tree order is queue order is the order of the exporter's write-ahead
// log, and a request is acknowledged only when its whole group is durable.
// A refused group ends the epoch exactly as a refused single request does
// (appendLogs), and every request of the group gets the error. A request
// whose context ends while it is still queued leaves the queue and fails:
// none of its records was released. Once its group is taken it waits for
// the group's result, whatever its context: its records may already be
// durable, and answering before knowing would half-acknowledge them.

// groupLimits bound one group commit.
type groupLimits struct {
	// records bounds the log records of a group (leaves and checkpoints).
	records int
	// bytes bounds the OTLP protobuf size of a group, which is about the
	// size of the exporter's write-ahead log entry (max 1 GiB) and what a
	// file may exceed rotation::max_bytes by.
	bytes int
}

// defaultGroupLimits: 8,192 records are 16 batches of an OTel SDK's
// default 512 spans; a GenAI record with digested content is 1-2 KB, so
// the byte bound rarely binds first. A request larger than either bound is
// released alone, never split.
var defaultGroupLimits = groupLimits{records: 8192, bytes: 16 << 20}

// A request is one ConsumeLogs call waiting for its group commit.
type request struct {
	ld      plog.Logs
	items   []sealItem // its leaf records, decoded, in order
	records int
	bytes   int
	// wake receives exactly once: when the request's group was released
	// (err is set) or when the request is to lead the next group (lead).
	wake   chan struct{}
	lead   bool  // written under qmu before wake
	queued bool  // in p.queue; under qmu
	err    error // written before wake
}

func newRequest(ld plog.Logs, items []sealItem) *request {
	return &request{
		ld: ld, items: items, records: ld.LogRecordCount(),
		bytes: (&plog.ProtoMarshaler{}).LogsSize(ld),
		wake:  make(chan struct{}, 1),
	}
}

// commit queues r and returns once r's group was released downstream (its
// result), or once ctx ended while r was still queued.
func (p *auditSign) commit(ctx context.Context, r *request) error {
	p.qmu.Lock()
	r.queued = true
	p.queue = append(p.queue, r)
	lead := !p.leading // then the queue was empty: r is its head
	p.leading = true
	p.qmu.Unlock()
	if lead || p.wait(ctx, r) {
		p.lead(ctx)
	}
	return r.err
}

// wait waits for r's turn: it returns true if r is to lead the next group,
// false once r's group was released (r.err is its result) or r left the
// queue because ctx ended.
func (p *auditSign) wait(ctx context.Context, r *request) bool {
	select {
	case <-r.wake:
		return r.lead
	case <-ctx.Done():
	}
	p.qmu.Lock()
	if r.queued && !r.lead {
		p.queue = slices.DeleteFunc(p.queue, func(q *request) bool { return q == r })
		r.queued = false
		p.qmu.Unlock()
		r.err = fmt.Errorf("auditsign: request abandoned while waiting for its group commit, none of its records was released: %w", context.Cause(ctx))
		return false
	}
	p.qmu.Unlock()
	<-r.wake // taken into a group in flight, or chosen to lead: no way back
	return r.lead
}

// lead releases the group at the head of the queue, whose first request is
// the caller's, gives every request of the group the result and passes the
// lead on.
func (p *auditSign) lead(ctx context.Context) {
	p.qmu.Lock()
	group := p.take()
	p.qmu.Unlock()

	p.mu.Lock()
	err := p.release(ctx, group)
	p.mu.Unlock()

	p.qmu.Lock()
	defer p.qmu.Unlock()
	for _, r := range group {
		r.err = err
	}
	for _, r := range group[1:] { // group[0] is the caller
		r.wake <- struct{}{}
	}
	if len(p.queue) == 0 {
		p.leading = false
		return
	}
	next := p.queue[0]
	next.lead = true
	next.wake <- struct{}{}
}

// take removes and returns the group at the head of the queue: at least its
// head, then as many following requests as fit groupLimits. Requires qmu.
func (p *auditSign) take() []*request {
	n, records, bytes := 0, 0, 0
	for ; n < len(p.queue); n++ {
		r := p.queue[n]
		if n > 0 && (records+r.records > p.limits.records || bytes+r.bytes > p.limits.bytes) {
			break
		}
		records += r.records
		bytes += r.bytes
	}
	group := slices.Clone(p.queue[:n])
	p.queue = slices.Delete(p.queue, 0, n)
	for _, r := range group {
		r.queued = false
	}
	return group
}

// release seals the records of group, in order, and releases them
// downstream as one batch (see appendLogs), then settles. Requires p.mu.
func (p *auditSign) release(ctx context.Context, group []*request) error {
	if p.stopped || p.tree == nil {
		return errNotRunning
	}
	// The batch holds several clients' records: one client giving up must
	// not cancel the others'.
	ctx = context.WithoutCancel(ctx)
	// The epoch start record must be leaf 0: nothing else is appended before it.
	if err := p.flushStart(ctx); err != nil {
		return fmt.Errorf("auditsign: epoch start record not accepted downstream: %w", err)
	}
	ld, items := group[0].ld, group[0].items
	if len(group) > 1 {
		ld, items = plog.NewLogs(), nil
		for _, r := range group {
			// Moved, not copied: the log records (and items' views of them)
			// stay where they are.
			r.ld.ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())
			items = append(items, r.items...)
		}
	}
	p.tel.AuditsignGroupRequests.Record(ctx, int64(len(group)))
	if err := p.appendLogs(ctx, ld, items); err != nil {
		return err
	}
	p.settle(ctx, false)
	return nil
}
