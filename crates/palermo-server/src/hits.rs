//! `GET /api/v1/hits`: the hits of the hit/no-hit exchange, in both
//! directions, as the store holds them (`palermo-federation`'s `hits`).
//!
//! The route is decided like every other (operation `hits` on the node, a
//! ledger entry per decision). Hits carry no attribute values: a hit is a
//! reference, a score band, the case and the local record ids it concerns;
//! fetching those records goes through `GET /api/v1/entities/{id}` and its
//! per-record decision.

use axum::Json;
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use palermo_store::{HitDirection, HitRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::ServerState;
use crate::authz::{AuthUser, Authz};
use crate::problem::Problem;

/// Most hits one request lists.
const MAX_LIMIT: u32 = 1_000;

/// Parameters of the hits list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HitsParams {
    /// `sent` (queries this node asked) or `received` (queries it answered); default both.
    direction: Option<String>,
    /// At most this many hits, newest first (default 100, at most 1000).
    limit: Option<u32>,
}

/// One hit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HitDoc {
    /// `sent` (this node asked) or `received` (this node answered).
    pub direction: String,
    /// The other node.
    pub peer: String,
    /// The opaque hit reference issued by the answering node.
    pub hit_ref: String,
    /// The query message id.
    pub query_id: String,
    /// Position of the encoding in the query batch.
    pub query_index: u64,
    /// The requesting case id.
    pub case_id: String,
    /// `low`, `medium` or `high`.
    pub band: String,
    /// Local record ids: the matched records (received) or the record whose encoding hit (sent).
    pub record_ids: Vec<String>,
    /// When the hit was stored (RFC 3339).
    pub at: String,
    /// `open` until a follow-up request cites it.
    pub status: String,
}

/// The hits list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HitsDoc {
    /// The hits, newest first.
    pub hits: Vec<HitDoc>,
}

impl From<HitRecord> for HitDoc {
    fn from(hit: HitRecord) -> HitDoc {
        HitDoc {
            direction: hit.direction.as_str().to_owned(),
            peer: hit.peer,
            hit_ref: hit.hit_ref,
            query_id: hit.query_id.to_string(),
            query_index: hit.query_index,
            case_id: hit.case_id,
            band: hit.band,
            record_ids: hit.record_ids,
            at: hit
                .at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            status: hit.status,
        }
    }
}

/// Hits of the hit/no-hit exchange, in both directions, newest first.
#[utoipa::path(get, path = "/api/v1/hits", tag = "federation",
    params(HitsParams),
    responses(
        (status = 200, description = "The hits", body = HitsDoc),
        (status = 400, description = "Bad parameters", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not permitted", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn hits(
    State(state): State<ServerState>,
    Extension(user): Extension<AuthUser>,
    Query(params): Query<HitsParams>,
) -> Result<Json<HitsDoc>, Problem> {
    let mut authz = Authz::new(&state, &user);
    authz.check("hits").await?;
    authz.flush().await?;
    let bad = |detail: &str| Problem::new(StatusCode::BAD_REQUEST, detail);
    let direction = match params.direction.as_deref() {
        None | Some("") => None,
        Some("sent") => Some(HitDirection::Sent),
        Some("received") => Some(HitDirection::Received),
        Some(_) => return Err(bad("direction must be sent or received")),
    };
    let limit = params.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(bad("limit must be 1 to 1000"));
    }
    let rows = state
        .store()
        .hits_list(direction, limit)
        .await
        .map_err(|err| Problem::internal(&err))?;
    Ok(Json(HitsDoc {
        hits: rows.into_iter().map(HitDoc::from).collect(),
    }))
}
