package mleventsreceiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/govaudit/govaudit/internal/record"
	"github.com/govaudit/govaudit/receiver/mleventsreceiver/internal/metadatatest"
)

var (
	ceJSON  = map[string]string{"Content-Type": "application/cloudevents+json"}
	ceBatch = map[string]string{"Content-Type": "application/cloudevents-batch+json"}
)

func reviewedEvent(id string) string {
	return `{"specversion":"1.0","id":"` + id + `","source":"/s","type":"dev.govaudit.decision.reviewed","data":{"reviewer":"r","outcome":"ok","decision_id":"d"}}`
}

func TestMaxEventsPerRequest(t *testing.T) {
	sink := new(consumertest.LogsSink)
	url := startReceiver(t, sink, time.Time{}, func(c *Config) { c.MaxEventsPerRequest = 2 })

	three := []byte("[" + reviewedEvent("a") + "," + reviewedEvent("b") + "," + reviewedEvent("c") + "]")
	status, res, _ := post(t, url+"/v1/events", ceBatch, three)
	assert.Equal(t, http.StatusRequestEntityTooLarge, status)
	assert.Equal(t, "batch has more than 2 events (max_events_per_request): split it", res.Error)
	assert.Empty(t, sink.AllLogs())

	// Events past the cap are not looked at: an invalid one there does not
	// change the answer.
	status, res, _ = post(t, url+"/v1/events", ceBatch, []byte("["+reviewedEvent("a")+","+reviewedEvent("b")+`,{"x":1}]`))
	assert.Equal(t, http.StatusRequestEntityTooLarge, status)
	assert.Empty(t, res.Events)

	two := []byte("[" + reviewedEvent("a") + "," + reviewedEvent("b") + "]")
	status, res, _ = post(t, url+"/v1/events", ceBatch, two)
	require.Equal(t, http.StatusOK, status, res.Error)
	assert.Equal(t, 2, res.Accepted)
	assert.Equal(t, 2, sink.LogRecordCount())
}

// TestDuplicateKeys: a repeated object key anywhere in a CloudEvents or
// MLflow body is refused with 400, never resolved silently.
func TestDuplicateKeys(t *testing.T) {
	mlflowJSON := map[string]string{"Content-Type": "application/json"}
	tests := []struct {
		name    string
		path    string
		headers map[string]string
		body    string
		msg     string
	}{
		{"structured attribute", "/v1/events", ceJSON,
			`{"specversion":"1.0","id":"1","source":"/s","type":"x","subject":"a","subject":"b"}`,
			`invalid CloudEvent: duplicate key "subject" in a JSON object`},
		{"structured data member", "/v1/events", ceJSON,
			`{"specversion":"1.0","id":"1","source":"/s","type":"dev.govaudit.decision.reviewed","data":{"reviewer":"r","outcome":"approved","outcome":"rejected","decision_id":"d"}}`,
			`invalid CloudEvent: duplicate key "outcome" in a JSON object`},
		{"binary JSON data", "/v1/events", map[string]string{"Content-Type": "application/json", "ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "x"},
			`{"a":1,"a":2}`,
			`invalid CloudEvent: data (application/json): malformed JSON: duplicate key "a" in a JSON object`},
		{"mlflow", "/v1/mlflow", mlflowJSON,
			`{"entity":"model_version","action":"created","timestamp":"2026-01-01T00:00:00Z","data":{"name":"m","version":"1","name":"n"}}`,
			`invalid MLflow webhook: malformed JSON: duplicate key "name" in a JSON object`},
		{"mlflow top level", "/v1/mlflow", mlflowJSON,
			`{"entity":"model_version","entity":"prompt","action":"created","timestamp":"2026-01-01T00:00:00Z","data":{"name":"m","version":"1"}}`,
			`invalid MLflow webhook: malformed JSON: duplicate key "entity" in a JSON object`},
		{"too deep", "/v1/mlflow", mlflowJSON,
			`{"data":` + strings.Repeat("[", 1001) + strings.Repeat("]", 1001) + `}`,
			"invalid MLflow webhook: malformed JSON: nesting deeper than 1000 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			url := startReceiver(t, sink, time.Time{}, nil)
			status, res, _ := post(t, url+tt.path, tt.headers, []byte(tt.body))
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, tt.msg, res.Error)
			assert.Empty(t, sink.AllLogs())
		})
	}

	t.Run("batch", func(t *testing.T) {
		sink := new(consumertest.LogsSink)
		url := startReceiver(t, sink, time.Time{}, nil)
		dup := `{"specversion":"1.0","id":"d-1","id":"d-2","source":"/s","type":"x"}`
		status, res, _ := post(t, url+"/v1/events", ceBatch, []byte("["+reviewedEvent("ok")+","+dup+"]"))
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "1 of 2 events in the batch are invalid; none was accepted", res.Error)
		require.Len(t, res.Events, 1)
		assert.Equal(t, 1, res.Events[0].Index)
		assert.Equal(t, "d-1", res.Events[0].EventID, "the first value names the event in the reply")
		assert.Contains(t, res.Events[0].Error, `duplicate key "id"`)
		assert.Empty(t, sink.AllLogs())
	})
}

