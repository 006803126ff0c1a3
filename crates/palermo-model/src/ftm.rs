//! FollowTheMoney JSON: one entity per line.
//!
//! ```json
//! {"id": "p1", "schema": "Person",
//!  "properties": {"firstName": ["Ahmed"]},
//!  "palermo": {"markings": {...}, "role": "suspect", "provenance": {...},
//!              "properties": {"city": ["Rotterdam"]}}}
//! ```
//!
//! `properties` holds only what FtM knows, so FtM tools load it unchanged;
//! Palermo's own properties and whole Palermo-only schemas keep their values
//! under `palermo.properties`. Reading accepts both places, plus FtM's
//! `Company`, `PublicBody` and `LegalEntity` (read as `Organization`); FtM
//! properties Palermo does not model are skipped with a warning.

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::{Entity, EntityId, Error, Markings, Provenance, Result, Role, Schema};

/// Serialises an entity as an FtM JSON value.
pub fn to_ftm_value(entity: &Entity) -> Value {
    let mut ftm_props = Map::new();
    let mut ext_props = Map::new();
    for (name, values) in &entity.properties {
        let is_ftm = entity.schema.property(name).is_some_and(|def| def.ftm);
        let target = if is_ftm {
            &mut ftm_props
        } else {
            &mut ext_props
        };
        target.insert(name.clone(), Value::from(values.clone()));
    }
    // Keys are inserted in alphabetical order, so the output is the same
    // whether or not serde_json's `preserve_order` feature is on in the build.
    let mut palermo = Map::new();
    palermo.insert(
        "markings".to_owned(),
        serde_json::to_value(&entity.markings).expect("invariant: markings serialize to JSON"),
    );
    if !ext_props.is_empty() {
        palermo.insert("properties".to_owned(), Value::Object(ext_props));
    }
    if let Some(provenance) = &entity.provenance {
        palermo.insert(
            "provenance".to_owned(),
            serde_json::to_value(provenance).expect("invariant: provenance serializes to JSON"),
        );
    }
    if let Some(role) = entity.role {
        palermo.insert("role".to_owned(), Value::from(role.as_str()));
    }
    let mut object = Map::new();
    object.insert("id".to_owned(), Value::from(entity.id.as_str()));
    object.insert("palermo".to_owned(), Value::Object(palermo));
    object.insert("properties".to_owned(), Value::Object(ftm_props));
    object.insert("schema".to_owned(), Value::from(entity.schema.as_str()));
    Value::Object(object)
}

/// Serialises an entity as one line of FtM JSON (no trailing newline).
///
/// The same bytes as `to_ftm_value(entity).to_string()`, written straight
/// from the entity: building the [`Value`] tree first copied every string
/// and made an export spend most of its time in the allocator.
pub fn to_ftm_json(entity: &Entity) -> String {
    let view = FtmView {
        id: entity.id.as_str(),
        palermo: PalermoView {
            markings: &entity.markings,
            properties: PropertiesView { entity, ftm: false },
            provenance: entity.provenance.as_ref(),
            role: entity.role.map(Role::as_str),
        },
        properties: PropertiesView { entity, ftm: true },
        schema: entity.schema.as_str(),
    };
    serde_json::to_string(&view).expect("invariant: an entity serializes to JSON")
}

/// An entity as [`to_ftm_value`] lays it out; fields in the same
/// (alphabetical) order, so both write the same bytes.
#[derive(Serialize)]
struct FtmView<'a> {
    id: &'a str,
    palermo: PalermoView<'a>,
    properties: PropertiesView<'a>,
    schema: &'a str,
}

/// The `palermo` object of [`FtmView`].
#[derive(Serialize)]
struct PalermoView<'a> {
    markings: &'a Markings,
    #[serde(skip_serializing_if = "PropertiesView::is_empty")]
    properties: PropertiesView<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provenance: Option<&'a Provenance>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
}

/// The properties FtM knows (`ftm`) or the others, in name order.
struct PropertiesView<'a> {
    entity: &'a Entity,
    ftm: bool,
}

