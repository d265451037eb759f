//! The on-disk format: one file per process and metric type (per gauge mode
//! for gauges), holding that process's values as cells that its metrics
//! update in place (write-through), as the Python client's mmap files do, but
//! with atomic cells.
//!
//! Lengths are little-endian; cells are in the machine's byte order (the
//! processes sharing a directory share a machine).
//!
//! ```text
//! header    (64 bytes)  magic "PDMPROC2", then reserved zeros
//! segment i (64 KiB << min(i, 6) bytes, back to back after the header)
//!   0..8    used   u64   bytes of the segment in use, this word included
//!                        (0 in a segment never written: read as 8)
//!   8..used record*
//! record  := u32 key length | key | zero padding to a multiple of 8 | cell
//! cell    := gauges: u64 value (f64 bits) | u64 timestamp (f64 bits, unix seconds)
//!            others: u64 float part (f64 bits) | u64 whole part
//! key     := u8 type | str family | str help | str suffix | u32 label count | (str name | str value)*
//! str     := u32 length | UTF-8 bytes
//! ```
//!
//! A record is appended once, by the one process that writes the file: its
//! key and zeroed cell are written first, then `used` is raised with a
//! release store. From then on its key never changes and its cell changes
//! only through atomic operations. A reader loads `used` with an acquire
//! fence after it, so it sees whole keys, and loads every byte of the
//! mapping atomically, so that even a misbehaving writer cannot make a
//! scrape a data race.
//!
//! Segments are fixed in place, so the writer maps each one separately and
//! never unmaps it: a handle to a cell stays valid while the file grows.
//! Each segment's disk space is reserved (`posix_fallocate`) before it is
//! mapped, so a full disk is an error when a label child is first used,
//! never a `SIGBUS` when a mapped page is first touched. Files only grow: a
//! shrinking file would fault a reader that has it mapped.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{fence, AtomicU32, AtomicU64, AtomicU8, Ordering};

use memmap2::{Mmap, MmapOptions};

use crate::MetricType;

const MAGIC: [u8; 8] = *b"PDMPROC2";
const HEADER_LEN: u64 = 64;
const FIRST_SEGMENT: u64 = 64 << 10;
/// Segments stop doubling at this size (4 MiB).
const MAX_SEGMENT_SHIFT: u32 = 6;

fn segment_len(i: usize) -> u64 {
    FIRST_SEGMENT << (i as u32).min(MAX_SEGMENT_SHIFT)
}

/// Where segment `i` starts in the file.
fn segment_start(i: usize) -> u64 {
    HEADER_LEN + (0..i).map(segment_len).sum::<u64>()
}

/// How many bytes a record with a key of `key_len` bytes takes.
fn record_len(key_len: usize) -> usize {
    (4 + key_len).next_multiple_of(8) + 16
}

/// One series' cell, as stored in the file: two words, read as
///
/// * for gauges: the value (f64 bits) and when it last changed (f64 unix
///   seconds, 0 for never, for the most-recent modes);
/// * for everything else (counts and sums, which only add up): a float part
///   (f64 bits) and a whole part (u64), summed by readers, so that whole
///   increments are one `fetch_add`, as for an in-memory counter.
///
/// Eight-byte aligned in the mapping, and only ever accessed atomically.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Cell {
    float: AtomicU64,
    word: AtomicU64,
}

/// Whole increments up to this are added to the integer word exactly.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

impl Cell {
    /// Adds `v` to the float part: a compare-and-swap loop on its bits.
    #[inline]
    pub(crate) fn add(&self, v: f64) {
        let mut old = self.float.load(Ordering::Relaxed);
        loop {
            let new = (f64::from_bits(old) + v).to_bits();
            match self.float.compare_exchange_weak(old, new, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(current) => old = current,
            }
        }
    }

