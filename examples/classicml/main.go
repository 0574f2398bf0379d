// Classicml is a tiny credit-scoring service instrumented with the
// OpenTelemetry Go SDK and govaudit's classic-ML attributes (ml.*, see
// docs/semantic-conventions.md). It scores one loan application and exports
// the prediction span over OTLP/HTTP, where the mlgovernance connector turns
// it into a governance record.
//
// Usage:
//
//	classicml [-endpoint host:port] [-user id]
//
// The endpoint defaults to $OTEL_EXPORTER_OTLP_ENDPOINT's host:port or
// 127.0.0.1:4318.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The model this service runs, as registered in the model registry.
const (
	modelName      = "credit-risk"
	modelVersion   = "7"
	registryURI    = "models:/credit-risk/7"
	datasetVersion = "loans-2025-12"
	threshold      = 0.5
)

// application is the input of one decision.
type application struct {
	Income float64 `json:"income"`
	Age    int     `json:"age"`
	Debt   float64 `json:"debt"`
}

// score is the model: a fixed logistic regression.
func score(a application) float64 {
	z := -2.0 + 0.00006*a.Income - 0.00004*a.Debt + 0.01*float64(a.Age)
	return 1 / (1 + math.Exp(-z))
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main with its arguments and output streams; it returns the exit
// code: 0 ok, 1 failure, 2 usage.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("classicml", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", defaultEndpoint(), "OTLP/HTTP collector `host:port`")
	user := fs.String("user", "analyst-17", "user id of the analyst requesting the decision")
	if err := fs.Parse(args); err != nil {
		return 2
	}

	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(*endpoint), otlptracehttp.WithInsecure())
	if err != nil {
		fmt.Fprintln(stderr, "classicml:", err)
		return 1
	}
	res := resource.NewSchemaless(
		attribute.String("service.name", "credit-scoring"),
		attribute.String("service.version", "2.3.0"),
		attribute.String("deployment.environment.name", "dev"),
	)
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	defer func() {
		if err := tp.Shutdown(ctx); err != nil {
			fmt.Fprintln(stderr, "classicml: flushing spans:", err)
		}
	}()
	tracer := tp.Tracer("github.com/govaudit/govaudit/examples/classicml")

	// The request span carries who asked; the connector attributes the
	// child prediction record through the trace.
	ctx, req := tracer.Start(ctx, "POST /score", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("user.id", *user), attribute.String("tenant.id", "bank-eu")))
	defer req.End()

	app := application{Income: 52000, Age: 41, Debt: 12000}
	decision, p := predict(ctx, tracer, app)
	fmt.Fprintf(stdout, "decision=%s score=%.3f trace=%s\n", decision, p, req.SpanContext().TraceID())
	return 0
}

// predict runs the model inside a span carrying the ml.* attributes.
func predict(ctx context.Context, tracer trace.Tracer, app application) (string, float64) {
	features, _ := json.Marshal(app)
	_, span := tracer.Start(ctx, "predict "+modelName)
	defer span.End()

	p := score(app)
	decision := "decline"
	if p >= threshold {
		decision = "approve"
	}
	span.SetAttributes(
		attribute.String("ml.operation", "predict"),
		attribute.String("ml.model.name", modelName),
		attribute.String("ml.model.version", modelVersion),
		attribute.String("ml.model.registry_uri", registryURI),
		attribute.String("ml.provider.name", "self_hosted"),
		attribute.String("ml.dataset.version", datasetVersion),
		attribute.String("ml.feature_set.digest", featureSetDigest()),
		attribute.String("ml.input.features", string(features)), // content: captured per policy
		attribute.Float64("ml.decision.threshold", threshold),
		attribute.String("ml.prediction", decision),
		attribute.Float64("ml.score", p),
	)
	return decision, p
}

// featureSetDigest names the feature definitions the model was built with.
func featureSetDigest() string {
	sum := sha256.Sum256([]byte("income:float64,age:int,debt:float64"))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// defaultEndpoint reads OTEL_EXPORTER_OTLP_ENDPOINT (a URL) as host:port.
func defaultEndpoint() string {
	if u, err := url.Parse(os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")); err == nil && u.Host != "" {
		return u.Host
	}
	return "127.0.0.1:4318"
}
