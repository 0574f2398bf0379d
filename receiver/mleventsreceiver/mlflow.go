package mleventsreceiver // import "github.com/govaudit/govaudit/receiver/mleventsreceiver"

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/govaudit/govaudit/internal/record"
)

// MLflow model-registry webhooks (MLflow 3.x, mlflow/webhooks/delivery.py).
//
// A delivery is a POST with Content-Type application/json and the body
//
//	{"entity": "model_version", "action": "created",
//	 "timestamp": "<ISO 8601, UTC>", "data": {...}}
//
// where data depends on entity.action (mlflow/webhooks/types.py). When the
// webhook has a secret, MLflow adds
//
//	X-MLflow-Delivery-Id: <uuid4>
//	X-MLflow-Timestamp:   <Unix seconds>
//	X-MLflow-Signature:   v1,<base64(HMAC-SHA256(secret, "<delivery id>.<timestamp>.<body>"))>
//
// with the secret's UTF-8 bytes as the HMAC key and the body exactly as sent.
const (
	headerMLflowSignature  = "X-MLflow-Signature"
	headerMLflowDeliveryID = "X-MLflow-Delivery-Id"
	headerMLflowTimestamp  = "X-MLflow-Timestamp"
	mlflowSignatureVersion = "v1"
)

// An mlflowKind describes a known MLflow entity.action: the record type it
// becomes and the data members it requires besides "name".
type mlflowKind struct {
	recType  record.Type
	required []string
}

// mlflowKinds lists the events MLflow 3 sends. Model registry events are
// lifecycle records (an alias such as "champion" is how MLflow 3 promotes a
// version); prompt registry events change what a deployed application sends
// to its model, so they are config_change records.
var mlflowKinds = map[string]mlflowKind{
	"registered_model.created":    {record.TypeLifecycle, nil},
	"model_version.created":       {record.TypeLifecycle, []string{"version"}},
	"model_version_tag.set":       {record.TypeLifecycle, []string{"version", "key"}},
	"model_version_tag.deleted":   {record.TypeLifecycle, []string{"version", "key"}},
	"model_version_alias.created": {record.TypeLifecycle, []string{"alias", "version"}},
	"model_version_alias.deleted": {record.TypeLifecycle, []string{"alias"}},
	"prompt.created":              {record.TypeConfigChange, nil},
	"prompt_version.created":      {record.TypeConfigChange, []string{"version"}},
	"prompt_tag.set":              {record.TypeConfigChange, []string{"key"}},
	"prompt_tag.deleted":          {record.TypeConfigChange, []string{"key"}},
	"prompt_version_tag.set":      {record.TypeConfigChange, []string{"version", "key"}},
	"prompt_version_tag.deleted":  {record.TypeConfigChange, []string{"version", "key"}},
	"prompt_alias.created":        {record.TypeConfigChange, []string{"alias", "version"}},
	"prompt_alias.deleted":        {record.TypeConfigChange, []string{"alias"}},
}

