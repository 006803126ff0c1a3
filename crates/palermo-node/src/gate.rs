//! The policy gate: how node-level code asks [`palermo_policy`] before it
//! shows, searches or exports stored records.
//!
//! A [`Gate`] holds the node, the principal and the date, builds the Cedar
//! world from the records at hand (the node holds them all; a record's case
//! is its `case:ID` purpose), decides through [`palermo_policy`] (every
//! record gets its own decision) and hands every decision to its
//! [`LedgerSink`]. Denied records are left out and counted. The caller writes
//! [`Gate::take_entries`] to the ledger in one append.
//!
//! Cedar is asked once per record class: records that differ only in their
//! id get the same decision (each under its own id), unless a policy names
//! a specific record ([`Gate::filter`]). Building a Cedar entity and asking
//! Cedar for each of a million exported records took most of an export.
//!
//! The principal is a stored user ([`principal`]), or, for commands run on
//! the node's own machine without `--as`, the [`local_operator`]: the user id
//! `local-operator` of the node's own agency, with the one role
//! `administrator` and no assigned cases. Under the shipped policies that
//! operator sees TLP:CLEAR, GREEN, AMBER and AMBER+STRICT records of its own
//! agency, and no TLP:RED record (those go to named recipients only).

use palermo_law::Date;
use palermo_model::Entity;
use palermo_policy::DecisionSink as _;
use std::collections::HashMap;
use std::hash::BuildHasher as _;

use palermo_model::{Markings, Role, Schema};
use palermo_policy::{
    Action, BasisSource, Decider, Decision, NodeInfo, Policies, Query, RecordInfo, UserInfo,
    UserRole, World, WorldInfo, decide, filter,
};
use palermo_store::{AnyStore, UserRecord};

use crate::{Error, LedgerSink, Result};

/// The principal id of the local operator.
pub const LOCAL_OPERATOR: &str = "local-operator";

/// The local operator of `node`: user id [`LOCAL_OPERATOR`], the node's
/// agency, role `administrator`, no cases.
pub fn local_operator(node: &NodeInfo) -> UserInfo {
    UserInfo {
        id: LOCAL_OPERATOR.to_owned(),
        node: node.id.clone(),
        agency: None,
        roles: vec![UserRole::Administrator],
        cases: Vec::new(),
    }
}

/// A stored user as a principal of `node`; unknown role names grant nothing.
pub fn user_info(node: &NodeInfo, user: &UserRecord) -> UserInfo {
    UserInfo {
        id: user.name.clone(),
        node: node.id.clone(),
        agency: user.agency.clone(),
        roles: roles(&user.roles),
        cases: user.cases.clone(),
    }
}

/// The policy crate's roles among stored role names (unknown names are
/// ignored: they grant nothing).
pub fn roles(names: &[String]) -> Vec<UserRole> {
    names
        .iter()
        .filter_map(|name| serde_json::from_value(serde_json::Value::from(name.as_str())).ok())
        .collect()
}

/// The principal for a command: the stored, active user `name`, or the
/// local operator when `name` is `None`. An unknown or revoked user is bad
/// input.
pub async fn principal(store: &AnyStore, node: &NodeInfo, name: Option<&str>) -> Result<UserInfo> {
    let Some(name) = name else {
        return Ok(local_operator(node));
    };
    match store.user(name).await? {
        Some(user) if user.revoked_at.is_none() => Ok(user_info(node, &user)),
        Some(_) => Err(Error::BadInput(format!(
            "user {name:?} was revoked; a revoked user cannot act"
        ))),
        None => Err(Error::BadInput(format!(
            "unknown user {name:?}; list users with palermo user list"
        ))),
    }
}

/// A stored entity as a record held by `node`: its markings, role and case
/// (the `case:ID` purpose), no named recipients, no withheld jurisdictions.
pub fn record_info(node: &NodeInfo, entity: &Entity) -> RecordInfo {
    RecordInfo::of_entity(&node.id, entity)
}

/// Today's date for decisions (UTC).
pub fn today() -> Date {
    let secs = time::OffsetDateTime::now_utc().unix_timestamp();
    Date::from_unix_days(secs.div_euclid(86_400))
}

