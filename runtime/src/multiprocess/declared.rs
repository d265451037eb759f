//! Metrics declared in a `#[metrics(multiprocess)]` module of a `metrics!`
//! block: families with the typed label API of the in-memory metrics whose
//! children write through to the process's files, through the writer
//! installed for the whole process.
//!
//! Each child takes its cell in the file on its first update (or at
//! [`install`](MultiProcessWriterBuilder::install)); from then on an update
//! is one atomic operation on the shared mapping. Before a writer exists, a
//! child keeps its updates in memory (and an error is logged once); the
//! writer's installation moves them into the files, so none is lost.

use std::ptr;
use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock, Weak};

use super::writer::{lock, CounterHandle, GaugeHandle, HistogramHandle, SummaryHandle};
use super::{dir_from_env, GaugeMode, MultiProcessError, MultiProcessWriter, MultiProcessWriterBuilder};
use crate::encode::{Descriptor, EncodeLabels, Extra, MetricEncoder, Number, Sample};
use crate::family::{Family, Inner};
use crate::metric::{
    child_ops, metric_type, ChildValues, Increment, MetricCell, MetricType, Observe, Track, DEFAULT_BUCKETS,
};
use crate::{Collector, Error, FromOpts, LabelSet, Opts};

/// The writer installed for this process; leaked, so that cells can hold
/// `'static` references into its mappings.
static WRITER: AtomicPtr<MultiProcessWriter> = AtomicPtr::new(ptr::null_mut());
/// Installs are one at a time.
static INSTALLING: Mutex<()> = Mutex::new(());
/// Whether an install is building its writer: a first snapshot of its
/// collector then leaves out what declared metrics keep in memory, which
/// the install moves into the files itself (written twice otherwise).
static BUILDING: AtomicBool = AtomicBool::new(false);
/// The one attempt to install a writer from `PROMETHEUS_MULTIPROC_DIR` when
/// a declared metric is first updated with none installed.
static FROM_ENV: Once = Once::new();
/// Every declared family, for [`install`](MultiProcessWriterBuilder::install)
/// to move what their children kept in memory into the files.
static DECLARED: Mutex<Vec<Box<dyn Fn() -> bool + Send + Sync>>> = Mutex::new(Vec::new());
/// Whether the lack of a writer was reported.
static NO_WRITER_REPORTED: AtomicBool = AtomicBool::new(false);
/// Whether a failure to take a cell in a file was reported.
static FAILURE_REPORTED: AtomicBool = AtomicBool::new(false);

impl MultiProcessWriterBuilder {
    /// Builds the writer (see [`build`](Self::build)) and installs it as
    /// this process's writer: the one the metrics declared in a
    /// `#[metrics(multiprocess)]` module write through. Call it in each
    /// worker, after the fork, before the worker updates a declared metric.
    ///
    /// Without a call, the first update of a declared metric installs a
    /// writer built from `PROMETHEUS_MULTIPROC_DIR` (as the Python client
    /// does). Updates made while no writer is installed are kept in memory,
    /// an error is logged once, and this call moves them into the files.
    ///
    /// The writer lives as long as the process; its collector (if any) is
    /// not flushed at exit: call [`MultiProcessWriter::flush`] before
    /// exiting. Write-through metrics need no flush.
    ///
    /// Fails as [`build`](Self::build) does, and with
    /// [`MultiProcessError::AlreadyInstalled`] when this process installed
    /// one already (a writer inherited through `fork()` is replaced).
    ///
    /// ```no_run
    /// use promdecl_runtime::multiprocess::MultiProcessWriter;
    /// // In each worker, right after it starts:
    /// let writer = MultiProcessWriter::builder().dir("/run/metrics").install()?;
    /// assert!(MultiProcessWriter::installed().is_some());
    /// # Ok::<(), promdecl_runtime::multiprocess::MultiProcessError>(())
    /// ```
    pub fn install(self) -> Result<&'static MultiProcessWriter, MultiProcessError> {
        let _one_at_a_time = lock(&INSTALLING);
        if let Some(current) = MultiProcessWriter::installed() {
            if current.owner() == std::process::id() {
                return Err(MultiProcessError::AlreadyInstalled {
                    dir: current.dir().to_owned(),
                    process_id: current.process_id(),
                });
            }
        }
        BUILDING.store(true, Ordering::SeqCst);
        let built = self.build();
        BUILDING.store(false, Ordering::SeqCst);
        let writer: &'static MultiProcessWriter = Box::leak(Box::new(built?));
        // A writer inherited through fork() is left as it is (leaked): its
        // drop does nothing in a child anyway.
        WRITER.store(ptr::from_ref(writer).cast_mut(), Ordering::SeqCst);
        move_to_files();
        Ok(writer)
    }
}

