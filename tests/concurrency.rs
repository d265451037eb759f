//! Many writers and a scraper at once: every scrape must be internally
//! consistent and monotonic, and the final counts exact.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use promdecl::encode::{encode_to_string, Format};
use promdecl::{Counter, DynLabels, Gauge, Histogram, Registry, ShardedCounter};

const THREADS: usize = 4;
const INCREMENTS: usize = 100_000;
const WORKERS: [&str; 3] = ["w0", "w1", "w2"];
const BOUNDS: [f64; 3] = [0.25, 0.5, 0.75];
const CHURN: usize = 20_000;

/// Sample lines of a scrape: `name{labels}` -> value, in order.
fn parse(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (head, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("bad sample line {l:?}"));
            (head.to_owned(), value.parse().unwrap_or_else(|e| panic!("bad value in {l:?}: {e}")))
        })
        .collect()
}

/// Checks one scrape on its own and against the previous one; returns it.
fn check_scrape(text: &str, previous: &HashMap<String, f64>) -> HashMap<String, f64> {
    let samples = parse(text);
    let mut seen = HashSet::new();
    for (head, _) in &samples {
        assert!(seen.insert(head.as_str()), "series {head} appears twice in one scrape:\n{text}");
    }
    // Histogram: cumulative buckets never decrease, and `_count` equals the
    // `+Inf` bucket.
    let buckets: Vec<f64> = samples.iter().filter(|(h, _)| h.starts_with("lat_bucket{")).map(|s| s.1).collect();
    assert_eq!(buckets.len(), BOUNDS.len() + 1, "{text}");
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "buckets decrease: {buckets:?}\n{text}");
    let count = samples.iter().find(|(h, _)| h == "lat_count").expect("lat_count").1;
    assert_eq!(count, *buckets.last().unwrap(), "_count differs from the +Inf bucket\n{text}");

    let current: HashMap<String, f64> = samples.into_iter().collect();
    for (head, &before) in previous {
        // Only totals and counts are monotonic (a `_sum` may lag its count,
        // `_created` is not a count).
        let monotonic = head.contains("_total") || head.contains("_bucket") || head.contains("_count");
        if let (true, Some(&now)) = (monotonic, current.get(head)) {
            assert!(now >= before, "{head} went down from {before} to {now}");
        }
    }
    current
}

