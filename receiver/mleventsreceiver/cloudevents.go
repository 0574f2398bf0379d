package mleventsreceiver // import "github.com/govaudit/govaudit/receiver/mleventsreceiver"

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/govaudit/govaudit/internal/record"
)

// CloudEvents 1.0 over HTTP, as specified by
// https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md
// and the JSON event format
// https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/formats/json-format.md.
//
// The content mode follows from the request's media type:
//
//	application/cloudevents+json        structured: one event, attributes and data in the body
//	application/cloudevents-batch+json  batched: a JSON array of structured events
//	anything else, with ce-specversion  binary: attributes in ce-* headers, data in the body
const (
	mediaStructured = "application/cloudevents+json"
	mediaBatch      = "application/cloudevents-batch+json"
	specVersion     = "1.0"
	headerPrefix    = "ce-"
)

// contentMode is the CloudEvents HTTP content mode of a request.
type contentMode int

const (
	modeStructured contentMode = iota + 1
	modeBatch
	modeBinary
)

// A cloudEvent is a decoded CloudEvent. attrs holds the context attributes
// and extensions as received: strings, plus json.Number and bool for
// structured-mode extensions. data is the decoded data (a JSON value with
// json.Number numbers, or text); dataBase64 holds data that is neither.
type cloudEvent struct {
	attrs      map[string]any
	data       any
	dataBase64 string
	hasData    bool
}

func (e *cloudEvent) str(name string) string {
	s, _ := e.attrs[name].(string)
	return s
}

// detectMode picks the content mode from the Content-Type header and the
// presence of ce-specversion. It returns the media type of the body and a
// 415 error for event formats other than JSON or a request in no mode.
func detectMode(h http.Header) (contentMode, string, *httpError) {
	ct := h.Get("Content-Type")
	media := ""
	if ct != "" {
		m, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return 0, "", &httpError{status: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("Content-Type %q: %v", ct, err)}
		}
		media = m
	}
	switch {
	case media == mediaStructured:
		return modeStructured, media, nil
	case media == mediaBatch:
		return modeBatch, media, nil
	case strings.HasPrefix(media, "application/cloudevents"):
		return 0, "", &httpError{status: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("Content-Type %q: unsupported event format; want %s or %s", ct, mediaStructured, mediaBatch)}
	case h.Get(headerPrefix+"specversion") != "":
		return modeBinary, media, nil
	}
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), headerPrefix) {
			return 0, "", &httpError{status: http.StatusBadRequest, msg: "binary mode: header ce-specversion: missing"}
		}
	}
	return 0, "", &httpError{status: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("Content-Type %q: want %s, %s, or binary mode (ce-specversion and the other ce-* headers)", ct, mediaStructured, mediaBatch)}
}

// parseStructured decodes a structured-mode body: one JSON object.
func parseStructured(body []byte) (*cloudEvent, error) {
	if !utf8.Valid(body) {
		return nil, errors.New("body is not valid UTF-8")
	}
	return parseEventJSON(body)
}

// errTooManyEvents refuses a batch longer than max_events_per_request (413).
type errTooManyEvents int

func (e errTooManyEvents) Error() string {
	return fmt.Sprintf("batch has more than %d events (max_events_per_request): split it", int(e))
}