/// The policy checks of one command or request, by one principal on one node.
#[derive(Debug)]
pub struct Gate {
    node: NodeInfo,
    user: UserInfo,
    today: Date,
    sink: LedgerSink,
    allowed: u64,
    denied: u64,
    memo: Memo,
}

impl Gate {
    /// Starts the checks of `user` on `node`, deciding as of `today`; one
    /// ledger entry per decision.
    pub fn new(node: NodeInfo, user: UserInfo, today: Date) -> Gate {
        Gate {
            node,
            user,
            today,
            sink: LedgerSink::new(),
            allowed: 0,
            denied: 0,
            memo: Memo::default(),
        }
    }

    /// As [`Gate::new`], for bulk work (an export of the store): like
    /// record decisions share one ledger entry ([`LedgerSink::grouped`]).
    pub fn bulk(node: NodeInfo, user: UserInfo, today: Date) -> Gate {
        Gate {
            sink: LedgerSink::grouped(),
            ..Gate::new(node, user, today)
        }
    }

    /// The principal.
    pub fn user(&self) -> &UserInfo {
        &self.user
    }

    /// The node.
    pub fn node(&self) -> &NodeInfo {
        &self.node
    }

    /// Decides a node-level `operation` (Cedar action `operate` on the node);
    /// the decision goes to the sink.
    pub fn decide_node(&mut self, policies: &Policies, operation: &str) -> Result<bool> {
        let world = self.world(&[])?;
        let decision = policies.decide_node(&world, &self.user.id, &self.node.id, operation)?;
        self.sink
            .record_node(&self.user.id, &self.node.id, operation, &decision);
        Ok(decision.allowed)
    }

    /// Decides `action` on each of `entities` (one decision each, all to the
    /// sink); returns those allowed, in order, and counts the others.
    ///
    /// A decision depends on the principal, the action, the date and what
    /// the policies can see of the record: its schema, role and markings
    /// ([`record_info`] derives everything else from those and this node),
    /// never on its id, unless a policy names a specific record. So Cedar
    /// is asked once per distinct (schema, role, markings) for the life of
    /// the gate, and every other record of that class gets the remembered
    /// decision under its own id, to the sink like any other. When the
    /// policies name a record ([`Policies::names_records`]), every record
    /// is evaluated on its own instead.
    pub fn filter<'e>(
        &mut self,
        policies: &Policies,
        basis: &dyn BasisSource,
        action: Action,
        entities: &'e [Entity],
    ) -> Result<Vec<&'e Entity>> {
        if entities.is_empty() {
            return Ok(Vec::new());
        }
        let kept = if policies.names_records() {
            self.filter_each(policies, basis, action, entities)?
        } else {
            self.filter_by_class(policies, basis, action, entities)?
        };
        self.allowed += kept.len() as u64;
        self.denied += (entities.len() - kept.len()) as u64;
        Ok(kept)
    }

    /// [`Gate::filter`] with every record evaluated by Cedar (in one world
    /// of all `entities`).
    fn filter_each<'e>(
        &mut self,
        policies: &Policies,
        basis: &dyn BasisSource,
        action: Action,
        entities: &'e [Entity],
    ) -> Result<Vec<&'e Entity>> {
        let world = self.world(entities)?;
        let decider = Decider {
            policies,
            world: &world,
            basis,
        };
        let template = query(&self.user, self.today, action, "");
        let ids: Vec<&str> = entities.iter().map(|e| e.id.as_str()).collect();
        let allowed = filter(&decider, &template, &ids, &mut self.sink)?;
        let mut allowed = allowed.into_iter().peekable();
        let mut kept = Vec::with_capacity(entities.len());
        for entity in entities {
            if allowed.peek() == Some(&entity.id.as_str()) {
                allowed.next();
                kept.push(entity);
            }
        }
        Ok(kept)
    }

    /// [`Gate::filter`] with Cedar asked once per record class (see there).
    fn filter_by_class<'e>(
        &mut self,
        policies: &Policies,
        basis: &dyn BasisSource,
        action: Action,
        entities: &'e [Entity],
    ) -> Result<Vec<&'e Entity>> {
        // Remembered decisions hold for one policy set and one action.
        if self.memo.policy_digest != policies.digest() || self.memo.action != Some(action) {
            self.memo.clear();
            self.memo.policy_digest = policies.digest().to_owned();
            self.memo.action = Some(action);
        }
        let mut kept = Vec::with_capacity(entities.len());
        for entity in entities {
            let hash = self.memo.hash(entity);
            let remembered = self.memo.get_mut(hash, entity);
            let allowed = match remembered {
                Some(decision) => {
                    decision.resource.clear();
                    decision.resource.push_str(entity.id.as_str());
                    self.sink.record(decision);
                    decision.allowed
                }
                None => {
                    let world = self.world(std::slice::from_ref(entity))?;
                    let decider = Decider {
                        policies,
                        world: &world,
                        basis,
                    };
                    let query = query(&self.user, self.today, action, entity.id.as_str());
                    let decision = decide(&decider, &query, &mut self.sink)?;
                    let allowed = decision.allowed;
                    self.memo.insert(hash, entity, decision);
                    allowed
                }
            };
            if allowed {
                kept.push(entity);
            }
        }
        Ok(kept)
    }

    /// Records decided and allowed so far.
    pub fn allowed(&self) -> u64 {
        self.allowed
    }

    /// Records decided and denied so far (left out).
    pub fn denied(&self) -> u64 {
        self.denied
    }

    /// Adds another entry to this command's ledger append.
    pub fn log(&mut self, entry: palermo_ledger::entry::NewEntry) {
        self.sink.log(entry);
    }

    /// Takes every ledger entry collected so far (decisions first), for the
    /// caller's one `ledger_append`.
    pub fn take_entries(&mut self) -> Vec<palermo_ledger::entry::NewEntry> {
        self.sink.take()
    }

    /// The world of a decision: this node, the principal and `entities`.
    fn world(&self, entities: &[Entity]) -> Result<World> {
        let records = entities
            .iter()
            .map(|e| record_info(&self.node, e))
            .collect();
        Ok(World::new(WorldInfo {
            nodes: vec![self.node.clone()],
            users: vec![self.user.clone()],
            records,
        })?)
    }
}

