//! `#[timed]`, `#[count_exceptions]` and `#[track_inprogress]`.
//!
//! The user's function keeps its signature, attributes and body spans; the
//! body is wrapped in a block that first creates a guard recording on drop.
//! For `#[count_exceptions]` the body runs in a closure (an `async` block for
//! async functions) so `return` and `?` still pass through the check of the
//! result. A non-async function whose body ends in `Box::pin(async move {..})`
//! or `async move {..}` (the `async_trait` shape) is instrumented inside that
//! block.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Block, Expr, ExprAsync, ItemFn, ReturnType, Stmt, Token, Type};

use crate::errors::Errors;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Timed,
    CountExceptions,
    TrackInprogress,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Timed => "timed",
            Which::CountExceptions => "count_exceptions",
            Which::TrackInprogress => "track_inprogress",
        }
    }

    fn keys(self) -> &'static str {
        match self {
            Which::Timed => "`labels = <expr>`, `exemplar(<name> = <expr>, ...)`, `trace_exemplar`, `crate = \"...\"`",
            Which::CountExceptions => "`labels = <expr>`, `filter = <fn or closure>`, `crate = \"...\"`",
            Which::TrackInprogress => "`labels = <expr>`, `crate = \"...\"`",
        }
    }
}

/// `METRIC, labels = EXPR, filter = EXPR, exemplar(NAME = EXPR, ...)`
struct Args {
    metric: Expr,
    labels: Option<Expr>,
    filter: Option<Expr>,
    /// The `exemplar` keyword and its label names and values.
    exemplar: Option<(syn::Ident, Vec<(syn::Ident, Expr)>)>,
    /// The `trace_exemplar` keyword: the current trace is the exemplar.
    trace_exemplar: Option<syn::Ident>,
    /// `crate = "..."`: the path of the runtime, when not `::promdecl`.
    krate: Option<syn::Path>,
    unknown: Vec<syn::Ident>,
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(input.error("name the metric to record into, e.g. `#[timed(http::REQUEST_SECONDS)]`"));
        }
        let metric = input.parse()?;
        let mut args = Args {
            metric,
            labels: None,
            filter: None,
            exemplar: None,
            trace_exemplar: None,
            krate: None,
            unknown: Vec::new(),
        };
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key = syn::Ident::parse_any(input)?;
            if key == "crate" {
                input.parse::<Token![=]>()?;
                args.krate = Some(crate::krate::parse(input)?);
                continue;
            }
            if key == "trace_exemplar" && (input.is_empty() || input.peek(Token![,])) {
                args.trace_exemplar = Some(key);
                continue;
            }
            if key == "exemplar" {
                if !input.peek(syn::token::Paren) {
                    return Err(syn::Error::new(
                        key.span(),
                        "write the exemplar's labels as `exemplar(trace_id = <expr>, ...)`",
                    ));
                }
                let content;
                syn::parenthesized!(content in input);
                let mut pairs = Vec::new();
                while !content.is_empty() {
                    let name: syn::Ident = content.call(syn::ext::IdentExt::parse_any)?;
                    content.parse::<Token![=]>()?;
                    pairs.push((name, content.parse()?));
                    if content.is_empty() {
                        break;
                    }
                    content.parse::<Token![,]>()?;
                }
                args.exemplar = Some((key, pairs));
                continue;
            }
            input.parse::<Token![=]>()?;
            let value: Expr = input.parse()?;
            match key.to_string().as_str() {
                "labels" => args.labels = Some(value),
                "filter" => args.filter = Some(value),
                _ => args.unknown.push(key),
            }
        }
        Ok(args)
    }
}

pub fn expand(which: Which, attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let msg = format!("#[{}] goes on a function", which.name());
            let mut out = syn::Error::new(e.span(), msg).into_compile_error();
            out.extend(item);
            return out;
        }
    };
    match instrument(which, attr, &mut func) {
        Ok(()) => func.into_token_stream(),
        Err(e) => {
            // Keep the user's function so the rest of the program still checks.
            let mut out = e.into_compile_error();
            out.extend(item);
            out
        }
    }
}

