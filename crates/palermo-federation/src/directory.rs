//! The signed federation directory: who is in the federation, where they are,
//! their keys and certificates, and who was revoked.
//!
//! The trust anchor signs the directory with its Ed25519 directory key over
//! `"palermo-directory-v1\n" ‖ canonical JSON of the directory` (the canonical JSON
//! of [`crate::envelope`]; times are RFC 3339 as serialised). Nodes cache it
//! (`NODE_DIR/directory.json`) and refresh it; [`SignedDirectory::verify`] refuses a
//! bad signature and a directory outside its validity window, and
//! [`Directory::admit`] refuses unknown, revoked and expired members.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::VerifyingKey;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::envelope::{Rejection, decode_signature, to_canonical_json};
use crate::error::{Error, Result};

/// Domain-separation prefix of the signed bytes of a directory.
pub const DIRECTORY_DOMAIN: &[u8] = b"palermo-directory-v1\n";

/// How far in the future a directory's `issued_at` may be (clock differences).
pub const ISSUE_SKEW: time::Duration = time::Duration::minutes(5);

/// One node of the federation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The node id, `<cc>-<agency-slug>`.
    pub node_id: String,
    /// ISO 3166-1 alpha-2 code of the node's state.
    pub jurisdiction: String,
    /// The agency running the node.
    pub agency: String,
    /// Where peers reach the node: `https://HOST:PORT`.
    pub endpoint: String,
    /// Base64 Ed25519 public key that signs the node's envelopes.
    pub signing_key: String,
    /// The node's TLS certificate (PEM), issued by the trust anchor.
    pub cert_pem: String,
    /// Start of the membership (and certificate) validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of the membership (and certificate) validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// When the anchor revoked the member, if it did.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub revoked_at: Option<OffsetDateTime>,
}

impl Member {
    /// The member's Ed25519 public key, if it decodes.
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        crate::envelope::decode_verifying_key(&self.signing_key)
    }

    /// The DER bytes of the member's certificate, if its PEM parses.
    pub fn cert_der(&self) -> Option<CertificateDer<'static>> {
        CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).ok()
    }

    /// Is the member revoked at `now`?
    pub fn is_revoked(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_some_and(|at| at <= now)
    }

    /// Is `now` within the member's validity?
    pub fn is_current(&self, now: OffsetDateTime) -> bool {
        self.not_before <= now && now < self.not_after
    }

    /// `"active"`, `"revoked"`, `"expired"` or `"not-yet-valid"` at `now`.
    pub fn status(&self, now: OffsetDateTime) -> &'static str {
        if self.is_revoked(now) {
            "revoked"
        } else if now < self.not_before {
            "not-yet-valid"
        } else if now >= self.not_after {
            "expired"
        } else {
            "active"
        }
    }
}

/// The federation's member list at one point, as signed by the anchor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    /// The federation's name.
    pub federation: String,
    /// Increases with every directory the anchor publishes.
    pub serial: u64,
    /// When the anchor issued it.
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// Nodes must refresh it before this time.
    #[serde(with = "time::serde::rfc3339")]
    pub valid_until: OffsetDateTime,
    /// Every member ever enrolled, revoked ones included.
    pub members: Vec<Member>,
}

impl Directory {
    /// The member `node_id` if it may talk to this node at `now`.
    pub fn admit(
        &self,
        node_id: &str,
        now: OffsetDateTime,
    ) -> std::result::Result<&Member, Rejection> {
        let member = self
            .member(node_id)
            .ok_or_else(|| Rejection::UnknownSender(node_id.to_owned()))?;
        if member.is_revoked(now) {
            return Err(Rejection::Revoked(node_id.to_owned()));
        }
        if !member.is_current(now) {
            return Err(Rejection::Expired(node_id.to_owned()));
        }
        Ok(member)
    }

    /// The member `node_id`, whatever its status.
    pub fn member(&self, node_id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.node_id == node_id)
    }

    /// The member whose certificate is `cert_der` (the DER a TLS peer presented).
    pub fn member_by_cert(&self, cert_der: &[u8]) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| m.cert_der().is_some_and(|der| der.as_ref() == cert_der))
    }

    /// The signed bytes: `DIRECTORY_DOMAIN ‖ canonical JSON`.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>> {
        let value = serde_json::to_value(self).map_err(|err| Error::format("directory", err))?;
        let mut out = DIRECTORY_DOMAIN.to_vec();
        out.extend_from_slice(&to_canonical_json(&value));
        Ok(out)
    }
}

