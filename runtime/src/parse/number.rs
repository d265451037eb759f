//! Sample values and timestamps: the number grammar both formats share.

use crate::encode::Number;

/// A real number: `[+-]? (digits [. digits*] | . digits) [e [+-]? digits]`,
/// no hexadecimal, no `_` separators, no infinities.
pub(super) fn parse_real(s: &str) -> Option<f64> {
    if !crate::encode::is_real_text(s) {
        return None;
    }
    s.parse().ok()
}

/// A sample value: a real number, `[+-]Inf`/`[+-]Infinity` or `NaN` (any
/// case). Non-negative integer literals that fit a `u64` stay
/// [`Number::Int`], so that what an encoder wrote as an integer is written
/// back the same way.
pub(super) fn parse_number(s: &str) -> Option<Number> {
    if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) {
        if let Ok(v) = s.parse::<u64>() {
            return Some(Number::Int(v));
        }
    }
    if let Some(v) = parse_real(s) {
        return Some(Number::Float(v));
    }
    let (negative, unsigned) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    if unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity") {
        return Some(Number::Float(if negative { f64::NEG_INFINITY } else { f64::INFINITY }));
    }
    if unsigned.len() == s.len() && s.eq_ignore_ascii_case("nan") {
        return Some(Number::Float(f64::NAN));
    }
    None
}

/// Whether a count is a whole number (`3` or `3.0`, not `2.5` or `+Inf`).
pub(super) fn is_whole(n: Number) -> bool {
    match n {
        Number::Int(_) => true,
        Number::Float(v) => v.is_finite() && v.fract() == 0.0,
    }
}

/// The message for a token that is not a number.
pub(super) fn expected_number(what: &str, found: &str) -> String {
    if found.is_empty() {
        format!("expected {what} (such as 1, -2.5e3, +Inf or NaN)")
    } else {
        format!("expected {what} (such as 1, -2.5e3, +Inf or NaN), found {found:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_stay_integers() {
        assert_eq!(parse_number("0"), Some(Number::Int(0)));
        assert_eq!(parse_number("18446744073709551615"), Some(Number::Int(u64::MAX)));
        assert_eq!(parse_number("18446744073709551616"), Some(Number::Float(18446744073709551616.0)));
        assert_eq!(parse_number("-1"), Some(Number::Float(-1.0)));
        assert_eq!(parse_number("1.0"), Some(Number::Float(1.0)));
    }

    #[test]
    fn reals_follow_the_grammar() {
        for ok in ["1.", ".5", "+1", "-.5e3", "1E5", "0001.2e-1", "12345678901234567890.1234567890"] {
            assert!(parse_real(ok).is_some(), "{ok}");
        }
        for bad in ["", ".", "+", "e5", "1e", "1e+", "0x1", "1_2", "1.1.1", "inf", "NaN", " 1", "1 ", "1#"] {
            assert!(parse_real(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn specials() {
        assert_eq!(parse_number("+Inf"), Some(Number::Float(f64::INFINITY)));
        assert_eq!(parse_number("-infinity"), Some(Number::Float(f64::NEG_INFINITY)));
        assert!(parse_number("NaN").is_some_and(|n| n.as_f64().is_nan()));
        assert_eq!(parse_number("+NaN"), None);
        assert_eq!(parse_number("Infx"), None);
    }
}
