//! Signed envelopes: the one shape of every message between nodes.
//!
//! An envelope carries an id (UUIDv7), the sender and recipient node ids, the
//! creation time, the message kind, the payload schema version, a JSON payload and
//! the sender's Ed25519 signature.
//!
//! # Canonical encoding (what is signed)
//!
//! The signature is Ed25519 ([`VerifyingKey::verify_strict`] on receipt) over the
//! bytes returned by [`Envelope::canonical_bytes`]:
//!
//! ```text
//! "palermo-envelope-v1\n" ‖ canonical JSON of
//! {"created_at":…,"id":…,"kind":…,"payload":…,"recipient":…,"schema_version":…,"sender":…}
//! ```
//!
//! The prefix separates envelope signatures from every other signature Palermo
//! makes (the directory uses `palermo-directory-v1\n`, enrolment requests
//! `palermo-enroll-v1\n`, ledger tree heads `palermo-sth-v1\0`), so a signature
//! can never be replayed as another kind of statement.
//!
//! Canonical JSON (written by [`canonical_json`]), for every value at any depth:
//! - no whitespace anywhere;
//! - object members sorted by the UTF-8 bytes of their keys;
//! - arrays in their order;
//! - strings escaped as `serde_json` escapes them: `"` and `\` backslash-escaped,
//!   `\b \f \n \r \t` as such, other control characters as `\u00xx` (lowercase hex),
//!   everything else (including non-ASCII) as raw UTF-8;
//! - integers in plain decimal; other numbers in the shortest form that reads back
//!   to the same `f64` (`serde_json`'s formatting); `null`, `true`, `false`.
//!
//! Field values: `id` is the hyphenated lowercase UUID, `created_at` is UTC in
//! RFC 3339 with exactly three fractional digits (`2026-11-27T21:57:29.123Z`;
//! envelopes are created at millisecond precision and finer times are rejected as
//! malformed), `schema_version` an integer, `signature` standard base64 with padding.
//! The wire form ([`Envelope::to_json`]) is the same canonical JSON with the
//! `signature` member added, so a sender and a receiver always agree on the bytes.
//!
//! Payload numbers that are not integers are normalised when sealing to the
//! nearest double (within a few units in the last place) whose text reads back as
//! exactly that double, because `serde_json`'s parser is not correctly rounded for
//! every input; where exactness matters, put numbers in strings.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::directory::Directory;
use crate::replay::ReplayGuard;

/// The payload schema version this build writes and accepts.
pub const SCHEMA_VERSION: u32 = 1;

/// Domain-separation prefix of the signed bytes of an envelope.
pub const ENVELOPE_DOMAIN: &[u8] = b"palermo-envelope-v1\n";

/// The largest envelope [`Envelope::from_json`] parses (16 MiB).
pub const MAX_ENVELOPE_BYTES: usize = 16 * 1024 * 1024;

/// The kinds of message nodes exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Liveness check; answered with [`Kind::Pong`].
    Ping,
    /// Answer to a ping.
    Pong,
    /// A newer signed federation directory.
    DirectoryRefresh,
    /// A signed ledger tree head, for cross-witnessing.
    TreeHeadExchange,
    /// A privacy-preserving hit/no-hit query.
    HitQuery,
    /// The answer to a hit/no-hit query.
    HitAnswer,
    /// A cooperation request.
    Request,
    /// The response to a request.
    Response,
    /// An error answer to a received message.
    Error,
}

impl Kind {
    /// Every kind, in declaration order.
    pub const ALL: [Kind; 9] = [
        Kind::Ping,
        Kind::Pong,
        Kind::DirectoryRefresh,
        Kind::TreeHeadExchange,
        Kind::HitQuery,
        Kind::HitAnswer,
        Kind::Request,
        Kind::Response,
        Kind::Error,
    ];

    /// The wire name (kebab-case).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Ping => "ping",
            Kind::Pong => "pong",
            Kind::DirectoryRefresh => "directory-refresh",
            Kind::TreeHeadExchange => "tree-head-exchange",
            Kind::HitQuery => "hit-query",
            Kind::HitAnswer => "hit-answer",
            Kind::Request => "request",
            Kind::Response => "response",
            Kind::Error => "error",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = Rejection;

    fn from_str(s: &str) -> Result<Kind, Rejection> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| Rejection::UnknownKind(s.to_owned()))
    }
}