impl MultiProcessWriter {
    /// The writer installed for this process by
    /// [`install`](MultiProcessWriterBuilder::install) (or from
    /// `PROMETHEUS_MULTIPROC_DIR` at the first update of a declared metric),
    /// if any.
    ///
    /// ```
    /// // Nothing installs one in this doctest:
    /// # if std::env::var_os("PROMETHEUS_MULTIPROC_DIR").is_none() {
    /// assert!(promdecl_runtime::multiprocess::MultiProcessWriter::installed().is_none());
    /// # }
    /// ```
    pub fn installed() -> Option<&'static MultiProcessWriter> {
        let p = WRITER.load(Ordering::Acquire);
        // SAFETY: WRITER is null or points to a writer leaked by `install`,
        // never freed nor mutated through the pointer.
        unsafe { p.as_ref() }
    }
}

/// The installed writer, or one installed now from the environment (once
/// per process: a failure is not retried on every update).
fn writer() -> Option<&'static MultiProcessWriter> {
    if let Some(w) = MultiProcessWriter::installed() {
        return Some(w);
    }
    FROM_ENV.call_once(|| {
        if dir_from_env().is_err() {
            return;
        }
        if let Err(e) = MultiProcessWriter::builder().install() {
            if !matches!(e, MultiProcessError::AlreadyInstalled { .. }) {
                tracing::error!(error = %e, "promdecl: could not install a multiprocess writer from PROMETHEUS_MULTIPROC_DIR");
            }
        }
    });
    MultiProcessWriter::installed()
}

/// Moves what the children of every declared family kept in memory into
/// the files of the installed writer.
fn move_to_files() {
    lock(&DECLARED).retain(|family| family());
}

fn report_no_writer(name: &str) {
    if !NO_WRITER_REPORTED.load(Ordering::Relaxed) && !NO_WRITER_REPORTED.swap(true, Ordering::Relaxed) {
        tracing::error!(
            metric = name,
            "promdecl: a multiprocess metric was updated with no MultiProcessWriter installed in this process: \
             its updates are kept in memory until one is (set PROMETHEUS_MULTIPROC_DIR or call \
             MultiProcessWriter::builder().install() in each worker) (reported once)"
        );
    }
}

fn report_failure(name: &str, error: &MultiProcessError) {
    if !FAILURE_REPORTED.load(Ordering::Relaxed) && !FAILURE_REPORTED.swap(true, Ordering::Relaxed) {
        tracing::error!(
            metric = name,
            error = %error,
            "promdecl: a multiprocess metric could not take its cell in its file: its updates are kept in \
             memory and moved to the file at a later update that succeeds (reported once)"
        );
    }
}

/// What a declared family's children share: the family's name, help,
/// labels and type (the [`MetricCell::Config`] of the multiprocess cells;
/// made by [`build_multiprocess`]).
#[derive(Debug)]
pub struct Spec {
    name: Box<str>,
    help: Box<str>,
    labels: Box<[Box<str>]>,
    kind: SpecKind,
}

#[derive(Debug)]
enum SpecKind {
    Counter,
    Gauge(GaugeMode),
    /// Finite upper bounds, and the `le` text of each bucket, `+Inf` last.
    Histogram(Arc<[f64]>, Box<[Box<str>]>),
    Summary,
}

impl Spec {
    fn new<L: LabelSet>(opts: &Opts, kind: SpecKind) -> Result<Arc<Spec>, Error> {
        let metric_type = match kind {
            SpecKind::Counter => MetricType::Counter,
            SpecKind::Gauge(_) => MetricType::Gauge,
            SpecKind::Histogram(..) => MetricType::Histogram,
            SpecKind::Summary => MetricType::Summary,
        };
        let name = crate::name::full_name(metric_type, &opts.namespace, &opts.subsystem, &opts.name, &opts.unit)?;
        Ok(Arc::new(Spec {
            name: name.into(),
            help: opts.help.as_str().into(),
            labels: L::NAMES.iter().map(|&n| n.into()).collect(),
            kind,
        }))
    }

    fn labels(&self) -> Vec<&str> {
        self.labels.iter().map(|l| &**l).collect()
    }
}