fn instrument(which: Which, attr: TokenStream, func: &mut ItemFn) -> syn::Result<()> {
    let mut errors = Errors::default();
    let args = errors.check(syn::parse2::<Args>(attr));
    if let Some(constness) = &func.sig.constness {
        errors.at(
            constness,
            format_args!(
                "#[{}] cannot go on a `const fn`: a const fn cannot read the clock or record metrics",
                which.name()
            ),
        );
    }
    if let Some(args) = &args {
        for key in &args.unknown {
            errors.at(
                key,
                format_args!("unknown key `{key}` in #[{}]; the valid keys are {}", which.name(), which.keys()),
            );
        }
        if let Some((key, pairs)) = &args.exemplar {
            if which != Which::Timed {
                errors.at(
                    key,
                    format_args!(
                        "`exemplar` applies to #[timed] only (exemplars go on histogram buckets); the valid keys are {}",
                        which.keys()
                    ),
                );
            }
            for (i, (name, _)) in pairs.iter().enumerate() {
                if pairs[..i].iter().any(|(n, _)| n.unraw() == name.unraw()) {
                    errors.at(name, format_args!("exemplar label `{}` is given twice", name.unraw()));
                }
            }
        }
        if let Some(key) = &args.trace_exemplar {
            if which != Which::Timed {
                errors.at(
                    key,
                    format_args!(
                        "`trace_exemplar` applies to #[timed] only (exemplars go on histogram buckets); the valid keys are {}",
                        which.keys()
                    ),
                );
            } else if let Some((exemplar, _)) = &args.exemplar {
                errors.at(
                    exemplar,
                    "give either `exemplar(...)` or `trace_exemplar`: a bucket keeps one exemplar, so one of them would be lost",
                );
            }
        }
        if let (Some(filter), false) = (&args.filter, which == Which::CountExceptions) {
            errors.at(
                filter,
                format_args!("`filter` applies to #[count_exceptions] only; the valid keys are {}", which.keys()),
            );
        }
    }
    errors.finish()?;
    let args = args.expect("checked above");

    let is_async = func.sig.asyncness.is_some();
    if !is_async {
        if let Some(inner) = returned_async_block(&mut func.block) {
            inner.block = wrap(which, &args, &inner.block, true, None);
            return Ok(());
        }
    }
    let output = result_type(&func.sig.output);
    let body = wrap(which, &args, &func.block, is_async, output.as_ref());
    *func.block = body;
    Ok(())
}

