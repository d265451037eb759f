#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ one after the other, each for a
# bounded time starting from its committed seeds (fuzz/seeds/<target>), and
# prints how many inputs each ran. A crash stops the script with the
# failing input saved under fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh                 each target for $FUZZ_SECONDS (60) seconds
#   scripts/fuzz.sh --replay        each target once over its seeds only
#   scripts/fuzz.sh roundtrip ...   only the targets named
#
# Needs the nightly toolchain; installs cargo-fuzz if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

replay=false
targets=()
for arg in "$@"; do
    case "$arg" in
        --replay) replay=true ;;
        *) targets+=("$arg") ;;
    esac
done
if [ ${#targets[@]} -eq 0 ]; then
    targets=(parse_openmetrics parse_text negotiate roundtrip)
fi
seconds="${FUZZ_SECONDS:-60}"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz.sh: the nightly toolchain is missing; install it with: rustup toolchain install nightly" >&2
    exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo +nightly install cargo-fuzz --locked
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/fuzz"
cd fuzz
summary=()
for target in "${targets[@]}"; do
    log="$(mktemp)"
    if $replay; then
        echo "== $target: replaying seeds/$target"
        cargo +nightly fuzz run -O "$target" "seeds/$target" -- -runs=0 2>&1 | tee "$log"
    else
        corpus="$(mktemp -d)"
        echo "== $target: ${seconds}s from seeds/$target"
        cargo +nightly fuzz run -O "$target" "$corpus" "seeds/$target" -- \
            -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 2>&1 | tee "$log"
        rm -rf "$corpus"
    fi
    runs="$(grep -Eo 'Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' | tail -1 || true)"
    summary+=("$target: ${runs:-?} executions")
    rm -f "$log"
done
echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
