# syntax=docker/dockerfile:1
#
# The otelcol-govaudit distribution (and the govaudit command) as a small
# container image: built with ocb in a Go image, static binaries
# (CGO_ENABLED=0), on distroless/static as the non-root user 65532.
#
#   docker build -t otelcol-govaudit:0.1.0 .
#   docker run --rm otelcol-govaudit:0.1.0 components
#
# The default configuration is examples/scale-out/gateway.yaml: mount keys at
# /run/govaudit/keys and a volume at /var/lib/govaudit and set the
# GOVAUDIT_* variables, the bucket's GOVAUDIT_S3_* among them (or
# GOVAUDIT_S3_ENABLED=false to keep the archive on the volume only), as
# deploy/kubernetes does; or mount your own configuration over
# /etc/otelcol-govaudit/config.yaml. The build downloads
# Go modules (the Go module proxy) and the two base images; pin the base
# images by digest in your registry. docs/scaling.md says where this was
# built and tested.

ARG GO_VERSION=1.26
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETOS
ARG TARGETARCH
# ocb, pinned as in the Makefile (OCB_VERSION).
ARG OCB_VERSION=v0.161.0
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOBIN=/usr/local/bin go install go.opentelemetry.io/collector/cmd/builder@${OCB_VERSION}
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/root/go/pkg/mod go mod download
COPY . .
# ocb generates build/otelcol-govaudit (govaudit's components from this
# module by path) and compiles it with CGO_ENABLED=0; GOOS/GOARCH pass
# through its environment.
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=${TARGETOS} GOARCH=${TARGETARCH} builder --config builder-config.yaml \
    && GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -ldflags='-s -w' -o /out/govaudit ./cmd/govaudit \
    && cp build/otelcol-govaudit/otelcol-govaudit /out/otelcol-govaudit

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/otelcol-govaudit /out/govaudit /usr/local/bin/
COPY examples/scale-out/gateway.yaml /etc/otelcol-govaudit/config.yaml
# distroless's nonroot user; deploy/kubernetes runs the pods as this uid.
USER 65532:65532
# OTLP gRPC and HTTP, mlevents, health_check, decision metrics, own metrics.
EXPOSE 4317 4318 8737 13133 9464 8888
ENTRYPOINT ["/usr/local/bin/otelcol-govaudit"]
CMD ["--config", "/etc/otelcol-govaudit/config.yaml"]
