//! Identities: the federation's trust anchor and each node's keys and certificate.
//!
//! The **trust anchor** holds two keys: an Ed25519 key that signs the federation
//! directory, and an ECDSA P-256 CA key with a self-signed CA certificate
//! (path length 0) that issues the nodes' TLS certificates. A **node** holds an
//! Ed25519 key that signs its envelopes and an ECDSA P-256 TLS key. Enrolment:
//! the node writes an [`EnrollmentRequest`] (its public keys, a PKCS#10 CSR for its
//! TLS key, and an Ed25519 proof of possession of its signing key); the anchor
//! checks both proofs and issues a certificate for the endpoint's host and for
//! `<node-id>.palermo.node`, valid for TLS server and client authentication; the
//! node installs it with the anchor's CA certificate and directory key.
//!
//! A node id is `<cc>-<agency-slug>`: the lowercase ISO 3166-1 code and the agency
//! name in lowercase ASCII letters and digits joined by `-` (`nl-knp`), at most 63
//! characters (one DNS label). Files: see [`TrustAnchor::save`] and
//! [`NodeIdentity::save`]; private keys are PKCS#8 PEM with mode 0600 and are never
//! overwritten by a different key.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use crate::directory::{Directory, Member, SignedDirectory, encode_key};
use crate::envelope::{decode_signature, decode_verifying_key, to_canonical_json};
use crate::error::{Error, Result};

/// Domain-separation prefix of the enrolment request's proof of possession.
pub const ENROLL_DOMAIN: &[u8] = b"palermo-enroll-v1\n";

/// The DNS suffix of the name every node certificate carries: `<node-id>.palermo.node`.
pub const NODE_NAME_SUFFIX: &str = ".palermo.node";

/// Longest validity accepted for anchors, certificates and directories (100 years).
pub const MAX_VALIDITY_DAYS: u32 = 36_500;

// File names.
const ANCHOR_JSON: &str = "anchor.json";
const CA_CERT: &str = "ca.crt.pem";
const CA_KEY: &str = "ca.key.pem";
const DIRECTORY_KEY: &str = "directory.key.pem";
const NODE_JSON: &str = "node.json";
const SIGNING_KEY: &str = "signing.key.pem";
const TLS_KEY: &str = "tls.key.pem";
const TLS_CSR: &str = "tls.csr.pem";
const NODE_CERT: &str = "node.crt.pem";
/// The enrolment request file a node writes (and the anchor reads).
pub const ENROLL_REQUEST: &str = "enroll-request.json";
/// Where a node keeps its cached signed directory.
pub const DIRECTORY_FILE: &str = "directory.json";

/// The TLS server name of a node: `<node-id>.palermo.node`.
pub fn node_server_name(node_id: &str) -> String {
    format!("{node_id}{NODE_NAME_SUFFIX}")
}

/// Normalises an ISO 3166-1 alpha-2 code (`nl` → `NL`) and checks it is known.
pub fn normalize_jurisdiction(code: &str) -> Result<String> {
    let upper = code.trim().to_ascii_uppercase();
    if upper.len() == 2 && palermo_model::is_country(&upper) {
        Ok(upper)
    } else {
        Err(Error::invalid(
            "jurisdiction",
            format!("{code:?} is not an ISO 3166-1 alpha-2 country code"),
        ))
    }
}

/// The node id of `agency` in `jurisdiction`: `<cc>-<agency-slug>`.
pub fn node_id_for(jurisdiction: &str, agency: &str) -> Result<String> {
    let cc = normalize_jurisdiction(jurisdiction)?.to_ascii_lowercase();
    let mut slug = String::new();
    for c in agency.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.is_empty() {
        return Err(Error::invalid(
            "agency",
            format!("{agency:?} has no ASCII letters or digits to make a node id from"),
        ));
    }
    let id = format!("{cc}-{slug}");
    validate_node_id(&id)?;
    Ok(id)
}

/// Checks the shape of a node id (`<cc>-<slug>`, lowercase, one DNS label).
pub fn validate_node_id(id: &str) -> Result<()> {
    let ok = id.len() <= 63
        && id.len() >= 4
        && id.as_bytes()[..2].iter().all(u8::is_ascii_lowercase)
        && id.as_bytes()[2] == b'-'
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.ends_with('-')
        && !id.contains("--");
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "node id",
            format!(
                "{id:?} is not `<cc>-<agency>` in lowercase letters, digits and single dashes, \
                 at most 63 characters"
            ),
        ))
    }
}

/// Splits `https://HOST:PORT` into the (lowercased) host and the port.
pub fn parse_endpoint(endpoint: &str) -> Result<(String, u16)> {
    let bad = |problem: &str| Error::invalid("endpoint", format!("{endpoint:?}: {problem}"));
    let rest = endpoint
        .strip_prefix("https://")
        .ok_or_else(|| bad("must start with https://"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#', '@', ' ']) {
        return Err(bad("must be https://HOST:PORT with no path, query or user"));
    }
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (addr, port) = v6
            .split_once("]:")
            .ok_or_else(|| bad("an IPv6 address needs the form [ADDR]:PORT"))?;
        addr.parse::<Ipv6Addr>()
            .map_err(|_| bad("not an IPv6 address between the brackets"))?;
        (addr.to_ascii_lowercase(), port)
    } else {
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| bad("needs a port (https://HOST:PORT)"))?;
        let host = host.to_ascii_lowercase();
        if host.parse::<IpAddr>().is_err() && !is_dns_name(&host) {
            return Err(bad("the host is neither an IP address nor a DNS name"));
        }
        (host, port)
    };
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| bad("the port must be a number from 1 to 65535"))?;
    Ok((host, port))
}

