//! Grouping keys and their URL encoding.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::PushError;
use crate::name::is_legacy_label_name;

/// Everything but the unreserved characters of RFC 3986 is percent-encoded
/// in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The labels, besides `job`, that name a group of metrics on the
/// Pushgateway.
///
/// Build one from an array or any iterator of name/value pairs, or with
/// [`GroupingKey::with`]. Label names are checked when the key is used, so
/// a bad name comes back as a [`PushError`] from the push.
///
/// ```
/// use promdecl_runtime::push::GroupingKey;
///
/// let key = GroupingKey::from([("instance", "web-1"), ("zone", "eu")]);
/// assert_eq!(key, GroupingKey::new().with("zone", "eu").with("instance", "web-1"));
/// assert_eq!(key.len(), 2);
/// ```
#[derive(Debug, Clone, Default)]
pub struct GroupingKey {
    labels: Vec<(String, String)>,
}

impl GroupingKey {
    /// An empty grouping key: the group is named by `job` alone.
    ///
    /// ```
    /// assert!(promdecl_runtime::push::GroupingKey::new().is_empty());
    /// ```
    pub fn new() -> Self {
        GroupingKey::default()
    }

    /// Adds a label (replacing an earlier value of the same name).
    ///
    /// ```
    /// use promdecl_runtime::push::GroupingKey;
    /// let key = GroupingKey::new().with("instance", "a").with("instance", "b");
    /// assert_eq!(key.get("instance"), Some("b"));
    /// ```
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.insert(name.into(), value.into());
        self
    }

    /// The value of label `name`, if set.
    ///
    /// ```
    /// use promdecl_runtime::push::GroupingKey;
    /// assert_eq!(GroupingKey::from([("a", "1")]).get("a"), Some("1"));
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.labels.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The labels, sorted by name.
    ///
    /// ```
    /// use promdecl_runtime::push::GroupingKey;
    /// let key = GroupingKey::from([("b", "2"), ("a", "1")]);
    /// assert_eq!(key.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "2")]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.labels.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// How many labels the key has.
    ///
    /// ```
    /// assert_eq!(promdecl_runtime::push::GroupingKey::from([("a", "1")]).len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the key has no labels.
    ///
    /// ```
    /// use promdecl_runtime::push::GroupingKey;
    /// assert!(GroupingKey::new().is_empty());
    /// assert!(!GroupingKey::from([("a", "1")]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    fn insert(&mut self, name: String, value: String) {
        match self.labels.binary_search_by(|(n, _)| n.as_str().cmp(&name)) {
            Ok(i) => self.labels[i].1 = value,
            Err(i) => self.labels.insert(i, (name, value)),
        }
    }

    /// The URL path below the gateway for `job` and this key:
    /// `/metrics/job/<job>/<name>/<value>...`, labels sorted by name, each
    /// value percent-encoded, or in the `<name>@base64/<value>` form when it
    /// contains a `/` or is empty (as the Python client and the Pushgateway
    /// define it), or is `.` or `..`: URL normalisation (in HTTP clients,
    /// proxies and the gateway's router) removes such a path segment or
    /// climbs over the one before it, which would push into another group.
    ///
    /// ```
    /// use promdecl_runtime::push::GroupingKey;
    /// let key = GroupingKey::from([("path", "/var/tmp"), ("empty", ""), ("zone", "eu west"), ("up", "..")]);
    /// assert_eq!(
    ///     key.path("backup").unwrap(),
    ///     "/metrics/job/backup/empty@base64/=/path@base64/L3Zhci90bXA=/up@base64/Li4=/zone/eu%20west"
    /// );
    /// ```
    pub fn path(&self, job: &str) -> Result<String, PushError> {
        if job.is_empty() {
            return Err(PushError::EmptyJob);
        }
        let mut path = String::from("/metrics");
        push_segment(&mut path, "job", job);
        for (name, value) in &self.labels {
            if !is_legacy_label_name(name) {
                return Err(PushError::InvalidGroupingKey {
                    name: name.clone(),
                    reason: "label names match [a-zA-Z_][a-zA-Z0-9_]*",
                });
            }
            if name.starts_with("__") {
                return Err(PushError::InvalidGroupingKey {
                    name: name.clone(),
                    reason: "label names starting with __ are reserved",
                });
            }
            if name == "job" {
                return Err(PushError::InvalidGroupingKey {
                    name: name.clone(),
                    reason: "the job is given apart, not in the grouping key",
                });
            }
            push_segment(&mut path, name, value);
        }
        Ok(path)
    }
}

