// Package record defines the govaudit governance record, schema v1: its fields,
// its canonical byte encoding and leaf hash, and its lossless mappings to an
// OpenTelemetry log record (pdata) and to a Parquet row. Every other govaudit
// package goes through this one; none re-derives the format.
//
// # Fields
//
// The Record struct is the schema. Each field carries three tags:
//
//	parquet:"name[,opts]"  the Parquet column (and the JSON key and the
//	                       pdata attribute "govaudit.<name>")
//	canon:"N"              the field number in the canonical encoding, 1..255,
//	                       unique, never reused; "-" for derived fields
//	json:"name,omitempty"  the JSON form used by reports and proofs
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
// testdata/vectors.json holds worked examples: a record, its encoding in hex
// and its leaf hash. A third-party verifier that reproduces them reproduces
// the format.
package record

import (
	"errors"
	"fmt"
	"unicode/utf8"
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
	TypeCheckpoint   Type = "checkpoint"    // a signed checkpoint of the log (not a leaf)
)

var types = []Type{
	TypeInference, TypeEmbedding, TypeRetrieval, TypeToolCall, TypeAgent,
	TypeWorkflow, TypeEvaluation, TypeGuardrail, TypeContent, TypeLifecycle,
	TypeOversight, TypeConfigChange, TypeCheckpoint,
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
	SourceMLEvents      = "mlevents"
	SourceGovaudit      = "govaudit"
)

// Record is one governance record. It is also the Parquet row of the archive:
// the parquet tags below are the archive schema. See the package doc for the
// tags and the canonical encoding.
type Record struct {
	SchemaVersion uint32 `parquet:"schema_version" canon:"1" json:"schema_version"`
	ID            string `parquet:"record_id" canon:"2" json:"record_id"`
	Type          Type   `parquet:"record_type,dict" canon:"3" json:"record_type"`
	EventName     string `parquet:"event_name,dict" canon:"4" json:"event_name,omitempty"`

	StartTime    int64 `parquet:"start_time,timestamp(nanosecond)" canon:"5" json:"start_time,omitempty"`
	EndTime      int64 `parquet:"end_time,timestamp(nanosecond)" canon:"6" json:"end_time,omitempty"`
	ObservedTime int64 `parquet:"observed_time,timestamp(nanosecond)" canon:"7" json:"observed_time,omitempty"`

	// Filled by the auditsign processor.
	Origin    string `parquet:"origin,dict" canon:"8" json:"origin,omitempty"`
	Epoch     uint64 `parquet:"epoch" canon:"9" json:"epoch,omitempty"`
	LeafIndex uint64 `parquet:"leaf_index" canon:"10" json:"leaf_index"`
	LeafHash  []byte `parquet:"leaf_hash" canon:"-" json:"leaf_hash,omitempty"`

	TraceID      string `parquet:"trace_id" canon:"11" json:"trace_id,omitempty"`
	SpanID       string `parquet:"span_id" canon:"12" json:"span_id,omitempty"`
	ParentSpanID string `parquet:"parent_span_id" canon:"13" json:"parent_span_id,omitempty"`

	ServiceName           string `parquet:"service_name,dict" canon:"14" json:"service_name,omitempty"`
	ServiceVersion        string `parquet:"service_version,dict" canon:"15" json:"service_version,omitempty"`
	DeploymentEnvironment string `parquet:"deployment_environment,dict" canon:"16" json:"deployment_environment,omitempty"`

	Operation        string `parquet:"operation,dict" canon:"17" json:"operation,omitempty"`
	Provider         string `parquet:"provider,dict" canon:"18" json:"provider,omitempty"`
	RequestModel     string `parquet:"request_model,dict" canon:"19" json:"request_model,omitempty"`
	ResponseModel    string `parquet:"response_model,dict" canon:"20" json:"response_model,omitempty"`
	ModelVersion     string `parquet:"model_version,dict" canon:"21" json:"model_version,omitempty"`
	ModelRegistryURI string `parquet:"model_registry_uri,dict" canon:"22" json:"model_registry_uri,omitempty"`

	AgentID        string `parquet:"agent_id,dict" canon:"23" json:"agent_id,omitempty"`
	AgentName      string `parquet:"agent_name,dict" canon:"24" json:"agent_name,omitempty"`
	ToolName       string `parquet:"tool_name,dict" canon:"25" json:"tool_name,omitempty"`
	ToolCallID     string `parquet:"tool_call_id" canon:"26" json:"tool_call_id,omitempty"`
	ConversationID string `parquet:"conversation_id" canon:"27" json:"conversation_id,omitempty"`
	SessionID      string `parquet:"session_id" canon:"28" json:"session_id,omitempty"`
	UserID         string `parquet:"user_id" canon:"29" json:"user_id,omitempty"`
	TenantID       string `parquet:"tenant_id,dict" canon:"30" json:"tenant_id,omitempty"`
	DataSourceID   string `parquet:"data_source_id,dict" canon:"31" json:"data_source_id,omitempty"`

	// Parameters holds the invocation parameters (temperature, max_tokens, ...)
	// as canonical JSON (see CanonicalJSON).
	Parameters    string   `parquet:"parameters" canon:"32" json:"parameters,omitempty"`
	InputTokens   *int64   `parquet:"input_tokens,optional" canon:"33" json:"input_tokens,omitempty"`
	OutputTokens  *int64   `parquet:"output_tokens,optional" canon:"34" json:"output_tokens,omitempty"`
	FinishReasons []string `parquet:"finish_reasons,list" canon:"35" json:"finish_reasons,omitempty"`
	StatusCode    string   `parquet:"status_code,dict" canon:"36" json:"status_code,omitempty"`
	ErrorType     string   `parquet:"error_type,dict" canon:"37" json:"error_type,omitempty"`

	// Content fields hold what the capture policy kept (raw or redacted text,
	// possibly truncated); the *Digest fields hold "hmac-sha256:<hex>" of the
	// original content under the key named by DigestKeyID.
	Input                    string `parquet:"input" canon:"38" json:"input,omitempty"`
	InputDigest              string `parquet:"input_digest" canon:"39" json:"input_digest,omitempty"`
	Output                   string `parquet:"output" canon:"40" json:"output,omitempty"`
	OutputDigest             string `parquet:"output_digest" canon:"41" json:"output_digest,omitempty"`
	SystemInstructions       string `parquet:"system_instructions" canon:"42" json:"system_instructions,omitempty"`
	SystemInstructionsDigest string `parquet:"system_instructions_digest" canon:"43" json:"system_instructions_digest,omitempty"`
	ToolArguments            string `parquet:"tool_arguments" canon:"44" json:"tool_arguments,omitempty"`
	ToolArgumentsDigest      string `parquet:"tool_arguments_digest" canon:"45" json:"tool_arguments_digest,omitempty"`
	ToolResult               string `parquet:"tool_result" canon:"46" json:"tool_result,omitempty"`
	ToolResultDigest         string `parquet:"tool_result_digest" canon:"47" json:"tool_result_digest,omitempty"`
	RetrievalDocuments       string `parquet:"retrieval_documents" canon:"48" json:"retrieval_documents,omitempty"`
	RetrievalDocumentsDigest string `parquet:"retrieval_documents_digest" canon:"49" json:"retrieval_documents_digest,omitempty"`
	DigestKeyID              string `parquet:"digest_key_id,dict" canon:"50" json:"digest_key_id,omitempty"`

	// Classic ML decisions (govaudit's own ml.* convention).
	Prediction       string   `parquet:"prediction" canon:"51" json:"prediction,omitempty"`
	Score            *float64 `parquet:"score,optional" canon:"52" json:"score,omitempty"`
	FeatureSetDigest string   `parquet:"feature_set_digest" canon:"53" json:"feature_set_digest,omitempty"`
	DatasetVersion   string   `parquet:"dataset_version,dict" canon:"54" json:"dataset_version,omitempty"`

	// Reference names what a lifecycle, oversight or evaluation record is about:
	// a record id, a trace id or a registry URI.
	Reference        string `parquet:"reference" canon:"55" json:"reference,omitempty"`
	SourceConvention string `parquet:"source_convention,dict" canon:"56" json:"source_convention,omitempty"`

	// Attributes and ResourceAttributes keep the source attributes that no
	// field above holds, as canonical JSON, size-capped by the producer.
	Attributes         string   `parquet:"attributes" canon:"57" json:"attributes,omitempty"`
	ResourceAttributes string   `parquet:"resource_attributes" canon:"58" json:"resource_attributes,omitempty"`
	Flags              []string `parquet:"flags,list" canon:"59" json:"flags,omitempty"`

	// PreviousCheckpoint, on the first record of an epoch, is the signed note
	// of the previous epoch's last checkpoint (empty if none is known).
	PreviousCheckpoint string `parquet:"previous_checkpoint" canon:"60" json:"previous_checkpoint,omitempty"`
	// Checkpoint, on a checkpoint record, is the signed checkpoint note.
	Checkpoint string `parquet:"checkpoint" canon:"61" json:"checkpoint,omitempty"`
}

