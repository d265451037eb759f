//! Checks the macro makes itself. Name validity, reserved labels, bucket and
//! quantile rules are the runtime's `const fn`s, evaluated by the generated code.

use super::ast::series::first_clash;
use super::ast::{Group, Kind};
use crate::errors::Errors;

/// Checks one group. `exposed` holds the series names of the groups checked
/// before it in the same macro input, with the metric that exposes each
/// (named `{scope}{ident}`), so two modules of one `metrics!` block cannot
/// expose the same series either.
pub fn group(group: &Group, scope: &str, exposed: &mut Vec<(String, String)>, errors: &mut Errors) {
    for m in &group.metrics {
        if m.help.is_none() {
            errors.at(
                &m.ident,
                format_args!(
                    "metric `{}` needs a doc comment: it becomes the HELP text; add `/// What it measures.` above it",
                    m.ident
                ),
            );
        }
        if let Some((_, span)) = &m.buckets {
            if m.kind != Kind::Histogram {
                errors.push(syn::Error::new(
                    *span,
                    format!("buckets apply to a Histogram only; `{}` is a {}", m.ident, m.kind.type_name()),
                ));
            }
        }
        if let Some(span) = m.quantile_span() {
            if m.kind != Kind::Summary {
                errors.push(syn::Error::new(
                    span,
                    format!(
                        "quantiles, max_age_seconds and age_buckets apply to a Summary only; `{}` is a {}",
                        m.ident,
                        m.kind.type_name()
                    ),
                ));
            }
        }
        for (key, lit) in [("max_children", &m.max_children), ("expire_after_seconds", &m.expire_after_seconds)] {
            let Some(lit) = lit else { continue };
            if m.labels.is_none() {
                errors.at(
                    lit,
                    format_args!(
                        "`{key}` limits the label sets of a labelled metric; `{}` has no labels, so remove it",
                        m.ident
                    ),
                );
            } else if lit.base10_digits().trim_start_matches('0').is_empty() {
                errors.at(lit, format_args!("`{key}` must be at least 1"));
            }
        }
        if let Some(unit) = &m.unit {
            if matches!(m.kind, Kind::Info | Kind::Enum) {
                errors.at(unit, format_args!("a {} metric cannot have a unit; remove it", m.kind.type_name()));
            }
        }
        let series = group.series_names(m);
        if let Some((name, owner)) =
            first_clash(&series, |s| exposed.iter().find(|(n, _)| n == s).map(|(_, owner)| owner.clone()))
        {
            errors.at(
                &m.ident,
                format_args!(
                    "`{}` would expose the series `{name}`, which `{owner}` already exposes; give one of them another name",
                    m.ident
                ),
            );
        }
        exposed.extend(series.into_iter().map(|s| (s, format!("{scope}{}", m.ident))));
    }
}
