package mleventsreceiver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/govaudit/govaudit/internal/record"
	"github.com/govaudit/govaudit/receiver/mleventsreceiver/internal/metadata"
)

// The MLflow signature vector: testdata/mlflow_model_version_created.json
// signed by Python's hmac/hashlib/base64 exactly as mlflow/webhooks/delivery.py
// does, with secret "govaudit-test-secret".
const (
	vecSecret     = "govaudit-test-secret"
	vecDeliveryID = "2b0c5c8e-6a43-4c1e-9f0a-1d2e3f405162"
	vecTimestamp  = "1767225600"
	vecSignature  = "v1,fIyt+hPX5zZIRhQ/W1RZxZE/tpOeGi3qWz8xj7O82XE="
)

var vecTime = time.Unix(1767225600, 0)

// testHost offers extensions to the receiver under test.
type testHost struct {
	component.Host
	ext map[component.ID]component.Component
}

func (h testHost) GetExtensions() map[component.ID]component.Component { return h.ext }

// tokenAuth is a minimal extensionauth.Server accepting one bearer token.
type tokenAuth struct {
	component.StartFunc
	component.ShutdownFunc
	token string
}

func (a tokenAuth) Authenticate(ctx context.Context, sources map[string][]string) (context.Context, error) {
	for k, v := range sources {
		if strings.EqualFold(k, "Authorization") && len(v) == 1 && v[0] == "Bearer "+a.token {
			return ctx, nil
		}
	}
	return ctx, errors.New("missing or wrong bearer token")
}

var authID = component.MustNewID("tokenauth")

func authConfig() configoptional.Optional[confighttp.AuthConfig] {
	return configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: authID}})
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// startReceiver starts a receiver made by the factory on a free loopback
// port and returns its base URL.
func startReceiver(t *testing.T, next consumer.Logs, now time.Time, mutate func(*Config)) string {
	t.Helper()
	return startReceiverWith(t, receivertest.NewNopSettings(metadata.Type), next, now, mutate)
}

// startReceiverWith is startReceiver with the given settings (e.g. a
// componenttest.Telemetry's, to read the receiver's metrics).
func startReceiverWith(t *testing.T, set receiver.Settings, next consumer.Logs, now time.Time, mutate func(*Config)) string {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.NetAddr.Endpoint = freeAddr(t)
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(t, cfg.Validate())
	rcv, err := NewFactory().CreateLogs(context.Background(), set, cfg, next)
	require.NoError(t, err)
	if !now.IsZero() {
		rcv.(*mleventsReceiver).now = func() time.Time { return now }
	}
	host := testHost{Host: componenttest.NewNopHost(), ext: map[component.ID]component.Component{authID: tokenAuth{token: "s3cret"}}}
	require.NoError(t, rcv.Start(context.Background(), host))
	t.Cleanup(func() { assert.NoError(t, rcv.Shutdown(context.Background())) })
	return "http://" + cfg.NetAddr.Endpoint
}

func post(t *testing.T, url string, headers map[string]string, body []byte) (int, response, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var res response
	require.NoError(t, json.Unmarshal(raw, &res), "body %s", raw)
	return resp.StatusCode, res, resp.Header
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// records decodes every record the sink received, checking that each is a
// valid governance record, and the number of ConsumeLogs calls.
func records(t *testing.T, sink *consumertest.LogsSink) ([]record.Record, int) {
	t.Helper()
	var out []record.Record
	for _, ld := range sink.AllLogs() {
		require.Equal(t, 1, ld.ResourceLogs().Len())
		require.Equal(t, 1, ld.ResourceLogs().At(0).ScopeLogs().Len())
		assert.Equal(t, metadata.ScopeName, ld.ResourceLogs().At(0).ScopeLogs().At(0).Scope().Name())
		for it, err := range record.DecodeLogs(ld) {
			require.NoError(t, err)
			out = append(out, it.Record)
		}
	}
	return out, len(sink.AllLogs())
}

// attrs decodes a record's attributes JSON.
func attrs(t *testing.T, rec record.Record) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(rec.Attributes), &m))
	return m
}