func TestDecodeJSON(t *testing.T) {
	v, err := decodeJSON([]byte(` {"a":[1,{"b":null}],"c":[],"d":{"a":1}} `))
	require.NoError(t, err)
	assert.Equal(t, `{"a":[1,{"b":null}],"c":[],"d":{"a":1}}`, must(record.CanonicalJSON(v)), "the same key in different objects is fine")
	for body, msg := range map[string]string{
		`{"a":1} {}`:         "invalid character '{' after top-level value",
		`{"a":`:              "unexpected end of JSON input",
		`[{"a":1,"a":1}]`:    `duplicate key "a" in a JSON object`,
		`{"a":{"b":1,"b"`:    "unexpected end of JSON input",
		`{"\u0061":1,"a":2}`: `duplicate key "a" in a JSON object`,
	} {
		_, err := decodeJSON([]byte(body))
		assert.EqualError(t, err, msg, body)
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

// TestHugeSubjectAndType: a 5 MB subject is cut (reference to its cap, the
// envelope copy to 4 KiB) and flagged; a 5 MB type, id or source is refused,
// since a cut identifier would name another event.
func TestHugeSubjectAndType(t *testing.T) {
	huge := strings.Repeat("s", 5<<20)
	sink := new(consumertest.LogsSink)
	url := startReceiver(t, sink, time.Time{}, nil)

	body := `{"specversion":"1.0","id":"big-subject","source":"/s","type":"com.example.thing","subject":"` + huge + `"}`
	status, res, _ := post(t, url+"/v1/events", ceJSON, []byte(body))
	require.Equal(t, http.StatusOK, status, res.Error)
	recs, _ := records(t, sink)
	require.Len(t, recs, 1)
	rec := recs[0]
	size, _ := record.Cap("reference")
	assert.Len(t, rec.Reference, size)
	assert.Equal(t, []string{flagUnknownEventType, "truncated", "truncated:attributes", "truncated:reference"}, rec.Flags)
	ce := attrs(t, rec)["cloudevents"].(map[string]any)
	assert.Equal(t, "big-subject", ce["id"], "the envelope survives")
	assert.Len(t, ce["subject"], maxEnvelopeValue)

	for _, attr := range []string{"type", "id", "source"} {
		fields := map[string]string{"id": "x", "source": "/s", "type": "com.example.thing"}
		fields[attr] = huge
		body := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":%q,"type":%q}`, fields["id"], fields["source"], fields["type"])
		status, res, _ := post(t, url+"/v1/events", ceJSON, []byte(body))
		assert.Equal(t, http.StatusBadRequest, status, attr)
		assert.Equal(t, fmt.Sprintf("invalid CloudEvent: attribute %s: %d bytes, want at most 1024", attr, len(huge)), res.Error)
	}
	assert.Equal(t, 1, sink.LogRecordCount())
}

// TestTimesOutOfRange: times that int64 nanoseconds cannot hold are not
// wrapped to 1677 or 1969 but left unset and flagged invalid_value; the
// text is kept in the attributes.
func TestTimesOutOfRange(t *testing.T) {
	sink := new(consumertest.LogsSink)
	url := startReceiver(t, sink, time.Time{}, nil)
	body := `{"specversion":"1.0","id":"1","source":"/s","type":"x","time":"9999-12-31T23:59:59Z"}`
	status, res, _ := post(t, url+"/v1/events", ceJSON, []byte(body))
	require.Equal(t, http.StatusOK, status, res.Error)
	mlflow := `{"entity":"model_version","action":"created","timestamp":"0001-01-01T00:00:00+00:00","data":{"name":"m","version":"1"}}`
	status, res, _ = post(t, url+"/v1/mlflow", map[string]string{"Content-Type": "application/json"}, []byte(mlflow))
	require.Equal(t, http.StatusOK, status, res.Error)

	recs, _ := records(t, sink)
	require.Len(t, recs, 2)
	assert.Zero(t, recs[0].StartTime)
	assert.Equal(t, []string{flagUnknownEventType, "invalid_value", "invalid_value:start_time"}, recs[0].Flags)
	assert.Equal(t, "9999-12-31T23:59:59Z", attrs(t, recs[0])["cloudevents"].(map[string]any)["time"])
	assert.Zero(t, recs[1].StartTime)
	assert.Equal(t, []string{"invalid_value", "invalid_value:start_time"}, recs[1].Flags)
	assert.Equal(t, "0001-01-01T00:00:00+00:00", attrs(t, recs[1])["mlflow"].(map[string]any)["timestamp"])
}

// TestMLflowReplay: a signed delivery replayed within its window, or
// retried by MLflow, is answered 200 with the first record's id and archived
// once; each replay is counted.
func TestMLflowReplay(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	sink := new(consumertest.LogsSink)
	url := startReceiverWith(t, metadatatest.NewSettings(tel), sink, vecTime.Add(10*time.Second), func(c *Config) { c.MLflow.Secret = vecSecret })
	body := fixture(t, "mlflow_model_version_created.json")

	status, first, _ := post(t, url+"/v1/mlflow", mlflowHeaders(), body)
	require.Equal(t, http.StatusOK, status, first.Error)
	require.Len(t, first.Records, 1)
	for i := 0; i < 2; i++ {
		status, res, _ := post(t, url+"/v1/mlflow", mlflowHeaders(), body)
		require.Equal(t, http.StatusOK, status, res.Error)
		assert.True(t, res.Duplicate)
		assert.Zero(t, res.Accepted)
		assert.Equal(t, first.Records, res.Records, "the replay names the record made the first time")
	}
	assert.Equal(t, 1, sink.LogRecordCount(), "archived once")
	metadatatest.AssertEqualMleventsMlflowDeliveriesDeduplicated(t, tel, []metricdata.DataPoint[int64]{
		{Value: 2, Attributes: attribute.NewSet(attribute.String("outcome", "duplicate"))},
	}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

// TestMLflowRetryAfterRefusal: a delivery the pipeline refused is not
// remembered, so MLflow's retry is processed.
func TestMLflowRetryAfterRefusal(t *testing.T) {
	sink := new(consumertest.LogsSink)
	refuse := true
	next, err := consumer.NewLogs(func(ctx context.Context, ld plog.Logs) error {
		if refuse {
			return errors.New("data refused due to high memory usage")
		}
		return sink.ConsumeLogs(ctx, ld)
	})
	require.NoError(t, err)
	url := startReceiver(t, next, vecTime, func(c *Config) { c.MLflow.Secret = vecSecret })
	body := fixture(t, "mlflow_model_version_created.json")

	status, _, _ := post(t, url+"/v1/mlflow", mlflowHeaders(), body)
	require.Equal(t, http.StatusServiceUnavailable, status)
	refuse = false
	status, res, _ := post(t, url+"/v1/mlflow", mlflowHeaders(), body)
	require.Equal(t, http.StatusOK, status, res.Error)
	assert.False(t, res.Duplicate)
	assert.Equal(t, 1, res.Accepted)
	assert.Equal(t, 1, sink.LogRecordCount())
}

// TestMLflowDeliveryIDConflict: without a secret anyone can send any
// delivery id; the same id with another body is refused (409), not taken
// for a replay, and a delivery id is remembered only for the window.
func TestMLflowDeliveryIDConflict(t *testing.T) {
	sink := new(consumertest.LogsSink)
	url := startReceiver(t, sink, time.Time{}, nil)
	h := map[string]string{"Content-Type": "application/json", headerMLflowDeliveryID: "d-1"}
	a := fixture(t, "mlflow_model_version_created.json")
	b := fixture(t, "mlflow_alias_created.json")

	status, res, _ := post(t, url+"/v1/mlflow", h, a)
	require.Equal(t, http.StatusOK, status, res.Error)
	status, res, _ = post(t, url+"/v1/mlflow", h, b)
	assert.Equal(t, http.StatusConflict, status)
	assert.Equal(t, `header X-MLflow-Delivery-Id "d-1": already delivered with another body`, res.Error)

	h[headerMLflowDeliveryID] = strings.Repeat("x", 257)
	status, res, _ = post(t, url+"/v1/mlflow", h, b)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "header X-MLflow-Delivery-Id: 257 bytes, want at most 256", res.Error)

	delete(h, headerMLflowDeliveryID) // unsigned and without an id: nothing to deduplicate by
	for i := 0; i < 2; i++ {
		status, res, _ = post(t, url+"/v1/mlflow", h, b)
		require.Equal(t, http.StatusOK, status, res.Error)
	}
	assert.Equal(t, 3, sink.LogRecordCount())
}

func TestDeliverySet(t *testing.T) {
	t0 := time.Unix(1767225600, 0)
	s := newDeliverySet(10*time.Minute, 2)
	state, _ := s.begin("a", []byte("x"), t0)
	require.Equal(t, deliveryNew, state)
	state, _ = s.begin("a", []byte("x"), t0)
	assert.Equal(t, deliveryInProgress, state)
	s.done("a", "rec-a")
	state, rec := s.begin("a", []byte("x"), t0.Add(time.Minute))
	assert.Equal(t, deliveryDuplicate, state)
	assert.Equal(t, "rec-a", rec)
	state, _ = s.begin("a", []byte("y"), t0.Add(time.Minute))
	assert.Equal(t, deliveryConflict, state)

	state, _ = s.begin("b", []byte("x"), t0.Add(2*time.Minute))
	require.Equal(t, deliveryNew, state)
	state, _ = s.begin("c", []byte("x"), t0.Add(2*time.Minute))
	assert.Equal(t, deliveryWindowFull, state, "full of unexpired deliveries: refuse, do not forget")
	s.abort("b")
	assert.Equal(t, 1, s.len())

	// Past the window "a" is forgotten, and room is made.
	state, _ = s.begin("c", []byte("x"), t0.Add(10*time.Minute))
	assert.Equal(t, deliveryNew, state)
	state, _ = s.begin("a", []byte("x"), t0.Add(10*time.Minute))
	assert.Equal(t, deliveryNew, state)
	assert.Equal(t, 2, s.len())
}

// TestCloudEventsRefusedCounted: refused CloudEvents are counted by reason:
// every event of an invalid batch, one for a request whose events cannot be
// counted, and the valid events the pipeline refused.
func TestCloudEventsRefusedCounted(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	next, err := consumer.NewLogs(func(context.Context, plog.Logs) error {
		return errors.New("data refused due to high memory usage")
	})
	require.NoError(t, err)
	url := startReceiverWith(t, metadatatest.NewSettings(tel), next, time.Time{}, nil)

	status, _, _ := post(t, url+"/v1/events", ceBatch, fixture(t, "batch_partial.json"))
	require.Equal(t, http.StatusBadRequest, status)
	status, _, _ = post(t, url+"/v1/events", ceJSON, []byte(`{"specversion":`))
	require.Equal(t, http.StatusBadRequest, status)
	status, _, _ = post(t, url+"/v1/events", map[string]string{"Content-Type": "text/plain"}, []byte(`x`))
	require.Equal(t, http.StatusUnsupportedMediaType, status)
	status, _, _ = post(t, url+"/v1/events", ceBatch, []byte("["+reviewedEvent("a")+","+reviewedEvent("b")+"]"))
	require.Equal(t, http.StatusServiceUnavailable, status)

	metadatatest.AssertEqualMleventsCloudeventsRefused(t, tel, []metricdata.DataPoint[int64]{
		{Value: 4, Attributes: attribute.NewSet(attribute.String("reason", "invalid"))},
		{Value: 2, Attributes: attribute.NewSet(attribute.String("reason", "pipeline_refused"))},
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "unsupported_media_type"))},
	}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}
