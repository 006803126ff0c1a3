//! Authentication (bearer tokens) and the one place where the API asks the
//! policy crate: `Authz` decides node-level operations and record actions,
//! collects every decision, and writes them all to the ledger in one append
//! per HTTP request (`Authz::flush`), so filtering a thousand search
//! results is one ledger transaction, not a thousand.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use palermo_ledger::EntryBody;
use palermo_ledger::entry::NewEntry;
use palermo_model::{Entity, Purpose};
use palermo_policy::{
    Action, Decider, Decision, DecisionSink, NodeInfo, Query, RecordInfo, UserInfo, UserRole,
    World, WorldInfo, decide, filter,
};
use palermo_store::{LedgerStore, UserRecord};

use crate::problem::Problem;
use crate::{ServerState, token};

/// The authenticated user of a request (a request extension).
#[derive(Debug, Clone)]
pub struct AuthUser(pub UserRecord);

/// Middleware: a valid `Authorization: Bearer <token>` of an active user,
/// or a 401 problem. Runs on every route.
pub(crate) async fn authenticate(
    State(state): State<ServerState>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty());
    let Some(presented) = presented else {
        return Problem::new(
            StatusCode::UNAUTHORIZED,
            "send a Palermo API token as `Authorization: Bearer plm_...`",
        )
        .into_response();
    };
    match state.store().user_by_token(&token::hash(presented)).await {
        Ok(Some(user)) => {
            request.extensions_mut().insert(AuthUser(user));
            next.run(request).await
        }
        Ok(None) => Problem::new(
            StatusCode::UNAUTHORIZED,
            "the token is unknown or its user was revoked",
        )
        .into_response(),
        Err(err) => Problem::internal(&err).into_response(),
    }
}

/// Collects decisions as ledger entries (`policy-decision`).
#[derive(Debug, Default)]
struct LedgerSink {
    entries: Vec<NewEntry>,
}

impl LedgerSink {
    fn push(&mut self, actor: &str, request: String, allowed: bool, policies: Vec<String>) {
        self.entries.push(NewEntry {
            actor: actor.to_owned(),
            case: None,
            time: None,
            body: EntryBody::PolicyDecision {
                request,
                decision: if allowed { "allow" } else { "deny" }.to_owned(),
                policies,
            },
        });
    }
}

impl DecisionSink for LedgerSink {
    fn record(&mut self, decision: &Decision) {
        let actor = decision.principal.clone();
        self.push(
            &actor,
            format!("{} record:{}", decision.action, decision.resource),
            decision.allowed,
            decision.determining.clone(),
        );
    }
}

/// The policy checks of one HTTP request.
pub(crate) struct Authz {
    state: ServerState,
    user: UserRecord,
    sink: LedgerSink,
    extra: Vec<NewEntry>,
}

impl Authz {
    /// Starts the checks of a request by `user`.
    pub(crate) fn new(state: &ServerState, user: &AuthUser) -> Authz {
        Authz {
            state: state.clone(),
            user: user.0.clone(),
            sink: LedgerSink::default(),
            extra: Vec::new(),
        }
    }

    /// Adds an entry (an import batch...) to this request's ledger append.
    pub(crate) fn log(&mut self, entry: NewEntry) {
        self.extra.push(entry);
    }

    /// Decides a node-level `operation`; on deny, writes the decisions so
    /// far to the ledger and returns a 403 problem.
    pub(crate) async fn check(&mut self, operation: &str) -> Result<(), Problem> {
        let decision = {
            let world = self.world(&[]).map_err(|e| Problem::internal(&e))?;
            let config = self.state.config();
            self.state
                .policies()
                .decide_node(&world, &self.user.name, &config.node_name, operation)
                .map_err(|e| Problem::internal(&e))?
        };
        let node = self.state.config().node_name.clone();
        self.sink.push(
            &self.user.name,
            format!("operate node:{node} ({operation})"),
            decision.allowed,
            decision.determining.clone(),
        );
        if decision.allowed {
            return Ok(());
        }
        self.flush().await?;
        Err(Problem::new(
            StatusCode::FORBIDDEN,
            format!("the sharing policy does not permit `{operation}` on this node"),
        ))
    }

