package drift // import "github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/drift"

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Config configures drift measurement.
type Config struct {
	// Enabled turns drift measurement on. Default true.
	Enabled bool `mapstructure:"enabled"`
	// Reference says which values of a model version form its reference.
	Reference ReferenceConfig `mapstructure:"reference"`
	// WindowSize is the number of latest values compared with the
	// reference. 100 ≤ WindowSize ≤ 1000000. Default 1000.
	WindowSize int `mapstructure:"window_size"`
	// Bins is the number of bins of a PSI. 2 ≤ Bins ≤ 50. Default 10.
	Bins int `mapstructure:"bins"`
	// Threshold is the PSI above which a feature of a model version has
	// drifted, for every PSI feature that Thresholds does not name: the
	// decisionmetrics connector, in a logs pipeline, writes a drift
	// governance record when the PSI rises above it (an upward crossing;
	// it re-arms once the PSI is back at or below it).
	// 0 < Threshold ≤ 100. Default 0.25.
	Threshold float64 `mapstructure:"threshold"`
	// Thresholds overrides the default thresholds per feature (score,
	// error_rate, feature.income, ...) or per statistic (psi: every PSI
	// feature, z: every rate). A feature's own entry wins over its
	// statistic's, which wins over Threshold (PSI) or DefaultZThreshold
	// (z, compared with |z|). Each value 0 < v ≤ 100. Default empty.
	Thresholds map[string]float64 `mapstructure:"thresholds"`
	// DeclaredFeatures turns on drift of the feature values classic-ML
	// records declare (ml.input.features, stored in the record's input when
	// the capture policy keeps it). Default true.
	DeclaredFeatures bool `mapstructure:"declared_features"`
	// MaxFeatures is the number of declared features tracked per model
	// version: the first MaxFeatures names seen (sorted within a record);
	// values of later names are counted as skipped (feature_cap).
	// 1 ≤ MaxFeatures ≤ 1000. Default 20.
	MaxFeatures int `mapstructure:"max_features"`
	// MaxCategories is the number of distinct categories a categorical
	// feature's reference counts one by one; later new categories are
	// counted in the shared "other" bin. 1 ≤ MaxCategories ≤ 100000.
	// Default 100.
	MaxCategories int `mapstructure:"max_categories"`
	// MaxModelVersions is the number of model versions (request_model,
	// model_version) that get trackers: the first MaxModelVersions seen;
	// values of later ones are counted as skipped (model_version_cap).
	// 1 ≤ MaxModelVersions ≤ 10000. Default 100.
	MaxModelVersions int `mapstructure:"max_model_versions"`
}

// ReferenceConfig says which values form a tracker's reference.
type ReferenceConfig struct {
	// Mode is first_records (default: the first Size values of the model
	// version) or window (the values whose record time is in
	// [Since, Until)).
	Mode ReferenceMode `mapstructure:"mode"`
	// Size: in first_records mode, how many first values form the
	// reference; in window mode, how many of the period's numbers are kept
	// (a uniform sample, for the bin edges; categories and rates are
	// counted exactly). 100 ≤ Size ≤ 1000000. Default 1000.
	Size int `mapstructure:"size"`
	// Since and Until bound the reference period in window mode: Since ≤
	// record time < Until. RFC 3339 times (2026-01-01T00:00:00Z; a YAML
	// date 2026-01-01 is midnight UTC). Required in window mode, Since
	// before Until; not allowed in first_records mode.
	Since time.Time `mapstructure:"since"`
	Until time.Time `mapstructure:"until"`
}

// ReferenceMode is how a tracker's reference is chosen.
type ReferenceMode string

// Reference modes.
const (
	// ReferenceFirstRecords: the first reference.size values.
	ReferenceFirstRecords ReferenceMode = "first_records"
	// ReferenceWindow: the values whose record time is in [since, until).
	ReferenceWindow ReferenceMode = "window"
)

// UnmarshalText parses a reference mode, rejecting unknown values.
func (m *ReferenceMode) UnmarshalText(b []byte) error {
	switch v := ReferenceMode(b); v {
	case ReferenceFirstRecords, ReferenceWindow:
		*m = v
		return nil
	}
	return fmt.Errorf("unknown reference mode %q (want first_records or window)", b)
}

// DefaultConfig returns the default drift configuration.
func DefaultConfig() Config {
	return Config{
		Enabled:          true,
		Reference:        ReferenceConfig{Mode: ReferenceFirstRecords, Size: 1000},
		WindowSize:       1000,
		Bins:             10,
		Threshold:        0.25,
		DeclaredFeatures: true,
		MaxFeatures:      20,
		MaxCategories:    100,
		MaxModelVersions: 100,
	}
}

