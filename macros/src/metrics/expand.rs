//! Code generation for metric groups.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::Ident;

use super::ast::{Group, Kind, Metric};

/// `::promdecl::Counter<Route>`, `::promdecl::Enum<State, ()>`, ... (under the group's crate path).
pub fn runtime_type(krate: &syn::Path, m: &Metric) -> TokenStream {
    let kind = format_ident!("{}", m.kind.type_name());
    let labels = m.labels.as_ref().map_or_else(|| quote!(()), |l| quote!(#l));
    match &m.states {
        Some(states) => quote!(#krate::#kind<#states, #labels>),
        None => quote!(#krate::#kind<#labels>),
    }
}

/// Compile-time checks, each pointing at the user's token.
pub fn checks(group: &Group) -> TokenStream {
    let krate = &group.krate;
    let mut out = TokenStream::new();
    for part in [&group.namespace, &group.subsystem].into_iter().flatten() {
        if !part.value().is_empty() {
            out.extend({
                let krate = crate::krate::at(krate, part.span());
                quote_spanned!(part.span()=> const _: () = #krate::__private::assert_metric_name(#part);)
            });
        }
    }
    for m in &group.metrics {
        let (name, span) = &m.name;
        out.extend({
            let krate = crate::krate::at(krate, *span);
            quote_spanned!(*span=> const _: () = #krate::__private::assert_metric_name(#name);)
        });
        if let Some(unit) = &m.unit {
            out.extend({
                let krate = crate::krate::at(krate, unit.span());
                quote_spanned!(unit.span()=> const _: () = #krate::__private::assert_metric_name(#unit);)
            });
        }
        if let Some(labels) = &m.labels {
            let kind = format_ident!("{}", m.kind.metric_type());
            out.extend({
                let krate = crate::krate::at(krate, labels.span());
                quote_spanned!(labels.span()=>
                    const _: () = #krate::__private::assert_labels_allowed::<#labels>(
                        #krate::__private::MetricType::#kind
                    );
                )
            });
        }
        if let Some((values, span)) = &m.buckets {
            out.extend({
                let krate = crate::krate::at(krate, *span);
                quote_spanned!(*span=>
                    #[allow(clippy::unnecessary_cast)]
                    const _: () = #krate::__private::assert_buckets(&[#((#values) as f64),*]);
                )
            });
        }
        if let Some(span) = m.quantile_span() {
            let (objectives, max_age, age_buckets) = quantile_args(m);
            out.extend({
                let krate = crate::krate::at(krate, span);
                quote_spanned!(span=>
                    #[allow(clippy::unnecessary_cast)]
                    const _: () = #krate::__private::assert_quantiles(#objectives, #max_age, #age_buckets);
                )
            });
        }
        if let Some(states) = &m.states {
            out.extend({ let krate = crate::krate::at(krate, states.span()); quote_spanned!(states.span()=>
                const _: () = ::core::assert!(
                    <#states as #krate::LabelValue>::VALUES.is_some(),
                    "the states of a declared Enum metric must be a closed set: a fieldless enum deriving LabelValue"
                );
            ) });
        }
    }
    out
}

/// The objectives slice and the window options, as expressions.
fn quantile_args(m: &Metric) -> (TokenStream, TokenStream, TokenStream) {
    let pairs = m.quantiles.iter().flat_map(|(pairs, _)| pairs).map(|(q, e)| quote!(((#q) as f64, (#e) as f64)));
    let objectives = quote!(&[#(#pairs),*]);
    (objectives, optional(&m.max_age_seconds), optional(&m.age_buckets))
}

/// `Some(lit)` or `None`, as an expression.
fn optional(lit: &Option<syn::LitInt>) -> TokenStream {
    match lit {
        Some(lit) => quote!(::core::option::Option::Some(#lit)),
        None => quote!(::core::option::Option::None),
    }
}

/// The runtime type of a metric of a `#[metrics(multiprocess)]` module:
/// `::promdecl::__private::MultiProcessCounter<Route>`, ... (the kinds
/// without a multiprocess form are refused before expansion).
pub fn multiprocess_type(krate: &syn::Path, m: &Metric) -> TokenStream {
    let kind = format_ident!("MultiProcess{}", m.kind.type_name());
    let labels = m.labels.as_ref().map_or_else(|| quote!(()), |l| quote!(#l));
    quote!(#krate::__private::#kind<#labels>)
}

/// The expression that builds one metric.
fn build(group: &Group, m: &Metric, statics: bool) -> TokenStream {
    let krate = &group.krate;
    let ty = runtime_type(krate, m);
    let opts = opts(group, m);
    if statics && in_static(m, false) {
        let name = &m.ident;
        return quote!(#name.__build(&#opts));
    }
    quote! {
        #krate::__private::build::<#ty>(&#opts)
    }
}

/// Whether the metric's value lives in its `static` (a `Declared`): an
/// unlabelled counter or gauge, outside multiprocess mode.
pub fn in_static(m: &Metric, multiprocess: bool) -> bool {
    !multiprocess && m.labels.is_none() && matches!(m.kind, Kind::Counter | Kind::Gauge)
}

/// The expression that builds one metric of a `#[metrics(multiprocess)]`
/// module, with its gauge mode (a `GaugeMode` variant).
fn build_multiprocess(group: &Group, m: &Metric, mode: Option<&Ident>) -> TokenStream {
    let krate = &group.krate;
    let ty = multiprocess_type(krate, m);
    let opts = opts(group, m);
    let mode = mode.map_or_else(|| quote!(All), |mode| quote!(#mode));
    quote! {
        #krate::__private::build_multiprocess::<#ty>(&#opts, #krate::__private::GaugeMode::#mode)
    }
}

/// The expression of a metric's `Opts`.
fn opts(group: &Group, m: &Metric) -> TokenStream {
    let krate = &group.krate;
    let name = &m.name.0;
    let help = m.help.clone().unwrap_or_default();
    let namespace = group.namespace.as_ref().map(|l| l.value()).unwrap_or_default();
    let subsystem = group.subsystem.as_ref().map(|l| l.value()).unwrap_or_default();
    let unit = m.unit.as_ref().map(|l| l.value()).unwrap_or_default();
    let buckets = match &m.buckets {
        Some((values, _)) => quote!({
            #[allow(clippy::unnecessary_cast)]
            const BUCKETS: &[f64] = &[#((#values) as f64),*];
            ::core::option::Option::Some(BUCKETS)
        }),
        None => quote!(::core::option::Option::None),
    };
    let mut opts = quote! {
        #krate::__private::opts(#name, #help, #namespace, #subsystem, #unit, #buckets)
    };
    if m.quantile_span().is_some() {
        let (objectives, max_age, age_buckets) = quantile_args(m);
        opts = quote!({
            #[allow(clippy::unnecessary_cast)]
            const QUANTILES: &[(f64, f64)] = #objectives;
            #krate::__private::with_quantiles(#opts, QUANTILES, #max_age, #age_buckets)
        });
    }
    if m.max_children.is_some() || m.expire_after_seconds.is_some() {
        let (max, expire) = (optional(&m.max_children), optional(&m.expire_after_seconds));
        opts = quote!(#krate::__private::with_limits(#opts, #max, #expire));
    }
    opts
}

/// What a struct whose declaration has errors still gets: the signatures of
/// [`struct_impls`], with bodies that never run (the build fails anyway).
pub fn fallback_impls(krate: &syn::Path, ident: &Ident) -> TokenStream {
    quote! {
        #[automatically_derived]
        impl #ident {
            /// Builds every metric of the group (not registered anywhere yet).
            pub fn new() -> Self {
                ::core::unreachable!()
            }
        }

        #[automatically_derived]
        impl ::core::default::Default for #ident {
            fn default() -> Self {
                ::core::unreachable!()
            }
        }

        #[automatically_derived]
        impl #krate::Collector for #ident {
            fn collect(&self, _: &mut dyn #krate::__private::MetricEncoder) {}
        }
    }
}

/// `new()`, `Default` and `Collector` for a struct of metric fields.
pub fn struct_impls(ident: &Ident, group: &Group) -> TokenStream {
    let builds = group.metrics.iter().map(|m| build(group, m, false)).collect();
    impls_with(ident, group, builds)
}

/// [`struct_impls`] for the group of a `metrics!` module, whose unlabelled
/// counters and gauges take the value their `static` holds.
pub fn module_impls(ident: &Ident, group: &Group) -> TokenStream {
    let builds = group.metrics.iter().map(|m| build(group, m, true)).collect();
    impls_with(ident, group, builds)
}

/// [`struct_impls`] for a `#[metrics(multiprocess)]` module, whose
/// metrics write through to the multiprocess files. `mode` gives the gauge
/// mode of a metric (a `GaugeMode` variant), if it sets one.
pub fn multiprocess_struct_impls(ident: &Ident, group: &Group, mode: impl Fn(&Ident) -> Option<Ident>) -> TokenStream {
    let builds = group.metrics.iter().map(|m| build_multiprocess(group, m, mode(&m.ident).as_ref())).collect();
    impls_with(ident, group, builds)
}

fn impls_with(ident: &Ident, group: &Group, builds: Vec<TokenStream>) -> TokenStream {
    let krate = &group.krate;
    let fields: Vec<&Ident> = group.metrics.iter().map(|m| &m.ident).collect();
    let attrs = group.metrics.iter().map(cfg_attrs);
    let attrs2 = group.metrics.iter().map(cfg_attrs);
    let attrs3 = group.metrics.iter().map(cfg_attrs);
    quote! {
        #[automatically_derived]
        impl #ident {
            /// Builds every metric of the group (not registered anywhere yet).
            pub fn new() -> Self {
                Self { #(#attrs #fields: #builds,)* }
            }
        }

        #[automatically_derived]
        impl ::core::default::Default for #ident {
            fn default() -> Self {
                Self::new()
            }
        }

        #[automatically_derived]
        impl #krate::Collector for #ident {
            fn collect(&self, enc: &mut dyn #krate::__private::MetricEncoder) {
                #(#attrs2 #krate::Collector::collect(&self.#fields, enc);)*
            }

            fn describe(&self) -> ::std::vec::Vec<#krate::__private::FamilyDesc> {
                let mut all = ::std::vec::Vec::new();
                #(#attrs3 all.extend(#krate::Collector::describe(&self.#fields));)*
                all
            }
        }
    }
}

fn cfg_attrs(m: &Metric) -> TokenStream {
    let cfgs = m.attrs.iter().filter(|a| a.path().is_ident("cfg"));
    quote!(#(#cfgs)*)
}

/// A note for the generated item's docs: what a scrape shows.
pub fn exposed_doc(group: &Group, m: &Metric) -> String {
    let kind = match m.kind {
        Kind::Enum => "stateset",
        other => other.metric_type(),
    };
    format!("\n\nExposed as `{}` ({}).", group.exposed_name(m), kind.to_lowercase())
}
