// Package record defines the govaudit governance record, schema v1: its fields,
// its canonical byte encoding and leaf hash, and its lossless mappings to an
// OpenTelemetry log record (pdata) and to a Parquet row. Every other govaudit
// package goes through this one; none re-derives the format.
//
// # Fields
//
// The Record struct is the schema. Each field carries these tags:
//
//	parquet:"name[,opts]"  the Parquet column (and the JSON key and the
//	                       pdata attribute "govaudit.<name>")
//	canon:"N"              the field number in the canonical encoding, 1..255,
//	                       unique, never reused; "-" for derived fields
//	json:"name,omitempty"  the JSON form used by reports and proofs
//	max:"N" or max:"N,C"   string fields: the cap N in bytes; lists: N bytes
//	                       per element and at most C elements (see ApplyCaps)
//
// The tags are the one source of truth: go generate (internal/fieldgen)
// turns them into fields_gen.go, straight-line code per field for the
// encoding, the pdata mapping, the caps and Validate. Change a tag or add a
// field, then run go generate; the tests fail until then.
//
// # Canonical encoding (schema v1)
//
// The canonical encoding of a record is
//
//	"govaudit-record/v1\n" || field*
//
// where field is emitted for every field whose value is not the zero value
// (empty string, 0, nil pointer, empty list), in ascending field number:
//
//	field     = number(1 byte) || value
//	string    = uvarint(len(bytes)) || bytes            (bytes as stored, no normalisation)
//	int64     = 8 bytes, big-endian two's complement
//	uint64    = 8 bytes, big-endian
//	*int64    = as int64; present whenever the pointer is non-nil, even for 0
//	*float64  = 8 bytes, big-endian IEEE 754 bits; present whenever non-nil
//	[]string  = uvarint(count) || string*                (count > 0)
//
// uvarint is the unsigned LEB128 varint of encoding/binary (protobuf's). The
// leaf hash is the RFC 6962 leaf hash of the encoding,
// SHA-256(0x00 || encoding) (RFC 6962 section 2.1). LeafHash itself is not
// encoded. The fields Origin, Epoch and LeafIndex are encoded, so a record is
// bound to its position in its log: moving a row changes its hash.
//
// # Caps
//
// Every string field has a cap in bytes, its max tag: 256 for ids, digests
// and short codes, 1 KiB for names (models, users, services, span names),
// 4 KiB for URIs, references and predictions, 64 KiB for parameters and
// checkpoint notes, and 16 MiB for content and attributes, whose producers
// apply smaller configured caps of their own. Producers call ApplyCaps on
// every record they build: a longer value is cut at a UTF-8 boundary and the
// record flagged "truncated" and "truncated:<column>". Values that cannot be
// represented at all (a timestamp beyond int64 nanoseconds, a negative token
// count) are left unset and flagged "invalid_value" and
// "invalid_value:<column>" (see UnixNano, TimeUnixNano). Caps are not part
// of the encoding: a record over its caps still encodes and hashes.
//
// # Batches
//
// Records travel between collector components as plog.Logs batches, one
// log record per governance record (ToLogRecord). A component decodes a
// batch once with DecodeLogs, which reads and validates each record and
// gives the position and reason of each log record that is not a valid
// record; it builds one with NewLogs or AppendLogRecords. A sealed record
// carries its leaf hash (the leaf_hash attribute), so components after
// auditsign do not recompute it.
//
// testdata/vectors.json holds worked examples: a record, its encoding in hex
// and its leaf hash. A third-party verifier that reproduces them reproduces
// the format.
package record

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// SchemaVersion is the version of the record schema and canonical encoding
// defined by this package.
const SchemaVersion = 1

// Type is the kind of event a record documents.
type Type string