fn is_dns_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        && !host
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
}

fn check_validity_days(days: u32) -> Result<()> {
    if (1..=MAX_VALIDITY_DAYS).contains(&days) {
        Ok(())
    } else {
        Err(Error::invalid(
            "validity",
            format!("{days} days; must be from 1 to {MAX_VALIDITY_DAYS}"),
        ))
    }
}

/// `t` in UTC, truncated to whole seconds (certificates carry seconds).
pub(crate) fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(0).unwrap_or(t)
}

fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    // Positive and non-zero in DER.
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    SerialNumber::from(bytes.to_vec())
}

fn rcgen_err(what: &str) -> impl Fn(rcgen::Error) -> Error + '_ {
    move |err| Error::crypto(format!("{what}: {err}"))
}

fn generate_signing_key() -> SigningKey {
    let mut seed = [0u8; 32];
    rand::fill(&mut seed);
    SigningKey::from_bytes(&seed)
}

fn signing_key_pem(key: &SigningKey) -> Result<String> {
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|err| Error::crypto(format!("encoding a private key: {err}")))?;
    Ok(pem.to_string())
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|err| Error::io(path, err))
}

fn read_signing_key(path: &Path) -> Result<SigningKey> {
    let pem = read_text(path)?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|err| {
        Error::format(
            path.display().to_string(),
            format!("not an Ed25519 PKCS#8 key: {err}"),
        )
    })
}

fn read_key_pair(path: &Path) -> Result<KeyPair> {
    let pem = read_text(path)?;
    KeyPair::from_pem(&pem).map_err(|err| {
        Error::format(
            path.display().to_string(),
            format!("not a PKCS#8 key: {err}"),
        )
    })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|err| Error::io(path, err))?;
    serde_json::from_slice(&bytes).map_err(|err| Error::format(path.display().to_string(), err))
}

fn to_json_pretty<T: Serialize>(value: &T, what: &str) -> Result<Vec<u8>> {
    let mut out = serde_json::to_vec_pretty(value).map_err(|err| Error::format(what, err))?;
    out.push(b'\n');
    Ok(out)
}

/// Writes a public file atomically (a temporary file renamed over the target).
pub(crate) fn write_public(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    std::fs::write(&tmp, bytes).map_err(|err| Error::io(&tmp, err))?;
    std::fs::rename(&tmp, path).map_err(|err| Error::io(path, err))
}

/// Writes a private key file with mode 0600. An existing file with the same
/// content is left alone; one with different content is never overwritten.
pub(crate) fn write_secret(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    match std::fs::read(path) {
        Ok(existing) if existing == bytes => return Ok(()),
        Ok(_) => {
            return Err(Error::Exists {
                path: path.to_path_buf(),
            });
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(Error::io(path, err)),
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|err| Error::io(path, err))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|err| Error::io(path, err))
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|err| Error::io(dir, err))
}

// ---------------------------------------------------------------------------
// Trust anchor

/// The federation's trust anchor: directory signing key, CA key and certificate,
/// and the member list it publishes.
pub struct TrustAnchor {
    federation: String,
    created_at: OffsetDateTime,
    directory_key: SigningKey,
    ca_key: KeyPair,
    ca_cert_pem: String,
    ca_not_after: OffsetDateTime,
    serial: u64,
    members: Vec<Member>,
}

impl fmt::Debug for TrustAnchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustAnchor")
            .field("federation", &self.federation)
            .field(
                "directory_key",
                &encode_key(&self.directory_key.verifying_key()),
            )
            .field("serial", &self.serial)
            .field("members", &self.members.len())
            .finish_non_exhaustive()
    }
}

/// `ANCHOR_DIR/anchor.json`: the anchor's public state.
#[derive(Serialize, Deserialize)]
struct AnchorFile {
    federation: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    ca_not_after: OffsetDateTime,
    directory_key: String,
    serial: u64,
    members: Vec<Member>,
}

fn ca_params(
    federation: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::OrganizationName,
        format!("Palermo federation {federation}"),
    );
    dn.push(DnType::CommonName, format!("{federation} trust anchor"));
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(random_serial());
    params
}

