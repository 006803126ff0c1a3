//! Palermo's entity model: what a node knows about people, documents, money,
//! movements and online ads, and the rules that travel with every record.
//!
//! Names follow [FollowTheMoney](https://followthemoney.tech) (FtM): an
//! [`Entity`] has an id, a [`Schema`] and multi-valued string properties
//! (`firstName`, `birthDate`, ...). Palermo adds three things to every entity:
//! [`Markings`] (TLP 2.0, purpose, retention, originator, onward sharing,
//! handling code), [`Provenance`] (where the record came from) and, for people,
//! a [`Role`] (suspect, victim, witness, other).
//!
//! This crate is pure: no I/O. Values are validated when they are added
//! ([`Entity::add`]), so everything downstream can rely on dates being ISO 8601
//! (possibly partial), countries being ISO 3166-1 alpha-2, and property names
//! belonging to the schema.

mod country;
mod country_table;
mod date;
mod entity;
mod error;
mod ftm;
mod marking;
mod provenance;
mod role;
mod schema;

pub use crate::country::{country_name, is_country, normalize_country, suggest_country};
pub use crate::date::PartialDate;
pub use crate::entity::{Entity, EntityId, Properties};
pub use crate::error::{Error, Result};
pub use crate::ftm::{from_ftm_json, from_ftm_value, to_ftm_json, to_ftm_value};
pub use crate::marking::{HandlingCode, Markings, Originator, Purpose, Tlp};
pub use crate::provenance::Provenance;
pub use crate::role::Role;
pub use crate::schema::{PropertyDef, PropertyType, Schema};