#[test]
fn writers_and_scraper() {
    let r = Registry::new();
    let c = Counter::builder("c", "C.").register(&r).unwrap();
    let lc: Counter<DynLabels> = Counter::builder("lc", "LC.").labels(["worker"]).register(&r).unwrap();
    let h = Histogram::builder("lat", "L.").buckets(BOUNDS).register(&r).unwrap();
    let sc = ShardedCounter::builder("sc", "SC.").register(&r).unwrap();
    let done = AtomicBool::new(false);
    let started = Instant::now();

    let scrapes = std::thread::scope(|s| {
        let scraper = s.spawn(|| {
            let mut previous = HashMap::new();
            let mut scrapes = 0;
            while !done.load(Ordering::Acquire) {
                let format = if scrapes % 2 == 0 { Format::TEXT } else { Format::OPENMETRICS };
                let text = encode_to_string(&r, format);
                let text = text.strip_suffix("# EOF\n").unwrap_or(&text);
                previous = check_scrape(text, &previous);
                scrapes += 1;
            }
            scrapes
        });
        let writers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (c, lc, h, sc) = (&c, &lc, &h, &sc);
                s.spawn(move || {
                    for i in 0..INCREMENTS {
                        c.inc();
                        lc.with_label_values(&[WORKERS[(t + i) % WORKERS.len()]]).unwrap().inc();
                        h.observe(0.1 + 0.25 * (i % 4) as f64);
                        sc.inc();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Release);
        scraper.join().unwrap()
    });
    assert!(scrapes > 0);
    eprintln!("{scrapes} consistent scrapes in {:?}", started.elapsed());

    let total = (THREADS * INCREMENTS) as f64;
    assert_eq!(r.get_sample_value("c_total", &[]), Some(total));
    assert_eq!(r.get_sample_value("sc_total", &[]), Some(total));
    let per_worker: f64 = WORKERS.iter().map(|w| r.get_sample_value("lc_total", &[("worker", w)]).unwrap()).sum();
    assert_eq!(per_worker, total);
    assert_eq!(lc.len(), WORKERS.len());
    // i % 4 == 0 -> 0.1, 1 -> 0.35, 2 -> 0.6, 3 -> 0.85
    let quarter = total / 4.0;
    assert_eq!(r.get_sample_value("lat_bucket", &[("le", "0.25")]), Some(quarter));
    assert_eq!(r.get_sample_value("lat_bucket", &[("le", "0.5")]), Some(2.0 * quarter));
    assert_eq!(r.get_sample_value("lat_bucket", &[("le", "0.75")]), Some(3.0 * quarter));
    assert_eq!(r.get_sample_value("lat_bucket", &[("le", "+Inf")]), Some(total));
    assert_eq!(r.get_sample_value("lat_count", &[]), Some(total));
    let sum = r.get_sample_value("lat_sum", &[]).unwrap();
    let want = quarter * (0.1 + 0.35 + 0.6 + 0.85);
    assert!((sum - want).abs() < 1e-6 * want, "sum {sum}, want {want}");
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
}

#[test]
fn labelled_children_created_and_removed_while_scraping() {
    let r = Registry::new();
    let g: Gauge<DynLabels> = Gauge::builder("churn", "C.").labels(["k"]).register(&r).unwrap();
    let kept: Counter<DynLabels> = Counter::builder("kept", "K.").labels(["k"]).register(&r).unwrap();
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let scraper = s.spawn(|| {
            let mut previous: HashMap<String, f64> = HashMap::new();
            while !done.load(Ordering::Acquire) {
                let text = encode_to_string(&r, Format::TEXT);
                let mut seen = HashSet::new();
                let mut current = HashMap::new();
                for (head, value) in parse(&text) {
                    assert!(seen.insert(head.clone()), "series {head} twice in one scrape:\n{text}");
                    if head.starts_with("kept_total") {
                        if let Some(&before) = previous.get(&head) {
                            assert!(value >= before, "{head} went down");
                        }
                        current.insert(head, value);
                    }
                }
                previous = current;
            }
        });
        let churners: Vec<_> = (0..2)
            .map(|t| {
                let (g, kept) = (&g, &kept);
                s.spawn(move || {
                    for i in 0..CHURN {
                        let key = format!("t{t}-{}", i % 50);
                        g.with_label_values(&[&key]).unwrap().set(i as f64);
                        kept.with_label_values(&[&key]).unwrap().inc();
                        if i % 3 == 0 {
                            g.remove_label_values(&[&key]).unwrap();
                        }
                        if i % 500 == 0 {
                            g.clear();
                        }
                    }
                })
            })
            .collect();
        for c in churners {
            c.join().unwrap();
        }
        done.store(true, Ordering::Release);
        scraper.join().unwrap();
    });
    assert_eq!(kept.len(), 100);
    for t in 0..2 {
        for k in 0..50 {
            let key = format!("t{t}-{k}");
            assert_eq!(r.get_sample_value("kept_total", &[("k", &key)]), Some((CHURN / 50) as f64), "{key}");
        }
    }
}

#[test]
fn histogram_observations_from_short_lived_threads_add_up() {
    let r = Registry::new();
    let h = Histogram::builder("jobs_seconds", "J.").buckets([1.0, 2.0, 4.0]).register(&r).unwrap();
    // 40 threads in waves of 4: each records 1,000 observations (of 1, 2, 3
    // and 5) and exits, handing its per-thread shard on to the next wave.
    for _wave in 0..10 {
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for i in 0..1000 {
                        h.observe([1.0, 2.0, 3.0, 5.0][i % 4]);
                    }
                });
            }
        });
        // Values of threads that are gone stay.
    }
    assert_eq!(h.count(), 40_000);
    assert_eq!(h.sum(), 10_000.0 * (1.0 + 2.0 + 3.0 + 5.0));
    assert_eq!(h.bucket_counts(), vec![10_000, 20_000, 30_000, 40_000]);
    let text = encode_to_string(&r, Format::TEXT);
    assert!(text.contains("jobs_seconds_bucket{le=\"4.0\"} 30000\n"), "{text}");
    assert!(text.contains("jobs_seconds_count 40000\n"), "{text}");
}

#[test]
fn a_removed_histogram_child_starts_again_from_zero_in_every_thread() {
    let h: Histogram<DynLabels> = Histogram::builder("h", "H.").buckets([1.0]).labels(["k"]).build().unwrap();
    let (recorded, removed) = (std::sync::Barrier::new(3), std::sync::Barrier::new(3));
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..100 {
                    h.with_label_values(&["a"]).unwrap().observe(0.5);
                }
                recorded.wait();
                removed.wait();
                h.with_label_values(&["a"]).unwrap().observe(2.0);
            });
        }
        recorded.wait();
        assert_eq!(h.with_label_values(&["a"]).unwrap().count(), 200);
        assert!(h.remove_label_values(&["a"]).unwrap());
        removed.wait();
    });
    let child = h.with_label_values(&["a"]).unwrap();
    assert_eq!((child.count(), child.sum()), (2, 4.0));
}

