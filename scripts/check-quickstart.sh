#!/usr/bin/env bash
# scripts/check-quickstart.sh
#
# End-to-end check of `examples/quickstart.rs` against the real Prometheus
# ecosystem:
#   1. builds the example and starts it on a free loopback port
#      (--addr 127.0.0.1:0, the real port is read from the URL it prints);
#   2. fetches /metrics with no Accept header (Prometheus text 0.0.4) and with
#      `Accept: application/openmetrics-text; version=1.0.0` (OpenMetrics),
#      and checks the status and exact Content-Type of both;
#   3. validates both bodies with scripts/peers/validate-exposition.sh
#      (promtool + the Python reference parsers), the OpenMetrics one also
#      with --scrape (a real Prometheus scrapes a copy of it);
#   4. has a real Prometheus scrape the running example itself and checks
#      that the target is up and the summary arrived.
# Prints PASS/FAIL lines; exits 0 when everything passed, 1 otherwise.
# Needs scripts/peers/install.sh to have run (promtool, prometheus, venv).
# Environment: PEERS_DIR overrides where the peers scripts are.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/.." && pwd))"
PEERS="${PEERS_DIR:-$ROOT/scripts/peers}"

failures=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
die() { echo "FAIL $*"; echo "check-quickstart: FAILED (setup)"; exit 1; }

[ -x "$PEERS/validate-exposition.sh" ] || die "no peers scripts at $PEERS"
command -v promtool >/dev/null 2>&1 || die "promtool is not installed; run $PEERS/install.sh"
command -v curl >/dev/null 2>&1 || die "curl is not installed"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/check-quickstart.XXXXXX")"
QS_PID=""
PROM_PIDFILE=""
cleanup() {
  if [ -n "$QS_PID" ] && kill -0 "$QS_PID" 2>/dev/null; then
    kill "$QS_PID" 2>/dev/null || true
    wait "$QS_PID" 2>/dev/null || true
  fi
  if [ -n "$PROM_PIDFILE" ]; then
    "$PEERS/stop.sh" "$PROM_PIDFILE" || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- build --------------------------------------------------------------
cd "$ROOT"
if ! cargo build --example quickstart --message-format=json-render-diagnostics >"$WORK/build.json"; then
  die "cargo build --example quickstart"
fi
# The artifact line of the example names its executable (wherever the target
# directory is).
EXE="$(grep '"kind":\["example"\]' "$WORK/build.json" | grep '"name":"quickstart"' \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)"
[ -n "$EXE" ] && [ -x "$EXE" ] || die "cannot find the quickstart executable in cargo's output"
pass "build quickstart"

# --- start --------------------------------------------------------------
"$EXE" --addr 127.0.0.1:0 >"$WORK/stdout" 2>"$WORK/stderr" </dev/null &
QS_PID=$!

URL=""
for _ in $(seq 1 300); do
  URL="$(sed -n 's|^serving metrics on \(http://[^ ]*\)$|\1|p' "$WORK/stdout" | head -n 1)"
  [ -n "$URL" ] && break
  kill -0 "$QS_PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$URL" ]; then
  cat "$WORK/stderr" >&2
  die "quickstart did not print its URL"
fi
HOSTPORT="${URL#http://}"
HOSTPORT="${HOSTPORT%%/*}"
pass "quickstart started: $URL"

# Waits until /metrics answers 200 and the labelled counter has a child (the
# first request takes up to a second).
ready=0
for _ in $(seq 1 100); do
  if curl -fsS --max-time 5 -o "$WORK/probe" "$URL" 2>"$WORK/probe.err" \
      && grep -q '^promdecl_quickstart_requests_total{' "$WORK/probe"; then
    ready=1
    break
  fi
  kill -0 "$QS_PID" 2>/dev/null || break
  sleep 0.1
done
if [ "$ready" != 1 ]; then
  sed 's/^/  /' "$WORK/probe.err"
  head -n 20 "$WORK/stderr" | sed 's/^/  quickstart: /'
  die "/metrics did not answer with the quickstart's metrics"
fi
pass "/metrics answers"