impl PropertiesView<'_> {
    fn iter(&self) -> impl Iterator<Item = (&String, &Vec<String>)> {
        self.entity.properties.iter().filter(|(name, _)| {
            self.entity.schema.property(name).is_some_and(|def| def.ftm) == self.ftm
        })
    }

    fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl Serialize for PropertiesView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// Parses one line of FtM JSON; returns the entity and warnings about data
/// that was skipped (FtM properties Palermo does not model).
pub fn from_ftm_json(line: &str) -> Result<(Entity, Vec<String>)> {
    let value: Value = serde_json::from_str(line).map_err(|err| Error::InvalidFtm {
        reason: format!("not valid JSON: {err}"),
    })?;
    from_ftm_value(&value)
}

/// Parses an FtM JSON value; see [`from_ftm_json`].
pub fn from_ftm_value(value: &Value) -> Result<(Entity, Vec<String>)> {
    let invalid = |reason: &str| Error::InvalidFtm {
        reason: reason.to_owned(),
    };
    let object = value
        .as_object()
        .ok_or_else(|| invalid("expected a JSON object"))?;
    let id = match object.get("id") {
        Some(Value::String(id)) => EntityId::new(id)?,
        Some(Value::Number(n)) => EntityId::new(&n.to_string())?,
        _ => return Err(invalid("missing or non-string `id`")),
    };
    let schema_name = object
        .get("schema")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("missing `schema`"))?;
    let schema = match schema_name {
        "Company" | "PublicBody" | "LegalEntity" => Schema::Organization,
        other => other.parse::<Schema>()?,
    };
    let mut entity = Entity::new(id, schema);
    let mut warnings = Vec::new();
    if let Some(props) = object.get("properties") {
        read_properties(&mut entity, props, true, &mut warnings)?;
    }
    let palermo = match object.get("palermo") {
        None | Some(Value::Null) => None,
        Some(Value::Object(palermo)) => Some(palermo),
        Some(_) => return Err(invalid("`palermo` must be an object")),
    };
    if let Some(palermo) = palermo {
        if let Some(props) = palermo.get("properties") {
            read_properties(&mut entity, props, false, &mut warnings)?;
        }
        if let Some(role) = palermo.get("role").filter(|v| !v.is_null()) {
            let role = role
                .as_str()
                .ok_or_else(|| invalid("`palermo.role` must be a string"))?;
            entity.set_role(role.parse::<Role>()?)?;
        }
        entity.markings = match palermo.get("markings") {
            Some(markings) => {
                serde_json::from_value::<Markings>(markings.clone()).map_err(|err| {
                    Error::InvalidMarking {
                        value: markings.to_string(),
                        reason: err.to_string(),
                    }
                })?
            }
            None => Markings::default_for(entity.role),
        };
        if let Some(provenance) = palermo.get("provenance").filter(|v| !v.is_null()) {
            entity.provenance = Some(
                serde_json::from_value::<Provenance>(provenance.clone()).map_err(|err| {
                    Error::InvalidFtm {
                        reason: format!("bad `palermo.provenance`: {err}"),
                    }
                })?,
            );
        }
    } else {
        entity.markings = Markings::default_for(entity.role);
    }
    Ok((entity, warnings))
}

fn read_properties(
    entity: &mut Entity,
    props: &Value,
    lenient: bool,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let props = props.as_object().ok_or_else(|| Error::InvalidFtm {
        reason: "`properties` must be an object of string arrays".to_owned(),
    })?;
    for (name, values) in props {
        if lenient && entity.schema.property(name).is_none() {
            warnings.push(format!(
                "skipped property `{name}`: not modelled for {}",
                entity.schema
            ));
            continue;
        }
        let values = values.as_array().ok_or_else(|| Error::InvalidFtm {
            reason: format!("property `{name}` must be an array of strings"),
        })?;
        for value in values {
            let text = value.as_str().ok_or_else(|| Error::InvalidFtm {
                reason: format!("property `{name}` has a value that is not a string: {value}"),
            })?;
            entity.add(name, text)?;
        }
    }
    Ok(())
}