/// The declared return type, when it can be written in a `let` (not with
/// `impl Trait`): it pins the type the result check sees even when the body
/// diverges.
fn result_type(output: &ReturnType) -> Option<TokenStream> {
    struct FindImpl(bool);
    impl Visit<'_> for FindImpl {
        fn visit_type_impl_trait(&mut self, _: &syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    match output {
        ReturnType::Default => Some(quote!(())),
        ReturnType::Type(_, ty) => {
            let mut find = FindImpl(false);
            find.visit_type(ty);
            (!find.0 && !matches!(**ty, Type::Infer(_))).then(|| quote!(#ty))
        }
    }
}

/// The `async move { .. }` a non-async function returns, bare or in `Box::pin`.
fn returned_async_block(block: &mut Block) -> Option<&mut ExprAsync> {
    let Some(Stmt::Expr(tail, None)) = block.stmts.last_mut() else { return None };
    match tail {
        Expr::Async(inner) => Some(inner),
        Expr::Call(call) if call.args.len() == 1 && is_box_pin(&call.func) => match call.args.first_mut() {
            Some(Expr::Async(inner)) => Some(inner),
            _ => None,
        },
        _ => None,
    }
}

fn is_box_pin(func: &Expr) -> bool {
    let Expr::Path(path) = func else { return false };
    let segments: Vec<String> = path.path.segments.iter().map(|s| s.ident.to_string()).collect();
    segments.ends_with(&["Box".to_owned(), "pin".to_owned()])
}

/// The body with the guard in front.
fn wrap(which: Which, args: &Args, body: &Block, is_async: bool, output: Option<&TokenStream>) -> Block {
    let site = Span::mixed_site();
    let krate = args.krate.clone().unwrap_or_else(crate::krate::default);
    let metric = &args.metric;
    let labels_ident = quote_spanned!(site=> __promdecl_labels);
    let (check_labels, start, start_labeled) = match which {
        Which::Timed => (quote!(timed_labels), quote!(start_timer), quote!(start_timer_labeled)),
        Which::CountExceptions => (quote!(counted_labels), quote!(exception_target), quote!(exception_target_labeled)),
        Which::TrackInprogress => (quote!(tracked_labels), quote!(track), quote!(track_labeled)),
    };
    let (labels_stmt, target) = match &args.labels {
        Some(labels) => (
            {
                let krate = crate::krate::at(&krate, labels.span());
                quote_spanned!(labels.span()=>
                    let #labels_ident = #krate::__private::#check_labels(&#metric, #labels);
                )
            },
            {
                let krate = crate::krate::at(&krate, metric.span());
                quote_spanned!(metric.span()=> #krate::__private::#start_labeled(&#metric, &#labels_ident))
            },
        ),
        None => (TokenStream::new(), {
            let krate = crate::krate::at(&krate, metric.span());
            quote_spanned!(metric.span()=> #krate::__private::#start(&#metric))
        }),
    };
    let tokens = match (which, &args.exemplar) {
        (Which::Timed, Some((_, pairs))) => {
            let guard = quote_spanned!(site=> __promdecl_guard);
            let names: Vec<String> = pairs.iter().map(|(n, _)| n.unraw().to_string()).collect();
            let checks = pairs.iter().zip(&names).map(|((ident, _), name)| {
                let krate = crate::krate::at(&krate, ident.span());
                quote_spanned!(ident.span()=> const _: () = #krate::__private::assert_label_name(#name);)
            });
            let values = pairs.iter().zip(&names).map(|((_, value), name)| {
                let krate = crate::krate::at(&krate, value.span());
                quote_spanned!(value.span()=> (#name, #krate::__private::exemplar_value(&(#value))))
            });
            let start = match &args.labels {
                Some(_) => {
                    let krate = crate::krate::at(&krate, metric.span());
                    quote_spanned!(metric.span()=>
                        #krate::__private::start_exemplar_timer_labeled(&#metric, &#labels_ident, [#(#values),*])
                    )
                }
                None => {
                    let krate = crate::krate::at(&krate, metric.span());
                    quote_spanned!(metric.span()=>
                        #krate::__private::start_exemplar_timer(&#metric, [#(#values),*])
                    )
                }
            };
            {
                let krate = crate::krate::at(&krate, site);
                quote_spanned! {site=> {
                    #(#checks)*
                    const _: () = #krate::__private::assert_exemplar_names_fit(&[#(#names),*]);
                    #labels_stmt
                    let #guard = #start;
                    #body
                }}
            }
        }
        (Which::Timed, None) if args.trace_exemplar.is_some() => {
            let guard = quote_spanned!(site=> __promdecl_guard);
            let start = match &args.labels {
                Some(_) => {
                    let krate = crate::krate::at(&krate, metric.span());
                    quote_spanned!(metric.span()=>
                        #krate::__private::start_trace_timer_labeled(&#metric, &#labels_ident)
                    )
                }
                None => {
                    let krate = crate::krate::at(&krate, metric.span());
                    quote_spanned!(metric.span()=> #krate::__private::start_trace_timer(&#metric))
                }
            };
            quote_spanned! {site=> {
                #labels_stmt
                let #guard = #start;
                #body
            }}
        }
        (Which::Timed | Which::TrackInprogress, _) => {
            let guard = quote_spanned!(site=> __promdecl_guard);
            quote_spanned! {site=> {
                #labels_stmt
                let #guard = #target;
                #body
            }}
        }
        (Which::CountExceptions, _) => {
            let filter = match &args.filter {
                Some(f) => quote!(#f),
                None => quote!(|_| true),
            };
            let result = quote_spanned!(site=> __promdecl_result);
            let annotation = output.map(|ty| quote!(: #ty));
            let run = if is_async {
                {
                    let krate = crate::krate::at(&krate, site);
                    quote_spanned! {site=>
                        #krate::__private::CountPanics::new(&__promdecl_target, async move #body).await
                    }
                }
            } else {
                {
                    let krate = crate::krate::at(&krate, site);
                    quote_spanned! {site=>
                        {
                            let __promdecl_guard = #krate::__private::ExceptionGuard::new(&__promdecl_target);
                            #[allow(clippy::redundant_closure_call)]
                            let __promdecl_value = (move || #body)();
                            __promdecl_guard.disarm();
                            __promdecl_value
                        }
                    }
                }
            };
            {
                let krate = crate::krate::at(&krate, site);
                quote_spanned! {site=> {
                    #labels_stmt
                    let __promdecl_target = #target;
                    let #result #annotation = #run;
                    {
                        #[allow(unused_imports)]
                        use #krate::__private::{ProbeOther as _, ProbeResult as _};
                        if (&#krate::__private::ErrProbe(&#result)).promdecl_is_err(#filter) {
                            #krate::__private::Increment::increment(&__promdecl_target);
                        }
                    }
                    #result
                }}
            }
        }
    };
    syn::parse2(tokens).expect("generated block parses")
}
