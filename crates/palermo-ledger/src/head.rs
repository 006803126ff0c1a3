//! The node's Ed25519 signing key and signed tree heads.
//!
//! A tree head is signed over fixed binary bytes, not JSON, so that any node
//! can verify it without agreeing on a JSON canonical form:
//! `"palermo-sth-v1\0" || size (u64 BE) || timestamp_ms (u64 BE) || root (32)`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::hash::Hash;

/// Domain separator of signed tree heads.
const STH_DOMAIN: &[u8] = b"palermo-sth-v1\0";

/// A node's private signing key (Ed25519).
#[derive(Clone)]
pub struct NodeKey {
    key: SigningKey,
}

/// A node's public key (Ed25519); serializes as base64 of the 32 raw bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
}

/// An unsigned tree head: the size and root hash of the log at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeHead {
    /// Number of entries.
    pub size: u64,
    /// The RFC 9162 Merkle tree hash of those entries.
    pub root: Hash,
    /// When the head was signed, in milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
}

/// A tree head with the node's signature over it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTreeHead {
    /// The head that was signed.
    #[serde(flatten)]
    pub head: TreeHead,
    /// The signer's key fingerprint (see [`PublicKey::fingerprint`]).
    pub key_id: String,
    /// The Ed25519 signature, base64.
    pub signature: String,
}

impl NodeKey {
    /// Generates a fresh key from the operating system's random source.
    pub fn generate() -> NodeKey {
        let mut seed = [0u8; 32];
        rand::fill(&mut seed);
        NodeKey {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// Builds a key from a 32-byte seed (tests and benchmarks).
    pub fn from_seed(seed: [u8; 32]) -> NodeKey {
        NodeKey {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// Parses a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pem(pem: &str) -> Result<NodeKey> {
        let key =
            SigningKey::from_pkcs8_pem(pem).map_err(|err| Error::invalid("private key", err))?;
        Ok(NodeKey { key })
    }

    /// The key as PKCS#8 PEM (keep it secret).
    pub fn to_pem(&self) -> Result<String> {
        let pem = self
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|err| Error::invalid("private key", err))?;
        Ok(pem.to_string())
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey {
            key: self.key.verifying_key(),
        }
    }

    /// Signs a tree head.
    pub fn sign_head(&self, head: TreeHead) -> SignedTreeHead {
        let signature = self.key.sign(&head_bytes(&head));
        SignedTreeHead {
            head,
            key_id: self.public().fingerprint(),
            signature: B64.encode(signature.to_bytes()),
        }
    }

    /// Signs arbitrary bytes (used by witnessing, with its own domain separator).
    pub(crate) fn sign_bytes(&self, bytes: &[u8]) -> String {
        B64.encode(self.key.sign(bytes).to_bytes())
    }
}

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(f, "NodeKey({})", self.public().fingerprint())
    }
}

impl PublicKey {
    /// Parses an SPKI PEM public key (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_pem(pem: &str) -> Result<PublicKey> {
        let key = VerifyingKey::from_public_key_pem(pem)
            .map_err(|err| Error::invalid("public key", err))?;
        Ok(PublicKey { key })
    }

    /// The key as SPKI PEM.
    pub fn to_pem(&self) -> Result<String> {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .map_err(|err| Error::invalid("public key", err))
    }

    /// Parses base64 of the 32 raw key bytes.
    pub fn from_base64(text: &str) -> Result<PublicKey> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|err| Error::invalid("public key", err))?;
        let arr: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| Error::invalid("public key", "expected 32 bytes"))?;
        let key =
            VerifyingKey::from_bytes(&arr).map_err(|err| Error::invalid("public key", err))?;
        Ok(PublicKey { key })
    }

    /// Base64 of the 32 raw key bytes.
    pub fn to_base64(&self) -> String {
        B64.encode(self.key.as_bytes())
    }

    /// The key's fingerprint: hex SHA-256 of the raw key bytes.
    pub fn fingerprint(&self) -> String {
        hex::encode(Sha256::digest(self.key.as_bytes()))
    }

    /// Checks a signed tree head: the key id must be this key's and the signature valid.
    ///
    /// Fails with [`Error::BadSignature`] otherwise.
    pub fn verify_head(&self, sth: &SignedTreeHead) -> Result<()> {
        let what = || format!("tree head of size {}", sth.head.size);
        if sth.key_id != self.fingerprint() {
            return Err(Error::BadSignature {
                what: format!(
                    "{} (signed by key {}, not {})",
                    what(),
                    sth.key_id,
                    self.fingerprint()
                ),
            });
        }
        self.verify_bytes(&head_bytes(&sth.head), &sth.signature)
            .map_err(|_| Error::BadSignature { what: what() })
    }

    /// Checks a base64 signature over `bytes` (strict Ed25519 verification).
    pub(crate) fn verify_bytes(&self, bytes: &[u8], signature: &str) -> Result<()> {
        let bad = || Error::BadSignature {
            what: "bytes".to_owned(),
        };
        let raw = B64.decode(signature.trim()).map_err(|_| bad())?;
        let arr: [u8; 64] = raw.as_slice().try_into().map_err(|_| bad())?;
        self.key
            .verify_strict(bytes, &Signature::from_bytes(&arr))
            .map_err(|_| bad())
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.to_base64())
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PublicKey, D::Error> {
        let text = String::deserialize(deserializer)?;
        PublicKey::from_base64(&text).map_err(serde::de::Error::custom)
    }
}

/// The bytes a tree head signature covers.
pub(crate) fn head_bytes(head: &TreeHead) -> Vec<u8> {
    let mut out = Vec::with_capacity(STH_DOMAIN.len() + 48);
    out.extend_from_slice(STH_DOMAIN);
    out.extend_from_slice(&head.size.to_be_bytes());
    out.extend_from_slice(&head.timestamp_ms.to_be_bytes());
    out.extend_from_slice(&head.root.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    fn head() -> TreeHead {
        TreeHead {
            size: 3,
            root: leaf_hash(b"r"),
            timestamp_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn sign_verify_and_pem_round_trip() {
        let key = NodeKey::from_seed([7; 32]);
        let sth = key.sign_head(head());
        key.public().verify_head(&sth).unwrap();

        let again = NodeKey::from_pem(&key.to_pem().unwrap()).unwrap();
        assert_eq!(again.public(), key.public());
        let public = PublicKey::from_pem(&key.public().to_pem().unwrap()).unwrap();
        public.verify_head(&sth).unwrap();
        assert_eq!(PublicKey::from_base64(&public.to_base64()).unwrap(), public);
    }

    #[test]
    fn tampered_heads_and_wrong_keys_are_rejected() {
        let key = NodeKey::from_seed([7; 32]);
        let other = NodeKey::from_seed([8; 32]);
        let sth = key.sign_head(head());
        let check = |sth: &SignedTreeHead| key.public().verify_head(sth).is_err();

        let mut bad = sth.clone();
        bad.head.size += 1;
        assert!(check(&bad));
        let mut bad = sth.clone();
        bad.head.timestamp_ms += 1;
        assert!(check(&bad));
        let mut bad = sth.clone();
        bad.head.root.0[0] ^= 1;
        assert!(check(&bad));
        assert!(other.public().verify_head(&sth).is_err());
        let mut forged = other.sign_head(head());
        forged.key_id = key.public().fingerprint();
        assert!(check(&forged));
        assert!(NodeKey::from_pem("not a key").is_err());
    }
}
