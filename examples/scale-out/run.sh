#!/usr/bin/env bash
# Runs examples/scale-out on loopback (README.md here): two gateways, each
# its own origin and data directory, and one agent in front of them that
# routes by trace ID. Creates development keys on first run. Ctrl-C stops
# all three (the gateways seal their open files and upload them).
#
# The archive: with GOVAUDIT_S3_BUCKET set (and the other GOVAUDIT_S3_*
# and AWS variables of gateway.yaml), both gateways upload to that one
# bucket, the recommended setup; without it, each gateway archives in its
# own data directory only (GOVAUDIT_S3_ENABLED=false) and the two archives
# are combined by copying (README.md).
#
# Ports: the agent takes the applications' usual OTLP ports (4317 gRPC,
# 4318 HTTP; GOVAUDIT_OTLP_GRPC_ENDPOINT / GOVAUDIT_OTLP_HTTP_ENDPOINT move
# them), health 13133, own metrics 8888. Gateway N (1, 2) listens on
# N4317 (OTLP gRPC), N4318, N8737 (mlevents), 1313(3+N) (health), N9464
# (decision metrics), N8888 (own metrics).
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${GOVAUDIT_SCALEOUT_DATA:-./data/scale-out}
keys=$data/keys
mkdir -p "$keys"
chmod 700 "$keys"
if [ ! -f "$keys/signing.key" ]; then
  ./bin/govaudit keygen --name govaudit-scaleout --out "$keys" >/dev/null
  mv "$keys/govaudit-scaleout.key" "$keys/signing.key"
  mv "$keys/govaudit-scaleout.pub" "$keys/signing.pub"
fi
(
  umask 077
  [ -f "$keys/digest.key" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$keys/digest.key"
  [ -f "$keys/mlevents.token" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$keys/mlevents.token"
)

# No bucket named and S3 not asked for explicitly: the local variant.
if [ -z "${GOVAUDIT_S3_BUCKET:-}" ] && [ -z "${GOVAUDIT_S3_ENABLED:-}" ]; then
  export GOVAUDIT_S3_ENABLED=false
fi
if [ "${GOVAUDIT_S3_ENABLED:-true}" = true ]; then
  archive="s3://$GOVAUDIT_S3_BUCKET/${GOVAUDIT_S3_PREFIX:-}"
  verify="./bin/govaudit verify --key $keys/signing.pub $archive"
else
  archive="$data/gateway-{0,1}/audit (combine them to verify)"
  verify="mkdir -p $data/combined
   for g in gateway-0 gateway-1; do cp -rn $data/\$g/audit/{records,index,checkpoints,manifests} $data/combined/; done
   ./bin/govaudit verify --key $keys/signing.pub $data/combined"
fi

pids=()
stop() {
  trap - INT TERM EXIT
  [ ${#pids[@]} -eq 0 ] || kill -TERM "${pids[@]}" 2>/dev/null || true
  wait
}
trap stop EXIT
trap 'stop; exit 0' INT TERM

# gateway NAME N: starts gateway NAME on the ports of gateway N.
gateway() {
  local name=$1 n=$2
  mkdir -p "$data/$name"
  env GOVAUDIT_ORIGIN="$name" GOVAUDIT_DATA="$data/$name" GOVAUDIT_SECRETS_DIR="$keys" \
    GOVAUDIT_OTLP_GRPC_ENDPOINT="127.0.0.1:${n}4317" GOVAUDIT_OTLP_HTTP_ENDPOINT="127.0.0.1:${n}4318" \
    GOVAUDIT_MLEVENTS_ENDPOINT="127.0.0.1:${n}8737" GOVAUDIT_HEALTH_ENDPOINT="127.0.0.1:$((13133 + n))" \
    GOVAUDIT_PROMETHEUS_ENDPOINT="127.0.0.1:${n}9464" GOVAUDIT_TELEMETRY_PORT="${n}8888" \
    ./bin/otelcol-govaudit --config examples/scale-out/gateway.yaml >"$data/$name/collector.log" 2>&1 &
  pids+=($!)
}
gateway gateway-0 1
gateway gateway-1 2
GOVAUDIT_GATEWAYS=127.0.0.1:14317,127.0.0.1:24317 \
  ./bin/otelcol-govaudit --config examples/scale-out/agent.yaml >"$data/agent.log" 2>&1 &
pids+=($!)

cat <<MSG
================================================================================
 govaudit scale-out (development keys in $keys)
   agent      OTLP ${GOVAUDIT_OTLP_GRPC_ENDPOINT:-127.0.0.1:4317} (gRPC), ${GOVAUDIT_OTLP_HTTP_ENDPOINT:-127.0.0.1:4318} (HTTP)   log $data/agent.log
   gateway-0  OTLP 127.0.0.1:14317, mlevents 127.0.0.1:18737   $data/gateway-0/
   gateway-1  OTLP 127.0.0.1:24317, mlevents 127.0.0.1:28737   $data/gateway-1/
   mlevents token: $keys/mlevents.token    public key: $keys/signing.pub
   archive: $archive
 Send OTLP to the agent; Ctrl-C stops all three, sealing the gateways' files.
 Then verify both origins as one archive (README.md):
   $verify
================================================================================
MSG
# When one of them stops, stop the others too: after Ctrl-C (which reaches
# all three) that is the clean end; an error (a port in use, a bad key) is
# in the logs.
set +e
wait -n
rc=$?
if [ $rc -ne 0 ]; then
  echo "a collector exited with status $rc; stopping the others (logs in $data)" >&2
  exit 1
fi