/// Why a received envelope was refused. [`Rejection::code`] is the stable,
/// machine-readable name sent back to the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The bytes are not a well-formed envelope.
    #[error("malformed envelope: {0}")]
    Malformed(String),
    /// The sender is not in the federation directory.
    #[error("unknown sender {0}: not in the federation directory")]
    UnknownSender(String),
    /// The sender's membership was revoked.
    #[error("sender {0} is revoked")]
    Revoked(String),
    /// The sender's certificate is not valid now (expired or not yet valid).
    #[error("sender {0}'s membership is not valid now (expired or not yet valid)")]
    Expired(String),
    /// The envelope is addressed to another node.
    #[error("envelope is addressed to {0}, not to this node")]
    WrongRecipient(String),
    /// The signature does not verify with the sender's key.
    #[error("signature does not verify with the sender's key")]
    BadSignature,
    /// The creation time is too far from the receiver's clock.
    #[error(
        "created at {created_at}, more than {max_skew_seconds} s from the receiver's clock ({now})"
    )]
    ClockSkew {
        /// The envelope's creation time.
        created_at: OffsetDateTime,
        /// The receiver's clock.
        now: OffsetDateTime,
        /// The allowed difference.
        max_skew_seconds: i64,
    },
    /// An envelope with this id was already received within the replay window.
    #[error("replay: envelope {0} was already received")]
    Replay(Uuid),
    /// The kind is not one this node knows.
    #[error("unknown message kind {0:?}")]
    UnknownKind(String),
    /// The schema version is not one this node accepts.
    #[error("unsupported schema version {0} (this node accepts {SCHEMA_VERSION})")]
    UnsupportedVersion(u32),
}

impl Rejection {
    /// The stable kebab-case code of the rejection.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Malformed(_) => "malformed",
            Rejection::UnknownSender(_) => "unknown-sender",
            Rejection::Revoked(_) => "revoked",
            Rejection::Expired(_) => "expired",
            Rejection::WrongRecipient(_) => "wrong-recipient",
            Rejection::BadSignature => "bad-signature",
            Rejection::ClockSkew { .. } => "clock-skew",
            Rejection::Replay(_) => "replay",
            Rejection::UnknownKind(_) => "unknown-kind",
            Rejection::UnsupportedVersion(_) => "unsupported-version",
        }
    }
}

/// A signed message between two nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// Unique message id (UUIDv7), the idempotency key of delivery.
    pub id: Uuid,
    /// The sending node's id.
    pub sender: String,
    /// The receiving node's id.
    pub recipient: String,
    /// When the sender created the message (millisecond precision).
    pub created_at: OffsetDateTime,
    /// The message kind's wire name (see [`Kind`]); kept as a string so an unknown
    /// kind can be reported back rather than failing to parse.
    pub kind: String,
    /// The payload schema version.
    pub schema_version: u32,
    /// The payload.
    pub payload: Value,
    /// Base64 Ed25519 signature over [`Envelope::canonical_bytes`].
    pub signature: String,
}

/// The wire shape, used only to parse strictly.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    id: Uuid,
    sender: String,
    recipient: String,
    created_at: String,
    kind: String,
    schema_version: u32,
    payload: Value,
    signature: String,
}

impl Envelope {
    /// Creates and signs an envelope from `sender` to `recipient`, created at `now`
    /// (truncated to milliseconds).
    pub fn seal(
        key: &SigningKey,
        sender: &str,
        recipient: &str,
        kind: Kind,
        payload: Value,
        now: OffsetDateTime,
    ) -> Envelope {
        Envelope::seal_wire(key, sender, recipient, kind, payload, now).0
    }

    /// [`Envelope::seal`], and the wire form ([`Envelope::to_json`]) of the
    /// envelope, made from the bytes just signed rather than written again.
    pub fn seal_wire(
        key: &SigningKey,
        sender: &str,
        recipient: &str,
        kind: Kind,
        mut payload: Value,
        now: OffsetDateTime,
    ) -> (Envelope, Vec<u8>) {
        let created_at = truncate_to_millis(now);
        normalise_numbers(&mut payload);
        let mut envelope = Envelope {
            id: new_id(created_at),
            sender: sender.to_owned(),
            recipient: recipient.to_owned(),
            created_at,
            kind: kind.as_str().to_owned(),
            schema_version: SCHEMA_VERSION,
            payload,
            signature: String::new(),
        };
        let signed = envelope.canonical_bytes();
        let signature = key.sign(&signed);
        envelope.signature = B64.encode(signature.to_bytes());
        let wire = envelope.wire_from_signed(signed);
        (envelope, wire)
    }