func TestStructured(t *testing.T) {
	sink := new(consumertest.LogsSink)
	url := startReceiver(t, sink, time.Time{}, nil)
	before := time.Now().UnixNano()

	status, res, _ := post(t, url+"/v1/events", map[string]string{"Content-Type": "application/cloudevents+json; charset=utf-8"}, fixture(t, "structured_reviewed.json"))
	require.Equal(t, http.StatusOK, status, res.Error)

	recs, calls := records(t, sink)
	require.Len(t, recs, 1)
	assert.Equal(t, 1, calls)
	rec := recs[0]
	assert.Equal(t, record.TypeOversight, rec.Type)
	assert.Equal(t, "decision.reviewed", rec.EventName)
	assert.Equal(t, uint32(record.SchemaVersion), rec.SchemaVersion)
	assert.Equal(t, record.SourceMLEvents, rec.SourceConvention)
	assert.Equal(t, "alice@example.com", rec.UserID)
	assert.Equal(t, "0195f3a2-7c4e-7d1a-9b2e-3f4a5b6c7d8e", rec.Reference)
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", rec.TraceID)
	assert.Equal(t, time.Date(2026, 3, 2, 10, 15, 30, 5e8, time.UTC).UnixNano(), rec.StartTime)
	assert.GreaterOrEqual(t, rec.ObservedTime, before)
	assert.Empty(t, rec.Flags)
	assert.Empty(t, rec.Origin)
	assert.Zero(t, rec.LeafIndex)

	a := attrs(t, rec)
	assert.Equal(t, "rev-0001", a["cloudevents"].(map[string]any)["id"])
	assert.Equal(t, "loan-application-4711", a["cloudevents"].(map[string]any)["subject"])
	assert.Equal(t, "income verified manually", a["data"].(map[string]any)["comment"])
	assert.Equal(t, "approved", a["data"].(map[string]any)["outcome"])

	assert.Equal(t, 1, res.Accepted)
	assert.Equal(t, []eventResult{{Index: 0, EventID: "rev-0001", RecordID: rec.ID}}, res.Records)
}

func TestBinary(t *testing.T) {
	sink := new(consumertest.LogsSink)
	url := startReceiver(t, sink, time.Time{}, nil)

	status, res, _ := post(t, url+"/v1/events", map[string]string{
		"Content-Type":   "application/json",
		"ce-specversion": "1.0",
		"ce-type":        "dev.govaudit.model.promoted",
		"ce-source":      "https://mlflow.example.com",
		"ce-id":          "promo-42",
		"ce-time":        "2026-03-01T08:00:00+01:00",
		"ce-subject":     "credit%20risk%20%E2%82%AC",
		"ce-comexample":  `"quoted \"value\""`,
	}, fixture(t, "binary_promoted.json"))
	require.Equal(t, http.StatusOK, status, res.Error)

	recs, _ := records(t, sink)
	require.Len(t, recs, 1)
	rec := recs[0]
	assert.Equal(t, record.TypeLifecycle, rec.Type)
	assert.Equal(t, "model.promoted", rec.EventName)
	assert.Equal(t, "credit-risk", rec.RequestModel)
	assert.Equal(t, "7", rec.ModelVersion)
	assert.Equal(t, "models:/credit-risk/7", rec.ModelRegistryURI)
	assert.Equal(t, "models:/credit-risk/7", rec.Reference)
	assert.Equal(t, "release-bot", rec.UserID)
	assert.Equal(t, time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC).UnixNano(), rec.StartTime)
	ce := attrs(t, rec)["cloudevents"].(map[string]any)
	assert.Equal(t, "credit risk €", ce["subject"])
	assert.Equal(t, `quoted "value"`, ce["comexample"])
	assert.Equal(t, "application/json", ce["datacontenttype"])
	assert.Equal(t, "staging", attrs(t, rec)["data"].(map[string]any)["from_stage"])
}

