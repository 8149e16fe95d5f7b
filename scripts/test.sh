#!/usr/bin/env bash
# `npm test`: provisions both Docker Engine / Compose pairs of scripts/test-matrix.env, builds,
# typechecks and lints, then runs
#   1. the modern pass: the whole suite (every vitest project: unit and integration) on Engine 26
#      + the Compose v2 plugin, on the local socket;
#   2. the legacy pass: the integration files below, which cover every Compose call path, on
#      Engine 20.10 (its own socket) with Compose forced to v1 (`docker-compose`).
# The agent image's local bases (scripts/build-base-image.sh, Debian packages) build in the
# background from the start, so the image test (test/integration/agent-image.test.ts, in the modern
# pass) finds them ready; DRIFTD_TEST_IMAGE=0 skips both.
# Each pass's duration is printed; the exit code is the first failure's.
#
#   bash scripts/test.sh                      # both passes (npm test, CI)
#   bash scripts/test.sh modern [vitest args] # one pass: e.g. `modern --project unit`
#   bash scripts/test.sh legacy [files…]      # the legacy pass, or these files on the legacy pair
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=test-matrix.env
. scripts/test-matrix.env

# The legacy pass: one file per Compose call path (a file may cover several).
readonly LEGACY_FILES=(
  test/integration/smoke-compose.test.ts       # detection, config, pull, up, ps, down, a failed up
  test/integration/drift-check.test.ts         # ps/inspect normalization: stacks deployed by hand and by driftd, zero drift
  test/integration/sync-lifecycle.test.ts      # up of one changed service, health gate, rollback
  test/integration/sync-policy.test.ts         # rollback pins, manual approval, prune (down)
  test/integration/sync-pull.test.ts           # pull decisions and pull_policy
  test/integration/sync-failures.test.ts       # a failed pull, invalid Compose in one stack
  test/integration/sync-recovery.test.ts       # SIGKILL during compose up: recovery
  test/integration/sync-compose-detect.test.ts # the detection remembered across processes
  test/integration/lock-deploy.test.ts         # up with locked digests (the generated override file)
  test/integration/engine-client.test.ts       # driftd's engine client on API 1.41
  test/integration/smoke-docker.test.ts        # the test support's engine access
)

elapsed() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# The modern pass uses what users get by default: Compose detected (the v2 plugin), the local engine.
modern_pass() {
  local rc=0 start=$SECONDS what=${*:-whole suite}
  env -u DRIFTD_COMPOSE_COMMAND npx vitest run "$@" || rc=$?
  echo "test: modern pass (Engine $MODERN_ENGINE_VERSION* + Compose $MODERN_COMPOSE_VERSION*, $what): exit $rc in $(elapsed $((SECONDS - start)))"
  return "$rc"
}

legacy_pass() {
  local rc=0 start=$SECONDS files=("$@")
  ((${#files[@]})) || files=("${LEGACY_FILES[@]}")
  DOCKER_HOST=$LEGACY_DOCKER_HOST DRIFTD_COMPOSE_COMMAND=docker-compose npx vitest run --project integration "${files[@]}" || rc=$?
  echo "test: legacy pass (Engine $LEGACY_ENGINE_VERSION* + Compose $LEGACY_COMPOSE_VERSION*, ${#files[@]} integration files): exit $rc in $(elapsed $((SECONDS - start)))"
  return "$rc"
}

# Starts scripts/build-base-image.sh in the background (it takes a lock: the image test's own call
# waits for it and then finds the images). Sets BASE_PID and BASE_LOG.
start_base_image_build() {
  BASE_PID='' BASE_LOG=''
  [[ ${DRIFTD_TEST_IMAGE:-1} != 0 ]] || return 0
  BASE_LOG=$(mktemp "${TMPDIR:-/tmp}/driftd-base-image.XXXXXX")
  BASE_START=$SECONDS
  bash scripts/build-base-image.sh >"$BASE_LOG" 2>&1 &
  BASE_PID=$!
  echo "test: building the agent image's local bases in the background (log: $BASE_LOG)"
}

wait_base_image_build() {
  [[ -n $BASE_PID ]] || return 0
  local rc=0
  wait "$BASE_PID" || rc=$?
  echo "test: agent image bases (background): exit $rc in $(elapsed $((SECONDS - BASE_START)))"
  if ((rc != 0)); then tail -n 20 "$BASE_LOG"; else rm -f "$BASE_LOG"; fi
}

case ${1:-all} in
  modern)
    shift
    bash scripts/test-env.sh
    modern_pass "$@"
    ;;
  legacy)
    shift
    DRIFTD_TEST_ENGINE=legacy bash scripts/test-env.sh
    legacy_pass "$@"
    ;;
  all)
    # Legacy first: (re)starting a dockerd that has default-address-pools can delete the host's
    # docker0, and the modern engine's provisioning then notices and restarts that engine.
    DRIFTD_TEST_ENGINE=legacy bash scripts/test-env.sh
    bash scripts/test-env.sh
    start_base_image_build
    trap 'wait_base_image_build' EXIT
    npm run build
    npm run typecheck
    npm run lint
    rc=0
    modern_pass || rc=$?
    legacy_pass || { ((rc != 0)) || rc=$?; }
    exit "$rc"
    ;;
  *)
    echo "usage: bash scripts/test.sh [all | modern [vitest args] | legacy [files…]]" >&2
    exit 64
    ;;
esac
