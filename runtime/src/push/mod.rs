//! A Pushgateway client: the Python client's `push_to_gateway`,
//! `pushadd_to_gateway` and `delete_from_gateway`.
//!
//! Batch jobs that end before Prometheus could scrape them push their
//! metrics to a [Pushgateway](https://github.com/prometheus/pushgateway),
//! which Prometheus then scrapes (with `honor_labels: true`). Metrics are
//! pushed into a *group*, named by the job and an optional
//! [`GroupingKey`]:
//!
//! * [`Pushgateway::push`] (`PUT`) replaces every metric of the group;
//! * [`Pushgateway::pushadd`] (`POST`) replaces only the metric families
//!   pushed, leaving the group's other families as they were;
//! * [`Pushgateway::delete`] (`DELETE`) removes the group.
//!
//! The body is the Prometheus text format 0.0.4. Plain HTTP, HTTPS with a
//! CA file, client certificates, basic auth and a timeout are built in; a
//! [`Handler`] adds any other authentication.
//!
//! ```no_run
//! use std::time::Duration;
//! use promdecl_runtime::push::{instance_ip_grouping_key, Pushgateway};
//! use promdecl_runtime::{Gauge, Registry};
//!
//! let registry = Registry::new();
//! let last_success = Gauge::builder("backup_last_success_unixtime", "Last time the backup succeeded.")
//!     .register(&registry)
//!     .unwrap();
//! last_success.set_to_current_time();
//!
//! let gateway = Pushgateway::builder("https://pushgateway.example.com:9091")
//!     .timeout(Duration::from_secs(10))
//!     .basic_auth("backup", "s3cret")
//!     .ca_file("/etc/ssl/pushgateway-ca.pem")
//!     .build()?;
//! gateway.push("backup", instance_ip_grouping_key()?, &registry)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod grouping;
mod handler;
pub(crate) mod tls;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

pub use error::PushError;
pub use grouping::{instance_ip_grouping_key, GroupingKey};
pub use handler::{Handler, Method, PushRequest, PushResponse, Transport};

use crate::encode::{try_encode, Format};
use crate::Collector;

/// The timeout when none is set: the Python client's.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A client for one Pushgateway; see the [module docs](self).
///
/// Cheap to keep and share between threads: it holds its TLS
/// configuration and reuses connections.
pub struct Pushgateway {
    base: String,
    transport: Transport,
    authorization: Option<String>,
    handler: Option<Box<dyn Handler>>,
}

impl fmt::Debug for Pushgateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pushgateway")
            .field("url", &self.base)
            .field("timeout", &self.transport.timeout())
            .field("basic_auth", &self.authorization.is_some())
            .field("handler", &self.handler.is_some())
            .finish()
    }
}

impl Pushgateway {
    /// A client for the gateway at `gateway` (`http://host:port`,
    /// `https://host:port/prefix`, or `host:port` for plain HTTP) with the
    /// default settings: a 30 s timeout, no authentication, and for HTTPS
    /// the Mozilla root certificates.
    ///
    /// ```
    /// use promdecl_runtime::push::Pushgateway;
    /// let gw = Pushgateway::new("127.0.0.1:9091").unwrap();
    /// assert_eq!(gw.url(), "http://127.0.0.1:9091");
    /// ```
    pub fn new(gateway: &str) -> Result<Self, PushError> {
        Pushgateway::builder(gateway).build()
    }

    /// A builder, for a timeout, basic auth, TLS or a [`Handler`].
    ///
    /// ```
    /// use promdecl_runtime::push::Pushgateway;
    /// let gw = Pushgateway::builder("http://127.0.0.1:9091/").basic_auth("u", "p").build().unwrap();
    /// assert_eq!(gw.url(), "http://127.0.0.1:9091");
    /// ```
    pub fn builder(gateway: impl Into<String>) -> PushgatewayBuilder {
        PushgatewayBuilder {
            gateway: gateway.into(),
            timeout: DEFAULT_TIMEOUT,
            basic_auth: None,
            ca_file: None,
            client_cert: None,
            handler: None,
        }
    }

    /// The gateway's base URL, without a trailing `/`.
    ///
    /// ```
    /// use promdecl_runtime::push::Pushgateway;
    /// assert_eq!(Pushgateway::new("https://gw.example.com/push/").unwrap().url(), "https://gw.example.com/push");
    /// ```
    pub fn url(&self) -> &str {
        &self.base
    }