impl TrustAnchor {
    /// Creates a new anchor for `federation`, its CA valid for `validity_days` from `now`.
    pub fn create(
        federation: &str,
        now: OffsetDateTime,
        validity_days: u32,
    ) -> Result<TrustAnchor> {
        let name = federation.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(Error::invalid(
                "federation name",
                format!("{federation:?}: must be 1 to 64 printable characters"),
            ));
        }
        check_validity_days(validity_days)?;
        let not_before = whole_seconds(now);
        let not_after = not_before + time::Duration::days(i64::from(validity_days));
        let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(rcgen_err("generating the CA key"))?;
        let cert = ca_params(name, not_before, not_after)
            .self_signed(&ca_key)
            .map_err(rcgen_err("self-signing the CA certificate"))?;
        Ok(TrustAnchor {
            federation: name.to_owned(),
            created_at: not_before,
            directory_key: generate_signing_key(),
            ca_key,
            ca_cert_pem: cert.pem(),
            ca_not_after: not_after,
            serial: 0,
            members: Vec::new(),
        })
    }

    /// Writes the anchor to `dir`: `anchor.json` (name, serial, members),
    /// `ca.crt.pem`, and the private keys `ca.key.pem` and `directory.key.pem` (0600).
    pub fn save(&self, dir: &Path) -> Result<()> {
        create_dir(dir)?;
        write_secret(&dir.join(CA_KEY), self.ca_key.serialize_pem().as_bytes())?;
        write_secret(
            &dir.join(DIRECTORY_KEY),
            signing_key_pem(&self.directory_key)?.as_bytes(),
        )?;
        write_public(&dir.join(CA_CERT), self.ca_cert_pem.as_bytes())?;
        let file = AnchorFile {
            federation: self.federation.clone(),
            created_at: self.created_at,
            ca_not_after: self.ca_not_after,
            directory_key: encode_key(&self.directory_key.verifying_key()),
            serial: self.serial,
            members: self.members.clone(),
        };
        write_public(&dir.join(ANCHOR_JSON), &to_json_pretty(&file, ANCHOR_JSON)?)
    }

    /// Reads an anchor written by [`TrustAnchor::save`].
    pub fn load(dir: &Path) -> Result<TrustAnchor> {
        let file: AnchorFile = read_json(&dir.join(ANCHOR_JSON))?;
        let directory_key = read_signing_key(&dir.join(DIRECTORY_KEY))?;
        if encode_key(&directory_key.verifying_key()) != file.directory_key {
            return Err(Error::format(
                dir.join(DIRECTORY_KEY).display().to_string(),
                format!("does not match the directory key in {ANCHOR_JSON}"),
            ));
        }
        let ca_key = read_key_pair(&dir.join(CA_KEY))?;
        let ca_cert_pem = read_text(&dir.join(CA_CERT))?;
        // Parsing the certificate with the key proves they belong together enough to sign.
        Issuer::from_ca_cert_pem(&ca_cert_pem, &ca_key)
            .map_err(|err| Error::format(dir.join(CA_CERT).display().to_string(), err))?;
        Ok(TrustAnchor {
            federation: file.federation,
            created_at: file.created_at,
            directory_key,
            ca_key,
            ca_cert_pem,
            ca_not_after: file.ca_not_after,
            serial: file.serial,
            members: file.members,
        })
    }

    /// The federation's name.
    pub fn federation(&self) -> &str {
        &self.federation
    }

    /// The CA certificate (PEM) every node trusts.
    pub fn ca_cert_pem(&self) -> &str {
        &self.ca_cert_pem
    }

    /// End of the CA certificate's validity.
    pub fn ca_not_after(&self) -> OffsetDateTime {
        self.ca_not_after
    }

    /// The public key that verifies the directory.
    pub fn directory_key(&self) -> VerifyingKey {
        self.directory_key.verifying_key()
    }

    /// The serial of the last directory published.
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// Every member enrolled so far, revoked ones included.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// Checks an enrolment request and issues the node's TLS certificate (CA-signed,
    /// for the endpoint host and `<node-id>.palermo.node`, server and client
    /// authentication), valid for `validity_days` from `now` but not beyond the CA.
    /// Does not record the member: see [`TrustAnchor::record`].
    pub fn enroll(
        &self,
        req: &EnrollmentRequest,
        now: OffsetDateTime,
        validity_days: u32,
    ) -> Result<Enrollment> {
        check_validity_days(validity_days)?;
        req.check()?;
        let (host, _port) = parse_endpoint(&req.endpoint)?;
        let csr = CertificateSigningRequestParams::from_pem(&req.tls_csr_pem).map_err(|err| {
            Error::invalid(
                "enrolment request tls_csr_pem",
                format!("not a valid, self-signed CSR: {err}"),
            )
        })?;
        let not_before = whole_seconds(now);
        let not_after =
            (not_before + time::Duration::days(i64::from(validity_days))).min(self.ca_not_after);
        if not_after <= not_before {
            return Err(Error::invalid(
                "trust anchor",
                format!("the CA certificate expired at {}", self.ca_not_after),
            ));
        }
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, req.jurisdiction.clone());
        dn.push(DnType::OrganizationName, req.agency.clone());
        dn.push(DnType::CommonName, req.node_id.clone());
        params.distinguished_name = dn;
        let host_san = match host.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(
                host.clone()
                    .try_into()
                    .map_err(|err| Error::invalid("endpoint host", err))?,
            ),
        };
        let name_san = SanType::DnsName(
            node_server_name(&req.node_id)
                .try_into()
                .map_err(|err| Error::invalid("node id", err))?,
        );
        params.subject_alt_names = vec![host_san, name_san];
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        params.not_before = not_before;
        params.not_after = not_after;
        params.serial_number = Some(random_serial());
        let issuer = Issuer::from_ca_cert_pem(&self.ca_cert_pem, &self.ca_key)
            .map_err(rcgen_err("reading the CA certificate"))?;
        let cert = params
            .signed_by(&csr.public_key, &issuer)
            .map_err(rcgen_err("issuing the node certificate"))?;
        let cert_pem = cert.pem();
        Ok(Enrollment {
            federation: self.federation.clone(),
            member: Member {
                node_id: req.node_id.clone(),
                jurisdiction: req.jurisdiction.clone(),
                agency: req.agency.clone(),
                endpoint: req.endpoint.clone(),
                signing_key: req.signing_key.clone(),
                cert_pem: cert_pem.clone(),
                not_before,
                not_after,
                revoked_at: None,
            },
            cert_pem,
            ca_cert_pem: self.ca_cert_pem.clone(),
            directory_key: encode_key(&self.directory_key.verifying_key()),
        })
    }

    /// Adds (or, on re-enrolment, replaces) a member. A revoked node id stays
    /// revoked: re-enrolling it is refused.
    pub fn record(&mut self, member: Member) -> Result<()> {
        match self
            .members
            .iter_mut()
            .find(|m| m.node_id == member.node_id)
        {
            Some(existing) if existing.revoked_at.is_some() => Err(Error::invalid(
                "node id",
                format!(
                    "{} was revoked and cannot be enrolled again",
                    member.node_id
                ),
            )),
            Some(existing) => {
                *existing = member;
                Ok(())
            }
            None => {
                self.members.push(member);
                self.members.sort_by(|a, b| a.node_id.cmp(&b.node_id));
                Ok(())
            }
        }
    }

    /// Revokes `node_id` as of `now` (an earlier revocation time is kept).
    pub fn revoke(&mut self, node_id: &str, now: OffsetDateTime) -> Result<&Member> {
        let member = self
            .members
            .iter_mut()
            .find(|m| m.node_id == node_id)
            .ok_or_else(|| Error::UnknownMember(node_id.to_owned()))?;
        if member.revoked_at.is_none() {
            member.revoked_at = Some(whole_seconds(now));
        }
        Ok(member)
    }

    /// The next directory (serial + 1) of every member, issued at `now` and valid
    /// for `validity_days`, signed.
    pub fn publish(&mut self, now: OffsetDateTime, validity_days: u32) -> Result<SignedDirectory> {
        check_validity_days(validity_days)?;
        let issued_at = whole_seconds(now);
        let directory = Directory {
            federation: self.federation.clone(),
            serial: self.serial + 1,
            issued_at,
            valid_until: issued_at + time::Duration::days(i64::from(validity_days)),
            members: self.members.clone(),
        };
        let signed = self.sign_directory(directory)?;
        self.serial += 1;
        Ok(signed)
    }

    /// Signs a directory with the anchor's directory key.
    pub fn sign_directory(&self, directory: Directory) -> Result<SignedDirectory> {
        let signature = self.directory_key.sign(&directory.canonical_bytes()?);
        Ok(SignedDirectory {
            directory,
            signature: B64.encode(signature.to_bytes()),
        })
    }
}

