//! Label values and label sets.
//!
//! A [`LabelSet`] is a struct whose fields are the labels of a metric; each
//! field's type implements [`LabelValue`]. When every value has a fixed set of
//! possible values (fieldless enums, `bool`), the set has a fixed
//! [`LabelSet::CARDINALITY`] and its family stores children in a dense array
//! indexed by [`LabelSet::dense_index`]: no hashing, no locks. Any other set is
//! stored in a sharded concurrent map whose keys are its label values,
//! encoded in one byte string and compared in full: a family never keeps a
//! label set, so the traits ask nothing of the type but that it can list its
//! values (no `Clone`, `Eq` or `Hash`).
//!
//! The derive macros in `promdecl` implement both traits; hand-written
//! implementations look like this:
//!
//! ```
//! use promdecl_runtime::{LabelSet, LabelValue};
//!
//! struct Route { method: &'static str, code: u16 }
//!
//! impl LabelSet for Route {
//!     const NAMES: &'static [&'static str] = &["method", "code"];
//!     fn visit(&self, f: &mut dyn FnMut(&str)) {
//!         self.method.with_str(|s| f(s));
//!         self.code.with_str(|s| f(s));
//!     }
//! }
//! ```

use std::hash::Hash;
use std::sync::Arc;

/// A value that can stand in a label.
///
/// Types with a closed set of values (fieldless enums, `bool`) list them in
/// [`LabelValue::VALUES`] and map themselves to an index into it, which lets
/// label sets made of them use dense storage.
///
/// ```
/// use promdecl_runtime::LabelValue;
///
/// #[derive(Clone, Copy, PartialEq, Eq, Hash)]
/// enum Method { Get, Post }
///
/// impl LabelValue for Method {
///     const VALUES: Option<&'static [&'static str]> = Some(&["GET", "POST"]);
///     fn dense_index(&self) -> usize { *self as usize }
///     fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
///         f(Self::VALUES.unwrap()[self.dense_index()])
///     }
/// }
/// assert_eq!(Method::Post.with_str(str::to_owned), "POST");
/// ```
pub trait LabelValue {
    /// Every value this type can take, in index order, if the set is closed.
    const VALUES: Option<&'static [&'static str]> = None;

    /// The index of `self` in [`LabelValue::VALUES`]; only called when that is
    /// `Some`.
    fn dense_index(&self) -> usize {
        0
    }

    /// Calls `f` with the label value as text.
    fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R;
}

/// The labels of a metric: names fixed by the type, values by the instance.
///
/// See the [module documentation](self) for a hand-written implementation.
///
/// A family stores the values, never the set, so nothing more is asked of
/// the type: `'static` only because a metric's type names its label set
/// and metrics are registered for the life of the program.
pub trait LabelSet: 'static {
    /// The label names, in the order [`LabelSet::visit`] yields the values.
    /// Empty for [`DynLabels`], whose names are given at run time.
    const NAMES: &'static [&'static str];

    /// The number of distinct label sets, when every value's type is closed.
    const CARDINALITY: Option<usize> = None;

    /// A unique index below [`LabelSet::CARDINALITY`]; only called when that
    /// is `Some`.
    fn dense_index(&self) -> usize {
        0
    }

    /// Calls `f` with each value of the label set at dense index `index`, in
    /// name order; only called when [`LabelSet::CARDINALITY`] is `Some`.
    fn visit_dense(index: usize, f: &mut dyn FnMut(&str)) {
        let _ = (index, f);
    }

    /// Calls `f` with each label value, in the order of [`LabelSet::NAMES`].
    fn visit(&self, f: &mut dyn FnMut(&str));

    /// Runs `f` once with every label value, in the order of
    /// [`LabelSet::NAMES`], as one slice, and returns what it returns: a
    /// lookup then hashes and compares them without a call per value. It
    /// must give the values `visit` gives. `#[derive(LabelSet)]` writes it;
    /// the default returns `None` without calling `f`, and lookups go
    /// through [`LabelSet::visit`].
    ///
    /// ```
    /// use promdecl_runtime::LabelSet;
    /// struct Route {
    ///     method: &'static str,
    ///     path: String,
    /// }
    /// impl LabelSet for Route {
    ///     const NAMES: &'static [&'static str] = &["method", "path"];
    ///     fn visit(&self, f: &mut dyn FnMut(&str)) {
    ///         f(self.method);
    ///         f(&self.path);
    ///     }
    ///     fn visit_slice<R>(&self, f: impl FnOnce(&[&str]) -> R) -> Option<R> {
    ///         Some(f(&[self.method, &self.path]))
    ///     }
    /// }
    /// let route = Route { method: "GET", path: "/".into() };
    /// assert_eq!(route.visit_slice(|v| v.join(" ")), Some("GET /".to_owned()));
    /// ```
    fn visit_slice<R>(&self, f: impl FnOnce(&[&str]) -> R) -> Option<R>
    where
        Self: Sized,
    {
        let _ = f;
        None
    }

    /// How many values this label set holds, when that is only known at run
    /// time ([`DynLabels`]); `None` when the type fixes it. A family refuses
    /// a set whose count differs from its number of label names.
    ///
    /// ```
    /// use promdecl_runtime::{DynLabels, LabelSet};
    /// assert_eq!(DynLabels::new(["a", "b"]).value_count(), Some(2));
    /// assert_eq!(().value_count(), None);
    /// ```
    fn value_count(&self) -> Option<usize> {
        None
    }
}

impl LabelSet for () {
    const NAMES: &'static [&'static str] = &[];
    const CARDINALITY: Option<usize> = Some(1);
    fn visit(&self, _: &mut dyn FnMut(&str)) {}
}

