//! The model of a metric group: a struct deriving `Metrics`, or one module of
//! a `metrics!` block.

use proc_macro2::Span;
use syn::{Attribute, Expr, GenericArgument, Ident, LitInt, LitStr, PathArguments, Type, Visibility};

/// The runtime's rules for series names, compiled here from the runtime's own
/// source so that a clash is found at expansion time, at the user's token.
#[path = "series.rs"]
pub mod series;

/// The metric types a declaration can name.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    ShardedCounter,
    Gauge,
    Histogram,
    Summary,
    Info,
    Enum,
}

pub const KINDS: &str = "Counter, ShardedCounter, Gauge, Histogram, Summary, Info or Enum";

impl Kind {
    fn from_ident(ident: &Ident) -> Option<Self> {
        Some(match ident.to_string().as_str() {
            "Counter" => Kind::Counter,
            "ShardedCounter" => Kind::ShardedCounter,
            "Gauge" => Kind::Gauge,
            "Histogram" => Kind::Histogram,
            "Summary" => Kind::Summary,
            "Info" => Kind::Info,
            "Enum" => Kind::Enum,
            _ => return None,
        })
    }

    pub fn type_name(self) -> &'static str {
        match self {
            Kind::Counter => "Counter",
            Kind::ShardedCounter => "ShardedCounter",
            Kind::Gauge => "Gauge",
            Kind::Histogram => "Histogram",
            Kind::Summary => "Summary",
            Kind::Info => "Info",
            Kind::Enum => "Enum",
        }
    }

    /// The runtime's `MetricType` variant.
    pub fn metric_type(self) -> &'static str {
        match self {
            Kind::Enum => "StateSet",
            Kind::ShardedCounter => "Counter",
            other => other.type_name(),
        }
    }

    /// Suffixes the registry reserves for this type: the runtime's table
    /// for its `MetricType`.
    pub fn suffixes(self) -> &'static [&'static str] {
        match self {
            Kind::Counter | Kind::ShardedCounter => series::COUNTER_SUFFIXES,
            Kind::Histogram => series::HISTOGRAM_SUFFIXES,
            Kind::Summary => series::SUMMARY_SUFFIXES,
            Kind::Info => series::INFO_SUFFIXES,
            Kind::Gauge | Kind::Enum => series::NO_SUFFIXES,
        }
    }

    fn is_counter(self) -> bool {
        matches!(self, Kind::Counter | Kind::ShardedCounter)
    }
}

/// One declared metric.
pub struct Metric {
    /// Attributes passed through to the generated item (`cfg`, `allow`, docs).
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub ident: Ident,
    pub kind: Kind,
    pub labels: Option<Type>,
    pub states: Option<Type>,
    /// The doc comment's first paragraph: the HELP text.
    pub help: Option<String>,
    /// The metric name (before namespace, subsystem and unit) and where it
    /// came from.
    pub name: (String, Span),
    pub unit: Option<LitStr>,
    pub buckets: Option<(Vec<Expr>, Span)>,
    /// Summary quantile objectives `(quantile, error)` and the attribute's span.
    pub quantiles: Option<(Vec<(Expr, Expr)>, Span)>,
    /// Summary quantile window: seconds an observation counts.
    pub max_age_seconds: Option<LitInt>,
    /// Summary quantile window: how many steps it slides by.
    pub age_buckets: Option<LitInt>,
    /// At most this many label children; more go to the overflow series.
    pub max_children: Option<LitInt>,
    /// Label children idle this long leave the exposition.
    pub expire_after_seconds: Option<LitInt>,
}

impl Metric {
    /// Where the quantile options were written, if any was.
    pub fn quantile_span(&self) -> Option<Span> {
        self.quantiles
            .as_ref()
            .map(|(_, span)| *span)
            .or_else(|| self.max_age_seconds.as_ref().map(LitInt::span))
            .or_else(|| self.age_buckets.as_ref().map(LitInt::span))
    }
}

/// A group of metrics sharing a namespace and subsystem.
pub struct Group {
    /// The path the generated code names the runtime by.
    pub krate: syn::Path,
    pub namespace: Option<LitStr>,
    pub subsystem: Option<LitStr>,
    pub metrics: Vec<Metric>,
}

impl Group {
    /// The family name a metric is exposed under, joined by the runtime's
    /// own rules (used to find clashes within one `metrics!` block).
    pub fn family_name(&self, m: &Metric) -> String {
        let part = |p: &Option<LitStr>| p.as_ref().map(LitStr::value).unwrap_or_default();
        let unit = part(&m.unit);
        series::join(&part(&self.namespace), &part(&self.subsystem), &m.name.0, &unit, m.kind.is_counter())
    }

    /// Every series name the metric may expose (see the runtime's
    /// `FamilyDesc::series_names`).
    pub fn series_names(&self, m: &Metric) -> Vec<String> {
        series::series_names(&self.family_name(m), m.kind.suffixes())
    }

    /// The name a scrape shows for the metric's main sample.
    pub fn exposed_name(&self, m: &Metric) -> String {
        let family = self.family_name(m);
        match m.kind {
            _ if m.kind.is_counter() => family + series::COUNTER_SUFFIXES[0],
            Kind::Info => family + series::INFO_SUFFIXES[0],
            _ => family,
        }
    }
}

/// Splits `Counter<Route>` into its kind and type arguments.
pub fn parse_type(ty: &Type) -> syn::Result<(Kind, Option<Type>, Option<Type>)> {
    let unknown = || {
        syn::Error::new_spanned(
            ty,
            format!("expected a metric type: {KINDS}, optionally with a label set: `Counter<Route>`"),
        )
    };
    let Type::Path(path) = ty else { return Err(unknown()) };
    let segment = path.path.segments.last().ok_or_else(unknown)?;
    let kind = Kind::from_ident(&segment.ident).ok_or_else(unknown)?;
    let args: Vec<Type> = match &segment.arguments {
        PathArguments::None => Vec::new(),
        PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .map(|arg| match arg {
                GenericArgument::Type(t) => Ok(t.clone()),
                other => Err(syn::Error::new_spanned(other, "expected a type argument")),
            })
            .collect::<syn::Result<_>>()?,
        PathArguments::Parenthesized(p) => return Err(syn::Error::new_spanned(p, "expected `<...>` type arguments")),
    };
    let mut args = args.into_iter();
    let (states, labels) = match kind {
        Kind::Enum => {
            let states = args.next().ok_or_else(|| {
                syn::Error::new_spanned(
                    ty,
                    "an Enum metric needs its states type: `Enum<WorkerState>` where `WorkerState` derives `LabelValue`",
                )
            })?;
            (Some(states), args.next())
        }
        _ => (None, args.next()),
    };
    if let Some(extra) = args.next() {
        let expected = if kind == Kind::Enum { "`Enum<States>` or `Enum<States, Labels>`" } else { "one label set" };
        return Err(syn::Error::new_spanned(extra, format!("too many type arguments: expected {expected}")));
    }
    Ok((kind, labels, states))
}
