#!/usr/bin/env bash
# Builds deploy/Containerfile with podman and runs the image for real against a
# PostgreSQL and a Redis on this host: migrate, demo, web (2 granian processes) and a
# worker; then /healthz, /readyz, the demo page and a redirect must answer, and both
# containers must stop on SIGTERM. Exit 0 only if every step passed.
#
#   deploy/check-image.sh                      # PostgreSQL 127.0.0.1:5432, Redis db 14
#   CHECK_IMAGE_PORT=18000 CHECK_IMAGE_REDIS=redis://127.0.0.1:6379/14 deploy/check-image.sh
#
# Machines without registry access (CI sandboxes): build a stand-in for the base image
# from Debian first (see docs/deploy.md, "Building the image offline"); podman uses a
# local image of the same name before pulling. Extra podman options (for sandboxes that
# cannot set rlimits or cgroups) go in CHECK_IMAGE_PODMAN and CHECK_IMAGE_RUN.
set -euo pipefail
cd "$(dirname "$0")/.."

PODMAN=${CHECK_IMAGE_PODMAN:-podman}
RUN_OPTS=${CHECK_IMAGE_RUN:-}
BUILD_OPTS=${CHECK_IMAGE_BUILD:-}
IMAGE=${CHECK_IMAGE_TAG:-localhost/launchlink:check}
PORT=${CHECK_IMAGE_PORT:-18000}
PG_ADMIN=${CHECK_IMAGE_PG_ADMIN:-postgresql://postgres@127.0.0.1:5432/test}
PG_DB=launchlink_image_check
REDIS=${CHECK_IMAGE_REDIS:-redis://127.0.0.1:6379/14}
UA="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

cleanup() {
  # shellcheck disable=SC2086
  $PODMAN rm -f ll-check-web ll-check-worker >/dev/null 2>&1 || true
}
trap cleanup EXIT

step "build $IMAGE"
started=$(date +%s)
# shellcheck disable=SC2086
$PODMAN build --pull=missing $BUILD_OPTS -f deploy/Containerfile -t "$IMAGE" . >/tmp/ll-check-build.log 2>&1 \
  || { tail -30 /tmp/ll-check-build.log; fail "image build (log: /tmp/ll-check-build.log)"; }
echo "built in $(( $(date +%s) - started )) s; size: $($PODMAN image inspect "$IMAGE" --format '{{.Size}}') bytes"

step "scratch database $PG_DB"
psql "$PG_ADMIN" -q -c "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB" \
  || fail "PostgreSQL at $PG_ADMIN"
database_url="postgresql+psycopg://${PG_ADMIN#postgresql://}"
database_url="${database_url%/*}/$PG_DB"
env_opts=(-e "LAUNCHLINK_DATABASE_URL=$database_url" -e "LAUNCHLINK_REDIS_URL=$REDIS"
          -e "LAUNCHLINK_PUBLIC_URL=http://127.0.0.1:$PORT")

run() {
  # shellcheck disable=SC2086
  $PODMAN run --network=host $RUN_OPTS "${env_opts[@]}" "$@"
}

step "migrate, demo, doctor"
run --rm "$IMAGE" migrate || fail "migrate"
run --rm "$IMAGE" demo >/dev/null || fail "demo"
# doctor exits 1 here because no service credentials are configured: show it, check it ran.
{ run --rm "$IMAGE" doctor || true; } | tee /dev/stderr | grep -q "^ok	migrations	at head" || fail "doctor"

step "web (2 processes) and a worker"
run -d --name ll-check-web "$IMAGE" web --host 127.0.0.1 --port "$PORT" --workers 2 >/dev/null
run -d --name ll-check-worker "$IMAGE" worker --concurrency 2 >/dev/null
for _ in $(seq 60); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "http://127.0.0.1:$PORT/healthz" || fail "/healthz"
echo
curl -fsS "http://127.0.0.1:$PORT/readyz" | tee /dev/stderr | grep -q '"status": "pass"' || fail "/readyz"
page=$(curl -fsS -A "$UA" -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$PORT/demo")
[[ $page == 200\ * ]] || fail "/demo answered $page"
redirect=$(curl -sS -A "$UA" -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$PORT/demo/spotify")
[[ $redirect == 302\ https://* ]] || fail "/demo/spotify answered $redirect"
echo "page: $page bytes; redirect: $redirect"
$PODMAN logs ll-check-worker 2>&1 | grep -q "fulfilment worker .* started" || fail "worker did not start"

step "SIGTERM"
$PODMAN stop -t 30 ll-check-web ll-check-worker >/dev/null
for name in ll-check-web ll-check-worker; do
  code=$($PODMAN inspect "$name" --format '{{.State.ExitCode}}')
  [[ $code == 0 ]] || fail "$name exited $code on SIGTERM"
done
echo "image check passed"
