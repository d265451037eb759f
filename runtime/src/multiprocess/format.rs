//! The on-disk format: one file per process and metric type (per gauge mode
//! for gauges), holding the latest complete snapshot of that process's
//! values, double-buffered so that a reader never sees a torn one.
//!
//! All integers and floats are little-endian.
//!
//! ```text
//! header (64 bytes)
//!    0..8   magic "PDMPROC1"
//!    8..12  writing    u32   generation being written, or last written
//!   12..16  published  u32   last complete generation; 0 = none yet
//!   16..24  slot 0     u32 offset, u32 length of its payload
//!   24..32  slot 1     u32 offset, u32 length of its payload
//!   32..64  reserved
//! payload := record*
//! record  := u32 key length | key | zero padding to a multiple of 8 | f64 value | f64 timestamp
//! key     := u8 type | str family | str help | str suffix | u32 label count | (str name | str value)*
//! str     := u32 length | UTF-8 bytes
//! ```
//!
//! Generation `g` lives in slot `g % 2`. The writer of generation `g`
//! stores `writing = g`, then the slot's offset and length, then the
//! payload, then `published = g`; it never touches the slot of the published
//! generation. A reader loads `published = p`, copies slot `p % 2`, then
//! loads `writing = w`: the copy is whole if `w - p <= 1`, since writing into
//! that slot again starts only with generation `p + 2`. This is a seqlock
//! with two buffers, which also survives a writer that dies mid-write (its
//! last published snapshot stays readable) and never blocks the writer.
//!
//! Why not update values in place like the Python client? A scrape would
//! see a histogram's buckets, count and sum from different moments, and a
//! 16-byte value and timestamp pair can tear. Why not a temporary file and
//! a rename per flush? Every process would churn an inode per interval; the
//! mapping is created once and rewritten in place.
//!
//! Growing a slot appends a new region at the end of the file: files only
//! grow (a shrinking file would fault a reader that has it mapped), and a
//! writer replaces an existing file only by renaming a new one over it.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;
use std::sync::atomic::{fence, AtomicU32, Ordering};

use memmap2::{Mmap, MmapMut};

use crate::MetricType;

const MAGIC: [u8; 8] = *b"PDMPROC1";
const HEADER_LEN: usize = 64;
const WRITING: usize = 8;
const PUBLISHED: usize = 12;
const SLOTS: [usize; 2] = [16, 24];
/// The capacity of each slot of a new file.
const INITIAL_SLOT: usize = 8 << 10;
/// How often a reader retries a copy that a writer overwrote meanwhile.
const COPY_ATTEMPTS: usize = 1000;
/// How often a reader maps the file again after it grew.
const MAP_ATTEMPTS: usize = 4;

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

/// The header word at `offset` of a mapping.
///
/// # Safety
/// `base` must point to a live mapping at least [`HEADER_LEN`] long, aligned
/// to 4 (mappings are page-aligned), and the word must only be accessed
/// atomically while the returned reference lives.
unsafe fn word<'a>(base: *const u8, offset: usize) -> &'a AtomicU32 {
    debug_assert!(offset + 4 <= HEADER_LEN && offset % 4 == 0);
    // SAFETY: per the function's contract. Only relaxed loads and stores of
    // register width are made, which are also sound on a read-only mapping.
    unsafe { AtomicU32::from_ptr(base.add(offset) as *mut u32) }
}

/// The writing side of one file, owned by the one process that writes it.
#[derive(Debug)]
pub(crate) struct FileWriter {
    file: File,
    map: MmapMut,
    /// Where each slot's region starts and how large it is.
    regions: [(usize, usize); 2],
    generation: u32,
}

