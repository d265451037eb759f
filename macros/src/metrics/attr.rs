//! Parsing the attributes of a group and of its metrics.

use proc_macro2::Span;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, ExprLit, Lit, LitInt, LitStr, Meta, Token};

use crate::errors::Errors;

/// Keys accepted in `#[metrics(...)]` on a group.
const GROUP_KEYS: &str = "`namespace = \"...\"`, `subsystem = \"...\"`, `crate = \"...\"`, `multiprocess`";
/// Keys accepted in `#[metric(...)]` on a metric.
const METRIC_KEYS: &str = "`name = \"...\"`, `unit = \"...\"`, `buckets = [...]`, \
    `quantiles = [(0.5, 0.05), ...]`, `max_age_seconds = 600`, `age_buckets = 5`, \
    `max_children = 1000`, `expire_after_seconds = 600`";

/// The first paragraph of the doc comment, on one line.
pub fn doc(attrs: &[Attribute]) -> Option<String> {
    let mut lines = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("doc")) {
        if let Meta::NameValue(nv) = &attr.meta {
            if let Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) = &nv.value {
                lines.extend(s.value().lines().map(|l| l.trim().to_owned()).collect::<Vec<_>>());
            }
        }
    }
    let paragraph: Vec<&str> =
        lines.iter().map(String::as_str).skip_while(|l| l.is_empty()).take_while(|l| !l.is_empty()).collect();
    let help = paragraph.join(" ");
    (!help.is_empty()).then_some(help)
}

/// `#[metrics(namespace = "...", subsystem = "...", crate = "...")]`.
#[derive(Default)]
pub struct GroupAttrs {
    pub namespace: Option<LitStr>,
    pub subsystem: Option<LitStr>,
    /// `crate = "..."`: the path of the runtime, when not `::promdecl`.
    pub krate: Option<syn::Path>,
    /// `multiprocess`: the metrics write through to multiprocess files.
    pub multiprocess: Option<Span>,
}

pub fn group(attrs: &[Attribute], errors: &mut Errors) -> GroupAttrs {
    let mut out = GroupAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("metrics")) {
        errors.check(attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("namespace") {
                out.namespace = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("subsystem") {
                out.subsystem = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("crate") {
                out.krate = Some(crate::krate::parse(meta.value()?)?);
            } else if meta.path.is_ident("multiprocess") {
                out.multiprocess = Some(meta.path.get_ident().map_or_else(Span::call_site, |i| i.span()));
            } else {
                return Err(meta.error(format!("unknown key in #[metrics(...)]; the valid keys are {GROUP_KEYS}")));
            }
            Ok(())
        }));
    }
    out
}

/// What a metric's attributes say.
#[derive(Default)]
pub struct MetricAttrs {
    pub name: Option<LitStr>,
    pub unit: Option<LitStr>,
    pub buckets: Option<(Vec<Expr>, Span)>,
    pub quantiles: Option<(Vec<(Expr, Expr)>, Span)>,
    pub max_age_seconds: Option<LitInt>,
    pub age_buckets: Option<LitInt>,
    pub max_children: Option<LitInt>,
    pub expire_after_seconds: Option<LitInt>,
    /// Attributes that are not ours, kept on the generated item.
    pub passthrough: Vec<Attribute>,
}

fn bucket_list(input: syn::parse::ParseStream) -> syn::Result<Vec<Expr>> {
    Ok(Punctuated::<Expr, Token![,]>::parse_terminated(input)?.into_iter().collect())
}

/// `(quantile, error), ...`: each entry a two-element tuple.
fn quantile_list(input: syn::parse::ParseStream) -> syn::Result<Vec<(Expr, Expr)>> {
    Punctuated::<Expr, Token![,]>::parse_terminated(input)?
        .into_iter()
        .map(|entry| match entry {
            Expr::Tuple(t) if t.elems.len() == 2 => {
                let mut elems = t.elems.into_iter();
                Ok((elems.next().expect("two elements"), elems.next().expect("two elements")))
            }
            Expr::Paren(p) => Err(syn::Error::new_spanned(
                p,
                "expected `(quantile, allowed error)`, such as `(0.99, 0.001)`: the error is missing",
            )),
            other => {
                Err(syn::Error::new_spanned(other, "expected `(quantile, allowed error)`, such as `(0.99, 0.001)`"))
            }
        })
        .collect()
}

/// An integer literal that fits `T`.
fn int_lit<T>(input: syn::parse::ParseStream) -> syn::Result<LitInt>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let lit: LitInt = input.parse()?;
    lit.base10_parse::<T>()?;
    Ok(lit)
}

