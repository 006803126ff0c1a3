//! `POST /api/v1/resolve`: entity resolution in the node's store, through
//! the same library as `palermo resolve` (`palermo_node::resolution`).
//!
//! Policy-checked like every route (node-level operation `resolve`), and one
//! ledger append per run: the decision and the run's `resolution-run`
//! entry. The answer counts clusters and merges and gives the run's time; it
//! carries no record content.

use axum::Json;
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use palermo_node::resolution::{RunConfig, RunSummary, run, run_entry};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::ServerState;
use crate::authz::{AuthUser, Authz};
use crate::problem::Problem;

/// Parameters of a resolution run.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResolveParams {
    /// Recompute everything (retrain the model, recluster every person); default false: resolve only persons imported since the last run.
    full: Option<bool>,
    /// Match probability at or above which two records are the same person (default 0.5).
    threshold: Option<f64>,
    /// Skip blocking keys shared by more records than this (default 400).
    max_block: Option<usize>,
}

/// What a resolution run did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ResolveResult {
    /// The run id (empty when there was nothing new to resolve).
    pub run_id: String,
    /// `full` or `incremental`.
    pub mode: String,
    /// The model version used or trained.
    pub model_version: i64,
    /// Records resolved by this run.
    pub records: u64,
    /// Already resolved records loaded as neighbours (incremental runs).
    pub neighbours: u64,
    /// Pairs compared.
    pub candidate_pairs: u64,
    /// Machine merges made.
    pub merges: u64,
    /// Clusters in the store after the run.
    pub clusters: u64,
    /// Clusters created.
    pub new_clusters: u64,
    /// Existing clusters that grew.
    pub grown_clusters: u64,
    /// Persons resolved in the store after the run.
    pub resolved: u64,
    /// Confirmed pairs not joined because they would join a rejected pair.
    pub conflicts: Vec<[String; 2]>,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
}

impl From<RunSummary> for ResolveResult {
    fn from(s: RunSummary) -> ResolveResult {
        ResolveResult {
            run_id: s.run_id,
            mode: s.mode.to_owned(),
            model_version: s.model_version,
            records: s.records as u64,
            neighbours: s.neighbours as u64,
            candidate_pairs: s.candidate_pairs,
            merges: s.merges as u64,
            clusters: s.clusters,
            new_clusters: s.new_clusters as u64,
            grown_clusters: s.grown_clusters as u64,
            resolved: s.resolved,
            conflicts: s.conflicts.into_iter().map(|(a, b)| [a, b]).collect(),
            seconds: s.seconds,
        }
    }
}

/// Resolves the node's persons into clusters (incremental unless `full`).
#[utoipa::path(post, path = "/api/v1/resolve", tag = "entities", params(ResolveParams),
    responses(
        (status = 200, description = "The run's counts and time", body = ResolveResult),
        (status = 400, description = "A bad parameter, or no persons to resolve", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not permitted", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another run changed the store meanwhile; nothing written", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn resolve(
    State(state): State<ServerState>,
    Extension(user): Extension<AuthUser>,
    Query(params): Query<ResolveParams>,
) -> Result<Json<ResolveResult>, Problem> {
    let mut authz = Authz::new(&state, &user);
    authz.check("resolve").await?;
    let config = RunConfig {
        threshold: params.threshold.unwrap_or(0.5),
        max_block: params.max_block.unwrap_or(400),
        full: params.full.unwrap_or(false),
        actor: user.0.name.clone(),
    };
    match run(state.store(), &config).await {
        Ok(summary) => {
            if let Some(entry) = run_entry(&summary, &user.0.name) {
                authz.log(entry);
            }
            authz.flush().await?;
            Ok(Json(summary.into()))
        }
        Err(err) => {
            authz.flush().await?;
            Err(match &err {
                err if err.is_bad_input() => Problem::new(StatusCode::BAD_REQUEST, err.to_string()),
                palermo_node::Error::Store(store @ palermo_store::Error::Conflict { .. }) => {
                    Problem::new(StatusCode::CONFLICT, store.to_string())
                }
                other => Problem::internal(other),
            })
        }
    }
}