    /// The signed bytes: see the module documentation for the exact encoding.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(ENVELOPE_DOMAIN);
        self.write_json(&mut out, false);
        out
    }

    /// The wire form: canonical JSON of every field including the signature.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(320);
        self.write_json(&mut out, true);
        out
    }

    /// The wire form from `signed`, this envelope's [`Envelope::canonical_bytes`]:
    /// the same members in the same order with `signature` (the last key in
    /// sorted order) added before the closing brace, so the bytes are those
    /// of [`Envelope::to_json`] without writing the payload again.
    fn wire_from_signed(&self, mut signed: Vec<u8>) -> Vec<u8> {
        debug_assert!(signed.starts_with(ENVELOPE_DOMAIN) && signed.ends_with(b"}"));
        signed.pop();
        signed.drain(..ENVELOPE_DOMAIN.len());
        signed.extend_from_slice(b",\"signature\":");
        write_string(&self.signature, &mut signed);
        signed.push(b'}');
        signed
    }

    fn write_json(&self, out: &mut Vec<u8>, with_signature: bool) {
        // Members in sorted key order.
        out.extend_from_slice(b"{\"created_at\":");
        write_string(&format_created_at(self.created_at), out);
        out.extend_from_slice(b",\"id\":");
        write_string(&self.id.hyphenated().to_string(), out);
        out.extend_from_slice(b",\"kind\":");
        write_string(&self.kind, out);
        out.extend_from_slice(b",\"payload\":");
        canonical_json(&self.payload, out);
        out.extend_from_slice(b",\"recipient\":");
        write_string(&self.recipient, out);
        out.extend_from_slice(b",\"schema_version\":");
        out.extend_from_slice(self.schema_version.to_string().as_bytes());
        out.extend_from_slice(b",\"sender\":");
        write_string(&self.sender, out);
        if with_signature {
            out.extend_from_slice(b",\"signature\":");
            write_string(&self.signature, out);
        }
        out.push(b'}');
    }

    /// Parses the wire form. Never panics; anything but a well-formed envelope
    /// (unknown fields, a non-v7 id, a bad time) is [`Rejection::Malformed`].
    /// The kind and version are checked by [`Envelope::verify`].
    pub fn from_json(bytes: &[u8]) -> Result<Envelope, Rejection> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(Rejection::Malformed(format!(
                "{} bytes, more than the limit of {MAX_ENVELOPE_BYTES}",
                bytes.len()
            )));
        }
        let wire: Wire =
            serde_json::from_slice(bytes).map_err(|err| Rejection::Malformed(err.to_string()))?;
        if wire.id.get_version_num() != 7 {
            return Err(Rejection::Malformed(format!(
                "id {}: not a version 7 UUID",
                wire.id
            )));
        }
        let created_at = parse_created_at(&wire.created_at)?;
        Ok(Envelope {
            id: wire.id,
            sender: wire.sender,
            recipient: wire.recipient,
            created_at,
            kind: wire.kind,
            schema_version: wire.schema_version,
            payload: wire.payload,
            signature: wire.signature,
        })
    }

    /// Verifies a received envelope for node `me` against the directory at `now`,
    /// allowing `max_skew` between the sender's and the receiver's clocks, and
    /// returns its kind. Checks, in order: schema version, kind, recipient, the
    /// sender's membership (unknown, revoked, expired), the signature
    /// (`verify_strict`), and the clock skew. Replays are checked by a
    /// [`ReplayGuard`] (see [`Envelope::accept`]) and by the persistent inbox.
    pub fn verify(
        &self,
        directory: &Directory,
        me: &str,
        now: OffsetDateTime,
        max_skew: time::Duration,
    ) -> Result<Kind, Rejection> {
        self.verify_wire(directory, me, now, max_skew)
            .map(|(kind, _)| kind)
    }

    /// [`Envelope::verify`], and the wire form ([`Envelope::to_json`]) of the
    /// verified envelope, made from the bytes just verified rather than
    /// written again (what a receiver stores).
    pub fn verify_wire(
        &self,
        directory: &Directory,
        me: &str,
        now: OffsetDateTime,
        max_skew: time::Duration,
    ) -> Result<(Kind, Vec<u8>), Rejection> {
        if self.schema_version != SCHEMA_VERSION {
            return Err(Rejection::UnsupportedVersion(self.schema_version));
        }
        let kind: Kind = self.kind.parse()?;
        if self.recipient != me {
            return Err(Rejection::WrongRecipient(self.recipient.clone()));
        }
        let member = directory.admit(&self.sender, now)?;
        let key = known_verifying_key(&member.signing_key).ok_or(Rejection::BadSignature)?;
        let signature = decode_signature(&self.signature).ok_or(Rejection::BadSignature)?;
        let signed = self.canonical_bytes();
        key.verify_strict(&signed, &signature)
            .map_err(|_| Rejection::BadSignature)?;
        if (now - self.created_at).abs() > max_skew {
            return Err(Rejection::ClockSkew {
                created_at: self.created_at,
                now,
                max_skew_seconds: max_skew.whole_seconds(),
            });
        }
        Ok((kind, self.wire_from_signed(signed)))
    }

    /// [`Envelope::verify`], then the replay check of `guard`.
    pub fn accept(
        &self,
        directory: &Directory,
        me: &str,
        now: OffsetDateTime,
        max_skew: time::Duration,
        guard: &mut ReplayGuard,
    ) -> Result<Kind, Rejection> {
        let kind = self.verify(directory, me, now, max_skew)?;
        guard.check(self.id, self.created_at, now)?;
        Ok(kind)
    }
}

/// Decodes a base64 Ed25519 public key.
pub(crate) fn decode_verifying_key(text: &str) -> Option<VerifyingKey> {
    let bytes = B64.decode(text).ok()?;
    let arr: [u8; 32] = bytes.try_into().ok()?;
    VerifyingKey::from_bytes(&arr).ok()
}

/// How many decoded senders' keys [`known_verifying_key`] keeps.
const KNOWN_KEYS: usize = 64;

