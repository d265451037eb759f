#!/usr/bin/env bash
# scripts/instructions.sh
#
# Instructions and mispredicted branches per operation for the hot-path
# cases of benches/instructions.rs, under cachegrind (valgrind). Each case
# runs twice, with N1 and N2 iterations, and the difference is divided by
# N2 - N1, so set-up and start-up cancel out. Prints a Markdown table.
#
#   scripts/instructions.sh                 # every case
#   scripts/instructions.sh histogram_observe
#   N1=10 N2=60 scripts/instructions.sh scrape     # a whole scrape per op
#
# Branch mispredictions come from cachegrind's simulated predictor, which is
# simpler than the CPU's: read them as "branches on data", not as a count
# the hardware would make.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }

N1=${N1:-100000}
N2=${N2:-1100000}
bin=$(cargo bench --bench instructions --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "instructions" and m.get("executable"):
        print(m["executable"])')
[ -x "$bin" ] || { echo "could not build benches/instructions.rs" >&2; exit 1; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Prints "Ir Bcm+Bim" for one run.
count() {
    local file=$out/cg
    valgrind --tool=cachegrind --cache-sim=no --branch-sim=yes --cachegrind-out-file="$file" \
        "$bin" "$1" "$2" "$3" >/dev/null 2>&1
    python3 - "$file" <<'PY'
import sys
events = summary = None
for line in open(sys.argv[1]):
    if line.startswith("events:"):
        events = line.split()[1:]
    elif line.startswith("summary:"):
        summary = dict(zip(events, map(int, line.split()[1:])))
print(summary["Ir"], summary.get("Bcm", 0) + summary.get("Bim", 0))
PY
}

echo "| case | crate | instructions/op | mispredicts/op |"
echo "|---|---|---:|---:|"
"$bin" | while IFS=: read -r case crates; do
    if [ $# -gt 0 ] && [ "$case" != "$1" ]; then continue; fi
    # A scrape is millions of instructions: only when asked for, with
    # counts to match (N1=10 N2=60).
    if [ $# -eq 0 ] && [ "$case" = scrape ]; then continue; fi
    for krate in $crates; do
        read -r ir1 bm1 < <(count "$case" "$krate" "$N1")
        read -r ir2 bm2 < <(count "$case" "$krate" "$N2")
        python3 -c "import sys
d = $N2 - $N1
print('| $case | $krate | %.1f | %.2f |' % (($ir2 - $ir1) / d, max(0, $bm2 - $bm1) / d))"
    done
done
