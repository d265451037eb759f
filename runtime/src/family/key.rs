//! The label values of a map child, encoded in one byte string, and the hash
//! that finds them.
//!
//! A key is each value as a LEB128 length and its bytes, and one flag kept
//! beside them: whether any value needs escaping. Lookups never build a key
//! in memory: they hash and compare the caller's values in place, so
//! hashing is defined on the values and gives the same result for a key and
//! for the values it encodes. A key of at most 16 bytes (such as a method
//! and a status code) is hashed and compared whole, as a [`ShortKey`] built
//! in registers; a longer one value by value.

use once_cell::sync::Lazy;

use crate::bytes::{read4, read8, same_bytes, words};

/// Label values a lookup can hash and compare without building a key.
pub(crate) trait Values {
    /// Calls `f` with each value, in label-name order.
    fn each(&self, f: &mut dyn FnMut(&str));

    /// Hashes the values as [`KeyRef::hash`] hashes their key.
    #[inline]
    fn hash(&self, seed: u64) -> u64 {
        self.hashes(seed).full()
    }

    /// The hash of the values, what it was mixed from last, and their
    /// key if it is short.
    #[inline]
    fn hashes(&self, seed: u64) -> Hashes {
        let mut short = Some((0, 0));
        let mut h = 0;
        self.each(&mut |v| {
            short = short.and_then(|(key, at)| push_short(key, at, v.as_bytes()));
            h = mix_value(h, seed, v.as_bytes());
        });
        match short {
            Some((key, _)) => hash_short(ShortKey(key), seed),
            None => Hashes { early: h, short: None },
        }
    }

    /// Whether every value is [`OVERFLOW_LABEL_VALUE`](super::OVERFLOW_LABEL_VALUE):
    /// the labels of the overflow series, which no other child may have.
    fn is_overflow(&self) -> bool {
        let mut all = true;
        self.each(&mut |v| all &= v == super::OVERFLOW_LABEL_VALUE);
        all
    }

    /// Whether `key` holds exactly these values.
    #[inline]
    fn equals(&self, key: KeyRef<'_>) -> bool {
        let mut rest = key.values_bytes();
        let mut same = true;
        self.each(&mut |v| {
            if !same {
                return;
            }
            match strip_value(rest, v.as_bytes()) {
                Some(tail) => rest = tail,
                None => same = false,
            }
        });
        same && rest.is_empty()
    }
}

/// What a lookup's values were folded into, and their key if it is short.
#[derive(Clone, Copy)]
pub(crate) struct Hashes {
    /// The values folded into one word, before the hash's last mix: it
    /// picks the cache set and tags the entry, so a lookup that hits never
    /// waits for that last multiplication.
    pub(crate) early: u64,
    /// The values' key, if it is at most 16 bytes: a cache entry holds a
    /// copy of its child's, so a lookup compares it there.
    pub(crate) short: Option<ShortKey>,
}

impl Hashes {
    /// The hash: [`Values::hash`] of the values, which finds their child in
    /// the map.
    #[inline]
    pub(crate) fn full(self) -> u64 {
        finish(self.early)
    }
}

/// Values by position, as `with_label_values` takes them. Hashing and
/// comparing these is the hot path of every string-labelled lookup, so they
/// skip the closure of [`Values::each`].
impl Values for [&str] {
    fn each(&self, f: &mut dyn FnMut(&str)) {
        self.iter().for_each(|v| f(v));
    }

    /// Builds the key in two registers, a value at a time, if its length
    /// (from the slices' lengths alone) is short; else hashes the values
    /// one by one without reading any of them twice.
    #[inline(always)]
    fn hashes(&self, seed: u64) -> Hashes {
        // A value of 128 bytes or more (a length of two bytes) makes the
        // key longer than a short one too. (Stopping at the first value
        // past the limit also keeps this a plain loop, not a vector sum.)
        let fits = self.iter().try_fold(0, |at, v| Some(at + 1 + v.len()).filter(|&end| end <= SHORT));
        if fits.is_none() {
            return hash_long(self, seed);
        }
        let (mut key, mut at) = (0, 0);
        for v in self {
            (key, at) = put_short(key, at, v.as_bytes());
        }
        hash_short(ShortKey(key), seed)
    }

