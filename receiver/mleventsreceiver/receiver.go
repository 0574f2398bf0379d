package mleventsreceiver // import "github.com/govaudit/govaudit/receiver/mleventsreceiver"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/govaudit/govaudit/internal/record"
	"github.com/govaudit/govaudit/receiver/mleventsreceiver/internal/metadata"
)

// retryAfter is the Retry-After value, in seconds, sent with a 503 when the
// pipeline refuses records with a retryable error (backpressure).
const retryAfter = 5

// Formats reported to the receiver metrics (otelcol_receiver_*_log_records).
const (
	formatCloudEvents = "cloudevents"
	formatMLflow      = "mlflow"
)

type mleventsReceiver struct {
	cfg        *Config
	settings   receiver.Settings
	next       consumer.Logs
	obsrep     *receiverhelper.ObsReport
	telemetry  *metadata.TelemetryBuilder
	deliveries *deliverySet
	now        func() time.Time

	server     *http.Server
	shutdownWG sync.WaitGroup
}

func newReceiver(cfg *Config, set receiver.Settings, next consumer.Logs) (*mleventsReceiver, error) {
	obsrep, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "http",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	tel, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &mleventsReceiver{
		cfg: cfg, settings: set, next: next, obsrep: obsrep, telemetry: tel,
		deliveries: newDeliverySet(2*cfg.MLflow.TimestampTolerance, maxTrackedDeliveries),
		now:        time.Now,
	}, nil
}

// Start listens on the configured endpoint and serves the enabled paths.
func (r *mleventsReceiver) Start(ctx context.Context, host component.Host) error {
	mux := http.NewServeMux()
	if r.cfg.CloudEvents.Enabled {
		mux.HandleFunc(r.cfg.CloudEvents.Path, r.handleCloudEvents)
	}
	if r.cfg.MLflow.Enabled {
		mux.HandleFunc(r.cfg.MLflow.Path, r.handleMLflow)
		if r.cfg.MLflow.Secret == "" && !r.cfg.Auth.HasValue() && !isLoopback(r.cfg.NetAddr.Endpoint) {
			// Validate refused this unless insecure_allow_unauthenticated.
			r.settings.Logger.Warn("mlflow path accepts unsigned, unauthenticated deliveries from the network (insecure_allow_unauthenticated): set mlflow::secret",
				zap.String("path", r.cfg.MLflow.Path), zap.String("endpoint", r.cfg.NetAddr.Endpoint))
		}
	}
	if r.cfg.CloudEvents.Enabled && !r.cfg.Auth.HasValue() && !isLoopback(r.cfg.NetAddr.Endpoint) {
		r.settings.Logger.Warn("cloudevents path accepts unauthenticated events from the network (insecure_allow_unauthenticated): set auth",
			zap.String("path", r.cfg.CloudEvents.Path), zap.String("endpoint", r.cfg.NetAddr.Endpoint))
	}
	var err error
	r.server, err = r.cfg.ToServer(ctx, host.GetExtensions(), r.settings.TelemetrySettings, mux,
		confighttp.WithErrorHandler(func(w http.ResponseWriter, _ *http.Request, msg string, status int) {
			writeJSON(w, status, response{Error: msg})
		}))
	if err != nil {
		return err
	}
	var ln net.Listener
	if ln, err = r.cfg.ToListener(ctx); err != nil {
		return err
	}
	r.settings.Logger.Info("Starting mlevents HTTP server", zap.String("endpoint", ln.Addr().String()))
	r.shutdownWG.Add(1)
	go func() {
		defer r.shutdownWG.Done()
		if errHTTP := r.server.Serve(ln); errHTTP != nil && !errors.Is(errHTTP, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(errHTTP))
		}
	}()
	return nil
}

// Shutdown stops the server, waiting for requests in flight.
func (r *mleventsReceiver) Shutdown(ctx context.Context) error {
	var err error
	if r.server != nil {
		err = r.server.Shutdown(ctx)
	}
	r.shutdownWG.Wait()
	r.telemetry.Shutdown()
	return err
}

// An httpError is a request failure with its status code. events lists the
// events of a batch that failed, by index.
type httpError struct {
	status int
	msg    string
	events []eventResult
	// total is the number of events of a batch refused whole (0: not known).
	total int
}

