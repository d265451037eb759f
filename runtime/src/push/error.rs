//! What can go wrong when talking to the Pushgateway.

use std::error::Error as StdError;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use super::Method;

/// Everything a [`Pushgateway`](super::Pushgateway) can fail with.
///
/// The HTTP variants name the method and URL, and [`PushError::Status`]
/// carries the gateway's status and message.
///
/// ```
/// use promdecl_runtime::push::{PushError, Pushgateway};
/// let err = Pushgateway::new("ftp://gw:21").unwrap_err();
/// assert!(matches!(err, PushError::InvalidUrl { .. }));
/// assert!(err.to_string().contains("http or https"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The gateway address is not an HTTP(S) URL or `host:port`.
    #[error("invalid Pushgateway URL {url:?}: {reason}")]
    InvalidUrl {
        /// The address given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The job name was empty; the Pushgateway needs one.
    #[error("the job name is empty; give the job a name")]
    EmptyJob,
    /// A collector could not give a complete answer, so nothing was pushed:
    /// a push replaces the group, and a partial one would drop series.
    #[error("nothing pushed: {0}")]
    Collect(crate::encode::CollectError),
    /// A grouping key label name is not usable.
    #[error("invalid grouping key label {name:?}: {reason}")]
    InvalidGroupingKey {
        /// The label name.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A CA, certificate or key file could not be read or holds nothing
    /// usable.
    #[error("cannot use {}: {reason}", path.display())]
    TlsFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS settings do not fit together (a key that does not match its
    /// certificate).
    #[error("invalid TLS settings: {0}")]
    TlsConfig(String),
    /// No connection could be made: nothing listens there, or the name
    /// does not resolve.
    #[error(
        "cannot connect to the Pushgateway for {method} {url}: {source} (is it running, and is the address right?)"
    )]
    Connect {
        /// The method.
        method: Method,
        /// The URL.
        url: String,
        /// The underlying error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// The request did not complete within the timeout.
    #[error("{method} {url} did not complete within {timeout:?} (raise the timeout, or check the gateway)")]
    Timeout {
        /// The method.
        method: Method,
        /// The URL.
        url: String,
        /// The configured timeout.
        timeout: Duration,
    },
    /// The TLS handshake failed: the gateway's certificate is not trusted
    /// (or not for this host name), or the gateway refused ours.
    #[error("TLS with the Pushgateway failed for {method} {url}: {source} (give the gateway's CA with ca_file, and a client certificate if it wants one)")]
    Tls {
        /// The method.
        method: Method,
        /// The URL.
        url: String,
        /// The TLS error (a `rustls::Error`, for who wants to downcast).
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// Another transport failure (a malformed answer, a connection reset).
    #[error("{method} {url} failed: {source}")]
    Transport {
        /// The method.
        method: Method,
        /// The URL.
        url: String,
        /// The underlying error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// The gateway answered with a non-2xx status.
    #[error("the Pushgateway answered {status} to {method} {url}: {message}")]
    Status {
        /// The method.
        method: Method,
        /// The URL.
        url: String,
        /// The HTTP status code (401: wrong or missing credentials; 400: the
        /// metrics were refused, for instance inconsistent with other groups).
        status: u16,
        /// The gateway's message (the body of its answer, trimmed).
        message: String,
    },
    /// A custom [`Handler`](super::Handler) failed in its own way.
    #[error("the push handler failed: {0}")]
    Handler(#[source] Box<dyn StdError + Send + Sync>),
}

impl PushError {
    /// The HTTP status, if the gateway answered with an error status.
    ///
    /// ```
    /// use promdecl_runtime::push::PushError;
    /// assert_eq!(PushError::EmptyJob.status(), None);
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            PushError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<crate::TlsError> for PushError {
    fn from(e: crate::TlsError) -> Self {
        match e {
            crate::TlsError::File { path, reason } => PushError::TlsFile { path, reason },
            crate::TlsError::Config(reason) => PushError::TlsConfig(reason),
        }
    }
}

/// Sorts a ureq transport error into the variant that tells the user what
/// to do.
pub(crate) fn classify(method: Method, url: &str, timeout: Duration, err: ureq::Transport) -> PushError {
    let url = url.to_owned();
    let mut cause: Option<&(dyn StdError + 'static)> = StdError::source(&err);
    while let Some(e) = cause {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return PushError::Tls { method, url, source: Box::new(tls.clone()) };
        }
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if matches!(io.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) {
                return PushError::Timeout { method, url, timeout };
            }
            // io::Error::source skips the error it wraps; look inside.
            if let Some(tls) = io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                return PushError::Tls { method, url, source: Box::new(tls.clone()) };
            }
        }
        cause = e.source();
    }
    match err.kind() {
        ureq::ErrorKind::Dns | ureq::ErrorKind::ConnectionFailed => {
            PushError::Connect { method, url, source: Box::new(err) }
        }
        _ => PushError::Transport { method, url, source: Box::new(err) },
    }
}
