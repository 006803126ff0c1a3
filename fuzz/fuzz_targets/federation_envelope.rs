//! Fuzz the federation envelope parser and verifier: any bytes must parse to an
//! envelope or a `Rejection`, never a panic, and whatever parses must re-encode
//! to bytes that parse again and verify (or be rejected) against a fixed directory.

#![no_main]

use std::sync::OnceLock;

use ed25519_dalek::SigningKey;
use libfuzzer_sys::fuzz_target;
use palermo_federation::directory::encode_key;
use palermo_federation::{Directory, Envelope, Member};
use time::macros::datetime;

/// A directory with two members whose keys are fixed seeds.
fn directory() -> &'static Directory {
    static DIRECTORY: OnceLock<Directory> = OnceLock::new();
    DIRECTORY.get_or_init(|| {
        let member = |node_id: &str, seed: u8, revoked: bool| Member {
            node_id: node_id.to_owned(),
            jurisdiction: node_id[..2].to_ascii_uppercase(),
            agency: node_id[3..].to_owned(),
            endpoint: "https://127.0.0.1:8443".to_owned(),
            signing_key: encode_key(&SigningKey::from_bytes(&[seed; 32]).verifying_key()),
            cert_pem: String::new(),
            not_before: datetime!(2020-01-01 0:00 UTC),
            not_after: datetime!(2040-01-01 0:00 UTC),
            revoked_at: revoked.then_some(datetime!(2030-01-01 0:00 UTC)),
        };
        Directory {
            federation: "fuzz".to_owned(),
            serial: 1,
            issued_at: datetime!(2020-01-01 0:00 UTC),
            valid_until: datetime!(2040-01-01 0:00 UTC),
            members: vec![member("nl-knp", 1, false), member("de-bka", 2, true)],
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let directory = directory();
    let Ok(envelope) = Envelope::from_json(data) else {
        return;
    };
    let _ = envelope.canonical_bytes();
    let skew = time::Duration::minutes(5);
    let _ = envelope.verify(directory, "de-bka", envelope.created_at, skew);
    let _ = envelope.verify(directory, "nl-knp", datetime!(2026-11-27 12:00 UTC), skew);
    let again = Envelope::from_json(&envelope.to_json());
    assert!(
        again.is_ok(),
        "the wire form of a parsed envelope must parse: {again:?}"
    );
});
