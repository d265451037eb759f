//! Multiprocess mode: worker processes count jobs into files in a shared
//! directory, and the parent merges them into one exposition.
//!
//! ```text
//! cargo run --example multiprocess --features multiprocess -- --workers 4 --increments 1000 --dir /tmp/mp
//! ```
//!
//! The parent wipes the directory's `.db` files, spawns N copies of this
//! binary as workers (they find the directory through
//! `PROMETHEUS_MULTIPROC_DIR`), waits for them, tells multiprocess mode that
//! each one is dead, and prints the merged Prometheus text exposition:
//! `promdecl_example_jobs_total` is N × K.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use promdecl::encode::{encode_to_string, Format};
use promdecl::multiprocess::{
    mark_process_dead, MultiProcessCollector, MultiProcessError, MultiProcessWriter, DIR_ENV,
};
use promdecl::Registry;

const USAGE: &str = "\
usage: multiprocess [--workers N] [--increments K] [--dir DIR]

Spawns N worker processes that each count K jobs into DIR, waits for them
and prints the merged metrics (Prometheus text format).

options:
  --workers N      worker processes (default 4)
  --increments K   jobs counted by each worker (default 1000)
  --dir DIR        the multiprocess directory (default $PROMETHEUS_MULTIPROC_DIR,
                   else a fresh one in the temporary directory); created if
                   missing, its .db files removed first
  -h, --help       print this help";

promdecl::metrics! {
    /// The example's metrics, kept in the multiprocess files themselves:
    /// every update writes through to the shared mapping, so a worker
    /// killed outright loses nothing it counted.
    #[metrics(namespace = "promdecl_example", multiprocess)]
    pub mod example {
        /// Jobs done by the workers.
        pub static JOBS_TOTAL: Counter;
        /// Workers running right now.
        #[multiprocess(mode = "livesum")]
        pub static WORKERS_BUSY: Gauge;
    }
}

/// What the command line asked for.
struct Args {
    workers: u32,
    increments: u64,
    dir: Option<PathBuf>,
    /// Run as a worker (the parent passes this to its children).
    worker: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { workers: 4, increments: 1000, dir: None, worker: false };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--workers" => args.workers = value("--workers")?.parse().map_err(|e| format!("--workers: {e}"))?,
            "--increments" => {
                args.increments = value("--increments")?.parse().map_err(|e| format!("--increments: {e}"))?
            }
            "--dir" => args.dir = Some(value("--dir")?.into()),
            "--worker" => args.worker = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

/// A worker: counts its jobs, with the busy gauge at 1 meanwhile.
fn worker(increments: u64) -> Result<(), MultiProcessError> {
    // The directory comes from PROMETHEUS_MULTIPROC_DIR, set by the parent.
    MultiProcessWriter::builder().install()?;
    example::WORKERS_BUSY.set(1.0);
    for _ in 0..increments {
        // An atomic add in the shared file: nothing to flush.
        example::JOBS_TOTAL.inc();
    }
    example::WORKERS_BUSY.set(0.0);
    Ok(())
}

fn parent(args: &Args) -> Result<String, String> {
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => promdecl::multiprocess::dir_from_env()
            .unwrap_or_else(|_| std::env::temp_dir().join(format!("promdecl-multiprocess-{}", std::process::id()))),
    };
    // The directory must not hold the files of an earlier run.
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for entry in std::fs::read_dir(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|ext| ext == "db") {
            std::fs::remove_file(&path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
        }
    }

    // The parent is a process with these metrics too (all zero), so the
    // live gauge stays exposed once every worker is gone.
    MultiProcessWriter::builder().dir(&dir).install().map_err(|e| e.to_string())?;
    example::JOBS_TOTAL.inc_by(0.0).map_err(|e| e.to_string())?;
    example::WORKERS_BUSY.set(0.0);

    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let mut children = Vec::new();
    for _ in 0..args.workers {
        let child = Command::new(&exe)
            .args(["--worker", "--increments", &args.increments.to_string()])
            .env(DIR_ENV, &dir)
            .spawn()
            .map_err(|e| format!("cannot start a worker: {e}"))?;
        children.push(child);
    }
    for mut child in children {
        let status = child.wait().map_err(|e| format!("cannot wait for worker {}: {e}", child.id()))?;
        if !status.success() {
            return Err(format!("worker {} failed: {status}", child.id()));
        }
        // What gunicorn's child_exit hook does in the Python client's docs.
        mark_process_dead(child.id(), &dir).map_err(|e| e.to_string())?;
    }

    let registry = Registry::new();
    registry.register(MultiProcessCollector::new(&dir).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let text = encode_to_string(&registry, Format::TEXT);
    if args.dir.is_none() && promdecl::multiprocess::dir_from_env().is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(text)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("multiprocess: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.worker {
        return match worker(args.increments) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("multiprocess worker {}: {e}", std::process::id());
                ExitCode::FAILURE
            }
        };
    }
    match parent(&args) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("multiprocess: {e}");
            ExitCode::FAILURE
        }
    }
}