/// Whether `value`, written as a path segment, would not survive URL
/// normalisation as it is: empty segments are merged, and `.` and `..` are
/// dot segments (RFC 3986, section 5.2.4). Every other byte that
/// normalisation could touch is percent-encoded by [`SEGMENT`], and `.` is
/// never encoded, so no `%2e` form arises.
fn needs_base64(value: &str) -> bool {
    matches!(value, "" | "." | "..") || value.contains('/')
}

fn push_segment(path: &mut String, name: &str, value: &str) {
    path.push('/');
    path.push_str(name);
    if value.is_empty() {
        path.push_str("@base64/=");
    } else if needs_base64(value) {
        path.push_str("@base64/");
        path.push_str(&URL_SAFE.encode(value));
    } else {
        path.push('/');
        path.extend(utf8_percent_encode(value, SEGMENT));
    }
}

impl PartialEq for GroupingKey {
    fn eq(&self, other: &Self) -> bool {
        self.labels == other.labels
    }
}

impl Eq for GroupingKey {}

impl<N: Into<String>, V: Into<String>> FromIterator<(N, V)> for GroupingKey {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut key = GroupingKey::new();
        for (n, v) in iter {
            key.insert(n.into(), v.into());
        }
        key
    }
}

impl<N: Into<String>, V: Into<String>, const K: usize> From<[(N, V); K]> for GroupingKey {
    fn from(labels: [(N, V); K]) -> Self {
        labels.into_iter().collect()
    }
}

impl<N: Into<String> + Clone, V: Into<String> + Clone> From<&[(N, V)]> for GroupingKey {
    fn from(labels: &[(N, V)]) -> Self {
        labels.iter().cloned().collect()
    }
}

impl From<&GroupingKey> for GroupingKey {
    fn from(key: &GroupingKey) -> Self {
        key.clone()
    }
}

/// A grouping key whose `instance` is this host's IP address (the Python
/// client's `instance_ip_grouping_key`), for pushes from several hosts
/// under one job.
///
/// The address is the one this host would send from to reach the outside
/// (an IPv4 route lookup; no packet is sent). A host without such a route
/// gets the address `localhost` resolves to, which is what the Python
/// client answers on Linux.
///
/// ```
/// let key = promdecl_runtime::push::instance_ip_grouping_key().unwrap();
/// let ip: std::net::IpAddr = key.get("instance").unwrap().parse().unwrap();
/// assert!(!ip.is_unspecified());
/// ```
pub fn instance_ip_grouping_key() -> std::io::Result<GroupingKey> {
    Ok(GroupingKey::new().with("instance", local_ip()?.to_string()))
}

fn local_ip() -> std::io::Result<IpAddr> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    // Connecting a UDP socket only picks the route and the source address.
    // 192.0.2.0/24 is TEST-NET-1: routed like any public address, never used.
    if socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).is_ok() {
        let ip = socket.local_addr()?.ip();
        if !ip.is_unspecified() {
            return Ok(ip);
        }
    }
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    socket.connect(("localhost", 9))?;
    Ok(socket.local_addr()?.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_are_percent_encoded() {
        let key = GroupingKey::from([("a", "x y%z\u{e9}"), ("b", "ok-._~")]);
        assert_eq!(key.path("j").unwrap(), "/metrics/job/j/a/x%20y%25z%C3%A9/b/ok-._~");
    }

    #[test]
    fn slash_and_empty_values_use_base64_url_safe() {
        // "?>>" encodes to "Pz4+" in standard base64, "Pz4-" URL-safe.
        let key = GroupingKey::from([("a", "/?>>"), ("b", "")]);
        assert_eq!(key.path("j/k").unwrap(), "/metrics/job@base64/ai9r/a@base64/Lz8-Pg==/b@base64/=");
    }

    #[test]
    fn dot_segments_use_base64() {
        let key = GroupingKey::from([("a", "."), ("b", ".."), ("c", "..."), ("d", ".x")]);
        assert_eq!(key.path("..").unwrap(), "/metrics/job@base64/Li4=/a@base64/Lg==/b@base64/Li4=/c/.../d/.x");
        assert_eq!(GroupingKey::new().path(".").unwrap(), "/metrics/job@base64/Lg==");
    }

    #[test]
    fn labels_are_sorted_and_deduplicated() {
        let key: GroupingKey = vec![("z", "1"), ("a", "2"), ("z", "3")].into_iter().collect();
        assert_eq!(key.path("j").unwrap(), "/metrics/job/j/a/2/z/3");
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(matches!(GroupingKey::new().path(""), Err(PushError::EmptyJob)));
        for name in ["1a", "a-b", "", "__x", "job"] {
            let err = GroupingKey::from([(name, "v")]).path("j").unwrap_err();
            assert!(matches!(&err, PushError::InvalidGroupingKey { name: n, .. } if n == name), "{name}: {err}");
        }
    }
}
