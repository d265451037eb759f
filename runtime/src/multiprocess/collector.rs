//! The reading side: merges the files of every process at scrape, as the
//! Python client's `MultiProcessCollector` does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::format::{self, ReadError, Record};
use super::{check_dir, dir_from_env, parse_file_name, FileKind, GaugeMode, MultiProcessError};
use crate::encode::{CollectError, MetricEncoder, Number};
use crate::model::FamilySample;
use crate::registry::FamilyDesc;
use crate::{Collector, MetricFamily, MetricType};

/// Merges the files that the [`MultiProcessWriter`](super::MultiProcessWriter)s
/// of all processes write: counters and summaries are summed, histograms
/// bucket by bucket, gauges per their [`GaugeMode`](super::GaugeMode).
///
/// Register it in the registry that `/metrics` serves, and only there; the
/// files are read at every scrape. Families come out sorted by name, and
/// their series by label values.
///
/// ```
/// use promdecl_runtime::multiprocess::MultiProcessCollector;
/// use promdecl_runtime::Registry;
///
/// let dir = std::env::temp_dir().join(format!("promdecl-mp-collector-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let registry = Registry::new();
/// registry.register(MultiProcessCollector::new(&dir).unwrap()).unwrap();
/// assert!(MultiProcessCollector::new(dir.join("missing")).is_err());
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct MultiProcessCollector {
    dir: PathBuf,
}

/// What a merge produced; from [`MultiProcessCollector::merge`].
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The merged families, sorted by name.
    pub families: Vec<MetricFamily>,
    /// The files left out, and why.
    pub skipped: Vec<SkippedFile>,
}

/// A file that a merge left out: unreadable, truncated or corrupt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedFile {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

impl MultiProcessCollector {
    /// A collector of the files in `dir`, which must exist.
    ///
    /// ```
    /// use promdecl_runtime::multiprocess::{MultiProcessCollector, MultiProcessError};
    /// let err = MultiProcessCollector::new("/no/such/dir").unwrap_err();
    /// assert!(matches!(err, MultiProcessError::NotADirectory(_)));
    /// assert!(err.to_string().contains("/no/such/dir"));
    /// ```
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, MultiProcessError> {
        let dir = dir.into();
        check_dir(&dir)?;
        Ok(MultiProcessCollector { dir })
    }

    /// A collector of the directory named by `PROMETHEUS_MULTIPROC_DIR`.
    ///
    /// ```
    /// # if std::env::var_os("PROMETHEUS_MULTIPROC_DIR").is_none() && std::env::var_os("prometheus_multiproc_dir").is_none() {
    /// assert!(promdecl_runtime::multiprocess::MultiProcessCollector::from_env().is_err());
    /// # }
    /// ```
    pub fn from_env() -> Result<Self, MultiProcessError> {
        MultiProcessCollector::new(dir_from_env()?)
    }

    /// The directory read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads and merges every file now. Files that cannot be read are left
    /// out and listed in [`Merged::skipped`]; a directory that cannot be
    /// listed fails. Files not named as a process's files are not read.
    ///
    /// ```
    /// use promdecl_runtime::multiprocess::MultiProcessCollector;
    /// let dir = std::env::temp_dir().join(format!("promdecl-mp-merge-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// std::fs::write(dir.join("counter_1.db"), b"garbage").unwrap();
    /// let merged = MultiProcessCollector::new(&dir).unwrap().merge().unwrap();
    /// assert!(merged.families.is_empty());
    /// assert_eq!(merged.skipped[0].path, dir.join("counter_1.db"));
    /// std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn merge(&self) -> Result<Merged, MultiProcessError> {
        let io = |source: std::io::Error| match source.kind() {
            std::io::ErrorKind::NotFound => MultiProcessError::NotADirectory(self.dir.clone()),
            _ => MultiProcessError::Io { path: self.dir.clone(), source },
        };
        let mut files: Vec<(String, PathBuf)> = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io)? {
            // An entry that cannot be read may be a process's file.
            let entry = entry.map_err(io)?;
            let Ok(name) = entry.file_name().into_string() else { continue };
            // Files being created are hidden; other files are not ours.
            if parse_file_name(&name).is_some() {
                files.push((name, entry.path()));
            }
        }
        files.sort();
        let mut merger = Merger::default();
        let mut skipped = Vec::new();
        for (name, path) in files {
            let skip = |reason: &str| SkippedFile { path: path.clone(), reason: reason.to_owned() };
            let Some((kind, pid)) = parse_file_name(&name) else { continue };
            let payload = match format::read_payload(&path) {
                Ok(payload) => payload,
                // Removed since listed, by mark_process_dead.
                Err(ReadError::Missing) => continue,
                Err(ReadError::Corrupt(why)) => {
                    skipped.push(skip(why));
                    continue;
                }
                Err(ReadError::Io(e)) => {
                    skipped.push(skip(&e.to_string()));
                    continue;
                }
            };
            match format::parse_payload(&payload) {
                Ok(records) if records.iter().all(|r| r.kind == kind.metric_type()) => {
                    merger.add(kind, pid, &records);
                }
                Ok(_) => skipped.push(skip("holds records of another metric type than its name says")),
                Err(why) => skipped.push(skip(why)),
            }
        }
        Ok(Merged { families: merger.finish(), skipped })
    }
}