func TestBatch(t *testing.T) {
	sink := new(consumertest.LogsSink)
	url := startReceiver(t, sink, time.Time{}, nil)

	status, res, _ := post(t, url+"/v1/events", map[string]string{"Content-Type": "application/cloudevents-batch+json"}, fixture(t, "batch.json"))
	require.Equal(t, http.StatusOK, status, res.Error)

	recs, calls := records(t, sink)
	require.Len(t, recs, 3)
	assert.Equal(t, 1, calls, "a batch goes to the pipeline in one call")
	assert.Equal(t, 3, res.Accepted)
	for i, rec := range recs {
		assert.Equal(t, rec.ID, res.Records[i].RecordID)
	}

	assert.Equal(t, "model.registered", recs[0].EventName)
	assert.Equal(t, "8", recs[0].ModelVersion, "a numeric version is kept as its JSON text")
	assert.Equal(t, "ci", recs[0].UserID)
	assert.Equal(t, "model.deployed", recs[1].EventName)
	assert.Equal(t, "production", recs[1].DeploymentEnvironment)

	foreign := recs[2]
	assert.Equal(t, record.TypeLifecycle, foreign.Type)
	assert.Equal(t, "com.example.feature.flag.flipped", foreign.EventName)
	assert.Equal(t, []string{flagUnknownEventType}, foreign.Flags)
	assert.Equal(t, "new-scoring", foreign.Reference)
	a := attrs(t, foreign)
	assert.Equal(t, "on", a["data"])
	assert.Equal(t, "risk", a["cloudevents"].(map[string]any)["comexampleteam"])
}

func TestBatchPartialFailure(t *testing.T) {
	sink := new(consumertest.LogsSink)
	url := startReceiver(t, sink, time.Time{}, nil)

	status, res, _ := post(t, url+"/v1/events", map[string]string{"Content-Type": "application/cloudevents-batch+json"}, fixture(t, "batch_partial.json"))
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "2 of 3 events in the batch are invalid; none was accepted", res.Error)
	assert.Equal(t, []eventResult{
		{Index: 1, EventID: "p-2", Error: `attribute specversion "0.3": want "1.0"`},
		{Index: 2, EventID: "p-3", Error: "data: one of decision_id, trace_id is required"},
	}, res.Events)
	assert.Zero(t, res.Accepted)
	assert.Empty(t, sink.AllLogs(), "nothing of a failed batch reaches the pipeline")
}

func TestEmptyBatch(t *testing.T) {
	sink := new(consumertest.LogsSink)
	url := startReceiver(t, sink, time.Time{}, nil)
	status, res, _ := post(t, url+"/v1/events", map[string]string{"Content-Type": "application/cloudevents-batch+json"}, []byte(" [] "))
	assert.Equal(t, http.StatusOK, status)
	assert.Zero(t, res.Accepted)
	assert.Empty(t, sink.AllLogs())
}

func mlflowHeaders() map[string]string {
	return map[string]string{
		"Content-Type":         "application/json",
		headerMLflowDeliveryID: vecDeliveryID,
		headerMLflowTimestamp:  vecTimestamp,
		headerMLflowSignature:  vecSignature,
	}
}

func TestMLflowSigned(t *testing.T) {
	sink := new(consumertest.LogsSink)
	url := startReceiver(t, sink, vecTime.Add(10*time.Second), func(c *Config) { c.MLflow.Secret = vecSecret })

	status, res, _ := post(t, url+"/v1/mlflow", mlflowHeaders(), fixture(t, "mlflow_model_version_created.json"))
	require.Equal(t, http.StatusOK, status, res.Error)

	recs, _ := records(t, sink)
	require.Len(t, recs, 1)
	rec := recs[0]
	assert.Equal(t, record.TypeLifecycle, rec.Type)
	assert.Equal(t, "mlflow.model_version.created", rec.EventName)
	assert.Equal(t, "credit-risk", rec.RequestModel)
	assert.Equal(t, "3", rec.ModelVersion)
	assert.Equal(t, "models:/credit-risk/3", rec.ModelRegistryURI)
	assert.Equal(t, "models:/credit-risk/3", rec.Reference)
	assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 123456000, time.UTC).UnixNano(), rec.StartTime)
	assert.Equal(t, vecTime.Add(10*time.Second).UnixNano(), rec.ObservedTime)
	a := attrs(t, rec)
	assert.Equal(t, vecDeliveryID, a["mlflow"].(map[string]any)["delivery_id"])
	assert.Equal(t, "abcd1234abcd5678", a["data"].(map[string]any)["run_id"])
	assert.Equal(t, []eventResult{{Index: 0, EventID: vecDeliveryID, RecordID: rec.ID}}, res.Records)
}

