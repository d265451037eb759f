//! `#[derive(LabelValue)]`: a fieldless enum as a closed set of label values.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitStr};

use crate::errors::Errors;
use crate::rename::RenameRule;

fn not_an_enum(span: proc_macro2::Span) -> syn::Error {
    syn::Error::new(
        span,
        "`#[derive(LabelValue)]` works on fieldless enums only; for free-form values use a `String`, \
         `&'static str` or integer field in the label set instead",
    )
}

pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let data = match &input.data {
        Data::Enum(data) => data,
        Data::Struct(s) => return Err(not_an_enum(s.struct_token.span)),
        Data::Union(u) => return Err(not_an_enum(u.union_token.span)),
    };
    if data.variants.is_empty() {
        errors.at(&input.ident, "an enum without variants has no label values to expose; add at least one variant");
    }

    let mut rule = None;
    let mut krate = crate::krate::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("label")) {
        errors.check(attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") {
                rule = Some(RenameRule::parse(&meta.value()?.parse::<LitStr>()?)?);
                Ok(())
            } else if meta.path.is_ident("crate") {
                krate = crate::krate::parse(meta.value()?)?;
                Ok(())
            } else {
                Err(meta.error(
                    "unknown key in #[label(...)] on an enum; the valid keys are `rename_all = \"...\"`, \
                     `crate = \"...\"`",
                ))
            }
        }));
    }

    let mut values: Vec<String> = Vec::new();
    let mut arms = Vec::new();
    for (index, variant) in data.variants.iter().enumerate() {
        if !matches!(variant.fields, Fields::Unit) {
            errors.at(
                &variant.fields,
                format_args!(
                    "label value variants cannot carry fields: `{}` has some; make it a unit variant, or use \
                     a `String` label for free-form values",
                    variant.ident
                ),
            );
        }
        let mut rename = None;
        for attr in variant.attrs.iter().filter(|a| a.path().is_ident("label")) {
            errors.check(attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    rename = Some(meta.value()?.parse::<LitStr>()?.value());
                    Ok(())
                } else {
                    Err(meta.error("unknown key in #[label(...)] on a variant; the valid key is `rename = \"...\"`"))
                }
            }));
        }
        let name = variant.ident.to_string();
        let value = rename.unwrap_or_else(|| rule.map_or(name.clone(), |r| r.apply(&name)));
        if values.contains(&value) {
            errors.at(
                &variant.ident,
                format_args!(
                    "label value {value:?} is used by two variants; give one a different `#[label(rename = \"...\")]`"
                ),
            );
        }
        values.push(value);
        let ident = &variant.ident;
        arms.push(quote!(Self::#ident => #index));
    }
    errors.finish()?;

    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #krate::LabelValue for #ident #ty_generics #where_clause {
            const VALUES: ::core::option::Option<&'static [&'static str]> =
                ::core::option::Option::Some(&[#(#values),*]);

            #[inline]
            fn dense_index(&self) -> usize {
                match self { #(#arms,)* }
            }

            #[inline]
            fn with_str<__R>(&self, f: impl ::core::ops::FnOnce(&str) -> __R) -> __R {
                const VALUES: &[&str] = &[#(#values),*];
                f(VALUES[<Self as #krate::LabelValue>::dense_index(self)])
            }
        }
    })
}
