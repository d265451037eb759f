//! gzip for scrape answers, through flate2.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;

/// `data` gzipped at the fastest level: metric text compresses about tenfold
/// even so, and a scrape is on the clock of the process being observed.
pub(crate) fn compress(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::with_capacity(data.len() / 8 + 64), Compression::fast());
    // Writing into a Vec cannot fail.
    enc.write_all(data).expect("gzip into memory");
    enc.finish().expect("gzip into memory")
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    #[test]
    fn round_trip() {
        let text = "# TYPE a counter\na_total 1\n".repeat(100);
        let packed = super::compress(text.as_bytes());
        assert!(packed.len() < text.len() / 10, "{} bytes", packed.len());
        let mut back = String::new();
        flate2::read::GzDecoder::new(&packed[..]).read_to_string(&mut back).unwrap();
        assert_eq!(back, text);
    }
}