func TestMLflowUnsigned(t *testing.T) {
	sink := new(consumertest.LogsSink)
	url := startReceiver(t, sink, time.Time{}, nil)

	status, res, _ := post(t, url+"/v1/mlflow", map[string]string{"Content-Type": "application/json"}, fixture(t, "mlflow_alias_created.json"))
	require.Equal(t, http.StatusOK, status, res.Error)
	recs, _ := records(t, sink)
	require.Len(t, recs, 1)
	assert.Equal(t, "mlflow.model_version_alias.created", recs[0].EventName)
	assert.Equal(t, "models:/credit-risk/3", recs[0].ModelRegistryURI)
	assert.Equal(t, "models:/credit-risk@champion", recs[0].Reference)
}

func TestMLflowSignatureRejected(t *testing.T) {
	body := fixture(t, "mlflow_model_version_created.json")
	tampered := bytes.Replace(body, []byte(`"3"`), []byte(`"4"`), 1)
	require.NotEqual(t, body, tampered)

	tests := []struct {
		name    string
		now     time.Time
		headers func(map[string]string)
		body    []byte
		status  int
		msg     string
	}{
		{"missing signature", vecTime, func(h map[string]string) { delete(h, headerMLflowSignature) }, body,
			http.StatusUnauthorized, "header X-MLflow-Signature: missing (a secret is configured, deliveries must be signed)"},
		{"missing delivery id", vecTime, func(h map[string]string) { delete(h, headerMLflowDeliveryID) }, body,
			http.StatusUnauthorized, "header X-MLflow-Delivery-Id: missing (a secret is configured, deliveries must be signed)"},
		{"timestamp not a number", vecTime, func(h map[string]string) { h[headerMLflowTimestamp] = "yesterday" }, body,
			http.StatusUnauthorized, `header X-MLflow-Timestamp "yesterday": want Unix seconds`},
		{"tampered body", vecTime, nil, tampered,
			http.StatusForbidden, "header X-MLflow-Signature: no v1 signature matches the body and the configured secret"},
		{"other delivery id", vecTime, func(h map[string]string) { h[headerMLflowDeliveryID] = "x" + vecDeliveryID }, body,
			http.StatusForbidden, "header X-MLflow-Signature: no v1 signature matches the body and the configured secret"},
		{"wrong version", vecTime, func(h map[string]string) { h[headerMLflowSignature] = "v2" + vecSignature[2:] }, body,
			http.StatusForbidden, "header X-MLflow-Signature: no v1 signature matches the body and the configured secret"},
		{"stale", vecTime.Add(5*time.Minute + time.Second), nil, body,
			http.StatusForbidden, "header X-MLflow-Timestamp 1767225600: more than 5m0s from the receiver's clock (stale or replayed delivery)"},
		{"from the future", vecTime.Add(-5*time.Minute - time.Second), nil, body,
			http.StatusForbidden, "header X-MLflow-Timestamp 1767225600: more than 5m0s from the receiver's clock (stale or replayed delivery)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			url := startReceiver(t, sink, tt.now, func(c *Config) { c.MLflow.Secret = vecSecret })
			h := mlflowHeaders()
			if tt.headers != nil {
				tt.headers(h)
			}
			status, res, _ := post(t, url+"/v1/mlflow", h, tt.body)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, tt.msg, res.Error)
			assert.Empty(t, sink.AllLogs())
		})
	}
}