// verifyMLflowSignature checks a signed delivery: the three headers are
// present (else 401), the timestamp is within tolerance of now (else 403) and
// one v1 signature of the header matches (else 403). The header may list
// several space-separated signatures, as in Standard Webhooks; signatures
// are compared in constant time.
func verifyMLflowSignature(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) *httpError {
	sigs, id, ts := h.Get(headerMLflowSignature), h.Get(headerMLflowDeliveryID), h.Get(headerMLflowTimestamp)
	for _, m := range []struct{ name, v string }{
		{headerMLflowSignature, sigs}, {headerMLflowDeliveryID, id}, {headerMLflowTimestamp, ts},
	} {
		if m.v == "" {
			return &httpError{status: http.StatusUnauthorized, msg: "header " + m.name + ": missing (a secret is configured, deliveries must be signed)"}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return &httpError{status: http.StatusUnauthorized, msg: fmt.Sprintf("header %s %q: want Unix seconds", headerMLflowTimestamp, ts)}
	}
	// Compare in seconds, against bounds that cannot overflow, whatever sec is.
	tol := int64(tolerance / time.Second)
	if sec < now.Unix()-tol || sec > now.Unix()+tol {
		return &httpError{status: http.StatusForbidden, msg: fmt.Sprintf("header %s %s: more than %s from the receiver's clock (stale or replayed delivery)", headerMLflowTimestamp, ts, tolerance)}
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != mlflowSignatureVersion {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return &httpError{status: http.StatusForbidden, msg: "header " + headerMLflowSignature + ": no v1 signature matches the body and the configured secret"}
}

// parseMLflow decodes an MLflow webhook body and maps it to a record.
// deliveryID (may be empty when deliveries are not signed) is kept in the
// attributes. Known entity.action pairs must carry their data members;
// unknown ones become lifecycle records flagged unknown_event_type.
func parseMLflow(body []byte, deliveryID string, now time.Time, maxAttrs int) (record.Record, error) {
	if !utf8.Valid(body) {
		return record.Record{}, errors.New("body is not valid UTF-8")
	}
	v, err := decodeJSON(body)
	if err != nil {
		return record.Record{}, fmt.Errorf("malformed JSON: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return record.Record{}, fmt.Errorf("payload: want a JSON object, got %s", jsonKind(v))
	}
	get := func(key string) (string, error) {
		s, ok := m[key].(string)
		if !ok || s == "" {
			if _, present := m[key]; !present {
				return "", fmt.Errorf("%s: missing", key)
			}
			return "", fmt.Errorf("%s: want a non-empty string, got %s", key, jsonKind(m[key]))
		}
		return s, nil
	}
	entity, err := get("entity")
	if err != nil {
		return record.Record{}, err
	}
	action, err := get("action")
	if err != nil {
		return record.Record{}, err
	}
	stamp, err := get("timestamp")
	if err != nil {
		return record.Record{}, err
	}
	ts, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		return record.Record{}, fmt.Errorf("timestamp %q: want ISO 8601 with a UTC offset", stamp)
	}
	data, ok := m["data"].(map[string]any)
	if !ok {
		return record.Record{}, fmt.Errorf("data: want a JSON object, got %s", jsonKind(m["data"]))
	}

	event := entity + "." + action
	rec := newRecord(record.TypeLifecycle, "mlflow."+event, now)
	if n, ok := record.TimeUnixNano(ts); ok {
		rec.StartTime = n
	} else { // years 1..1677 and 2262..9999 would wrap; the text stays in the attributes
		rec.AddFlag(record.FlagInvalidValue, "start_time")
	}
	k, known := mlflowKinds[event]
	fields := map[string]string{}
	for _, key := range []string{"name", "version", "alias", "key"} {
		switch v := data[key].(type) {
		case nil:
		case string:
			fields[key] = v
		case json.Number:
			fields[key] = v.String()
		default:
			return record.Record{}, fmt.Errorf("data.%s: want a string, got %s", key, jsonKind(v))
		}
		if len(fields[key]) > maxFieldLen {
			return record.Record{}, fmt.Errorf("data.%s: longer than %d bytes", key, maxFieldLen)
		}
	}
	if known {
		rec.Type = k.recType
		for _, key := range append([]string{"name"}, k.required...) {
			if fields[key] == "" {
				return record.Record{}, fmt.Errorf("data.%s: required for %s", key, event)
			}
		}
	} else {
		rec.Flags = append(rec.Flags, flagUnknownEventType)
	}

	name, version, alias := fields["name"], fields["version"], fields["alias"]
	scheme := "models:/"
	if strings.HasPrefix(entity, "prompt") {
		scheme = "prompts:/"
	} else if name != "" {
		rec.RequestModel = name
		rec.ModelVersion = version
		rec.ModelRegistryURI = scheme + name
		if version != "" {
			rec.ModelRegistryURI += "/" + version
		}
	}
	switch {
	case name == "":
	case alias != "":
		rec.Reference = scheme + name + "@" + alias
	case version != "":
		rec.Reference = scheme + name + "/" + version
	default:
		rec.Reference = scheme + name
	}

	envelope := map[string]any{"entity": entity, "action": action, "timestamp": stamp}
	if deliveryID != "" {
		envelope["delivery_id"] = deliveryID
	}
	if err := setAttributes(&rec, "mlflow", envelope, "data", data, maxAttrs); err != nil {
		return record.Record{}, err
	}
	rec.ApplyCaps()
	if err := rec.Validate(); err != nil {
		return record.Record{}, err
	}
	return rec, nil
}
