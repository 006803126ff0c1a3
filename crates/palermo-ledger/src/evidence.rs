//! Content-addressed evidence: streamed SHA-256 + BLAKE3 digests, custody
//! events, and the rules an item's chain of custody must follow.

use std::io::Read;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// Read buffer size for hashing: large enough for BLAKE3's SIMD paths, small
/// enough that a 10 GB file hashes in constant memory.
const CHUNK: usize = 1 << 20;

/// The digests of an evidence item's bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digests {
    /// Number of bytes.
    pub size: u64,
    /// SHA-256, hex.
    pub sha256: String,
    /// BLAKE3, hex.
    pub blake3: String,
}

/// One event in an item's chain of custody.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CustodyEvent {
    /// The item entered the node's evidence vault.
    Intake {
        /// The original file name.
        file_name: String,
        /// The item's digests.
        digests: Digests,
        /// What the item is.
        description: String,
        /// Handling markings (TLP, purpose...).
        markings: Vec<String>,
        /// Where it was seized, if known.
        seized_at: Option<String>,
        /// When it was seized (ISO 8601), if known.
        seized_on: Option<String>,
        /// Who seized it, if known.
        seized_by: Option<String>,
    },
    /// The item was seized (when seizure is recorded separately from intake).
    Seized {
        /// Where.
        place: String,
        /// When (ISO 8601).
        on: String,
        /// By whom.
        by: String,
    },
    /// A forensic image was made.
    Imaged {
        /// The imaging tool.
        tool: String,
        /// Its version.
        version: String,
        /// SHA-256 of the image, hex.
        image_sha256: String,
    },
    /// The item changed hands.
    Transferred {
        /// From (node or person).
        from: String,
        /// To (node or person).
        to: String,
        /// Free note (courier, seal number...).
        note: Option<String>,
    },
    /// The item was analysed.
    Analysed {
        /// The analysis tool.
        tool: String,
        /// Its version.
        version: String,
        /// SHA-256 of the result, hex.
        result_sha256: String,
    },
    /// The item was disclosed.
    Disclosed {
        /// To whom.
        to: String,
        /// Under which legal basis.
        legal_basis: String,
    },
    /// The item was returned to its owner.
    Returned {
        /// To whom.
        to: String,
    },
    /// The item was destroyed.
    Destroyed {
        /// How.
        method: String,
    },
}

/// Hashes a stream with SHA-256 and BLAKE3 in one pass and constant memory.
///
/// `what` names the stream in errors.
pub fn digest_reader(mut reader: impl Read, what: &str) -> Result<Digests> {
    let mut sha = Sha256::new();
    let mut b3 = blake3::Hasher::new();
    let mut buf = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(Error::Read {
                    what: what.to_owned(),
                    source,
                });
            }
        };
        sha.update(&buf[..n]);
        b3.update(&buf[..n]);
        size += n as u64;
    }
    Ok(Digests {
        size,
        sha256: hex::encode(sha.finalize()),
        blake3: b3.finalize().to_hex().to_string(),
    })
}

/// The id of an item: `ev-` and 16 hex digits of SHA-256 over the case and the
/// item's BLAKE3 digest, so that the same bytes get one id per case.
pub fn item_id(case: &str, digests: &Digests) -> String {
    let mut sha = Sha256::new();
    sha.update(case.as_bytes());
    sha.update([0]);
    sha.update(digests.blake3.as_bytes());
    format!("ev-{}", &hex::encode(sha.finalize())[..16])
}

/// Checks that a chain of custody is well formed: it starts with an intake and
/// nothing happens after destruction.
///
/// Returns the problems found (empty when the chain is sound).
pub fn chain_problems<'a>(events: impl IntoIterator<Item = &'a CustodyEvent>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut destroyed = false;
    for (idx, event) in events.into_iter().enumerate() {
        if idx == 0 && !matches!(event, CustodyEvent::Intake { .. }) {
            problems.push("the chain does not start with an intake".to_owned());
        }
        if idx > 0 && matches!(event, CustodyEvent::Intake { .. }) {
            problems.push(format!("event {} is a second intake", idx + 1));
        }
        if destroyed {
            problems.push(format!(
                "event {} comes after the item was destroyed",
                idx + 1
            ));
        }
        destroyed |= matches!(event, CustodyEvent::Destroyed { .. });
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(data: &[u8], sha256: &str, blake3: &str) {
        let got = digest_reader(data, "test").unwrap();
        assert_eq!(
            got,
            Digests {
                size: data.len() as u64,
                sha256: sha256.to_owned(),
                blake3: blake3.to_owned()
            }
        );
    }

    #[test]
    fn digests_match_published_values() {
        check(
            b"",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
        );
        check(
            b"abc",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85",
        );
    }

    #[test]
    fn large_input_is_streamed() {
        let data = vec![7u8; 3 * CHUNK + 5];
        let got = digest_reader(data.as_slice(), "big").unwrap();
        assert_eq!(got.size, data.len() as u64);
        assert_eq!(got.blake3, blake3::hash(&data).to_hex().to_string());
    }

    fn intake() -> CustodyEvent {
        CustodyEvent::Intake {
            file_name: "phone.img".into(),
            digests: digest_reader(&b"x"[..], "x").unwrap(),
            description: "phone".into(),
            markings: vec![],
            seized_at: None,
            seized_on: None,
            seized_by: None,
        }
    }

    #[test]
    fn chain_rules() {
        let destroyed = CustodyEvent::Destroyed {
            method: "shredded".into(),
        };
        let returned = CustodyEvent::Returned { to: "owner".into() };
        assert!(chain_problems(&[intake(), destroyed.clone()]).is_empty());
        assert_eq!(chain_problems(std::slice::from_ref(&destroyed)).len(), 1);
        assert_eq!(chain_problems(&[intake(), destroyed, returned]).len(), 1);
        assert_eq!(chain_problems(&[intake(), intake()]).len(), 1);
    }
}
