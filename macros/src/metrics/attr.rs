//! Parsing the attributes of a group and of its metrics.

use proc_macro2::Span;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, ExprLit, Lit, LitStr, Meta, Token};

use crate::errors::Errors;

/// Keys accepted in `#[metrics(...)]` on a group.
const GROUP_KEYS: &str = "`namespace = \"...\"`, `subsystem = \"...\"`";
/// Keys accepted in `#[metric(...)]` on a metric.
const METRIC_KEYS: &str = "`name = \"...\"`, `unit = \"...\"`, `buckets = [...]`";

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

/// `#[metrics(namespace = "...", subsystem = "...")]`.
#[derive(Default)]
pub struct GroupAttrs {
    pub namespace: Option<LitStr>,
    pub subsystem: Option<LitStr>,
}

pub fn group(attrs: &[Attribute], errors: &mut Errors) -> GroupAttrs {
    let mut out = GroupAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("metrics")) {
        errors.check(attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("namespace") {
                out.namespace = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("subsystem") {
                out.subsystem = Some(meta.value()?.parse()?);
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
    /// Attributes that are not ours, kept on the generated item.
    pub passthrough: Vec<Attribute>,
}

fn bucket_list(input: syn::parse::ParseStream) -> syn::Result<Vec<Expr>> {
    Ok(Punctuated::<Expr, Token![,]>::parse_terminated(input)?.into_iter().collect())
}

/// `#[metric(name = "...", unit = "...", buckets = [...])]`, and the short
/// forms `#[name = "..."]`, `#[unit = "..."]`, `#[buckets(...)]`.
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
