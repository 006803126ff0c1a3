//! SHA-256 hashes with RFC 9162 domain separation (leaf `0x00`, node `0x01`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A 32-byte SHA-256 digest: a leaf hash, a node hash or a tree root.
///
/// Displays and serializes as 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

/// The hash of the empty tree: `SHA-256("")` (RFC 9162 section 2.1.1).
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// The leaf hash of `data`: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    Hash(hasher.finalize().into())
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left.0);
    hasher.update(right.0);
    Hash(hasher.finalize().into())
}

impl Hash {
    /// The hash as 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits; `what` names the field in the error.
    pub fn from_hex(text: &str, what: &str) -> Result<Hash> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut out).map_err(|err| Error::Invalid {
            what: what.to_owned(),
            reason: format!("expected 64 hex digits: {err}"),
        })?;
        Ok(Hash(out))
    }

    /// Builds a hash from a byte slice of length 32; `what` names the field in the error.
    pub fn from_slice(bytes: &[u8], what: &str) -> Result<Hash> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| Error::Invalid {
            what: what.to_owned(),
            reason: format!("expected 32 bytes, found {}", bytes.len()),
        })?;
        Ok(Hash(arr))
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl FromStr for Hash {
    type Err = Error;

    fn from_str(text: &str) -> Result<Hash> {
        Hash::from_hex(text, "hash")
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
        let text = String::deserialize(deserializer)?;
        Hash::from_hex(&text, "hash").map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(data: &str, expect: &str) {
        let data = hex::decode(data).unwrap();
        assert_eq!(leaf_hash(&data).to_hex(), expect);
    }

    #[test]
    fn leaf_hashes_match_rfc6962_vectors() {
        // The one-leaf roots of the certificate-transparency test vectors.
        check(
            "",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        );
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let h = leaf_hash(b"x");
        assert_eq!(Hash::from_hex(&h.to_hex(), "h").unwrap(), h);
        assert!(Hash::from_hex("abc", "h").is_err());
        assert!(Hash::from_slice(&[0; 31], "h").is_err());
    }
}