// Record types. Checkpoint records carry a signed checkpoint and are not
// leaves of the Merkle tree; every other type is a leaf.
const (
	TypeInference    Type = "inference"     // a model call: chat, completion, classic prediction
	TypeEmbedding    Type = "embedding"     // an embeddings call
	TypeRetrieval    Type = "retrieval"     // a retrieval / vector store query
	TypeToolCall     Type = "tool_call"     // a tool executed for a model
	TypeAgent        Type = "agent"         // agent creation or invocation
	TypeWorkflow     Type = "workflow"      // a workflow / chain invocation
	TypeEvaluation   Type = "evaluation"    // an evaluation result
	TypeGuardrail    Type = "guardrail"     // a guardrail / moderation decision
	TypeContent      Type = "content"       // a GenAI content event (message, choice)
	TypeLifecycle    Type = "lifecycle"     // model registered, promoted, deployed, retired; epoch start
	TypeOversight    Type = "oversight"     // human review or override
	TypeConfigChange Type = "config_change" // configuration or policy change
	TypeDrift        Type = "drift"         // a drift statistic of a model version crossed its threshold
	TypeCheckpoint   Type = "checkpoint"    // a signed checkpoint of the log (not a leaf)
)

var types = []Type{
	TypeInference, TypeEmbedding, TypeRetrieval, TypeToolCall, TypeAgent,
	TypeWorkflow, TypeEvaluation, TypeGuardrail, TypeContent, TypeLifecycle,
	TypeOversight, TypeConfigChange, TypeDrift, TypeCheckpoint,
}

// Types returns every record type, in schema order.
func Types() []Type { return append([]Type(nil), types...) }

// Valid reports whether t is one of the defined types.
func (t Type) Valid() bool {
	for _, v := range types {
		if t == v {
			return true
		}
	}
	return false
}

// UnmarshalText parses a record type, rejecting unknown values.
func (t *Type) UnmarshalText(b []byte) error {
	v := Type(b)
	if !v.Valid() {
		return fmt.Errorf("unknown record type %q (want one of %v)", b, types)
	}
	*t = v
	return nil
}

// Source conventions: which instrumentation convention a record was normalised from.
const (
	SourceOTelGenAI     = "otel_genai"
	SourceOpenInference = "openinference"
	SourceOpenLLMetry   = "openllmetry"
	SourceClassicML     = "govaudit_ml"
	SourceVercelAI      = "vercel_ai"
	SourceMLEvents      = "mlevents"
	SourceGovaudit      = "govaudit"
)

