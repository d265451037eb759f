//! `#[derive(Metrics)]` and the `metrics!` block. The block lowers onto the
//! derive: each module becomes a hidden group struct with the same generated
//! code, plus one static per metric.

mod ast;
mod attr;
mod expand;
mod validate;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::parse::discouraged::Speculative;
use syn::parse::{Parse, ParseStream};
use syn::{braced, Attribute, Data, DeriveInput, Fields, Ident, Token, Type, Visibility};

use crate::errors::Errors;
use ast::{Group, Kind, Metric};

/// Builds a metric's model from a field or a static declaration.
fn metric(attrs: &[syn::Attribute], vis: Visibility, ident: Ident, ty: Type, errors: &mut Errors) -> Option<Metric> {
    let parsed = attr::metric(attrs, errors);
    let (kind, labels, states) = errors.check(ast::parse_type(&ty))?;
    let name = match parsed.name {
        Some(lit) => (lit.value(), lit.span()),
        None => (ident.to_string().trim_start_matches("r#").to_lowercase(), ident.span()),
    };
    Some(Metric {
        attrs: parsed.passthrough,
        vis,
        ident,
        kind,
        labels,
        states,
        help: attr::doc(attrs),
        name,
        unit: parsed.unit,
        buckets: parsed.buckets,
        quantiles: parsed.quantiles,
        max_age_seconds: parsed.max_age_seconds,
        age_buckets: parsed.age_buckets,
        max_children: parsed.max_children,
        expire_after_seconds: parsed.expire_after_seconds,
    })
}

pub fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => &named.named,
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "`#[derive(Metrics)]` needs a struct with named fields, one per metric",
                ))
            }
        },
        _ => {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "`#[derive(Metrics)]` works on structs with one field per metric",
            ))
        }
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(&input.generics, "`#[derive(Metrics)]` does not support generic structs"));
    }
    let mut errors = Errors::default();
    let group_attrs = attr::group(&input.attrs, &mut errors);
    if let Some(span) = group_attrs.multiprocess {
        errors.push(syn::Error::new(
            span,
            "`multiprocess` applies to a module of a `metrics!` block, whose statics are the process's own",
        ));
    }
    let metrics = fields
        .iter()
        .filter_map(|f| metric(&f.attrs, f.vis.clone(), f.ident.clone().expect("named"), f.ty.clone(), &mut errors))
        .collect();
    let group = Group {
        krate: group_attrs.krate.unwrap_or_else(crate::krate::default),
        namespace: group_attrs.namespace,
        subsystem: group_attrs.subsystem,
        metrics,
    };
    validate::group(&group, "", &mut Vec::new(), &mut errors);
    if let Err(e) = errors.finish() {
        // The struct keeps its constructor and Collector impl, so uses of
        // them elsewhere add no errors of their own.
        // The compile-time checks still run, so their errors come in the
        // same build.
        let error = e.into_compile_error();
        let checks = expand::checks(&group);
        let fallback = expand::fallback_impls(&group.krate, &input.ident);
        return Ok(quote!(#error #checks #fallback));
    }
    let checks = expand::checks(&group);
    let impls = expand::struct_impls(&input.ident, &group);
    Ok(quote!(#checks #impls))
}

/// The checks of a `#[metrics(multiprocess)]` module (`multiprocess`) or
/// of a plain one on its statics' types and `#[multiprocess(mode = "...")]`
/// attributes; returns the gauge mode (a `GaugeMode` variant) each static
/// sets.
fn multiprocess_checks(statics: &[StaticDecl], multiprocess: bool, errors: &mut Errors) -> Vec<(Ident, Ident)> {
    let mut modes = Vec::new();
    for s in statics {
        let kind = ast::parse_type(&s.ty).ok().map(|(kind, _, _)| kind);
        if let Some(kind @ (Kind::Info | Kind::Enum | Kind::ShardedCounter)) = kind.filter(|_| multiprocess) {
            let (what, instead) = match kind {
                Kind::ShardedCounter => ("a ShardedCounter", "declare it as a `Counter`"),
                Kind::Info => {
                    ("an Info", "declare it in a module without `multiprocess`, exposed where the scrape is served")
                }
                _ => ("an Enum", "declare it in a module without `multiprocess`, exposed where the scrape is served"),
            };
            errors.at(
                &s.ty,
                format_args!(
                    "{what} has no multiprocess form (the Python client's multiprocess mode has none either); {instead}"
                ),
            );
        }
        let Some((attr, mode)) = attr::multiprocess_mode(&s.attrs, errors) else { continue };
        if !multiprocess {
            errors.at(&attr, "`#[multiprocess(...)]` applies in a module marked `#[metrics(multiprocess)]`");
        } else if kind.is_some_and(|k| k != Kind::Gauge) {
            errors.at(&attr, "a gauge mode applies to a `Gauge` only");
        } else {
            modes.push((s.ident.clone(), mode));
        }
    }
    modes
}

/// `static NAME: Type;` inside a `metrics!` module.
struct StaticDecl {
    attrs: Vec<Attribute>,
    vis: Visibility,
    ident: Ident,
    ty: Type,
}

impl Parse for StaticDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        input.parse::<Token![static]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                "a metrics! module holds only declarations like `pub static NAME: Counter<Labels>;`",
            )
        })?;
        let ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let ty = input.parse()?;
        if input.peek(Token![=]) {
            return Err(input.error(
                "a declared metric has no initializer: write `pub static NAME: Counter;`, the macro builds it",
            ));
        }
        input.parse::<Token![;]>()?;
        Ok(StaticDecl { attrs, vis, ident, ty })
    }
}

