//! Compact immutable strings for records: short text inline, longer text boxed.
//!
//! A record holds some forty normalised strings (name tokens, phonetic keys, address
//! parts, identifiers), nearly all shorter than 23 bytes. As `String`s each took 24 bytes
//! plus a heap block of at least 32 (the allocator's smallest), and a `Vec<String>` of one
//! token two heap blocks: at 1M pooled `palermo sim` records the records were about 3 KB
//! each and most of the run's 2.6 GB. [`Text`] keeps up to [`INLINE`] bytes in its own 24
//! bytes, and [`TextList`] keeps a list of none or one without a heap block. Keeping the
//! bytes inside the record also saves a pointer chase per string in the comparison hot
//! path, where the records of a pair are far apart in memory.

use std::fmt;
use std::ops::Deref;

/// Longest text kept inline (the enum tag and length take the other two bytes of 24).
pub(crate) const INLINE: usize = 22;

/// The empty text, for fields that are absent.
pub(crate) static EMPTY: Text = Text::empty();

/// An immutable string, inline up to [`INLINE`] bytes.
#[derive(Clone)]
pub(crate) struct Text(Repr);

#[derive(Clone)]
enum Repr {
    /// Invariant: `bytes[..len]` is a copy of a `&str` (valid UTF-8), `len <= INLINE`, and
    /// the bytes after `len` are zero. Only [`Text::new`] builds this variant.
    Inline {
        len: u8,
        bytes: [u8; INLINE],
    },
    Boxed(Box<str>),
}

impl Text {
    /// The empty text, usable in constants.
    pub(crate) const fn empty() -> Text {
        Text(Repr::Inline {
            len: 0,
            bytes: [0; INLINE],
        })
    }

    /// Copies `s` (inline when short enough).
    pub(crate) fn new(s: &str) -> Text {
        if s.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            // `s.len() <= INLINE` (22) fits a u8.
            Text(Repr::Inline {
                len: s.len() as u8,
                bytes,
            })
        } else {
            Text(Repr::Boxed(s.into()))
        }
    }

    /// The text.
    #[allow(unsafe_code)]
    pub(crate) fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, bytes } => {
                let bytes = &bytes[..usize::from(*len)];
                // SAFETY: `Repr::Inline` is built only by `Text::new`, which copies the
                // bytes of a `&str` (valid UTF-8) into `bytes[..len]`; the fields are
                // private to this module and never mutated afterwards, so `bytes[..len]`
                // is still exactly that valid UTF-8. Checking it again here would cost a
                // scan per access in the comparison hot path.
                unsafe { std::str::from_utf8_unchecked(bytes) }
            }
            Repr::Boxed(s) => s,
        }
    }
}

impl Default for Text {
    fn default() -> Text {
        Text::new("")
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

// Hash, Eq and Ord agree with `str`'s, as `Borrow` requires.
impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::new(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::new(&s)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An immutable list of [`Text`]: none or one without a heap block (most names have one
/// token, most records one phone number or none), more boxed.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) enum TextList {
    #[default]
    Empty,
    One(Text),
    Many(Box<[Text]>),
}

impl TextList {
    /// The texts, as a slice.
    pub(crate) fn as_slice(&self) -> &[Text] {
        match self {
            TextList::Empty => &[],
            TextList::One(t) => std::slice::from_ref(t),
            TextList::Many(ts) => ts,
        }
    }
}

impl TextList {
    /// Appends `value` unless it is empty or already in the list: one or none without a
    /// heap block, as [`FromIterator`] would build them, without a `Vec` first (records
    /// are built a million at a time, most with one value of each list or none).
    pub(crate) fn push_distinct(&mut self, value: &str) {
        if value.is_empty() || self.iter().any(|t| t.as_str() == value) {
            return;
        }
        *self = match std::mem::take(self) {
            TextList::Empty => TextList::One(Text::new(value)),
            TextList::One(first) => TextList::Many(Box::new([first, Text::new(value)])),
            TextList::Many(items) => {
                let mut items = items.into_vec();
                items.push(Text::new(value));
                TextList::Many(items.into_boxed_slice())
            }
        };
    }
}

impl Deref for TextList {
    type Target = [Text];
    fn deref(&self) -> &[Text] {
        self.as_slice()
    }
}

impl<'a> IntoIterator for &'a TextList {
    type Item = &'a Text;
    type IntoIter = std::slice::Iter<'a, Text>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl<T: Into<Text>> FromIterator<T> for TextList {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> TextList {
        let mut items: Vec<Text> = iter.into_iter().map(Into::into).collect();
        match items.len() {
            0 => TextList::Empty,
            1 => items.pop().map_or(TextList::Empty, TextList::One),
            _ => TextList::Many(items.into_boxed_slice()),
        }
    }
}

impl fmt::Debug for TextList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &str) {
        let t = Text::new(s);
        assert_eq!(t.as_str(), s);
        assert_eq!(t, Text::from(s.to_owned()));
        assert_eq!(t.len(), s.len());
    }

    #[test]
    fn round_trips_inline_and_boxed() {
        check("");
        check("a");
        check("somchai");
        check("ใจเพชร"); // 18 bytes: inline
        check("abcdefghijklmnopqrstuv"); // exactly INLINE
        check("abcdefghijklmnopqrstuvw"); // one more: boxed
        check("chaiyaphruekwattanasombat");
        check("Алексей Ηλίας"); // multi-byte, boxed
    }

    #[test]
    fn orders_and_compares_as_str() {
        let mut v: Vec<Text> = ["b", "a", "abcdefghijklmnopqrstuvwxyz", "ab"]
            .into_iter()
            .map(Text::new)
            .collect();
        v.sort();
        let got: Vec<&str> = v.iter().map(Text::as_str).collect();
        assert_eq!(got, ["a", "ab", "abcdefghijklmnopqrstuvwxyz", "b"]);
        assert!(Text::new("x") == "x");
    }

    #[test]
    fn stays_small() {
        // The point of the type: no larger than a String, a list no larger than a Vec.
        assert_eq!(std::mem::size_of::<Text>(), 24);
        assert!(std::mem::size_of::<TextList>() <= 24);
    }

    #[test]
    fn pushed_lists_are_collected_lists_without_repeats() {
        for values in [
            &[][..],
            &[""],
            &["x"],
            &["x", "x", ""],
            &["x", "y"],
            &["x", "y", "x", "z", "abcdefghijklmnopqrstuvwxyz"],
        ] {
            let mut pushed = TextList::Empty;
            let mut kept: Vec<&str> = Vec::new();
            for &v in values {
                pushed.push_distinct(v);
                if !v.is_empty() && !kept.contains(&v) {
                    kept.push(v);
                }
            }
            let collected: TextList = kept.into_iter().collect();
            assert_eq!(pushed, collected, "{values:?}");
        }
    }

    #[test]
    fn lists_hold_none_one_or_many() {
        let none: TextList = Vec::<String>::new().into_iter().collect();
        assert!(none.is_empty() && none == TextList::Empty);
        let one: TextList = ["x"].into_iter().collect();
        assert_eq!(one.len(), 1);
        assert!(matches!(one, TextList::One(_)));
        let many: TextList = ["x", "y", "z"].into_iter().collect();
        assert_eq!(
            many.iter().map(Text::as_str).collect::<Vec<_>>(),
            ["x", "y", "z"]
        );
    }
}