/// `#[metric(name = "...", unit = "...", buckets = [...], quantiles = [...],
/// max_age_seconds = N, age_buckets = N, max_children = N,
/// expire_after_seconds = N)]`, and the short forms
/// `#[name = "..."]`, `#[unit = "..."]`, `#[buckets(...)]`,
/// `#[quantiles(...)]`.
pub fn metric(attrs: &[Attribute], errors: &mut Errors) -> MetricAttrs {
    let mut out = MetricAttrs::default();
    for attr in attrs {
        let path = attr.path();
        if path.is_ident("metric") {
            errors.check(attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("name") {
                    out.name = Some(meta.value()?.parse()?);
                } else if meta.path.is_ident("unit") {
                    out.unit = Some(meta.value()?.parse()?);
                } else if meta.path.is_ident("buckets") {
                    let value = meta.value()?;
                    let span = value.span();
                    let content;
                    syn::bracketed!(content in value);
                    out.buckets = Some((bucket_list(&content)?, span));
                } else if meta.path.is_ident("quantiles") {
                    let value = meta.value()?;
                    let content;
                    let bracket = syn::bracketed!(content in value);
                    out.quantiles = Some((quantile_list(&content)?, bracket.span.join()));
                } else if meta.path.is_ident("max_age_seconds") {
                    out.max_age_seconds = Some(int_lit::<u64>(meta.value()?)?);
                } else if meta.path.is_ident("age_buckets") {
                    out.age_buckets = Some(int_lit::<u32>(meta.value()?)?);
                } else if meta.path.is_ident("max_children") {
                    out.max_children = Some(int_lit::<usize>(meta.value()?)?);
                } else if meta.path.is_ident("expire_after_seconds") {
                    out.expire_after_seconds = Some(int_lit::<u64>(meta.value()?)?);
                } else {
                    return Err(meta.error(format!("unknown key in #[metric(...)]; the valid keys are {METRIC_KEYS}")));
                }
                Ok(())
            }));
        } else if path.is_ident("name") || path.is_ident("unit") {
            let value = match &attr.meta {
                Meta::NameValue(nv) => match &nv.value {
                    Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => Some(s.clone()),
                    other => {
                        errors.at(other, "expected a string literal");
                        None
                    }
                },
                _ => {
                    errors.at(
                        attr,
                        format!(
                            "expected `#[{} = \"...\"]`",
                            path.get_ident().map(|i| i.to_string()).unwrap_or_default()
                        ),
                    );
                    None
                }
            };
            if path.is_ident("name") {
                out.name = value.or(out.name.take());
            } else {
                out.unit = value.or(out.unit.take());
            }
        } else if path.is_ident("buckets") {
            match &attr.meta {
                Meta::List(list) => {
                    if let Some(values) = errors.check(bucket_list.parse2(list.tokens.clone())) {
                        out.buckets = Some((values, list.delimiter.span().join()));
                    }
                }
                _ => errors.at(attr, "expected `#[buckets(0.1, 0.5, 1.0)]`"),
            }
        } else if path.is_ident("quantiles") {
            match &attr.meta {
                Meta::List(list) => {
                    if let Some(values) = errors.check(quantile_list.parse2(list.tokens.clone())) {
                        out.quantiles = Some((values, list.delimiter.span().join()));
                    }
                }
                _ => errors.at(attr, "expected `#[quantiles((0.5, 0.05), (0.9, 0.01), (0.99, 0.001))]`"),
            }
        } else if path.is_ident("multiprocess") {
            // Read by `multiprocess_mode`, never passed through.
        } else if path.is_ident("metrics") {
            errors.at(
                attr,
                "`#[metrics(...)]` goes on the group (the module or struct); on a metric use `#[metric(...)]`",
            );
        } else {
            out.passthrough.push(attr.clone());
        }
    }
    out
}

/// The gauge modes of multiprocess mode, as the Python client names them,
/// with the runtime's `GaugeMode` variant of each.
const GAUGE_MODES: [(&str, &str); 10] = [
    ("all", "All"),
    ("liveall", "LiveAll"),
    ("min", "Min"),
    ("livemin", "LiveMin"),
    ("max", "Max"),
    ("livemax", "LiveMax"),
    ("sum", "Sum"),
    ("livesum", "LiveSum"),
    ("mostrecent", "MostRecent"),
    ("livemostrecent", "LiveMostRecent"),
];

/// `#[multiprocess(mode = "livesum")]` on a metric: the attribute (for
/// errors that point at it) and the runtime's `GaugeMode` variant.
pub fn multiprocess_mode(attrs: &[Attribute], errors: &mut Errors) -> Option<(Attribute, syn::Ident)> {
    let mut out = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("multiprocess")) {
        let mut mode = None;
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("mode") {
                let lit: LitStr = meta.value()?.parse()?;
                match GAUGE_MODES.iter().find(|(name, _)| *name == lit.value()) {
                    Some((_, variant)) => mode = Some(syn::Ident::new(variant, lit.span())),
                    None => {
                        let names: Vec<&str> = GAUGE_MODES.iter().map(|(name, _)| *name).collect();
                        return Err(syn::Error::new(
                            lit.span(),
                            format!("unknown gauge mode {:?}; expected one of {}", lit.value(), names.join(", ")),
                        ));
                    }
                }
                Ok(())
            } else {
                Err(meta
                    .error("unknown key in #[multiprocess(...)]; the valid key is `mode = \"livesum\"` (a gauge mode)"))
            }
        });
        if let Some(()) = errors.check(parsed) {
            match mode {
                Some(mode) => out = Some((attr.clone(), mode)),
                None => errors.at(attr, "expected `#[multiprocess(mode = \"...\")]`"),
            }
        }
    }
    out
}