func TestVerifyMLflowSignatureVector(t *testing.T) {
	body := fixture(t, "mlflow_model_version_created.json")
	h := http.Header{}
	for k, v := range mlflowHeaders() {
		h.Set(k, v)
	}
	assert.Nil(t, verifyMLflowSignature([]byte(vecSecret), h, body, vecTime, time.Minute))

	// A second, unrelated signature before the valid one (key rotation).
	h.Set(headerMLflowSignature, "v1,AAAA "+vecSignature)
	assert.Nil(t, verifyMLflowSignature([]byte(vecSecret), h, body, vecTime, time.Minute))
	h.Set(headerMLflowSignature, vecSignature)

	herr := verifyMLflowSignature([]byte(vecSecret+"x"), h, body, vecTime, time.Minute)
	require.NotNil(t, herr)
	assert.Equal(t, http.StatusForbidden, herr.status)

	// Every single-byte change of the body breaks the signature.
	for i := range body {
		mangled := bytes.Clone(body)
		mangled[i] ^= 0x01
		herr := verifyMLflowSignature([]byte(vecSecret), h, mangled, vecTime, time.Minute)
		require.NotNil(t, herr, "byte %d", i)
		require.Equal(t, http.StatusForbidden, herr.status)
	}
	// Extreme timestamps are rejected, not overflowed into the window.
	for _, ts := range []string{"-9223372036854775808", "9223372036854775807"} {
		h.Set(headerMLflowTimestamp, ts)
		herr := verifyMLflowSignature([]byte(vecSecret), h, body, vecTime, 24*time.Hour)
		require.NotNil(t, herr, ts)
		assert.Equal(t, http.StatusForbidden, herr.status)
	}
}

func TestAuthExtension(t *testing.T) {
	sink := new(consumertest.LogsSink)
	url := startReceiver(t, sink, time.Time{}, func(c *Config) {
		c.Auth = authConfig()
	})
	body := fixture(t, "structured_reviewed.json")
	headers := map[string]string{"Content-Type": "application/cloudevents+json"}

	status, res, _ := post(t, url+"/v1/events", headers, body)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, "missing or wrong bearer token", res.Error)

	headers["Authorization"] = "Bearer wrong"
	status, _, _ = post(t, url+"/v1/events", headers, body)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Empty(t, sink.AllLogs())

	headers["Authorization"] = "Bearer s3cret"
	status, res, _ = post(t, url+"/v1/events", headers, body)
	assert.Equal(t, http.StatusOK, status, res.Error)
	assert.Equal(t, 1, sink.LogRecordCount())
}

