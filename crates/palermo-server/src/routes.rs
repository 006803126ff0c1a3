//! The route table and its handlers. [`ROUTES`] is the single list the
//! router is built from, so tests can enumerate every route; [`ApiDoc`] is
//! the OpenAPI document of the same routes.

use std::collections::HashSet;
use std::io::Cursor;
use std::path::Path;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use palermo_ingest::{ImportConfig, InputFormat, MarkingConfig, read_entities};
use palermo_ledger::EntryBody;
use palermo_ledger::entry::NewEntry;
use palermo_model::{Entity, Markings, Provenance, Purpose, Schema, Tlp};
use palermo_policy::Action;
use palermo_store::{
    BatchMeta, EntryFilter, ImportTx, InsertCounts, LedgerStore, Store, ledger_inclusion_proof,
    name_key,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use uuid::Uuid;

use crate::ServerState;
use crate::authz::{AuthUser, Authz};
use crate::problem::Problem;

/// One route of the API.
#[derive(Clone, Copy)]
pub struct Route {
    /// The HTTP method (upper case).
    pub method: &'static str,
    /// The path, in axum and OpenAPI syntax (`/api/v1/entities/{id}`).
    pub path: &'static str,
    /// Builds the handler.
    pub handler: fn() -> MethodRouter<ServerState>,
}

impl Route {
    /// A route: one line of [`ROUTES`].
    const fn new(
        method: &'static str,
        path: &'static str,
        handler: fn() -> MethodRouter<ServerState>,
    ) -> Route {
        Route {
            method,
            path,
            handler,
        }
    }
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// Every route of the API: the router is built from this table.
pub const ROUTES: &[Route] = &[
    Route::new("GET", "/health", || get(health)),
    Route::new("GET", "/metrics", || get(metrics)),
    Route::new("GET", "/openapi.json", || get(openapi)),
    Route::new("GET", "/api/v1/entities", || get(search)),
    Route::new("GET", "/api/v1/entities/{id}", || get(entity)),
    Route::new("POST", "/api/v1/import", || post(import)),
    Route::new("GET", "/api/v1/ledger/head", || get(ledger_head)),
    Route::new("GET", "/api/v1/ledger/proof/inclusion", || {
        get(inclusion_proof)
    }),
    Route::new("GET", "/api/v1/hits", || get(crate::hits::hits)),
    Route::new("POST", "/api/v1/resolve", || post(crate::resolve::resolve)),
];

/// The OpenAPI document of the node's API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Palermo node API",
        description = "The local API of a Palermo node. Every route needs a bearer token \
            (`palermo user add`) and is decided by the node's sharing policy; every decision \
            is written to the node's ledger. Errors are RFC 9457 problem documents."
    ),
    paths(
        health,
        metrics,
        openapi,
        search,
        entity,
        import,
        ledger_head,
        inclusion_proof,
        crate::hits::hits,
        crate::resolve::resolve
    ),
    components(schemas(
        Problem,
        Health,
        SearchResults,
        EntitySummary,
        ImportResult,
        LedgerHead,
        InclusionProofDoc,
        crate::resolve::ResolveResult
    )),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// Adds the bearer-token security scheme.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("plm_ token")
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document as served and committed (pretty JSON, trailing newline).
pub fn openapi_json() -> String {
    let mut text = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

/// Maps any internal failure to a 500 problem (logged, not shown).
fn internal<E: std::fmt::Display>(err: E) -> Problem {
    Problem::internal(&err)
}

/// The node is up.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
    /// The node's name.
    pub node: String,
    /// The software version.
    pub version: String,
    /// Entries on the node's ledger.
    pub ledger_size: u64,
}

/// Health of the node.
#[utoipa::path(get, path = "/health", tag = "node",
    responses(
        (status = 200, description = "The node is up", body = Health),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not permitted", body = Problem, content_type = "application/problem+json"),
    ))]
async fn health(
    State(state): State<ServerState>,
    Extension(user): Extension<AuthUser>,
) -> Result<Json<Health>, Problem> {
    let mut authz = Authz::new(&state, &user);
    authz.check("health").await?;
    let ledger_size = state.store().ledger_size().await.map_err(internal)?;
    authz.flush().await?;
    Ok(Json(Health {
        status: "ok".to_owned(),
        node: state.config().node_name.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        ledger_size,
    }))
}