// Record is one governance record. It is also the Parquet row of the archive:
// the parquet tags below are the archive schema. See the package doc for the
// tags and the canonical encoding.
type Record struct {
	SchemaVersion uint32 `parquet:"schema_version" canon:"1" json:"schema_version"`
	ID            string `parquet:"record_id" canon:"2" json:"record_id" max:"256"`
	Type          Type   `parquet:"record_type,dict" canon:"3" json:"record_type" max:"256"`
	EventName     string `parquet:"event_name,dict" canon:"4" json:"event_name,omitempty" max:"1024"`

	StartTime    int64 `parquet:"start_time,timestamp(nanosecond)" canon:"5" json:"start_time,omitempty"`
	EndTime      int64 `parquet:"end_time,timestamp(nanosecond)" canon:"6" json:"end_time,omitempty"`
	ObservedTime int64 `parquet:"observed_time,timestamp(nanosecond)" canon:"7" json:"observed_time,omitempty"`

	// Filled by the auditsign processor.
	Origin    string `parquet:"origin,dict" canon:"8" json:"origin,omitempty" max:"256"`
	Epoch     uint64 `parquet:"epoch" canon:"9" json:"epoch,omitempty"`
	LeafIndex uint64 `parquet:"leaf_index" canon:"10" json:"leaf_index"`
	LeafHash  []byte `parquet:"leaf_hash" canon:"-" json:"leaf_hash,omitempty"`

	TraceID      string `parquet:"trace_id" canon:"11" json:"trace_id,omitempty" max:"256"`
	SpanID       string `parquet:"span_id" canon:"12" json:"span_id,omitempty" max:"256"`
	ParentSpanID string `parquet:"parent_span_id" canon:"13" json:"parent_span_id,omitempty" max:"256"`

	ServiceName           string `parquet:"service_name,dict" canon:"14" json:"service_name,omitempty" max:"1024"`
	ServiceVersion        string `parquet:"service_version,dict" canon:"15" json:"service_version,omitempty" max:"1024"`
	DeploymentEnvironment string `parquet:"deployment_environment,dict" canon:"16" json:"deployment_environment,omitempty" max:"1024"`

	Operation        string `parquet:"operation,dict" canon:"17" json:"operation,omitempty" max:"256"`
	Provider         string `parquet:"provider,dict" canon:"18" json:"provider,omitempty" max:"256"`
	RequestModel     string `parquet:"request_model,dict" canon:"19" json:"request_model,omitempty" max:"1024"`
	ResponseModel    string `parquet:"response_model,dict" canon:"20" json:"response_model,omitempty" max:"1024"`
	ModelVersion     string `parquet:"model_version,dict" canon:"21" json:"model_version,omitempty" max:"1024"`
	ModelRegistryURI string `parquet:"model_registry_uri,dict" canon:"22" json:"model_registry_uri,omitempty" max:"4096"`

	AgentID        string `parquet:"agent_id,dict" canon:"23" json:"agent_id,omitempty" max:"1024"`
	AgentName      string `parquet:"agent_name,dict" canon:"24" json:"agent_name,omitempty" max:"1024"`
	ToolName       string `parquet:"tool_name,dict" canon:"25" json:"tool_name,omitempty" max:"1024"`
	ToolCallID     string `parquet:"tool_call_id" canon:"26" json:"tool_call_id,omitempty" max:"1024"`
	ConversationID string `parquet:"conversation_id" canon:"27" json:"conversation_id,omitempty" max:"1024"`
	SessionID      string `parquet:"session_id" canon:"28" json:"session_id,omitempty" max:"1024"`
	UserID         string `parquet:"user_id" canon:"29" json:"user_id,omitempty" max:"1024"`
	TenantID       string `parquet:"tenant_id,dict" canon:"30" json:"tenant_id,omitempty" max:"1024"`
	DataSourceID   string `parquet:"data_source_id,dict" canon:"31" json:"data_source_id,omitempty" max:"1024"`

	// Parameters holds the invocation parameters (temperature, max_tokens, ...)
	// as canonical JSON (see CanonicalJSON).
	Parameters    string   `parquet:"parameters" canon:"32" json:"parameters,omitempty" max:"65536"`
	InputTokens   *int64   `parquet:"input_tokens,optional" canon:"33" json:"input_tokens,omitempty"`
	OutputTokens  *int64   `parquet:"output_tokens,optional" canon:"34" json:"output_tokens,omitempty"`
	FinishReasons []string `parquet:"finish_reasons,list" canon:"35" json:"finish_reasons,omitempty" max:"256,64"`
	StatusCode    string   `parquet:"status_code,dict" canon:"36" json:"status_code,omitempty" max:"256"`
	ErrorType     string   `parquet:"error_type,dict" canon:"37" json:"error_type,omitempty" max:"1024"`

	// Content fields hold what the capture policy kept (raw or redacted text,
	// possibly truncated); the *Digest fields hold "hmac-sha256:<hex>" of the
	// original content under the key named by DigestKeyID.
	Input                    string `parquet:"input" canon:"38" json:"input,omitempty" max:"16777216"`
	InputDigest              string `parquet:"input_digest" canon:"39" json:"input_digest,omitempty" max:"256"`
	Output                   string `parquet:"output" canon:"40" json:"output,omitempty" max:"16777216"`
	OutputDigest             string `parquet:"output_digest" canon:"41" json:"output_digest,omitempty" max:"256"`
	SystemInstructions       string `parquet:"system_instructions" canon:"42" json:"system_instructions,omitempty" max:"16777216"`
	SystemInstructionsDigest string `parquet:"system_instructions_digest" canon:"43" json:"system_instructions_digest,omitempty" max:"256"`
	ToolArguments            string `parquet:"tool_arguments" canon:"44" json:"tool_arguments,omitempty" max:"16777216"`
	ToolArgumentsDigest      string `parquet:"tool_arguments_digest" canon:"45" json:"tool_arguments_digest,omitempty" max:"256"`
	ToolResult               string `parquet:"tool_result" canon:"46" json:"tool_result,omitempty" max:"16777216"`
	ToolResultDigest         string `parquet:"tool_result_digest" canon:"47" json:"tool_result_digest,omitempty" max:"256"`
	RetrievalDocuments       string `parquet:"retrieval_documents" canon:"48" json:"retrieval_documents,omitempty" max:"16777216"`
	RetrievalDocumentsDigest string `parquet:"retrieval_documents_digest" canon:"49" json:"retrieval_documents_digest,omitempty" max:"256"`
	DigestKeyID              string `parquet:"digest_key_id,dict" canon:"50" json:"digest_key_id,omitempty" max:"256"`

	// Classic ML decisions (govaudit's own ml.* convention).
	Prediction       string   `parquet:"prediction" canon:"51" json:"prediction,omitempty" max:"4096"`
	Score            *float64 `parquet:"score,optional" canon:"52" json:"score,omitempty"`
	FeatureSetDigest string   `parquet:"feature_set_digest" canon:"53" json:"feature_set_digest,omitempty" max:"1024"`
	DatasetVersion   string   `parquet:"dataset_version,dict" canon:"54" json:"dataset_version,omitempty" max:"1024"`

	// Reference names what a lifecycle, oversight or evaluation record is about:
	// a record id, a trace id or a registry URI.
	Reference        string `parquet:"reference" canon:"55" json:"reference,omitempty" max:"4096"`
	SourceConvention string `parquet:"source_convention,dict" canon:"56" json:"source_convention,omitempty" max:"256"`

	// Attributes and ResourceAttributes keep the source attributes that no
	// field above holds, as canonical JSON, size-capped by the producer.
	Attributes         string   `parquet:"attributes" canon:"57" json:"attributes,omitempty" max:"16777216"`
	ResourceAttributes string   `parquet:"resource_attributes" canon:"58" json:"resource_attributes,omitempty" max:"16777216"`
	Flags              []string `parquet:"flags,list" canon:"59" json:"flags,omitempty" max:"256,64"`

	// PreviousCheckpoint, on the first record of an epoch, is the signed note
	// of the previous epoch's last checkpoint (empty if none is known).
	PreviousCheckpoint string `parquet:"previous_checkpoint" canon:"60" json:"previous_checkpoint,omitempty" max:"65536"`
	// Checkpoint, on a checkpoint record, is the signed checkpoint note.
	Checkpoint string `parquet:"checkpoint" canon:"61" json:"checkpoint,omitempty" max:"65536"`
}