# --- fetch and check both formats ----------------------------------------
# fetch NAME EXPECTED_CONTENT_TYPE [curl args...]
fetch() {
  local name="$1" want="$2" status ctype
  shift 2
  if ! status="$(curl -sS --max-time 10 -D "$WORK/$name.headers" -o "$WORK/$name" \
      -w '%{http_code}' "$@" "$URL")"; then
    fail "$name: curl failed"
    return 1
  fi
  if [ "$status" != 200 ]; then
    fail "$name: HTTP status $status, expected 200"
    return 1
  fi
  ctype="$(sed -n 's/^[Cc]ontent-[Tt]ype:[[:space:]]*//p' "$WORK/$name.headers" | tr -d '\r' | tail -n 1)"
  if [ "$ctype" = "$want" ]; then
    pass "$name: Content-Type: $ctype"
  else
    fail "$name: Content-Type is '$ctype', expected '$want'"
  fi
}

# validate NAME FORMAT [validate-exposition options...]
validate() {
  local name="$1" format="$2"
  shift 2
  if "$PEERS/validate-exposition.sh" --format "$format" "$@" "$WORK/$name" >"$WORK/$name.validate" 2>&1; then
    pass "$name: validate-exposition.sh --format $format $*"
  else
    sed 's/^/  /' "$WORK/$name.validate"
    fail "$name: validate-exposition.sh --format $format $*"
  fi
}

# contains NAME REGEX: the body has a line matching REGEX.
contains() {
  if grep -Eq "$2" "$WORK/$1"; then
    pass "$1: has /$2/"
  else
    fail "$1: no line matches /$2/"
  fi
}

# `-H 'Accept:'` makes curl send no Accept header at all.
if fetch metrics.txt 'text/plain; version=0.0.4; charset=utf-8' -H 'Accept:'; then
  contains metrics.txt '^# TYPE request_processing_seconds summary$'
  contains metrics.txt '^request_processing_seconds_count [1-9]'
  contains metrics.txt '^promdecl_quickstart_requests_total\{path="/[a-z]*"\} [1-9]'
  contains metrics.txt '^promdecl_quickstart_response_size_bytes_bucket\{le="\+Inf"\} [1-9]'
  validate metrics.txt text
fi

if fetch metrics.om 'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores' \
    -H 'Accept: application/openmetrics-text; version=1.0.0'; then
  contains metrics.om '^# EOF$'
  contains metrics.om '^request_processing_seconds_created [0-9]'
  validate metrics.om openmetrics --scrape
fi

# --- a real Prometheus scrapes the running example ------------------------
# Without native histograms Prometheus 2.42 asks for OpenMetrics first, so
# this exercises content negotiation with a real scraper's Accept header.
if PROM_ENV="$(PEERS_OWNER_PID=$$ PROM_FEATURES=exemplar-storage \
    "$PEERS/start-prometheus.sh" --wait-scrape "$HOSTPORT" 2>"$WORK/prometheus.err")"; then
  eval "$PROM_ENV"
  if "$PEERS/prom-query.sh" --expect 1 "$PROM_URL" "up{instance=\"$HOSTPORT\"}" >"$WORK/up" 2>&1; then
    pass "prometheus scrape of the live quickstart: target up"
  else
    sed 's/^/  /' "$WORK/up" "$WORK/prometheus.err"
    fail "prometheus scrape of the live quickstart: target not up"
  fi
  if "$PEERS/prom-query.sh" "$PROM_URL" 'request_processing_seconds_count > 0' >"$WORK/count" 2>&1; then
    pass "prometheus scrape of the live quickstart: request_processing_seconds_count > 0"
  else
    sed 's/^/  /' "$WORK/count"
    fail "prometheus scrape of the live quickstart: no request_processing_seconds_count"
  fi
else
  sed 's/^/  /' "$WORK/prometheus.err"
  fail "start-prometheus.sh --wait-scrape $HOSTPORT"
fi

if ! kill -0 "$QS_PID" 2>/dev/null; then
  head -n 20 "$WORK/stderr" | sed 's/^/  quickstart: /'
  fail "quickstart exited during the checks"
fi

if [ "$failures" -eq 0 ]; then
  echo "check-quickstart: all checks passed"
else
  echo "check-quickstart: $failures check(s) FAILED"
  exit 1
fi
