//! Procedural macros of [promdecl](https://docs.rs/promdecl). Use them
//! through the `promdecl` crate, which re-exports them and the runtime their
//! code calls.

mod errors;
mod fn_attr;
mod krate;
mod label_set;
mod label_value;
mod metrics;
mod rename;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Derives `LabelValue` for a fieldless enum: a closed set of label values.
#[proc_macro_derive(LabelValue, attributes(label))]
pub fn derive_label_value(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    label_value::expand(&input).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Derives `LabelSet` for a struct whose named fields are the labels.
#[proc_macro_derive(LabelSet, attributes(label))]
pub fn derive_label_set(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    label_set::expand(&input).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Derives `new()`, `Default` and `Collector` for a struct of metrics.
#[proc_macro_derive(Metrics, attributes(metrics, metric, buckets, quantiles, name, unit))]
pub fn derive_metrics(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    metrics::derive(&input).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Declares modules of metrics as statics registered in the default registry.
#[proc_macro]
pub fn metrics(input: TokenStream) -> TokenStream {
    metrics::block(input.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Observes the duration of every call into a Histogram or Summary.
#[proc_macro_attribute]
pub fn timed(attr: TokenStream, item: TokenStream) -> TokenStream {
    fn_attr::expand(fn_attr::Which::Timed, attr.into(), item.into()).into()
}

/// Counts the calls that return `Err` (or panic) into a Counter.
#[proc_macro_attribute]
pub fn count_exceptions(attr: TokenStream, item: TokenStream) -> TokenStream {
    fn_attr::expand(fn_attr::Which::CountExceptions, attr.into(), item.into()).into()
}

/// Tracks the calls in progress on a Gauge.
#[proc_macro_attribute]
pub fn track_inprogress(attr: TokenStream, item: TokenStream) -> TokenStream {
    fn_attr::expand(fn_attr::Which::TrackInprogress, attr.into(), item.into()).into()
}