func (e *httpError) Error() string { return e.msg }

// response is the JSON body of every reply.
type response struct {
	Accepted int           `json:"accepted"`
	Records  []eventResult `json:"records,omitempty"`
	// Duplicate marks the answer to an MLflow delivery accepted before:
	// Records names the record made the first time, nothing new is stored.
	Duplicate bool          `json:"duplicate,omitempty"`
	Error     string        `json:"error,omitempty"`
	Events    []eventResult `json:"events,omitempty"`
}

// eventResult names one event of a request: its index in the request (0 for
// a single event), its id (CloudEvents id or MLflow delivery id) and either
// the record made of it or why it failed.
type eventResult struct {
	Index    int    `json:"index"`
	EventID  string `json:"event_id,omitempty"`
	RecordID string `json:"record_id,omitempty"`
	Error    string `json:"error,omitempty"`
}

func (r *mleventsReceiver) handleCloudEvents(w http.ResponseWriter, req *http.Request) {
	ctx := r.obsrep.StartLogsOp(req.Context())
	recs, ids, herr := r.cloudEventRecords(req)
	if herr != nil {
		r.countRefused(ctx, refusedReason(herr.status), max(herr.total, len(herr.events), 1))
		r.fail(ctx, w, formatCloudEvents, len(herr.events), herr)
		return
	}
	if !r.consume(ctx, w, formatCloudEvents, recs, ids) {
		r.countRefused(ctx, "pipeline_refused", len(recs))
	}
}

// refusedReason is the reason label of a CloudEvents request refused with
// status.
func refusedReason(status int) string {
	switch status {
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	}
	return "invalid"
}

// countRefused counts n refused CloudEvents in
// otelcol_mlevents_cloudevents_refused.
func (r *mleventsReceiver) countRefused(ctx context.Context, reason string, n int) {
	r.telemetry.MleventsCloudeventsRefused.Add(ctx, int64(n), metric.WithAttributes(attribute.String("reason", reason)))
}

// cloudEventRecords reads a CloudEvents request in any content mode and
// returns its records and event ids. A batch is checked whole: if any event
// fails, none is returned and the error lists every failure.
func (r *mleventsReceiver) cloudEventRecords(req *http.Request) ([]record.Record, []string, *httpError) {
	if herr := checkPost(req); herr != nil {
		return nil, nil, herr
	}
	mode, _, herr := detectMode(req.Header)
	if herr != nil {
		return nil, nil, herr
	}
	var body []byte
	if mode != modeBatch { // a batch is decoded from the stream, event by event
		if body, herr = r.readBody(req); herr != nil {
			return nil, nil, herr
		}
	}
	now := r.now()
	// Each event becomes a record as soon as it is decoded; only records are
	// kept. Once an event failed, records are no longer kept either: the
	// batch is refused whole and only the failures are reported.
	var recs []record.Record
	var ids []string
	var failed []eventResult
	n := 0
	add := func(i int, e *cloudEvent, err error) {
		n++
		var id string
		var rec record.Record
		if e != nil {
			id = e.str("id")
			if err == nil {
				rec, err = e.toRecord(now, r.cfg.MaxAttributesBytes)
			}
		}
		if err != nil {
			failed = append(failed, eventResult{Index: i, EventID: id, Error: err.Error()})
			recs, ids = nil, nil
			return
		}
		if len(failed) == 0 {
			recs, ids = append(recs, rec), append(ids, id)
		}
	}
	switch mode {
	case modeStructured:
		e, err := parseStructured(body)
		add(0, e, err)
	case modeBinary:
		e, err := parseBinary(req.Header, body)
		add(0, e, err)
	case modeBatch:
		err := parseBatch(req.Body, r.cfg.MaxEventsPerRequest, add)
		var tooMany errTooManyEvents
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &tooMany):
			// Read the rest (at most max_request_body_size, without keeping
			// it) so that the client, still sending, reads the answer
			// rather than a reset connection.
			_, _ = io.Copy(io.Discard, req.Body)
			return nil, nil, &httpError{status: http.StatusRequestEntityTooLarge, msg: err.Error()}
		case errors.As(err, &mbe):
			return nil, nil, bodyTooLarge(mbe)
		case err != nil:
			return nil, nil, &httpError{status: http.StatusBadRequest, msg: err.Error()}
		}
	}
	switch {
	case len(failed) == 0:
		return recs, ids, nil
	case mode != modeBatch:
		return nil, nil, &httpError{status: http.StatusBadRequest, msg: "invalid CloudEvent: " + failed[0].Error}
	default:
		return nil, nil, &httpError{
			status: http.StatusBadRequest,
			msg:    fmt.Sprintf("%d of %d events in the batch are invalid; none was accepted", len(failed), n),
			events: failed,
			total:  n,
		}
	}
}

