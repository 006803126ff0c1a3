//! The policy gate: how node-level code asks [`palermo_policy`] before it
//! shows, searches or exports stored records.
//!
//! A [`Gate`] holds the node, the principal and the date, builds the Cedar
//! world from the records at hand (the node holds them all; a record's case
//! is its `case:ID` purpose), decides through [`palermo_policy::filter`] (so
//! every record gets its own decision) and hands every decision to its
//! [`LedgerSink`]. Denied records are left out and counted. The caller writes
//! [`Gate::take_entries`] to the ledger in one append.
//!
//! The principal is a stored user ([`principal`]), or, for commands run on
//! the node's own machine without `--as`, the [`local_operator`]: the user id
//! `local-operator` of the node's own agency, with the one role
//! `administrator` and no assigned cases. Under the shipped policies that
//! operator sees TLP:CLEAR, GREEN, AMBER and AMBER+STRICT records of its own
//! agency, and no TLP:RED record (those go to named recipients only).

use palermo_law::Date;
use palermo_model::Entity;
use palermo_policy::{
    Action, BasisSource, Decider, NodeInfo, Policies, Query, RecordInfo, UserInfo, UserRole, World,
    WorldInfo, filter,
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
        let world = self.world(entities)?;
        let decider = Decider {
            policies,
            world: &world,
            basis,
        };
        let template = Query {
            principal: &self.user.id,
            action,
            record: "",
            target_node: None,
            request: None,
            override_: None,
            approver: None,
            reveals_attributes: false,
            today: self.today,
        };
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
        self.allowed += kept.len() as u64;
        self.denied += (entities.len() - kept.len()) as u64;
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
