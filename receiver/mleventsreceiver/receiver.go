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
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
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
	cfg      *Config
	settings receiver.Settings
	next     consumer.Logs
	obsrep   *receiverhelper.ObsReport
	now      func() time.Time

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
	return &mleventsReceiver{cfg: cfg, settings: set, next: next, obsrep: obsrep, now: time.Now}, nil
}

// Start listens on the configured endpoint and serves the enabled paths.
func (r *mleventsReceiver) Start(ctx context.Context, host component.Host) error {
	mux := http.NewServeMux()
	if r.cfg.CloudEvents.Enabled {
		mux.HandleFunc(r.cfg.CloudEvents.Path, r.handleCloudEvents)
	}
	if r.cfg.MLflow.Enabled {
		mux.HandleFunc(r.cfg.MLflow.Path, r.handleMLflow)
		if r.cfg.MLflow.Secret == "" && !r.cfg.Auth.HasValue() {
			r.settings.Logger.Warn("mlflow path accepts unsigned, unauthenticated deliveries: set mlflow::secret",
				zap.String("path", r.cfg.MLflow.Path))
		}
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
	return err
}

// An httpError is a request failure with its status code. events lists the
// events of a batch that failed, by index.
type httpError struct {
	status int
	msg    string
	events []eventResult
}

func (e *httpError) Error() string { return e.msg }

// response is the JSON body of every reply.
type response struct {
	Accepted int           `json:"accepted"`
	Records  []eventResult `json:"records,omitempty"`
	Error    string        `json:"error,omitempty"`
	Events   []eventResult `json:"events,omitempty"`
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
		r.fail(ctx, w, formatCloudEvents, len(herr.events), herr)
		return
	}
	r.consume(ctx, w, formatCloudEvents, recs, ids)
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
	body, herr := readBody(req)
	if herr != nil {
		return nil, nil, herr
	}
	now := r.now()
	var events []*cloudEvent
	var errs []error
	switch mode {
	case modeStructured:
		e, err := parseStructured(body)
		events, errs = []*cloudEvent{e}, []error{err}
	case modeBinary:
		e, err := parseBinary(req.Header, body)
		events, errs = []*cloudEvent{e}, []error{err}
	case modeBatch:
		var err error
		if events, errs, err = parseBatch(body); err != nil {
			return nil, nil, &httpError{status: http.StatusBadRequest, msg: err.Error()}
		}
	}
	recs := make([]record.Record, len(events))
	ids := make([]string, len(events))
	var failed []eventResult
	for i, e := range events {
		err := errs[i]
		if e != nil {
			ids[i] = e.str("id")
			if err == nil {
				recs[i], err = e.toRecord(now, r.cfg.MaxAttributesSize)
			}
		}
		if err != nil {
			failed = append(failed, eventResult{Index: i, EventID: ids[i], Error: err.Error()})
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
			msg:    fmt.Sprintf("%d of %d events in the batch are invalid; none was accepted", len(failed), len(events)),
			events: failed,
		}
	}
}

func (r *mleventsReceiver) handleMLflow(w http.ResponseWriter, req *http.Request) {
	ctx := r.obsrep.StartLogsOp(req.Context())
	rec, herr := r.mlflowRecord(req)
	if herr != nil {
		r.fail(ctx, w, formatMLflow, 0, herr)
		return
	}
	r.consume(ctx, w, formatMLflow, []record.Record{rec}, []string{req.Header.Get(headerMLflowDeliveryID)})
}

// mlflowRecord authenticates an MLflow delivery (when a secret is set) before
// decoding it, and maps it to a record.
func (r *mleventsReceiver) mlflowRecord(req *http.Request) (record.Record, *httpError) {
	if herr := checkPost(req); herr != nil {
		return record.Record{}, herr
	}
	ct := req.Header.Get("Content-Type")
	if media, _, _ := mime.ParseMediaType(ct); media != "application/json" {
		return record.Record{}, &httpError{status: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("Content-Type %q: want application/json", ct)}
	}
	body, herr := readBody(req)
	if herr != nil {
		return record.Record{}, herr
	}
	now := r.now()
	if secret := r.cfg.MLflow.Secret; secret != "" {
		if herr := verifyMLflowSignature([]byte(secret), req.Header, body, now, r.cfg.MLflow.TimestampTolerance); herr != nil {
			return record.Record{}, herr
		}
	}
	rec, err := parseMLflow(body, req.Header.Get(headerMLflowDeliveryID), now, r.cfg.MaxAttributesSize)
	if err != nil {
		return record.Record{}, &httpError{status: http.StatusBadRequest, msg: "invalid MLflow webhook: " + err.Error()}
	}
	return rec, nil
}

func checkPost(req *http.Request) *httpError {
	if req.Method != http.MethodPost {
		return &httpError{status: http.StatusMethodNotAllowed, msg: fmt.Sprintf("method %s: want POST", req.Method)}
	}
	return nil
}

// readBody reads the whole body; confighttp has already capped it at
// max_request_body_size, which surfaces here as *http.MaxBytesError.
func readBody(req *http.Request) ([]byte, *httpError) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return nil, &httpError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("body larger than max_request_body_size (%d bytes)", mbe.Limit)}
		}
		return nil, &httpError{status: http.StatusBadRequest, msg: "reading body: " + err.Error()}
	}
	return body, nil
}

// consume sends the records to the next consumer as one plog.Logs and replies
// 200 only once it accepted them; a retryable refusal is a 503 with
// Retry-After, a permanent one a 500.
func (r *mleventsReceiver) consume(ctx context.Context, w http.ResponseWriter, format string, recs []record.Record, ids []string) {
	res := response{Accepted: len(recs), Records: make([]eventResult, len(recs))}
	if len(recs) == 0 { // an empty batch is valid (HTTP binding, section 3.3.2)
		r.obsrep.EndLogsOp(ctx, format, 0, nil)
		writeJSON(w, http.StatusOK, res)
		return
	}
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	for i := range recs {
		recs[i].ToLogRecord(sl.LogRecords().AppendEmpty())
		res.Records[i] = eventResult{Index: i, EventID: ids[i], RecordID: recs[i].ID}
	}
	err := r.next.ConsumeLogs(ctx, ld)
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
		return
	}
	writeJSON(w, http.StatusOK, res)
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
