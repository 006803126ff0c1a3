//! Operator updates on top of the embedded base: an ordered log of imports
//! and reverts. The knowledge base at version N is the base plus every import
//! among updates 1..=N that no later update reverted. Updates keep their CSV
//! text, so any version can be rebuilt exactly.

use serde::{Deserialize, Serialize};

use crate::date::Date;
use crate::error::{Error, Result};
use crate::kb::{KnowledgeBase, Origin};
use crate::table::{TableKind, parse_table};

/// What an update does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum UpdateAction {
    /// Adds or corrects rows (same CSV formats as the base, or bilateral agreements).
    Import {
        /// File name as given by the operator (for messages).
        file_name: String,
        /// The CSV text.
        content: String,
    },
    /// Withdraws the rows of an earlier import.
    Revert {
        /// The version reverted.
        target: u32,
    },
}

/// One entry of the update log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    /// Version this update creates (1, 2, ...).
    pub version: u32,
    /// Who made it.
    pub author: String,
    /// When (ISO 8601 timestamp, as given by the caller).
    pub created: String,
    /// Why (free text).
    pub note: String,
    /// What it does.
    pub action: UpdateAction,
}

/// What an import would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// The table kind told by the header.
    pub table: TableKind,
    /// Rows in the file.
    pub rows: usize,
    /// Rows that add a new key.
    pub added: usize,
    /// Rows that replace (correct) an existing key.
    pub replaced: usize,
}

impl KnowledgeBase {
    /// Rebuilds the knowledge base from the embedded base and an update log
    /// (in version order, starting at 1 with no gaps).
    pub fn with_updates(updates: &[Update]) -> Result<KnowledgeBase> {
        let mut kb = KnowledgeBase::embedded()?;
        for (idx, u) in updates.iter().enumerate() {
            if u.version as usize != idx + 1 {
                return Err(Error::Version {
                    version: u.version,
                    reason: format!("update log out of order: expected version {}", idx + 1),
                });
            }
        }
        let reverted: Vec<u32> = updates
            .iter()
            .filter_map(|u| match u.action {
                UpdateAction::Revert { target } => Some(target),
                UpdateAction::Import { .. } => None,
            })
            .collect();
        for u in updates {
            if let UpdateAction::Import { file_name, content } = &u.action {
                if reverted.contains(&u.version) {
                    continue;
                }
                let (kind, records) = parse_table(file_name, content)?;
                kb.apply_records(file_name, kind, &records, Origin(u.version), None)?;
                kb.version.applied_updates.push(u.version);
            }
        }
        kb.version.version = updates.len() as u32;
        Ok(kb)
    }

    /// Checks an import against this knowledge base without changing it:
    /// every row must parse, name known instruments and countries, carry a
    /// source, and have no date after `today`.
    pub fn check_import(
        &self,
        file_name: &str,
        content: &str,
        today: Date,
    ) -> Result<ImportSummary> {
        let (kind, records) = parse_table(file_name, content)?;
        let mut scratch = self.clone();
        let (added, replaced) = scratch.apply_records(
            file_name,
            kind,
            &records,
            Origin(self.version.version + 1),
            Some(today),
        )?;
        Ok(ImportSummary {
            table: kind,
            rows: records.len(),
            added,
            replaced,
        })
    }
}

/// Checks that `target` can be reverted given the log: it must be an import
/// that is not already reverted.
pub fn check_revert(updates: &[Update], target: u32) -> Result<()> {
    let Some(update) = updates.iter().find(|u| u.version == target) else {
        let latest = updates.len();
        return Err(Error::Version {
            version: target,
            reason: format!("no such update (latest is {latest})"),
        });
    };
    if let UpdateAction::Revert { .. } = update.action {
        return Err(Error::Version {
            version: target,
            reason: "is itself a revert; import the rows again instead".to_owned(),
        });
    }
    if updates
        .iter()
        .any(|u| u.action == UpdateAction::Revert { target })
    {
        return Err(Error::Version {
            version: target,
            reason: "is already reverted".to_owned(),
        });
    }
    Ok(())
}