func TestRejectedRequests(t *testing.T) {
	ceJSON := map[string]string{"Content-Type": "application/cloudevents+json"}
	reviewed := func(data string) []byte {
		return []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"dev.govaudit.decision.reviewed","data":` + data + `}`)
	}
	tests := []struct {
		name    string
		path    string
		headers map[string]string
		body    []byte
		status  int
		msg     string
	}{
		{"oversize", "/v1/events", ceJSON, bytes.Repeat([]byte(" "), 4097),
			http.StatusRequestEntityTooLarge, "body larger than max_request_body_size (4096 bytes)"},
		{"malformed JSON", "/v1/events", ceJSON, []byte(`{"specversion": "1.0", "id": `),
			http.StatusBadRequest, "invalid CloudEvent: malformed JSON: unexpected end of JSON input"},
		{"not an object", "/v1/events", ceJSON, []byte(`["x"]`),
			http.StatusBadRequest, "invalid CloudEvent: malformed event: want a JSON object"},
		{"missing attributes", "/v1/events", ceJSON, []byte(`{"specversion":"1.0","type":"x"}`),
			http.StatusBadRequest, "invalid CloudEvent: attribute id: missing; attribute source: missing"},
		{"bad time", "/v1/events", ceJSON, []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"x","time":"yesterday"}`),
			http.StatusBadRequest, `invalid CloudEvent: attribute time "yesterday": want an RFC 3339 timestamp`},
		{"bad attribute name", "/v1/events", ceJSON, []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"x","Team":"a"}`),
			http.StatusBadRequest, `invalid CloudEvent: attribute name "Team": want lower-case letters and digits only`},
		{"invalid UTF-8", "/v1/events", ceJSON, []byte("{\"specversion\":\"1.0\",\"id\":\"\xff\"}"),
			http.StatusBadRequest, "invalid CloudEvent: body is not valid UTF-8"},
		{"unknown govaudit type", "/v1/events", ceJSON, []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"dev.govaudit.model.promotd","data":{}}`),
			http.StatusBadRequest, `invalid CloudEvent: type "dev.govaudit.model.promotd": not a govaudit event type (known: ` + strings.Join(knownTypes, ", ") + ")"},
		{"reviewer missing", "/v1/events", ceJSON, reviewed(`{"outcome":"approved","decision_id":"r1"}`),
			http.StatusBadRequest, "invalid CloudEvent: data.reviewer: required"},
		{"reviewer not a string", "/v1/events", ceJSON, reviewed(`{"reviewer":{"name":"a"},"outcome":"approved","decision_id":"r1"}`),
			http.StatusBadRequest, "invalid CloudEvent: data.reviewer: want a string, got an object"},
		{"bad trace id", "/v1/events", ceJSON, reviewed(`{"reviewer":"a","outcome":"approved","trace_id":"xyz"}`),
			http.StatusBadRequest, `invalid CloudEvent: data.trace_id "xyz": want 32 hex digits`},
		{"data not an object", "/v1/events", ceJSON, reviewed(`"approved"`),
			http.StatusBadRequest, "invalid CloudEvent: data: want a JSON object, got a string"},
		{"wrong content type", "/v1/events", map[string]string{"Content-Type": "text/plain"}, []byte("hello"),
			http.StatusUnsupportedMediaType, `Content-Type "text/plain": want application/cloudevents+json, application/cloudevents-batch+json, or binary mode (ce-specversion and the other ce-* headers)`},
		{"other event format", "/v1/events", map[string]string{"Content-Type": "application/cloudevents+xml"}, []byte("<e/>"),
			http.StatusUnsupportedMediaType, `Content-Type "application/cloudevents+xml": unsupported event format; want application/cloudevents+json or application/cloudevents-batch+json`},
		{"binary without specversion", "/v1/events", map[string]string{"Content-Type": "application/json", "ce-id": "1"}, []byte("{}"),
			http.StatusBadRequest, "binary mode: header ce-specversion: missing"},
		{"binary bad percent-encoding", "/v1/events", map[string]string{"ce-specversion": "1.0", "ce-id": "%zz", "ce-source": "/s", "ce-type": "x"}, nil,
			http.StatusBadRequest, `invalid CloudEvent: header ce-id: bad percent-encoding: invalid URL escape "%zz"`},
		{"binary overlong UTF-8", "/v1/events", map[string]string{"ce-specversion": "1.0", "ce-id": "%C0%A0", "ce-source": "/s", "ce-type": "x"}, nil,
			http.StatusBadRequest, "invalid CloudEvent: header ce-id: percent-decoded value is not valid UTF-8"},
		{"binary malformed JSON data", "/v1/events", map[string]string{"Content-Type": "application/json", "ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "x"}, []byte("{"),
			http.StatusBadRequest, "invalid CloudEvent: data (application/json): malformed JSON: unexpected end of JSON input"},
		{"batch not an array", "/v1/events", map[string]string{"Content-Type": "application/cloudevents-batch+json"}, []byte(`{}`),
			http.StatusBadRequest, "malformed batch: want a JSON array of events"},
		{"mlflow wrong content type", "/v1/mlflow", map[string]string{"Content-Type": "text/plain"}, []byte("{}"),
			http.StatusUnsupportedMediaType, `Content-Type "text/plain": want application/json`},
		{"mlflow missing entity", "/v1/mlflow", map[string]string{"Content-Type": "application/json"}, []byte(`{"action":"created"}`),
			http.StatusBadRequest, "invalid MLflow webhook: entity: missing"},
		{"mlflow missing version", "/v1/mlflow", map[string]string{"Content-Type": "application/json"},
			[]byte(`{"entity":"model_version","action":"created","timestamp":"2026-01-01T00:00:00+00:00","data":{"name":"m"}}`),
			http.StatusBadRequest, "invalid MLflow webhook: data.version: required for model_version.created"},
		{"mlflow bad timestamp", "/v1/mlflow", map[string]string{"Content-Type": "application/json"},
			[]byte(`{"entity":"model_version","action":"created","timestamp":"1 Jan 2026","data":{"name":"m"}}`),
			http.StatusBadRequest, `invalid MLflow webhook: timestamp "1 Jan 2026": want ISO 8601 with a UTC offset`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			url := startReceiver(t, sink, time.Time{}, func(c *Config) { c.MaxRequestBodySize = 4096 })
			status, res, _ := post(t, url+tt.path, tt.headers, tt.body)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, tt.msg, res.Error)
			assert.Empty(t, sink.AllLogs())
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	url := startReceiver(t, consumertest.NewNop(), time.Time{}, nil)
	resp, err := http.Get(url + "/v1/events")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "POST", resp.Header.Get("Allow"))
}

