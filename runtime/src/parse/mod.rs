//! Parsers for the two text expositions: OpenMetrics 1.0, validated
//! strictly, and the Prometheus text format 0.0.4, read leniently. Both
//! return the [`MetricFamily`](crate::MetricFamily) model that custom
//! collectors build, so parsed families can be inspected, filtered and
//! encoded again.
//!
//! ```
//! use promdecl_runtime::{encode::{encode_to_string, Format}, parse_openmetrics, parse_text};
//!
//! let text = "# TYPE temp gauge\ntemp{room=\"hall\"} 19.5\n# EOF\n";
//! let families = parse_openmetrics(text).unwrap();
//! assert_eq!(encode_to_string(&families[0], Format::TEXT), "# TYPE temp gauge\ntemp{room=\"hall\"} 19.5\n");
//!
//! let families = parse_text("temp{room=\"hall\"} 19.5\n").unwrap();
//! assert_eq!(families[0].samples[0].value.as_f64(), 19.5);
//! ```

mod cursor;
mod error;
mod labels;
mod number;
mod openmetrics;
mod rules;
mod text;

pub use error::ParseError;
pub use openmetrics::parse_openmetrics;
pub use text::parse_text;