/// Request counters and durations per route and status (Prometheus text).
#[utoipa::path(get, path = "/metrics", tag = "node",
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not permitted (administrators only by default)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn metrics(
    State(state): State<ServerState>,
    Extension(user): Extension<AuthUser>,
) -> Result<Response, Problem> {
    let mut authz = Authz::new(&state, &user);
    authz.check("metrics").await?;
    authz.flush().await?;
    let text = crate::prometheus().map(|h| h.render()).unwrap_or_default();
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "node",
    responses(
        (status = 200, description = "The OpenAPI document", body = Object),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not permitted", body = Problem, content_type = "application/problem+json"),
    ))]
async fn openapi(
    State(state): State<ServerState>,
    Extension(user): Extension<AuthUser>,
) -> Result<Response, Problem> {
    let mut authz = Authz::new(&state, &user);
    authz.check("openapi").await?;
    authz.flush().await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], openapi_json()).into_response())
}

/// Parameters of an entity search.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Name to search for; every word must match a name token.
    q: String,
    /// Only this schema (e.g. `Person`).
    schema: Option<String>,
    /// At most this many results (default 50, at most 1000).
    limit: Option<usize>,
    /// The case the search is for (recorded on the ledger's `query` entry,
    /// which the insider-abuse report compares with the user's assigned cases).
    case: Option<String>,
}

/// One search result.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EntitySummary {
    /// Entity id.
    pub id: String,
    /// Schema.
    pub schema: String,
    /// Display name.
    pub caption: String,
    /// Role of the person (suspect, victim, witness, other), if known.
    pub role: Option<String>,
    /// The record's markings.
    #[schema(value_type = Object)]
    pub markings: serde_json::Value,
}

/// Search results the sharing policy lets the user see.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchResults {
    /// The results, in import order.
    pub results: Vec<EntitySummary>,
    /// Whether more candidates were left unexamined (raise `limit` or narrow `q`).
    pub more: bool,
}

/// Default and largest `limit` of a search.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 1000;

/// Searches entities by name; results pass the policy one by one (`search`).
#[utoipa::path(get, path = "/api/v1/entities", tag = "entities", params(SearchParams),
    responses(
        (status = 200, description = "Matching entities the user may see", body = SearchResults),
        (status = 400, description = "Bad parameters", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not permitted", body = Problem, content_type = "application/problem+json"),
    ))]
async fn search(
    State(state): State<ServerState>,
    Extension(user): Extension<AuthUser>,
    Query(params): Query<SearchParams>,
) -> Result<Json<SearchResults>, Problem> {
    let mut authz = Authz::new(&state, &user);
    authz.check("search").await?;
    let bad = |detail: String| Problem::new(StatusCode::BAD_REQUEST, detail);
    let schema = params
        .schema
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<Schema>().map_err(|e| bad(format!("schema: {e}"))))
        .transpose()?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(bad(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    let keys: Vec<String> = params.q.split_whitespace().filter_map(name_key).collect();
    if keys.is_empty() {
        return Err(bad("q must contain a name to search for".to_owned()));
    }
    // Candidates: ids carrying every key, in the first key's (import) order.
    let mut candidates = state
        .store()
        .find_by_key(&keys[0])
        .await
        .map_err(internal)?;
    for key in &keys[1..] {
        let ids: HashSet<String> = state
            .store()
            .find_by_key(key)
            .await
            .map_err(internal)?
            .into_iter()
            .collect();
        candidates.retain(|id| ids.contains(id));
    }
    let mut seen = HashSet::new();
    candidates.retain(|id| seen.insert(id.clone()));
    // Examine candidates a chunk at a time until `limit` are allowed.
    let mut results = Vec::new();
    let mut next = 0;
    while results.len() < limit && next < candidates.len() {
        let end = (next + limit).min(candidates.len());
        let mut chunk: Vec<Entity> = Vec::with_capacity(end - next);
        for id in &candidates[next..end] {
            if let Some(entity) = state.store().get(id).await.map_err(internal)?
                && schema.is_none_or(|s| entity.schema == s)
            {
                chunk.push(entity);
            }
        }
        next = end;
        for entity in authz.filter(Action::Search, &chunk)? {
            if results.len() < limit {
                results.push(summary(entity));
            }
        }
    }
    if !results.is_empty() {
        authz.log(query_entry(
            &user,
            params.case.clone(),
            results.iter().map(|r| r.id.clone()).collect(),
        ));
    }
    authz.flush().await?;
    Ok(Json(SearchResults {
        results,
        more: next < candidates.len(),
    }))
}

fn summary(entity: &Entity) -> EntitySummary {
    EntitySummary {
        id: entity.id.as_str().to_owned(),
        schema: entity.schema.as_str().to_owned(),
        caption: entity.caption(),
        role: entity.role.map(|r| r.as_str().to_owned()),
        markings: serde_json::to_value(&entity.markings).unwrap_or_default(),
    }
}

/// A `query` ledger entry: the user looked up these records.
fn query_entry(user: &AuthUser, case: Option<String>, persons: Vec<String>) -> NewEntry {
    NewEntry {
        actor: user.0.name.clone(),
        case: case.filter(|c| !c.trim().is_empty()),
        time: None,
        body: EntryBody::Query {
            persons,
            purpose: None,
            legal_basis: None,
            policy_decision: None,
        },
    }
}

/// Parameters of an entity view.
#[derive(Debug, Deserialize)]
pub struct ViewParams {
    /// The case the view is for.
    case: Option<String>,
}

/// One entity (FtM JSON with `palermo.markings` and `palermo.provenance`),
/// if the policy lets the user `view` it.
#[utoipa::path(get, path = "/api/v1/entities/{id}", tag = "entities",
    params(
        ("id" = String, Path, description = "Entity id"),
        ("case" = Option<String>, Query, description = "The case the view is for (recorded on the ledger)")
    ),
    responses(
        (status = 200, description = "The entity with its markings and provenance", body = Object),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not permitted", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such entity that the user may see", body = Problem, content_type = "application/problem+json"),
    ))]
