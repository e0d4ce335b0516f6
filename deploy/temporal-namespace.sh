#!/bin/sh
# One-shot: the namespace the app uses exists, run by the `temporal-namespace` service
# (image temporalio/admin-tools) once the server answers. The server image, unlike the
# deprecated auto-setup image, creates none. Idempotent: an existing namespace is kept
# as it is (its retention included).
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS: the frontend, host:port}"
: "${NAMESPACE:?NAMESPACE: the namespace to create, as SOPORTE_TEMPORAL_NAMESPACE}"
RETENTION="${RETENTION:-30d}"
ATTEMPTS="${ATTEMPTS:-30}"

tries=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge "$ATTEMPTS" ]; then
    echo "temporal-namespace: $TEMPORAL_ADDRESS is not serving after $ATTEMPTS tries" >&2
    exit 1
  fi
  sleep 2
done

if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" \
    --namespace "$NAMESPACE" >/dev/null 2>&1; then
  echo "temporal-namespace: $NAMESPACE exists"
else
  temporal operator namespace create --address "$TEMPORAL_ADDRESS" \
    --namespace "$NAMESPACE" --retention "$RETENTION"
  echo "temporal-namespace: created $NAMESPACE (retention $RETENTION)"
fi
