//! Entities: an id, a schema, multi-valued properties, markings, role and provenance.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{
    Error, Markings, PartialDate, PropertyDef, PropertyType, Provenance, Result, Role, Schema,
    country::{normalize_country, suggest_country},
};

/// Longest accepted entity id, in bytes.
const MAX_ID_LEN: usize = 255;
/// Longest accepted property value, in bytes.
const MAX_VALUE_LEN: usize = 64 * 1024;

/// An entity id: non-empty, at most 255 bytes, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EntityId(String);

impl EntityId {
    /// Validates `id` (surrounding spaces are removed).
    pub fn new(id: &str) -> Result<EntityId> {
        let trimmed = id.trim();
        let invalid = |reason: &str| Error::InvalidId {
            id: id.to_owned(),
            reason: reason.to_owned(),
        };
        if trimmed.is_empty() {
            return Err(invalid("an id cannot be empty"));
        }
        if trimmed.len() > MAX_ID_LEN {
            return Err(invalid("an id is at most 255 bytes"));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(invalid("an id cannot contain control characters"));
        }
        Ok(EntityId(trimmed.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EntityId {
    type Error = Error;

    fn try_from(id: String) -> Result<EntityId> {
        EntityId::new(&id)
    }
}

impl From<EntityId> for String {
    fn from(id: EntityId) -> String {
        id.0
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Property values by property name; each property holds distinct values in
/// the order they were added.
pub type Properties = BTreeMap<String, Vec<String>>;

/// One record: a person, a passport, a payment, an ad, ...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// The id, unique within a node.
    pub id: EntityId,
    /// The schema.
    pub schema: Schema,
    /// The property values (always valid for the schema; use [`Entity::add`]).
    pub properties: Properties,
    /// Handling rules.
    pub markings: Markings,
    /// The person's role, if known (only for schemas where [`Schema::has_role`]).
    pub role: Option<Role>,
    /// Where the record came from.
    pub provenance: Option<Provenance>,
}

impl Entity {
    /// A new entity without properties, role or provenance, with the default
    /// markings ([`Markings::default_for`]`(None)`).
    pub fn new(id: EntityId, schema: Schema) -> Entity {
        Entity {
            id,
            schema,
            properties: Properties::new(),
            markings: Markings::default_for(None),
            role: None,
            provenance: None,
        }
    }

    /// Adds a value to a property after validating and normalising it.
    ///
    /// Blank values are ignored and a value already present is not repeated.
    /// Returns whether a value was added.
    pub fn add(&mut self, property: &str, value: &str) -> Result<bool> {
        let def = self
            .schema
            .property(property)
            .ok_or_else(|| Error::UnknownProperty {
                schema: self.schema.to_string(),
                property: property.to_owned(),
            })?;
        let Some(value) = normalize_value(def, value)? else {
            return Ok(false);
        };
        let values = self.properties.entry(def.name.to_owned()).or_default();
        if values.contains(&value) {
            return Ok(false);
        }
        values.push(value);
        Ok(true)
    }

    /// All values of a property (empty when it has none).
    pub fn get(&self, property: &str) -> &[String] {
        self.properties
            .get(property)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The first value of a property.
    pub fn first(&self, property: &str) -> Option<&str> {
        self.get(property).first().map(String::as_str)
    }

    /// Sets the role; fails for schemas that carry no role.
    pub fn set_role(&mut self, role: Role) -> Result<()> {
        if !self.schema.has_role() {
            return Err(Error::InvalidValue {
                property: "role".to_owned(),
                value: role.to_string(),
                reason: format!("a {} has no role", self.schema),
            });
        }
        self.role = Some(role);
        Ok(())
    }

    /// A short human-readable label: the name, the first and last name, or a
    /// number, falling back to the id.
    pub fn caption(&self) -> String {
        if let Some(name) = self.first("name") {
            return name.to_owned();
        }
        let parts: Vec<&str> = ["firstName", "lastName"]
            .iter()
            .filter_map(|p| self.first(p))
            .collect();
        if !parts.is_empty() {
            return parts.join(" ");
        }
        [
            "number",
            "iban",
            "accountNumber",
            "email",
            "title",
            "fileName",
            "caseNumber",
        ]
        .iter()
        .find_map(|p| self.first(p))
        .map_or_else(|| self.id.to_string(), str::to_owned)
    }
}

/// Validates one value for `def` and returns its normalised form, or `None`
/// for a blank value.
fn normalize_value(def: &PropertyDef, value: &str) -> Result<Option<String>> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let invalid = |reason: String| Error::InvalidValue {
        property: def.name.to_owned(),
        value: value.to_owned(),
        reason,
    };
    if trimmed.len() > MAX_VALUE_LEN {
        return Err(invalid("a value is at most 64 KiB".to_owned()));
    }
    if def.kind != PropertyType::Text && trimmed.chars().any(char::is_control) {
        return Err(invalid(
            "control characters are only allowed in text".to_owned(),
        ));
    }
    let normalized = match def.kind {
        PropertyType::Date => PartialDate::parse(trimmed).map_err(invalid)?.to_string(),
        PropertyType::Country => match normalize_country(trimmed) {
            Some(code) => code.to_owned(),
            None => {
                let hint = suggest_country(trimmed)
                    .map(|code| format!(" (did you mean {code}?)"))
                    .unwrap_or_default();
                return Err(invalid(format!(
                    "not an ISO 3166-1 alpha-2 country code{hint}"
                )));
            }
        },
        PropertyType::Email => {
            let valid = trimmed.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.contains('@')
            }) && !trimmed.contains(char::is_whitespace);
            if !valid {
                return Err(invalid("not an e-mail address".to_owned()));
            }
            trimmed.to_owned()
        }
        PropertyType::Gender => match trimmed.to_ascii_lowercase().as_str() {
            "m" | "male" => "male".to_owned(),
            "f" | "female" => "female".to_owned(),
            "x" | "o" | "other" => "other".to_owned(),
            _ => return Err(invalid("expected male, female or other".to_owned())),
        },
        PropertyType::Number => {
            let plain: String = trimmed.chars().filter(|c| *c != '_' && *c != ',').collect();
            if plain.parse::<f64>().map(f64::is_finite) != Ok(true) {
                return Err(invalid("not a number".to_owned()));
            }
            trimmed.to_owned()
        }
        PropertyType::Entity => EntityId::new(trimmed)?.to_string(),
        PropertyType::Name
        | PropertyType::String
        | PropertyType::Text
        | PropertyType::Phone
        | PropertyType::Identifier
        | PropertyType::Url
        | PropertyType::Address => trimmed.to_owned(),
    };
    Ok(Some(normalized))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> Entity {
        Entity::new(EntityId::new("p1").unwrap(), Schema::Person)
    }

    fn check(property: &str, value: &str, expect: std::result::Result<Option<&str>, &str>) {
        let mut entity = person();
        match (entity.add(property, value), expect) {
            (Ok(_), Ok(stored)) => assert_eq!(entity.first(property), stored, "{property}={value}"),
            (Err(err), Err(fragment)) => {
                assert!(
                    err.to_string().contains(fragment),
                    "{property}={value}: {err}"
                )
            }
            (got, want) => panic!("{property}={value}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn validates_and_normalizes_values() {
        check("firstName", "  Ahmed ", Ok(Some("Ahmed")));
        check("firstName", "   ", Ok(None));
        check("birthDate", "1990-04", Ok(Some("1990-04")));
        check("birthDate", "31/12/1990", Err("year must be 4 digits"));
        check("nationality", "th", Ok(Some("TH")));
        check("nationality", "Thailand", Ok(Some("TH")));
        check("nationality", "Thai", Err("did you mean TH?"));
        check("gender", "F", Ok(Some("female")));
        check("gender", "unknown", Err("expected male"));
        check("email", "a@example.org", Ok(Some("a@example.org")));
        check("email", "not-an-email", Err("not an e-mail"));
        check(
            "shoeSize",
            "42",
            Err("unknown property `shoeSize` for schema Person"),
        );
        check("firstName", "a\u{0}b", Err("control characters"));
    }

    #[test]
    fn keeps_distinct_values_in_order() {
        let mut entity = person();
        assert!(entity.add("alias", "Achmed").unwrap());
        assert!(entity.add("alias", "Ahmad").unwrap());
        assert!(!entity.add("alias", "Achmed").unwrap());
        assert_eq!(entity.get("alias"), ["Achmed", "Ahmad"]);
        assert!(entity.get("lastName").is_empty());
    }

    #[test]
    fn roles_only_on_people_and_organizations() {
        let mut passport = Entity::new(EntityId::new("d1").unwrap(), Schema::Passport);
        assert!(passport.set_role(Role::Victim).is_err());
        let mut p = person();
        p.set_role(Role::Victim).unwrap();
        assert_eq!(p.role, Some(Role::Victim));
    }

    #[test]
    fn captions_prefer_names() {
        let mut p = person();
        assert_eq!(p.caption(), "p1");
        p.add("lastName", "Al-Rashid").unwrap();
        p.add("firstName", "Ahmed").unwrap();
        assert_eq!(p.caption(), "Ahmed Al-Rashid");
        p.add("name", "Ahmed Al Rashid").unwrap();
        assert_eq!(p.caption(), "Ahmed Al Rashid");
    }

    #[test]
    fn rejects_bad_ids() {
        assert!(EntityId::new("").is_err());
        assert!(EntityId::new(&"x".repeat(256)).is_err());
        assert!(EntityId::new("a\nb").is_err());
        assert_eq!(EntityId::new(" a ").unwrap().as_str(), "a");
    }
}
