//! Reader for the IDX format of MNIST and Fashion-MNIST (LeCun's `*-idx3-ubyte`
//! files), raw or gzipped: a 4-byte magic (`0, 0, type, rank`), `rank` big-endian u32
//! dimensions, then the data row-major.
//!
//! The header is checked before anything is allocated: an absurd count is refused, and
//! a file shorter than its header claims is an error that says how much is missing.

use crate::error::{Error, Result};
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::Path;

/// The only element type the MNIST family uses: unsigned bytes.
const TYPE_U8: u8 = 0x08;
/// Largest accepted number of elements (1 GiB of bytes): Fashion-MNIST's training
/// images are 47 million; anything far beyond that is a broken or hostile header.
pub const MAX_ELEMENTS: u64 = 1 << 30;
const MAX_RANK: u8 = 4;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// An IDX array of unsigned bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Reads an IDX file, gunzipping it when it starts with the gzip magic.
pub fn read_file(path: &Path) -> Result<IdxArray> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    from_bytes(&bytes).map_err(|e| match e {
        Error::Input(m) => Error::Input(format!("{}: {m}", path.display())),
        other => other,
    })
}

/// Parses IDX bytes, raw or gzipped.
pub fn from_bytes(bytes: &[u8]) -> Result<IdxArray> {
    if bytes.starts_with(&GZIP_MAGIC) {
        read(GzDecoder::new(bytes), "gzipped IDX")
    } else {
        read(bytes, "IDX")
    }
}

fn read(mut r: impl Read, what: &str) -> Result<IdxArray> {
    let mut magic = [0u8; 4];
    read_header(&mut r, &mut magic, what)?;
    if magic[0] != 0 || magic[1] != 0 {
        return Err(Error::Input(format!(
            "not an {what} file (magic bytes {magic:02x?}, expected 00 00 08 <rank>)"
        )));
    }
    if magic[2] != TYPE_U8 {
        return Err(Error::Input(format!(
            "{what} element type 0x{:02x} is not supported (only unsigned bytes, 0x08)",
            magic[2]
        )));
    }
    let rank = magic[3];
    if rank == 0 || rank > MAX_RANK {
        return Err(Error::Input(format!(
            "{what} header claims rank {rank}; expected 1 to {MAX_RANK}"
        )));
    }
    let mut dims = Vec::with_capacity(rank as usize);
    let mut total: u64 = 1;
    for _ in 0..rank {
        let mut d = [0u8; 4];
        read_header(&mut r, &mut d, what)?;
        let d = u32::from_be_bytes(d) as u64;
        // Dimensions are u32, so the product of up to four fits in u128; stop early.
        total = total.saturating_mul(d);
        dims.push(d as usize);
    }
    if total > MAX_ELEMENTS {
        return Err(Error::Input(format!(
            "{what} header claims dimensions {dims:?} ({total} bytes), over the limit of {MAX_ELEMENTS}"
        )));
    }
    // Grow the buffer as data arrives rather than trusting the header's size up front:
    // a short (or decompression-bomb) file costs only the bytes it really holds.
    let mut data = Vec::new();
    r.by_ref()
        .take(total)
        .read_to_end(&mut data)
        .map_err(|e| Error::Input(format!("{what} data cannot be read: {e}")))?;
    if (data.len() as u64) < total {
        return Err(Error::Input(format!(
            "{what} data is truncated: the header claims dimensions {dims:?} ({total} bytes) but only {} follow",
            data.len()
        )));
    }
    let mut extra = [0u8; 1];
    if r.read(&mut extra).unwrap_or(0) > 0 {
        return Err(Error::Input(format!(
            "{what} has bytes after the {total} its header {dims:?} accounts for (a different file format?)"
        )));
    }
    Ok(IdxArray { dims, data })
}

fn read_header(r: &mut impl Read, buf: &mut [u8], what: &str) -> Result<()> {
    r.read_exact(buf).map_err(|e| {
        Error::Input(match e.kind() {
            std::io::ErrorKind::UnexpectedEof => format!("{what} header is truncated"),
            _ => format!("{what} header cannot be read: {e}"),
        })
    })
}

