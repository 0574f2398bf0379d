package drift

import (
	"crypto/sha256"
	"encoding/hex"
)

// Features: what of a decision is compared with its model version's
// reference. The connector reads them from the record; the names are the
// feature label of the metrics and the keys of thresholds.
const (
	FeatureScore        = "score"         // classic-ML score (number, PSI)
	FeatureInputTokens  = "input_tokens"  // number, PSI
	FeatureOutputTokens = "output_tokens" // number, PSI
	FeatureOutcome      = "outcome"       // finish reason, error or ok (category, PSI)
	FeaturePrediction   = "prediction"    // classic-ML predicted class (category, PSI)
	FeatureErrorRate    = "error_rate"    // share of decisions that failed (rate, z)
	FeatureRefusalRate  = "refusal_rate"  // share of GenAI decisions refused (rate, z)

	// DeclaredPrefix names a declared classic-ML feature: feature.<name>,
	// <name> being the member of ml.input.features.
	DeclaredPrefix = "feature."
)

// Statistics.
const (
	StatisticPSI = "psi" // Population Stability Index of a distribution
	StatisticZ   = "z"   // two-proportion z of a rate
)

// builtinFeatures maps each built-in feature to its statistic.
var builtinFeatures = map[string]string{
	FeatureScore: StatisticPSI, FeatureInputTokens: StatisticPSI, FeatureOutputTokens: StatisticPSI,
	FeatureOutcome: StatisticPSI, FeaturePrediction: StatisticPSI,
	FeatureErrorRate: StatisticZ, FeatureRefusalRate: StatisticZ,
}

// StatisticOf returns the statistic of feature: z for the rates, PSI for
// every other feature, declared ones included.
func StatisticOf(feature string) string {
	if builtinFeatures[feature] == StatisticZ {
		return StatisticZ
	}
	return StatisticPSI
}

// DeclaredFeature returns the feature name of a declared feature's member
// name, and false if the name is empty or longer than 128 bytes (it would
// make an unwieldy label; counted as feature_cap).
func DeclaredFeature(name string) (string, bool) {
	if name == "" || len(name) > maxFeatureNameSize {
		return "", false
	}
	return DeclaredPrefix + name, true
}

// maxCategorySize bounds the bytes a category takes in a reference's
// counts: a longer one counts as "sha256:<hex>" of its value, so distinct
// long values stay distinct and memory stays bounded.
const maxCategorySize = 256

// Category returns the category a string value counts as: itself, or
// "sha256:<hex>" of it beyond 256 bytes.
func Category(v string) string {
	if len(v) <= maxCategorySize {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// IsRefusal reports whether a decision was refused: one of its finish
// reasons is content_filter or refusal (the set govaudit report counts).
func IsRefusal(finishReasons []string) bool {
	for _, fr := range finishReasons {
		if fr == "content_filter" || fr == "refusal" {
			return true
		}
	}
	return false
}