impl LabelValue for &'static str {
    fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(self)
    }
}

impl LabelValue for String {
    fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(self)
    }
}

impl LabelValue for Arc<str> {
    fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(self)
    }
}

impl LabelValue for Box<str> {
    fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(self)
    }
}

impl LabelValue for std::borrow::Cow<'static, str> {
    fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(self)
    }
}

impl LabelValue for bool {
    const VALUES: Option<&'static [&'static str]> = Some(&["false", "true"]);
    fn dense_index(&self) -> usize {
        usize::from(*self)
    }
    fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(if *self { "true" } else { "false" })
    }
}

macro_rules! integer_label_value {
    ($($t:ty)*) => {$(
        impl LabelValue for $t {
            fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
                f(itoa::Buffer::new().format(*self))
            }
        }
    )*};
}
integer_label_value!(u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize);

/// The dense cardinality of a label set made of `values`' closed value sets,
/// or `None` if any is open. Used by derived [`LabelSet`] impls.
///
/// ```
/// use promdecl_runtime::label::product_cardinality;
/// assert_eq!(product_cardinality(&[Some(&["a", "b"][..]), Some(&["x", "y", "z"][..])]), Some(6));
/// assert_eq!(product_cardinality(&[Some(&["a"][..]), None]), None);
/// ```
pub const fn product_cardinality(values: &[Option<&'static [&'static str]>]) -> Option<usize> {
    let mut n: usize = 1;
    let mut i = 0;
    while i < values.len() {
        match values[i] {
            Some(v) => match n.checked_mul(v.len()) {
                Some(m) => n = m,
                None => return None,
            },
            None => return None,
        }
        i += 1;
    }
    Some(n)
}

/// Label values for metrics whose label names are only known at run time
/// (the `Counter('name', 'help', ['method', 'endpoint'])` shape).
///
/// ```
/// use promdecl_runtime::{Counter, DynLabels};
///
/// let c: Counter<DynLabels> = Counter::builder("requests", "Requests.")
///     .labels(["method", "endpoint"])
///     .build()
///     .unwrap();
/// c.with_label_values(&["GET", "/"]).unwrap().inc();
/// c.with_labels(&[("endpoint", "/"), ("method", "GET")]).unwrap().inc();
/// assert_eq!(c.with_label_values(&["GET", "/"]).unwrap().get(), 2.0);
/// ```
///
/// The values are kept in one buffer, each prefixed with its length, so
/// `["ab", "c"]` and `["a", "bc"]` stay apart.
#[derive(Clone, PartialEq, Eq)]
pub struct DynLabels(Box<[u8]>);

impl DynLabels {
    /// Label values, in the order of the metric's label names.
    ///
    /// ```
    /// let l = promdecl_runtime::DynLabels::new(["GET", "/"]);
    /// assert_eq!(l.values().collect::<Vec<_>>(), ["GET", "/"]);
    /// ```
    pub fn new<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut buf = Vec::new();
        for v in values {
            push_value(&mut buf, v.as_ref());
        }
        DynLabels(buf.into_boxed_slice())
    }

    /// The values, in label-name order.
    ///
    /// ```
    /// let l = promdecl_runtime::DynLabels::new(["GET"]);
    /// assert_eq!(l.values().next(), Some("GET"));
    /// ```
    pub fn values(&self) -> impl Iterator<Item = &str> + '_ {
        self.raw_values().map(|value| {
            // SAFETY: only `push_value` writes the buffer, and it copies each
            // value whole from a `&str` (cut, if ever, at a char boundary),
            // so every value is valid UTF-8.
            unsafe { std::str::from_utf8_unchecked(value) }
        })
    }

    /// How many values there are.
    ///
    /// ```
    /// assert_eq!(promdecl_runtime::DynLabels::new(["GET", "/"]).len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.raw_values().count()
    }

    /// Whether there are no values.
    ///
    /// ```
    /// assert!(promdecl_runtime::DynLabels::new::<[&str; 0], &str>([]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn raw_values(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut rest = &self.0[..];
        std::iter::from_fn(move || {
            let (len, tail) = rest.split_first_chunk::<4>()?;
            let (value, tail) = tail.split_at(u32::from_le_bytes(*len) as usize);
            rest = tail;
            Some(value)
        })
    }
}

impl std::fmt::Debug for DynLabels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.values()).finish()
    }
}

fn push_value(buf: &mut Vec<u8>, value: &str) {
    // A value over 4 GiB cannot be exposed anyway: keep what fits, cut at a
    // char boundary so the buffer stays UTF-8.
    let mut len = value.len().min(u32::MAX as usize);
    while !value.is_char_boundary(len) {
        len -= 1;
    }
    buf.extend_from_slice(&(len as u32).to_le_bytes());
    buf.extend_from_slice(&value.as_bytes()[..len]);
}

impl Hash for DynLabels {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.values().for_each(|v| v.hash(state));
    }
}

impl LabelSet for DynLabels {
    const NAMES: &'static [&'static str] = &[];
    fn visit(&self, f: &mut dyn FnMut(&str)) {
        self.values().for_each(f);
    }
    fn value_count(&self) -> Option<usize> {
        Some(self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dyn_labels_keep_value_boundaries() {
        assert_ne!(DynLabels::new(["ab", "c"]), DynLabels::new(["a", "bc"]));
        let l = DynLabels::new(["", "x\0y", "€"]);
        assert_eq!(l.values().collect::<Vec<_>>(), ["", "x\0y", "€"]);
    }
}
