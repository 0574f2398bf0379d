# govaudit — see README.md. Everything installs into the project folder
# (.tools/, bin/, build/); nothing global.
SHELL := /bin/bash
GO    ?= go
OCB_VERSION      := v0.161.0
MDATAGEN_VERSION := v0.155.0
TOOLS := $(CURDIR)/.tools
OCB   := $(TOOLS)/builder
# versitygw: a real S3 gateway (versioning, Object Lock) for the S3 tests;
# built from the Go module proxy into .tools/ like ocb (~4 min cold build).
VERSITYGW_VERSION := v1.8.0
VERSITYGW         := $(TOOLS)/versitygw
BIN   := $(CURDIR)/bin

# Packages whose tests also run under the race detector: the shared format
# and log packages and the components with concurrency.
RACE_PKGS := ./internal/... ./processor/... ./exporter/... ./connector/... ./receiver/...

.PHONY: all build run test versitygw test-unit test-e2e bench loadtest lint generate clean

all: build

$(OCB):
	GOBIN=$(TOOLS) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

$(VERSITYGW):
	GOBIN=$(TOOLS) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

versitygw: $(VERSITYGW)

$(BIN)/govaudit: $(shell find cmd internal -name '*.go' -not -name '*_test.go') go.mod go.sum
	$(GO) build -o $@ ./cmd/govaudit

# The distribution: ocb generates build/otelcol-govaudit (sources) and
# compiles it; govaudit's components come from this module by path.
$(BIN)/otelcol-govaudit: $(OCB) builder-config.yaml $(shell find connector processor exporter receiver internal -name '*.go' -not -name '*_test.go' 2>/dev/null) go.mod go.sum
	@mkdir -p build $(BIN)
	$(OCB) --config builder-config.yaml
	cp build/otelcol-govaudit/otelcol-govaudit $@

build: $(BIN)/otelcol-govaudit $(BIN)/govaudit

# Runs the quickstart collector in the foreground (Ctrl-C to stop).
run: build
	./scripts/quickstart.sh

# The S3 tests (internal/objectstore, the exporter's uploads, the CLI on
# s3:// and e2e) run against versitygw on 127.0.0.1, found through
# GOVAUDIT_VERSITYGW; they are skipped when it is unset.
test: build $(VERSITYGW)
	$(GO) vet ./...
	GOVAUDIT_VERSITYGW=$(VERSITYGW) $(GO) test -race -count=1 $(RACE_PKGS)
	GOVAUDIT_VERSITYGW=$(VERSITYGW) GOVAUDIT_BIN=$(BIN) $(GO) test -count=1 ./cmd/... ./examples/...
	GOVAUDIT_VERSITYGW=$(VERSITYGW) GOVAUDIT_BIN=$(BIN) $(GO) test -count=1 ./e2e/...
	cd deploy/kubernetes && GOVAUDIT_BIN=$(BIN) $(GO) test -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./internal/... ./connector/... ./processor/... ./exporter/... ./cmd/...

loadtest: build
	cd testbed && $(GO) test -v -count=1 -timeout 30m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0 2>/dev/null; then \
		$(TOOLS)/golangci-lint run ./...; else echo "golangci-lint not installable here; gofmt and vet passed"; fi

# mdatagen builds only as a tool at $(MDATAGEN_VERSION), from its own go.mod (tools/mdatagen).
$(TOOLS)/mdatagen: tools/mdatagen/go.mod tools/mdatagen/go.sum
	cd tools/mdatagen && GOBIN=$(TOOLS) $(GO) install go.opentelemetry.io/collector/cmd/mdatagen

# Each component's doc.go says `//go:generate mdatagen metadata.yaml`, as in
# contrib; .tools goes first on PATH so that name resolves to the pinned
# build. mdatagen runs `go list` in the component directory, so it must run
# inside this module. It rewrites internal/metadata, generated_*_test.go,
# documentation.md and the README status section; the output is committed.
# mdatagen links only the OpenTelemetry distributions (core, contrib, k8s,
# otlp) and leaves "[govaudit]: " without a target: sed points it at the
# distribution's builder-config.yaml. internal/record's go:generate writes
# fields_gen.go from the Record struct tags (internal/record/internal/fieldgen).
generate: $(TOOLS)/mdatagen
	PATH="$(TOOLS):$$PATH" $(GO) generate ./internal/record ./connector/... ./processor/... ./exporter/... ./receiver/...
	sed -i 's|^\[govaudit\]: *$$|[govaudit]: ../../builder-config.yaml|' $$(git ls-files '*/*/README.md')

clean:
	rm -rf bin build
