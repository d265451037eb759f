#!/usr/bin/env bash
# What the macros cost at compile time: a `metrics!` block of 500 metrics in
# 50 modules against the same metrics written by hand with the runtime's
# builders (a `LazyLock` static per metric, registered in the default
# registry on first use).
#
#   scripts/macro-cost.sh [RUNS]
#
# Both programs are crates of their own under $WORK (default
# /tmp/promdecl-macro-cost), sharing one target directory whose
# dependencies are built first, untimed. Each timed build recompiles only
# the program's own crate (its source is touched; no incremental cache), in
# debug, RUNS times
# (default 3); the medians of wall-clock and CPU seconds (user + system, which
# a busy machine disturbs less) are printed, with the load average.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-3}"
work="${WORK:-/tmp/promdecl-macro-cost}"
modules=50
per_module=10
rm -rf "$work"
mkdir -p "$work/declared/src" "$work/handwritten/src"

cat >"$work/Cargo.toml" <<TOML
[workspace]
members = ["declared", "handwritten"]
resolver = "2"
TOML
for p in declared handwritten; do
    cat >"$work/$p/Cargo.toml" <<TOML
[package]
name = "$p"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
promdecl = { path = "$here", default-features = false }
TOML
done

labels='use promdecl::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq, Hash, LabelValue)]
#[label(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, LabelSet)]
pub struct Route {
    pub method: Method,
}
'

# Per module: 4 counters (2 labelled), 3 gauges, 3 histograms (1 labelled).
{
    printf '%s\npromdecl::metrics! {\n' "$labels"
    for m in $(seq 0 $((modules - 1))); do
        printf '    /// Module %s.\n    #[metrics(namespace = "app", subsystem = "m%s")]\n    pub mod m%s {\n' "$m" "$m" "$m"
        for i in 0 1; do printf '        /// Counter.\n        pub static C%s_TOTAL: Counter;\n' "$i"; done
        for i in 2 3; do printf '        /// Labelled counter.\n        pub static C%s_TOTAL: Counter<super::Route>;\n' "$i"; done
        for i in 4 5 6; do printf '        /// Gauge.\n        pub static G%s: Gauge;\n' "$i"; done
        for i in 7 8; do printf '        /// Histogram.\n        #[buckets(0.01, 0.1, 1)]\n        pub static H%s_SECONDS: Histogram;\n' "$i"; done
        printf '        /// Labelled histogram.\n        #[buckets(0.01, 0.1, 1)]\n        pub static H9_SECONDS: Histogram<super::Route>;\n'
        printf '    }\n'
    done
    printf '}\n\nfn main() {\n'
    for m in $(seq 0 $((modules - 1))); do
        printf '    m%s::C0_TOTAL.inc();\n    m%s::C2_TOTAL.labels(&Route { method: Method::Get }).inc();\n' "$m" "$m"
    done
    printf '    println!("{}", default_registry().get_sample_value("app_m0_c0_total", &[]).unwrap());\n}\n'
} >"$work/declared/src/main.rs"

{
    printf '%s\nuse std::sync::LazyLock;\n\n' "$labels"
    for m in $(seq 0 $((modules - 1))); do
        printf '/// Module %s.\npub mod m%s {\n    use super::*;\n\n' "$m" "$m"
        for i in 0 1; do
            printf '    /// Counter.\n    pub static C%s_TOTAL: LazyLock<Counter> =\n        LazyLock::new(|| Counter::builder("app_m%s_c%s_total", "Counter.").register(default_registry()).unwrap());\n' "$i" "$m" "$i"
        done
        for i in 2 3; do
            printf '    /// Labelled counter.\n    pub static C%s_TOTAL: LazyLock<Counter<Route>> = LazyLock::new(|| {\n        Counter::builder("app_m%s_c%s_total", "Labelled counter.").label_set::<Route>().register(default_registry()).unwrap()\n    });\n' "$i" "$m" "$i"
        done
        for i in 4 5 6; do
            printf '    /// Gauge.\n    pub static G%s: LazyLock<Gauge> =\n        LazyLock::new(|| Gauge::builder("app_m%s_g%s", "Gauge.").register(default_registry()).unwrap());\n' "$i" "$m" "$i"
        done
        for i in 7 8; do
            printf '    /// Histogram.\n    pub static H%s_SECONDS: LazyLock<Histogram> = LazyLock::new(|| {\n        Histogram::builder("app_m%s_h%s_seconds", "Histogram.").buckets([0.01, 0.1, 1.0]).register(default_registry()).unwrap()\n    });\n' "$i" "$m" "$i"
        done
        printf '    /// Labelled histogram.\n    pub static H9_SECONDS: LazyLock<Histogram<Route>> = LazyLock::new(|| {\n        Histogram::builder("app_m%s_h9_seconds", "Labelled histogram.")\n            .buckets([0.01, 0.1, 1.0])\n            .label_set::<Route>()\n            .register(default_registry())\n            .unwrap()\n    });\n' "$m"
        printf '}\n\n'
    done
    printf 'fn main() {\n'
    for m in $(seq 0 $((modules - 1))); do
        printf '    m%s::C0_TOTAL.inc();\n    m%s::C2_TOTAL.labels(&Route { method: Method::Get }).inc();\n' "$m" "$m"
    done
    printf '    println!("{}", default_registry().get_sample_value("app_m0_c0_total", &[]).unwrap());\n}\n'
} >"$work/handwritten/src/main.rs"

export CARGO_TARGET_DIR="$work/target"
# Without incremental compilation, a touched source is compiled from scratch.
export CARGO_INCREMENTAL=0
(cd "$work" && cargo build -q --workspace)
for p in declared handwritten; do
    out="$(cd "$work" && cargo run -q -p "$p")"
    [ "$out" = 1 ] || { echo "$p printed $out, not 1" >&2; exit 1; }
done

median() {
    printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}

printf '%-12s %8s %8s  %s\n' program wall-s cpu-s "load average at start"
for p in declared handwritten; do
    walls=()
    cpus=()
    for _ in $(seq "$runs"); do
        touch "$work/$p/src/main.rs"
        load="$(cut -d' ' -f1-3 /proc/loadavg)"
        (cd "$work" && /usr/bin/time -o "$work/time" -f '%e %U %S' cargo build -q -p "$p")
        read -r wall user sys <"$work/time"
        cpu="$(echo "$user + $sys" | bc)"
        walls+=("$wall")
        cpus+=("$cpu")
        printf '%-12s %8.2f %8.2f  %s\n' "$p" "$wall" "$cpu" "$load"
    done
    printf '%-12s %8.2f %8.2f  median of %s; %s lines of source\n' "$p" "$(median "${walls[@]}")" "$(median "${cpus[@]}")" \
        "$runs" "$(wc -l <"$work/$p/src/main.rs")"
done
rm -rf "$work"
