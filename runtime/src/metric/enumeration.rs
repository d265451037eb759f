//! Enum: which of a fixed set of states something is in (an OpenMetrics
//! stateset; a gauge per state in the Prometheus text format).

use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::{child_ops, metric_type, Builder, FromOpts, MetricCell, MetricType, Opts};
use crate::encode::{EncodeLabels, Extra, MetricEncoder, Number, Sample};

use crate::{Error, LabelSet, LabelValue};

metric_type! {
    /// The current state out of a fixed set. The states are the values of
    /// `S`: the variants of a `LabelValue` enum, or strings given to
    /// [`Builder::states`].
    ///
    /// ```
    /// use promdecl_runtime::{Enum, Registry};
    /// let registry = Registry::new();
    /// let state: Enum<&'static str> = Enum::builder("worker_state", "Worker state.")
    ///     .states(["starting", "running", "stopped"])
    ///     .register(&registry)
    ///     .unwrap();
    /// state.state("running");
    /// assert_eq!(registry.get_sample_value("worker_state", &[("worker_state", "running")]), Some(1.0));
    /// assert!(state.set_state("exploded").is_err());
    /// ```
    Enum [S: LabelValue + 'static], EnumCell<S>
}

impl<S: LabelValue + 'static> Enum<S> {
    /// Starts building an enum. With a `LabelValue` enum as `S` the states
    /// are its variants; otherwise give them with [`Builder::states`].
    ///
    /// ```
    /// let e: promdecl_runtime::Enum<&'static str> =
    ///     promdecl_runtime::Enum::builder("e", "E.").states(["a", "b"]).build().unwrap();
    /// assert_eq!(e.current(), "a");
    /// ```
    pub fn builder(name: &str, help: &str) -> Builder<Self> {
        Builder::new(name, help)
    }
}

impl<S: LabelValue + 'static, L: LabelSet> Builder<Enum<S, L>> {
    /// The states, in order; the first is the initial state.
    pub fn states<I, T>(mut self, states: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.opts_mut().states = states.into_iter().map(Into::into).collect();
        self
    }
}

impl<S: LabelValue + 'static, L: LabelSet> FromOpts for Enum<S, L> {
    type Labels = L;
    type With<L2: LabelSet> = Enum<S, L2>;
    fn from_opts(opts: &Opts) -> Result<Self, Error> {
        let states: Arc<[Box<str>]> = match (S::VALUES, opts.states.is_empty()) {
            (Some(values), true) => values.iter().map(|&v| v.into()).collect(),
            (None, false) => opts.states.iter().map(|s| s.as_str().into()).collect(),
            (Some(_), false) => {
                return Err(Error::InvalidOption {
                    metric: opts.name.clone(),
                    reason: "the states of an enum typed by a closed LabelValue are its values; do not list them again",
                })
            }
            (None, true) => {
                return Err(Error::InvalidOption { metric: opts.name.clone(), reason: "an enum needs states" })
            }
        };
        if states.iter().enumerate().any(|(i, s)| states[..i].contains(s)) {
            return Err(Error::InvalidOption { metric: opts.name.clone(), reason: "enum states must be unique" });
        }
        let name = crate::name::full_name(MetricType::StateSet, &opts.namespace, &opts.subsystem, &opts.name, "")?;
        crate::name::validate_label_name(MetricType::StateSet, &name)?;
        if L::NAMES.contains(&name.as_str()) || opts.label_names.contains(&name) {
            return Err(Error::InvalidLabelName {
                name,
                reason: "an enum's label names must differ from its metric name, which labels the state",
            });
        }
        let config = EnumConfig { label: name.into(), states };
        Ok(Enum { family: opts.family(config)? })
    }
}

/// The states and the label that names them.
#[derive(Debug)]
pub struct EnumConfig {
    label: Arc<str>,
    states: Arc<[Box<str>]>,
}

/// The current state of one enum child.
#[derive(Debug)]
pub struct EnumCell<S> {
    index: AtomicUsize,
    name: Arc<str>,
    states: Arc<[Box<str>]>,
    _state: PhantomData<fn(S)>,
}

child_ops! {
    impl[S: LabelValue + 'static,] EnumCell[S] {
        /// Switches to state `s`. A state of an open type (a string) that is not
        /// one of the declared states is ignored; use [`EnumCell::set_state`] to
        /// get an error instead.
        pub fn state(&self, s: S) => with {
            let index = match S::VALUES {
                Some(_) => Some(s.dense_index()),
                None => s.with_str(|name| self.position(name)),
            };
            if let Some(index) = index {
                self.index.store(index, Ordering::Relaxed);
            }
        }

        /// Switches to the state named `name`.
        ///
        /// ```
        /// let e: promdecl_runtime::Enum<String> =
        ///     promdecl_runtime::Enum::builder("e", "E.").states(["a", "b"]).build().unwrap();
        /// e.set_state("b").unwrap();
        /// assert_eq!(e.current(), "b");
        /// ```
        pub fn set_state(&self, name: &str) -> Result<(), Error> => with {
            match self.position(name) {
                Some(index) => {
                    self.index.store(index, Ordering::Relaxed);
                    Ok(())
                }
                None => Err(Error::UnknownState {
                    metric: self.name.to_string(),
                    state: name.to_owned(),
                    states: self.states.join(", "),
                }),
            }
        }
    }
}

impl<S: LabelValue> EnumCell<S> {
    /// The name of the current state.
    pub fn current(&self) -> &str {
        &self.states[self.index.load(Ordering::Relaxed)]
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.states.iter().position(|s| &**s == name)
    }
}

impl<S: LabelValue + 'static> MetricCell for EnumCell<S> {
    type Config = EnumConfig;
    const TYPE: MetricType = MetricType::StateSet;

    fn new(config: &EnumConfig) -> Self {
        EnumCell {
            index: AtomicUsize::new(0),
            name: Arc::clone(&config.label),
            states: Arc::clone(&config.states),
            _state: PhantomData,
        }
    }

    fn reset(&self, _: &EnumConfig) {
        self.index.store(0, Ordering::Relaxed);
    }

    fn collect(&self, config: &EnumConfig, labels: &dyn EncodeLabels, enc: &mut dyn MetricEncoder) {
        enc.series(labels);
        let current = self.index.load(Ordering::Relaxed);
        for (i, state) in config.states.iter().enumerate() {
            let extra = Some(Extra::Label(&config.label, state));
            enc.sample(&Sample { extra, ..Sample::new("", Number::Int(u64::from(i == current))) });
        }
    }
}