func (r *mleventsReceiver) handleMLflow(w http.ResponseWriter, req *http.Request) {
	ctx := r.obsrep.StartLogsOp(req.Context())
	rec, body, herr := r.mlflowRecord(req)
	if herr != nil {
		r.fail(ctx, w, formatMLflow, 0, herr)
		return
	}
	id := req.Header.Get(headerMLflowDeliveryID)
	if id == "" { // an unsigned delivery without an id: nothing to deduplicate by
		r.consume(ctx, w, formatMLflow, []record.Record{rec}, []string{id})
		return
	}
	state, first := r.deliveries.begin(id, body, r.now())
	if state != deliveryNew {
		r.duplicate(ctx, w, id, state, first)
		return
	}
	if r.consume(ctx, w, formatMLflow, []record.Record{rec}, []string{id}) {
		r.deliveries.done(id, rec.ID)
	} else {
		r.deliveries.abort(id)
	}
}

// duplicate answers an MLflow delivery whose id was seen within the replay
// window, and counts it in mlevents_mlflow_deliveries_deduplicated.
func (r *mleventsReceiver) duplicate(ctx context.Context, w http.ResponseWriter, id string, state deliveryState, first string) {
	outcome, status, msg := "", http.StatusOK, ""
	switch state {
	case deliveryDuplicate:
		outcome = "duplicate"
	case deliveryConflict:
		outcome, status = "conflict", http.StatusConflict
		msg = fmt.Sprintf("header %s %q: already delivered with another body", headerMLflowDeliveryID, id)
	case deliveryInProgress:
		outcome, status = "in_progress", http.StatusServiceUnavailable
		msg = fmt.Sprintf("header %s %q: the first delivery with this id is still being processed", headerMLflowDeliveryID, id)
	case deliveryWindowFull:
		outcome, status = "window_full", http.StatusServiceUnavailable
		msg = fmt.Sprintf("more than %d deliveries within the replay window; retry later", maxTrackedDeliveries)
	}
	r.telemetry.MleventsMlflowDeliveriesDeduplicated.Add(ctx, 1, metric.WithAttributes(attribute.String("outcome", outcome)))
	if status == http.StatusOK {
		r.obsrep.EndLogsOp(ctx, formatMLflow, 0, nil)
		writeJSON(w, status, response{Duplicate: true, Records: []eventResult{{Index: 0, EventID: id, RecordID: first}}})
		return
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	r.fail(ctx, w, formatMLflow, 0, &httpError{status: status, msg: msg})
}

// mlflowRecord authenticates an MLflow delivery (when a secret is set) before
// decoding it, and maps it to a record. It returns the body too, which
// identifies a delivery along with its id.
func (r *mleventsReceiver) mlflowRecord(req *http.Request) (record.Record, []byte, *httpError) {
	if herr := checkPost(req); herr != nil {
		return record.Record{}, nil, herr
	}
	ct := req.Header.Get("Content-Type")
	if media, _, _ := mime.ParseMediaType(ct); media != "application/json" {
		return record.Record{}, nil, &httpError{status: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("Content-Type %q: want application/json", ct)}
	}
	if id := req.Header.Get(headerMLflowDeliveryID); len(id) > maxDeliveryIDLen {
		return record.Record{}, nil, &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf("header %s: %d bytes, want at most %d", headerMLflowDeliveryID, len(id), maxDeliveryIDLen)}
	}
	body, herr := r.readBody(req)
	if herr != nil {
		return record.Record{}, nil, herr
	}
	now := r.now()
	if secret := r.cfg.MLflow.Secret; secret != "" {
		if herr := verifyMLflowSignature([]byte(secret), req.Header, body, now, r.cfg.MLflow.TimestampTolerance); herr != nil {
			return record.Record{}, nil, herr
		}
	}
	rec, err := parseMLflow(body, req.Header.Get(headerMLflowDeliveryID), now, r.cfg.MaxAttributesBytes)
	if err != nil {
		return record.Record{}, nil, &httpError{status: http.StatusBadRequest, msg: "invalid MLflow webhook: " + err.Error()}
	}
	return rec, body, nil
}

