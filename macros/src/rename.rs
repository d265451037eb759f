//! `rename_all` rules for label values derived from enum variants.

use syn::LitStr;

/// A case convention applied to `PascalCase` variant names.
#[derive(Clone, Copy)]
pub enum RenameRule {
    Lower,
    Upper,
    Snake,
    ScreamingSnake,
    Kebab,
    ScreamingKebab,
    Camel,
    Pascal,
}

pub const RULES: &str =
    "\"lowercase\", \"UPPERCASE\", \"snake_case\", \"SCREAMING_SNAKE_CASE\", \"kebab-case\", \"SCREAMING-KEBAB-CASE\", \"camelCase\", \"PascalCase\"";

impl RenameRule {
    pub fn parse(lit: &LitStr) -> syn::Result<Self> {
        Ok(match lit.value().as_str() {
            "lowercase" => RenameRule::Lower,
            "UPPERCASE" => RenameRule::Upper,
            "snake_case" => RenameRule::Snake,
            "SCREAMING_SNAKE_CASE" => RenameRule::ScreamingSnake,
            "kebab-case" => RenameRule::Kebab,
            "SCREAMING-KEBAB-CASE" => RenameRule::ScreamingKebab,
            "camelCase" => RenameRule::Camel,
            "PascalCase" => RenameRule::Pascal,
            other => {
                return Err(syn::Error::new_spanned(
                    lit,
                    format!("unknown rename_all rule {other:?}; expected one of {RULES}"),
                ))
            }
        })
    }

    /// Applies the rule to a `PascalCase` name.
    pub fn apply(self, pascal: &str) -> String {
        let words = split_words(pascal);
        let join = |sep: &str, f: fn(&str) -> String| words.iter().map(|w| f(w)).collect::<Vec<_>>().join(sep);
        match self {
            RenameRule::Lower => pascal.to_lowercase(),
            RenameRule::Upper => pascal.to_uppercase(),
            RenameRule::Snake => join("_", str::to_lowercase),
            RenameRule::ScreamingSnake => join("_", str::to_uppercase),
            RenameRule::Kebab => join("-", str::to_lowercase),
            RenameRule::ScreamingKebab => join("-", str::to_uppercase),
            RenameRule::Pascal => pascal.to_owned(),
            RenameRule::Camel => {
                let mut out = String::new();
                for (i, w) in words.iter().enumerate() {
                    if i == 0 {
                        out.push_str(&w.to_lowercase());
                    } else {
                        out.push_str(w);
                    }
                }
                out
            }
        }
    }
}

/// `GetUser` -> `["Get", "User"]`; `HTTPError` -> `["HTTP", "Error"]`.
fn split_words(pascal: &str) -> Vec<String> {
    let chars: Vec<char> = pascal.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let boundary = c.is_uppercase()
            && !current.is_empty()
            && (chars[i - 1].is_lowercase()
                || chars[i - 1].is_ascii_digit()
                || chars.get(i + 1).is_some_and(|n| n.is_lowercase()));
        if boundary || c == '_' {
            words.push(std::mem::take(&mut current));
        }
        if c != '_' {
            current.push(c);
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words.retain(|w| !w.is_empty());
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(RenameRule::Snake.apply("GetUser"), "get_user");
        assert_eq!(RenameRule::ScreamingSnake.apply("HTTPError"), "HTTP_ERROR");
        assert_eq!(RenameRule::Kebab.apply("NotFound"), "not-found");
        assert_eq!(RenameRule::Upper.apply("Get"), "GET");
        assert_eq!(RenameRule::Camel.apply("GetUser"), "getUser");
    }
}
