//! The nodes, users and records decisions are made about, turned into Cedar
//! entities once so that many decisions can share them.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{Entities, Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};
use palermo_model::{Markings, Purpose, Role, Schema};
use serde::{Deserialize, Serialize};

use crate::translate::{effective_tlp, tlp_name, tlp_rank};
use crate::{Error, Result};

/// A Palermo node: one agency in one jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeInfo {
    /// Node id, e.g. `nl-police`.
    pub id: String,
    /// ISO 3166-1 alpha-2 code of the node's state, e.g. `NL`.
    pub jurisdiction: String,
    /// The agency running the node.
    pub agency: String,
}

/// What a user may do on their node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserRole {
    /// Works cases, may disclose CLEAR to AMBER records.
    Analyst,
    /// May override the legal-basis rule with a logged reason, and amend markings.
    Supervisor,
    /// Approves the release of victim records.
    LegalOfficer,
    /// Administers the node; may amend markings.
    Administrator,
}

impl UserRole {
    /// The name policies see.
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Analyst => "analyst",
            UserRole::Supervisor => "supervisor",
            UserRole::LegalOfficer => "legal-officer",
            UserRole::Administrator => "administrator",
        }
    }
}

/// A person using a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserInfo {
    /// User id.
    pub id: String,
    /// The node the user works on.
    pub node: String,
    /// The user's agency; defaults to the node's agency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    /// The user's roles.
    #[serde(default)]
    pub roles: Vec<UserRole>,
    /// Ids of the cases the user is assigned to.
    #[serde(default)]
    pub cases: Vec<String>,
}

/// A record held by a node, with its markings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordInfo {
    /// Record (entity) id.
    pub id: String,
    /// The model schema, e.g. `Person`.
    pub schema: String,
    /// The node holding the record.
    pub node: String,
    /// The role of the person in the record, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// The case the record belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// The record's markings (palermo-model); unknown marking fields are refused.
    pub markings: Markings,
    /// TLP:RED named recipients (user ids).
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Further purposes the originator permits (`case:ID` or text).
    #[serde(default)]
    pub permitted_purposes: Vec<Purpose>,
    /// Jurisdictions the originator withholds the record from.
    #[serde(default)]
    pub withhold_from: Vec<String>,
}

impl RecordInfo {
    /// A stored entity as a record held by node `node`: its markings, role and
    /// case (the `case:ID` purpose); no named recipients, no further permitted
    /// purposes, no withheld jurisdictions.
    pub fn of_entity(node: &str, entity: &palermo_model::Entity) -> RecordInfo {
        RecordInfo {
            id: entity.id.as_str().to_owned(),
            schema: entity.schema.as_str().to_owned(),
            node: node.to_owned(),
            role: entity.role,
            case: match &entity.markings.purpose {
                Some(Purpose::Case(case)) => Some(case.clone()),
                _ => None,
            },
            markings: entity.markings.clone(),
            recipients: Vec::new(),
            permitted_purposes: Vec::new(),
            withhold_from: Vec::new(),
        }
    }
}

/// The input of [`World::new`]: everything decisions may look at.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldInfo {
    /// Nodes.
    #[serde(default)]
    pub nodes: Vec<NodeInfo>,
    /// Users.
    #[serde(default)]
    pub users: Vec<UserInfo>,
    /// Records.
    #[serde(default)]
    pub records: Vec<RecordInfo>,
}

/// The marking fields palermo-model knows.
const MARKING_FIELDS: [&str; 6] = [
    "tlp",
    "purpose",
    "retain_until",
    "originator",
    "onward_sharing",
    "handling",
];

impl WorldInfo {
    /// Parses a world from JSON, refusing unknown fields and markings the
    /// model does not know, with the offending record and field in the error.
    pub fn from_json(text: &str) -> Result<WorldInfo> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|err| Error::Entity {
            kind: "world",
            id: String::new(),
            field: format!("line {}", err.line()),
            reason: err.to_string(),
        })?;
        // Check the markings first: serde's own message would not name the record.
        let records = value.get("records").and_then(|r| r.as_array());
        for record in records.into_iter().flatten() {
            let id = record
                .get("id")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            if let Some(markings) = record.get("markings").and_then(|m| m.as_object()) {
                for key in markings.keys() {
                    if !MARKING_FIELDS.contains(&key.as_str()) {
                        return Err(Error::Entity {
                            kind: "record",
                            id: id.to_owned(),
                            field: format!("markings.{key}"),
                            reason: format!(
                                "unknown marking; known markings are {}",
                                MARKING_FIELDS.join(", ")
                            ),
                        });
                    }
                }
                if let Some(Err(err)) = markings
                    .get("tlp")
                    .map(|v| serde_json::from_value::<palermo_model::Tlp>(v.clone()))
                {
                    return Err(Error::Entity {
                        kind: "record",
                        id: id.to_owned(),
                        field: "markings.tlp".to_owned(),
                        reason: err.to_string(),
                    });
                }
            }
        }
        serde_json::from_value(value).map_err(|err| Error::Entity {
            kind: "world",
            id: String::new(),
            field: "-".to_owned(),
            reason: err.to_string(),
        })
    }
}

