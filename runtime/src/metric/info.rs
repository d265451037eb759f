//! Info: constant key/value information, exposed as `name_info{...} 1`.

use std::sync::{Arc, RwLock};

use super::{child_ops, metric_type, Builder, FromOpts, MetricCell, MetricType, Opts};
use crate::encode::{EncodeLabels, LabelSink, MetricEncoder, Number, Sample};

use crate::{Error, LabelSet};

metric_type! {
    /// Key/value information about the target, such as a version.
    ///
    /// ```
    /// use promdecl_runtime::{Info, Registry};
    /// let registry = Registry::new();
    /// let build = Info::builder("build", "Build information.").register(&registry).unwrap();
    /// build.info(&[("version", "1.2.3"), ("commit", "abc")]).unwrap();
    /// assert_eq!(
    ///     registry.get_sample_value("build_info", &[("version", "1.2.3"), ("commit", "abc")]),
    ///     Some(1.0)
    /// );
    /// ```
    Info [], InfoCell
}

impl Info {
    /// Starts building an info metric.
    ///
    /// ```
    /// let i = promdecl_runtime::Info::builder("build", "B.").build().unwrap();
    /// assert_eq!(i.name(), "build");
    /// ```
    pub fn builder(name: &str, help: &str) -> Builder<Self> {
        Builder::new(name, help)
    }
}

impl<L: LabelSet> FromOpts for Info<L> {
    type Labels = L;
    type With<L2: LabelSet> = Info<L2>;
    fn from_opts(opts: &Opts) -> Result<Self, Error> {
        let reserved: Arc<[Box<str>]> =
            L::NAMES.iter().map(|&n| n.into()).chain(opts.label_names.iter().map(|n| n.as_str().into())).collect();
        Ok(Info { family: opts.family(reserved)? })
    }
}

type Pairs = Arc<[(Box<str>, Box<str>)]>;

/// The key/value pairs of one info child.
#[derive(Debug)]
pub struct InfoCell {
    /// The family's label names, which info keys must not repeat.
    reserved: Arc<[Box<str>]>,
    pairs: RwLock<Pairs>,
}

child_ops! {
    impl[] InfoCell[] {
        /// Replaces the information. Keys must be valid label names that are not
        /// also the family's label names.
        ///
        /// ```
        /// let i = promdecl_runtime::Info::builder("build", "B.").build().unwrap();
        /// assert!(i.info(&[("version", "1")]).is_ok());
        /// assert!(i.info(&[("bad key", "1")]).is_err());
        /// ```
        pub fn info(&self, pairs: &[(&str, &str)]) -> Result<(), Error> => with {
            for (i, (key, _)) in pairs.iter().enumerate() {
                crate::name::validate_label_name(MetricType::Info, key)?;
                if self.reserved.iter().any(|r| &**r == *key) || pairs[..i].iter().any(|(k, _)| k == key) {
                    return Err(Error::InvalidLabelName {
                        name: (*key).to_owned(),
                        reason: "info keys must be unique and differ from the metric's label names",
                    });
                }
            }
            let pairs: Pairs = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
            *self.pairs.write().unwrap_or_else(|e| e.into_inner()) = pairs;
            Ok(())
        }

        /// The current information.
        ///
        /// ```
        /// let i = promdecl_runtime::Info::builder("build", "B.").build().unwrap();
        /// i.info(&[("version", "1")]).unwrap();
        /// assert_eq!(i.get(), vec![("version".to_owned(), "1".to_owned())]);
        /// ```
        pub fn get(&self) -> Vec<(String, String)> => with {
            self.current().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        }
    }
}

impl InfoCell {
    fn current(&self) -> Pairs {
        Arc::clone(&self.pairs.read().unwrap_or_else(|e| e.into_inner()))
    }
}

struct InfoLabels<'a> {
    base: &'a dyn EncodeLabels,
    pairs: &'a [(Box<str>, Box<str>)],
}

impl EncodeLabels for InfoLabels<'_> {
    fn encode(&self, sink: &mut dyn LabelSink) {
        self.base.encode(sink);
        for (k, v) in self.pairs {
            sink.label(k, v);
        }
    }
}

impl MetricCell for InfoCell {
    type Config = Arc<[Box<str>]>;
    const TYPE: MetricType = MetricType::Info;

    fn new(reserved: &Arc<[Box<str>]>) -> Self {
        InfoCell { reserved: Arc::clone(reserved), pairs: RwLock::new(Arc::new([])) }
    }

    fn reset(&self, _: &Arc<[Box<str>]>) {
        *self.pairs.write().unwrap_or_else(|e| e.into_inner()) = Arc::new([]);
    }

    fn collect(&self, _: &Arc<[Box<str>]>, labels: &dyn EncodeLabels, enc: &mut dyn MetricEncoder) {
        let pairs = self.current();
        enc.series(&InfoLabels { base: labels, pairs: &pairs });
        enc.sample(&Sample::new("_info", Number::Int(1)));
    }
}
