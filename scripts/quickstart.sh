#!/usr/bin/env bash
# Runs the quickstart collector (make run): creates development keys on first
# run, prints where everything is, then runs otelcol-govaudit in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${GOVAUDIT_DATA:-./data}
# Stop before anything else when a port is taken: the collector would only
# say "address already in use". A port that accepts a connection is taken.
busy=0
for v in GOVAUDIT_OTLP_GRPC_ENDPOINT=127.0.0.1:4317 GOVAUDIT_OTLP_HTTP_ENDPOINT=127.0.0.1:4318 \
  GOVAUDIT_MLEVENTS_ENDPOINT=127.0.0.1:8737 GOVAUDIT_HEALTH_ENDPOINT=127.0.0.1:13133 \
  GOVAUDIT_PROMETHEUS_ENDPOINT=127.0.0.1:9464; do
  name=${v%%=*}
  ep=${!name:-${v#*=}}
  host=${ep%:*} port=${ep##*:}
  case $host in "" | 0.0.0.0 | "[::]") host=127.0.0.1 ;; esac
  if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
    echo "quickstart: $ep ($name) is in use by another process (often a second collector)" >&2
    busy=1
  fi
done
if [ $busy = 1 ]; then
  cat >&2 <<HINT
quickstart: stop that process, or move the port in this terminal and in the one you send from, e.g.
  export GOVAUDIT_OTLP_HTTP_ENDPOINT=127.0.0.1:14318
  make run
(README.md lists every GOVAUDIT_* variable; a second collector also needs its own GOVAUDIT_DATA)
HINT
  exit 1
fi
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
   mlevents   ${GOVAUDIT_MLEVENTS_ENDPOINT:-127.0.0.1:8737}    health     ${GOVAUDIT_HEALTH_ENDPOINT:-127.0.0.1:13133}
   metrics    ${GOVAUDIT_PROMETHEUS_ENDPOINT:-127.0.0.1:9464}
   (each one set by the GOVAUDIT_* variable shown in README.md; "address already in use"
    means another process holds that port: stop it or set the variable)
   archive    $data/audit
   public key $data/keys/govaudit-dev.pub   (give this to auditors)
   ${fresh:+created }signing key  $data/keys/govaudit-dev.key and digest key $data/keys/digest.key
   !! These are DEVELOPMENT keys, created on this machine for trying govaudit.
   !! In production, create keys with 'govaudit keygen' and keep them in a secret store.

 Ready when the log says "Everything is ready". Records are archived when their file
 is sealed, within 10 s of arrival (rotation max_age) or at Ctrl-C; until then
 verify and query say they are pending.
 verify:  ./bin/govaudit verify --key $data/keys/govaudit-dev.pub $data/audit
 query:   ./bin/govaudit query $data/audit --user alice
 help:    ./bin/govaudit help
================================================================================
MSG
exec ./bin/otelcol-govaudit --config examples/quickstart.yaml