async fn entity(
    State(state): State<ServerState>,
    Extension(user): Extension<AuthUser>,
    UrlPath(id): UrlPath<String>,
    Query(params): Query<ViewParams>,
) -> Result<Json<serde_json::Value>, Problem> {
    let mut authz = Authz::new(&state, &user);
    authz.check("view").await?;
    let found = state.store().get(&id).await.map_err(internal)?;
    let entities: Vec<Entity> = found.into_iter().collect();
    let allowed = authz.filter(Action::View, &entities)?;
    // A record the user may not see looks like a missing one: no existence oracle.
    let Some(entity) = allowed.first() else {
        authz.flush().await?;
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            format!("no entity {id:?} that you may see"),
        ));
    };
    let doc = palermo_model::to_ftm_value(entity);
    authz.log(query_entry(&user, params.case, vec![id]));
    authz.flush().await?;
    Ok(Json(doc))
}

/// Parameters of an import.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Schema of CSV records (default `Person`).
    schema: Option<String>,
    /// CSV column holding the record id (default `id`, `record_id` or `rec_id`).
    id_column: Option<String>,
    /// TLP level for records that are not victims (default TLP:AMBER).
    marking: Option<String>,
    /// TLP level for victims (default TLP:RED).
    victim_marking: Option<String>,
    /// Purpose limitation: `case:ID` or free text.
    purpose: Option<String>,
    /// Retention end date (YYYY-MM-DD).
    retain_until: Option<String>,
}

/// What an import did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportResult {
    /// The batch id.
    pub batch_id: String,
    /// Records read.
    pub records: u64,
    /// Records new to the store.
    pub new: u64,
    /// Records already stored with identical content.
    pub unchanged: u64,
    /// Things skipped that the user should know about.
    pub warnings: Vec<String>,
}

/// Records per store insert call.
const CHUNK: usize = 10_000;

/// Imports a CSV (`text/csv`) or FtM JSON lines (`application/x-ndjson`)
/// body in one transaction, and records the batch on the ledger.
#[utoipa::path(post, path = "/api/v1/import", tag = "entities", params(ImportParams),
    request_body(description = "CSV with a header row, or FtM JSON lines", content(
        (String = "text/csv"),
        (String = "application/x-ndjson")
    )),
    responses(
        (status = 200, description = "The batch was imported", body = ImportResult),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not permitted", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A record conflicts with a stored one; nothing imported", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the node's limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither CSV nor JSON lines", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid records; nothing imported", body = Problem, content_type = "application/problem+json"),
    ))]
