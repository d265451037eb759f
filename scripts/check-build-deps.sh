#!/usr/bin/env bash
# What a user's build pulls in: one major version of syn with the default
# features and with none, and without default features neither the process
# collector's /proc parser (procfs, rustix) nor anything else a program that
# only counts does not need.
#
#   scripts/check-build-deps.sh [CHECKOUT]
#
# Reads `cargo tree` only (no build); prints PASS/FAIL lines and exits
# non-zero on a failure.
set -uo pipefail

dir="$(cd "${1:-$(dirname "$0")/..}" && pwd)"
cd "$dir" || exit 2
failed=0

check() { # NAME COMMAND...
    local name="$1"
    shift
    if "$@"; then echo "PASS $name"; else echo "FAIL $name"; failed=1; fi
}

tree() { cargo tree -q -p promdecl -e normal,build --prefix none "$@" | sed 's/ (\*)$//; s/ (proc-macro)$//' | sort -u; }

one_syn() {
    local majors
    majors="$(tree "$@" | awk '$1 == "syn" { split($2, v, "."); print v[1] }' | sort -u)"
    [ "$(printf '%s\n' "$majors" | grep -c .)" -le 1 ] || { echo "  syn majors: $(echo $majors)"; return 1; }
}

lacks() { # CRATE FEATURE-ARGS...
    local crate="$1"
    shift
    ! tree "$@" | grep -q "^$crate v" || { echo "  $crate is in the tree"; return 1; }
}

check "one syn major with the default features" one_syn
check "one syn major without default features" one_syn --no-default-features
for crate in procfs rustix foldhash thiserror; do
    check "no $crate without default features" lacks "$crate" --no-default-features
done
check "the process collector's procfs with the default features" \
    bash -c "cargo tree -q -p promdecl -e normal --prefix none | grep -q '^procfs v'"
exit "$failed"