    /// Each value's place in the key follows from the lengths of the values
    /// before it, which the caller's slices give: while every value is
    /// shorter than 128 bytes (its length one byte in the key), no load
    /// waits for a length read from the key, and the values are compared
    /// side by side.
    #[inline(always)]
    fn equals(&self, key: KeyRef<'_>) -> bool {
        let key = key.values_bytes();
        let mut at = 0;
        for v in self {
            let v = v.as_bytes();
            if v.len() >= 0x80 {
                return equals_from(self, key);
            }
            let (Some(&len), Some(mine)) = (key.get(at), key.get(at + 1..at + 1 + v.len())) else {
                return false;
            };
            if usize::from(len) != v.len() || !same_bytes(mine, v) {
                return false;
            }
            at += 1 + v.len();
        }
        at == key.len()
    }
}

/// The longest key a [`ShortKey`] holds.
const SHORT: usize = 16;

/// The short key `key`, whose first `at` bytes are written, with the value
/// `v` after them; `None` if that makes it longer than [`SHORT`] bytes.
#[inline(always)]
fn push_short(key: u128, at: usize, v: &[u8]) -> Option<(u128, usize)> {
    // A value of 128 bytes or more (a length of two bytes) is too long too.
    (at + 1 + v.len() <= SHORT).then(|| put_short(key, at, v))
}

/// [`push_short`] where the caller knows the key stays short.
#[inline(always)]
fn put_short(key: u128, at: usize, v: &[u8]) -> (u128, usize) {
    debug_assert!(at + 1 + v.len() <= SHORT);
    (key | (((little_endian(v) << 8) | v.len() as u128) << (8 * at)), at + 1 + v.len())
}

/// The hashes of a short key: both of its words mixed with the seed in one
/// multiplication, so that no word a client chooses can cancel the seed.
#[inline(always)]
fn hash_short(key: ShortKey, seed: u64) -> Hashes {
    let (lo, hi) = (key.0 as u64, (key.0 >> 64) as u64);
    let early = fold_mul(lo ^ seed ^ P0, hi ^ seed.rotate_left(32) ^ P1);
    Hashes { early, short: Some(key) }
}

/// The hashes of values whose key is longer than a short key's: each value
/// mixed on its own, then folded in.
#[inline(always)]
fn hash_long(values: &[&str], seed: u64) -> Hashes {
    let mut h = 0;
    for v in values {
        h = mix_value(h, seed, v.as_bytes());
    }
    Hashes { early: h, short: None }
}

/// A key of at most [`SHORT`] bytes as one little-endian number, the bytes
/// after the key zero: two keys of one family are equal exactly when their
/// short keys are, because a family's keys all hold the same number of
/// values, and a key read value by value ends where its last value does
/// (so one key cannot be another followed by zeros).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct ShortKey(u128);

impl ShortKey {
    /// What no short key is: its first byte, a value's length, would be
    /// 255.
    pub(crate) const NONE: ShortKey = ShortKey(u128::MAX);
}

/// The bytes of `v` (at most 15) as a little-endian number. The reads
/// overlap where `v`'s length is not a power of two; the bytes read twice
/// land at the same place, so OR-ing the reads gives each byte once.
#[inline(always)]
fn little_endian(v: &[u8]) -> u128 {
    let len = v.len();
    debug_assert!(len < SHORT);
    if len >= 8 {
        u128::from(read8(v, 0)) | (u128::from(read8(v, len - 8)) << (8 * (len - 8)))
    } else if len >= 4 {
        u128::from(read4(v, 0) | (read4(v, len - 4) << (8 * (len - 4))))
    } else if len > 0 {
        let (mid, last) = (len >> 1, len - 1);
        u128::from(u64::from(v[0]) | (u64::from(v[mid]) << (8 * mid)) | (u64::from(v[last]) << (8 * last)))
    } else {
        0
    }
}

/// Whether `key` holds exactly `values`, reading each value's length from
/// the key: for values of 128 bytes or more.
#[cold]
fn equals_from(values: &[&str], key: &[u8]) -> bool {
    let mut rest = key;
    for v in values {
        match strip_value(rest, v.as_bytes()) {
            Some(tail) => rest = tail,
            None => return false,
        }
    }
    rest.is_empty()
}

/// A label set's values, through [`LabelSet::visit`](crate::LabelSet::visit).
pub(crate) struct SetValues<'a, L>(pub(crate) &'a L);

