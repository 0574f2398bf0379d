#!/usr/bin/env bash
# Runs the quickstart collector (make run): creates development keys on first
# run, prints where everything is, then runs otelcol-govaudit in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${GOVAUDIT_DATA:-./data}
mkdir -p "$data/keys" "$data/audit" "$data/storage"
chmod 700 "$data/keys"
if [ ! -f "$data/keys/govaudit-dev.key" ]; then
  ./bin/govaudit keygen --name govaudit-dev --out "$data/keys" >/dev/null
  fresh=1
fi
if [ ! -f "$data/keys/digest.key" ]; then
  (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$data/keys/digest.key")
fi
cat <<MSG
================================================================================
 govaudit quickstart
   OTLP gRPC  ${GOVAUDIT_OTLP_GRPC_ENDPOINT:-127.0.0.1:4317}    OTLP HTTP  ${GOVAUDIT_OTLP_HTTP_ENDPOINT:-127.0.0.1:4318}
   archive    $data/audit
   public key $data/keys/govaudit-dev.pub   (give this to auditors)
   ${fresh:+created }signing key  $data/keys/govaudit-dev.key and digest key $data/keys/digest.key
   !! These are DEVELOPMENT keys, created on this machine for trying govaudit.
   !! In production, create keys with 'govaudit keygen' and keep them in a secret store.

 verify:  ./bin/govaudit verify --key $data/keys/govaudit-dev.pub $data/audit
 query:   ./bin/govaudit query $data/audit --format table
================================================================================
MSG
exec ./bin/otelcol-govaudit --config examples/quickstart.yaml