func checkPost(req *http.Request) *httpError {
	if req.Method != http.MethodPost {
		return &httpError{status: http.StatusMethodNotAllowed, msg: fmt.Sprintf("method %s: want POST", req.Method)}
	}
	return nil
}

// readBody reads the whole body; confighttp has already capped it at
// max_request_body_size, which surfaces here as *http.MaxBytesError. A
// declared Content-Length within the cap sizes the buffer up front: growing
// it by doubling, as io.ReadAll does, would allocate about twice the body
// on the way.
func (r *mleventsReceiver) readBody(req *http.Request) ([]byte, *httpError) {
	limit := r.cfg.MaxRequestBodySize
	if limit <= 0 {
		limit = defaultMaxRequestBodySize
	}
	size := int64(512)
	if n := req.ContentLength; n > 0 && n <= limit && req.Header.Get("Content-Encoding") == "" {
		size = n + 1 // +1: room to read EOF without growing
	}
	body, err := readAll(req.Body, int(size))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return nil, bodyTooLarge(mbe)
		}
		return nil, &httpError{status: http.StatusBadRequest, msg: "reading body: " + err.Error()}
	}
	return body, nil
}

func bodyTooLarge(mbe *http.MaxBytesError) *httpError {
	return &httpError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("body larger than max_request_body_size (%d bytes)", mbe.Limit)}
}

// defaultMaxRequestBodySize is confighttp's default max_request_body_size.
const defaultMaxRequestBodySize = 20 << 20

// readAll is io.ReadAll starting from a buffer of size bytes.
func readAll(rd io.Reader, size int) ([]byte, error) {
	b := make([]byte, 0, size)
	for {
		n, err := rd.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				return b, nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// consume sends the records to the next consumer as one plog.Logs and replies
// 200 only once it accepted them; a retryable refusal is a 503 with
// Retry-After, a permanent one a 500. It reports whether it answered 200.
func (r *mleventsReceiver) consume(ctx context.Context, w http.ResponseWriter, format string, recs []record.Record, ids []string) bool {
	res := response{Accepted: len(recs), Records: make([]eventResult, len(recs))}
	if len(recs) == 0 { // an empty batch is valid (HTTP binding, section 3.3.2)
		r.obsrep.EndLogsOp(ctx, format, 0, nil)
		writeJSON(w, http.StatusOK, res)
		return true
	}
	for i := range recs {
		res.Records[i] = eventResult{Index: i, EventID: ids[i], RecordID: recs[i].ID}
	}
	err := r.next.ConsumeLogs(ctx, record.NewLogs(metadata.ScopeName, recs))
	r.obsrep.EndLogsOp(ctx, format, len(recs), err)
	if err != nil {
		status := http.StatusServiceUnavailable
		if consumererror.IsPermanent(err) {
			status = http.StatusInternalServerError
		} else {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		}
		r.settings.Logger.Debug("pipeline refused mlevents records", zap.Int("records", len(recs)), zap.Error(err))
		writeJSON(w, status, response{Error: "pipeline refused the records: " + err.Error()})
		return false
	}
	writeJSON(w, http.StatusOK, res)
	return true
}

// fail replies with herr and reports n failed items (events of a rejected
// batch; 0 when nothing could be decoded).
func (r *mleventsReceiver) fail(ctx context.Context, w http.ResponseWriter, format string, n int, herr *httpError) {
	r.obsrep.EndLogsOp(ctx, format, n, herr)
	r.settings.Logger.Debug("rejected mlevents request", zap.Int("status", herr.status), zap.String("error", herr.msg))
	if herr.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	writeJSON(w, herr.status, response{Error: herr.msg, Events: herr.events})
}

func writeJSON(w http.ResponseWriter, status int, res response) {
	b, err := json.Marshal(res)
	if err != nil { // response holds only strings and ints
		b = []byte(`{"error":"internal: encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