impl<L: crate::LabelSet> Values for SetValues<'_, L> {
    fn each(&self, f: &mut dyn FnMut(&str)) {
        self.0.visit(f);
    }
}

/// Values given by label name, taken in the order of the family's `names`
/// (the last pair wins where a name is given twice). Every name has a pair:
/// `Family::with_labels` checks that.
pub(crate) struct NamedValues<'a> {
    pub(crate) names: &'a [Box<str>],
    pub(crate) pairs: &'a [(&'a str, &'a str)],
}

impl Values for NamedValues<'_> {
    fn each(&self, f: &mut dyn FnMut(&str)) {
        for name in self.names {
            let value = self.pairs.iter().rev().find(|(n, _)| **n == **name).map_or("", |(_, v)| v);
            f(value);
        }
    }
}

/// Encodes `values` as a key: its bytes, and whether no value needs
/// escaping in the text formats (so a scrape copies them as they are).
pub(crate) fn encode(values: &(impl Values + ?Sized)) -> (Vec<u8>, bool) {
    let mut key = Vec::new();
    let mut plain = true;
    values.each(&mut |v| {
        if memchr::memchr3(b'\\', b'"', b'\n', v.as_bytes()).is_some() {
            plain = false;
        }
        let mut len = v.len();
        while len >= 0x80 {
            key.push((len as u8) | 0x80);
            len >>= 7;
        }
        key.push(len as u8);
        key.extend_from_slice(v.as_bytes());
    });
    (key, plain)
}

/// An encoded key, borrowed from its child.
///
/// Invariant: the bytes and flag are a key [`encode`] returned, so each
/// value in the bytes is whole UTF-8. The fields are private and
/// [`KeyRef::new`], which promises it, is the only way to make one.
#[derive(Clone, Copy)]
pub(crate) struct KeyRef<'a> {
    bytes: &'a [u8],
    plain: bool,
}

impl<'a> KeyRef<'a> {
    /// # Safety
    ///
    /// `bytes` and `plain` are (a copy of) what [`encode`] returned.
    #[inline]
    pub(crate) unsafe fn new(bytes: &'a [u8], plain: bool) -> Self {
        KeyRef { bytes, plain }
    }

    /// The encoded bytes, for comparing two keys (the flag follows from
    /// them).
    #[inline]
    #[cfg_attr(promdecl_loom, allow(dead_code))]
    pub(crate) fn bytes(self) -> &'a [u8] {
        self.bytes
    }

    #[inline]
    fn values_bytes(self) -> &'a [u8] {
        self.bytes
    }

    /// Whether no value needs escaping.
    pub(crate) fn plain(self) -> bool {
        self.plain
    }

    /// The values, in label-name order.
    pub(crate) fn values(self) -> impl Iterator<Item = &'a str> {
        let mut rest = self.values_bytes();
        std::iter::from_fn(move || {
            let (value, tail) = split_value(rest)?;
            rest = tail;
            // SAFETY: by the type's invariant these bytes came from
            // `encode`, which copies every value whole from a `&str` after
            // its length; `split_value` reads those lengths back, so `value`
            // is exactly one of the values, valid UTF-8.
            Some(unsafe { std::str::from_utf8_unchecked(value) })
        })
    }

    /// The key as a [`ShortKey`], or [`ShortKey::NONE`] if it is longer.
    pub(crate) fn short(self) -> ShortKey {
        if self.bytes.len() > SHORT {
            return ShortKey::NONE;
        }
        let mut bytes = [0; SHORT];
        bytes[..self.bytes.len()].copy_from_slice(self.bytes);
        ShortKey(u128::from_le_bytes(bytes))
    }

    /// The hash of the values: the same as [`Values::hash`] of them.
    pub(crate) fn hash(self, seed: u64) -> u64 {
        match self.short() {
            ShortKey::NONE => finish(self.values().fold(0, |h, v| mix_value(h, seed, v.as_bytes()))),
            short => hash_short(short, seed).full(),
        }
    }
}

