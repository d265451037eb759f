//! HTTP basic auth for the server (RFC 7617).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The users a server admits; none means no auth at all.
#[derive(Default)]
pub(crate) struct BasicAuth {
    /// The SHA-256 of each user's `user:password`, as the `Authorization`
    /// header carries it once decoded. Comparing digests, all of one size,
    /// tells nothing of the credentials' lengths, as comparing the bytes
    /// themselves would (a slice comparison stops at a length mismatch).
    credentials: Vec<[u8; 32]>,
}

fn digest(credential: &[u8]) -> [u8; 32] {
    Sha256::digest(credential).into()
}

impl BasicAuth {
    pub(crate) fn allow(&mut self, user: String, password: String) {
        self.credentials.push(digest(format!("{user}:{password}").as_bytes()));
    }

    /// Whether a request with this `Authorization` header value may scrape.
    pub(crate) fn admits(&self, authorization: Option<&[u8]>) -> bool {
        if self.credentials.is_empty() {
            return true;
        }
        let Some(given) = authorization.and_then(decode) else {
            return false;
        };
        // Every user is compared, in constant time, so the answer's timing
        // tells nothing about which bytes matched, nor which user.
        let given = digest(&given);
        self.credentials.iter().fold(subtle::Choice::from(0), |found, expected| found | expected.ct_eq(&given)).into()
    }
}

/// The decoded `user:password` of a `Basic` credential.
fn decode(header: &[u8]) -> Option<Vec<u8>> {
    let header = std::str::from_utf8(header).ok()?.trim();
    let (scheme, token) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    STANDARD.decode(token.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user_password: &str) -> Vec<u8> {
        format!("Basic {}", STANDARD.encode(user_password)).into_bytes()
    }

    #[test]
    fn no_users_admits_everyone() {
        assert!(BasicAuth::default().admits(None));
    }

    #[test]
    fn checks_user_and_password() {
        let mut auth = BasicAuth::default();
        auth.allow("prometheus".into(), "s3cret:x".into());
        auth.allow("other".into(), "pw".into());
        assert!(auth.admits(Some(&header("prometheus:s3cret:x"))));
        assert!(auth.admits(Some(&header("other:pw"))));
        assert!(auth.admits(Some(b"basic   cHJvbWV0aGV1czpzM2NyZXQ6eA==  ")));
        for bad in ["prometheus:s3cret", "prometheus:s3cret:xy", "other:s3cret:x", ":", ""] {
            assert!(!auth.admits(Some(&header(bad))), "{bad}");
        }
        assert!(!auth.admits(None));
        assert!(!auth.admits(Some(b"Bearer abc")));
        assert!(!auth.admits(Some(b"Basic !!!")));
        assert!(!auth.admits(Some(b"Basic")));
        assert!(!auth.admits(Some(&[0xff, 0xfe])));
    }

    #[test]
    fn credentials_of_any_length_compare_as_fixed_size_digests() {
        let long = "p".repeat(10_000);
        let mut auth = BasicAuth::default();
        auth.allow("u".into(), long.clone());
        auth.allow("prometheus".into(), String::new());
        // What is kept, and compared, is one 32-byte digest per user.
        assert!(auth.credentials.iter().all(|d| d.len() == 32));
        assert!(auth.admits(Some(&header(&format!("u:{long}")))));
        assert!(auth.admits(Some(&header("prometheus:"))));
        // Shorter, longer, a prefix, an extension: all refused.
        for bad in [
            "u:".to_owned(),
            format!("u:{}", &long[1..]),
            format!("u:{long}p"),
            format!("u:{long}:"),
            "prometheus".to_owned(),
            "prometheus::".to_owned(),
            "x".repeat(100_000),
        ] {
            assert!(!auth.admits(Some(&header(&bad))), "{} bytes", bad.len());
        }
    }
}