/// How a kind of cell reaches its file and keeps updates in memory.
trait Through: Sized + Send + Sync + 'static {
    /// What a child keeps in memory while no writer is installed.
    type Local: Send + Sync;
    fn local(spec: &Spec) -> Self::Local;
    /// Takes the child's cells in the writer's file.
    fn open(spec: &Spec, writer: &MultiProcessWriter, values: &[&str]) -> Result<Self, MultiProcessError>;
    /// Moves what `local` holds into the file, leaving it empty.
    fn drain(&self, local: &Self::Local);
    /// Writes the child from memory, for a scrape of this process when no
    /// writer is installed.
    fn collect_local(spec: &Spec, local: &Self::Local, labels: &dyn EncodeLabels, enc: &mut dyn MetricEncoder);
}

/// One child of a declared family: its cells in the file once taken, and
/// what it keeps in memory before.
struct Child<H: Through> {
    spec: Arc<Spec>,
    values: Box<[Box<str>]>,
    file: OnceLock<H>,
    local: H::Local,
}

impl<H: Through> Child<H> {
    fn new(spec: &Arc<Spec>, values: &ChildValues<'_>) -> Self {
        let mut all = Vec::with_capacity(spec.labels.len());
        values(&mut |v| all.push(v.into()));
        Child { local: H::local(spec), spec: Arc::clone(spec), values: all.into(), file: OnceLock::new() }
    }

    /// Runs `through` on the child's cells in the file: the hot path, once
    /// they are taken. Before, `in_memory` runs on what the child keeps in
    /// memory.
    #[inline]
    fn update(&self, through: impl FnOnce(&H), in_memory: impl FnOnce(&H::Local)) {
        match self.file.get() {
            Some(cells) => through(cells),
            None => self.update_slow(through, in_memory),
        }
    }

    #[cold]
    #[inline(never)]
    fn update_slow(&self, through: impl FnOnce(&H), in_memory: impl FnOnce(&H::Local)) {
        if let Some(cells) = self.take_cells(writer()) {
            return through(cells);
        }
        in_memory(&self.local);
        // Against a take_cells() on another thread, which drains after
        // publishing the cells: one of the two fences comes first, so either
        // that drain sees this update, or this thread sees the cells.
        fence(Ordering::SeqCst);
        if let Some(cells) = self.file.get() {
            cells.drain(&self.local);
        }
    }

    /// The child's cells in the file of `writer`, taken now if needed, with
    /// what it kept in memory moved into them.
    fn take_cells(&self, writer: Option<&MultiProcessWriter>) -> Option<&H> {
        if let Some(cells) = self.file.get() {
            return Some(cells);
        }
        let Some(writer) = writer else {
            report_no_writer(&self.spec.name);
            return None;
        };
        let values: Vec<&str> = self.values.iter().map(|v| &**v).collect();
        match H::open(&self.spec, writer, &values) {
            Ok(opened) => {
                let cells = self.file.get_or_init(|| opened);
                fence(Ordering::SeqCst);
                cells.drain(&self.local);
                Some(cells)
            }
            Err(e) => {
                report_failure(&self.spec.name, &e);
                None
            }
        }
    }

    fn collect(&self, labels: &dyn EncodeLabels, enc: &mut dyn MetricEncoder) {
        if self.file.get().is_some() {
            // In the file: the MultiProcessCollector reads it from there.
            return;
        }
        match MultiProcessWriter::installed() {
            // Moved into the file now; if that fails it stays in memory
            // (reported), out of a snapshot that would write it twice.
            Some(writer) => {
                self.take_cells(Some(writer));
            }
            None if BUILDING.load(Ordering::SeqCst) => {}
            None => H::collect_local(&self.spec, &self.local, labels, enc),
        }
    }
}

impl<H: Through> std::fmt::Debug for Child<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Child")
            .field("name", &self.spec.name)
            .field("labels", &self.values)
            .field("in_file", &self.file.get().is_some())
            .finish()
    }
}

/// An `f64` in an `AtomicU64`, with a swap for draining.
#[derive(Debug, Default)]
struct LocalF64(AtomicU64);

impl LocalF64 {
    fn add(&self, v: f64) {
        let mut old = self.0.load(Ordering::Relaxed);
        loop {
            let new = (f64::from_bits(old) + v).to_bits();
            match self.0.compare_exchange_weak(old, new, Ordering::SeqCst, Ordering::Relaxed) {
                Ok(_) => return,
                Err(current) => old = current,
            }
        }
    }
    fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::SeqCst);
    }
    fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
    fn take(&self) -> f64 {
        f64::from_bits(self.0.swap(0f64.to_bits(), Ordering::SeqCst))
    }
}

/// Counts and sums kept in memory, for counters, histograms and summaries.
#[derive(Debug)]
struct LocalCounts {
    counts: Box<[AtomicU64]>,
    sum: LocalF64,
}