/// The first value of `key` bytes and the rest.
#[inline(always)]
fn split_value(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&first, mut rest) = bytes.split_first()?;
    let mut len = usize::from(first);
    if first >= 0x80 {
        len &= 0x7f;
        let mut shift = 7;
        loop {
            let (&b, tail) = rest.split_first()?;
            rest = tail;
            len |= usize::from(b & 0x7f) << shift;
            if b < 0x80 {
                break;
            }
            shift += 7;
        }
    }
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// Whether `key` starts with the value `v`; returns the rest of the key.
#[inline(always)]
fn strip_value<'k>(key: &'k [u8], v: &[u8]) -> Option<&'k [u8]> {
    match split_value(key) {
        Some((mine, rest)) if mine.len() == v.len() && same_bytes(mine, v) => Some(rest),
        _ => None,
    }
}

/// The seed of every key hash in this process: random, so label values
/// chosen by a client cannot be made to collide on purpose.
pub(crate) fn seed() -> u64 {
    static SEED: Lazy<u64> = Lazy::new(|| {
        use std::hash::BuildHasher;
        std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64)
    });
    *SEED
}

const P0: u64 = 0xa076_1d64_78bd_642f;
const P1: u64 = 0xe703_7ed1_a0b4_28db;
const P2: u64 = 0x8ebc_6af0_9c88_c6e3;

