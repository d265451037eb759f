//! Short byte strings read as machine words: equality without a call to
//! `memcmp`, and the words the label-key hash mixes.

#[inline(always)]
pub(crate) fn read4(b: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes")))
}

#[inline(always)]
pub(crate) fn read8(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// The bytes of a value of at most 16 bytes as two words that together
/// cover every byte: two values of the same length are equal exactly when
/// their words are.
///
/// Up to 7 bytes, each byte is read at its place clamped to the last one,
/// with no branch on the length: label values such as HTTP methods differ
/// in length from one call to the next, and a mispredicted branch costs
/// more than the seven loads.
#[inline(always)]
pub(crate) fn words(v: &[u8]) -> (u64, u64) {
    let len = v.len();
    if len >= 8 {
        (read8(v, 0), read8(v, len - 8))
    } else if len >= 4 {
        (read4(v, 0), read4(v, len - 4))
    } else if len > 0 {
        ((u64::from(v[0]) << 16) | (u64::from(v[len >> 1]) << 8) | u64::from(v[len - 1]), 0)
    } else {
        (0, 0)
    }
}

/// Whether two byte strings of the same length are equal; short ones are
/// compared as two words, without a call to `memcmp`.
#[inline(always)]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    debug_assert_eq!(a.len(), b.len());
    if a.len() <= 16 {
        words(a) == words(b)
    } else {
        same_long(a, b)
    }
}

/// `same_bytes` past 16 bytes, out of line: the call to `memcmp` would
/// otherwise make a lookup keep its registers on the stack across it.
#[inline(never)]
fn same_long(a: &[u8], b: &[u8]) -> bool {
    a == b
}

#[cfg(test)]
mod tests {
    use super::same_bytes;

    /// Every length up to past the word paths, with a difference at each
    /// place: equal exactly when the bytes are.
    #[test]
    fn same_bytes_is_byte_equality() {
        let a: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for len in 0..=a.len() {
            let copy = a[..len].to_vec();
            assert!(same_bytes(&a[..len], &copy), "length {len}");
            for at in 0..len {
                let mut b = a[..len].to_vec();
                b[at] ^= 1;
                assert!(!same_bytes(&a[..len], &b), "length {len}, byte {at}");
            }
        }
    }
}
