//! The role a person plays in a case.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// The role of a person in the node's records.
///
/// A victim is never treated as a suspect (the non-punishment principle):
/// victim records get the strictest default markings, see
/// [`Markings::default_for`](crate::Markings::default_for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Suspected of an offence.
    Suspect,
    /// A (presumed) victim of trafficking.
    Victim,
    /// A witness.
    Witness,
    /// Any other involvement (e.g. account holder, contact).
    Other,
}

impl Role {
    /// All roles, in a stable order.
    pub const ALL: [Role; 4] = [Role::Suspect, Role::Victim, Role::Witness, Role::Other];

    /// The lower-case name used in files and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Suspect => "suspect",
            Role::Victim => "victim",
            Role::Witness => "witness",
            Role::Other => "other",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Error;

    fn from_str(text: &str) -> Result<Role, Error> {
        let lower = text.trim().to_ascii_lowercase();
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == lower)
            .ok_or_else(|| Error::InvalidValue {
                property: "role".to_owned(),
                value: text.to_owned(),
                reason: "expected suspect, victim, witness or other".to_owned(),
            })
    }
}
