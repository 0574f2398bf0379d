package mlgovernanceconnector // import "github.com/govaudit/govaudit/connector/mlgovernanceconnector"

import (
	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/capture"
	"github.com/govaudit/govaudit/internal/record"
)

// Attribute names of govaudit's classic-ML convention (docs/semantic-conventions.md).
// No upstream convention covers non-LLM models, so govaudit defines the ml.* namespace.
const (
	attrMLOperation        = "ml.operation"          // predict (default), classify, regress, rank, score, detect, recommend
	attrMLModelName        = "ml.model.name"         // -> request_model
	attrMLModelVersion     = "ml.model.version"      // -> model_version
	attrMLModelRegistryURI = "ml.model.registry_uri" // -> model_registry_uri, e.g. models:/credit-risk/7
	attrMLProviderName     = "ml.provider.name"      // -> provider: serving system (sagemaker, vertex_ai, self_hosted)
	attrMLPrediction       = "ml.prediction"         // -> prediction (any type; non-strings as JSON text)
	attrMLScore            = "ml.score"              // -> score (double)
	attrMLFeatureSetDigest = "ml.feature_set.digest" // -> feature_set_digest, e.g. sha256:<hex>
	attrMLDatasetVersion   = "ml.dataset.version"    // -> dataset_version (training data of the model)
	attrMLInputFeatures    = "ml.input.features"     // -> input (content, JSON object)
	attrMLExplanation      = "ml.explanation"        // -> output (content, JSON)
	attrMLThreshold        = "ml.decision.threshold" // -> parameters.threshold
	attrMLParameters       = "ml.parameters"         // -> parameters (JSON object, merged)
)

// isClassicML reports whether the span follows govaudit's ml.* convention.
func isClassicML(b *builder) bool {
	_, name := b.attrs.Get(attrMLModelName)
	_, op := b.attrs.Get(attrMLOperation)
	return name || op
}

// mapClassicML reads the ml.* attributes. Every classic operation is an
// inference: the record documents one decision of one model version.
func (b *builder) mapClassicML() record.Type {
	r := &b.rec
	b.take(&r.Operation, attrMLOperation)
	set(&r.Operation, "predict")
	b.take(&r.RequestModel, attrMLModelName)
	b.take(&r.ModelVersion, attrMLModelVersion)
	b.take(&r.ModelRegistryURI, attrMLModelRegistryURI)
	b.take(&r.Provider, attrMLProviderName)
	if v, ok := b.get(attrMLPrediction); ok {
		b.used[attrMLPrediction] = true
		r.Prediction = b.text(v, false) // numbers and labels are both predictions
	}
	r.Score = b.float(attrMLScore)
	b.take(&r.FeatureSetDigest, attrMLFeatureSetDigest)
	b.take(&r.DatasetVersion, attrMLDatasetVersion)
	b.contentJSON(capture.Input, attrMLInputFeatures)
	b.contentJSON(capture.Output, attrMLExplanation)
	b.param("threshold", attrMLThreshold)
	if v, ok := b.jsonValue(attrMLParameters); ok {
		b.mergeParams(attrMLParameters, "parameters", v)
	}
	return record.TypeInference
}