/// A lookup racing `clear()` or `remove()` must not keep using the removed
/// child: once the removal has returned, every increment is exposed.
#[test]
fn increments_after_a_racing_clear_or_remove_are_exposed() {
    use std::sync::atomic::AtomicU32;
    const RACE: u32 = 0;
    const STOP: u32 = 1;
    const STOPPED: u32 = 2;
    const INC: u32 = 3;
    const DONE: u32 = 4;
    const QUIT: u32 = 5;
    let c: Counter<DynLabels> = Counter::builder("x", "X.").labels(["k"]).build().unwrap();
    for i in 0..64 {
        c.with_label_values(&[&i.to_string()]).unwrap().inc();
    }
    let phase = AtomicU32::new(RACE);
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut lost = Vec::new();
    std::thread::scope(|s| {
        s.spawn(|| loop {
            match phase.load(Ordering::SeqCst) {
                RACE => c.with_label_values(&["a"]).unwrap().inc(),
                STOP => phase.store(STOPPED, Ordering::SeqCst),
                INC => {
                    (0..1000).for_each(|_| c.with_label_values(&["a"]).unwrap().inc());
                    phase.store(DONE, Ordering::SeqCst);
                }
                QUIT => return,
                _ => std::hint::spin_loop(),
            }
        });
        let mut round = 0;
        while Instant::now() < deadline {
            round += 1;
            std::thread::sleep(Duration::from_micros(50));
            if round % 2 == 0 {
                c.clear();
            } else {
                c.remove(&DynLabels::new(["a"]));
            }
            phase.store(STOP, Ordering::SeqCst);
            while phase.load(Ordering::SeqCst) != STOPPED {
                std::hint::spin_loop();
            }
            let before = c.with_label_values(&["a"]).unwrap().get();
            phase.store(INC, Ordering::SeqCst);
            while phase.load(Ordering::SeqCst) != DONE {
                std::hint::spin_loop();
            }
            let exposed = c.with_label_values(&["a"]).unwrap().get() - before;
            if exposed != 1000.0 {
                lost.push((round, exposed));
            }
            phase.store(RACE, Ordering::SeqCst);
        }
        phase.store(QUIT, Ordering::SeqCst);
    });
    assert!(lost.is_empty(), "rounds that lost increments (round, exposed of 1000): {lost:?}");
}

/// Threads that record into a sharded counter while it is reset: whatever a
/// thread recorded after a reset is still there at the next one, including
/// when a shard passes to a thread that read the epoch before the reset.
#[test]
fn sharded_increments_after_a_reset_survive_shard_handover() {
    use std::sync::atomic::AtomicU64;
    const ROUNDS: usize = 4000;
    let c = ShardedCounter::builder("s", "S.").build().unwrap();
    let round = AtomicU64::new(0);
    let done: Vec<AtomicU64> = (0..ROUNDS).map(|_| AtomicU64::new(0)).collect();
    let stop = AtomicBool::new(false);
    let mut lost = Vec::new();
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                while !stop.load(Ordering::SeqCst) {
                    // Short-lived threads, so shards keep changing hands.
                    std::thread::scope(|t| {
                        for _ in 0..4 {
                            t.spawn(|| {
                                for _ in 0..20 {
                                    let r = round.load(Ordering::SeqCst) as usize;
                                    c.inc();
                                    done[r].fetch_add(1, Ordering::SeqCst);
                                }
                            });
                        }
                    });
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut r = 0;
        while Instant::now() < deadline && r + 1 < ROUNDS {
            std::thread::sleep(Duration::from_micros(300));
            // Every increment that counted itself in round `r` started after
            // the reset that began it, so the counter holds at least them.
            let floor = done[r].load(Ordering::SeqCst) as f64;
            let got = c.get();
            if got < floor {
                lost.push((r, got, floor));
            }
            // Reset first, then open the next round: an increment that reads
            // the new round number started after the reset.
            c.remove(&());
            r += 1;
            round.store(r as u64, Ordering::SeqCst);
        }
        stop.store(true, Ordering::SeqCst);
    });
    assert!(lost.is_empty(), "rounds where the counter lost increments (round, value, at least): {lost:?}");
}
