package mleventsreceiver // import "github.com/govaudit/govaudit/receiver/mleventsreceiver"

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/govaudit/govaudit/internal/record"
)

// TypePrefix is the CloudEvents type prefix of govaudit's event vocabulary:
// "dev.govaudit." followed by a name of eventKinds, e.g.
// "dev.govaudit.decision.reviewed".
const TypePrefix = "dev.govaudit."

// flagUnknownEventType marks a record made from an event whose type is not
// in govaudit's vocabulary (a foreign CloudEvents type, or an MLflow
// entity.action this receiver does not know). The record keeps the whole
// event in its attributes.
const flagUnknownEventType = "unknown_event_type"

// maxFieldLen bounds a data member copied into a record field: longer ones
// are refused (400). Within it, the record's cap of the field applies
// (record.ApplyCaps: cut and flagged truncated:<column>).
const maxFieldLen = 4096

// maxIdentifierLen bounds the CloudEvents attributes that identify an event
// (id, source, type): a longer one is refused (400) rather than cut, since a
// cut identifier would name another event. It is the record's cap of
// event_name, which holds a foreign type.
const maxIdentifierLen = 1024

// maxEnvelopeValue caps each string attribute of the event envelope kept in
// a record's attributes (subject, extensions): longer ones are cut and the
// record flagged truncated:attributes, so that one huge attribute does not
// push the whole envelope out of max_attributes_bytes.
const maxEnvelopeValue = 4096

// An eventKind describes one event of govaudit's vocabulary: the record type
// it becomes and the data members it requires. docs/ml-events.md documents
// the same table for senders.
type eventKind struct {
	recType record.Type
	// user is the data member holding the person or service responsible.
	user string
	// required lists the data members that must be non-empty.
	required []string
	// reference lists the data members naming what the event is about; the
	// first non-empty one becomes the record's reference. If refRequired,
	// one of them must be present.
	reference   []string
	refRequired bool
}

var eventKinds = map[string]eventKind{
	"model.registered":    {recType: record.TypeLifecycle, user: "actor", required: []string{"model", "model_version"}, reference: []string{"registry_uri"}},
	"model.promoted":      {recType: record.TypeLifecycle, user: "actor", required: []string{"model", "model_version", "stage"}, reference: []string{"registry_uri"}},
	"model.deployed":      {recType: record.TypeLifecycle, user: "actor", required: []string{"model", "model_version", "environment"}, reference: []string{"registry_uri"}},
	"model.retired":       {recType: record.TypeLifecycle, user: "actor", required: []string{"model"}, reference: []string{"registry_uri"}},
	"decision.reviewed":   {recType: record.TypeOversight, user: "reviewer", required: []string{"reviewer", "outcome"}, reference: []string{"decision_id", "trace_id"}, refRequired: true},
	"decision.overridden": {recType: record.TypeOversight, user: "reviewer", required: []string{"reviewer", "outcome"}, reference: []string{"decision_id", "trace_id"}, refRequired: true},
	"config.changed":      {recType: record.TypeConfigChange, user: "actor", required: []string{"actor", "target"}, reference: []string{"target"}},
	"policy.changed":      {recType: record.TypeConfigChange, user: "actor", required: []string{"actor", "policy"}, reference: []string{"policy"}},
	"dataset.versioned":   {recType: record.TypeLifecycle, user: "actor", required: []string{"dataset", "dataset_version"}, reference: []string{"dataset_uri", "dataset"}},
}

// knownTypes lists the CloudEvents types of eventKinds, sorted, for messages.
var knownTypes = func() []string {
	var out []string
	for name := range eventKinds {
		out = append(out, TypePrefix+name)
	}
	slices.Sort(out)
	return out
}()

// dataFields maps the data members every govaudit event may carry to record
// fields. The user member (actor or reviewer) and the reference are set per
// kind; every member, mapped or not, also stays in the record's attributes.
var dataFields = []struct {
	key string
	set func(r *record.Record, v string)
}{
	{"model", func(r *record.Record, v string) { r.RequestModel = v }},
	{"model_version", func(r *record.Record, v string) { r.ModelVersion = v }},
	{"registry_uri", func(r *record.Record, v string) { r.ModelRegistryURI = v }},
	{"environment", func(r *record.Record, v string) { r.DeploymentEnvironment = v }},
	{"trace_id", func(r *record.Record, v string) { r.TraceID = v }},
	{"span_id", func(r *record.Record, v string) { r.SpanID = v }},
	{"dataset", func(r *record.Record, v string) { r.DataSourceID = v }},
	{"dataset_version", func(r *record.Record, v string) { r.DatasetVersion = v }},
}