impl Collector for MultiProcessCollector {
    /// Writes the merged families, and fails the scrape (through
    /// [`MetricEncoder::fail`]) for every file that could not be read and
    /// for a directory that cannot be listed: a sum that silently leaves a
    /// process out looks like a counter reset to Prometheus.
    fn collect(&self, enc: &mut dyn MetricEncoder) {
        let merged = match self.merge() {
            Ok(merged) => merged,
            Err(e) => {
                enc.fail(CollectError::new(format!("multiprocess: cannot list the directory: {e}")));
                return;
            }
        };
        for file in &merged.skipped {
            enc.fail(CollectError::new(format!(
                "multiprocess: cannot read {}: {} (fix or remove the file; a sum without it would look like a counter reset)",
                file.path.display(),
                file.reason
            )));
        }
        for family in &merged.families {
            family.encode(enc);
        }
    }

    /// Nothing: which families exist is only known at scrape, and they must
    /// not be reserved against the registry's other collectors.
    fn describe(&self) -> Vec<FamilyDesc> {
        Vec::new()
    }
}

/// The families merged so far, by name.
#[derive(Default)]
struct Merger {
    families: BTreeMap<String, FamilyAcc>,
}

struct FamilyAcc {
    help: String,
    kind: MetricType,
    /// By label set sorted by name (without `le`).
    series: BTreeMap<Vec<(String, String)>, SeriesAcc>,
}

struct SeriesAcc {
    /// The labels in the order first seen, `pid` last.
    labels: Vec<(String, String)>,
    /// Value and timestamp by sample suffix.
    values: BTreeMap<String, (f64, f64)>,
    /// A histogram's per-bucket counts by upper bound.
    buckets: Vec<(f64, f64)>,
}

