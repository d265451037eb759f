//! The requests a [`Pushgateway`](super::Pushgateway) makes, the transport
//! that performs them, and the [`Handler`] hook around it.

use std::fmt;
use std::io::Read;
use std::time::Duration;

use super::error::classify;
use super::PushError;

/// The HTTP method of a request to the Pushgateway.
///
/// ```
/// use promdecl_runtime::push::Method;
/// assert_eq!(Method::Put.as_str(), "PUT");
/// assert_eq!(Method::Post.to_string(), "POST");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// [`Pushgateway::push`](super::Pushgateway::push): replaces the group.
    Put,
    /// [`Pushgateway::pushadd`](super::Pushgateway::pushadd): replaces the
    /// pushed metric families only.
    Post,
    /// [`Pushgateway::delete`](super::Pushgateway::delete): removes the group.
    Delete,
}

impl Method {
    /// The method's name.
    ///
    /// ```
    /// assert_eq!(promdecl_runtime::push::Method::Delete.as_str(), "DELETE");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One request to the Pushgateway, as a [`Handler`] sees it.
///
/// ```
/// use promdecl_runtime::push::{Method, PushRequest};
/// let mut req = PushRequest::new(Method::Put, "http://127.0.0.1:9091/metrics/job/j", b"up 1\n".to_vec());
/// req.set_header("Authorization", "Bearer t0k3n");
/// assert_eq!(req.header("authorization"), Some("Bearer t0k3n"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRequest {
    /// The method.
    pub method: Method,
    /// The full URL, grouping key included.
    pub url: String,
    /// The headers to send: `Content-Type`, and `Authorization` when basic
    /// auth is configured.
    pub headers: Vec<(String, String)>,
    /// The body: the exposition in the Prometheus text format 0.0.4 (empty
    /// for `DELETE`).
    pub body: Vec<u8>,
}

impl PushRequest {
    /// A request without headers.
    ///
    /// ```
    /// use promdecl_runtime::push::{Method, PushRequest};
    /// let req = PushRequest::new(Method::Delete, "http://gw/metrics/job/j", Vec::new());
    /// assert!(req.headers.is_empty());
    /// ```
    pub fn new(method: Method, url: impl Into<String>, body: Vec<u8>) -> Self {
        PushRequest { method, url: url.into(), headers: Vec::new(), body }
    }

    /// The value of header `name` (case-insensitive), if set.
    ///
    /// ```
    /// use promdecl_runtime::push::{Method, PushRequest};
    /// let mut req = PushRequest::new(Method::Put, "http://gw/metrics/job/j", Vec::new());
    /// req.set_header("X-Scope", "a");
    /// assert_eq!(req.header("x-scope"), Some("a"));
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Sets header `name`, replacing any value it had (case-insensitive).
    ///
    /// ```
    /// use promdecl_runtime::push::{Method, PushRequest};
    /// let mut req = PushRequest::new(Method::Put, "http://gw/metrics/job/j", Vec::new());
    /// req.set_header("X-A", "1");
    /// req.set_header("x-a", "2");
    /// assert_eq!(req.headers, [("x-a".to_owned(), "2".to_owned())]);
    /// ```
    pub fn set_header(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        self.headers.push((name, value.into()));
    }
}

/// What the Pushgateway answered.
///
/// ```
/// use promdecl_runtime::push::PushResponse;
/// let resp = PushResponse { status: 202, body: String::new() };
/// assert!(resp.is_success());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The body (the gateway's message on errors), at most 64 KiB of it.
    pub body: String,
}

impl PushResponse {
    /// Whether the status is 2xx.
    ///
    /// ```
    /// use promdecl_runtime::push::PushResponse;
    /// assert!(!PushResponse { status: 401, body: "Unauthorized".into() }.is_success());
    /// ```
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Performs requests over HTTP or HTTPS with the client's timeout and TLS
/// settings; what [`Handler`]s call to send a request they have decorated.
pub struct Transport {
    agent: ureq::Agent,
    timeout: Duration,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

/// The most of an answer's body that is kept.
const MAX_BODY: u64 = 64 * 1024;

impl Transport {
    pub(crate) fn new(agent: ureq::Agent, timeout: Duration) -> Self {
        Transport { agent, timeout }
    }

    /// The time a whole request (connect, TLS, send, answer) may take.
    ///
    /// ```
    /// use std::time::Duration;
    /// let gw = promdecl_runtime::push::Pushgateway::builder("127.0.0.1:9091")
    ///     .timeout(Duration::from_secs(5))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(gw.transport().timeout(), Duration::from_secs(5));
    /// ```
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `request` and returns the answer, whatever its status; fails
    /// only when no answer came (connection refused, timeout, TLS refused).
    ///
    /// ```no_run
    /// use promdecl_runtime::push::{Method, PushRequest, Pushgateway};
    /// let gw = Pushgateway::new("http://127.0.0.1:9091").unwrap();
    /// let req = PushRequest::new(Method::Delete, "http://127.0.0.1:9091/metrics/job/j", Vec::new());
    /// let resp = gw.transport().send(req).unwrap();
    /// println!("{}", resp.status);
    /// ```
    pub fn send(&self, request: PushRequest) -> Result<PushResponse, PushError> {
        let mut req = self.agent.request(request.method.as_str(), &request.url);
        for (name, value) in &request.headers {
            req = req.set(name, value);
        }
        let result = if request.method == Method::Delete && request.body.is_empty() {
            req.call()
        } else {
            req.send_bytes(&request.body)
        };
        let response = match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => {
                return Err(classify(request.method, &request.url, self.timeout, t));
            }
        };
        let status = response.status();
        let mut body = String::new();
        // A gateway that answered but whose body is cut short still answered:
        // its status is what matters, the message is best effort.
        let _ = response.into_reader().take(MAX_BODY).read_to_string(&mut body);
        Ok(PushResponse { status, body })
    }
}

/// A hook around every request to the Pushgateway: the Python client's
/// `handler=` argument.
///
/// A handler receives the request (method, URL, headers, body) and either
/// decorates it and passes it on to the [`Transport`], or performs it in
/// its own way. Use it for authentication schemes the client does not
/// know (bearer tokens, signed requests), extra headers, or logging.
///
/// Any `Fn(PushRequest, &Transport) -> Result<PushResponse, PushError>`
/// closure is a handler.
///
/// ```
/// use promdecl_runtime::push::{Handler, PushError, PushRequest, PushResponse, Pushgateway, Transport};
///
/// /// Sends a bearer token with every request.
/// struct Bearer(String);
///
/// impl Handler for Bearer {
///     fn handle(&self, mut request: PushRequest, transport: &Transport) -> Result<PushResponse, PushError> {
///         request.set_header("Authorization", format!("Bearer {}", self.0));
///         transport.send(request)
///     }
/// }
///
/// let gw = Pushgateway::builder("https://push.example.com").handler(Bearer("t0k3n".into())).build().unwrap();
/// # let _ = gw;
/// ```
pub trait Handler: Send + Sync {
    /// Performs `request`, usually by passing it (changed or not) to
    /// `transport`. A non-2xx answer is turned into
    /// [`PushError::Status`] by the caller.
    fn handle(&self, request: PushRequest, transport: &Transport) -> Result<PushResponse, PushError>;
}

impl<F> Handler for F
where
    F: Fn(PushRequest, &Transport) -> Result<PushResponse, PushError> + Send + Sync,
{
    fn handle(&self, request: PushRequest, transport: &Transport) -> Result<PushResponse, PushError> {
        self(request, transport)
    }
}
