//! Memoised normalisation of raw values that repeat across records.
//!
//! Names come from a culture's pools, and cities, countries, nationalities and genders
//! from short lists, so most of a file's raw values have been seen before: at 1M pooled
//! `palermo sim` records, parsing each record's names afresh (NFKC, transliteration,
//! tokens, phonetic, Thai and nickname keys) was most of the time spent reading. A
//! [`Memo`] keeps what a raw value normalised to, keyed by the raw text, and hands out
//! copies; normalising is a pure function of the text, so a record is the same with or
//! without it, whichever thread first saw the value.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

use crate::normalize;
use crate::record::{Name, split_full_name};
use crate::text::Text;

/// Shards per cache: two threads (or a few more) rarely wait on one lock.
const SHARDS: usize = 32;

/// Entries a shard keeps; values seen after that are normalised without being kept, so a
/// file of mostly distinct values (phone numbers, ten million distinct names) cannot grow
/// a cache without bound. 32 shards × 8,192 entries = 262,144 values per cache.
const SHARD_ENTRIES: usize = 8_192;

/// What raw values normalised to, per kind of value, shared by the threads that build
/// records (see the module documentation).
#[derive(Default)]
pub(crate) struct Memo {
    names: Cache<Name>,
    full_names: Cache<(Name, Name)>,
    folded: Cache<Text>,
}

impl Memo {
    /// [`Name::parse`] of `text`.
    pub(crate) fn name(&self, text: &str) -> Name {
        self.names.get_or(text, Name::parse)
    }

    /// [`split_full_name`] of `text`.
    pub(crate) fn full_name(&self, text: &str) -> (Name, Name) {
        self.full_names.get_or(text, split_full_name)
    }

    /// [`normalize::fold`] of `text`, for values drawn from short lists (city, region,
    /// country, nationality, gender).
    pub(crate) fn fold(&self, text: &str) -> Text {
        self.folded.get_or(text, |t| Text::new(&normalize::fold(t)))
    }
}

/// A sharded map from raw text to its normalised value. The values are small (a
/// [`Name`] is a shared pointer and a frequency, a [`Text`] 24 bytes), so a hit hands out
/// a reference count or a short copy, and a shard's growth moves little.
struct Cache<V> {
    shards: [Shard<V>; SHARDS],
}

/// One shard of a [`Cache`].
type Shard<V> = Mutex<HashMap<Box<str>, V, Fnv>>;

impl<V> Default for Cache<V> {
    fn default() -> Cache<V> {
        Cache {
            shards: std::array::from_fn(|_| Mutex::new(HashMap::default())),
        }
    }
}

impl<V: Clone> Cache<V> {
    /// The value kept for `key`, or `make(key)` (kept while the shard has room).
    fn get_or(&self, key: &str, make: impl FnOnce(&str) -> V) -> V {
        // The shard from the hash's top bits after a multiply, so that the keys of one shard
        // still differ in the bits the map itself uses.
        let spread = fnv(key.as_bytes()).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let shard = &self.shards[(spread >> 59) as usize % SHARDS];
        // A poisoned lock means a thread panicked while holding it; the map is still a
        // map of finished entries (inserts do not panic halfway), so it is used as is.
        if let Some(v) = shard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
        {
            return V::clone(v);
        }
        // Normalised outside the lock: another thread may do the same work for the same
        // key at the same time, and both get equal values.
        let v = make(key);
        let mut map = shard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() < SHARD_ENTRIES {
            map.insert(key.into(), v.clone());
        }
        v
    }
}

/// FNV-1a, 64 bit: the keys are short, and `std`'s SipHash costs more than the lookup.
fn fnv(bytes: &[u8]) -> u64 {
    let mut h = FnvHasher::default();
    h.write(bytes);
    h.finish()
}

/// A `HashMap` hasher for short keys: FNV-1a, 64 bit.
pub(crate) type Fnv = BuildHasherDefault<FnvHasher>;

/// See [`Fnv`].
pub(crate) struct FnvHasher(u64);

impl Default for FnvHasher {
    fn default() -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for FnvHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_what_normalising_gives() {
        let memo = Memo::default();
        for text in ["Somchai", "ใจเพชร", "Al-Rashid", "", "Mary Jane", "Somchai"] {
            assert_eq!(memo.name(text), Name::parse(text), "{text:?}");
            let (g, f) = split_full_name(text);
            assert_eq!(memo.full_name(text), (g, f), "{text:?}");
            assert_eq!(memo.fold(text).as_str(), normalize::fold(text), "{text:?}");
        }
    }

    #[test]
    fn a_full_shard_still_answers() {
        let cache: Cache<usize> = Cache::default();
        for i in 0..SHARDS * SHARD_ENTRIES * 2 {
            let key = i.to_string();
            assert_eq!(cache.get_or(&key, str::len), key.len());
        }
        let kept: usize = cache.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(kept <= SHARDS * SHARD_ENTRIES);
    }
}