// Quality flags set by producers when input had to be changed or was odd.
// Flags are free-form strings; these are the ones govaudit itself sets. A
// flag about one field is set twice: bare ("truncated"), so that every
// record with the problem is found by one value, and qualified with the
// column it concerns ("truncated:user_id", see FieldFlag).
const (
	FlagInvalidUTF8      = "invalid_utf8"   // a value was not UTF-8; bad bytes replaced by U+FFFD
	FlagWrongType        = "wrong_type"     // an attribute had an unexpected type
	FlagMalformedJSON    = "malformed_json" // a JSON attribute did not parse; kept as a string
	FlagTruncated        = "truncated"      // a value exceeded its size cap and was cut
	FlagInvalidValue     = "invalid_value"  // a value was out of range (timestamp beyond int64 ns, negative count); the field is unset
	FlagRedacted         = "redacted"       // content was redacted by policy
	FlagDropped          = "dropped"        // content was dropped by policy
	FlagNoPreviousEpoch  = "previous_epoch_unknown"
	FlagMissingSpanLink  = "missing_span_link"
	FlagUnknownOperation = "unknown_operation"
	// FlagDuplicate marks a record that describes the same model call as
	// another record (two instrumentations nesting spans for one call); it
	// comes with "duplicate_of:<record_id>" (FieldFlag(FlagDuplicateOf, id))
	// naming the record that counts. Counts of decisions skip it.
	FlagDuplicate   = "duplicate"
	FlagDuplicateOf = "duplicate_of"
)

