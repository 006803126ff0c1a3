//! The legal knowledge base as the node knows it: the embedded base plus
//! the operator's updates from the store's `law_updates` log (migration
//! 0100), replayed the way `palermo law` replays them.

use palermo_law::{KnowledgeBase, Update};
use palermo_policy::LawBasis;
use palermo_store::AnyStore;

use crate::{Error, Result};

/// The knowledge base with every stored law update applied (version N =
/// the base plus the non-reverted imports among updates 1..N).
pub async fn knowledge_base(store: &AnyStore) -> Result<KnowledgeBase> {
    let updates = store
        .law_updates()
        .await?
        .iter()
        .map(|r| {
            serde_json::from_str::<Update>(&r.body).map_err(|err| Error::Corrupt {
                what: format!("legal update log: version {}", r.version),
                reason: err.to_string(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    KnowledgeBase::with_updates(&updates).map_err(|err| Error::Corrupt {
        what: "legal knowledge base".to_owned(),
        reason: err.to_string(),
    })
}

/// The legal-basis source of policy decisions, with the store's law updates.
pub async fn law_basis(store: &AnyStore) -> Result<LawBasis> {
    Ok(LawBasis::new(knowledge_base(store).await?))
}