impl Merger {
    fn add(&mut self, kind: FileKind, pid: &str, records: &[Record<'_>]) {
        let mode = match kind {
            FileKind::Gauge(mode) => Some(mode),
            _ => None,
        };
        for r in records {
            let family = self.families.entry(r.family.to_owned()).or_insert_with(|| FamilyAcc {
                help: r.help.to_owned(),
                kind: r.kind,
                series: BTreeMap::new(),
            });
            if family.kind != r.kind {
                // One name used with two types: the first type read wins.
                continue;
            }
            let histogram = r.kind == MetricType::Histogram;
            let mut le = None;
            let mut labels = Vec::with_capacity(r.labels.len() + 1);
            for &(name, value) in &r.labels {
                if histogram && name == "le" {
                    le = Some(value);
                } else {
                    labels.push((name.to_owned(), value.to_owned()));
                }
            }
            if mode.is_some_and(GaugeMode::per_process) {
                labels.push(("pid".to_owned(), pid.to_owned()));
            }
            let mut id = labels.clone();
            id.sort();
            let series = family.series.entry(id).or_insert_with(|| SeriesAcc {
                labels,
                values: BTreeMap::new(),
                buckets: Vec::new(),
            });
            if let Some(le) = le {
                let Some(bound) = parse_bound(le) else { continue };
                match series.buckets.iter_mut().find(|(b, _)| *b == bound) {
                    Some((_, count)) => *count += r.value,
                    None => series.buckets.push((bound, r.value)),
                }
                continue;
            }
            if histogram && r.suffix == "_count" {
                continue;
            }
            let (value, timestamp) = (r.value, r.timestamp);
            let values = &mut series.values;
            match mode {
                None | Some(GaugeMode::Sum | GaugeMode::LiveSum) => {
                    values.entry(r.suffix.to_owned()).or_insert((0.0, 0.0)).0 += value;
                }
                Some(GaugeMode::All | GaugeMode::LiveAll) => {
                    values.insert(r.suffix.to_owned(), (value, 0.0));
                }
                Some(GaugeMode::Min | GaugeMode::LiveMin) => {
                    let v = &mut values.entry(r.suffix.to_owned()).or_insert((value, 0.0)).0;
                    if value < *v {
                        *v = value;
                    }
                }
                Some(GaugeMode::Max | GaugeMode::LiveMax) => {
                    let v = &mut values.entry(r.suffix.to_owned()).or_insert((value, 0.0)).0;
                    if value > *v {
                        *v = value;
                    }
                }
                Some(GaugeMode::MostRecent | GaugeMode::LiveMostRecent) => {
                    // As in the Python client, a value never set (timestamp
                    // zero) is never the most recent.
                    let latest = values.get(r.suffix).map_or(0.0, |&(_, at)| at);
                    if timestamp > latest {
                        values.insert(r.suffix.to_owned(), (value, timestamp));
                    }
                }
            }
        }
    }

    fn finish(self) -> Vec<MetricFamily> {
        let mut out = Vec::with_capacity(self.families.len());
        for (name, acc) in self.families {
            let mut family = MetricFamily::new(&name, &acc.help, acc.kind);
            for series in acc.series.into_values() {
                let mut push = |suffix: &str, labels: Vec<(String, String)>, value: Number| {
                    family.samples.push(FamilySample {
                        suffix: suffix.to_owned(),
                        labels,
                        value,
                        timestamp: None,
                        exemplar: None,
                    })
                };
                let value = |suffix: &str| series.values.get(suffix).map(|&(v, _)| v);
                match acc.kind {
                    MetricType::Histogram => {
                        let mut buckets = series.buckets.clone();
                        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
                        let mut total = 0.0;
                        for (bound, count) in &buckets {
                            total += count;
                            let mut labels = series.labels.clone();
                            labels.push(("le".to_owned(), format_bound(*bound)));
                            push("_bucket", labels, whole(total));
                        }
                        if !buckets.is_empty() {
                            push("_count", series.labels.clone(), whole(total));
                        }
                        if let Some(sum) = value("_sum") {
                            push("_sum", series.labels.clone(), Number::Float(sum));
                        }
                    }
                    MetricType::Counter => {
                        if let Some(total) = value("_total") {
                            push("_total", series.labels.clone(), whole(total));
                        }
                    }
                    MetricType::Summary => {
                        if let Some(count) = value("_count") {
                            push("_count", series.labels.clone(), whole(count));
                        }
                        if let Some(sum) = value("_sum") {
                            push("_sum", series.labels.clone(), Number::Float(sum));
                        }
                    }
                    _ => {
                        if let Some(v) = value("") {
                            push("", series.labels.clone(), Number::Float(v));
                        }
                    }
                }
            }
            // A family whose every series was left out (a most-recent gauge
            // never set) is not exposed at all.
            if !family.samples.is_empty() {
                out.push(family);
            }
        }
        out
    }
}

/// A count as an exact integer where it is one, as single-process counters
/// and histograms expose it.
fn whole(v: f64) -> Number {
    if v >= 0.0 && v.fract() == 0.0 && v <= 9_007_199_254_740_992.0 {
        Number::Int(v as u64)
    } else {
        Number::Float(v)
    }
}

fn parse_bound(le: &str) -> Option<f64> {
    match le {
        "+Inf" => Some(f64::INFINITY),
        _ => le.parse().ok().filter(|b: &f64| !b.is_nan()),
    }
}

fn format_bound(bound: f64) -> String {
    let mut buf = Vec::new();
    crate::encode::write_float(&mut buf, bound);
    String::from_utf8(buf).unwrap_or_default()
}
