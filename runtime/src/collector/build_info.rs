//! `build_info`: the name, version and git revision of the program, the
//! metric dashboards join on to show what is deployed.

use crate::{Error, Info, Registry};

/// Registers `build_info{name, version[, git_revision]} 1` in `registry`.
///
/// Programs call it through [`build_info!`](crate::build_info), which fills
/// in their own crate's name and version; `git_revision` is left out when
/// `None`. Fails if `registry` already has a `build_info`.
///
/// ```
/// use promdecl_runtime::{collector::register_build_info, Registry};
/// let registry = Registry::new();
/// register_build_info(&registry, "mydaemon", "1.2.3", Some("4f2a9c1")).unwrap();
/// let labels = [("name", "mydaemon"), ("version", "1.2.3"), ("git_revision", "4f2a9c1")];
/// assert_eq!(registry.get_sample_value("build_info", &labels), Some(1.0));
/// assert!(register_build_info(&registry, "mydaemon", "1.2.3", None).is_err());
/// ```
pub fn register_build_info(
    registry: &Registry,
    name: &str,
    version: &str,
    git_revision: Option<&str>,
) -> Result<Info, Error> {
    let mut pairs = vec![("name", name), ("version", version)];
    if let Some(revision) = git_revision {
        pairs.push(("git_revision", revision));
    }
    let info = Info::builder("build", "Build information of the program.").build()?;
    info.info(&pairs)?;
    registry.register(info.clone())?;
    Ok(info)
}

/// Registers `build_info{name, version, git_revision} 1` for the calling
/// crate in the [default registry](crate::default_registry), or in the
/// registry given: `name` and `version` are its `CARGO_PKG_NAME` and
/// `CARGO_PKG_VERSION`, and `git_revision` is the `GIT_REVISION` environment
/// variable at compile time (left out if unset; a build script can set it
/// with `cargo:rustc-env=GIT_REVISION=...`).
///
/// Evaluates to the `Result` of [`register_build_info`]: it fails only if
/// the registry already has a `build_info`.
///
/// ```
/// let info = promdecl_runtime::build_info!().unwrap();
/// assert_eq!(info.get()[0], ("name".to_owned(), env!("CARGO_PKG_NAME").to_owned()));
///
/// let registry = promdecl_runtime::Registry::new();
/// promdecl_runtime::build_info!(&registry).unwrap();
/// let version = registry.get_sample_value(
///     "build_info",
///     &[("name", env!("CARGO_PKG_NAME")), ("version", env!("CARGO_PKG_VERSION"))],
/// );
/// # if option_env!("GIT_REVISION").is_none() {
/// assert_eq!(version, Some(1.0));
/// # }
/// ```
#[macro_export]
macro_rules! build_info {
    () => {
        $crate::build_info!($crate::default_registry())
    };
    ($registry:expr $(,)?) => {
        $crate::collector::register_build_info(
            $registry,
            ::core::env!("CARGO_PKG_NAME"),
            ::core::env!("CARGO_PKG_VERSION"),
            ::core::option_env!("GIT_REVISION"),
        )
    };
}
