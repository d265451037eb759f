#!/usr/bin/env bash
# Cold debug build of a one-counter program with promdecl and with the other
# Rust Prometheus crates, one after another: seconds and crate count.
#
#   scripts/build-cost.sh [PROMDECL_DIR] [RUNS]
#   PROGRAMS="promdecl-minimal prometheus-defaults" scripts/build-cost.sh   # some only
#
# PROMDECL_DIR is the checkout to measure (default: this repository); RUNS
# builds per program (default 2; the medians are printed). Each program is a
# crate of its own under $WORK (default /tmp/promdecl-build-cost) with its own
# target directory, deleted after every build, so each build is cold; the
# registry downloads are fetched before the clock starts. Two times are
# printed: wall-clock seconds, and the CPU seconds (user + system) of cargo
# and every compiler it ran, which depend much less on what else the machine
# is doing. The load average is printed with each build: on a shared
# machine, compare wall-clock times only at a similar load.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
promdecl="$(cd "${1:-$here}" && pwd)"
runs="${2:-2}"
work="${WORK:-/tmp/promdecl-build-cost}"
rm -rf "$work"
mkdir -p "$work"

# new_crate NAME DEPENDENCY-LINE MAIN-RS
new_crate() {
    mkdir -p "$work/$1/src"
    cat >"$work/$1/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
$2

[workspace]
TOML
    printf '%s\n' "$3" >"$work/$1/src/main.rs"
}

promdecl_main='use promdecl::prelude::*;

promdecl::metrics! {
    /// The program.
    pub mod app {
        /// Requests served.
        pub static REQUESTS_TOTAL: Counter;
    }
}

fn main() {
    app::REQUESTS_TOTAL.inc();
    print!("{}", promdecl::encode::encode_to_string(default_registry(), promdecl::encode::Format::TEXT));
}'

new_crate promdecl-defaults "promdecl = { path = \"$promdecl\" }" "$promdecl_main"
new_crate promdecl-minimal "promdecl = { path = \"$promdecl\", default-features = false }" "$promdecl_main"

new_crate prometheus-defaults 'prometheus = "0.14"' 'fn main() {
    let requests = prometheus::register_int_counter!("requests_total", "Requests served.").unwrap();
    requests.inc();
    let mut text = String::new();
    prometheus::TextEncoder::new().encode_utf8(&prometheus::gather(), &mut text).unwrap();
    print!("{text}");
}'

new_crate prometheus-client-defaults 'prometheus-client = "0.23"' 'use prometheus_client::{encoding::text::encode, metrics::counter::Counter, registry::Registry};

fn main() {
    let mut registry = Registry::default();
    let requests: Counter = Counter::default();
    registry.register("requests", "Requests served", requests.clone());
    requests.inc();
    let mut text = String::new();
    encode(&mut text, &registry).unwrap();
    print!("{text}");
}'

new_crate measured-defaults 'measured = "0.0.22"' 'use measured::{text::BufferedTextEncoder, Counter, MetricGroup};

#[derive(MetricGroup, Default)]
struct Metrics {
    /// Requests served.
    requests: Counter,
}

fn main() {
    let metrics = Metrics::default();
    metrics.requests.inc();
    let mut enc = BufferedTextEncoder::new();
    metrics.collect_group_into(&mut enc).unwrap();
    print!("{}", String::from_utf8_lossy(&enc.finish()));
}'

median() {
    printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}

programs=(${PROGRAMS:-promdecl-defaults promdecl-minimal prometheus-defaults prometheus-client-defaults measured-defaults})
for p in "${programs[@]}"; do
    (cd "$work/$p" && cargo fetch -q)
done

printf '%-28s %8s %8s %7s  %s\n' program wall-s cpu-s crates "load average (1/5/15 min) at start"
for p in "${programs[@]}"; do
    walls=()
    cpus=()
    for _ in $(seq "$runs"); do
        load="$(cut -d' ' -f1-3 /proc/loadavg)"
        (cd "$work/$p" && CARGO_TARGET_DIR="$work/$p/target" /usr/bin/time -o "$work/time" -f '%e %U %S' cargo build -q --offline)
        read -r wall user sys <"$work/time"
        cpu="$(echo "$user + $sys" | bc)"
        walls+=("$wall")
        cpus+=("$cpu")
        crates="$(cd "$work/$p" && cargo tree -q --offline --prefix none -e normal,build | sort -u | wc -l)"
        printf '%-28s %8.2f %8.2f %7s  %s\n' "$p" "$wall" "$cpu" "$crates" "$load"
        rm -rf "$work/$p/target"
    done
    printf '%-28s %8.2f %8.2f  median of %s\n' "$p" "$(median "${walls[@]}")" "$(median "${cpus[@]}")" "$runs"
done