async fn import(
    State(state): State<ServerState>,
    Extension(user): Extension<AuthUser>,
    Query(params): Query<ImportParams>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ImportResult>, Problem> {
    let mut authz = Authz::new(&state, &user);
    authz.check("import").await?;
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            authz.flush().await?;
            return Err(Problem::new(rejection.status(), rejection.body_text()));
        }
    };
    let result = import_body(&state, &user, &params, &headers, &body).await;
    match result {
        Ok((result, entry)) => {
            authz.log(entry);
            authz.flush().await?;
            Ok(Json(result))
        }
        Err(problem) => {
            authz.flush().await?;
            Err(problem)
        }
    }
}

async fn import_body(
    state: &ServerState,
    user: &AuthUser,
    params: &ImportParams,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(ImportResult, NewEntry), Problem> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let (format, ext) = match media.as_str() {
        "text/csv" | "text/tab-separated-values" => (InputFormat::Csv, "csv"),
        "application/x-ndjson"
        | "application/jsonl"
        | "application/jsonlines"
        | "application/x-jsonlines"
        | "application/json" => (InputFormat::Ftm, "jsonl"),
        _ => {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send text/csv or application/x-ndjson (FtM JSON lines)",
            ));
        }
    };
    let invalid = |detail: String| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail);
    let config = import_config(params, format, &user.0.name).map_err(invalid)?;
    let batch = Uuid::now_v7();
    let name = format!("api-upload-{batch}.{ext}");
    let mut entities = Vec::new();
    let (n_records, warnings) = read_entities(
        Cursor::new(body),
        Path::new(&name),
        &config,
        &mut |entity| entities.push(entity),
    )
    .map_err(|err| {
        if err.is_bad_input() {
            invalid(err.to_string())
        } else {
            internal(err)
        }
    })?;
    let meta = BatchMeta {
        id: batch,
        source_file: name.clone(),
        input_format: ext.to_owned(),
        imported_by: user.0.name.clone(),
        started_at: OffsetDateTime::now_utc(),
    };
    for (idx, entity) in entities.iter_mut().enumerate() {
        entity.provenance = Some(Provenance {
            batch_id: batch,
            imported_at: meta.started_at,
            imported_by: meta.imported_by.clone(),
            record: idx as u64 + 1,
            source_file: name.clone(),
        });
    }
    let mut tx = state.store().begin_import(&meta).await.map_err(internal)?;
    let mut counts = InsertCounts::default();
    for chunk in entities.chunks(CHUNK) {
        let inserted = tx.insert(chunk).await.map_err(|err| match err {
            palermo_store::Error::Conflict { id, .. } => Problem::new(
                StatusCode::CONFLICT,
                format!("record {id:?} is already stored with other content; nothing was imported"),
            ),
            other => internal(other),
        })?;
        counts.new += inserted.new;
        counts.unchanged += inserted.unchanged;
    }
    tx.commit(n_records, counts).await.map_err(internal)?;
    let entry = NewEntry {
        actor: user.0.name.clone(),
        case: None,
        time: None,
        body: EntryBody::ImportBatch {
            source: format!("{name} (batch {batch})"),
            n_records,
            sha256: Some(hex::encode(Sha256::digest(body))),
        },
    };
    Ok((
        ImportResult {
            batch_id: batch.to_string(),
            records: n_records,
            new: counts.new,
            unchanged: counts.unchanged,
            warnings,
        },
        entry,
    ))
}

fn import_config(
    params: &ImportParams,
    format: InputFormat,
    user: &str,
) -> Result<ImportConfig, String> {
    let field = |name: &str, err: &dyn std::fmt::Display| format!("{name}: {err}");
    let schema = match params.schema.as_deref() {
        Some(text) => text.parse::<Schema>().map_err(|e| field("schema", &e))?,
        None => Schema::Person,
    };
    let tlp = |name: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(str::parse::<Tlp>)
            .transpose()
            .map_err(|e| field(name, &e))
    };
    Ok(ImportConfig {
        format: Some(format),
        schema,
        id_column: params.id_column.clone(),
        maps: Vec::new(),
        markings: MarkingConfig {
            tlp: tlp("marking", &params.marking)?,
            victim_tlp: tlp("victim_marking", &params.victim_marking)?,
            purpose: params
                .purpose
                .as_deref()
                .map(str::parse::<Purpose>)
                .transpose()
                .map_err(|e| field("purpose", &e))?,
            retain_until: params
                .retain_until
                .as_deref()
                .map(Markings::parse_retain_until)
                .transpose()
                .map_err(|e| field("retain_until", &e))?,
            originator: None,
            onward_sharing: false,
            handling: None,
        },
        imported_by: user.to_owned(),
    })
}