    /// The transport requests go through (what a [`Handler`] is given).
    ///
    /// ```
    /// use promdecl_runtime::push::Pushgateway;
    /// let gw = Pushgateway::new("127.0.0.1:9091").unwrap();
    /// assert_eq!(gw.transport().timeout(), std::time::Duration::from_secs(30));
    /// ```
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Replaces every metric of the group `job` + `grouping_key` with what
    /// `registry` (any [`Collector`]) holds (`PUT`).
    ///
    /// ```no_run
    /// use promdecl_runtime::{push::{GroupingKey, Pushgateway}, Counter, Registry};
    /// let registry = Registry::new();
    /// Counter::builder("rows_processed", "Rows.").register(&registry)?.inc_by(42.0)?;
    /// let gw = Pushgateway::new("127.0.0.1:9091")?;
    /// gw.push("etl", [("table", "users")], &registry)?;
    /// gw.push("etl", GroupingKey::new(), &registry)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push(
        &self,
        job: &str,
        grouping_key: impl Into<GroupingKey>,
        registry: &dyn Collector,
    ) -> Result<(), PushError> {
        self.request(Method::Put, job, grouping_key.into(), Some(registry))
    }

    /// Replaces, in the group `job` + `grouping_key`, the metric families
    /// `registry` (any [`Collector`]) holds, and leaves the group's other families as they
    /// were (`POST`).
    ///
    /// ```no_run
    /// use promdecl_runtime::{push::Pushgateway, Gauge, Registry};
    /// let registry = Registry::new();
    /// Gauge::builder("stage_done", "Stage done.").register(&registry)?.set(1.0);
    /// Pushgateway::new("127.0.0.1:9091")?.pushadd("etl", [("stage", "load")], &registry)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pushadd(
        &self,
        job: &str,
        grouping_key: impl Into<GroupingKey>,
        registry: &dyn Collector,
    ) -> Result<(), PushError> {
        self.request(Method::Post, job, grouping_key.into(), Some(registry))
    }

    /// Deletes the group `job` + `grouping_key` and all its metrics
    /// (`DELETE`).
    ///
    /// ```no_run
    /// use promdecl_runtime::push::Pushgateway;
    /// Pushgateway::new("127.0.0.1:9091")?.delete("etl", [("table", "users")])?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn delete(&self, job: &str, grouping_key: impl Into<GroupingKey>) -> Result<(), PushError> {
        self.request(Method::Delete, job, grouping_key.into(), None)
    }

    fn request(
        &self,
        method: Method,
        job: &str,
        grouping_key: GroupingKey,
        collector: Option<&dyn Collector>,
    ) -> Result<(), PushError> {
        let url = format!("{}{}", self.base, grouping_key.path(job)?);
        let mut body = Vec::new();
        if let Some(collector) = collector {
            try_encode(collector, Format::TEXT, &mut body).map_err(PushError::Collect)?;
        }
        let mut request = PushRequest::new(method, url.clone(), body);
        request.set_header("Content-Type", Format::TEXT.content_type());
        if let Some(auth) = &self.authorization {
            request.set_header("Authorization", auth.clone());
        }
        let response = match &self.handler {
            Some(handler) => handler.handle(request, &self.transport)?,
            None => self.transport.send(request)?,
        };
        if response.is_success() {
            return Ok(());
        }
        Err(PushError::Status { method, url, status: response.status, message: response.body.trim().to_owned() })
    }
}

/// Settings for a [`Pushgateway`]; from [`Pushgateway::builder`].
pub struct PushgatewayBuilder {
    gateway: String,
    timeout: Duration,
    basic_auth: Option<(String, String)>,
    ca_file: Option<PathBuf>,
    client_cert: Option<(PathBuf, PathBuf)>,
    handler: Option<Box<dyn Handler>>,
}

impl fmt::Debug for PushgatewayBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushgatewayBuilder")
            .field("gateway", &self.gateway)
            .field("timeout", &self.timeout)
            .field("basic_auth", &self.basic_auth.as_ref().map(|(user, _)| user))
            .field("ca_file", &self.ca_file)
            .field("client_cert", &self.client_cert)
            .field("handler", &self.handler.is_some())
            .finish()
    }
}

