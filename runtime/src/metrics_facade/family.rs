//! One facade metric name: the promdecl families behind it (one per set of
//! label names) and the collector that exposes them as one family.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};

use crate::encode::{CollectError, Descriptor, EncodeLabels, MetricEncoder, NativeHistogram, Sample};
use crate::family::Handle;
use crate::registry::FamilyDesc;
use crate::{Collector, CollectorId, Counter, CounterCell, DynLabels, Error, Gauge, GaugeCell, Histogram};
use crate::{HistogramCell, MetricType, Registry};

/// A series: its label names and values.
type SeriesKey = (Vec<String>, Vec<String>);

/// What a family is exposed as; changes when a description arrives.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Exported {
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) unit: String,
}

/// The promdecl metric holding the series of one set of label names.
enum Part {
    Counter(Counter<DynLabels>),
    Gauge(Gauge<DynLabels>),
    Histogram(Histogram<DynLabels>),
}

impl Part {
    fn collector(&self) -> &dyn Collector {
        match self {
            Part::Counter(c) => c,
            Part::Gauge(g) => g,
            Part::Histogram(h) => h,
        }
    }
}

/// A resolved series.
pub(crate) enum Series {
    Counter(Handle<CounterCell>, Arc<AtomicU64>),
    Gauge(Handle<GaugeCell>),
    Histogram(Handle<HistogramCell>),
}

/// The settings a family's parts are built with.
#[derive(Debug, Clone)]
pub(crate) struct PartConfig {
    pub(crate) buckets: Vec<f64>,
    pub(crate) max_children: Option<usize>,
}

pub(crate) struct FacadeFamily {
    pub(crate) kind: MetricType,
    exported: RwLock<Exported>,
    id: Mutex<Option<CollectorId>>,
    /// Label names (sorted) -> the metric holding those series.
    parts: RwLock<Vec<(Vec<String>, Part)>>,
    /// The highest `absolute` value each counter series was given, so that
    /// `absolute` adds only what it raises the series by.
    absolutes: Mutex<HashMap<SeriesKey, Arc<AtomicU64>>>,
    config: PartConfig,
}

impl FacadeFamily {
    pub(crate) fn new(kind: MetricType, exported: Exported, config: PartConfig) -> Arc<Self> {
        Arc::new(FacadeFamily {
            kind,
            exported: RwLock::new(exported),
            id: Mutex::new(None),
            parts: RwLock::new(Vec::new()),
            absolutes: Mutex::new(HashMap::new()),
            config,
        })
    }

    pub(crate) fn exported(&self) -> Exported {
        self.exported.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Registers the family in `registry` under its current name.
    pub(crate) fn register(self: &Arc<Self>, registry: &Registry) -> Result<(), Error> {
        let id = registry.register(FamilyCollector(Arc::clone(self)))?;
        *self.id.lock().unwrap_or_else(|p| p.into_inner()) = Some(id);
        Ok(())
    }

    /// Takes a new name, help and unit. A new name is registered anew; if
    /// the registry refuses it (another metric has it), the family keeps
    /// its old name and the error is returned.
    pub(crate) fn redescribe(self: &Arc<Self>, registry: &Registry, new: Exported) -> Result<(), Error> {
        let old = self.exported();
        if old.name == new.name {
            *self.exported.write().unwrap_or_else(|p| p.into_inner()) = new;
            return Ok(());
        }
        let mut id = self.id.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old_id) = id.take() {
            let _ = registry.unregister(old_id);
        }
        *self.exported.write().unwrap_or_else(|p| p.into_inner()) = new;
        match registry.register(FamilyCollector(Arc::clone(self))) {
            Ok(new_id) => {
                *id = Some(new_id);
                Ok(())
            }
            Err(e) => {
                // The new help still applies under the old name.
                let mut exported = self.exported.write().unwrap_or_else(|p| p.into_inner());
                exported.name = old.name;
                exported.unit = old.unit;
                drop(exported);
                *id = registry.register(FamilyCollector(Arc::clone(self))).ok();
                Err(e)
            }
        }
    }