    /// Decides `action` on each of `entities`; returns those allowed, in order.
    pub(crate) fn filter<'e>(
        &mut self,
        action: Action,
        entities: &'e [Entity],
    ) -> Result<Vec<&'e Entity>, Problem> {
        if entities.is_empty() {
            return Ok(Vec::new());
        }
        let world = self.world(entities).map_err(|e| Problem::internal(&e))?;
        let decider = Decider {
            policies: self.state.policies(),
            world: &world,
            basis: self.state.basis(),
        };
        let template = Query {
            principal: &self.user.name,
            action,
            record: "",
            target_node: None,
            request: None,
            override_: None,
            approver: None,
            reveals_attributes: false,
            today: today(),
        };
        let allowed: Vec<&str> = if let [one] = entities {
            let query = Query {
                record: one.id.as_str(),
                ..template
            };
            let decision =
                decide(&decider, &query, &mut self.sink).map_err(|e| Problem::internal(&e))?;
            if decision.allowed {
                vec![one.id.as_str()]
            } else {
                Vec::new()
            }
        } else {
            let ids: Vec<&str> = entities.iter().map(|e| e.id.as_str()).collect();
            filter(&decider, &template, &ids, &mut self.sink).map_err(|e| Problem::internal(&e))?
        };
        let mut allowed = allowed.into_iter().peekable();
        let mut kept = Vec::new();
        for entity in entities {
            if allowed.peek() == Some(&entity.id.as_str()) {
                allowed.next();
                kept.push(entity);
            }
        }
        Ok(kept)
    }

    /// Writes every decision (and logged entry) of the request to the
    /// ledger in one append.
    pub(crate) async fn flush(&mut self) -> Result<(), Problem> {
        let mut entries = std::mem::take(&mut self.sink.entries);
        entries.append(&mut self.extra);
        if entries.is_empty() {
            return Ok(());
        }
        self.state
            .store()
            .ledger_append(entries, &self.state.config().ledger_key)
            .await
            .map_err(|e| Problem::internal(&e))?;
        Ok(())
    }

    /// The world of a decision: this node, the user and `entities`.
    fn world(&self, entities: &[Entity]) -> palermo_policy::Result<World> {
        let config = self.state.config();
        let node = NodeInfo {
            id: config.node_name.clone(),
            jurisdiction: config.jurisdiction.clone(),
            agency: config.agency.clone(),
        };
        let user = UserInfo {
            id: self.user.name.clone(),
            node: node.id.clone(),
            agency: self.user.agency.clone(),
            roles: roles(&self.user.roles),
            cases: self.user.cases.clone(),
        };
        let records = entities
            .iter()
            .map(|entity| RecordInfo {
                id: entity.id.as_str().to_owned(),
                schema: entity.schema.as_str().to_owned(),
                node: node.id.clone(),
                role: entity.role,
                case: match &entity.markings.purpose {
                    Some(Purpose::Case(case)) => Some(case.clone()),
                    _ => None,
                },
                markings: entity.markings.clone(),
                recipients: Vec::new(),
                permitted_purposes: Vec::new(),
                withhold_from: Vec::new(),
            })
            .collect();
        World::new(WorldInfo {
            nodes: vec![node],
            users: vec![user],
            records,
        })
    }
}

/// The policy crate's roles among stored role names (unknown names are
/// ignored: they grant nothing).
pub(crate) fn roles(names: &[String]) -> Vec<UserRole> {
    names
        .iter()
        .filter_map(|name| serde_json::from_value(serde_json::Value::from(name.as_str())).ok())
        .collect()
}

/// Today's date for decisions (UTC).
fn today() -> palermo_law::Date {
    let secs = time::OffsetDateTime::now_utc().unix_timestamp();
    palermo_law::Date::from_unix_days(secs.div_euclid(86_400))
}
