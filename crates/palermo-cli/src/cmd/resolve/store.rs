//! `palermo resolve` in the store: runs (full or incremental), human decisions, `show`
//! and `explain --db`.
//!
//! The work is `palermo_node::resolution` (shared with the node's API); this module
//! adds the command line, the ledger append and, for the views (`show`, `explain`),
//! the sharing policy: every record shown is decided (`view`) for the principal
//! (`--as USER`, or the local operator) and all decisions go on the ledger in one
//! append; records the principal may not view are left out and counted.

use std::collections::HashSet;

use palermo_model::Entity;
use palermo_node::resolution::{
    self, DecisionReport, HumanDecision, RunConfig, decision_text, display_name, first, run_entry,
    run_text,
};
use palermo_policy::Action;
use palermo_resolve::incremental::Verdict;
use palermo_store::{AnyStore, DecisionRecord, Store};
use serde::Serialize;

use super::ResolveArgs;
use crate::cmd::ledger::{KeyArgs, actor, append};
use crate::cmd::policy::{Access, AccessArgs, access, node_error};
use crate::exit::CliError;
use crate::output::Ctx;
use crate::store::open_store;

/// A human decision asked for on the command line.
pub(super) struct Decision {
    pub(super) id1: String,
    pub(super) id2: String,
    pub(super) verdict: Verdict,
    pub(super) note: Option<String>,
    pub(super) threshold: f64,
    pub(super) user: Option<String>,
}

/// Runs `palermo resolve` (full or incremental).
pub(super) async fn run(ctx: &Ctx, args: &ResolveArgs) -> Result<(), CliError> {
    let store = open_store(ctx).await?;
    let user = actor(args.user.clone());
    let config = RunConfig {
        threshold: args.threshold,
        max_block: args.max_block,
        full: args.full,
        actor: user.clone(),
    };
    let summary = resolution::run(&store, &config)
        .await
        .map_err(|err| match err {
            palermo_node::Error::Store(e @ palermo_store::Error::Conflict { .. }) => {
                CliError::failure(e)
            }
            other => node_error(other),
        })?;
    if let Some(entry) = run_entry(&summary, &user) {
        append(ctx, &store, &args.key, &user, vec![entry])
            .await
            .map_err(|err| {
                CliError::failure(format!(
                    "resolution run {} was stored but could not be recorded on the ledger: {:#}",
                    summary.run_id, err.error
                ))
            })?;
    }
    for (a, b) in &summary.conflicts {
        eprintln!(
            "warning: confirmed pair {a} / {b} was not joined: it would join a rejected pair"
        );
    }
    ctx.report(&summary, run_text)
}

/// Runs `palermo resolve confirm|reject`.
pub(super) async fn decide(ctx: &Ctx, d: Decision, key: &KeyArgs) -> Result<(), CliError> {
    let store = open_store(ctx).await?;
    let user = actor(d.user.clone());
    let decision = HumanDecision {
        id1: d.id1,
        id2: d.id2,
        verdict: d.verdict,
        note: d.note,
        threshold: d.threshold,
        actor: user.clone(),
    };
    let (report, entry): (DecisionReport, _) = resolution::decide(&store, decision)
        .await
        .map_err(node_error)?;
    append(ctx, &store, key, &user, vec![entry])
        .await
        .map_err(|err| {
            CliError::failure(format!(
                "the decision was stored but could not be recorded on the ledger: {:#}",
                err.error
            ))
        })?;
    ctx.report(&report, decision_text)
}

/// One member in `show`.
#[derive(Debug, Serialize)]
struct Member {
    id: String,
    name: String,
    birth_date: String,
}

/// What `show` reports.
#[derive(Debug, Serialize)]
struct ShowReport {
    id: String,
    /// Who asked (the principal of the policy decisions).
    principal: String,
    cluster_id: Option<String>,
    members: Vec<Member>,
    /// Members the principal may not view: left out, with the decisions about them.
    withheld: u64,
    decisions: Vec<DecisionRecord>,
}

/// Loads `ids` from the store and keeps those the principal may view;
/// returns the ids kept.
async fn viewable(
    store: &AnyStore,
    access: &mut Access,
    ids: &[&str],
) -> Result<HashSet<String>, CliError> {
    let mut entities: Vec<Entity> = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(entity) = store.get(id).await? {
            entities.push(entity);
        }
    }
    Ok(access
        .filter(Action::View, &entities)?
        .into_iter()
        .map(|e| e.id.as_str().to_owned())
        .collect())
}

