//! The node's active policy set and its version history, in the store.
//!
//! A node without a stored version runs the set shipped with the binary
//! ([`Policies::embedded`]). [`install_policies`] parses and validates a set
//! (strict mode, unique `@id`s, non-empty unless allowed) before it touches
//! the store, then activates it as the next version in one transaction: a
//! set that fails is refused with Cedar's error and the active set is
//! unchanged.

use palermo_policy::{LoadOptions, Policies};
use palermo_store::{AnyStore, NewPolicyVersion, PolicyVersionRecord};

use crate::{Error, Result};

/// The node's active policy set and the stored version it came from
/// (`None`: no set was ever loaded, the shipped default is active).
///
/// A stored set that no longer validates against this build's schema is
/// an error rather than a silent fallback to the shipped set.
pub async fn active_policies(store: &AnyStore) -> Result<(Policies, Option<PolicyVersionRecord>)> {
    let Some(active) = store.active_policy_version().await? else {
        return Ok((Policies::embedded(), None));
    };
    let policies = Policies::parse(
        &active.source_name,
        &active.text,
        LoadOptions {
            allow_empty: active.allow_empty,
        },
    )
    .map_err(|err| Error::Corrupt {
        what: format!("stored policy version {}", active.version),
        reason: format!("does not validate with this build: {err}"),
    })?;
    Ok((policies, Some(active)))
}

/// Validates `text` and, if it validates, activates it as the node's next
/// policy version (by `author`). Returns the stored version. Errors with
/// Cedar's message (bad input) and changes nothing when the set does not
/// parse or validate; a concurrent activation is a store conflict.
pub async fn install_policies(
    store: &AnyStore,
    source_name: &str,
    text: &str,
    options: LoadOptions,
    author: &str,
) -> Result<PolicyVersionRecord> {
    let policies = Policies::parse(source_name, text, options)?;
    let expected = store.policy_versions().await?.len() as u64;
    let new = NewPolicyVersion {
        source_name: source_name.to_owned(),
        digest: policies.digest().to_owned(),
        text: text.to_owned(),
        allow_empty: options.allow_empty,
        author: author.to_owned(),
    };
    Ok(store.activate_policy_version(&new, expected).await?)
}
