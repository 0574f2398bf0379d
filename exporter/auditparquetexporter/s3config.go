package auditparquetexporter // import "github.com/govaudit/govaudit/exporter/auditparquetexporter"

import (
	"errors"
	"fmt"
	"strings"

	"github.com/govaudit/govaudit/internal/objectstore"
)

// S3Config uploads the sealed archive to an S3-compatible bucket under
// Object Lock (see upload.go). Credentials and region come from the
// standard AWS chain (environment, shared config and credentials files, IAM
// roles); a non-AWS endpoint from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL.
type S3Config struct {
	// Bucket is the bucket name. Required. The bucket must have Object Lock
	// enabled (which turns versioning on): create it so.
	Bucket string `mapstructure:"bucket"`
	// Prefix is the key prefix under which the archive layout starts
	// (slash-separated, no leading or trailing slash). Default: none, the
	// bucket's root. `govaudit verify s3://<bucket>/<prefix>` reads it.
	Prefix string `mapstructure:"prefix"`
	// PathStyle addresses the bucket as <endpoint>/<bucket>/<key> instead of
	// <bucket>.<endpoint>/<key>. Default false; a gateway on 127.0.0.1 or
	// without wildcard DNS needs true.
	PathStyle bool `mapstructure:"path_style"`
	// Retention is the Object Lock retention put on every uploaded object.
	Retention RetentionConfig `mapstructure:"retention"`
}

// RetentionConfig is an Object Lock retention: a mode and a duration
// counted from each object's upload.
type RetentionConfig struct {
	// Mode is COMPLIANCE (default: no one, the bucket's root account
	// included, can shorten the retention or delete a retained version) or
	// GOVERNANCE (users with s3:BypassGovernanceRetention can).
	Mode RetentionMode `mapstructure:"mode"`
	// Days is how long each uploaded object is retained, counted from its
	// upload. Required; 1 ≤ days ≤ 36500. The EU AI Act asks deployers to
	// keep logs at least six months (Art. 19, 26(6)); sector rules often ask
	// for more.
	Days int `mapstructure:"days"`
}

// RetentionMode is an Object Lock retention mode.
type RetentionMode string

// The retention modes.
const (
	RetentionCompliance RetentionMode = "COMPLIANCE"
	RetentionGovernance RetentionMode = "GOVERNANCE"
)

// maxRetentionDays bounds retention::days (100 years): a larger value is a
// typo, and one that cannot be undone in COMPLIANCE mode.
const maxRetentionDays = 36500

// errRetentionMode is the error of an unknown retention mode.
var errRetentionMode = errors.New("want COMPLIANCE or GOVERNANCE")

// UnmarshalText accepts COMPLIANCE or GOVERNANCE, exactly.
func (m *RetentionMode) UnmarshalText(b []byte) error {
	switch v := RetentionMode(b); v {
	case RetentionCompliance, RetentionGovernance:
		*m = v
		return nil
	}
	return fmt.Errorf("%w, got %q", errRetentionMode, string(b)) // the decoder names the field
}

// Validate checks every field, naming it.
func (c *S3Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.Bucket) == "" {
		errs = append(errs, errors.New("bucket: required (the name of a bucket with Object Lock enabled)"))
	} else if err := objectstore.ValidBucket(c.Bucket); err != nil {
		errs = append(errs, fmt.Errorf("bucket: %w", err))
	}
	if err := objectstore.ValidPrefix(c.Prefix); err != nil {
		errs = append(errs, fmt.Errorf("prefix: %w", err))
	}
	if c.Retention.Mode != RetentionCompliance && c.Retention.Mode != RetentionGovernance {
		errs = append(errs, fmt.Errorf("retention::mode: %w, got %q", errRetentionMode, c.Retention.Mode))
	}
	if c.Retention.Days < 1 || c.Retention.Days > maxRetentionDays {
		errs = append(errs, fmt.Errorf("retention::days: must be between 1 and %d, got %d", maxRetentionDays, c.Retention.Days))
	}
	return errors.Join(errs...)
}

// location returns where the archive is uploaded.
func (c *S3Config) location() objectstore.Location {
	return objectstore.Location{Bucket: c.Bucket, Prefix: c.Prefix}
}