impl LocalCounts {
    fn new(n: usize) -> Self {
        LocalCounts { counts: (0..n).map(|_| AtomicU64::new(0)).collect(), sum: LocalF64::default() }
    }
    fn count(&self, i: usize) {
        self.counts[i].fetch_add(1, Ordering::SeqCst);
    }
    fn total(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}

/// `Through` for one kind: the cells type, its handle, the trait impls.
macro_rules! cell_type {
    ($(#[$doc:meta])* $cell:ident, $handle:ty, $kind:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $cell(Child<$handle>);

        impl crate::collect::sealed::Sealed for $cell {}

        impl MetricCell for $cell {
            type Config = Arc<Spec>;
            const TYPE: MetricType = $kind;

            fn new(spec: &Arc<Spec>) -> Self {
                $cell(Child::new(spec, &|_| {}))
            }

            fn new_child(spec: &Arc<Spec>, values: &ChildValues<'_>) -> Self {
                $cell(Child::new(spec, values))
            }

            /// The value in the file is not reset: other processes' files
            /// and the scrape know nothing of it. In memory, it is.
            fn reset(&self, spec: &Arc<Spec>) {
                let _ = spec;
                if self.0.file.get().is_none() {
                    self.0.reset_local();
                }
            }

            fn collect(&self, _: &Arc<Spec>, labels: &dyn EncodeLabels, enc: &mut dyn MetricEncoder) {
                self.0.collect(labels, enc)
            }
        }
    };
}

impl Through for CounterHandle {
    type Local = LocalF64;
    fn local(_: &Spec) -> LocalF64 {
        LocalF64::default()
    }
    fn open(spec: &Spec, writer: &MultiProcessWriter, values: &[&str]) -> Result<Self, MultiProcessError> {
        writer.counter(&spec.name, &spec.help, &spec.labels())?.labels(values)
    }
    fn drain(&self, local: &LocalF64) {
        let v = local.take();
        if v != 0.0 {
            self.cell.add_count(v);
        }
    }
    fn collect_local(_: &Spec, local: &LocalF64, labels: &dyn EncodeLabels, enc: &mut dyn MetricEncoder) {
        enc.series(labels);
        enc.sample(&Sample::new("_total", number(local.get())));
    }
}

impl Through for GaugeHandle {
    type Local = LocalF64;
    fn local(_: &Spec) -> LocalF64 {
        LocalF64::default()
    }
    fn open(spec: &Spec, writer: &MultiProcessWriter, values: &[&str]) -> Result<Self, MultiProcessError> {
        let SpecKind::Gauge(mode) = spec.kind else { unreachable!("a gauge's spec") };
        writer.gauge(&spec.name, &spec.help, &spec.labels(), mode)?.labels(values)
    }
    /// What was recorded in memory is added to the file's value, which
    /// starts at zero in each process.
    fn drain(&self, local: &LocalF64) {
        let v = local.take();
        if v != 0.0 {
            self.inc_by(v);
        }
    }
    fn collect_local(_: &Spec, local: &LocalF64, labels: &dyn EncodeLabels, enc: &mut dyn MetricEncoder) {
        enc.series(labels);
        enc.sample(&Sample::new("", Number::Float(local.get())));
    }
}

impl Through for HistogramHandle {
    type Local = LocalCounts;
    fn local(spec: &Spec) -> LocalCounts {
        let SpecKind::Histogram(_, le) = &spec.kind else { unreachable!("a histogram's spec") };
        LocalCounts::new(le.len())
    }
    fn open(spec: &Spec, writer: &MultiProcessWriter, values: &[&str]) -> Result<Self, MultiProcessError> {
        let SpecKind::Histogram(bounds, _) = &spec.kind else { unreachable!("a histogram's spec") };
        writer.histogram(&spec.name, &spec.help, &spec.labels(), bounds)?.labels(values)
    }
    fn drain(&self, local: &LocalCounts) {
        for (count, cell) in local.counts.iter().zip(self.buckets.iter()) {
            let n = count.swap(0, Ordering::SeqCst);
            if n != 0 {
                cell.add_count(n as f64);
            }
        }
        let sum = local.sum.take();
        if sum != 0.0 {
            self.sum.add(sum);
        }
    }
    fn collect_local(spec: &Spec, local: &LocalCounts, labels: &dyn EncodeLabels, enc: &mut dyn MetricEncoder) {
        let SpecKind::Histogram(_, le) = &spec.kind else { unreachable!("a histogram's spec") };
        enc.series(labels);
        let mut total = 0;
        for (count, le) in local.counts.iter().zip(le.iter()) {
            total += count.load(Ordering::Relaxed);
            enc.sample(&Sample { extra: Some(Extra::Le(le)), ..Sample::new("_bucket", Number::Int(total)) });
        }
        enc.sample(&Sample::new("_count", Number::Int(total)));
        enc.sample(&Sample::new("_sum", Number::Float(local.sum.get())));
    }
}

impl Through for SummaryHandle {
    type Local = LocalCounts;
    fn local(_: &Spec) -> LocalCounts {
        LocalCounts::new(1)
    }
    fn open(spec: &Spec, writer: &MultiProcessWriter, values: &[&str]) -> Result<Self, MultiProcessError> {
        writer.summary(&spec.name, &spec.help, &spec.labels())?.labels(values)
    }
    fn drain(&self, local: &LocalCounts) {
        let n = local.counts[0].swap(0, Ordering::SeqCst);
        if n != 0 {
            self.count.add_count(n as f64);
        }
        let sum = local.sum.take();
        if sum != 0.0 {
            self.sum.add(sum);
        }
    }
    fn collect_local(_: &Spec, local: &LocalCounts, labels: &dyn EncodeLabels, enc: &mut dyn MetricEncoder) {
        enc.series(labels);
        enc.sample(&Sample::new("_count", Number::Int(local.total())));
        enc.sample(&Sample::new("_sum", Number::Float(local.sum.get())));
    }
}

impl Child<CounterHandle> {
    fn reset_local(&self) {
        self.local.take();
    }
}
impl Child<GaugeHandle> {
    fn reset_local(&self) {
        self.local.take();
    }
}
impl Child<HistogramHandle> {
    fn reset_local(&self) {
        self.local.counts.iter().for_each(|c| c.store(0, Ordering::SeqCst));
        self.local.sum.take();
    }
}
impl Child<SummaryHandle> {
    fn reset_local(&self) {
        self.local.counts[0].store(0, Ordering::SeqCst);
        self.local.sum.take();
    }
}

fn number(v: f64) -> Number {
    if v.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(&v) {
        Number::Int(v as u64)
    } else {
        Number::Float(v)
    }
}

cell_type! {
    /// One child of a [`MultiProcessCounter`], reached through its
    /// `labels(&...)` (or by dereferencing an unlabelled one).
    MultiProcessCounterCell, CounterHandle, MetricType::Counter
}
cell_type! {
    /// One child of a [`MultiProcessGauge`]; see there for an example.
    MultiProcessGaugeCell, GaugeHandle, MetricType::Gauge
}
cell_type! {
    /// One child of a [`MultiProcessHistogram`]; see there for an example.
    MultiProcessHistogramCell, HistogramHandle, MetricType::Histogram
}
cell_type! {
    /// One child of a [`MultiProcessSummary`]; see there for an example.
    MultiProcessSummaryCell, SummaryHandle, MetricType::Summary
}

child_ops! {
    impl[] MultiProcessCounterCell[] {
        /// Adds one.
        ///
        /// ```
        /// use promdecl_runtime::multiprocess::{build_multiprocess, GaugeMode, MultiProcessCounter};
        /// let m: MultiProcessCounter = build_multiprocess(&promdecl_runtime::Opts::new("m", "M."), GaugeMode::All);
        /// m.inc();
        /// assert_eq!(m.get(), 1.0);
        /// ```
        #[inline]
        pub fn inc(&self) => with {
            self.0.update(CounterHandle::inc, |local| local.add(1.0));
        }

        /// Adds `v`, which must be neither negative nor NaN.
        ///
        /// ```
        /// use promdecl_runtime::multiprocess::{build_multiprocess, GaugeMode, MultiProcessCounter};
        /// let m: MultiProcessCounter = build_multiprocess(&promdecl_runtime::Opts::new("m", "M."), GaugeMode::All);
        /// m.inc_by(2.5).unwrap();
        /// assert!(m.inc_by(-1.0).is_err());
        /// assert_eq!(m.get(), 2.5);
        /// ```
        #[inline]
        pub fn inc_by(&self, v: f64) -> Result<(), Error> => with {
            if v.is_nan() || v < 0.0 {
                return Err(Error::NegativeIncrement(v));
            }
            self.0.update(|h| h.cell.add_count(v), |local| local.add(v));
            Ok(())
        }

        /// The value: in the file (with what an earlier process with the same
        /// id left), or in memory before a writer is installed.
        ///
        /// ```
        /// use promdecl_runtime::multiprocess::{build_multiprocess, GaugeMode, MultiProcessCounter};
        /// let m: MultiProcessCounter = build_multiprocess(&promdecl_runtime::Opts::new("m", "M."), GaugeMode::All);
        /// assert_eq!(m.get(), 0.0);
        /// ```
        pub fn get(&self) -> f64 => with {
            match self.0.file.get() {
                Some(h) => h.get(),
                None => self.0.local.get(),
            }
        }
    }
}

child_ops! {
    impl[] MultiProcessGaugeCell[] {
        /// Sets the value.
        ///
        /// ```
        /// use promdecl_runtime::multiprocess::{build_multiprocess, GaugeMode, MultiProcessGauge};
        /// let m: MultiProcessGauge = build_multiprocess(&promdecl_runtime::Opts::new("m", "M."), GaugeMode::All);
        /// m.set(4.0);
        /// assert_eq!(m.get(), 4.0);
        /// ```
        #[inline]
        pub fn set(&self, v: f64) => with {
            self.0.update(|h| h.set(v), |local| local.set(v));
        }

        /// Adds `v`.
        ///
        /// ```
        /// use promdecl_runtime::multiprocess::{build_multiprocess, GaugeMode, MultiProcessGauge};
        /// let m: MultiProcessGauge = build_multiprocess(&promdecl_runtime::Opts::new("m", "M."), GaugeMode::All);
        /// m.inc_by(1.5);
        /// assert_eq!(m.get(), 1.5);
        /// ```
        #[inline]
        pub fn inc_by(&self, v: f64) => with {
            self.0.update(|h| h.inc_by(v), |local| local.add(v));
        }

        /// Subtracts `v`.
        ///
        /// ```
        /// use promdecl_runtime::multiprocess::{build_multiprocess, GaugeMode, MultiProcessGauge};
        /// let m: MultiProcessGauge = build_multiprocess(&promdecl_runtime::Opts::new("m", "M."), GaugeMode::All);
        /// m.dec_by(1.5);
        /// assert_eq!(m.get(), -1.5);
        /// ```
        #[inline]
        pub fn dec_by(&self, v: f64) => with {
            self.inc_by(-v);
        }

        /// Adds one.
        ///
        /// ```
        /// use promdecl_runtime::multiprocess::{build_multiprocess, GaugeMode, MultiProcessGauge};
        /// let m: MultiProcessGauge = build_multiprocess(&promdecl_runtime::Opts::new("m", "M."), GaugeMode::All);
        /// m.inc();
        /// assert_eq!(m.get(), 1.0);
        /// ```
        #[inline]
        pub fn inc(&self) => with {
            self.inc_by(1.0);
        }

        /// Subtracts one.
        ///
        /// ```
        /// use promdecl_runtime::multiprocess::{build_multiprocess, GaugeMode, MultiProcessGauge};
        /// let m: MultiProcessGauge = build_multiprocess(&promdecl_runtime::Opts::new("m", "M."), GaugeMode::All);
        /// m.dec();
        /// assert_eq!(m.get(), -1.0);
        /// ```
        #[inline]
        pub fn dec(&self) => with {
            self.inc_by(-1.0);
        }

        /// The value in the file, or in memory before a writer is installed.
        ///
        /// ```
        /// use promdecl_runtime::multiprocess::{build_multiprocess, GaugeMode, MultiProcessGauge};
        /// let m: MultiProcessGauge = build_multiprocess(&promdecl_runtime::Opts::new("m", "M."), GaugeMode::All);
        /// assert_eq!(m.get(), 0.0);
        /// ```
        pub fn get(&self) -> f64 => with {
            match self.0.file.get() {
                Some(h) => h.get(),
                None => self.0.local.get(),
            }
        }
    }
}

child_ops! {
    impl[] MultiProcessHistogramCell[] {
        /// Counts `v` in its bucket and adds it to the sum.
        ///
        /// ```
        /// use promdecl_runtime::multiprocess::{build_multiprocess, GaugeMode, MultiProcessHistogram};
        /// let m: MultiProcessHistogram = build_multiprocess(&promdecl_runtime::Opts::new("m", "M."), GaugeMode::All);
        /// m.observe(0.2);
        /// ```
        #[inline]
        pub fn observe(&self, v: f64) => with {
            self.0.update(
                |h| h.observe(v),
                |local| {
                    let SpecKind::Histogram(bounds, _) = &self.0.spec.kind else { return };
                    let i = if v.is_nan() { bounds.len() } else { bounds.partition_point(|&b| b < v) };
                    local.count(i);
                    local.sum.add(v);
                },
            );
        }
    }
}

child_ops! {
    impl[] MultiProcessSummaryCell[] {
        /// Counts `v` and adds it to the sum.
        ///
        /// ```
        /// use promdecl_runtime::multiprocess::{build_multiprocess, GaugeMode, MultiProcessSummary};
        /// let m: MultiProcessSummary = build_multiprocess(&promdecl_runtime::Opts::new("m", "M."), GaugeMode::All);
        /// m.observe(0.2);
        /// ```
        #[inline]
        pub fn observe(&self, v: f64) => with {
            self.0.update(
                |h| h.observe(v),
                |local| {
                    local.count(0);
                    local.sum.add(v);
                },
            );
        }
    }
}

impl Increment for MultiProcessCounterCell {
    fn increment(&self) {
        self.inc()
    }
}

impl Track for MultiProcessGaugeCell {
    fn enter(&self) {
        self.inc()
    }
    fn exit(&self) {
        self.dec()
    }
}

impl Observe for MultiProcessHistogramCell {
    fn observe_duration(&self, seconds: f64) {
        self.observe(seconds)
    }
}

impl Observe for MultiProcessSummaryCell {
    fn observe_duration(&self, seconds: f64) {
        self.observe(seconds)
    }
}

metric_type! {
    /// A counter declared in a `#[metrics(multiprocess)]` module: its
    /// children write through to this process's files (see
    /// [`MultiProcessWriterBuilder::install`]).
    ///
    /// Declared with `pub static DONE: Counter;` in such a module; built
    /// here by hand. With no writer installed (as in this example) its
    /// updates are kept in memory, to be moved into the files when one is.
    ///
    /// ```
    /// use promdecl_runtime::multiprocess::MultiProcessCounter;
    /// use promdecl_runtime::{Builder, Opts};
    /// # if std::env::var_os("PROMETHEUS_MULTIPROC_DIR").is_none() {
    /// let done: MultiProcessCounter = Builder::from_opts(Opts::new("jobs_done", "Jobs done.")).build().unwrap();
    /// done.inc();
    /// assert_eq!(done.get(), 1.0);
    /// # }
    /// ```
    MultiProcessCounter [], MultiProcessCounterCell
}
metric_type! {
    /// A gauge declared in a `#[metrics(multiprocess)]` module, combined
    /// across processes per its `#[multiprocess(mode = "...")]`
    /// ([`GaugeMode::All`] by default, as in the Python client).
    ///
    /// ```
    /// use promdecl_runtime::multiprocess::{build_multiprocess, GaugeMode, MultiProcessGauge};
    /// use promdecl_runtime::Opts;
    /// # if std::env::var_os("PROMETHEUS_MULTIPROC_DIR").is_none() {
    /// let busy: MultiProcessGauge = build_multiprocess(&Opts::new("busy", "Busy workers."), GaugeMode::LiveSum);
    /// busy.inc();
    /// busy.set(3.0);
    /// assert_eq!(busy.get(), 3.0); // in memory: no writer is installed here
    /// # }
    /// ```
    MultiProcessGauge [], MultiProcessGaugeCell
}
metric_type! {
    /// A histogram declared in a `#[metrics(multiprocess)]` module.
    ///
    /// ```
    /// use promdecl_runtime::multiprocess::MultiProcessHistogram;
    /// use promdecl_runtime::{Builder, Opts};
    /// let latency: MultiProcessHistogram =
    ///     Builder::from_opts(Opts::new("latency_seconds", "Latency.")).build().unwrap();
    /// latency.observe(0.25);
    /// ```
    MultiProcessHistogram [], MultiProcessHistogramCell
}
metric_type! {
    /// A summary declared in a `#[metrics(multiprocess)]` module: count and
    /// sum, no quantiles, as in the Python client's multiprocess mode.
    ///
    /// ```
    /// use promdecl_runtime::multiprocess::MultiProcessSummary;
    /// use promdecl_runtime::{Builder, Opts};
    /// let payload: MultiProcessSummary = Builder::from_opts(Opts::new("payload_bytes", "Payload.")).build().unwrap();
    /// payload.observe(512.0);
    /// ```
    MultiProcessSummary [], MultiProcessSummaryCell
}

/// The declared metrics of multiprocess mode; what generated code builds
/// with [`build_multiprocess`].
///
/// ```
/// use promdecl_runtime::multiprocess::{GaugeMode, MultiProcessCounter, MultiProcessMetric};
/// let jobs = MultiProcessCounter::<()>::from_opts_mode(&promdecl_runtime::Opts::new("jobs", "Jobs."), GaugeMode::All);
/// assert!(jobs.is_ok());
/// ```
pub trait MultiProcessMetric: Collector + Clone + Sized + 'static {
    /// Builds the family; `mode` matters to gauges only.
    fn from_opts_mode(opts: &Opts, mode: GaugeMode) -> Result<Self, Error>;
}

/// Registers `family` for [`move_to_files`].
fn declare<L: LabelSet, C: MetricCell>(family: &Family<L, C>) {
    let weak: Weak<Inner<L, C>> = Arc::downgrade(&family.inner);
    lock(&DECLARED).push(Box::new(move || match weak.upgrade() {
        Some(inner) => {
            Family::from_inner(inner).collect(&mut Discard);
            true
        }
        None => false,
    }));
}

/// An encoder that drops everything: collecting a declared family with it
/// moves its children's in-memory values into the files.
struct Discard;

impl MetricEncoder for Discard {
    fn family(&mut self, _: &Descriptor<'_>) {}
    fn series(&mut self, _: &dyn EncodeLabels) {}
    fn sample(&mut self, _: &Sample<'_>) {}
    fn fail(&mut self, _: crate::encode::CollectError) {}
}

fn check_static_labels<L: LabelSet>(opts: &Opts) -> Result<(), Error> {
    if !opts.label_names.is_empty() && L::NAMES.is_empty() {
        return Err(Error::InvalidOption {
            metric: opts.name.clone(),
            reason: "multiprocess metrics take their label names from a label set type",
        });
    }
    Ok(())
}

macro_rules! metric_impls {
    ($metric:ident, $cell:ident, |$opts:ident, $mode:ident| $kind:expr) => {
        impl<L: LabelSet> MultiProcessMetric for $metric<L> {
            fn from_opts_mode($opts: &Opts, $mode: GaugeMode) -> Result<Self, Error> {
                check_static_labels::<L>($opts)?;
                let spec = Spec::new::<L>($opts, $kind)?;
                let family = $opts.family::<L, $cell>(spec)?;
                declare(&family);
                Ok($metric { family })
            }
        }

        impl<L: LabelSet> FromOpts for $metric<L> {
            type Labels = L;
            type With<L2: LabelSet> = $metric<L2>;
            fn from_opts(opts: &Opts) -> Result<Self, Error> {
                Self::from_opts_mode(opts, GaugeMode::default())
            }
        }
    };
}

metric_impls!(MultiProcessCounter, MultiProcessCounterCell, |opts, _mode| SpecKind::Counter);
metric_impls!(MultiProcessGauge, MultiProcessGaugeCell, |opts, mode| SpecKind::Gauge(mode));
metric_impls!(MultiProcessHistogram, MultiProcessHistogramCell, |opts, _mode| {
    let given = opts.buckets.as_deref().unwrap_or(&DEFAULT_BUCKETS);
    crate::metric::check_buckets(given).map_err(Error::InvalidBuckets)?;
    let bounds: Arc<[f64]> = given.iter().copied().filter(|b| b.is_finite()).collect();
    let le = bounds
        .iter()
        .copied()
        .chain([f64::INFINITY])
        .map(|b| {
            let mut s = Vec::new();
            crate::encode::write_float(&mut s, b);
            String::from_utf8(s).unwrap_or_default().into_boxed_str()
        })
        .collect();
    SpecKind::Histogram(bounds, le)
});
metric_impls!(MultiProcessSummary, MultiProcessSummaryCell, |opts, _mode| {
    if !opts.quantiles.objectives.is_empty() {
        return Err(Error::InvalidOption {
            metric: opts.name.clone(),
            reason: "multiprocess summaries have no quantiles, as in the Python client",
        });
    }
    SpecKind::Summary
});

/// Builds a metric of a `#[metrics(multiprocess)]` module (what generated
/// code calls). Its names, buckets and gauge mode were checked at compile
/// time, so this cannot fail unless the program switched name validation.
///
/// ```
/// use promdecl_runtime::multiprocess::{build_multiprocess, GaugeMode, MultiProcessCounter};
/// let jobs: MultiProcessCounter = build_multiprocess(&promdecl_runtime::Opts::new("jobs", "Jobs."), GaugeMode::All);
/// ```
pub fn build_multiprocess<M: MultiProcessMetric>(opts: &Opts, mode: GaugeMode) -> M {
    match M::from_opts_mode(opts, mode) {
        Ok(m) => m,
        Err(e) => panic!("promdecl: declared multiprocess metric {:?} is invalid: {e}", opts.name),
    }
}
