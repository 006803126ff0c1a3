//! [`KeySpill`]: an import's lookup keys, handed back in key order at commit.
//!
//! Adding millions of `(key_hash, seq)` pairs to the `entity_keys` index in
//! the order records arrive means inserts at random places in an index far
//! larger than any cache; adding them in key order appends to few pages.
//! The keys of an import are therefore collected here and returned sorted.
//! Memory stays bounded whatever the file size: past [`SPILL_AT`] pairs they
//! are partitioned by the top bits of the hash into [`BUCKETS`] temporary
//! files (the hashes are uniform, so the buckets are even), and at the end
//! each bucket is read and sorted on its own, in bucket order.
//! A radix partition plus an in-memory sort is several times cheaper than
//! the database's own sort of a staging table, which it replaces.
//!
//! The files are unlinked as soon as they are opened (on Unix), so a killed
//! import leaves nothing behind.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// Pairs held in memory before they go to the bucket files (4 MB).
const SPILL_AT: usize = 1 << 18;
/// Bucket files once spilled; 1,000,000 rows with about 6 keys each make
/// buckets of about 23,000 pairs (370 KB), 100 million rows about 37 MB.
const BUCKETS: usize = 256;
/// Bytes of one pair in a bucket file.
const PAIR: usize = 16;

/// The lookup keys of one import.
pub(crate) struct KeySpill {
    pending: Vec<(i64, i64)>,
    buckets: Vec<Bucket>,
}

struct Bucket {
    file: BufWriter<File>,
    path: TempPath,
}

/// The name of a bucket file still to remove (where the platform would not
/// unlink an open file).
struct TempPath(Option<PathBuf>);

impl KeySpill {
    /// An empty set of keys; no file is created until [`SPILL_AT`] pairs.
    pub(crate) fn new() -> KeySpill {
        KeySpill {
            pending: Vec::new(),
            buckets: Vec::new(),
        }
    }

    /// Adds one `(key_hash, seq)` pair.
    pub(crate) fn push(&mut self, key_hash: i64, seq: i64) -> std::io::Result<()> {
        self.pending.push((key_hash, seq));
        if self.pending.len() >= SPILL_AT {
            self.spill()?;
        }
        Ok(())
    }

    /// Finishes adding; the pairs come back in `(key_hash, seq)` order from
    /// [`SortedKeys::next_run`].
    pub(crate) fn finish(mut self) -> std::io::Result<SortedKeys> {
        if self.buckets.is_empty() {
            self.pending.sort_unstable();
            return Ok(SortedKeys {
                memory: Some(std::mem::take(&mut self.pending)),
                buckets: Vec::new(),
                next: 0,
            });
        }
        self.spill()?;
        let mut files = Vec::with_capacity(self.buckets.len());
        for bucket in std::mem::take(&mut self.buckets) {
            let mut file = bucket.file.into_inner().map_err(|err| err.into_error())?;
            file.seek(SeekFrom::Start(0))?;
            files.push((file, bucket.path));
        }
        Ok(SortedKeys {
            memory: None,
            buckets: files,
            next: 0,
        })
    }

    fn spill(&mut self) -> std::io::Result<()> {
        if self.buckets.is_empty() {
            for idx in 0..BUCKETS {
                self.buckets.push(Bucket::create(idx)?);
            }
        }
        for (key_hash, seq) in self.pending.drain(..) {
            let bucket = &mut self.buckets[bucket_of(key_hash)];
            bucket.file.write_all(&key_hash.to_le_bytes())?;
            bucket.file.write_all(&seq.to_le_bytes())?;
        }
        Ok(())
    }
}

/// The pairs of a finished [`KeySpill`], one sorted run at a time.
pub(crate) struct SortedKeys {
    memory: Option<Vec<(i64, i64)>>,
    buckets: Vec<(File, TempPath)>,
    next: usize,
}

impl SortedKeys {
    /// The next run of pairs, sorted and above every pair of earlier runs;
    /// `None` when all were returned.
    pub(crate) fn next_run(&mut self) -> std::io::Result<Option<Vec<(i64, i64)>>> {
        if let Some(memory) = self.memory.take() {
            return Ok(Some(memory));
        }
        let Some((file, _)) = self.buckets.get_mut(self.next) else {
            return Ok(None);
        };
        self.next += 1;
        let mut bytes = Vec::new();
        BufReader::new(file).read_to_end(&mut bytes)?;
        let mut run: Vec<(i64, i64)> = bytes
            .chunks_exact(PAIR)
            .map(|pair| {
                let (key, seq) = pair.split_at(8);
                (i64_le(key), i64_le(seq))
            })
            .collect();
        run.sort_unstable();
        Ok(Some(run))
    }
}

impl Bucket {
    fn create(idx: usize) -> std::io::Result<Bucket> {
        let path = std::env::temp_dir().join(format!(
            "palermo-import-{}-{}-{idx}.keys",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        ));
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        // Unix lets an open file lose its name: nothing is left behind
        // even if the process is killed. Elsewhere `Drop` removes it.
        let path = match std::fs::remove_file(&path) {
            Ok(()) => TempPath(None),
            Err(_) => TempPath(Some(path)),
        };
        Ok(Bucket {
            file: BufWriter::with_capacity(8 * 1024, file),
            path,
        })
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The bucket of a hash: its top bits in signed order (the order in which
/// the database sorts the `key_hash` column).
fn bucket_of(key_hash: i64) -> usize {
    let unsigned = (key_hash as u64) ^ (1 << 63);
    (unsigned >> (64 - BUCKETS.trailing_zeros())) as usize
}

fn i64_le(bytes: &[u8]) -> i64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(bytes);
    i64::from_le_bytes(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(spill: KeySpill) -> Vec<(i64, i64)> {
        let mut sorted = spill.finish().unwrap();
        let mut all = Vec::new();
        while let Some(run) = sorted.next_run().unwrap() {
            all.extend(run);
        }
        all
    }

    #[test]
    fn buckets_follow_signed_order() {
        assert_eq!(bucket_of(i64::MIN), 0);
        assert_eq!(bucket_of(-1), BUCKETS / 2 - 1);
        assert_eq!(bucket_of(0), BUCKETS / 2);
        assert_eq!(bucket_of(i64::MAX), BUCKETS - 1);
    }

    #[test]
    fn small_sets_sort_in_memory() {
        let mut spill = KeySpill::new();
        for (key, seq) in [(5, 1), (-3, 2), (5, 0), (i64::MIN, 9)] {
            spill.push(key, seq).unwrap();
        }
        assert_eq!(drain(spill), [(i64::MIN, 9), (-3, 2), (5, 0), (5, 1)]);
    }

    #[test]
    fn spilled_sets_come_back_whole_and_sorted() {
        let mut spill = KeySpill::new();
        let mut want = Vec::new();
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        for seq in 0..(SPILL_AT as i64 + 12_345) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let key = state as i64;
            spill.push(key, seq).unwrap();
            want.push((key, seq));
        }
        want.sort_unstable();
        assert_eq!(drain(spill), want);
    }
}