// ---------------------------------------------------------------------------
// Enrolment

/// What a node sends the anchor to be enrolled: public parts only, with proofs of
/// possession of both private keys (the CSR's own signature, and `proof`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentRequest {
    /// The node id (`<cc>-<agency-slug>`).
    pub node_id: String,
    /// ISO 3166-1 alpha-2 code.
    pub jurisdiction: String,
    /// The agency's name.
    pub agency: String,
    /// `https://HOST:PORT`.
    pub endpoint: String,
    /// Base64 Ed25519 public key.
    pub signing_key: String,
    /// PKCS#10 CSR (PEM) for the node's TLS key.
    pub tls_csr_pem: String,
    /// Base64 Ed25519 signature by `signing_key` over
    /// `"palermo-enroll-v1\n" ‖ canonical JSON of the other fields`.
    pub proof: String,
}

impl EnrollmentRequest {
    fn proof_bytes(&self) -> Vec<u8> {
        let value = json!({
            "node_id": self.node_id,
            "jurisdiction": self.jurisdiction,
            "agency": self.agency,
            "endpoint": self.endpoint,
            "signing_key": self.signing_key,
            "tls_csr_pem": self.tls_csr_pem,
        });
        let mut out = ENROLL_DOMAIN.to_vec();
        out.extend_from_slice(&to_canonical_json(&value));
        out
    }

    /// Checks the fields and the proof of possession of the signing key.
    pub fn check(&self) -> Result<()> {
        let jurisdiction = normalize_jurisdiction(&self.jurisdiction)?;
        if jurisdiction != self.jurisdiction {
            return Err(Error::invalid(
                "enrolment request jurisdiction",
                format!(
                    "{:?} is not in canonical form {jurisdiction:?}",
                    self.jurisdiction
                ),
            ));
        }
        let expected = node_id_for(&self.jurisdiction, &self.agency)?;
        if expected != self.node_id {
            return Err(Error::invalid(
                "enrolment request node_id",
                format!(
                    "{:?} should be {expected:?} for this jurisdiction and agency",
                    self.node_id
                ),
            ));
        }
        parse_endpoint(&self.endpoint)?;
        let key = decode_verifying_key(&self.signing_key).ok_or_else(|| {
            Error::invalid(
                "enrolment request signing_key",
                "not a base64 Ed25519 public key",
            )
        })?;
        let proof = decode_signature(&self.proof).ok_or_else(|| {
            Error::invalid("enrolment request proof", "not a base64 Ed25519 signature")
        })?;
        key.verify_strict(&self.proof_bytes(), &proof).map_err(|_| {
            Error::invalid(
                "enrolment request proof",
                "does not verify with the request's signing key",
            )
        })
    }