impl FileWriter {
    /// Creates a file at `path` holding `payload`, replacing any file there
    /// by a rename: a reader that has the old one mapped keeps reading it
    /// safely, and no reader ever sees the new one empty.
    pub(crate) fn create(path: &Path, payload: &[u8]) -> io::Result<FileWriter> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
        let tmp = path.with_file_name(format!(".{name}.new"));
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&tmp)?;
        file.set_len((HEADER_LEN + 2 * INITIAL_SLOT) as u64)?;
        // SAFETY: the file is ours alone until the rename below, and from
        // then on other processes only read it; nobody truncates it.
        let mut map = unsafe { MmapMut::map_mut(&file)? };
        map[..MAGIC.len()].copy_from_slice(&MAGIC);
        let mut writer = FileWriter {
            file,
            map,
            regions: [(HEADER_LEN, INITIAL_SLOT), (HEADER_LEN + INITIAL_SLOT, INITIAL_SLOT)],
            generation: 0,
        };
        writer.publish(payload)?;
        std::fs::rename(&tmp, path)?;
        Ok(writer)
    }

    /// Publishes `payload` (a sequence of records) as the file's new content.
    pub(crate) fn publish(&mut self, payload: &[u8]) -> io::Result<()> {
        debug_assert!(payload.len() % 8 == 0);
        // Generation 0 means "nothing yet"; wrap to 2 to keep slots alternating.
        let generation = self.generation.checked_add(1).unwrap_or(2);
        let slot = (generation % 2) as usize;
        if payload.len() > self.regions[slot].1 {
            self.grow(slot, payload.len())?;
        }
        let offset = self.regions[slot].0;
        let base = self.map.as_mut_ptr();
        // SAFETY: the header lies within the mapping, which lives as long as
        // `self`; its words are only ever accessed atomically.
        let header = |offset| unsafe { word(base, offset) };
        header(WRITING).store(generation, Ordering::Relaxed);
        fence(Ordering::Release);
        header(SLOTS[slot]).store(offset as u32, Ordering::Relaxed);
        header(SLOTS[slot] + 4).store(payload.len() as u32, Ordering::Relaxed);
        // SAFETY: `grow` made the region at least `payload.len()` long, and
        // it lies past the header, within the mapping.
        unsafe { std::ptr::copy_nonoverlapping(payload.as_ptr(), base.add(offset), payload.len()) };
        fence(Ordering::Release);
        header(PUBLISHED).store(generation, Ordering::Relaxed);
        self.generation = generation;
        Ok(())
    }

    /// Gives `slot` a new region of at least `need` bytes at the end of the
    /// file; the other slot, maybe being read, stays where it is.
    fn grow(&mut self, slot: usize, need: usize) -> io::Result<()> {
        let offset = self.map.len().next_multiple_of(8);
        let capacity = need.next_power_of_two().max(2 * self.regions[slot].1);
        let end = offset + capacity;
        if end > u32::MAX as usize {
            return Err(io::Error::other("a snapshot of this process's metrics exceeds the 4 GiB file format limit"));
        }
        self.file.set_len(end as u64)?;
        // SAFETY: as in `create`; the old mapping is dropped on assignment.
        self.map = unsafe { MmapMut::map_mut(&self.file)? };
        self.regions[slot] = (offset, capacity);
        Ok(())
    }
}

/// Why a file could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The file is gone (a live gauge's file removed by `mark_process_dead`).
    Missing,
    /// Not a complete file of this format.
    Corrupt(&'static str),
    /// Its writer kept overwriting the slot being copied.
    Busy,
    Io(io::Error),
}

enum Attempt {
    Done(Vec<u8>),
    /// The published slot lies beyond this mapping: the file grew.
    Grown,
}

/// Reads the latest published payload of the file at `path`.
pub(crate) fn read_payload(path: &Path) -> Result<Vec<u8>, ReadError> {
    for _ in 0..MAP_ATTEMPTS {
        let file = File::open(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => ReadError::Missing,
            _ => ReadError::Io(e),
        })?;
        let len = file.metadata().map_err(ReadError::Io)?.len();
        if len < HEADER_LEN as u64 {
            return Err(ReadError::Corrupt("shorter than the file header"));
        }
        // SAFETY: files of this directory are only ever grown by their
        // writers, never truncated, so the mapping stays backed; concurrent
        // writes are what the generation protocol checks for.
        let map = unsafe { Mmap::map(&file) }.map_err(ReadError::Io)?;
        if map[..MAGIC.len()] != MAGIC {
            return Err(ReadError::Corrupt("not a promdecl multiprocess file"));
        }
        match copy_published(&map)? {
            Attempt::Done(payload) => return Ok(payload),
            Attempt::Grown => continue,
        }
    }
    Err(ReadError::Corrupt("the published slot lies beyond the end of the file"))
}

