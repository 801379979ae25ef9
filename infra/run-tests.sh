#!/usr/bin/env bash
# `make test`: every test, in two pytest sessions side by side, each with a private stack of
# its own (PostgreSQL, MariaDB, broker): the end-to-end and chaos tests in one, the rest in
# the other. Most of the suite waits on servers and processes, so on two cores the pair takes
# about the time of the longer one. Extra arguments go to both sessions.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTEST=.venv/bin/pytest
work=$(mktemp -d "${TMPDIR:-/tmp}/tandem-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$PYTEST" tests/e2e tests/chaos --basetemp "$work/e2e" "$@" > "$work/e2e.log" 2>&1 &
e2e=$!
"$PYTEST" tests --ignore tests/e2e --ignore tests/chaos --basetemp "$work/rest" "$@"
rest=$?
wait "$e2e"
e2e_status=$?
echo
echo "=== end-to-end and chaos session ==="
cat "$work/e2e.log"
# 5: nothing collected (arguments such as -k that select tests of the other session only)
[ "$rest" -eq 5 ] && rest=0
[ "$e2e_status" -eq 5 ] && e2e_status=0
if [ "$rest" -ne 0 ] || [ "$e2e_status" -ne 0 ]; then
  echo "make test: failed (unit/acceptance/contract/integration: exit $rest; e2e/chaos: exit $e2e_status)"
  exit 1
fi