    /// Adds one to a count.
    #[inline]
    pub(crate) fn inc(&self) {
        self.word.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `v` (not negative) to a count: whole amounts to the integer
    /// word, the others to the float part.
    #[inline]
    pub(crate) fn add_count(&self, v: f64) {
        if v.fract() == 0.0 && (0.0..=MAX_EXACT).contains(&v) {
            self.word.fetch_add(v as u64, Ordering::Relaxed);
        } else {
            self.add(v);
        }
    }

    /// A count: both parts.
    pub(crate) fn count(&self) -> f64 {
        let float = f64::from_bits(self.float.load(Ordering::Relaxed));
        float + self.word.load(Ordering::Relaxed) as f64
    }

    /// Sets a gauge's value.
    #[inline]
    pub(crate) fn set(&self, v: f64) {
        self.float.store(v.to_bits(), Ordering::Relaxed);
    }

    /// A gauge's value.
    #[inline]
    pub(crate) fn get(&self) -> f64 {
        f64::from_bits(self.float.load(Ordering::Relaxed))
    }

    /// Sets when a gauge's value last changed.
    pub(crate) fn set_timestamp(&self, at: f64) {
        self.word.store(at.to_bits(), Ordering::Relaxed);
    }
}

/// Reserves the disk blocks of `start..start + len` of `file`, growing it
/// as needed: unlike `File::set_len`, which leaves a sparse hole that a
/// write through a mapping may find no room for (`SIGBUS`).
fn reserve(file: &File, start: u64, len: u64) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let out_of_range = || io::Error::new(io::ErrorKind::InvalidInput, "multiprocess file offset out of range");
        let offset = libc::off_t::try_from(start).map_err(|_| out_of_range())?;
        let length = libc::off_t::try_from(len).map_err(|_| out_of_range())?;
        // SAFETY: the descriptor is open for as long as `file` lives, which
        // outlasts the call; posix_fallocate takes no pointers.
        match unsafe { libc::posix_fallocate(file.as_raw_fd(), offset, length) } {
            0 => return Ok(()),
            // A filesystem without fallocate: reserve by writing zeros.
            libc::EOPNOTSUPP => {}
            errno => return Err(io::Error::from_raw_os_error(errno)),
        }
    }
    write_zeros(file, start, len)
}