/// The error for a record the principal may not view: the same words as an
/// unknown record, so that a denial does not tell the record exists.
fn not_visible(id: &str, principal: &str) -> CliError {
    CliError::bad_input(format!(
        "unknown record id {id:?}: no Person with this id in the store that {principal} may view"
    ))
}

/// Runs `palermo resolve show ID`.
pub(super) async fn show(ctx: &Ctx, id: &str, args: &AccessArgs) -> Result<(), CliError> {
    let store = open_store(ctx).await?;
    let mut access = access(&store, args).await?;
    let view = resolution::cluster(&store, id).await.map_err(node_error)?;
    // The members, and the other records the decisions about them name.
    let mut ids: Vec<&str> = view.members.iter().map(|p| p.id.as_str()).collect();
    for d in &view.decisions {
        for id in [d.left_id.as_str(), d.right_id.as_str()] {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    let visible = viewable(&store, &mut access, &ids).await?;
    access.record(ctx, &store, &args.key, Vec::new()).await?;
    if !visible.contains(id) {
        return Err(not_visible(id, access.principal()));
    }
    let members: Vec<Member> = view
        .members
        .iter()
        .filter(|p| visible.contains(&p.id))
        .map(|p| Member {
            id: p.id.clone(),
            name: display_name(p),
            birth_date: first(p, &["birthDate"]),
        })
        .collect();
    let withheld = (view.members.len() - members.len()) as u64;
    // A decision names both records: keep it only when both may be viewed.
    let decisions = view
        .decisions
        .into_iter()
        .filter(|d| visible.contains(&d.left_id) && visible.contains(&d.right_id))
        .collect();
    let report = ShowReport {
        id: id.to_owned(),
        principal: access.principal().to_owned(),
        cluster_id: view.cluster_id,
        members,
        withheld,
        decisions,
    };
    ctx.report(&report, show_text)
}

fn show_text(r: &ShowReport) -> String {
    let mut s = match &r.cluster_id {
        Some(c) => format!(
            "{} is in cluster {} ({} members)\n",
            r.id,
            c,
            r.members.len() as u64 + r.withheld
        ),
        None => format!("{} is not resolved yet (run palermo resolve)\n", r.id),
    };
    for m in &r.members {
        s.push_str(&format!("  {:<16} {:<32} {}\n", m.id, m.name, m.birth_date));
    }
    if r.withheld > 0 {
        s.push_str(&format!(
            "  ({} members withheld: the sharing policy does not let {} view them)\n",
            r.withheld, r.principal
        ));
    }
    if !r.decisions.is_empty() {
        s.push_str("decisions:\n");
    }
    for d in &r.decisions {
        let score = d
            .probability
            .map(|p| format!(" p={}", palermo_resolve::format_probability(p)))
            .unwrap_or_default();
        let by = match &d.run_id {
            Some(run) => format!("run {run}"),
            None => d.actor.clone(),
        };
        s.push_str(&format!(
            "  {:<7} {} / {}{} by {} at {}{}{}\n",
            d.kind,
            d.left_id,
            d.right_id,
            score,
            by,
            d.time,
            d.note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default(),
            d.weights
                .as_deref()
                .map(|w| format!(" [{w}]"))
                .unwrap_or_default(),
        ));
    }
    s
}

/// Runs `palermo explain ID1 ID2` against the store with the stored model; both
/// records must be viewable by the principal.
pub(super) async fn explain(
    ctx: &Ctx,
    id1: &str,
    id2: &str,
    args: &AccessArgs,
) -> Result<(), CliError> {
    let store = open_store(ctx).await?;
    let mut access = access(&store, args).await?;
    let visible = if id1 == id2 {
        HashSet::new()
    } else {
        viewable(&store, &mut access, &[id1, id2]).await?
    };
    access.record(ctx, &store, &args.key, Vec::new()).await?;
    if id1 != id2 {
        for id in [id1, id2] {
            if !visible.contains(id) {
                return Err(not_visible(id, access.principal()));
            }
        }
    }
    let explanation = resolution::explain(&store, id1, id2)
        .await
        .map_err(node_error)?;
    ctx.report(&explanation, palermo_resolve::Explanation::to_text)
}