/// `mod name { ... }` inside a `metrics!` block, with the syntax errors
/// found in its body: a declaration that does not parse is reported and
/// left out, and the rest of the module is still generated.
struct ModDecl {
    attrs: Vec<Attribute>,
    vis: Visibility,
    ident: Ident,
    statics: Vec<StaticDecl>,
    errors: Errors,
}

impl Parse for ModDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        input.parse::<Token![mod]>().map_err(|e| {
            syn::Error::new(e.span(), "metrics! holds modules: `pub mod http { pub static REQUESTS: Counter; }`")
        })?;
        let ident = input.parse()?;
        let content;
        braced!(content in input);
        let mut statics = Vec::new();
        let mut errors = Errors::default();
        while !content.is_empty() {
            let fork = content.fork();
            match fork.parse::<StaticDecl>() {
                Ok(decl) => {
                    content.advance_to(&fork);
                    statics.push(decl);
                }
                Err(e) => {
                    errors.push(e);
                    skip_declaration(&content)?;
                }
            }
        }
        Ok(ModDecl { attrs, vis, ident, statics, errors })
    }
}

/// Skips the tokens up to and including the next `;`: the rest of a
/// declaration that did not parse.
fn skip_declaration(input: ParseStream) -> syn::Result<()> {
    input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tree, next)) = rest.token_tree() {
            rest = next;
            if matches!(&tree, proc_macro2::TokenTree::Punct(p) if p.as_char() == ';') {
                break;
            }
        }
        Ok(((), rest))
    })
}

/// The modules of a block. A module that does not parse is reported, and
/// the parsing goes on at the next `mod`, so one mistake leaves the other
/// modules generated and their uses free of errors.
struct Block(Vec<ModDecl>, Errors);

impl Parse for Block {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut mods = Vec::new();
        let mut errors = Errors::default();
        while !input.is_empty() {
            let fork = input.fork();
            match fork.parse::<ModDecl>() {
                Ok(decl) => {
                    input.advance_to(&fork);
                    mods.push(decl);
                }
                Err(e) => {
                    errors.push(e);
                    skip_module(input)?;
                }
            }
        }
        Ok(Block(mods, errors))
    }
}

/// Skips the tokens of a module that does not parse: up to and including
/// its braced body, or up to the `mod` of the next module when it has none.
fn skip_module(input: ParseStream) -> syn::Result<()> {
    input.step(|cursor| {
        let mut rest = *cursor;
        let mut seen_mod = false;
        while let Some((tree, next)) = rest.token_tree() {
            match &tree {
                proc_macro2::TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Brace => {
                    return Ok(((), next));
                }
                proc_macro2::TokenTree::Ident(i) if i == "mod" => {
                    if seen_mod {
                        return Ok(((), rest));
                    }
                    seen_mod = true;
                }
                _ => {}
            }
            rest = next;
        }
        Ok(((), rest))
    })
}

pub fn block(input: TokenStream) -> syn::Result<TokenStream> {
    let Block(mods, mut all_errors) = syn::parse2(input)?;
    let mut out = TokenStream::new();
    let mut exposed = Vec::new();
    for m in mods {
        let (tokens, result) = module(m, &mut exposed);
        out.extend(tokens);
        if let Err(e) = result {
            all_errors.push(e);
        }
    }
    if let Err(e) = all_errors.finish() {
        out.extend(e.into_compile_error());
    }
    Ok(out)
}