    /// Reads an enrolment request file.
    pub fn load(path: &Path) -> Result<EnrollmentRequest> {
        read_json(path)
    }
}

/// What the anchor returns to an enrolled node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    /// The federation's name.
    pub federation: String,
    /// The node's row in the directory.
    pub member: Member,
    /// The node's TLS certificate (PEM).
    pub cert_pem: String,
    /// The anchor's CA certificate (PEM).
    pub ca_cert_pem: String,
    /// Base64 Ed25519 key that verifies the directory.
    pub directory_key: String,
}

// ---------------------------------------------------------------------------
// Node identity

/// What a node holds after enrolment.
#[derive(Debug, Clone)]
struct Installed {
    federation: String,
    cert_pem: String,
    ca_cert_pem: String,
    directory_key: VerifyingKey,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

/// A node's identity: names, endpoint, Ed25519 signing key, TLS key, and once
/// enrolled its certificate, the anchor's CA certificate and directory key.
pub struct NodeIdentity {
    /// `<cc>-<agency-slug>`.
    pub node_id: String,
    /// ISO 3166-1 alpha-2 code (uppercase).
    pub jurisdiction: String,
    /// The agency's name.
    pub agency: String,
    /// `https://HOST:PORT`.
    pub endpoint: String,
    signing_key: SigningKey,
    tls_key: KeyPair,
    csr_pem: String,
    installed: Option<Installed>,
}

impl fmt::Debug for NodeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeIdentity")
            .field("node_id", &self.node_id)
            .field("endpoint", &self.endpoint)
            .field("signing_key", &encode_key(&self.verifying_key()))
            .field("enrolled", &self.is_enrolled())
            .finish_non_exhaustive()
    }
}

/// `NODE_DIR/node.json`.
#[derive(Serialize, Deserialize)]
struct NodeFile {
    node_id: String,
    jurisdiction: String,
    agency: String,
    endpoint: String,
    signing_key: String,
    #[serde(default)]
    enrollment: Option<EnrollmentFile>,
}

#[derive(Serialize, Deserialize)]
struct EnrollmentFile {
    federation: String,
    directory_key: String,
    #[serde(with = "time::serde::rfc3339")]
    not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    not_after: OffsetDateTime,
}

