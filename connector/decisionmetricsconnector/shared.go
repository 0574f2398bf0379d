package decisionmetricsconnector // import "github.com/govaudit/govaudit/connector/decisionmetricsconnector"

import (
	"errors"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/govaudit/govaudit/internal/record"
)

// maxPending bounds the batches a batchDecoder keeps for the instance that
// has not seen them yet. The collector's fan-out calls the two instances
// one after the other in the same goroutine, so an entry normally lives
// for one ConsumeLogs; more concurrent batches than this only cost a
// second decode. An entry whose batch never reaches the other instance
// (the two outputs fed from different pipelines) waits until evicted, so
// this also bounds the memory held for nothing: the decoded records (~0.9
// KB each, their strings shared with the batch) and the batch.
const maxPending = 4

// A decodedBatch is the governance records of one batch, decoded and
// validated by record.DecodeLogs, and what it skipped. Its records are
// read, never changed, by the instances that share it.
type decodedBatch struct {
	recs      []record.Record
	notRecord int64
	invalid   []error
}

// decodeBatch decodes ld, calling f for each record as it goes (f may be
// nil); keep says whether to keep the records in the result.
func decodeBatch(ld plog.Logs, keep bool, f func(*record.Record)) *decodedBatch {
	b := &decodedBatch{}
	if keep {
		b.recs = make([]record.Record, 0, ld.LogRecordCount())
	}
	// One variable for all streamed records: f's argument escapes, and a
	// pointer to it (the loop's Item) would cost a heap copy per record.
	var rec record.Record
	for it, err := range record.DecodeLogs(ld) {
		switch {
		case errors.Is(err, record.ErrNotRecord):
			b.notRecord++
		case err != nil:
			b.invalid = append(b.invalid, err)
		case keep:
			b.recs = append(b.recs, it.Record)
			f(&b.recs[len(b.recs)-1])
		default:
			rec = it.Record
			f(&rec)
		}
	}
	return b
}

// A batchDecoder decodes each batch once for the logs→metrics and the
// logs→logs instance of one component: the collector makes one instance
// per output pipeline type and hands every batch to each (DESIGN's
// logs/decisions pipeline feeds both), and decoding with Validate was half
// of the connector's CPU. Sharing needs no trust in the graph: a batch is
// reused only if it is read-only (pdata then refuses any change, and the
// fan-out marks a batch read-only when it has more than one read-only
// consumer, as here), and the entry holds the batch, so its identity
// cannot be taken by another batch while cached.
type batchDecoder struct {
	mu      sync.Mutex
	users   int
	pending []pendingBatch // oldest first, at most maxPending

	// decodes counts the batches decoded, for tests and benchmarks.
	decodes atomic.Int64
}

type pendingBatch struct {
	ld    plog.Logs
	batch *decodedBatch
}

// each calls f for every record of ld, decoded by the other instance if
// it saw this batch first, and returns what was skipped. A batch that is
// not shared is decoded as f goes, never held whole.
func (d *batchDecoder) each(ld plog.Logs, f func(*record.Record)) (notRecord int64, invalid []error) {
	if !ld.IsReadOnly() {
		d.decodes.Add(1)
		b := decodeBatch(ld, false, f)
		return b.notRecord, b.invalid
	}
	d.mu.Lock()
	for i, p := range d.pending {
		if p.ld == ld {
			// Each instance sees a batch once: the second one takes it.
			d.pending = append(d.pending[:i], d.pending[i+1:]...)
			d.mu.Unlock()
			for i := range p.batch.recs {
				f(&p.batch.recs[i])
			}
			return p.batch.notRecord, p.batch.invalid
		}
	}
	share := d.users > 1
	d.mu.Unlock()

	d.decodes.Add(1)
	b := decodeBatch(ld, share, f)
	if share {
		d.mu.Lock()
		if len(d.pending) == maxPending {
			d.pending[0] = pendingBatch{}
			d.pending = d.pending[1:]
		}
		d.pending = append(d.pending, pendingBatch{ld: ld, batch: b})
		d.mu.Unlock()
	}
	return b.notRecord, b.invalid
}

// decoders shares one batchDecoder between the instances of a component,
// keyed by its *Config as mlgovernance's governors are (contrib's
// sharedcomponent is internal to contrib). The decoder holds no goroutines
// or files: the entry goes when its last instance shuts down.
var decoders = &decoderMap{m: map[*Config]*batchDecoder{}}

type decoderMap struct {
	mu sync.Mutex
	m  map[*Config]*batchDecoder
}

func (dm *decoderMap) acquire(cfg *Config) (*batchDecoder, func()) {
	dm.mu.Lock()
	defer dm.mu.Unlock()
	d, ok := dm.m[cfg]
	if !ok {
		d = &batchDecoder{}
		dm.m[cfg] = d
	}
	d.mu.Lock()
	d.users++
	d.mu.Unlock()
	var once sync.Once
	release := func() {
		once.Do(func() {
			dm.mu.Lock()
			defer dm.mu.Unlock()
			d.mu.Lock()
			d.users--
			last := d.users == 0
			d.pending = nil
			d.mu.Unlock()
			if last && dm.m[cfg] == d {
				delete(dm.m, cfg)
			}
		})
	}
	return d, release
}