func TestPipelineRefusal(t *testing.T) {
	body := fixture(t, "structured_reviewed.json")
	headers := map[string]string{"Content-Type": "application/cloudevents+json"}

	url := startReceiver(t, consumertest.NewErr(errors.New("data refused due to high memory usage")), time.Time{}, nil)
	status, res, hdr := post(t, url+"/v1/events", headers, body)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Equal(t, "5", hdr.Get("Retry-After"))
	assert.Equal(t, "pipeline refused the records: data refused due to high memory usage", res.Error)
	assert.Zero(t, res.Accepted)

	url = startReceiver(t, consumertest.NewErr(consumererror.NewPermanent(errors.New("bad record"))), time.Time{}, nil)
	status, _, hdr = post(t, url+"/v1/events", headers, body)
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.Empty(t, hdr.Get("Retry-After"))
}

func TestTruncatedAttributes(t *testing.T) {
	sink := new(consumertest.LogsSink)
	url := startReceiver(t, sink, time.Time{}, func(c *Config) { c.MaxAttributesBytes = 1024 })
	data := `{"actor":"bob","target":"collector.capture_policy","new_value":"` + strings.Repeat("x", 2000) + `"}`
	body := []byte(`{"specversion":"1.0","id":"big","source":"/s","type":"dev.govaudit.config.changed","data":` + data + `}`)

	status, res, _ := post(t, url+"/v1/events", map[string]string{"Content-Type": "application/cloudevents+json"}, body)
	require.Equal(t, http.StatusOK, status, res.Error)
	recs, _ := records(t, sink)
	require.Len(t, recs, 1)
	rec := recs[0]
	assert.Equal(t, []string{record.FlagTruncated, "truncated:attributes"}, rec.Flags)
	assert.Equal(t, "bob", rec.UserID)
	assert.Equal(t, "collector.capture_policy", rec.Reference)
	assert.LessOrEqual(t, len(rec.Attributes), 1024)

	canonical, err := record.CanonicalizeJSON(data)
	require.NoError(t, err)
	digest := attrs(t, rec)["data"].(map[string]any)
	assert.Equal(t, float64(len(canonical)), digest["size"])
	sum := sha256.Sum256([]byte(canonical))
	assert.Equal(t, hex.EncodeToString(sum[:]), digest["sha256"])
	assert.Equal(t, "big", attrs(t, rec)["cloudevents"].(map[string]any)["id"], "the envelope survives")
}