/// [`decode_verifying_key`], kept by the key's base64 text for the next
/// envelope of the same sender: decoding a key decompresses a curve point
/// (a field square root, several microseconds), and a node verifies every
/// envelope of its few peers with the same few keys. Keyed by the text
/// itself, so a changed directory can never be answered with another key.
fn known_verifying_key(text: &str) -> Option<VerifyingKey> {
    static KNOWN: std::sync::Mutex<Vec<(String, VerifyingKey)>> = std::sync::Mutex::new(Vec::new());
    if let Ok(known) = KNOWN.lock()
        && let Some((_, key)) = known.iter().find(|(known, _)| known == text)
    {
        return Some(*key);
    }
    let key = decode_verifying_key(text)?;
    if let Ok(mut known) = KNOWN.lock() {
        if known.len() >= KNOWN_KEYS {
            known.remove(0);
        }
        known.push((text.to_owned(), key));
    }
    Some(key)
}

/// Decodes a base64 Ed25519 signature.
pub(crate) fn decode_signature(text: &str) -> Option<Signature> {
    let bytes = B64.decode(text).ok()?;
    let arr: [u8; 64] = bytes.try_into().ok()?;
    Some(Signature::from_bytes(&arr))
}

/// A UUIDv7 for a message created at `at`.
fn new_id(at: OffsetDateTime) -> Uuid {
    let millis = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let seconds = millis / 1000;
    let nanos = u32::try_from((millis % 1000) * 1_000_000).unwrap_or(0);
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, seconds, nanos);
    Uuid::new_v7(ts)
}

fn truncate_to_millis(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    let millis = t.millisecond();
    t.replace_millisecond(millis).unwrap_or(t)
}

/// `created_at` on the wire: UTC, RFC 3339, exactly three fractional digits.
pub(crate) fn format_created_at(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

fn parse_created_at(text: &str) -> Result<OffsetDateTime, Rejection> {
    let t = OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|err| Rejection::Malformed(format!("created_at {text:?}: {err}")))?;
    if t.nanosecond() % 1_000_000 != 0 {
        return Err(Rejection::Malformed(format!(
            "created_at {text:?}: finer than milliseconds"
        )));
    }
    Ok(t.to_offset(time::UtcOffset::UTC))
}

/// Writes `value` as canonical JSON (see the module documentation) to `out`.
pub fn canonical_json(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_json(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                canonical_json(item, out);
            }
            out.push(b'}');
        }
    }
}

/// Canonical JSON of `value` as a new vector.
pub fn to_canonical_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    canonical_json(value, &mut out);
    out
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    // Serialising a `str` into a `Vec` cannot fail.
    if serde_json::to_writer(&mut *out, s).is_err() {
        out.extend_from_slice(b"\"\"");
    }
}

/// Replaces every non-integer number by the nearest value (within a few units in
/// the last place) whose own canonical text reads back as exactly that value, so
/// that sender and receiver agree on the bytes. (`serde_json`'s parser is not
/// correctly rounded for every input, and some doubles would otherwise drift.)
///
/// In place: a payload is walked, not rebuilt (integers and strings, most
/// of a payload, are left as they are).
fn normalise_numbers(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => *n = stable_number(n.clone()),
        Value::Array(items) => items.iter_mut().for_each(normalise_numbers),
        Value::Object(map) => map.values_mut().for_each(normalise_numbers),
        _ => {}
    }
}

fn reads_back(n: &serde_json::Number) -> bool {
    serde_json::from_str::<serde_json::Number>(&n.to_string()).is_ok_and(|back| back == *n)
}