impl PushgatewayBuilder {
    /// The most a whole request may take: connecting, TLS, sending and the
    /// answer (default 30 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// use promdecl_runtime::push::Pushgateway;
    /// let gw = Pushgateway::builder("127.0.0.1:9091").timeout(Duration::from_secs(2)).build().unwrap();
    /// assert_eq!(gw.transport().timeout(), Duration::from_secs(2));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// HTTP basic authentication (the Python client's
    /// `basic_auth_handler`). Use it over HTTPS: the password is only
    /// base64-encoded.
    ///
    /// ```
    /// use promdecl_runtime::push::Pushgateway;
    /// let gw = Pushgateway::builder("https://gw.example.com").basic_auth("job", "s3cret").build().unwrap();
    /// # let _ = gw;
    /// ```
    pub fn basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.basic_auth = Some((user.into(), password.into()));
        self
    }

    /// Trusts the CA certificates in this PEM file for HTTPS, instead of
    /// the Mozilla roots. A self-signed server certificate may be the CA
    /// file itself.
    ///
    /// ```
    /// use promdecl_runtime::push::{PushError, Pushgateway};
    /// let err = Pushgateway::builder("https://gw.example.com").ca_file("/nonexistent.pem").build().unwrap_err();
    /// assert!(matches!(err, PushError::TlsFile { .. }));
    /// ```
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Presents this client certificate (PEM, the chain leaf first) and
    /// private key (PEM: PKCS#8, PKCS#1 or SEC1) to gateways that ask for
    /// one (mutual TLS).
    ///
    /// ```
    /// use promdecl_runtime::push::{PushError, Pushgateway};
    /// let err = Pushgateway::builder("https://gw.example.com")
    ///     .client_cert("/nonexistent/client.pem", "/nonexistent/client.key")
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("client.pem"));
    /// ```
    pub fn client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_cert = Some((cert.into(), key.into()));
        self
    }

    /// Routes every request through `handler`; see [`Handler`].
    ///
    /// ```
    /// use promdecl_runtime::push::{PushRequest, Pushgateway, Transport};
    /// let gw = Pushgateway::builder("127.0.0.1:9091")
    ///     .handler(|mut req: PushRequest, transport: &Transport| {
    ///         req.set_header("X-Tenant", "team-a");
    ///         transport.send(req)
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # let _ = gw;
    /// ```
    pub fn handler(mut self, handler: impl Handler + 'static) -> Self {
        self.handler = Some(Box::new(handler));
        self
    }

    /// Checks the URL, reads the TLS files and makes the client.
    ///
    /// ```
    /// use promdecl_runtime::push::{PushError, Pushgateway};
    /// assert!(matches!(Pushgateway::builder("http://").build(), Err(PushError::InvalidUrl { .. })));
    /// ```
    pub fn build(self) -> Result<Pushgateway, PushError> {
        let base = base_url(&self.gateway)?;
        let tls = tls::client_config(
            self.ca_file.as_deref(),
            self.client_cert.as_ref().map(|(c, k)| (c.as_path(), k.as_path())),
        )?;
        let agent = ureq::AgentBuilder::new()
            .timeout(self.timeout)
            .tls_config(tls)
            // A redirect of a PUT is an answer to report, not to follow with
            // the credentials.
            .redirects(0)
            .user_agent(concat!("promdecl/", env!("CARGO_PKG_VERSION")))
            .build();
        let authorization =
            self.basic_auth.map(|(user, password)| format!("Basic {}", STANDARD.encode(format!("{user}:{password}"))));
        Ok(Pushgateway { base, transport: Transport::new(agent, self.timeout), authorization, handler: self.handler })
    }
}

/// `gateway` as an `http(s)://host[:port][/path]` URL without a trailing
/// slash; `host:port` alone means plain HTTP, as in the Python client.
fn base_url(gateway: &str) -> Result<String, PushError> {
    let invalid = |reason: &str| PushError::InvalidUrl { url: gateway.to_owned(), reason: reason.to_owned() };
    let full = if gateway.contains("://") { gateway.to_owned() } else { format!("http://{gateway}") };
    let url = url::Url::parse(&full).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a query or fragment cannot be part of the gateway's address"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(base_url("localhost:9091").unwrap(), "http://localhost:9091");
        assert_eq!(base_url("https://gw/").unwrap(), "https://gw");
        assert_eq!(base_url("http://gw:1/a/b/").unwrap(), "http://gw:1/a/b");
        for bad in ["", "ftp://gw", "http://", "http://gw/?x=1", "http://gw#f", "gw:notaport"] {
            assert!(matches!(base_url(bad), Err(PushError::InvalidUrl { .. })), "{bad}");
        }
    }

    #[test]
    fn basic_auth_header_is_standard_base64() {
        let gw = Pushgateway::builder("gw:9091").basic_auth("Aladdin", "open sesame").build().unwrap();
        assert_eq!(gw.authorization.as_deref(), Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
    }
}