// parseBatch decodes a batched-mode body, a JSON array of events, from the
// request stream one event at a time, and calls each with the index of the
// event, the event (nil if it could not be decoded at all) and why it is
// invalid (nil if it parsed). Neither the body nor the decoded batch is ever
// held whole: callers keep only what they make of each event, so a batch
// takes little more memory than the records made of it
// (BenchmarkLargeBatchMemory). parseBatch fails as a whole when the array
// itself is malformed (or the body exceeds max_request_body_size: an
// *http.MaxBytesError), and with errTooManyEvents as soon as it meets event
// number maxEvents+1, without decoding it.
func parseBatch(body io.Reader, maxEvents int, each func(i int, e *cloudEvent, err error)) error {
	dec := json.NewDecoder(body)
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('[') {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return err
		}
		return errors.New("malformed batch: want a JSON array of events")
	}
	for i := 0; dec.More(); i++ {
		if i >= maxEvents {
			return errTooManyEvents(maxEvents)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return malformedBatch(err)
		}
		if !utf8.Valid(raw) {
			each(i, nil, errors.New("event is not valid UTF-8"))
			continue
		}
		e, err := parseEventJSON(raw)
		each(i, e, err)
	}
	if _, err := dec.Token(); err != nil { // ']'
		return malformedBatch(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("trailing data after the array")
		}
		return malformedBatch(err)
	}
	return nil
}

// malformedBatch wraps a decoding error of a batch, passing the body-size
// error through.
func malformedBatch(err error) error {
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return err
	}
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = errors.New("unexpected end of JSON input")
	}
	return fmt.Errorf("malformed JSON: %w", err)
}

// parseEventJSON decodes one event in the JSON event format and checks its
// context attributes. When only the check fails, it returns the event too.
func parseEventJSON(b []byte) (*cloudEvent, error) {
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("malformed event: want a JSON object")
	}
	d, err := newStrictDecoder(b)
	if err != nil {
		return nil, fmt.Errorf("malformed JSON: %v", err)
	}
	v, err := d.value()
	if err != nil {
		return nil, fmt.Errorf("malformed JSON: %v", err)
	}
	e, err := eventFromValue(v)
	if d.dup != nil {
		return e, d.dup // e names the event id, if it has one, for the reply
	}
	return e, err
}