// Quality flags set by producers when input had to be changed or was odd.
// Flags are free-form strings; these are the ones govaudit itself sets.
const (
	FlagInvalidUTF8      = "invalid_utf8"   // a value was not UTF-8; bad bytes replaced by U+FFFD
	FlagWrongType        = "wrong_type"     // an attribute had an unexpected type
	FlagMalformedJSON    = "malformed_json" // a JSON attribute did not parse; kept as a string
	FlagTruncated        = "truncated"      // content or attributes exceeded the size cap
	FlagRedacted         = "redacted"       // content was redacted by policy
	FlagDropped          = "dropped"        // content was dropped by policy
	FlagNoPreviousEpoch  = "previous_epoch_unknown"
	FlagMissingSpanLink  = "missing_span_link"
	FlagUnknownOperation = "unknown_operation"
)

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
	for _, f := range fields {
		if f.kind == kindString && !utf8.ValidString(f.value(r).String()) {
			errs = append(errs, fmt.Errorf("%s is not valid UTF-8", f.name))
		}
	}
	return errors.Join(errs...)
}

func checkHex(name, s string, n int) error {
	if s == "" {
		return nil
	}
	if len(s) != 2*n {
		return fmt.Errorf("%s %q: want %d lowercase hex digits", name, s, 2*n)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fmt.Errorf("%s %q: want %d lowercase hex digits", name, s, 2*n)
		}
	}
	return nil
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