/// Writes zeros over the part of `start..start + len` beyond the file's end.
fn write_zeros(file: &File, start: u64, len: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let end = start + len;
    let mut at = file.metadata()?.len().max(start);
    let zeros = [0u8; 8192];
    while at < end {
        let n = ((end - at) as usize).min(zeros.len());
        file.write_all_at(&zeros[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

/// Takes the exclusive `flock` of `file` without waiting; `Ok(false)` if
/// another open file (in this or another process) holds it.
pub(crate) fn try_lock(file: &File) -> io::Result<bool> {
    // SAFETY: the descriptor is open for as long as `file` lives, which
    // outlasts the call; flock takes no pointers.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// Opens an existing file for reading and writing without following a
/// symbolic link, or creates it if absent (the lock file).
pub(crate) fn open_lock_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// One mapped segment, never unmapped while the process lives.
#[derive(Debug)]
struct Segment {
    base: *mut u8,
    len: usize,
}

// SAFETY: `base` points into a shared mapping that is never unmapped (it is
// leaked in `CellFile::map_segment`); any thread may access it, through
// atomics for the words that others access concurrently.
unsafe impl Send for Segment {}

impl Segment {
    fn used(&self) -> &AtomicU64 {
        // SAFETY: the segment is at least 8 bytes long and 8-aligned (the
        // mapping is page-aligned plus a multiple of 8), lives forever, and
        // its first word is only accessed atomically.
        unsafe { AtomicU64::from_ptr(self.base.cast()) }
    }
}

/// The writing side of one file, owned by the one process that writes it
/// (the lock file of its process id says which).
#[derive(Debug)]
pub(crate) struct CellFile {
    file: File,
    segments: Vec<Segment>,
    /// Cells by key, for the records in the file.
    index: HashMap<Vec<u8>, &'static Cell>,
}

impl CellFile {
    /// Opens the file at `path` to carry on its records, if there is one
    /// and `carry_on` is set; creates a new one otherwise, replacing any
    /// file there by a rename, so that no reader sees a file without its
    /// header and a reader of the old one keeps reading it safely.
    ///
    /// The caller holds the lock of the file's process id.
    pub(crate) fn open(path: &Path, carry_on: bool) -> io::Result<CellFile> {
        if carry_on {
            match OpenOptions::new().read(true).write(true).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC).open(path)
            {
                Ok(file) => return CellFile::load(file),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        let (tmp, file) = create_temp(path)?;
        let made = (|| {
            use std::os::unix::fs::FileExt;
            file.write_all_at(&MAGIC, 0)?;
            let mut cells = CellFile { file, segments: Vec::new(), index: HashMap::new() };
            cells.map_segment()?;
            std::fs::rename(&tmp, path)?;
            Ok(cells)
        })();
        if made.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        made
    }

    /// Maps the segments of an existing file and indexes its records.
    fn load(file: File) -> io::Result<CellFile> {
        let corrupt =
            |why: &str| io::Error::new(io::ErrorKind::InvalidData, format!("not a promdecl multiprocess file: {why}"));
        let len = file.metadata()?.len();
        let mut magic = [0u8; 8];
        {
            use std::os::unix::fs::FileExt;
            if len < HEADER_LEN || file.read_exact_at(&mut magic, 0).is_err() || magic != MAGIC {
                return Err(corrupt("bad header"));
            }
        }
        let mut cells = CellFile { file, segments: Vec::new(), index: HashMap::new() };
        while segment_start(cells.segments.len()) < len {
            cells.map_segment()?;
        }
        for seg in &cells.segments {
            let used = match seg.used().load(Ordering::Acquire) as usize {
                0 => 8,
                used if (8..=seg.len).contains(&used) && used % 8 == 0 => used,
                _ => return Err(corrupt("a segment's length is out of range")),
            };
            let mut at = 8;
            while at < used {
                // SAFETY: `at + 4 <= used <= seg.len`; this process is the
                // file's only writer, and nothing else writes here now.
                let key_len = unsafe { std::ptr::read(seg.base.add(at).cast::<[u8; 4]>()) };
                let key_len = u32::from_le_bytes(key_len) as usize;
                let end = at.checked_add(record_len(key_len)).filter(|&e| e <= used);
                let Some(end) = end else { return Err(corrupt("a record runs past its segment")) };
                // SAFETY: in bounds (checked above), written before `used`.
                let key = unsafe { std::slice::from_raw_parts(seg.base.add(at + 4), key_len) }.to_vec();
                // SAFETY: the cell is the record's last 16 bytes, 8-aligned,
                // in a mapping that is never unmapped; cells are only ever
                // accessed atomically.
                let cell = unsafe { &*seg.base.add(end - 16).cast::<Cell>() };
                cells.index.insert(key, cell);
                at = end;
            }
        }
        Ok(cells)
    }

    /// Reserves, maps and starts the next segment.
    fn map_segment(&mut self) -> io::Result<()> {
        let i = self.segments.len();
        let (start, len) = (segment_start(i), segment_len(i));
        reserve(&self.file, start, len)?;
        // SAFETY: the range was just reserved on disk, so touching its pages
        // cannot fault for lack of space; other processes only read the
        // file, and no one truncates it (files of the directory only grow).
        let map = unsafe { MmapOptions::new().offset(start).len(len as usize).map_mut(&self.file)? };
        let base = map.as_ptr() as *mut u8;
        // Never unmapped: handles to its cells live as long as the process.
        std::mem::forget(map);
        self.segments.push(Segment { base, len: len as usize });
        Ok(())
    }

    /// The cell of `key`, appending a record for it on first use.
    pub(crate) fn cell(&mut self, key: &[u8]) -> io::Result<&'static Cell> {
        if let Some(cell) = self.index.get(key) {
            return Ok(cell);
        }
        let need = record_len(key.len());
        let max = (FIRST_SEGMENT << MAX_SEGMENT_SHIFT) as usize - 8;
        if need > max || key.len() > u32::MAX as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a series key of {} bytes exceeds the {max} bytes a record may take: shorten its label values",
                    key.len()
                ),
            ));
        }
        loop {
            let seg = self.segments.last().expect("a file has a first segment");
            let used = match seg.used().load(Ordering::Relaxed) as usize {
                0 => 8,
                used => used,
            };
            if used + need > seg.len {
                self.map_segment()?;
                continue;
            }
            // SAFETY: `used + need <= seg.len`, so the record lies within
            // the segment; the bytes beyond `used` are zero (reserved, never
            // written) and no reader looks at them until `used` is raised.
            let cell = unsafe {
                let at = seg.base.add(used);
                std::ptr::copy_nonoverlapping((key.len() as u32).to_le_bytes().as_ptr(), at, 4);
                std::ptr::copy_nonoverlapping(key.as_ptr(), at.add(4), key.len());
                &*at.add(need - 16).cast::<Cell>()
            };
            seg.used().store((used + need) as u64, Ordering::Release);
            self.index.insert(key.to_vec(), cell);
            return Ok(cell);
        }
    }
}

/// Numbers the temporary files of this process.
static TEMP_SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Creates a hidden temporary file beside `path` with `O_EXCL` and
/// `O_NOFOLLOW`: a file or link planted under its name is never opened.
fn create_temp(path: &Path) -> io::Result<(std::path::PathBuf, File)> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    loop {
        let n = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_file_name(format!(".{name}.{}.{n}.new", std::process::id()));
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Why a file could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The file is gone (a live gauge's file removed by `mark_process_dead`).
    Missing,
    /// Not a complete file of this format.
    Corrupt(&'static str),
    Io(io::Error),
}

/// Reads every record of the file at `path`, as a payload for
/// [`parse_payload`].
pub(crate) fn read_payload(path: &Path) -> Result<Vec<u8>, ReadError> {
    let file = OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC).open(path).map_err(
        |e| match e.kind() {
            io::ErrorKind::NotFound => ReadError::Missing,
            _ => ReadError::Io(e),
        },
    )?;
    let len = file.metadata().map_err(ReadError::Io)?.len();
    if len < HEADER_LEN {
        return Err(ReadError::Corrupt("shorter than the file header"));
    }
    // SAFETY: files of this directory are only ever grown by their writers,
    // never truncated, so the mapping stays backed; every byte of it is read
    // below through atomic loads only.
    let map = unsafe { Mmap::map(&file) }.map_err(ReadError::Io)?;
    let base = map.as_ptr();
    let byte = |at: usize| -> u8 {
        debug_assert!(at < map.len());
        // SAFETY: `at` is within the mapping (every caller checks). Relaxed
        // loads of up to 8 bytes are sound on read-only memory (see the
        // std::sync::atomic docs, "Atomic accesses to read-only memory").
        unsafe { AtomicU8::from_ptr(base.add(at) as *mut u8) }.load(Ordering::Relaxed)
    };
    if (0..MAGIC.len()).map(byte).ne(MAGIC) {
        return Err(ReadError::Corrupt("not a promdecl multiprocess file"));
    }
    let map_len = map.len();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let (start, seg_len) = (segment_start(i) as usize, segment_len(i) as usize);
        if start >= map_len {
            break;
        }
        if start + seg_len > map_len {
            // Writers grow files by whole segments.
            return Err(ReadError::Corrupt("truncated in the middle of a segment"));
        }
        i += 1;
        // SAFETY: in bounds, 8-aligned (page-aligned mapping, offset a
        // multiple of 8); relaxed loads as above.
        let used = unsafe { AtomicU64::from_ptr(base.add(start) as *mut u64) }.load(Ordering::Relaxed) as usize;
        // Pairs with the writer's release store: the records below `used`
        // are complete.
        fence(Ordering::Acquire);
        let used = match used {
            0 => 8,
            used if (8..=seg_len).contains(&used) && used % 8 == 0 => used,
            _ => return Err(ReadError::Corrupt("a segment's length is out of range")),
        };
        let mut at = 8;
        while at < used {
            let rec = start + at;
            // SAFETY: `rec + 4 <= start + used`, 4-aligned; relaxed load.
            let key_len = unsafe { AtomicU32::from_ptr(base.add(rec) as *mut u32) }.load(Ordering::Relaxed);
            let key_len = u32::from_le(key_len) as usize;
            let Some(end) = at.checked_add(record_len(key_len)).filter(|&e| e <= used) else {
                return Err(ReadError::Corrupt("a record runs past its segment"));
            };
            let key: Vec<u8> = (rec + 4..rec + 4 + key_len).map(byte).collect();
            let cell = start + end - 16;
            // SAFETY: the cell lies within the segment, 8-aligned; relaxed
            // loads as above.
            let (float, word) = unsafe {
                (
                    AtomicU64::from_ptr(base.add(cell) as *mut u64).load(Ordering::Relaxed),
                    AtomicU64::from_ptr(base.add(cell + 8) as *mut u64).load(Ordering::Relaxed),
                )
            };
            // The key's first byte is its type; see `Cell`.
            let (value, timestamp) = match key.first().copied().and_then(type_from_code) {
                Some(MetricType::Gauge) => (f64::from_bits(float), f64::from_bits(word)),
                _ => (f64::from_bits(float) + word as f64, 0.0),
            };
            push_record(&mut out, &key, value, timestamp);
            at = end;
        }
    }
    Ok(out)
}

/// The type code of a record, for the types multiprocess mode supports.
pub(crate) fn type_code(kind: MetricType) -> Option<u8> {
    match kind {
        MetricType::Counter => Some(1),
        MetricType::Gauge => Some(2),
        MetricType::Histogram => Some(3),
        MetricType::Summary => Some(4),
        _ => None,
    }
}

fn type_from_code(code: u8) -> Option<MetricType> {
    match code {
        1 => Some(MetricType::Counter),
        2 => Some(MetricType::Gauge),
        3 => Some(MetricType::Histogram),
        4 => Some(MetricType::Summary),
        _ => None,
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Appends the key of one sample to `out`.
pub(crate) fn encode_key<'a>(
    out: &mut Vec<u8>,
    code: u8,
    family: &str,
    help: &str,
    suffix: &str,
    labels: impl Iterator<Item = (&'a str, &'a str)> + Clone,
) {
    out.push(code);
    put_str(out, family);
    put_str(out, help);
    put_str(out, suffix);
    out.extend_from_slice(&(labels.clone().count() as u32).to_le_bytes());
    for (name, value) in labels {
        put_str(out, name);
        put_str(out, value);
    }
}

/// Appends one record to a payload.
pub(crate) fn push_record(out: &mut Vec<u8>, key: &[u8], value: f64, timestamp: f64) {
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key);
    out.resize(out.len().next_multiple_of(8), 0);
    out.extend_from_slice(&value.to_le_bytes());
    out.extend_from_slice(&timestamp.to_le_bytes());
}

/// One decoded record, borrowing from the payload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record<'a> {
    /// The key as stored, to match records across snapshots.
    pub key: &'a [u8],
    pub kind: MetricType,
    pub family: &'a str,
    pub help: &'a str,
    pub suffix: &'a str,
    pub labels: Vec<(&'a str, &'a str)>,
    pub value: f64,
    pub timestamp: f64,
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or("a record runs past its slot")?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }
    fn u32(&mut self) -> Result<u32, &'static str> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn f64(&mut self) -> Result<f64, &'static str> {
        Ok(f64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn str(&mut self) -> Result<&'a str, &'static str> {
        let len = self.u32()? as usize;
        std::str::from_utf8(self.take(len)?).map_err(|_| "a name or label is not UTF-8")
    }
}

/// Decodes a whole payload; any inconsistency fails it as a whole.
pub(crate) fn parse_payload(buf: &[u8]) -> Result<Vec<Record<'_>>, &'static str> {
    let mut records = Vec::new();
    let mut c = Cursor { buf, pos: 0 };
    while c.pos < buf.len() {
        let key_len = c.u32()? as usize;
        let key = c.take(key_len)?;
        c.take(c.pos.next_multiple_of(8) - c.pos)?;
        let value = c.f64()?;
        let timestamp = c.f64()?;
        let mut k = Cursor { buf: key, pos: 0 };
        let kind = type_from_code(k.take(1)?[0]).ok_or("unknown metric type code")?;
        let family = k.str()?;
        let help = k.str()?;
        let suffix = k.str()?;
        let count = k.u32()? as usize;
        // Each label takes at least 8 bytes: no allocation beyond the key's size.
        if count > key.len() / 8 {
            return Err("label count exceeds the key");
        }
        let mut labels = Vec::with_capacity(count);
        for _ in 0..count {
            labels.push((k.str()?, k.str()?));
        }
        if k.pos != key.len() {
            return Err("trailing bytes in a key");
        }
        records.push(Record { key, kind, family, help, suffix, labels, value, timestamp });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(family: &str, suffix: &str, labels: &[(&str, &str)]) -> Vec<u8> {
        let mut k = Vec::new();
        encode_key(&mut k, 1, family, "Help.", suffix, labels.iter().copied());
        k
    }

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("promdecl-format-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn records_round_trip() {
        let mut payload = Vec::new();
        let k1 = key("jobs", "_total", &[("queue", "a\"b"), ("é", "")]);
        push_record(&mut payload, &k1, 3.5, 0.0);
        push_record(&mut payload, &key("x", "", &[]), -1.0, 17.25);
        assert_eq!(payload.len() % 8, 0);
        let records = parse_payload(&payload).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].key, &k1[..]);
        assert_eq!(records[0].kind, MetricType::Counter);
        assert_eq!((records[0].family, records[0].help, records[0].suffix), ("jobs", "Help.", "_total"));
        assert_eq!(records[0].labels, [("queue", "a\"b"), ("é", "")]);
        assert_eq!((records[1].value, records[1].timestamp), (-1.0, 17.25));
    }

    #[test]
    fn garbage_never_panics() {
        let mut payload = Vec::new();
        for i in 0..20 {
            push_record(&mut payload, &key("family", "_total", &[("i", &i.to_string())]), i as f64, 0.0);
        }
        // Every truncation, and pseudo-random byte flips, fail cleanly or parse.
        for len in 0..payload.len() {
            let _ = parse_payload(&payload[..len]);
        }
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut bad = payload.clone();
            let at = (state as usize) % bad.len();
            bad[at] = (state >> 32) as u8;
            let _ = parse_payload(&bad);
        }
    }

    fn cells_of(path: &Path) -> Vec<(Vec<u8>, f64)> {
        let payload = read_payload(path).unwrap();
        parse_payload(&payload).unwrap().into_iter().map(|r| (r.key.to_vec(), r.value)).collect()
    }

    /// Cells taken before the file grows stay valid (segments are never
    /// moved or unmapped), and a reader sees every record.
    #[test]
    fn handles_survive_growth_and_readers_see_every_cell() {
        let dir = temp_dir("growth");
        let path = dir.join("counter_1.db");
        let mut file = CellFile::open(&path, true).unwrap();
        let first = file.cell(&key("c", "_total", &[("i", "first")])).unwrap();
        first.inc();
        // Well past the first segments: 64 KiB, 128 KiB, 256 KiB.
        let keys: Vec<Vec<u8>> = (0..20_000).map(|i| key("c", "_total", &[("i", &i.to_string())])).collect();
        let cells: Vec<&Cell> = keys.iter().map(|k| file.cell(k).unwrap()).collect();
        assert!(file.segments.len() >= 4, "{} segments", file.segments.len());
        for (i, cell) in cells.iter().enumerate() {
            cell.add_count(i as f64);
        }
        first.add_count(0.5);
        assert_eq!(first.count(), 1.5);
        let read = cells_of(&path);
        assert_eq!(read.len(), keys.len() + 1);
        assert_eq!(read[0].1, 1.5);
        for (i, (k, v)) in read[1..].iter().enumerate() {
            assert_eq!((k, *v), (&keys[i], i as f64));
        }
        // The same key is the same cell.
        assert!(std::ptr::eq(file.cell(&keys[7]).unwrap(), cells[7]));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The file's blocks are allocated before it is mapped: a file made
    /// with `set_len` alone is sparse, and a write through its mapping on a
    /// full disk is a SIGBUS.
    #[test]
    fn segments_are_reserved_not_sparse() {
        use std::os::unix::fs::MetadataExt;
        let dir = temp_dir("reserved");
        let path = dir.join("counter_1.db");
        let mut file = CellFile::open(&path, true).unwrap();
        for i in 0..5_000 {
            file.cell(&key("c", "_total", &[("i", &i.to_string())])).unwrap();
        }
        let meta = std::fs::metadata(&path).unwrap();
        assert!(meta.len() > FIRST_SEGMENT * 2, "the file grew: {}", meta.len());
        assert!(meta.blocks() * 512 >= meta.len(), "{} bytes, {} allocated", meta.len(), meta.blocks() * 512);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A file reopened (a process id reused) carries on its cells and
    /// appends after them.
    #[test]
    fn reopening_carries_on() {
        let dir = temp_dir("reopen");
        let path = dir.join("counter_1.db");
        {
            let mut file = CellFile::open(&path, true).unwrap();
            file.cell(&key("c", "_total", &[])).unwrap().add(5.0);
        }
        let mut file = CellFile::open(&path, true).unwrap();
        let cell = file.cell(&key("c", "_total", &[])).unwrap();
        assert_eq!(cell.get(), 5.0);
        file.cell(&key("d", "_total", &[])).unwrap().add(1.0);
        assert_eq!(cells_of(&path).iter().map(|(_, v)| *v).collect::<Vec<_>>(), [5.0, 1.0]);
        // Not carried on: a fresh file.
        let mut fresh = CellFile::open(&path, false).unwrap();
        assert_eq!(fresh.cell(&key("c", "_total", &[])).unwrap().get(), 0.0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Neither the file nor a temporary file is opened through a symbolic
    /// link planted in the directory.
    #[test]
    fn links_are_not_followed() {
        let dir = temp_dir("links");
        let victim = dir.join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let path = dir.join("counter_1.db");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        // Carrying on a link: refused (ELOOP), the victim untouched.
        assert!(CellFile::open(&path, true).is_err());
        assert!(matches!(read_payload(&path), Err(ReadError::Io(_))));
        // A new file replaces the link itself.
        let mut file = CellFile::open(&path, false).unwrap();
        file.cell(&key("c", "_total", &[])).unwrap().add(1.0);
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(!std::fs::symlink_metadata(&path).unwrap().file_type().is_symlink());
        // Links at the next temporary names are skipped over (O_EXCL), not
        // followed.
        let next = TEMP_SEQ.load(Ordering::Relaxed);
        for n in next..next + 64 {
            let tmp = dir.join(format!(".counter_2.db.{}.{n}.new", std::process::id()));
            std::os::unix::fs::symlink(&victim, tmp).unwrap();
        }
        let mut file = CellFile::open(&dir.join("counter_2.db"), false).unwrap();
        file.cell(&key("c", "_total", &[])).unwrap().add(1.0);
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn short_or_foreign_files_are_corrupt() {
        let dir = temp_dir("corrupt");
        let short = dir.join("a.db");
        std::fs::write(&short, b"PDMPROC2").unwrap();
        assert!(matches!(read_payload(&short), Err(ReadError::Corrupt(_))));
        let foreign = dir.join("b.db");
        std::fs::write(&foreign, [7u8; 200]).unwrap();
        assert!(matches!(read_payload(&foreign), Err(ReadError::Corrupt(_))));
        assert!(matches!(read_payload(&dir.join("none.db")), Err(ReadError::Missing)));
        // A segment claiming more than it holds.
        let mut bad = vec![0u8; (HEADER_LEN + FIRST_SEGMENT) as usize];
        bad[..8].copy_from_slice(&MAGIC);
        bad[HEADER_LEN as usize..HEADER_LEN as usize + 8].copy_from_slice(&(FIRST_SEGMENT + 8).to_ne_bytes());
        let overlong = dir.join("c.db");
        std::fs::write(&overlong, &bad).unwrap();
        assert!(matches!(read_payload(&overlong), Err(ReadError::Corrupt(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A writer flipping a cell between two values whose halves both
    /// differ; a concurrent reader only ever sees one of the two.
    #[test]
    fn concurrent_reads_never_see_a_torn_cell() {
        use std::sync::atomic::AtomicBool;
        let dir = temp_dir("torn");
        let path = dir.join("gauge_all_1.db");
        let mut file = CellFile::open(&path, false).unwrap();
        let mut gauge_key = Vec::new();
        encode_key(&mut gauge_key, 2, "g", "Help.", "", std::iter::empty());
        let cell = file.cell(&gauge_key).unwrap();
        let (a, b) = (f64::from_bits(0x0123_4567_89ab_cdef), f64::from_bits(0x7edc_ba98_7654_3210));
        cell.set(a);
        let done = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut i = 0u64;
                while !done.load(Ordering::Relaxed) {
                    cell.set(if i % 2 == 0 { b } else { a });
                    i += 1;
                }
            });
            for _ in 0..2_000 {
                let v = cells_of(&path)[0].1;
                assert!(v.to_bits() == a.to_bits() || v.to_bits() == b.to_bits(), "torn: {:x}", v.to_bits());
            }
            done.store(true, Ordering::Relaxed);
        });
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