/// The latest signed tree head of the node's ledger.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LedgerHead {
    /// Number of entries.
    pub size: u64,
    /// RFC 9162 Merkle root (hex).
    pub root: String,
    /// When the head was signed (ms since the Unix epoch).
    pub timestamp_ms: u64,
    /// Fingerprint of the signing key.
    pub key_id: String,
    /// Ed25519 signature (base64).
    pub signature: String,
    /// The node's public key (base64 of the raw 32 bytes).
    pub public_key: String,
}

/// The latest signed tree head of the node's ledger.
#[utoipa::path(get, path = "/api/v1/ledger/head", tag = "ledger",
    responses(
        (status = 200, description = "The latest signed tree head", body = LedgerHead),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not permitted", body = Problem, content_type = "application/problem+json"),
    ))]
async fn ledger_head(
    State(state): State<ServerState>,
    Extension(user): Extension<AuthUser>,
) -> Result<Json<LedgerHead>, Problem> {
    let mut authz = Authz::new(&state, &user);
    authz.check("ledger").await?;
    // Write this request's decision first, so the head returned covers it.
    authz.flush().await?;
    let head = state.store().ledger_head().await.map_err(internal)?;
    let head = head.ok_or_else(|| internal("the ledger has no head after an append"))?;
    Ok(Json(LedgerHead {
        size: head.head.size,
        root: head.head.root.to_hex(),
        timestamp_ms: head.head.timestamp_ms,
        key_id: head.key_id,
        signature: head.signature,
        public_key: state.config().ledger_key.public().to_base64(),
    }))
}

/// Parameters of an inclusion proof.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProofParams {
    /// The entry's position (0-based).
    seq: u64,
    /// The size of a signed head to prove against (default: the latest).
    size: Option<u64>,
}

/// An inclusion proof of one ledger entry in a signed tree head.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InclusionProofDoc {
    /// The entry's position.
    pub seq: u64,
    /// The entry's leaf hash (hex).
    pub leaf: String,
    /// The tree size proved against.
    pub size: u64,
    /// The audit path (hex), from the leaf's sibling up.
    pub path: Vec<String>,
    /// The signed head of that size.
    #[schema(value_type = Object)]
    pub head: serde_json::Value,
}

/// Proves that entry `seq` is in the ledger (RFC 9162 inclusion proof).
#[utoipa::path(get, path = "/api/v1/ledger/proof/inclusion", tag = "ledger", params(ProofParams),
    responses(
        (status = 200, description = "The proof", body = InclusionProofDoc),
        (status = 400, description = "No such entry or head size", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not permitted", body = Problem, content_type = "application/problem+json"),
    ))]
async fn inclusion_proof(
    State(state): State<ServerState>,
    Extension(user): Extension<AuthUser>,
    Query(params): Query<ProofParams>,
) -> Result<Json<InclusionProofDoc>, Problem> {
    let mut authz = Authz::new(&state, &user);
    authz.check("ledger").await?;
    authz.flush().await?;
    let heads = state.store().ledger_heads().await.map_err(internal)?;
    let bad = |detail: String| Problem::new(StatusCode::BAD_REQUEST, detail);
    let head = match params.size {
        Some(size) => heads.iter().find(|h| h.head.size == size),
        None => heads.last(),
    }
    .ok_or_else(|| bad("there is no signed tree head of that size".to_owned()))?;
    let size = head.head.size;
    if params.seq >= size {
        return Err(bad(format!(
            "seq {}: the tree of size {size} has entries 0..{size}",
            params.seq
        )));
    }
    let proof = ledger_inclusion_proof(state.store(), params.seq, size)
        .await
        .map_err(internal)?;
    let filter = EntryFilter {
        kind: None,
        actor: None,
        case: None,
        subject: None,
        from_seq: params.seq,
        limit: 1,
    };
    let stored = state
        .store()
        .ledger_entries(&filter)
        .await
        .map_err(internal)?;
    let leaf = stored
        .first()
        .filter(|e| e.seq == params.seq)
        .ok_or_else(|| internal(format!("ledger entry {} is missing", params.seq)))?
        .leaf;
    Ok(Json(InclusionProofDoc {
        seq: params.seq,
        leaf: leaf.to_hex(),
        size,
        path: proof.path.iter().map(|h| h.to_hex()).collect(),
        head: serde_json::to_value(head).unwrap_or_default(),
    }))
}
