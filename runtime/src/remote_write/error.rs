//! What can go wrong when writing to a remote-write receiver.

use std::error::Error as StdError;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::encode::CollectError;

/// Everything a [`RemoteWrite`](super::RemoteWrite) can fail with.
///
/// ```
/// use promdecl_runtime::remote_write::{RemoteWrite, RemoteWriteError};
/// let err = RemoteWrite::builder("ftp://mimir:9009/api/v1/push").build().unwrap_err();
/// assert!(matches!(err, RemoteWriteError::InvalidUrl { .. }));
/// assert!(err.to_string().contains("http or https"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteWriteError {
    /// The receiver's address is not an HTTP(S) URL.
    #[error("invalid remote-write URL {url:?}: {reason}")]
    InvalidUrl {
        /// The address given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An external label's name is not usable.
    #[error("invalid external label {name:?}: {reason}")]
    InvalidLabel {
        /// The label name.
        name: String,
        /// Why it was refused.
        reason: String,
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
    /// The TLS settings do not fit together, or rustls refused them.
    #[error("invalid TLS settings: {0}")]
    TlsConfig(String),
    /// A collector reported that it could not give a complete answer, so
    /// nothing was sent this round: a partial batch would read as series
    /// that stopped.
    #[error("nothing sent to the remote-write receiver: {0}")]
    Collect(CollectError),
    /// A collector panicked; nothing was sent this round.
    #[error("nothing sent to the remote-write receiver: a collector panicked: {0}")]
    CollectorPanicked(String),
    /// The request could not be encoded or compressed.
    #[error("cannot encode the remote-write request: {0}")]
    Encode(String),
    /// No connection could be made: nothing listens there, or the name
    /// does not resolve. Retried.
    #[error(
        "cannot connect to the remote-write receiver at {url}: {source} (is it running, and is the address right?)"
    )]
    Connect {
        /// The URL.
        url: String,
        /// The underlying error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// The request did not complete within the timeout. Retried.
    #[error(
        "the remote write to {url} did not complete within {timeout:?} (raise the timeout, or check the receiver)"
    )]
    Timeout {
        /// The URL.
        url: String,
        /// The configured timeout.
        timeout: Duration,
    },
    /// The TLS handshake failed: the receiver's certificate is not trusted
    /// (or not for this host name), or the receiver refused ours.
    #[error("TLS with the remote-write receiver at {url} failed: {source} (give its CA with ca_file, and a client certificate if it wants one)")]
    Tls {
        /// The URL.
        url: String,
        /// The TLS error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// Another transport failure (a malformed answer, a connection reset).
    /// Retried.
    #[error("the remote write to {url} failed: {source}")]
    Transport {
        /// The URL.
        url: String,
        /// The underlying error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// The receiver answered with an error status: 5xx and 429 after the
    /// retries ran out; any other status at once (4xx: the request is
    /// refused and would be refused again).
    #[error("the remote-write receiver at {url} answered {status}{}: {message}", hint(*status))]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The receiver's message (the body of its answer, trimmed).
        message: String,
    },
    /// [`RemoteWrite::start`](super::RemoteWrite::start) was given a zero
    /// interval.
    #[error("the remote-write interval must be longer than zero")]
    InvalidInterval,
    /// The background thread could not be started.
    #[error("cannot start the remote-write thread: {0}")]
    Spawn(#[source] io::Error),
}

fn hint(status: u16) -> &'static str {
    match status {
        401 | 403 => " (wrong or missing credentials)",
        404 | 405 => " (is this the receiver's write path, such as /api/v1/write? A Prometheus needs --web.enable-remote-write-receiver)",
        429 => " (too many requests)",
        _ => "",
    }
}

impl RemoteWriteError {
    /// The HTTP status, if the receiver answered with an error status.
    ///
    /// ```
    /// use promdecl_runtime::remote_write::RemoteWriteError;
    /// assert_eq!(RemoteWriteError::InvalidInterval.status(), None);
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            RemoteWriteError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether sending the same request again may succeed: no answer came
    /// (connection refused, timeout, reset), or the receiver answered 5xx
    /// or 429.
    ///
    /// ```
    /// use promdecl_runtime::remote_write::RemoteWriteError;
    /// let e = RemoteWriteError::Status { url: "u".into(), status: 503, message: String::new() };
    /// assert!(e.is_retryable());
    /// let e = RemoteWriteError::Status { url: "u".into(), status: 400, message: String::new() };
    /// assert!(!e.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            RemoteWriteError::Status { status, .. } => *status >= 500 || *status == 429,
            RemoteWriteError::Connect { .. }
            | RemoteWriteError::Timeout { .. }
            | RemoteWriteError::Transport { .. } => true,
            _ => false,
        }
    }
}

impl From<crate::push::PushError> for RemoteWriteError {
    fn from(e: crate::push::PushError) -> Self {
        match e {
            crate::push::PushError::TlsFile { path, reason } => RemoteWriteError::TlsFile { path, reason },
            other => RemoteWriteError::TlsConfig(other.to_string()),
        }
    }
}

/// Sorts a ureq transport error into the variant that tells the user what
/// to do.
pub(crate) fn classify(url: &str, timeout: Duration, err: ureq::Transport) -> RemoteWriteError {
    let url = url.to_owned();
    let mut cause: Option<&(dyn StdError + 'static)> = StdError::source(&err);
    while let Some(e) = cause {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return RemoteWriteError::Tls { url, source: Box::new(tls.clone()) };
        }
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if matches!(io.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) {
                return RemoteWriteError::Timeout { url, timeout };
            }
            // io::Error::source skips the error it wraps; look inside.
            if let Some(tls) = io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                return RemoteWriteError::Tls { url, source: Box::new(tls.clone()) };
            }
        }
        cause = e.source();
    }
    match err.kind() {
        ureq::ErrorKind::Dns | ureq::ErrorKind::ConnectionFailed => {
            RemoteWriteError::Connect { url, source: Box::new(err) }
        }
        _ => RemoteWriteError::Transport { url, source: Box::new(err) },
    }
}