/// A directory with the anchor's signature (base64 Ed25519).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedDirectory {
    /// The directory.
    pub directory: Directory,
    /// Base64 Ed25519 signature over [`Directory::canonical_bytes`].
    pub signature: String,
}

impl SignedDirectory {
    /// Checks the signature with the anchor's key (`verify_strict`) and that `now`
    /// lies within the directory's validity, and returns the directory.
    pub fn verify(&self, anchor: &VerifyingKey, now: OffsetDateTime) -> Result<&Directory> {
        let signature = decode_signature(&self.signature).ok_or(Error::BadDirectorySignature)?;
        anchor
            .verify_strict(&self.directory.canonical_bytes()?, &signature)
            .map_err(|_| Error::BadDirectorySignature)?;
        let d = &self.directory;
        if now + ISSUE_SKEW < d.issued_at || now >= d.valid_until {
            return Err(Error::DirectoryExpired {
                serial: d.serial,
                issued_at: d.issued_at,
                valid_until: d.valid_until,
                now,
            });
        }
        Ok(d)
    }

    /// Verifies `self` as a replacement for the directory a node holds: the checks
    /// of [`SignedDirectory::verify`], the same federation, and a serial not lower
    /// than the current one (an older directory could resurrect revoked members).
    pub fn verify_refresh(
        &self,
        current: &Directory,
        anchor: &VerifyingKey,
        now: OffsetDateTime,
    ) -> Result<&Directory> {
        let d = self.verify(anchor, now)?;
        if d.federation != current.federation {
            return Err(Error::invalid(
                "directory federation",
                format!(
                    "{:?}, but this node is in {:?}",
                    d.federation, current.federation
                ),
            ));
        }
        if d.serial < current.serial {
            return Err(Error::invalid(
                "directory serial",
                format!(
                    "{} is older than the installed serial {}",
                    d.serial, current.serial
                ),
            ));
        }
        Ok(d)
    }

    /// Parses the JSON form; `what` names the source in errors.
    pub fn from_json(bytes: &[u8], what: &str) -> Result<SignedDirectory> {
        serde_json::from_slice(bytes).map_err(|err| Error::format(what, err))
    }

    /// The JSON form (pretty-printed; the signature does not depend on layout).
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let mut out =
            serde_json::to_vec_pretty(self).map_err(|err| Error::format("directory", err))?;
        out.push(b'\n');
        Ok(out)
    }

    /// Reads a signed directory file (not verified: call [`SignedDirectory::verify`]).
    pub fn load(path: &Path) -> Result<SignedDirectory> {
        let bytes = std::fs::read(path).map_err(|err| Error::io(path, err))?;
        SignedDirectory::from_json(&bytes, &path.display().to_string())
    }

    /// Writes the signed directory file (atomically).
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::pki::write_public(path, &self.to_json()?)
    }
}

