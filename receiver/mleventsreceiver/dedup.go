package mleventsreceiver // import "github.com/govaudit/govaudit/receiver/mleventsreceiver"

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"
)

// MLflow delivery deduplication. MLflow retries a delivery that got no 2xx
// answer, with the same X-MLflow-Delivery-Id, and anyone who captured a
// signed delivery can replay it while its timestamp is within
// mlflow::timestamp_tolerance. Either way the delivery must become one
// record. A replay of an accepted delivery is answered 200 (naming the
// record made the first time) rather than 409: the sender's copy of the
// first answer may have been lost, and a non-2xx would only make MLflow
// retry again.

// maxTrackedDeliveries bounds the deliveries remembered at once, about
// 200 bytes each. At the default 5m tolerance (10m window) it allows 166
// deliveries per second, far beyond a model registry's rate; above it new
// deliveries are refused with 503 rather than forgetting earlier ones, which
// would reopen them to replay.
const maxTrackedDeliveries = 1 << 16

// maxDeliveryIDLen bounds a delivery id (MLflow sends a 36-byte UUID).
const maxDeliveryIDLen = 256

// deliveryState is the answer of deliverySet.begin.
type deliveryState int

const (
	deliveryNew        deliveryState = iota // first time seen: process it, then done or abort
	deliveryDuplicate                       // accepted before: answer 200 with the record id
	deliveryConflict                        // the id was accepted with another body: 409
	deliveryInProgress                      // the first delivery is still in the pipeline: 503
	deliveryWindowFull                      // maxTrackedDeliveries unexpired deliveries: 503
)

// A deliverySet remembers the delivery ids seen within the replay window,
// with a digest of their body and the record made of them. Entries expire
// in arrival order, window after arrival. Safe for concurrent use.
type deliverySet struct {
	window time.Duration
	max    int

	mu    sync.Mutex
	byID  map[string]*list.Element // of *delivery
	order *list.List               // oldest first
}

type delivery struct {
	id       string
	body     [sha256.Size]byte
	recordID string // "" while in progress
	expires  time.Time
}

// newDeliverySet returns a set that remembers a delivery for window after
// it arrived. For signed deliveries window must be at least twice the
// timestamp tolerance: a delivery arriving at t carries a timestamp no
// earlier than t-tolerance, and is accepted until timestamp+tolerance.
func newDeliverySet(window time.Duration, max int) *deliverySet {
	return &deliverySet{window: window, max: max, byID: map[string]*list.Element{}, order: list.New()}
}

// begin looks id up at now. For a new id it reserves the id (in progress)
// and the caller must call done or abort; for a duplicate it returns the id
// of the record made the first time.
func (s *deliverySet) begin(id string, body []byte, now time.Time) (deliveryState, string) {
	sum := sha256.Sum256(body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	if el, ok := s.byID[id]; ok {
		d := el.Value.(*delivery)
		switch {
		case d.body != sum:
			return deliveryConflict, d.recordID
		case d.recordID == "":
			return deliveryInProgress, ""
		}
		return deliveryDuplicate, d.recordID
	}
	if s.order.Len() >= s.max {
		return deliveryWindowFull, ""
	}
	s.byID[id] = s.order.PushBack(&delivery{id: id, body: sum, expires: now.Add(s.window)})
	return deliveryNew, ""
}

// done marks the delivery id accepted as record recordID.
func (s *deliverySet) done(id, recordID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.byID[id]; ok {
		el.Value.(*delivery).recordID = recordID
	}
}

// abort forgets a delivery the pipeline refused, so that its retry is
// processed.
func (s *deliverySet) abort(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.byID[id]; ok {
		s.order.Remove(el)
		delete(s.byID, id)
	}
}

// len returns the number of deliveries remembered.
func (s *deliverySet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.order.Len()
}

// expire drops the entries whose window has passed. Entries are in
// arrival order, so it stops at the first one still current. An entry in
// progress is dropped too once expired: its request has long timed out.
func (s *deliverySet) expire(now time.Time) {
	for el := s.order.Front(); el != nil; el = s.order.Front() {
		d := el.Value.(*delivery)
		if now.Before(d.expires) {
			return
		}
		s.order.Remove(el)
		delete(s.byID, d.id)
	}
}