// newRecord starts a record with the fields every mlevents record has.
func newRecord(typ record.Type, eventName string, now time.Time) record.Record {
	return record.Record{
		SchemaVersion:    record.SchemaVersion,
		ID:               record.NewID(),
		Type:             typ,
		EventName:        eventName,
		ObservedTime:     now.UnixNano(),
		SourceConvention: record.SourceMLEvents,
	}
}

// applyKind fills rec from the data object of a govaudit event of kind k.
func applyKind(rec *record.Record, k eventKind, data any) error {
	m, ok := data.(map[string]any)
	if !ok {
		return fmt.Errorf("data: want a JSON object, got %s", jsonKind(data))
	}
	str := func(key string) (string, error) {
		v, ok := m[key]
		if !ok || v == nil {
			return "", nil
		}
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case json.Number:
			s = v.String()
		default:
			return "", fmt.Errorf("data.%s: want a string, got %s", key, jsonKind(v))
		}
		if len(s) > maxFieldLen {
			return "", fmt.Errorf("data.%s: longer than %d bytes", key, maxFieldLen)
		}
		return s, nil
	}
	for _, key := range k.required {
		s, err := str(key)
		if err != nil {
			return err
		}
		if s == "" {
			return fmt.Errorf("data.%s: required", key)
		}
	}
	for _, f := range dataFields {
		s, err := str(f.key)
		if err != nil {
			return err
		}
		if f.key == "trace_id" || f.key == "span_id" {
			if s, err = hexID(f.key, s); err != nil {
				return err
			}
		}
		if s != "" {
			f.set(rec, s)
		}
	}
	user, err := str(k.user)
	if err != nil {
		return err
	}
	rec.UserID = user
	for _, key := range k.reference {
		s, err := str(key)
		if err != nil {
			return err
		}
		if key == "trace_id" {
			s = rec.TraceID // normalised by hexID above
		}
		if s != "" {
			rec.Reference = s
			break
		}
	}
	if k.refRequired && rec.Reference == "" {
		return fmt.Errorf("data: one of %s is required", strings.Join(k.reference, ", "))
	}
	return nil
}

// hexID lower-cases a trace or span id and checks its length and digits
// (32 hex digits for a trace id, 16 for a span id).
func hexID(key, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	n := 32
	if key == "span_id" {
		n = 16
	}
	s = strings.ToLower(s)
	if _, err := hex.DecodeString(s); err != nil || len(s) != n {
		return "", fmt.Errorf("data.%s %q: want %d hex digits", key, s, n)
	}
	return s, nil
}

// setAttributes stores envelope (under envKey) and, unless dataKey is empty,
// data (under dataKey) as the canonical JSON attributes of rec. When the
// result exceeds maxLen bytes, data is replaced by
// {"sha256": <hex SHA-256 of its canonical JSON>, "size": <bytes>}, and if
// that is still too large the whole attributes object becomes
// {"truncated": {"sha256": ..., "size": ...}}; either way rec is flagged
// truncated. An auditor holding the
// original payload can recompute the digest with record.CanonicalizeJSON.
func setAttributes(rec *record.Record, envKey string, envelope map[string]any, dataKey string, data any, maxLen int) error {
	attrs := map[string]any{envKey: envelope}
	if dataKey != "" {
		attrs[dataKey] = data
	}
	s, err := record.CanonicalJSON(attrs)
	if err != nil {
		return fmt.Errorf("attributes: %w", err)
	}
	if len(s) > maxLen && dataKey != "" {
		ds, err := record.CanonicalJSON(data)
		if err != nil {
			return fmt.Errorf("data: %w", err)
		}
		attrs[dataKey] = digestOf(ds)
		if s, err = record.CanonicalJSON(attrs); err != nil {
			return fmt.Errorf("attributes: %w", err)
		}
		rec.AddFlag(record.FlagTruncated, "attributes")
	}
	if len(s) > maxLen {
		if s, err = record.CanonicalJSON(map[string]any{"truncated": digestOf(s)}); err != nil {
			return fmt.Errorf("attributes: %w", err)
		}
		rec.AddFlag(record.FlagTruncated, "attributes")
	}
	rec.Attributes = s
	return nil
}

func digestOf(s string) map[string]any {
	sum := sha256.Sum256([]byte(s))
	return map[string]any{"sha256": hex.EncodeToString(sum[:]), "size": len(s)}
}

// jsonKind names the JSON type of a value decoded with UseNumber.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}