// eventFromValue reads a decoded event in the JSON event format and checks
// its context attributes. When only the check fails, it returns the event
// too.
func eventFromValue(v any) (*cloudEvent, error) {
	members, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("malformed event: want a JSON object")
	}
	e := &cloudEvent{attrs: map[string]any{}}
	var b64 *string
	for name, v := range members {
		switch name {
		case "data":
			e.data, e.hasData = v, true
			continue
		case "data_base64":
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("data_base64: want a string, got %s", jsonKind(v))
			}
			b64 = &s
			continue
		}
		if err := checkAttrName(name); err != nil {
			return nil, err
		}
		switch v := v.(type) {
		case nil: // a null attribute is an absent one (JSON format, section 2.2)
		case string, json.Number, bool:
			e.attrs[name] = v
		default:
			return nil, fmt.Errorf("attribute %s: want a string, number or boolean, got %s", name, jsonKind(v))
		}
	}
	if err := checkContext(e.attrs, "attribute "); err != nil {
		return e, err // e names the event id, if it has one, for the reply
	}
	if b64 != nil {
		if e.hasData {
			return nil, errors.New("data and data_base64: both present, want at most one")
		}
		raw, err := base64.StdEncoding.DecodeString(*b64)
		if err != nil {
			return nil, fmt.Errorf("data_base64: %v", err)
		}
		if err := e.setBytes(raw, e.str("datacontenttype"), false); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// parseBinary decodes a binary-mode request: context attributes from the
// ce-* headers (percent-decoded, section 3.1.3.2), datacontenttype from
// Content-Type and data from the body.
func parseBinary(h http.Header, body []byte) (*cloudEvent, error) {
	e := &cloudEvent{attrs: map[string]any{}}
	for k, vs := range h {
		lk := strings.ToLower(k)
		name, ok := strings.CutPrefix(lk, headerPrefix)
		if !ok {
			continue
		}
		if err := checkAttrName(name); err != nil {
			return nil, fmt.Errorf("header %s: %w", lk, err)
		}
		if name == "datacontenttype" {
			return nil, errors.New("header ce-datacontenttype: not allowed in binary mode, use Content-Type")
		}
		if len(vs) != 1 {
			return nil, fmt.Errorf("header %s: repeated %d times, want once", lk, len(vs))
		}
		v, err := decodeHeaderValue(vs[0])
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", lk, err)
		}
		e.attrs[name] = v
	}
	ct := h.Get("Content-Type")
	if ct != "" {
		e.attrs["datacontenttype"] = ct
	}
	if err := checkContext(e.attrs, "header ce-"); err != nil {
		return nil, err
	}
	if len(body) > 0 {
		if err := e.setBytes(body, ct, ct == ""); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// setBytes sets the event data from raw bytes of media type ct: a JSON value
// for JSON media types (it must parse), text for text/* (if UTF-8), and
// base64 otherwise. With guess, bytes of no declared type are kept as JSON
// if they parse as JSON.
func (e *cloudEvent) setBytes(raw []byte, ct string, guess bool) error {
	e.hasData = true
	media := ""
	if ct != "" {
		media, _, _ = mime.ParseMediaType(ct)
	}
	switch {
	case isJSONMedia(media):
		if !utf8.Valid(raw) {
			return fmt.Errorf("data (%s): not valid UTF-8", ct)
		}
		v, err := decodeJSON(raw)
		if err != nil {
			return fmt.Errorf("data (%s): malformed JSON: %v", ct, err)
		}
		e.data = v
		return nil
	case guess && utf8.Valid(raw):
		if v, err := decodeJSON(raw); err == nil {
			e.data = v
			return nil
		}
	case strings.HasPrefix(media, "text/") && utf8.Valid(raw):
		e.data = string(raw)
		return nil
	}
	e.dataBase64 = base64.StdEncoding.EncodeToString(raw)
	return nil
}

// isJSONMedia reports whether a media type carries JSON: application/json,
// text/json or any +json suffix (JSON format, section 3.1).
func isJSONMedia(media string) bool {
	return media == "application/json" || media == "text/json" || strings.HasSuffix(media, "+json")
}

// checkAttrName checks a context attribute name: lower-case ASCII letters
// and digits (CloudEvents 1.0, section "Attribute Naming Convention").
func checkAttrName(name string) error {
	if name == "" {
		return errors.New("empty attribute name")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return fmt.Errorf("attribute name %q: want lower-case letters and digits only", name)
		}
	}
	return nil
}

// checkContext checks the required context attributes (specversion, id,
// source, type) and the optional ones with a defined form. label prefixes
// each attribute name in messages ("attribute " or "header ce-"). All
// problems are reported, in a fixed order.
func checkContext(attrs map[string]any, label string) error {
	var errs []string
	nonEmpty := func(name string, required bool) {
		v, ok := attrs[name]
		if !ok {
			if required {
				errs = append(errs, label+name+": missing")
			}
			return
		}
		if s, ok := v.(string); !ok || s == "" {
			errs = append(errs, label+name+": want a non-empty string")
		}
	}
	switch v, ok := attrs["specversion"]; {
	case !ok:
		errs = append(errs, label+"specversion: missing")
	case v != specVersion:
		errs = append(errs, fmt.Sprintf("%sspecversion %v: want %q", label, quoteAny(v), specVersion))
	}
	nonEmpty("id", true)
	nonEmpty("source", true)
	nonEmpty("type", true)
	for _, name := range []string{"id", "source", "type"} {
		if s, ok := attrs[name].(string); ok && len(s) > maxIdentifierLen {
			errs = append(errs, fmt.Sprintf("%s%s: %d bytes, want at most %d", label, name, len(s), maxIdentifierLen))
		}
	}
	nonEmpty("subject", false)
	nonEmpty("datacontenttype", false)
	nonEmpty("dataschema", false)
	if s, ok := attrs["source"].(string); ok && s != "" {
		if _, err := url.Parse(s); err != nil {
			errs = append(errs, fmt.Sprintf("%ssource %q: not a URI-reference", label, s))
		}
	}
	if v, ok := attrs["time"]; ok {
		s, _ := v.(string)
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			errs = append(errs, fmt.Sprintf("%stime %v: want an RFC 3339 timestamp", label, quoteAny(v)))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func quoteAny(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

// decodeHeaderValue undoes the binary-mode header encoding: first an
// RFC 7230 quoted-string, if the value is one, then one round of
// percent-decoding; the result must be UTF-8 (overlong forms are rejected).
func decodeHeaderValue(v string) (string, error) {
	v = strings.Trim(v, " \t")
	if strings.HasPrefix(v, `"`) {
		if len(v) < 2 || !strings.HasSuffix(v, `"`) {
			return "", errors.New("unterminated quoted string")
		}
		var b strings.Builder
		in := v[1 : len(v)-1]
		for i := 0; i < len(in); i++ {
			c := in[i]
			if c == '\\' {
				if i+1 == len(in) {
					return "", errors.New("dangling backslash in quoted string")
				}
				i++
				c = in[i]
			} else if c == '"' {
				return "", errors.New("unescaped quote in quoted string")
			}
			b.WriteByte(c)
		}
		v = b.String()
	}
	s, err := url.PathUnescape(v)
	if err != nil {
		return "", fmt.Errorf("bad percent-encoding: %v", err)
	}
	if !utf8.ValidString(s) {
		return "", errors.New("percent-decoded value is not valid UTF-8")
	}
	return s, nil
}

// toRecord maps a checked CloudEvent to a governance record. Events of
// govaudit's vocabulary (TypePrefix) must name a known kind and carry its
// required data; other types become lifecycle records flagged
// unknown_event_type, so that nothing is lost.
func (e *cloudEvent) toRecord(now time.Time, maxAttrs int) (record.Record, error) {
	typ := e.str("type")
	var rec record.Record
	if name, ours := strings.CutPrefix(typ, TypePrefix); ours {
		k, ok := eventKinds[name]
		if !ok {
			return record.Record{}, fmt.Errorf("type %q: not a govaudit event type (known: %s)", typ, strings.Join(knownTypes, ", "))
		}
		rec = newRecord(k.recType, name, now)
		if !e.hasData {
			return record.Record{}, fmt.Errorf("data: required for %s", typ)
		}
		if e.dataBase64 != "" {
			return record.Record{}, fmt.Errorf("data: want a JSON object for %s, got %s bytes", typ, e.str("datacontenttype"))
		}
		if err := applyKind(&rec, k, e.data); err != nil {
			return record.Record{}, err
		}
	} else {
		rec = newRecord(record.TypeLifecycle, typ, now)
		rec.Flags = append(rec.Flags, flagUnknownEventType)
	}
	if rec.Reference == "" {
		rec.Reference = e.str("subject") // capped by ApplyCaps below
	}
	if t := e.str("time"); t != "" {
		ts, _ := time.Parse(time.RFC3339Nano, t) // checked by checkContext
		if n, ok := record.TimeUnixNano(ts); ok {
			rec.StartTime = n
		} else { // years 1..1677 and 2262..9999 would wrap; the text stays in the attributes
			rec.AddFlag(record.FlagInvalidValue, "start_time")
		}
	}
	envelope := make(map[string]any, len(e.attrs)+1)
	for k, v := range e.attrs {
		if s, ok := v.(string); ok {
			if t, cut := record.Truncate(s, maxEnvelopeValue); cut {
				v = t
				rec.AddFlag(record.FlagTruncated, "attributes")
			}
		}
		envelope[k] = v
	}
	dataKey, data := "", any(nil)
	switch {
	case e.dataBase64 != "":
		dataKey, data = "data_base64", e.dataBase64
	case e.hasData:
		dataKey, data = "data", e.data
	}
	if err := setAttributes(&rec, "cloudevents", envelope, dataKey, data, maxAttrs); err != nil {
		return record.Record{}, err
	}
	rec.ApplyCaps()
	if err := rec.Validate(); err != nil {
		return record.Record{}, err
	}
	return rec, nil
}