/// Nodes, users and records as Cedar entities, built and schema-checked once.
#[derive(Debug, Clone)]
pub struct World {
    info: WorldInfo,
    entities: Entities,
    node_idx: HashMap<String, usize>,
    user_idx: HashMap<String, usize>,
    record_idx: HashMap<String, usize>,
    /// For each record, the index of its class: records whose policy-visible
    /// attributes are identical (everything but the id) share a class.
    record_class: Vec<u32>,
}

impl World {
    /// Checks references (user and record nodes, recipients) and schemas, and
    /// builds the Cedar entities, validated against the shipped schema.
    pub fn new(info: WorldInfo) -> Result<World> {
        let node_idx = index(&info.nodes, |n| &n.id, "node")?;
        let user_idx = index(&info.users, |u| &u.id, "user")?;
        let record_idx = index(&info.records, |r| &r.id, "record")?;
        let mut entities =
            Vec::with_capacity(info.nodes.len() + info.users.len() + info.records.len());
        for node in &info.nodes {
            let attrs = HashMap::from([
                ("jurisdiction".to_owned(), string(&node.jurisdiction)),
                ("agency".to_owned(), string(&node.agency)),
            ]);
            entities.push(entity(node_uid(&node.id), attrs)?);
        }
        for user in &info.users {
            let node = lookup(&info.nodes, &node_idx, &user.node).ok_or_else(|| Error::Entity {
                kind: "user",
                id: user.id.clone(),
                field: "node".to_owned(),
                reason: format!("unknown node {:?}", user.node),
            })?;
            let agency = user.agency.clone().unwrap_or_else(|| node.agency.clone());
            let attrs = HashMap::from([
                ("agency".to_owned(), string(&agency)),
                (
                    "node".to_owned(),
                    RestrictedExpression::new_entity_uid(node_uid(&user.node)),
                ),
                (
                    "roles".to_owned(),
                    RestrictedExpression::new_set(user.roles.iter().map(|r| string(r.as_str()))),
                ),
                (
                    "cases".to_owned(),
                    RestrictedExpression::new_set(user.cases.iter().map(|c| string(c))),
                ),
            ]);
            entities.push(entity(user_uid(&user.id), attrs)?);
        }
        let mut classes: HashMap<String, u32> = HashMap::new();
        let mut record_class = Vec::with_capacity(info.records.len());
        for record in &info.records {
            entities.push(record_entity(record, &info, &node_idx, &user_idx)?);
            let key = class_key(record);
            let next = u32::try_from(classes.len()).unwrap_or(u32::MAX);
            record_class.push(*classes.entry(key).or_insert(next));
        }
        let entities = Entities::from_entities(entities, Some(crate::schema()))
            .map_err(|err| Error::Internal(err.to_string()))?;
        Ok(World {
            info,
            entities,
            node_idx,
            user_idx,
            record_idx,
            record_class,
        })
    }

    /// The class of record `id`: equal classes mean equal policy-visible attributes.
    pub(crate) fn record_class(&self, id: &str) -> Option<u32> {
        self.record_idx
            .get(id)
            .and_then(|&i| self.record_class.get(i))
            .copied()
    }

    /// The Cedar entities.
    pub fn entities(&self) -> &Entities {
        &self.entities
    }

    /// The input this world was built from.
    pub fn info(&self) -> &WorldInfo {
        &self.info
    }

    /// The node with `id`.
    pub fn node(&self, id: &str) -> Option<&NodeInfo> {
        lookup(&self.info.nodes, &self.node_idx, id)
    }

    /// The user with `id`.
    pub fn user(&self, id: &str) -> Option<&UserInfo> {
        lookup(&self.info.users, &self.user_idx, id)
    }

    /// The record with `id`.
    pub fn record(&self, id: &str) -> Option<&RecordInfo> {
        lookup(&self.info.records, &self.record_idx, id)
    }
}

/// Everything of a record that policies can see, except its id.
fn class_key(record: &RecordInfo) -> String {
    let visible = (
        &record.schema,
        &record.node,
        record.role,
        &record.case,
        &record.markings,
        &record.recipients,
        &record.permitted_purposes,
        &record.withhold_from,
    );
    serde_json::to_string(&visible).unwrap_or_default()
}

/// Cedar uid of node `id`.
pub(crate) fn node_uid(id: &str) -> EntityUid {
    uid("Palermo::Node", id)
}

/// Cedar uid of user `id`.
pub(crate) fn user_uid(id: &str) -> EntityUid {
    uid("Palermo::User", id)
}

/// Cedar uid of record `id`.
pub(crate) fn record_uid(id: &str) -> EntityUid {
    uid("Palermo::Record", id)
}

/// Cedar uid of action `name`.
pub(crate) fn action_uid(name: &str) -> EntityUid {
    uid("Palermo::Action", name)
}

fn uid(type_name: &str, id: &str) -> EntityUid {
    // The type names are the fixed names of the shipped schema.
    #[allow(clippy::expect_used)]
    let type_name = EntityTypeName::from_str(type_name).expect("invariant: valid type name");
    EntityUid::from_type_name_and_id(type_name, EntityId::new(id))
}