    /// The series with these (canonical) label names and values, created if
    /// needed, and whether it is the family's own (false: the overflow
    /// series of a full family, which is not worth remembering).
    pub(crate) fn series(&self, names: &[String], values: &[String]) -> Result<(Series, bool), Error> {
        let found = {
            let parts = self.parts.read().unwrap_or_else(|p| p.into_inner());
            parts.iter().position(|(n, _)| n == names).map(|i| self.child(&parts[i].1, names, values))
        };
        if let Some(found) = found {
            return found;
        }
        let mut parts = self.parts.write().unwrap_or_else(|p| p.into_inner());
        if !parts.iter().any(|(n, _)| n == names) {
            parts.push((names.to_vec(), self.build_part(names)?));
        }
        let part = &parts.iter().find(|(n, _)| n == names).expect("inserted above").1;
        self.child(part, names, values)
    }

    fn build_part(&self, names: &[String]) -> Result<Part, Error> {
        // The name is a placeholder: the collector exposes the family under
        // its current exported name.
        Ok(match self.kind {
            MetricType::Counter => {
                let mut b = Counter::builder("facade", "").labels(names.iter().cloned());
                b.opts_mut().max_children = self.config.max_children;
                Part::Counter(b.build()?)
            }
            MetricType::Gauge => {
                let mut b = Gauge::builder("facade", "").labels(names.iter().cloned());
                b.opts_mut().max_children = self.config.max_children;
                Part::Gauge(b.build()?)
            }
            _ => {
                let mut b =
                    Histogram::builder("facade", "").labels(names.iter().cloned()).buckets(self.config.buckets.clone());
                b.opts_mut().max_children = self.config.max_children;
                Part::Histogram(b.build()?)
            }
        })
    }

    fn child(&self, part: &Part, names: &[String], values: &[String]) -> Result<(Series, bool), Error> {
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        macro_rules! resolve {
            ($metric:expr) => {
                match $metric.try_with_label_values(&values) {
                    Ok(child) => (child.handle(), true),
                    Err(Error::CardinalityLimit { .. }) => ($metric.with_label_values(&values)?.handle(), false),
                    Err(e) => return Err(e),
                }
            };
        }
        Ok(match part {
            Part::Counter(c) => {
                let (handle, own) = resolve!(c);
                // The overflow series shares one record of `absolute`.
                let key = if own {
                    (names.to_vec(), values.iter().map(|v| (*v).to_owned()).collect())
                } else {
                    (names.to_vec(), Vec::new())
                };
                let absolute =
                    Arc::clone(self.absolutes.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_default());
                (Series::Counter(handle, absolute), own)
            }
            Part::Gauge(g) => {
                let (handle, own) = resolve!(g);
                (Series::Gauge(handle), own)
            }
            Part::Histogram(h) => {
                let (handle, own) = resolve!(h);
                (Series::Histogram(handle), own)
            }
        })
    }
}

/// Exposes a [`FacadeFamily`]: one family header under the current name,
/// help and unit, then the series of every part.
struct FamilyCollector(Arc<FacadeFamily>);

impl Collector for FamilyCollector {
    fn collect(&self, enc: &mut dyn MetricEncoder) {
        let family = &*self.0;
        let exported = family.exported();
        enc.family(&Descriptor { name: &exported.name, help: &exported.help, unit: &exported.unit, kind: family.kind });
        let parts = family.parts.read().unwrap_or_else(|p| p.into_inner());
        for (_, part) in parts.iter() {
            part.collector().collect(&mut Body(enc));
        }
    }

    fn describe(&self) -> Vec<FamilyDesc> {
        vec![FamilyDesc::new(&self.0.exported().name, self.0.kind)]
    }
}

/// Passes on a part's series and samples, but not its family header.
struct Body<'a>(&'a mut dyn MetricEncoder);

impl MetricEncoder for Body<'_> {
    fn family(&mut self, _: &Descriptor<'_>) {}
    fn series(&mut self, labels: &dyn EncodeLabels) {
        self.0.series(labels);
    }
    fn sample(&mut self, sample: &Sample<'_>) {
        self.0.sample(sample);
    }
    fn native_histogram(&mut self, histogram: &NativeHistogram) {
        self.0.native_histogram(histogram);
    }
    fn accepts(&self, suffix: &str) -> bool {
        self.0.accepts(suffix)
    }
    fn fail(&mut self, error: CollectError) {
        self.0.fail(error);
    }
}
