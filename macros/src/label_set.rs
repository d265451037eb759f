//! `#[derive(LabelSet)]`: a struct whose named fields are a metric's labels.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::{Data, DeriveInput, Fields, LitStr};

use crate::errors::Errors;

pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => named.named.iter().collect::<Vec<_>>(),
            Fields::Unit => Vec::new(),
            Fields::Unnamed(unnamed) => {
                return Err(syn::Error::new_spanned(
                    unnamed,
                    "label sets need named fields: each field name is a label name, as in \
                     `struct Route { method: Method, endpoint: &'static str }`",
                ))
            }
        },
        Data::Enum(e) => {
            return Err(syn::Error::new(
                e.enum_token.span,
                "`#[derive(LabelSet)]` works on structs with named fields; an enum is one label's values: \
                 derive `LabelValue` on it and use it as a field of a label set",
            ))
        }
        Data::Union(u) => {
            return Err(syn::Error::new(u.union_token.span, "`#[derive(LabelSet)]` works on structs with named fields"))
        }
    };

    let mut errors = Errors::default();
    let mut krate = crate::krate::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("label")) {
        errors.check(attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                krate = crate::krate::parse(meta.value()?)?;
                Ok(())
            } else {
                Err(meta.error("unknown key in #[label(...)] on a label set; the valid key is `crate = \"...\"`"))
            }
        }));
    }
    let mut names: Vec<(String, Span)> = Vec::new();
    for field in &fields {
        let ident = field.ident.as_ref().expect("named field");
        let mut name = ident.to_string().trim_start_matches("r#").to_owned();
        let mut span = ident.span();
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("label")) {
            errors.check(attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    let lit: LitStr = meta.value()?.parse()?;
                    name = lit.value();
                    span = lit.span();
                    Ok(())
                } else {
                    Err(meta.error("unknown key in #[label(...)] on a field; the valid key is `rename = \"...\"`"))
                }
            }));
        }
        if names.iter().any(|(n, _)| *n == name) {
            errors.push(syn::Error::new(span, format!("label name {name:?} appears twice; rename one field")));
        }
        names.push((name, span));
    }
    errors.finish()?;

    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let idents: Vec<_> = fields.iter().map(|f| f.ident.as_ref().expect("named field")).collect();
    let types: Vec<_> = fields.iter().map(|f| &f.ty).collect();
    let name_strs: Vec<_> = names.iter().map(|(n, _)| n).collect();
    let checks = names.iter().map(|(n, span)| {
        let krate = crate::krate::at(&krate, *span);
        quote_spanned!(*span=> const _: () = #krate::__private::assert_label_name(#n);)
    });
    let count = fields.len();
    let digits = (0..count).rev().map(|k| {
        let ty = types[k];
        quote! {
            let __n = #krate::__private::value_count(<#ty as #krate::LabelValue>::VALUES);
            __digits[#k] = __index % __n;
            __index /= __n;
        }
    });
    // `with_str` may make a value on its stack (an integer as text), so the
    // slice is built innermost, inside one closure per field.
    let vars: Vec<_> = (0..count).map(|k| quote::format_ident!("__v{}", k)).collect();
    let mut slice_call = quote!(__f(&[#(#vars),*]));
    for (ident, var) in idents.iter().zip(&vars).rev() {
        slice_call = quote!(#krate::LabelValue::with_str(&self.#ident, |#var: &str| { #slice_call }));
    }
    let dense_values = (0..count).map(|k| {
        let ty = types[k];
        quote!(__f(#krate::__private::value_at(<#ty as #krate::LabelValue>::VALUES, __digits[#k]));)
    });

    Ok(quote! {
        #(#checks)*

        #[automatically_derived]
        impl #impl_generics #krate::LabelSet for #ident #ty_generics #where_clause {
            const NAMES: &'static [&'static str] = &[#(#name_strs),*];
            const CARDINALITY: ::core::option::Option<usize> = #krate::__private::product_cardinality(
                &[#(<#types as #krate::LabelValue>::VALUES),*]
            );

            #[inline]
            fn dense_index(&self) -> usize {
                let mut __index: usize = 0;
                #(
                    __index = __index * #krate::__private::value_count(<#types as #krate::LabelValue>::VALUES)
                        + #krate::LabelValue::dense_index(&self.#idents);
                )*
                __index
            }

            #[allow(unused_mut, unused_variables)]
            fn visit_dense(mut __index: usize, __f: &mut dyn ::core::ops::FnMut(&str)) {
                let mut __digits = [0usize; #count];
                #(#digits)*
                #(#dense_values)*
            }

            #[inline]
            #[allow(unused_variables)]
            fn visit(&self, __f: &mut dyn ::core::ops::FnMut(&str)) {
                #(#krate::LabelValue::with_str(&self.#idents, |__s| __f(__s));)*
            }

            #[inline]
            fn visit_slice<__R>(&self, __f: impl ::core::ops::FnOnce(&[&str]) -> __R) -> ::core::option::Option<__R> {
                ::core::option::Option::Some(#slice_call)
            }
        }
    })
}
