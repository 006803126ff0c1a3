//! Authentication (bearer tokens) and the one place where the API asks the
//! policy crate: `Authz` decides node-level operations and record actions
//! through the node's policy gate (`palermo_node::Gate`, shared with the
//! CLI), collects every decision in the one ledger sink
//! (`palermo_node::LedgerSink`), and writes them all to the ledger in one
//! append per HTTP request (`Authz::flush`), so filtering a thousand search
//! results is one ledger transaction, not a thousand.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use palermo_ledger::entry::NewEntry;
use palermo_model::Entity;
use palermo_node::Gate;
use palermo_policy::{Action, NodeInfo};
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

/// The policy checks of one HTTP request.
pub(crate) struct Authz {
    state: ServerState,
    gate: Gate,
}

impl Authz {
    /// Starts the checks of a request by `user`.
    pub(crate) fn new(state: &ServerState, user: &AuthUser) -> Authz {
        let config = state.config();
        let node = NodeInfo {
            id: config.node_name.clone(),
            jurisdiction: config.jurisdiction.clone(),
            agency: config.agency.clone(),
        };
        let principal = palermo_node::gate::user_info(&node, &user.0);
        Authz {
            state: state.clone(),
            gate: Gate::new(node, principal, palermo_node::today()),
        }
    }

    /// Adds an entry (an import batch...) to this request's ledger append.
    pub(crate) fn log(&mut self, entry: NewEntry) {
        self.gate.log(entry);
    }

    /// Decides a node-level `operation`; on deny, writes the decisions so
    /// far to the ledger and returns a 403 problem.
    pub(crate) async fn check(&mut self, operation: &str) -> Result<(), Problem> {
        let allowed = self
            .gate
            .decide_node(self.state.policies(), operation)
            .map_err(|e| Problem::internal(&e))?;
        if allowed {
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
        self.gate
            .filter(self.state.policies(), self.state.basis(), action, entities)
            .map_err(|e| Problem::internal(&e))
    }

    /// Writes every decision (and logged entry) of the request to the
    /// ledger in one append.
    pub(crate) async fn flush(&mut self) -> Result<(), Problem> {
        let entries = self.gate.take_entries();
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
}
