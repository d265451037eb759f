#!/usr/bin/env bash
# scripts/loom.sh: model-checks the runtime's lock-free protocols with loom.
#
# Builds the runtime with `--cfg promdecl_loom`, under which `crate::sync`
# hands out loom's atomics, mutexes and thread-locals, and runs the models
# (the tests named `loom_models::*`) over every interleaving within the
# preemption bound. The models sit next to the code they check:
#   runtime/src/family/loom_models.rs
#   runtime/src/metric/counter.rs (mod loom_models)
#   runtime/src/metric/thread_shards/loom_models.rs
#   runtime/src/metric/quantile_window/loom_models.rs
#
# The build has its own target directory: RUSTFLAGS would otherwise make
# cargo rebuild the whole workspace in the usual one.
#
#   scripts/loom.sh                 # every model
#   scripts/loom.sh lookup_vs       # the models whose name contains this
#   LOOM_MAX_PREEMPTIONS=2 scripts/loom.sh
#
# Extra arguments go to the test binary (a name filter, --nocapture, ...).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export RUSTFLAGS="--cfg promdecl_loom"
export CARGO_TARGET_DIR="${LOOM_TARGET_DIR:-$ROOT/target/loom}"
# Every model explores as many interleavings within this bound as with none
# (exhaustive), in seconds; a model that grows past that should lower it
# rather than take CI's time.
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-12}"

filter=("loom_models::")
if [ "$#" -gt 0 ] && [[ "$1" != -* ]]; then
  filter=("$1")
  shift
fi

exec cargo test -p promdecl-runtime --release --lib -- "${filter[@]}" "$@"