fn copy_published(map: &Mmap) -> Result<Attempt, ReadError> {
    let base = map.as_ptr();
    // SAFETY: the mapping is at least HEADER_LEN long (checked by the
    // caller) and its header words are only accessed atomically.
    let header = |offset| unsafe { word(base, offset) };
    for attempt in 0..COPY_ATTEMPTS {
        let published = header(PUBLISHED).load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        if published == 0 {
            return Ok(Attempt::Done(Vec::new()));
        }
        let slot = SLOTS[(published % 2) as usize];
        let offset = header(slot).load(Ordering::Relaxed) as usize;
        let len = header(slot + 4).load(Ordering::Relaxed) as usize;
        let in_bounds = offset >= HEADER_LEN && offset.checked_add(len).is_some_and(|end| end <= map.len());
        let mut payload = Vec::new();
        if in_bounds {
            payload.resize(len, 0);
            // SAFETY: in bounds of the mapping. The bytes may be changing
            // under a writer that started the next-but-one generation; the
            // check below then discards the copy.
            unsafe { std::ptr::copy_nonoverlapping(base.add(offset), payload.as_mut_ptr(), len) };
        }
        fence(Ordering::Acquire);
        let writing = header(WRITING).load(Ordering::Relaxed);
        if writing.wrapping_sub(published) <= 1 {
            return match (in_bounds, len % 8) {
                (true, 0) => Ok(Attempt::Done(payload)),
                (true, _) => Err(ReadError::Corrupt("a slot length is not a multiple of 8")),
                (false, _) if offset >= HEADER_LEN => Ok(Attempt::Grown),
                (false, _) => Err(ReadError::Corrupt("a slot overlaps the file header")),
            };
        }
        if attempt > 16 {
            std::thread::yield_now();
        }
    }
    Err(ReadError::Busy)
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

    #[test]
    fn publish_then_read_across_growth() {
        let dir = temp_dir("growth");
        let path = dir.join("counter_1.db");
        let mut w = FileWriter::create(&path, &[]).unwrap();
        assert!(read_payload(&path).unwrap().is_empty(), "an empty snapshot");
        for round in 0..6 {
            // Each round is larger than a slot of the round before.
            let mut payload = Vec::new();
            for i in 0..(50 << round) {
                push_record(&mut payload, &key("c", "_total", &[("i", &i.to_string())]), round as f64, 0.0);
            }
            w.publish(&payload).unwrap();
            assert_eq!(read_payload(&path).unwrap(), payload);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A writer publishing as fast as it can, against a reader that checks
    /// each copy is one whole snapshot: every record holds the same number.
    #[test]
    fn readers_never_see_a_torn_snapshot() {
        use std::sync::atomic::AtomicBool;
        let dir = temp_dir("torn");
        let path = dir.join("counter_1.db");
        let keys: Vec<Vec<u8>> = (0..512).map(|i| key("c", "_total", &[("i", &i.to_string())])).collect();
        // Made up front, so that publishing is all the writer does.
        let snapshots: Vec<Vec<u8>> = (0..16)
            .map(|n| {
                let mut payload = Vec::new();
                for k in &keys {
                    push_record(&mut payload, k, n as f64, 0.0);
                }
                payload
            })
            .collect();
        let mut w = FileWriter::create(&path, &snapshots[0]).unwrap();
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let done = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    // Busy is a fair answer to a writer that never pauses.
                    let payload = match read_payload(&path) {
                        Err(ReadError::Busy) => continue,
                        other => other.unwrap(),
                    };
                    let records = parse_payload(&payload).unwrap();
                    assert_eq!(records.len(), keys.len());
                    let n = records[0].value;
                    assert!(records.iter().all(|r| r.value == n), "a torn snapshot");
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            });
            // Bursts of back-to-back publishes, with pauses in which a
            // reader starved by a busy machine can get through.
            let started = std::time::Instant::now();
            let mut round = 0;
            while reads.load(Ordering::Relaxed) < 500 && started.elapsed() < std::time::Duration::from_secs(5) {
                for _ in 0..32 {
                    round += 1;
                    w.publish(&snapshots[round % snapshots.len()]).unwrap();
                }
                std::thread::sleep(std::time::Duration::from_micros(100));
            }
            done.store(true, Ordering::Relaxed);
        });
        assert!(reads.into_inner() > 0, "the reader never got through");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn short_or_foreign_files_are_corrupt() {
        let dir = temp_dir("corrupt");
        let short = dir.join("a.db");
        std::fs::write(&short, b"PDMPROC1").unwrap();
        assert!(matches!(read_payload(&short), Err(ReadError::Corrupt(_))));
        let foreign = dir.join("b.db");
        std::fs::write(&foreign, [7u8; 200]).unwrap();
        assert!(matches!(read_payload(&foreign), Err(ReadError::Corrupt(_))));
        assert!(matches!(read_payload(&dir.join("none.db")), Err(ReadError::Missing)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