pub(crate) fn string(text: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(text.to_owned())
}

fn entity(uid: EntityUid, attrs: HashMap<String, RestrictedExpression>) -> Result<Entity> {
    Entity::new(uid, attrs, HashSet::new()).map_err(|err| Error::Internal(err.to_string()))
}

fn index<T>(
    items: &[T],
    id: impl Fn(&T) -> &String,
    kind: &'static str,
) -> Result<HashMap<String, usize>> {
    let mut map = HashMap::with_capacity(items.len());
    for (idx, item) in items.iter().enumerate() {
        let key = id(item);
        if key.is_empty() {
            return Err(Error::Entity {
                kind,
                id: String::new(),
                field: "id".to_owned(),
                reason: format!("{kind} {} has an empty id", idx + 1),
            });
        }
        if map.insert(key.clone(), idx).is_some() {
            return Err(Error::Entity {
                kind,
                id: key.clone(),
                field: "id".to_owned(),
                reason: "duplicate id".to_owned(),
            });
        }
    }
    Ok(map)
}

fn lookup<'a, T>(items: &'a [T], idx: &HashMap<String, usize>, id: &str) -> Option<&'a T> {
    idx.get(id).and_then(|&i| items.get(i))
}

/// Canonical purpose text: `case:ID` or the free text.
pub(crate) fn purpose_text(purpose: &Purpose) -> String {
    match purpose {
        Purpose::Case(id) => format!("case:{id}"),
        Purpose::Text(text) => text.clone(),
    }
}

/// Days since 1970-01-01 of a model date.
pub(crate) fn unix_days(date: time::Date) -> i64 {
    i64::from(date.to_julian_day()) - 2_440_588
}

fn record_entity(
    record: &RecordInfo,
    info: &WorldInfo,
    node_idx: &HashMap<String, usize>,
    user_idx: &HashMap<String, usize>,
) -> Result<Entity> {
    let field_error = |field: &str, reason: String| Error::Entity {
        kind: "record",
        id: record.id.clone(),
        field: field.to_owned(),
        reason,
    };
    if Schema::from_str(&record.schema).is_err() {
        return Err(field_error(
            "schema",
            format!("unknown schema {:?}", record.schema),
        ));
    }
    let holder = lookup(&info.nodes, node_idx, &record.node)
        .ok_or_else(|| field_error("node", format!("unknown node {:?}", record.node)))?;
    for recipient in &record.recipients {
        if !user_idx.contains_key(recipient) {
            return Err(field_error(
                "recipients",
                format!("unknown user {recipient:?}"),
            ));
        }
    }
    let markings = &record.markings;
    let (originator, agency) = match &markings.originator {
        Some(o) => (o.node.clone(), o.agency.clone()),
        None => (holder.id.clone(), holder.agency.clone()),
    };
    let tlp = effective_tlp(markings);
    let mut attrs = HashMap::from([
        ("schema".to_owned(), string(&record.schema)),
        ("tlp".to_owned(), string(tlp_name(tlp))),
        (
            "tlp_rank".to_owned(),
            RestrictedExpression::new_long(tlp_rank(tlp)),
        ),
        (
            "permitted_purposes".to_owned(),
            RestrictedExpression::new_set(
                record
                    .permitted_purposes
                    .iter()
                    .map(|p| string(&purpose_text(p))),
            ),
        ),
        ("agency".to_owned(), string(&agency)),
        (
            "originator".to_owned(),
            RestrictedExpression::new_entity_uid(node_uid(&originator)),
        ),
        (
            "node".to_owned(),
            RestrictedExpression::new_entity_uid(node_uid(&record.node)),
        ),
        (
            "onward_sharing".to_owned(),
            RestrictedExpression::new_bool(markings.onward_sharing),
        ),
        (
            "recipients".to_owned(),
            RestrictedExpression::new_set(
                record
                    .recipients
                    .iter()
                    .map(|u| RestrictedExpression::new_entity_uid(user_uid(u))),
            ),
        ),
        (
            "withhold_from".to_owned(),
            RestrictedExpression::new_set(
                record
                    .withhold_from
                    .iter()
                    .map(|j| string(&j.to_ascii_uppercase())),
            ),
        ),
    ]);
    if let Some(code) = markings.handling {
        attrs.insert("handling".to_owned(), string(&format!("{code:?}")));
    }
    if let Some(purpose) = &markings.purpose {
        attrs.insert("purpose".to_owned(), string(&purpose_text(purpose)));
        if let Purpose::Case(id) = purpose {
            attrs.insert("purpose_case".to_owned(), string(id));
        }
    }
    if let Some(date) = markings.retain_until {
        attrs.insert(
            "retain_until".to_owned(),
            RestrictedExpression::new_long(unix_days(date)),
        );
    }
    if let Some(role) = record.role {
        attrs.insert("role".to_owned(), string(role.as_str()));
    }
    if let Some(case) = &record.case {
        attrs.insert("case".to_owned(), string(case));
    }
    entity(record_uid(&record.id), attrs)
}
