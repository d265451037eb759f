//! A collector that misbehaves on demand (panics, reports a failure, or
//! blocks until released), and a log of what promdecl reports through
//! `tracing`, for the tests of the server and the framework handlers.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use promdecl::encode::{CollectError, MetricEncoder};
use promdecl::{Collector, Counter, Registry};

/// What the next scrape of a [`Trouble`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// Answers its counter.
    Fine = 0,
    /// Panics with [`PANIC_MESSAGE`], once, then is fine again.
    PanicOnce = 1,
    /// Writes its counter, then reports [`FAILURE_MESSAGE`].
    Fail = 2,
    /// Blocks until [`Trouble::release`].
    Block = 3,
}

pub const PANIC_MESSAGE: &str = "the disk collector lost its mind";
pub const FAILURE_MESSAGE: &str = "cannot read /run/metrics/worker-3.db: no such file";

/// A collector with a counter `trouble_total 7`, misbehaving as its mode
/// says. Clones share the mode and the gate.
#[derive(Clone)]
pub struct Trouble {
    registry: Arc<Registry>,
    mode: Arc<AtomicU8>,
    gate: Arc<(Mutex<bool>, Condvar)>,
}

impl Default for Trouble {
    fn default() -> Self {
        let registry = Arc::new(Registry::new());
        Counter::builder("trouble", "T.").register(&registry).unwrap().inc_by(7.0).unwrap();
        Trouble { registry, mode: Arc::new(AtomicU8::new(0)), gate: Arc::new((Mutex::new(false), Condvar::new())) }
    }
}

impl Trouble {
    pub fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Lets every blocked scrape finish, and later ones pass.
    pub fn release(&self) {
        let (open, cv) = &*self.gate;
        *open.lock().unwrap() = true;
        cv.notify_all();
    }
}

/// Releases a [`Trouble`] when dropped: declared after the server, it runs
/// first when a test fails, so that a server stuck on the collector can
/// still stop and the test fails instead of hanging.
pub struct Release(Trouble);

impl Drop for Release {
    fn drop(&mut self) {
        self.0.release();
    }
}

impl Trouble {
    /// See [`Release`].
    pub fn release_on_drop(&self) -> Release {
        Release(self.clone())
    }
}

impl Collector for Trouble {
    fn collect(&self, enc: &mut dyn MetricEncoder) {
        self.registry.collect(enc);
        match self.mode.load(Ordering::SeqCst) {
            1 => {
                self.set(Mode::Fine);
                panic!("{PANIC_MESSAGE}");
            }
            2 => enc.fail(CollectError::new(FAILURE_MESSAGE)),
            3 => {
                let (open, cv) = &*self.gate;
                let _open = cv.wait_while(open.lock().unwrap(), |open| !*open).unwrap();
            }
            _ => {}
        }
    }
}

/// Every event promdecl logged at target `promdecl::http`, rendered as
/// `LEVEL message field=value ...`, once [`capture_logs`] has run.
pub fn logged() -> Vec<String> {
    LOG.get().map(|log| log.lock().unwrap().clone()).unwrap_or_default()
}

static LOG: OnceLock<Mutex<Vec<String>>> = OnceLock::new();

/// Installs, once per test binary, a global `tracing` subscriber that
/// records promdecl's events (scrapes run on threads of their own, so a
/// thread-local subscriber would not see them).
pub fn capture_logs() {
    use tracing_subscriber::layer::SubscriberExt;
    if LOG.set(Mutex::new(Vec::new())).is_ok() {
        let subscriber = tracing_subscriber::registry().with(Capture);
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
    }
}

struct Capture;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if !event.metadata().target().starts_with("promdecl") {
            return;
        }
        struct Fields(String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0.push_str(&format!(" {value:?}"));
                } else {
                    self.0.push_str(&format!(" {}={value:?}", field.name()));
                }
            }
        }
        let mut fields = Fields(event.metadata().level().to_string());
        event.record(&mut fields);
        if let Some(log) = LOG.get() {
            log.lock().unwrap().push(fields.0);
        }
    }
}
