//! Atomic writes of the exposition to a file, for the node exporter's
//! textfile collector (the Python client's `write_to_textfile`).
//!
//! The node exporter reads every `*.prom` file in its
//! `--collector.textfile.directory` on each scrape, so a file must never be
//! seen half written: [`write_to_textfile`] writes a temporary file in the
//! same directory (its name does not end in `.prom`), flushes it to disk,
//! renames it over the target and flushes the directory. A reader sees the
//! old file or the new one, never a mix; if anything fails, the old file is
//! left as it was and the temporary file is removed.
//!
//! ```
//! use promdecl_runtime::{textfile::write_to_textfile, Counter, Registry};
//!
//! let registry = Registry::new();
//! let runs = Counter::builder("batch_runs", "Batch runs.").register(&registry).unwrap();
//! runs.inc();
//!
//! let dir = std::env::temp_dir().join(format!("textfile-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("batch.prom");
//! write_to_textfile(&path, &registry).unwrap();
//! assert!(std::fs::read_to_string(&path).unwrap().contains("batch_runs_total 1\n"));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::encode::{try_encode, Format};
use crate::Collector;

/// Writes everything `registry` (any [`Collector`]) holds to `path` in the Prometheus text
/// format 0.0.4, atomically: a temporary file in the same directory is
/// written, synced, and renamed over `path`, then the directory is synced.
///
/// On any error `path` keeps its old content (or stays absent) and the
/// temporary file is removed. The new file gets the permissions a newly
/// created file gets (`0o666` less the umask), so a node exporter running as
/// another user can read it.
///
/// The node exporter refuses files whose samples carry timestamps; the
/// built-in metrics never do.
///
/// ```
/// use promdecl_runtime::{textfile::{write_to_textfile, Stage}, Registry};
///
/// let registry = Registry::new();
/// let err = write_to_textfile("/nonexistent-dir/x.prom", &registry).unwrap_err();
/// assert_eq!(err.stage(), Stage::CreateTemp);
/// assert_eq!(err.path(), std::path::Path::new("/nonexistent-dir"));
/// assert!(err.to_string().contains("/nonexistent-dir"));
/// ```
pub fn write_to_textfile(path: impl AsRef<Path>, registry: &dyn Collector) -> Result<(), TextfileError> {
    let path = path.as_ref();
    let Some(file_name) = path.file_name() else {
        return Err(TextfileError::new(Stage::InvalidPath, path, io::Error::other("the path names no file")));
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };

    // A collector that could not answer in full leaves the old file: a
    // partial one would read as counters dropping to nothing.
    let mut body = Vec::new();
    try_encode(registry, Format::TEXT, &mut body)
        .map_err(|e| TextfileError::new(Stage::Collect, path, io::Error::other(e)))?;

    // A leading dot and a suffix other than `.prom`: the node exporter never
    // reads the temporary file, whatever happens to it.
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(file_name);
    prefix.push(".");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    // From here on, dropping `tmp` (on any early return) removes the file.
    let mut tmp = builder.tempfile_in(dir).map_err(|e| TextfileError::new(Stage::CreateTemp, dir, e))?;
    tmp.write_all(&body).map_err(|e| TextfileError::new(Stage::Write, tmp.path(), e))?;
    tmp.as_file().sync_all().map_err(|e| TextfileError::new(Stage::Sync, tmp.path(), e))?;
    tmp.persist(path).map_err(|e| TextfileError::new(Stage::Rename, path, e.error))?;
    sync_dir(dir).map_err(|e| TextfileError::new(Stage::SyncDir, dir, e))
}

/// Makes the rename durable: on POSIX systems a rename is only on disk once
/// the directory holding the entry is synced.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// The step of [`write_to_textfile`] that failed.
///
/// ```
/// use promdecl_runtime::textfile::Stage;
/// assert_eq!(Stage::Rename.to_string(), "rename the temporary file to");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// The path has no file name (`/`, `..`).
    InvalidPath,
    /// A collector reported that it could not give a complete answer
    /// ([`MetricEncoder::fail`](crate::encode::MetricEncoder::fail)); the
    /// target is left as it was.
    Collect,
    /// Creating the temporary file in the target's directory (missing
    /// directory, no write permission, read-only file system).
    CreateTemp,
    /// Writing the exposition to the temporary file (disk full).
    Write,
    /// Flushing the temporary file to disk.
    Sync,
    /// Renaming the temporary file over the target (the target is a
    /// directory, or on another file system).
    Rename,
    /// Flushing the directory after the rename. The new file is in place,
    /// but may not survive a crash.
    SyncDir,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::InvalidPath => "write the metrics to",
            Stage::Collect => "collect the metrics for",
            Stage::CreateTemp => "create a temporary file in",
            Stage::Write => "write the metrics to",
            Stage::Sync => "flush to disk",
            Stage::Rename => "rename the temporary file to",
            Stage::SyncDir => "flush the directory",
        })
    }
}

/// Why [`write_to_textfile`] failed: which step, on which path, and the
/// operating system's error.
///
/// ```
/// use promdecl_runtime::{textfile::write_to_textfile, Registry};
/// let err = write_to_textfile("/", &Registry::new()).unwrap_err();
/// assert_eq!(err.to_string(), "cannot write the metrics to /: the path names no file");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("cannot {stage} {}: {source}", path.display())]
pub struct TextfileError {
    stage: Stage,
    path: PathBuf,
    #[source]
    source: io::Error,
}

impl TextfileError {
    fn new(stage: Stage, path: &Path, source: io::Error) -> Self {
        TextfileError { stage, path: path.to_path_buf(), source }
    }

    /// The step that failed.
    ///
    /// ```
    /// use promdecl_runtime::{textfile::{write_to_textfile, Stage}, Registry};
    /// let err = write_to_textfile("/", &Registry::new()).unwrap_err();
    /// assert_eq!(err.stage(), Stage::InvalidPath);
    /// ```
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The path the failed step worked on: the directory for
    /// [`Stage::CreateTemp`] and [`Stage::SyncDir`], the temporary file for
    /// [`Stage::Write`] and [`Stage::Sync`], the target otherwise.
    ///
    /// ```
    /// use promdecl_runtime::{textfile::write_to_textfile, Registry};
    /// let err = write_to_textfile("/", &Registry::new()).unwrap_err();
    /// assert_eq!(err.path(), std::path::Path::new("/"));
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The operating system's error.
    ///
    /// ```
    /// use promdecl_runtime::{textfile::write_to_textfile, Registry};
    /// let err = write_to_textfile("/nonexistent-dir/x.prom", &Registry::new()).unwrap_err();
    /// assert_eq!(err.io_error().kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }
}