/// One module: the group struct, its registration, and a static per metric.
/// On errors the module and statics are still emitted (with bodies that are
/// never run) so the rest of the program type-checks against them.
fn module(decl: ModDecl, exposed: &mut Vec<(String, String)>) -> (TokenStream, syn::Result<()>) {
    let mut errors = decl.errors;
    let group_attrs = attr::group(&decl.attrs, &mut errors);
    let multiprocess = group_attrs.multiprocess.is_some();
    let modes = multiprocess_checks(&decl.statics, multiprocess, &mut errors);
    let mod_attrs = decl.attrs.iter().filter(|a| !a.path().is_ident("metrics"));
    let metrics: Vec<Metric> =
        decl.statics.into_iter().filter_map(|s| metric(&s.attrs, s.vis, s.ident, s.ty, &mut errors)).collect();
    if multiprocess {
        for span in metrics.iter().filter_map(Metric::quantile_span) {
            errors.push(syn::Error::new(
                span,
                "a multiprocess Summary has no quantiles (count and sum only, as in the Python client); remove them",
            ));
        }
    }
    let group = Group {
        krate: group_attrs.krate.unwrap_or_else(crate::krate::default),
        namespace: group_attrs.namespace,
        subsystem: group_attrs.subsystem,
        metrics,
    };
    let krate = &group.krate;
    validate::group(&group, &format!("{}::", decl.ident), exposed, &mut errors);
    let result = errors.finish();

    let (vis, ident) = (&decl.vis, &decl.ident);
    let group_ident = format_ident!("__PromdeclGroup");
    // The type of each metric: a multiprocess one where it has that form.
    let ty_of = |m: &Metric| match m.kind {
        Kind::Counter | Kind::Gauge | Kind::Histogram | Kind::Summary if multiprocess => {
            expand::multiprocess_type(krate, m)
        }
        _ => expand::runtime_type(krate, m),
    };
    let statics = group.metrics.iter().map(|m| {
        let ty = ty_of(m);
        let (attrs, vis, name) = (&m.attrs, &m.vis, &m.ident);
        let exposed = expand::exposed_doc(&group, m);
        let init = if result.is_ok() { quote!(__PROMDECL_GROUP.#name.clone()) } else { quote!(::core::unreachable!()) };
        let item = if expand::in_static(m, multiprocess) {
            quote!(#vis static #name: #krate::Declared<#ty> = #krate::Declared::<#ty>::__new(|| #init);)
        } else {
            quote!(#vis static #name: #krate::__private::Lazy<#ty> = #krate::__private::Lazy::new(|| #init);)
        };
        quote! {
            #(#attrs)*
            #[doc = #exposed]
            #item
        }
    });
    let body = if result.is_err() {
        // The compile-time checks still run, so their errors come in the
        // same build.
        expand::checks(&group)
    } else {
        let fields = group.metrics.iter().map(|m| {
            let ty = ty_of(m);
            let cfgs = m.attrs.iter().filter(|a| a.path().is_ident("cfg"));
            let name = &m.ident;
            quote!(#(#cfgs)* pub #name: #ty,)
        });
        let checks = expand::checks(&group);
        let impls = if multiprocess {
            let mode = |ident: &Ident| modes.iter().find(|(i, _)| i == ident).map(|(_, mode)| mode.clone());
            let impls = expand::multiprocess_struct_impls(&group_ident, &group, mode);
            quote!(#krate::__private::require_multiprocess!(); #impls)
        } else {
            expand::module_impls(&group_ident, &group)
        };
        quote! {
            #checks

            #[doc(hidden)]
            #[allow(non_snake_case)]
            #[derive(::core::clone::Clone)]
            pub struct #group_ident { #(#fields)* }

            #impls

            #[doc(hidden)]
            pub static __PROMDECL_GROUP: #krate::__private::Lazy<#group_ident> =
                #krate::__private::Lazy::new(|| {
                    let group = #group_ident::new();
                    #krate::__private::register_group(::core::clone::Clone::clone(&group));
                    group
                });

            #[#krate::__private::linkme::distributed_slice(#krate::__private::METRIC_GROUPS)]
            #[linkme(crate = #krate::__private::linkme)]
            static __PROMDECL_REGISTER: fn() = || {
                #krate::__private::Lazy::force(&__PROMDECL_GROUP);
            };
        }
    };
    let tokens = quote! {
        #(#mod_attrs)*
        #vis mod #ident {
            #[allow(unused_imports)]
            use super::*;

            #body
            #(#statics)*
        }
    };
    (tokens, result)
}