/// Encodes an Ed25519 public key as base64.
pub fn encode_key(key: &VerifyingKey) -> String {
    B64.encode(key.as_bytes())
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;
    use crate::testutil::{Fed, fixed_now};

    #[test]
    fn signed_directory_verifies_and_survives_json() {
        let mut fed = Fed::new("test", fixed_now());
        let signed = fed.signed();
        let key = fed.anchor.directory_key();
        let dir = signed.verify(&key, fed.now).unwrap();
        assert_eq!(dir.serial, 1);
        assert_eq!(dir.members.len(), 3);
        let again = SignedDirectory::from_json(&signed.to_json().unwrap(), "test").unwrap();
        assert_eq!(again, signed);
        assert!(again.verify(&key, fed.now).is_ok());
        // The next one has the next serial.
        assert_eq!(fed.signed().directory.serial, 2);
    }

    #[test]
    fn tampered_directory_is_refused() {
        let mut fed = Fed::new("test", fixed_now());
        let signed = fed.signed();
        let key = fed.anchor.directory_key();
        let mut tampered = signed.clone();
        tampered.directory.members[0].endpoint = "https://203.0.113.66:443".to_owned();
        assert!(matches!(
            tampered.verify(&key, fed.now),
            Err(Error::BadDirectorySignature)
        ));
        let mut unrevoked = signed.clone();
        unrevoked.directory.valid_until += Duration::days(365);
        assert!(matches!(
            unrevoked.verify(&key, fed.now),
            Err(Error::BadDirectorySignature)
        ));
        let mut garbage = signed.clone();
        garbage.signature = "AAAA".to_owned();
        assert!(matches!(
            garbage.verify(&key, fed.now),
            Err(Error::BadDirectorySignature)
        ));
        // Another anchor's key does not verify it.
        let other = crate::TrustAnchor::create("other", fed.now, 1).unwrap();
        assert!(matches!(
            signed.verify(&other.directory_key(), fed.now),
            Err(Error::BadDirectorySignature)
        ));
    }

    #[test]
    fn expired_directory_is_refused() {
        let mut fed = Fed::new("test", fixed_now());
        let signed = fed.signed();
        let key = fed.anchor.directory_key();
        let d = &signed.directory;
        assert!(
            signed
                .verify(&key, d.valid_until - Duration::seconds(1))
                .is_ok()
        );
        assert!(matches!(
            signed.verify(&key, d.valid_until),
            Err(Error::DirectoryExpired { serial: 1, .. })
        ));
        // Issued "in the future" beyond the allowed clock difference.
        assert!(signed.verify(&key, d.issued_at - ISSUE_SKEW).is_ok());
        assert!(matches!(
            signed.verify(&key, d.issued_at - ISSUE_SKEW - Duration::seconds(1)),
            Err(Error::DirectoryExpired { .. })
        ));
    }

    #[test]
    fn refresh_refuses_older_serials_and_other_federations() {
        let mut fed = Fed::new("test", fixed_now());
        let key = fed.anchor.directory_key();
        let first = fed.signed();
        let second = fed.signed();
        assert!(
            second
                .verify_refresh(&first.directory, &key, fed.now)
                .is_ok()
        );
        assert!(
            second
                .verify_refresh(&second.directory, &key, fed.now)
                .is_ok()
        );
        let err = first
            .verify_refresh(&second.directory, &key, fed.now)
            .unwrap_err();
        assert!(err.to_string().contains("older"), "{err}");
        let mut other = second.directory.clone();
        other.federation = "other".to_owned();
        assert!(second.verify_refresh(&other, &key, fed.now).is_err());
    }

    #[test]
    fn admit_and_member_by_cert() {
        let mut fed = Fed::new("test", fixed_now());
        fed.anchor.revoke("de-bka", fed.now).unwrap();
        let dir = fed.directory();
        assert_eq!(dir.admit("nl-knp", fed.now).unwrap().node_id, "nl-knp");
        assert_eq!(
            dir.admit("de-bka", fed.now),
            Err(Rejection::Revoked("de-bka".to_owned()))
        );
        // Revocation takes effect at its time.
        assert!(dir.admit("de-bka", fed.now - Duration::seconds(1)).is_ok());
        assert_eq!(
            dir.admit("nl-nobody", fed.now),
            Err(Rejection::UnknownSender("nl-nobody".to_owned()))
        );
        assert_eq!(dir.member("de-bka").unwrap().status(fed.now), "revoked");
        assert_eq!(dir.member("nl-knp").unwrap().status(fed.now), "active");
        assert_eq!(
            dir.member("nl-knp")
                .unwrap()
                .status(fed.now + Duration::days(60)),
            "expired"
        );
        for node in &fed.nodes {
            let der = crate::tls::cert_der_from_pem(node.cert_pem().unwrap(), "test").unwrap();
            assert_eq!(dir.member_by_cert(&der).unwrap().node_id, node.node_id);
        }
        let other = Fed::new("other", fixed_now());
        let foreign =
            crate::tls::cert_der_from_pem(other.nodes[0].cert_pem().unwrap(), "test").unwrap();
        assert!(dir.member_by_cert(&foreign).is_none());
        assert!(dir.member_by_cert(b"not a certificate").is_none());
    }

    #[test]
    fn save_and_load_round_trip() {
        let mut fed = Fed::new("test", fixed_now());
        let signed = fed.signed();
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("directory.json");
        signed.save(&path).unwrap();
        let loaded = SignedDirectory::load(&path).unwrap();
        assert!(loaded.verify(&fed.anchor.directory_key(), fed.now).is_ok());
        std::fs::write(&path, b"{\"directory\": 1}").unwrap();
        let err = SignedDirectory::load(&path).unwrap_err();
        assert!(err.to_string().contains("directory.json"), "{err}");
        assert!(err.is_bad_input());
    }
}
