#!/usr/bin/env bash
# Registers (or updates) the Tandem Debezium connectors with the Kafka Connect REST API.
#
#   CONNECT_URL=http://localhost:8083 infra/debezium/register-connectors.sh [CONFIG.json ...]
#
# Idempotent: PUT /connectors/<name>/config creates the connector or replaces its config.
# Each JSON file is a flat connector config whose "name" key is the connector name.
# Waits up to CONNECT_WAIT_SECONDS (default 180) for Connect to answer.
set -euo pipefail

CONNECT_URL="${CONNECT_URL:-http://localhost:8083}"
CONNECT_WAIT_SECONDS="${CONNECT_WAIT_SECONDS:-180}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RESPONSE="$(mktemp)"
trap 'rm -f "${RESPONSE}"' EXIT

if [ "$#" -gt 0 ]; then
  CONFIGS=("$@")
else
  CONFIGS=("${HERE}/legacy-postgres-connector.json" "${HERE}/revamp-mysql-connector.json")
fi

echo "waiting for Kafka Connect at ${CONNECT_URL} ..."
deadline=$(( $(date +%s) + CONNECT_WAIT_SECONDS ))
until curl -fs -o /dev/null "${CONNECT_URL}/connectors"; do
  if [ "$(date +%s)" -ge "${deadline}" ]; then
    echo "Kafka Connect did not answer at ${CONNECT_URL} within ${CONNECT_WAIT_SECONDS}s" >&2
    exit 1
  fi
  sleep 2
done

for config in "${CONFIGS[@]}"; do
  name="$(sed -n 's/^[[:space:]]*"name"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "${config}" \
    | head -n 1)"
  if [ -z "${name}" ]; then
    echo "${config}: no \"name\" key" >&2
    exit 1
  fi
  echo "registering ${name} from ${config}"
  status="$(curl -sS -o "${RESPONSE}" -w '%{http_code}' -X PUT \
    -H 'Content-Type: application/json' --data @"${config}" \
    "${CONNECT_URL}/connectors/${name}/config")"
  if [ "${status}" != "200" ] && [ "${status}" != "201" ]; then
    echo "registering ${name} failed with HTTP ${status}:" >&2
    cat "${RESPONSE}" >&2
    echo >&2
    exit 1
  fi
  echo "${name}: HTTP ${status}"
done