fn stable_number(n: serde_json::Number) -> serde_json::Number {
    let Some(x) = n.as_f64().filter(|_| n.is_f64()) else {
        return n;
    };
    if reads_back(&n) {
        return n;
    }
    let (mut up, mut down) = (x, x);
    for _ in 0..64 {
        up = up.next_up();
        down = down.next_down();
        for candidate in [up, down] {
            if let Some(c) = serde_json::Number::from_f64(candidate).filter(reads_back) {
                return c;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer as _, SigningKey};
    use proptest::prelude::*;
    use serde_json::json;
    use time::Duration;

    use super::*;
    use crate::testutil::{Fed, fixed_now};

    const SKEW: Duration = Duration::minutes(5);

    fn fed() -> Fed {
        Fed::new("test", fixed_now())
    }

    fn ping(fed: &Fed, from: &str, to: &str, payload: Value) -> Envelope {
        Envelope::seal(
            fed.node(from).signing_key(),
            from,
            to,
            Kind::Ping,
            payload,
            fed.now,
        )
    }

    /// Re-signs an envelope after a test changed it, as a sender with `key` would.
    fn resign(envelope: &mut Envelope, key: &SigningKey) {
        envelope.signature = B64.encode(key.sign(&envelope.canonical_bytes()).to_bytes());
    }

    #[test]
    fn seal_to_json_from_json_verify_round_trip() {
        let mut fed = fed();
        let dir = fed.directory();
        let sent = ping(&fed, "nl-knp", "de-bka", json!({"hello": "world", "n": 3}));
        assert_eq!(sent.id.get_version_num(), 7);
        assert_eq!(sent.schema_version, SCHEMA_VERSION);
        let received = Envelope::from_json(&sent.to_json()).unwrap();
        assert_eq!(received, sent);
        assert_eq!(
            received.verify(&dir, "de-bka", fed.now, SKEW),
            Ok(Kind::Ping)
        );
    }

    /// The wire forms made from the signed bytes (when sealing and when
    /// verifying) are byte for byte what `to_json` writes.
    #[test]
    fn wire_forms_from_the_signed_bytes_are_to_json() {
        let mut fed = fed();
        let dir = fed.directory();
        let payload = json!({"z": [0.1, 1e300, -3], "a": {"é\"\n": "ü\u{1}"}, "n": null});
        let (sent, wire) = Envelope::seal_wire(
            fed.node("nl-knp").signing_key(),
            "nl-knp",
            "de-bka",
            Kind::Ping,
            payload,
            fed.now,
        );
        assert_eq!(wire, sent.to_json());
        let received = Envelope::from_json(&wire).unwrap();
        let (kind, stored) = received.verify_wire(&dir, "de-bka", fed.now, SKEW).unwrap();
        assert_eq!((kind, &stored), (Kind::Ping, &wire));
        // Only a verified envelope has a wire form to store.
        let mut tampered = received.clone();
        tampered.payload = json!({});
        assert_eq!(
            tampered.verify_wire(&dir, "de-bka", fed.now, SKEW),
            Err(Rejection::BadSignature)
        );
    }

    /// A receiver parses each posted envelope from its own text: a member
    /// given twice is malformed, not read with one of its values.
    #[test]
    fn a_member_given_twice_is_malformed() {
        let fed = fed();
        let sent = ping(&fed, "nl-knp", "de-bka", json!({}));
        let wire = String::from_utf8(sent.to_json()).unwrap();
        let twice = wire.replacen("{", "{\"kind\":\"pong\",", 1);
        assert!(matches!(
            Envelope::from_json(twice.as_bytes()),
            Err(Rejection::Malformed(_))
        ));
    }

    #[test]
    fn forged_signature_is_rejected() {
        let mut fed = fed();
        let dir = fed.directory();
        // Signed by a key that is not nl-knp's.
        let mut seed = [0u8; 32];
        rand::fill(&mut seed);
        let forger = SigningKey::from_bytes(&seed);
        let forged = Envelope::seal(&forger, "nl-knp", "de-bka", Kind::Ping, json!({}), fed.now);
        assert_eq!(
            forged.verify(&dir, "de-bka", fed.now, SKEW),
            Err(Rejection::BadSignature)
        );
        // Signed by another member.
        let forged = Envelope::seal(
            fed.node("fr-ocrteh").signing_key(),
            "nl-knp",
            "de-bka",
            Kind::Ping,
            json!({}),
            fed.now,
        );
        assert_eq!(
            forged.verify(&dir, "de-bka", fed.now, SKEW),
            Err(Rejection::BadSignature)
        );
        // Garbage and truncated signatures.
        let mut bad = ping(&fed, "nl-knp", "de-bka", json!({}));
        bad.signature = "not base64!".to_owned();
        assert_eq!(
            bad.verify(&dir, "de-bka", fed.now, SKEW),
            Err(Rejection::BadSignature)
        );
        bad.signature = B64.encode([0u8; 63]);
        assert_eq!(
            bad.verify(&dir, "de-bka", fed.now, SKEW),
            Err(Rejection::BadSignature)
        );
    }

    /// Senders' keys are kept decoded, but by the directory's text of
    /// them: when a member's key changes, its envelopes are checked against
    /// the new key at once.
    #[test]
    fn a_changed_sender_key_is_used_at_once() {
        let mut fed = fed();
        let mut dir = fed.directory();
        let sent = ping(&fed, "nl-knp", "de-bka", json!({}));
        assert_eq!(sent.verify(&dir, "de-bka", fed.now, SKEW), Ok(Kind::Ping));
        let other = dir
            .members
            .iter()
            .find(|m| m.node_id == "fr-ocrteh")
            .unwrap()
            .signing_key
            .clone();
        for member in &mut dir.members {
            if member.node_id == "nl-knp" {
                member.signing_key.clone_from(&other);
            }
        }
        assert_eq!(
            sent.verify(&dir, "de-bka", fed.now, SKEW),
            Err(Rejection::BadSignature)
        );
        let mut resent = sent.clone();
        resign(&mut resent, fed.node("fr-ocrteh").signing_key());
        assert_eq!(resent.verify(&dir, "de-bka", fed.now, SKEW), Ok(Kind::Ping));
    }

    #[test]
    fn tampered_fields_are_rejected() {
        let mut fed = fed();
        let dir = fed.directory();
        let sent = ping(&fed, "nl-knp", "de-bka", json!({"amount": 10}));
        let mut payload = sent.clone();
        payload.payload = json!({"amount": 11});
        assert_eq!(
            payload.verify(&dir, "de-bka", fed.now, SKEW),
            Err(Rejection::BadSignature)
        );
        let mut id = sent.clone();
        id.id = Uuid::now_v7();
        assert_eq!(
            id.verify(&dir, "de-bka", fed.now, SKEW),
            Err(Rejection::BadSignature)
        );
        let mut created = sent.clone();
        created.created_at += Duration::milliseconds(1);
        assert_eq!(
            created.verify(&dir, "de-bka", fed.now, SKEW),
            Err(Rejection::BadSignature)
        );
        let mut kind = sent.clone();
        kind.kind = "pong".to_owned();
        assert_eq!(
            kind.verify(&dir, "de-bka", fed.now, SKEW),
            Err(Rejection::BadSignature)
        );
        // Tampering with the wire bytes.
        let wire = String::from_utf8(sent.to_json()).unwrap();
        let tampered = wire.replace("\"amount\":10", "\"amount\":12");
        assert_ne!(tampered, wire);
        let parsed = Envelope::from_json(tampered.as_bytes()).unwrap();
        assert_eq!(
            parsed.verify(&dir, "de-bka", fed.now, SKEW),
            Err(Rejection::BadSignature)
        );
    }

    #[test]
    fn wrong_recipient_is_rejected() {
        let mut fed = fed();
        let dir = fed.directory();
        let sent = ping(&fed, "nl-knp", "de-bka", json!({}));
        assert_eq!(
            sent.verify(&dir, "fr-ocrteh", fed.now, SKEW),
            Err(Rejection::WrongRecipient("de-bka".to_owned()))
        );
    }

    #[test]
    fn unknown_sender_is_rejected() {
        let mut fed = fed();
        let dir = fed.directory();
        let stranger = crate::NodeIdentity::init("IT", "Polizia", "https://10.0.0.9:443").unwrap();
        let sent = Envelope::seal(
            stranger.signing_key(),
            &stranger.node_id,
            "de-bka",
            Kind::Ping,
            json!({}),
            fed.now,
        );
        assert_eq!(
            sent.verify(&dir, "de-bka", fed.now, SKEW),
            Err(Rejection::UnknownSender("it-polizia".to_owned()))
        );
    }

    #[test]
    fn revoked_sender_is_rejected() {
        let mut fed = fed();
        fed.anchor
            .revoke("fr-ocrteh", fed.now - Duration::hours(1))
            .unwrap();
        let dir = fed.directory();
        let sent = ping(&fed, "fr-ocrteh", "de-bka", json!({}));
        assert_eq!(
            sent.verify(&dir, "de-bka", fed.now, SKEW),
            Err(Rejection::Revoked("fr-ocrteh".to_owned()))
        );
        // The others are unaffected.
        let sent = ping(&fed, "nl-knp", "de-bka", json!({}));
        assert_eq!(sent.verify(&dir, "de-bka", fed.now, SKEW), Ok(Kind::Ping));
    }

    #[test]
    fn expired_and_not_yet_valid_senders_are_rejected() {
        let mut fed = fed();
        let dir = fed.directory();
        // Enrolled for 30 days, a day before now.
        let later = fed.enrolled_at + Duration::days(30);
        let sent = Envelope::seal(
            fed.node("nl-knp").signing_key(),
            "nl-knp",
            "de-bka",
            Kind::Ping,
            json!({}),
            later,
        );
        assert_eq!(
            sent.verify(&dir, "de-bka", later, SKEW),
            Err(Rejection::Expired("nl-knp".to_owned()))
        );
        let earlier = fed.enrolled_at - Duration::seconds(1);
        let sent = Envelope::seal(
            fed.node("nl-knp").signing_key(),
            "nl-knp",
            "de-bka",
            Kind::Ping,
            json!({}),
            earlier,
        );
        assert_eq!(
            sent.verify(&dir, "de-bka", earlier, SKEW),
            Err(Rejection::Expired("nl-knp".to_owned()))
        );
    }

    #[test]
    fn clock_skew_beyond_the_window_is_rejected_both_ways() {
        let mut fed = fed();
        let dir = fed.directory();
        let sent = ping(&fed, "nl-knp", "de-bka", json!({}));
        // Just inside the window, both ways.
        assert!(
            sent.verify(&dir, "de-bka", sent.created_at + SKEW, SKEW)
                .is_ok()
        );
        assert!(
            sent.verify(&dir, "de-bka", sent.created_at - SKEW, SKEW)
                .is_ok()
        );
        for now in [
            sent.created_at + SKEW + Duration::milliseconds(1),
            sent.created_at - SKEW - Duration::milliseconds(1),
        ] {
            match sent.verify(&dir, "de-bka", now, SKEW) {
                Err(Rejection::ClockSkew {
                    created_at,
                    now: at,
                    max_skew_seconds,
                }) => {
                    assert_eq!(created_at, sent.created_at);
                    assert_eq!(at, now);
                    assert_eq!(max_skew_seconds, 300);
                }
                other => panic!("expected clock-skew, got {other:?}"),
            }
        }
    }

    #[test]
    fn replay_is_rejected() {
        let mut fed = fed();
        let dir = fed.directory();
        let mut guard = ReplayGuard::new(SKEW);
        let sent = ping(&fed, "nl-knp", "de-bka", json!({}));
        assert_eq!(
            sent.accept(&dir, "de-bka", fed.now, SKEW, &mut guard),
            Ok(Kind::Ping)
        );
        let again = Envelope::from_json(&sent.to_json()).unwrap();
        assert_eq!(
            again.accept(&dir, "de-bka", fed.now, SKEW, &mut guard),
            Err(Rejection::Replay(sent.id))
        );
        // A fresh envelope with the same content is not a replay.
        let fresh = ping(&fed, "nl-knp", "de-bka", json!({}));
        assert_eq!(
            fresh.accept(&dir, "de-bka", fed.now, SKEW, &mut guard),
            Ok(Kind::Ping)
        );
    }

    #[test]
    fn unknown_kind_is_rejected() {
        let mut fed = fed();
        let dir = fed.directory();
        let mut sent = ping(&fed, "nl-knp", "de-bka", json!({}));
        sent.kind = "exfiltrate".to_owned();
        resign(&mut sent, fed.node("nl-knp").signing_key());
        let received = Envelope::from_json(&sent.to_json()).unwrap();
        assert_eq!(
            received.verify(&dir, "de-bka", fed.now, SKEW),
            Err(Rejection::UnknownKind("exfiltrate".to_owned()))
        );
    }

    #[test]
    fn unsupported_version_is_rejected() {
        let mut fed = fed();
        let dir = fed.directory();
        let mut sent = ping(&fed, "nl-knp", "de-bka", json!({}));
        sent.schema_version = 2;
        resign(&mut sent, fed.node("nl-knp").signing_key());
        let received = Envelope::from_json(&sent.to_json()).unwrap();
        assert_eq!(
            received.verify(&dir, "de-bka", fed.now, SKEW),
            Err(Rejection::UnsupportedVersion(2))
        );
    }

    #[test]
    fn malformed_json_is_rejected() {
        let fed = fed();
        let sent = ping(&fed, "nl-knp", "de-bka", json!({}));
        let wire = String::from_utf8(sent.to_json()).unwrap();
        let cases: Vec<(String, &str)> = vec![
            ("{".to_owned(), "EOF"),
            ("42".to_owned(), "invalid type"),
            (wire.replace("\"sender\"", "\"snder\""), "unknown field"),
            (
                wire.replace(",\"signature\"", ",\"extra\":1,\"signature\""),
                "unknown field",
            ),
            (
                wire.replace(&sent.id.to_string(), "6f1a0d7e-1b7c-4f6e-8a2b-0c1d2e3f4a5b"),
                "version 7",
            ),
            (
                wire.replace(
                    &format_created_at(sent.created_at),
                    "2026-11-27T12:00:00.2501Z",
                ),
                "finer than milliseconds",
            ),
            (
                wire.replace(&format_created_at(sent.created_at), "yesterday"),
                "created_at",
            ),
            (
                wire.replace("\"schema_version\":1", "\"schema_version\":-1"),
                "invalid value",
            ),
        ];
        for (text, expected) in cases {
            match Envelope::from_json(text.as_bytes()) {
                Err(Rejection::Malformed(message)) => {
                    assert!(message.contains(expected), "{message:?} lacks {expected:?}");
                }
                other => panic!("{text}: expected malformed, got {other:?}"),
            }
        }
        let huge = vec![b' '; MAX_ENVELOPE_BYTES + 1];
        assert!(matches!(
            Envelope::from_json(&huge),
            Err(Rejection::Malformed(_))
        ));
    }

    #[test]
    fn every_rejection_has_a_distinct_kebab_case_code() {
        let all = [
            Rejection::Malformed(String::new()),
            Rejection::UnknownSender(String::new()),
            Rejection::Revoked(String::new()),
            Rejection::Expired(String::new()),
            Rejection::WrongRecipient(String::new()),
            Rejection::BadSignature,
            Rejection::ClockSkew {
                created_at: fixed_now(),
                now: fixed_now(),
                max_skew_seconds: 1,
            },
            Rejection::Replay(Uuid::nil()),
            Rejection::UnknownKind(String::new()),
            Rejection::UnsupportedVersion(0),
        ];
        let codes: std::collections::BTreeSet<&str> = all.iter().map(Rejection::code).collect();
        assert_eq!(codes.len(), all.len());
        for code in codes {
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{code}"
            );
        }
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>(), Ok(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        }
        assert_eq!(
            "Ping".parse::<Kind>(),
            Err(Rejection::UnknownKind("Ping".to_owned()))
        );
    }

    /// The canonical bytes and signature of a fixed envelope never change: sender and
    /// receiver builds must agree byte for byte.
    #[test]
    fn canonical_encoding_golden() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let mut envelope = Envelope {
            id: Uuid::parse_str("019a6c1e-8f00-7abc-8def-0123456789ab").unwrap(),
            sender: "nl-knp".to_owned(),
            recipient: "de-bka".to_owned(),
            created_at: time::macros::datetime!(2026-11-27 12:00:00.250 UTC),
            kind: "hit-query".to_owned(),
            schema_version: 1,
            payload: json!({"z": [1, -2, 2.5, true, null], "a": "Ünïcode \"q\"\n", "m": {"y": {}, "b": []}}),
            signature: String::new(),
        };
        let expected = concat!(
            "palermo-envelope-v1\n",
            r#"{"created_at":"2026-11-27T12:00:00.250Z","id":"019a6c1e-8f00-7abc-8def-0123456789ab","#,
            r#""kind":"hit-query","payload":{"a":"Ünïcode \"q\"\n","m":{"b":[],"y":{}},"z":[1,-2,2.5,true,null]},"#,
            r#""recipient":"de-bka","schema_version":1,"sender":"nl-knp"}"#
        );
        assert_eq!(
            String::from_utf8(envelope.canonical_bytes()).unwrap(),
            expected
        );
        resign(&mut envelope, &key);
        assert_eq!(envelope.signature, GOLDEN_SIGNATURE);
        let wire = String::from_utf8(envelope.to_json()).unwrap();
        assert_eq!(
            wire,
            format!(
                "{},\"signature\":\"{GOLDEN_SIGNATURE}\"}}",
                &expected[ENVELOPE_DOMAIN.len()..expected.len() - 1]
            )
        );
    }

    const GOLDEN_SIGNATURE: &str =
        "u7ZnRoGmeln4/ld53ODqC3en0kC02uj5RXt7oHe2c8qAiP/O4ShPlTEIim+Cn+OmQjvTblwMaV7S3azVlcA9CA==";

    #[test]
    fn canonical_encoding_ignores_payload_key_order() {
        let fed = fed();
        let mut a = ping(&fed, "nl-knp", "de-bka", json!({}));
        let mut b = a.clone();
        a.payload = serde_json::from_str(r#"{"b":1,"a":{"d":[1,2],"c":"x"}}"#).unwrap();
        b.payload =
            serde_json::from_str(r#"{ "a" : { "c" : "x", "d" : [ 1, 2 ] }, "b" : 1 }"#).unwrap();
        assert_eq!(a.canonical_bytes(), b.canonical_bytes());
        // But the array order matters.
        b.payload = json!({"a": {"c": "x", "d": [2, 1]}, "b": 1});
        assert_ne!(a.canonical_bytes(), b.canonical_bytes());
    }

    #[test]
    fn signatures_are_domain_separated() {
        let mut fed = fed();
        let dir = fed.directory();
        let key = fed.node("nl-knp").signing_key().clone();
        let mut sent = ping(&fed, "nl-knp", "de-bka", json!({}));
        // A signature over the same JSON without the envelope prefix does not verify.
        let bytes = sent.canonical_bytes();
        sent.signature = B64.encode(key.sign(&bytes[ENVELOPE_DOMAIN.len()..]).to_bytes());
        assert_eq!(
            sent.verify(&dir, "de-bka", fed.now, SKEW),
            Err(Rejection::BadSignature)
        );
        // And the prefixes of the three signed statements are distinct and prefix-free.
        let prefixes = [
            ENVELOPE_DOMAIN,
            crate::directory::DIRECTORY_DOMAIN,
            crate::pki::ENROLL_DOMAIN,
        ];
        for (i, a) in prefixes.iter().enumerate() {
            for (j, b) in prefixes.iter().enumerate() {
                if i != j {
                    assert!(!a.starts_with(b), "{a:?} starts with {b:?}");
                }
            }
        }
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            ".*".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec((".*", inner), 0..8)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn from_json_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
            let _ = Envelope::from_json(&bytes);
        }

        #[test]
        fn from_json_never_panics_on_mutated_envelopes(
            index in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let key = SigningKey::from_bytes(&[9u8; 32]);
            let sent = Envelope::seal(&key, "nl-knp", "de-bka", Kind::Ping, json!({"a": [1, "b"]}), fixed_now());
            let mut wire = sent.to_json();
            let at = index.index(wire.len());
            wire[at] = byte;
            if let Ok(parsed) = Envelope::from_json(&wire) {
                // Whatever parses re-encodes without panicking.
                let _ = parsed.canonical_bytes();
            }
        }

        #[test]
        fn arbitrary_payloads_round_trip(payload in arb_json()) {
            let fed = shared_fed();
            let sent = Envelope::seal(
                fed.0.node("nl-knp").signing_key(), "nl-knp", "de-bka", Kind::Request, payload, fed.0.now,
            );
            let received = Envelope::from_json(&sent.to_json()).unwrap();
            prop_assert_eq!(received.canonical_bytes(), sent.canonical_bytes());
            prop_assert_eq!(received.verify(&fed.1, "de-bka", fed.0.now, SKEW), Ok(Kind::Request));
        }
    }

    /// One federation for all property-test cases (key generation is not free).
    fn shared_fed() -> &'static (Fed, Directory) {
        static FED: std::sync::OnceLock<(Fed, Directory)> = std::sync::OnceLock::new();
        FED.get_or_init(|| {
            let mut fed = fed();
            let dir = fed.directory();
            (fed, dir)
        })
    }
}