/// Builds the property map of an entity from `(name, values)` pairs; used by tests.
#[cfg(test)]
fn props(pairs: &[(&str, &[&str])]) -> crate::Properties {
    pairs
        .iter()
        .map(|(name, values)| {
            (
                (*name).to_owned(),
                values.iter().map(|v| (*v).to_owned()).collect(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tlp;

    #[test]
    fn splits_ftm_and_palermo_properties() {
        let mut entity = Entity::new(EntityId::new("p1").unwrap(), Schema::Person);
        entity.add("firstName", "Ahmed").unwrap();
        entity.add("city", "Rotterdam").unwrap();
        entity.set_role(Role::Suspect).unwrap();
        let value = to_ftm_value(&entity);
        assert_eq!(value["properties"]["firstName"][0], "Ahmed");
        assert!(value["properties"].get("city").is_none());
        assert_eq!(value["palermo"]["properties"]["city"][0], "Rotterdam");
        assert_eq!(value["palermo"]["role"], "suspect");
        let (back, warnings) = from_ftm_value(&value).unwrap();
        assert_eq!(back, entity);
        assert!(warnings.is_empty());
    }

    #[test]
    fn json_lines_are_the_value_serialised() {
        let mut entity = Entity::new(EntityId::new("p\"1").unwrap(), Schema::Person);
        let plain = entity.clone();
        entity.add("firstName", "Ah\u{e9}med \"A\"").unwrap();
        entity.add("firstName", "Ahmad").unwrap();
        entity.add("city", "Rotterdam").unwrap();
        entity.add("birthDate", "1990-04").unwrap();
        entity.set_role(Role::Victim).unwrap();
        entity.markings = Markings::default_for(Some(Role::Victim));
        entity.markings.purpose = Some(crate::Purpose::Case("c1".to_owned()));
        entity.provenance = Some(Provenance {
            source_file: "in.csv".to_owned(),
            record: 7,
            batch_id: uuid::Uuid::nil(),
            imported_at: time::OffsetDateTime::UNIX_EPOCH,
            imported_by: "ana".to_owned(),
        });
        for e in [plain, entity] {
            assert_eq!(to_ftm_json(&e), to_ftm_value(&e).to_string());
        }
    }

    #[test]
    fn reads_plain_ftm_from_other_tools() {
        let line = r#"{"id":"c1","schema":"Company","properties":{"name":["Acme"],"topics":["crime"]},"datasets":["x"]}"#;
        let (entity, warnings) = from_ftm_json(line).unwrap();
        assert_eq!(entity.schema, Schema::Organization);
        assert_eq!(entity.properties, props(&[("name", &["Acme"])]));
        assert_eq!(warnings.len(), 1);
        assert_eq!(entity.markings.tlp, Tlp::Amber);
    }

    #[test]
    fn victims_without_markings_default_to_red() {
        let line = r#"{"id":"v1","schema":"Person","properties":{},"palermo":{"role":"victim"}}"#;
        let (entity, _) = from_ftm_json(line).unwrap();
        assert_eq!(entity.markings.tlp, Tlp::Red);
        assert!(!entity.markings.onward_sharing);
    }

    #[test]
    fn reports_malformed_lines() {
        let check = |line: &str, fragment: &str| {
            let err = from_ftm_json(line).unwrap_err().to_string();
            assert!(err.contains(fragment), "{line}: {err}");
        };
        check("[1,2]", "expected a JSON object");
        check("{", "not valid JSON");
        check(r#"{"schema":"Person"}"#, "missing or non-string `id`");
        check(
            r#"{"id":"x","schema":"Starship"}"#,
            "unknown schema `Starship`",
        );
        check(
            r#"{"id":"x","schema":"Person","properties":{"birthDate":["soon"]}}"#,
            "birthDate",
        );
        check(
            r#"{"id":"x","schema":"Person","properties":{"name":"Bob"}}"#,
            "array of strings",
        );
        check(
            r#"{"id":"x","schema":"Person","palermo":{"markings":{"tlp":"TLP:PINK"}}}"#,
            "TLP:PINK",
        );
        check(
            r#"{"id":"x","schema":"Person","palermo":{"properties":{"wings":["2"]}}}"#,
            "unknown property",
        );
    }
}