/// The query of `action` on `record` by `user` on `today`, with no target
/// node, request, override or approver: what the gate asks.
fn query<'q>(user: &'q UserInfo, today: Date, action: Action, record: &'q str) -> Query<'q> {
    Query {
        record,
        ..Query::plain(&user.id, action, today)
    }
}

/// Record classes decided so far more than this are forgotten all at once:
/// a store whose every record has its own markings (a retain-until date
/// per record, say) must not grow the memo without bound.
const MEMO_MAX: usize = 65_536;

/// Decisions remembered by record class: what the policies can see of a
/// record (schema, role, markings), for one policy set and one action.
#[derive(Debug, Default)]
struct Memo {
    policy_digest: String,
    action: Option<Action>,
    /// Classes by a hash of the class; equal hashes are told apart by
    /// comparing the class itself, so a collision cannot share a decision.
    classes: HashMap<u64, Vec<(Class, Decision)>>,
    len: usize,
    hasher: std::collections::hash_map::RandomState,
}

/// What the policies can see of a stored record besides its id.
#[derive(Debug)]
struct Class {
    schema: Schema,
    role: Option<Role>,
    markings: Markings,
}

impl Class {
    fn matches(&self, entity: &Entity) -> bool {
        self.schema == entity.schema && self.role == entity.role && self.markings == entity.markings
    }
}

impl Memo {
    /// The hash of `entity`'s class.
    fn hash(&self, entity: &Entity) -> u64 {
        self.hasher
            .hash_one((&entity.schema, &entity.role, &entity.markings))
    }

    fn clear(&mut self) {
        self.classes.clear();
        self.len = 0;
    }

    /// The remembered decision for `entity`'s class, if any.
    fn get_mut(&mut self, hash: u64, entity: &Entity) -> Option<&mut Decision> {
        self.classes
            .get_mut(&hash)?
            .iter_mut()
            .find(|(class, _)| class.matches(entity))
            .map(|(_, decision)| decision)
    }

    fn insert(&mut self, hash: u64, entity: &Entity, decision: Decision) {
        if self.len >= MEMO_MAX {
            self.clear();
        }
        let class = Class {
            schema: entity.schema,
            role: entity.role,
            markings: entity.markings.clone(),
        };
        self.classes
            .entry(hash)
            .or_default()
            .push((class, decision));
        self.len += 1;
    }
}
