//! The path generated code names the runtime by: `::promdecl`, or what the
//! user gives with `crate = "..."` (as serde's `#[serde(crate = "...")]`):
//! a renamed dependency, a re-export, or `::promdecl_runtime` used alone.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::ParseStream;
use syn::{LitStr, Path};

/// `::promdecl`.
pub fn default() -> Path {
    syn::parse_quote!(::promdecl)
}

/// `path` with every token at `span`: generated calls whose compile-time
/// failure the compiler reports at `span` (the user's token), as it would
/// for a path written there.
pub fn at(path: &Path, span: Span) -> TokenStream {
    path.to_token_stream()
        .into_iter()
        .map(|mut tree| {
            tree.set_span(span);
            tree
        })
        .collect()
}

/// The path in a `crate = "..."` value, at `input`.
pub fn parse(input: ParseStream) -> syn::Result<Path> {
    let lit: LitStr = input.parse()?;
    lit.parse::<Path>().map_err(|_| {
        syn::Error::new(
            lit.span(),
            "expected the path promdecl is reached by, such as `crate = \"::promdecl\"` or \
             `crate = \"::my_metrics::promdecl\"`",
        )
    })
}

#[cfg(test)]
mod tests {
    use quote::quote;

    /// The generated code names no crate but the one given: nothing of it
    /// reaches for `::promdecl` behind the user's back.
    fn assert_only_through(out: proc_macro2::TokenStream) {
        let text = out.to_string();
        assert!(text.contains("my_runtime ::"), "the given path is used: {text}");
        assert!(!text.contains(":: promdecl ::"), "no path goes through ::promdecl: {text}");
    }

    #[test]
    fn metrics_blocks_use_the_given_crate_path() {
        let out = crate::metrics::block(quote! {
            #[metrics(namespace = "app", crate = "::my_runtime")]
            pub mod http {
                /// Requests.
                #[buckets(0.1, 1.0)]
                pub static REQUEST_SECONDS: Histogram<Route>;
                /// Jobs.
                pub static JOBS: Counter;
            }
        })
        .unwrap();
        assert_only_through(out);
    }

    #[test]
    fn derives_use_the_given_crate_path() {
        let metrics = crate::metrics::derive(&syn::parse_quote! {
            #[metrics(crate = "::my_runtime")]
            struct Metrics {
                /// Jobs.
                jobs: Counter<Route>,
            }
        })
        .unwrap();
        assert_only_through(metrics);
        let value = crate::label_value::expand(&syn::parse_quote! {
            #[label(crate = "::my_runtime")]
            enum Method { Get, Post }
        })
        .unwrap();
        assert_only_through(value);
        let set = crate::label_set::expand(&syn::parse_quote! {
            #[label(crate = "::my_runtime")]
            struct Route { method: Method, path: String }
        })
        .unwrap();
        assert_only_through(set);
    }

    #[test]
    fn function_attributes_use_the_given_crate_path() {
        use crate::fn_attr::{expand, Which};
        for which in [Which::Timed, Which::CountExceptions, Which::TrackInprogress] {
            let out = expand(
                which,
                quote!(M, labels = Route { method: Method::Get }, crate = "::my_runtime"),
                quote!(
                    fn handler() -> Result<(), E> {
                        Ok(())
                    }
                ),
            );
            assert_only_through(out);
        }
        let out = expand(
            Which::Timed,
            quote!(M, exemplar(trace_id = id()), crate = "::my_runtime"),
            quote!(
                fn handler() {}
            ),
        );
        assert_only_through(out);
    }

    #[test]
    fn a_crate_value_that_is_no_path_is_an_error() {
        let err = crate::metrics::derive(&syn::parse_quote! {
            #[metrics(crate = "not a path")]
            struct Metrics {}
        })
        .map(|out| out.to_string())
        .unwrap();
        assert!(err.contains("expected the path promdecl is reached by"), "{err}");
    }
}