impl NodeIdentity {
    /// Creates a node identity with fresh keys. The node id is derived from the
    /// jurisdiction and agency ([`node_id_for`]).
    pub fn init(jurisdiction: &str, agency: &str, endpoint: &str) -> Result<NodeIdentity> {
        let jurisdiction = normalize_jurisdiction(jurisdiction)?;
        let agency = agency.trim();
        let node_id = node_id_for(&jurisdiction, agency)?;
        let (host, _port) = parse_endpoint(endpoint)?;
        let tls_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(rcgen_err("generating the TLS key"))?;
        let mut params = CertificateParams::new(vec![host, node_server_name(&node_id)])
            .map_err(|err| Error::invalid("endpoint host", err))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, node_id.clone());
        params.distinguished_name = dn;
        let csr_pem = params
            .serialize_request(&tls_key)
            .and_then(|csr| csr.pem())
            .map_err(rcgen_err("creating the certificate signing request"))?;
        Ok(NodeIdentity {
            node_id,
            jurisdiction,
            agency: agency.to_owned(),
            endpoint: endpoint.strip_suffix('/').unwrap_or(endpoint).to_owned(),
            signing_key: generate_signing_key(),
            tls_key,
            csr_pem,
            installed: None,
        })
    }

    /// Writes the identity to `dir`: `node.json`, `enroll-request.json`,
    /// `tls.csr.pem`, the private keys `signing.key.pem` and `tls.key.pem` (0600,
    /// never overwritten by different keys), and once enrolled `node.crt.pem` and
    /// `ca.crt.pem`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        create_dir(dir)?;
        write_secret(
            &dir.join(SIGNING_KEY),
            signing_key_pem(&self.signing_key)?.as_bytes(),
        )?;
        write_secret(&dir.join(TLS_KEY), self.tls_key.serialize_pem().as_bytes())?;
        write_public(&dir.join(TLS_CSR), self.csr_pem.as_bytes())?;
        write_public(
            &dir.join(ENROLL_REQUEST),
            &to_json_pretty(&self.enrollment_request(), ENROLL_REQUEST)?,
        )?;
        if let Some(installed) = &self.installed {
            write_public(&dir.join(NODE_CERT), installed.cert_pem.as_bytes())?;
            write_public(&dir.join(CA_CERT), installed.ca_cert_pem.as_bytes())?;
        }
        let file = NodeFile {
            node_id: self.node_id.clone(),
            jurisdiction: self.jurisdiction.clone(),
            agency: self.agency.clone(),
            endpoint: self.endpoint.clone(),
            signing_key: encode_key(&self.verifying_key()),
            enrollment: self.installed.as_ref().map(|i| EnrollmentFile {
                federation: i.federation.clone(),
                directory_key: encode_key(&i.directory_key),
                not_before: i.not_before,
                not_after: i.not_after,
            }),
        };
        write_public(&dir.join(NODE_JSON), &to_json_pretty(&file, NODE_JSON)?)
    }

    /// Reads an identity written by [`NodeIdentity::save`].
    pub fn load(dir: &Path) -> Result<NodeIdentity> {
        let node_json = dir.join(NODE_JSON);
        let file: NodeFile = read_json(&node_json)?;
        let what = node_json.display().to_string();
        validate_node_id(&file.node_id).map_err(|err| Error::format(&what, err))?;
        let signing_key = read_signing_key(&dir.join(SIGNING_KEY))?;
        if encode_key(&signing_key.verifying_key()) != file.signing_key {
            return Err(Error::format(
                dir.join(SIGNING_KEY).display().to_string(),
                format!("does not match the signing key in {NODE_JSON}"),
            ));
        }
        let tls_key = read_key_pair(&dir.join(TLS_KEY))?;
        let csr_pem = read_text(&dir.join(TLS_CSR))?;
        let installed = match file.enrollment {
            None => None,
            Some(e) => Some(Installed {
                federation: e.federation,
                cert_pem: read_text(&dir.join(NODE_CERT))?,
                ca_cert_pem: read_text(&dir.join(CA_CERT))?,
                directory_key: decode_verifying_key(&e.directory_key).ok_or_else(|| {
                    Error::format(
                        format!("{what}: enrollment.directory_key"),
                        "not a base64 Ed25519 public key",
                    )
                })?,
                not_before: e.not_before,
                not_after: e.not_after,
            }),
        };
        let node = NodeIdentity {
            node_id: file.node_id,
            jurisdiction: file.jurisdiction,
            agency: file.agency,
            endpoint: file.endpoint,
            signing_key,
            tls_key,
            csr_pem,
            installed,
        };
        if node.installed.is_some() {
            crate::tls::check_node_cert(&node).map_err(|err| Error::format(&what, err))?;
        }
        Ok(node)
    }

    /// The enrolment request for this node (public parts and proofs only).
    pub fn enrollment_request(&self) -> EnrollmentRequest {
        let mut req = EnrollmentRequest {
            node_id: self.node_id.clone(),
            jurisdiction: self.jurisdiction.clone(),
            agency: self.agency.clone(),
            endpoint: self.endpoint.clone(),
            signing_key: encode_key(&self.verifying_key()),
            tls_csr_pem: self.csr_pem.clone(),
            proof: String::new(),
        };
        req.proof = B64.encode(self.signing_key.sign(&req.proof_bytes()).to_bytes());
        req
    }

    /// Installs the anchor's answer: checks it is for this node's keys and that the
    /// certificate chains to the anchor's CA, then keeps the certificate, the CA
    /// certificate and the directory key.
    pub fn install(&mut self, e: &Enrollment) -> Result<()> {
        if e.member.node_id != self.node_id {
            return Err(Error::invalid(
                "enrolment",
                format!(
                    "is for {}, not for this node ({})",
                    e.member.node_id, self.node_id
                ),
            ));
        }
        if e.member.signing_key != encode_key(&self.verifying_key()) {
            return Err(Error::invalid("enrolment", "is for another signing key"));
        }
        if e.member.cert_pem != e.cert_pem {
            return Err(Error::invalid(
                "enrolment",
                "member certificate differs from cert_pem",
            ));
        }
        let directory_key = decode_verifying_key(&e.directory_key).ok_or_else(|| {
            Error::invalid("enrolment directory_key", "not a base64 Ed25519 public key")
        })?;
        let previous = self.installed.replace(Installed {
            federation: e.federation.clone(),
            cert_pem: e.cert_pem.clone(),
            ca_cert_pem: e.ca_cert_pem.clone(),
            directory_key,
            not_before: e.member.not_before,
            not_after: e.member.not_after,
        });
        if let Err(err) = crate::tls::check_node_cert(self) {
            self.installed = previous;
            return Err(err);
        }
        Ok(())
    }

    /// The key that signs this node's envelopes.
    pub fn signing_key(&self) -> &ed25519_dalek::SigningKey {
        &self.signing_key
    }

    /// The public half of [`NodeIdentity::signing_key`].
    pub fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        self.signing_key.verifying_key()
    }

    /// The anchor's directory key, once enrolled.
    pub fn anchor_directory_key(&self) -> Option<ed25519_dalek::VerifyingKey> {
        self.installed.as_ref().map(|i| i.directory_key)
    }

    /// Does the node hold a certificate from a trust anchor?
    pub fn is_enrolled(&self) -> bool {
        self.installed.is_some()
    }

    /// The federation's name, once enrolled.
    pub fn federation(&self) -> Option<&str> {
        self.installed.as_ref().map(|i| i.federation.as_str())
    }

    /// The node's TLS certificate (PEM), once enrolled.
    pub fn cert_pem(&self) -> Option<&str> {
        self.installed.as_ref().map(|i| i.cert_pem.as_str())
    }

    /// The anchor's CA certificate (PEM), once enrolled.
    pub fn ca_cert_pem(&self) -> Option<&str> {
        self.installed.as_ref().map(|i| i.ca_cert_pem.as_str())
    }

    /// The certificate's validity, once enrolled.
    pub fn cert_validity(&self) -> Option<(OffsetDateTime, OffsetDateTime)> {
        self.installed.as_ref().map(|i| (i.not_before, i.not_after))
    }

    /// The TLS private key as PKCS#8 PEM (keep it secret).
    pub fn tls_key_pem(&self) -> String {
        self.tls_key.serialize_pem()
    }

    /// The TLS private key as PKCS#8 DER.
    pub fn tls_key_der(&self) -> Vec<u8> {
        self.tls_key.serialize_der()
    }

    /// This node's TLS server name, `<node-id>.palermo.node`.
    pub fn server_name(&self) -> String {
        node_server_name(&self.node_id)
    }

    /// The signed directory cached in `dir` (`directory.json`), verified with the
    /// anchor's key at `now`.
    pub fn load_directory(&self, dir: &Path, now: OffsetDateTime) -> Result<SignedDirectory> {
        let key = self
            .anchor_directory_key()
            .ok_or_else(|| Error::NotEnrolled {
                node_id: self.node_id.clone(),
            })?;
        let signed = SignedDirectory::load(&dir.join(DIRECTORY_FILE))?;
        signed.verify(&key, now)?;
        Ok(signed)
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;
    use crate::testutil::{Fed, fixed_now};

    #[test]
    fn node_ids_are_derived_from_jurisdiction_and_agency() {
        assert_eq!(node_id_for("nl", "KNP").unwrap(), "nl-knp");
        assert_eq!(
            node_id_for("NL", "  Koninklijke Marechaussee (KMar) ").unwrap(),
            "nl-koninklijke-marechaussee-kmar"
        );
        assert_eq!(node_id_for("de", "BKA — Abt. SO").unwrap(), "de-bka-abt-so");
        for (cc, agency) in [
            ("ZZ", "x"),
            ("nld", "x"),
            ("", "x"),
            ("NL", "—"),
            ("NL", ""),
        ] {
            let err = node_id_for(cc, agency).unwrap_err();
            assert!(err.is_bad_input(), "{err}");
        }
        assert!(node_id_for("NL", &"a".repeat(61)).is_err());
        assert!(validate_node_id("nl-knp").is_ok());
        for bad in ["NL-knp", "nl_knp", "nl-", "nl--knp", "n-knp", "nl-knp-"] {
            assert!(validate_node_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn endpoints_must_be_https_host_port() {
        assert_eq!(
            parse_endpoint("https://127.0.0.1:8443").unwrap(),
            ("127.0.0.1".to_owned(), 8443)
        );
        assert_eq!(
            parse_endpoint("https://Node.Example.org:443/").unwrap(),
            ("node.example.org".to_owned(), 443)
        );
        assert_eq!(
            parse_endpoint("https://[::1]:9000").unwrap(),
            ("::1".to_owned(), 9000)
        );
        for bad in [
            "http://127.0.0.1:8443",
            "https://127.0.0.1",
            "https://127.0.0.1:0",
            "https://127.0.0.1:70000",
            "https://host:443/path",
            "https://user@host:443",
            "https://bad_host:443",
            "https://-x.org:443",
            "https://1.2.3:443",
            "https://[::1:9000",
            "https://:443",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn enrolment_issues_a_certificate_for_the_node() {
        let fed = Fed::new("test", fixed_now());
        let node = fed.node("de-bka");
        assert!(node.is_enrolled());
        assert_eq!(node.federation(), Some("test"));
        assert_eq!(
            node.anchor_directory_key(),
            Some(fed.anchor.directory_key())
        );
        let member = fed
            .anchor
            .members()
            .iter()
            .find(|m| m.node_id == "de-bka")
            .unwrap();
        assert_eq!(member.jurisdiction, "DE");
        assert_eq!(member.endpoint, "https://127.0.0.1:8444");
        assert_eq!(member.not_before, whole_seconds(fed.enrolled_at));
        assert_eq!(member.not_after, member.not_before + Duration::days(30));
        assert_eq!(member.verifying_key(), Some(node.verifying_key()));
        assert_eq!(node.cert_pem(), Some(member.cert_pem.as_str()));
        // The certificate is not beyond the CA's validity.
        let mut anchor = TrustAnchor::create("short", fixed_now(), 2).unwrap();
        let mut node =
            NodeIdentity::init("BE", "Federal Police", "https://node.example.be:443").unwrap();
        let e = anchor
            .enroll(&node.enrollment_request(), fixed_now(), 365)
            .unwrap();
        assert_eq!(e.member.not_after, anchor.ca_not_after());
        node.install(&e).unwrap();
        anchor.record(e.member).unwrap();
        assert_eq!(anchor.members().len(), 1);
    }

    #[test]
    fn tampered_or_inconsistent_requests_are_refused() {
        let fed = Fed::new("test", fixed_now());
        let node = NodeIdentity::init("IT", "Polizia", "https://10.0.0.9:443").unwrap();
        let good = node.enrollment_request();
        assert!(good.check().is_ok());
        let mut endpoint = good.clone();
        endpoint.endpoint = "https://203.0.113.66:443".to_owned();
        let mut id = good.clone();
        id.node_id = "it-carabinieri".to_owned();
        let mut key = good.clone();
        key.signing_key = encode_key(&fed.node("nl-knp").verifying_key());
        let mut csr = good.clone();
        csr.tls_csr_pem = fed.node("nl-knp").enrollment_request().tls_csr_pem;
        let mut broken_csr = good.clone();
        broken_csr.tls_csr_pem =
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"
                .to_owned();
        let mut lower = good.clone();
        lower.jurisdiction = "it".to_owned();
        for req in [endpoint, id, key, csr, broken_csr, lower] {
            let err = fed.anchor.enroll(&req, fed.now, 30).unwrap_err();
            assert!(err.is_bad_input(), "{err}");
        }
    }

    #[test]
    fn install_refuses_an_enrolment_for_another_node_or_anchor() {
        let fed = Fed::new("test", fixed_now());
        let mut node = NodeIdentity::init("IT", "Polizia", "https://10.0.0.9:443").unwrap();
        let other = fed.node("nl-knp").enrollment_request();
        let e = fed.anchor.enroll(&other, fed.now, 30).unwrap();
        assert!(node.install(&e).is_err());
        // Right node, but a certificate that does not chain to the CA given.
        let mut e = fed
            .anchor
            .enroll(&node.enrollment_request(), fed.now, 30)
            .unwrap();
        let foreign = TrustAnchor::create("foreign", fed.now, 30).unwrap();
        e.ca_cert_pem = foreign.ca_cert_pem().to_owned();
        assert!(node.install(&e).is_err());
        assert!(
            !node.is_enrolled(),
            "a failed install leaves the node unenrolled"
        );
    }

    #[test]
    fn revoked_members_stay_revoked() {
        let mut fed = Fed::new("test", fixed_now());
        let first = fed.anchor.revoke("nl-knp", fed.now).unwrap().revoked_at;
        let again = fed
            .anchor
            .revoke("nl-knp", fed.now + Duration::days(1))
            .unwrap()
            .revoked_at;
        assert_eq!(first, again);
        let e = fed
            .anchor
            .enroll(&fed.node("nl-knp").enrollment_request(), fed.now, 30)
            .unwrap();
        assert!(fed.anchor.record(e.member).is_err());
        assert!(matches!(
            fed.anchor.revoke("xx-none", fed.now),
            Err(Error::UnknownMember(_))
        ));
    }

    #[test]
    fn anchor_and_node_save_and_load() {
        let tmp = tempfile::tempdir().unwrap();
        let mut fed = Fed::new("test", fixed_now());
        let anchor_dir = tmp.path().join("anchor");
        fed.anchor.save(&anchor_dir).unwrap();
        let signed = fed.signed();
        let loaded = TrustAnchor::load(&anchor_dir).unwrap();
        assert_eq!(loaded.federation(), "test");
        assert_eq!(loaded.directory_key(), fed.anchor.directory_key());
        assert_eq!(loaded.members(), fed.anchor.members());
        // The loaded anchor can still issue certificates and sign.
        let node = NodeIdentity::init("IT", "Polizia", "https://10.0.0.9:443").unwrap();
        loaded
            .enroll(&node.enrollment_request(), fed.now, 30)
            .unwrap();
        let resigned = loaded.sign_directory(signed.directory.clone()).unwrap();
        assert!(
            resigned
                .verify(&fed.anchor.directory_key(), fed.now)
                .is_ok()
        );

        let node_dir = tmp.path().join("node");
        let node = fed.node("nl-knp");
        node.save(&node_dir).unwrap();
        let back = NodeIdentity::load(&node_dir).unwrap();
        assert_eq!(back.node_id, "nl-knp");
        assert_eq!(back.verifying_key(), node.verifying_key());
        assert_eq!(back.cert_pem(), node.cert_pem());
        assert_eq!(back.tls_key_pem(), node.tls_key_pem());
        assert_eq!(
            back.enrollment_request().tls_csr_pem,
            node.enrollment_request().tls_csr_pem
        );
        assert!(back.is_enrolled());

        #[cfg(unix)]
        for file in [
            anchor_dir.join(CA_KEY),
            anchor_dir.join(DIRECTORY_KEY),
            node_dir.join(SIGNING_KEY),
            node_dir.join(TLS_KEY),
        ] {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", file.display());
        }

        // Saving a different identity over it never replaces the keys.
        let other = fed.node("de-bka");
        let err = other.save(&node_dir).unwrap_err();
        assert!(matches!(err, Error::Exists { .. }), "{err}");
        assert_eq!(
            NodeIdentity::load(&node_dir).unwrap().verifying_key(),
            node.verifying_key()
        );
        let err = TrustAnchor::create("x", fed.now, 1)
            .unwrap()
            .save(&anchor_dir)
            .unwrap_err();
        assert!(matches!(err, Error::Exists { .. }), "{err}");

        // A missing directory is bad input naming the file.
        let err = NodeIdentity::load(&tmp.path().join("nowhere")).unwrap_err();
        assert!(err.is_bad_input());
        assert!(err.to_string().contains("node.json"), "{err}");
    }
}