const (
	minSize, maxSize   = 100, 1_000_000
	minBins, maxBins   = 2, 50
	maxThreshold       = 100
	maxMaxFeatures     = 1000
	maxMaxCategories   = 100_000
	maxMaxVersions     = 10_000
	maxFeatureNameSize = 128
	// MinReference is the fewest values a window-mode reference needs to
	// give a statistic (the smallest first_records reference).
	MinReference = minSize
	// DefaultZThreshold is the |z| above which a rate has drifted unless
	// thresholds names the rate or z: 3, a two-sided p of about 0.0027.
	DefaultZThreshold = 3.0
)

// Validate checks the configuration, naming each bad field; a disabled
// configuration is not checked. Sub-fields are named in confmap's ::
// form (reference::size).
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	between := func(name string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("%s: %d, want %d to %d", name, v, lo, hi))
		}
	}
	between("reference::size", c.Reference.Size, minSize, maxSize)
	errs = append(errs, c.Reference.validatePeriod()...)
	between("window_size", c.WindowSize, minSize, maxSize)
	between("bins", c.Bins, minBins, maxBins)
	if !validThreshold(c.Threshold) {
		errs = append(errs, fmt.Errorf("threshold: %v, want above 0 and at most %d", c.Threshold, maxThreshold))
	}
	keys := make([]string, 0, len(c.Thresholds))
	for k := range c.Thresholds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := checkThresholdKey(k); err != nil {
			errs = append(errs, fmt.Errorf("thresholds::%s: %w", k, err))
		} else if v := c.Thresholds[k]; !validThreshold(v) {
			errs = append(errs, fmt.Errorf("thresholds::%s: %v, want above 0 and at most %d", k, v, maxThreshold))
		}
	}
	between("max_features", c.MaxFeatures, 1, maxMaxFeatures)
	between("max_categories", c.MaxCategories, 1, maxMaxCategories)
	between("max_model_versions", c.MaxModelVersions, 1, maxMaxVersions)
	return errors.Join(errs...)
}

func validThreshold(v float64) bool {
	return !math.IsNaN(v) && v > 0 && v <= maxThreshold
}

// validatePeriod checks mode, since and until together.
func (r ReferenceConfig) validatePeriod() []error {
	var errs []error
	switch r.Mode {
	case ReferenceFirstRecords, "":
		for _, f := range []struct {
			name string
			v    time.Time
		}{{"since", r.Since}, {"until", r.Until}} {
			if !f.v.IsZero() {
				errs = append(errs, fmt.Errorf("reference::%s: set, but reference::mode is first_records (set mode: window to use a period)", f.name))
			}
		}
		return errs
	case ReferenceWindow:
	default:
		// UnmarshalText refuses it on load; this is for configs built in code.
		return []error{fmt.Errorf("reference::mode: unknown reference mode %q (want first_records or window)", r.Mode)}
	}
	if r.Since.IsZero() {
		errs = append(errs, errors.New("reference::since: required when reference::mode is window (an RFC 3339 time, e.g. 2026-01-01T00:00:00Z)"))
	}
	if r.Until.IsZero() {
		errs = append(errs, errors.New("reference::until: required when reference::mode is window (an RFC 3339 time, e.g. 2026-01-01T00:00:00Z)"))
	}
	if len(errs) == 0 && !r.Since.Before(r.Until) {
		errs = append(errs, fmt.Errorf("reference::until: %s is not after reference::since (%s)",
			r.Until.Format(time.RFC3339Nano), r.Since.Format(time.RFC3339Nano)))
	}
	return errs
}

// period returns [since, until) in Unix nanoseconds.
func (r ReferenceConfig) period() (since, until int64) {
	return r.Since.UnixNano(), r.Until.UnixNano()
}

// checkThresholdKey accepts a statistic, a built-in feature or a declared
// feature (DeclaredPrefix + name).
func checkThresholdKey(k string) error {
	if k == StatisticPSI || k == StatisticZ || builtinFeatures[k] != "" {
		return nil
	}
	if name, ok := strings.CutPrefix(k, DeclaredPrefix); ok {
		if name == "" || len(name) > maxFeatureNameSize {
			return fmt.Errorf("a declared feature's name must have 1 to %d bytes", maxFeatureNameSize)
		}
		return nil
	}
	known := make([]string, 0, len(builtinFeatures))
	for f := range builtinFeatures {
		known = append(known, f)
	}
	sort.Strings(known)
	return fmt.Errorf("unknown feature or statistic (want psi, z, %s, or %s<name> for a declared feature)", strings.Join(known, ", "), DeclaredPrefix)
}

// ThresholdOf returns the threshold of feature: its thresholds entry, else
// its statistic's, else Threshold (PSI) or DefaultZThreshold (z).
func (c Config) ThresholdOf(feature string) float64 {
	if v, ok := c.Thresholds[feature]; ok {
		return v
	}
	stat := StatisticOf(feature)
	if v, ok := c.Thresholds[stat]; ok {
		return v
	}
	if stat == StatisticZ {
		return DefaultZThreshold
	}
	return c.Threshold
}