// IsDuplicate reports whether r is flagged FlagDuplicate: it is kept as
// evidence, but another record counts the model call.
func (r *Record) IsDuplicate() bool { return slices.Contains(r.Flags, FlagDuplicate) }

// DuplicateOf returns the id of the record that counts the model call r
// duplicates, or "" when r is not a duplicate.
func (r *Record) DuplicateOf() string {
	if !r.IsDuplicate() {
		return ""
	}
	for _, f := range r.Flags {
		if id, ok := strings.CutPrefix(f, FlagDuplicateOf+":"); ok {
			return id
		}
	}
	return ""
}

// IsLeaf reports whether r is a leaf of the Merkle log (every type but checkpoint).
func (r *Record) IsLeaf() bool { return r.Type != TypeCheckpoint }

// Validate checks what every record must satisfy: the schema version, a
// record id, a known type, valid UTF-8 in every string and well-formed ids.
// It does not check the leaf hash (see CheckLeafHash).
func (r *Record) Validate() error {
	var errs []error
	if r.SchemaVersion != SchemaVersion {
		errs = append(errs, fmt.Errorf("schema_version %d, want %d", r.SchemaVersion, SchemaVersion))
	}
	if r.ID == "" {
		errs = append(errs, errors.New("record_id is empty"))
	}
	if !r.Type.Valid() {
		errs = append(errs, fmt.Errorf("record_type %q is not a known type", r.Type))
	}
	if err := checkHex("trace_id", r.TraceID, 16); err != nil {
		errs = append(errs, err)
	}
	if err := checkHex("span_id", r.SpanID, 8); err != nil {
		errs = append(errs, err)
	}
	if err := checkHex("parent_span_id", r.ParentSpanID, 8); err != nil {
		errs = append(errs, err)
	}
	errs = r.appendUTF8Errors(errs)
	return errors.Join(errs...)
}

func notUTF8Error(column string) error { return fmt.Errorf("%s is not valid UTF-8", column) }

func checkHex(name, s string, n int) error {
	if !IsHexID(s, n) {
		return fmt.Errorf("%s %q: want %d lowercase hex digits", name, s, 2*n)
	}
	return nil
}

// IsHexID reports whether s is empty or 2n lowercase hex digits: the form
// Validate requires of trace_id (n = 16), span_id and parent_span_id
// (n = 8). Readers that check columns as bytes use it too.
func IsHexID[T string | []byte](s T, n int) bool {
	if len(s) == 0 {
		return true
	}
	if len(s) != 2*n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// EventTime returns the time a record is about, in Unix nanoseconds: its
// start time, else its end time, else its observed time (0 if none is set).
// Filters, index time ranges, scopes and drift windows use it.
func (r *Record) EventTime() int64 {
	switch {
	case r.StartTime != 0:
		return r.StartTime
	case r.EndTime != 0:
		return r.EndTime
	}
	return r.ObservedTime
}

// Normalize maps empty lists and an empty leaf hash to nil, their canonical
// in-memory form: both encode identically, and readers such as Parquet's
// return empty values where the writer had nil.
func (r *Record) Normalize() {
	if len(r.FinishReasons) == 0 {
		r.FinishReasons = nil
	}
	if len(r.Flags) == 0 {
		r.Flags = nil
	}
	if len(r.LeafHash) == 0 {
		r.LeafHash = nil
	}
}