/// Multiplies and folds the 128-bit product: the mixing step of wyhash.
#[inline(always)]
fn fold_mul(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

/// Folds one value into the hash `h`. The length goes in too, so values
/// that only differ in where one ends and the next starts hash apart.
///
/// Each value is mixed on its own (from the seed, not from `h`) and only
/// then folded in with a rotation, so the multiplications of consecutive
/// values do not wait for each other; [`finish`] mixes the whole.
#[inline(always)]
fn mix_value(h: u64, seed: u64, v: &[u8]) -> u64 {
    let len = v.len();
    let (mut s, (a, b)) = if len <= 16 {
        (seed, words(v))
    } else {
        let mut i = 0;
        let mut s = seed;
        while len - i > 16 {
            s = fold_mul(read8(v, i) ^ P1, read8(v, i + 8) ^ s);
            i += 16;
        }
        (s, (read8(v, len - 16), read8(v, len - 8)))
    };
    s = fold_mul(a ^ P0 ^ s, b ^ P1 ^ (len as u64));
    h.rotate_left(29) ^ s
}

/// The final mix of a hash made of [`mix_value`]s.
#[inline(always)]
fn finish(h: u64) -> u64 {
    fold_mul(h ^ P0, P2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_hash_like_their_values() {
        let long = "x".repeat(300);
        let values: [&str; 5] = ["", "GET", "/api/v1/item/42", &long, "é\"\\"];
        let (key, plain) = encode(&values[..]);
        let key = KeyRef { bytes: &key, plain };
        assert_eq!(key.values().collect::<Vec<_>>(), values);
        assert!(!key.plain());
        assert!(values[..].equals(key));
        assert!(!values[..4].equals(key));
        assert_eq!(key.hash(7), values[..].hash(7));
        struct Each<'a>(&'a [&'a str]);
        impl Values for Each<'_> {
            fn each(&self, f: &mut dyn FnMut(&str)) {
                self.0.iter().for_each(|v| f(v));
            }
        }
        assert_eq!(Each(&values).hash(7), values[..].hash(7));
        assert!(Each(&values).equals(key));
        assert!(!Each(&values[1..]).equals(key));
    }

    /// Values of each of `lengths`, and for each, values that differ from
    /// it in their first, middle or last byte only.
    fn pool_of_lengths(lengths: impl IntoIterator<Item = usize>) -> Vec<String> {
        let mut pool: Vec<String> = Vec::new();
        for len in lengths {
            let base: String = (0..len).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
            pool.push(base.clone());
            for at in [0, len / 2, len.saturating_sub(1)] {
                if len > 0 {
                    let mut v = base.clone().into_bytes();
                    v[at] = b'Z';
                    pool.push(String::from_utf8(v).unwrap());
                }
            }
        }
        pool.dedup();
        pool
    }

    #[test]
    fn values_equal_exactly_the_keys_made_of_them() {
        // Lengths on each side of every branch of `equals` and `words`.
        let pool = pool_of_lengths([0, 1, 2, 3, 4, 7, 8, 16, 17, 127, 128, 200]);
        let lists: Vec<Vec<&str>> = pool
            .iter()
            .flat_map(|a| pool.iter().map(move |b| vec![a.as_str(), b.as_str()]))
            .chain(pool.iter().map(|a| vec![a.as_str()]))
            .collect();
        for stored in &lists {
            let (bytes, plain) = encode(&stored[..]);
            let key = KeyRef { bytes: &bytes, plain };
            for asked in lists.iter().filter(|l| l[0].len() == stored[0].len()) {
                assert_eq!(asked[..].equals(key), asked == stored, "{asked:?} against {stored:?}");
            }
        }
    }

    #[test]
    fn value_boundaries_matter() {
        let ((ab_c, plain), (a_bc, _)) = (encode(&["ab", "c"][..]), encode(&["a", "bc"][..]));
        assert!(plain);
        assert!(!["a", "bc"][..].equals(KeyRef { bytes: &ab_c, plain }));
        assert!(["a", "bc"][..].equals(KeyRef { bytes: &a_bc, plain }));
        assert_ne!(["ab", "c"][..].hash(1), ["a", "bc"][..].hash(1));
        assert_ne!(["", "x"][..].hash(1), ["x", ""][..].hash(1));
    }

    #[test]
    fn hashes_spread_over_buckets() {
        // 4 x 2,500 label sets into 4,096 buckets: close to a uniform spread
        // (the fullest bucket of random places holds about 9), for keys
        // hashed value by value (paths) and whole (short codes), under the
        // process's seed and eight fixed ones.
        let seeds = (0..8u64).map(|s| s.wrapping_mul(0x9e37_79b9_7f4a_7c15)).chain([seed()]);
        for seed in seeds {
            for second in [|p: usize| format!("/api/v1/item/{p}"), |p: usize| format!("{p}")] {
                let mut buckets = vec![0u32; 4096];
                for m in ["GET", "POST", "PUT", "DELETE"] {
                    for p in 0..2500 {
                        let v = second(p);
                        buckets[(([m, v.as_str()][..].hash(seed) >> 52) as usize) & 4095] += 1;
                    }
                }
                let max = *buckets.iter().max().unwrap();
                assert!(max <= 14, "{:?}, seed {seed:#x}: max bucket {max}", second(1));
            }
        }
    }

    /// Every list of values whose key is at most 16 bytes has its key as
    /// a short key, built in registers as the key's bytes read back; two
    /// lists of as many values have equal short keys exactly when they are
    /// equal; and the hash is the key's, built either way.
    #[test]
    fn short_keys_are_the_keys() {
        let mut pool = pool_of_lengths(0..=15);
        pool.push("é".into());
        struct Each<'a>(&'a [&'a str]);
        impl Values for Each<'_> {
            fn each(&self, f: &mut dyn FnMut(&str)) {
                self.0.iter().for_each(|v| f(v));
            }
        }
        let mut short = 0;
        for count in [1, 2, 3] {
            let lists: Vec<Vec<&str>> = (0..pool.len().pow(count as u32))
                .step_by(if count == 3 { 7 } else { 1 })
                .map(|mut i| {
                    (0..count)
                        .map(|_| {
                            let v = pool[i % pool.len()].as_str();
                            i /= pool.len();
                            v
                        })
                        .collect()
                })
                .collect();
            let keys: Vec<(Vec<u8>, Option<ShortKey>)> = lists
                .iter()
                .map(|l| {
                    let (bytes, plain) = encode(&l[..]);
                    let key = KeyRef { bytes: &bytes, plain };
                    let hashes = l[..].hashes(7);
                    assert_eq!(hashes.short.is_some(), bytes.len() <= SHORT, "{l:?}");
                    assert_eq!(hashes.short.unwrap_or(ShortKey::NONE), key.short(), "{l:?}");
                    assert_eq!(key.hash(7), hashes.full(), "{l:?}");
                    assert_eq!(Each(l).hashes(7).early, hashes.early, "{l:?}");
                    assert_eq!(Each(l).hashes(7).short, hashes.short, "{l:?}");
                    (bytes, hashes.short)
                })
                .collect();
            for (i, (_, a)) in keys.iter().enumerate() {
                let Some(a) = a else { continue };
                short += 1;
                for (j, (_, b)) in keys.iter().enumerate().skip(i.saturating_sub(40)).take(80) {
                    assert_eq!(Some(*a) == *b, lists[i] == lists[j], "{:?} against {:?}", lists[i], lists[j]);
                }
            }
        }
        assert!(short > 1000, "{short} short keys");
    }
}