/// Greyscale images `[count, rows, cols]` with their labels, checked to agree.
#[derive(Clone, Debug)]
pub struct LabelledImages {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    /// `count * rows * cols` pixels, 0-255, row-major.
    pub pixels: Vec<u8>,
    pub labels: Vec<u8>,
}

impl LabelledImages {
    /// Pairs an IDX image array (rank 3) with an IDX label array (rank 1).
    pub fn new(images: IdxArray, labels: IdxArray, classes: usize) -> Result<Self> {
        let [count, rows, cols] = images.dims[..] else {
            return Err(Error::Input(format!(
                "IDX images must have 3 dimensions [count, rows, cols], got {:?}",
                images.dims
            )));
        };
        let [label_count] = labels.dims[..] else {
            return Err(Error::Input(format!(
                "IDX labels must have 1 dimension [count], got {:?}",
                labels.dims
            )));
        };
        if label_count != count {
            return Err(Error::Input(format!(
                "{count} images but {label_count} labels (are these files from the same split?)"
            )));
        }
        if let Some((i, l)) = labels
            .data
            .iter()
            .enumerate()
            .find(|(_, l)| **l as usize >= classes)
        {
            return Err(Error::Input(format!(
                "label {l} of image {i} is outside 0..{classes}"
            )));
        }
        Ok(LabelledImages {
            count,
            rows,
            cols,
            pixels: images.data,
            labels: labels.data,
        })
    }

    /// Reads an image file and a label file (each raw or gzipped).
    pub fn read(images: &Path, labels: &Path, classes: usize) -> Result<Self> {
        Self::new(read_file(images)?, read_file(labels)?, classes)
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.rows * self.cols;
        &self.pixels[i * n..(i + 1) * n]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, TYPE_U8, dims.len() as u8];
        for d in dims {
            b.extend(d.to_be_bytes());
        }
        b.extend(data);
        b
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn reads_raw_and_gzipped() {
        let raw = idx(&[2, 2, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        for bytes in [raw.clone(), gzip(&raw)] {
            let a = from_bytes(&bytes).unwrap();
            assert_eq!(a.dims, [2, 2, 3]);
            assert_eq!(a.data, (1..=12).collect::<Vec<u8>>());
        }
        let set = LabelledImages::new(
            from_bytes(&raw).unwrap(),
            from_bytes(&idx(&[2], &[3, 9])).unwrap(),
            10,
        )
        .unwrap();
        assert_eq!(set.image(1), [7, 8, 9, 10, 11, 12]);
    }

    #[test]
    fn hostile_headers_are_clear_errors() {
        let huge = idx(&[60000, 60000, 60000], &[]);
        let truncated = idx(&[10, 28, 28], &[0; 100]);
        for (bytes, needle) in [
            (huge.clone(), "over the limit"),
            (gzip(&huge), "over the limit"),
            (truncated.clone(), "truncated"),
            (gzip(&truncated), "only 100 follow"),
            (idx(&[2], &[1, 2, 3]), "bytes after"),
            (vec![0, 0, 8], "header is truncated"),
            (vec![0, 0, 8, 3, 0, 0], "header is truncated"),
            (b"<html>".to_vec(), "not an IDX file"),
            (
                vec![0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0],
                "element type 0x0d",
            ),
            (vec![0, 0, 8, 9], "rank 9"),
        ] {
            let err = from_bytes(&bytes).unwrap_err().to_string();
            assert!(err.contains(needle), "expected `{needle}` in `{err}`");
        }
    }

    #[test]
    fn images_and_labels_must_agree() {
        let images = || from_bytes(&idx(&[2, 1, 1], &[0, 0])).unwrap();
        let labels = |d: &[u8]| from_bytes(&idx(&[d.len() as u32], d)).unwrap();
        for (l, needle) in [
            (labels(&[1]), "2 images but 1 labels"),
            (labels(&[1, 10]), "label 10 of image 1"),
        ] {
            let err = LabelledImages::new(images(), l, 10)
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "expected `{needle}` in `{err}`");
        }
        let err = LabelledImages::new(labels(&[1, 2]), labels(&[1, 2]), 10)
            .unwrap_err()
            .to_string();
        assert!(err.contains("3 dimensions"), "{err}");
    }
}
