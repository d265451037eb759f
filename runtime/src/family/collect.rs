//! How a family is exposed: its label text, rendered once per dense slot or
//! per map child, and `collect`, which also drops the children idle longer
//! than the family's expiry.

use super::child::Child;
use super::key;
use super::Family;
use crate::collect::MetricCell;
use crate::encode::{EncodeLabels, EscapingScheme, LabelSink, MetricEncoder};
use crate::sync::atomic::Ordering;
use crate::{Collector, LabelSet};

/// The clock expiry reads: monotonic, so that a step of the wall clock (an
/// NTP correction, a suspended VM resuming) neither expires every child at
/// once nor keeps idle ones forever.
#[derive(Debug)]
pub(super) enum ExpiryClock {
    Monotonic(crate::clock::Instant),
    #[cfg(test)]
    Manual(crate::clock::ManualClock),
}

#[cfg(test)]
std::thread_local! {
    /// The clock that families built on this thread read for expiry, in
    /// tests (see [`with_expiry_clock`]).
    static TEST_CLOCK: std::cell::RefCell<Option<crate::clock::ManualClock>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f`, in which the families built on this thread measure idleness
/// on `clock` instead of the monotonic clock.
#[cfg(test)]
pub(crate) fn with_expiry_clock<R>(clock: &crate::clock::ManualClock, f: impl FnOnce() -> R) -> R {
    TEST_CLOCK.with(|c| *c.borrow_mut() = Some(clock.clone()));
    let r = f();
    TEST_CLOCK.with(|c| *c.borrow_mut() = None);
    r
}

impl ExpiryClock {
    pub(super) fn new() -> Self {
        #[cfg(test)]
        if let Some(clock) = TEST_CLOCK.with(|c| c.borrow().clone()) {
            return ExpiryClock::Manual(clock);
        }
        ExpiryClock::Monotonic(crate::clock::now())
    }

    /// Whole seconds since the family was made, plus one: [`Child`] keeps
    /// 0 for "never checked".
    pub(super) fn seconds(&self) -> u64 {
        let elapsed = match self {
            ExpiryClock::Monotonic(start) => crate::clock::now().saturating_duration_since(*start),
            #[cfg(test)]
            ExpiryClock::Manual(clock) => clock.elapsed(),
        };
        elapsed.as_secs().saturating_add(1)
    }
}

/// The labels of a dense slot: prerendered text plus the names and values for
/// sinks that want pairs.
struct DenseLabels<'a, L> {
    names: &'a [Box<str>],
    index: usize,
    rendered: Option<&'a str>,
    _set: std::marker::PhantomData<L>,
}

impl<L: LabelSet> EncodeLabels for DenseLabels<'_, L> {
    fn encode(&self, sink: &mut dyn LabelSink) {
        let mut names = self.names.iter();
        L::visit_dense(self.index, &mut |v| {
            if let Some(n) = names.next() {
                sink.label(n, v)
            }
        });
    }
    fn prerendered(&self) -> Option<&str> {
        self.rendered
    }
}

/// The labels of a map child.
struct ChildLabels<'a> {
    names: &'a [Box<str>],
    prefixes: Option<&'a [Box<str>]>,
    /// The prefixes' bytes and a closing quote each: with the key's
    /// length, room for the labels when no value needs escaping.
    prefix_room: usize,
    key: key::KeyRef<'a>,
}

impl EncodeLabels for ChildLabels<'_> {
    fn encode(&self, sink: &mut dyn LabelSink) {
        self.names.iter().zip(self.key.values()).for_each(|(n, v)| sink.label(n, v));
    }

    fn render(&self, out: &mut Vec<u8>) -> bool {
        let Some(prefixes) = self.prefixes else { return false };
        if self.key.plain() {
            // The values need no escaping: each prefix, value and closing
            // quote go into room reserved once (the key's bytes hold every
            // value and more).
            let max = self.key.bytes().len() + self.prefix_room;
            crate::encode::append_line(out, max, |line| {
                for (p, v) in prefixes.iter().zip(self.key.values()) {
                    line.put(p.as_bytes());
                    line.put(v.as_bytes());
                    line.byte(b'"');
                }
            });
        } else {
            for (p, v) in prefixes.iter().zip(self.key.values()) {
                crate::encode::put(out, p.as_bytes());
                crate::encode::write_label_value(out, v);
                out.push(b'"');
            }
        }
        true
    }
}

pub(super) fn render_dense<L: LabelSet>(names: &[Box<str>], index: usize) -> String {
    let mut buf = Vec::new();
    DenseLabels::<L> { names, index, rendered: None, _set: std::marker::PhantomData }
        .encode(&mut crate::encode::LabelWriter { buf: &mut buf, scheme: EscapingScheme::Underscores });
    String::from_utf8(buf).expect("label text is UTF-8")
}

impl<L: LabelSet, C: MetricCell> Collector for Family<L, C> {
    fn collect(&self, enc: &mut dyn MetricEncoder) {
        let inner = &*self.inner;
        enc.family(&inner.meta.descriptor());
        let names = &inner.meta.labels[..];
        let prefixes = inner.prefixes.as_deref();
        let prefix_room = prefixes.map_or(0, |p| p.iter().map(|p| p.len() + 1).sum());
        match &inner.map {
            None => {
                for (index, slot) in inner.dense.iter().enumerate() {
                    if slot.present.load(Ordering::Relaxed) {
                        let rendered = inner.rendered.get(index).map(|r| &**r);
                        let labels = DenseLabels::<L> { names, index, rendered, _set: std::marker::PhantomData };
                        slot.cell.collect(&inner.config, &labels, enc);
                    }
                }
            }
            Some(map) => {
                let now = inner.clock.seconds();
                let mut expired = Vec::new();
                let mut visible = |child: &Child<C>| match inner.expire_after {
                    Some(expire) if child.expired(now, expire) => {
                        expired.push(child.clone());
                        false
                    }
                    _ => true,
                };
                if C::RUNS_USER_CODE {
                    // Callbacks may touch this family: call them with no shard locked.
                    let mut children = Vec::with_capacity(map.len());
                    map.for_each(|child| {
                        if visible(child) {
                            children.push(child.clone());
                        }
                    });
                    for child in &children {
                        child.cell().collect(
                            &inner.config,
                            &ChildLabels { names, prefixes, prefix_room, key: child.key() },
                            enc,
                        );
                    }
                } else {
                    map.for_each(|child| {
                        if visible(child) {
                            child.cell().collect(
                                &inner.config,
                                &ChildLabels { names, prefixes, prefix_room, key: child.key() },
                                enc,
                            );
                        }
                    });
                }
                if !expired.is_empty() {
                    // Between two new epochs, as every removal: the first
                    // makes a lookup that touches one of these children from
                    // now on either be seen by the checks below or see a new
                    // epoch; the second forgets a child that a lookup found
                    // in the map, just before its removal, and cached under
                    // the first.
                    inner.removing(|| {
                        for child in expired {
                            // Unless it was used again, or a handle took it,
                            // since the check.
                            map.remove_if(&child, |c| !c.touched() && !c.pinned());
                        }
                    });
                }
                if let Some(overflow) = inner.overflow.get() {
                    overflow.cell().collect(
                        &inner.config,
                        &ChildLabels { names, prefixes, prefix_room, key: overflow.key() },
                        enc,
                    );
                }
            }
        }
    }

    fn describe(&self) -> Vec<crate::collect::FamilyDesc> {
        vec![crate::collect::FamilyDesc::new(&self.inner.meta.name, self.inner.meta.kind)]
    }
}

#[cfg(all(test, not(promdecl_loom)))]
mod tests {
    use std::time::Duration;

    use super::with_expiry_clock;
    use crate::clock::ManualClock;
    use crate::{Counter, DynLabels, Registry};

    /// Expiry measures idleness on the family's monotonic clock: here a
    /// manual one, which moves a minute while the wall clock does not.
    /// Reading the wall clock instead, the idle child would never expire in
    /// this test (and any step of the wall clock, such as an NTP
    /// correction, would expire every idle child at once or none for as
    /// long as the step).
    #[test]
    fn idle_children_expire_by_the_monotonic_clock() {
        let clock = ManualClock::new();
        let registry = Registry::new();
        let c: Counter<DynLabels> = with_expiry_clock(&clock, || {
            Counter::builder("sessions", "S.")
                .labels(["session"])
                .expire_after(Duration::from_secs(60))
                .register(&registry)
                .unwrap()
        });
        c.with_label_values(&["idle"]).unwrap().inc();
        let lookup = || registry.get_sample_value("sessions_total", &[("session", "idle")]);
        assert_eq!(lookup(), Some(1.0), "used since the last scrape: idle from now on");
        clock.advance(Duration::from_secs(59));
        assert_eq!(lookup(), Some(1.0), "idle for 59 s of 60");
        clock.advance(Duration::from_secs(1));
        assert_eq!(lookup(), None, "idle for 60 s: expired");
        assert_eq!(c.len(), 0);
    }
}
