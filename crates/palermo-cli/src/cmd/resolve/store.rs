//! `palermo resolve` in the store: runs (full or incremental), human decisions, `show`
//! and `explain --db`.
//!
//! The store hands out rows (`palermo_store` resolution tables); this module turns
//! persons into resolver records, asks `palermo_resolve::incremental` what to change,
//! and writes the result back in one transaction plus one ledger entry.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use palermo_ledger::EntryBody;
use palermo_ledger::entry::NewEntry;
use palermo_resolve::incremental::{self, Outcome, PairDecision, Verdict};
use palermo_resolve::{Config, Model, Property, Record};
use palermo_store::{AnyStore, DecisionRecord, PersonRow, ResolutionWrite, RunRecord};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ResolveArgs;
use crate::cmd::ledger::{KeyArgs, actor, append};
use crate::exit::{CliError, ResultExt};
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

/// What a run reports.
#[derive(Debug, Serialize)]
struct RunSummary {
    run_id: String,
    mode: &'static str,
    model_version: i64,
    /// Records resolved by this run (all persons for a full run, new ones otherwise).
    records: usize,
    /// Already resolved records loaded as candidates' clusters (incremental).
    neighbours: usize,
    candidate_pairs: u64,
    merges: usize,
    /// Clusters in the store after the run.
    clusters: u64,
    new_clusters: usize,
    grown_clusters: usize,
    /// Persons resolved in the store after the run.
    resolved: u64,
    conflicts: Vec<(String, String)>,
    seconds: f64,
}

fn now() -> (OffsetDateTime, String) {
    let t = OffsetDateTime::now_utc();
    (t, t.format(&Rfc3339).unwrap_or_default())
}

fn new_cluster_id() -> String {
    format!("pc-{}", uuid::Uuid::now_v7().simple())
}

/// A stored person as a resolver record: FtM property names are the resolver's; the
/// first `name` is the full name (further names are aliases, not part of it).
fn to_record(p: &PersonRow) -> Record {
    let mut seen_name = false;
    let values = p
        .properties
        .iter()
        .filter_map(|(k, v)| {
            let prop = palermo_resolve::schema::PROPERTIES
                .iter()
                .find(|(_, n)| *n == k.as_str())
                .map(|(p, _)| *p)?;
            if prop == Property::Name {
                if seen_name {
                    return None;
                }
                seen_name = true;
            }
            Some((prop, v.clone()))
        })
        .collect();
    Record::new(p.id.clone(), values)
}

fn check_threshold(threshold: f64) -> Result<(), CliError> {
    if (0.0..=1.0).contains(&threshold) {
        Ok(())
    } else {
        Err(CliError::bad_input(format!(
            "--threshold {threshold} is not a probability in [0, 1]"
        )))
    }
}

/// Human decisions, the latest per pair.
async fn human_decisions(store: &AnyStore) -> Result<Vec<PairDecision>, CliError> {
    let mut latest: HashMap<(String, String), Verdict> = HashMap::new();
    let mut order = Vec::new();
    for d in store.resolution_human_decisions().await? {
        let key = if d.left_id <= d.right_id {
            (d.left_id, d.right_id)
        } else {
            (d.right_id, d.left_id)
        };
        let verdict = if d.kind == "reject" {
            Verdict::Rejected
        } else {
            Verdict::Confirmed
        };
        if latest.insert(key.clone(), verdict).is_none() {
            order.push(key);
        }
    }
    Ok(order
        .into_iter()
        .filter_map(|k| {
            let verdict = *latest.get(&k)?;
            Some(PairDecision {
                left: k.0,
                right: k.1,
                verdict,
            })
        })
        .collect())
}

/// Sets name term counts on records: stored counts plus `extra` (records not yet stored).
async fn set_terms(
    store: &AnyStore,
    records: &mut [Record],
    extra: &HashMap<i64, u32>,
) -> Result<(), CliError> {
    let mut hashes: Vec<i64> = records
        .iter()
        .flat_map(|r| incremental::term_hashes(r).into_iter().flatten())
        .collect();
    hashes.sort_unstable();
    hashes.dedup();
    let stored: HashMap<i64, i64> = store.resolution_terms(&hashes).await?.into_iter().collect();
    let count = |h: Option<i64>| -> u32 {
        h.map_or(0, |h| {
            let s = stored.get(&h).copied().unwrap_or(0);
            u32::try_from(s).unwrap_or(u32::MAX) + extra.get(&h).copied().unwrap_or(0)
        })
    };
    for r in records.iter_mut() {
        let [g, f] = incremental::term_hashes(r);
        incremental::set_term_counts(r, [count(g).max(1), count(f).max(1)]);
    }
    Ok(())
}

fn stored_model(params: &str, resolved: u64) -> Result<Model, CliError> {
    let model = Model::from_json(params).map_err(|e| CliError::failure(format!("{e}")))?;
    Ok(model.with_tf_records(u32::try_from(resolved).unwrap_or(u32::MAX)))
}

/// Runs `palermo resolve` (full or incremental).
pub(super) async fn run(ctx: &Ctx, args: &ResolveArgs) -> Result<(), CliError> {
    check_threshold(args.threshold)?;
    let start = Instant::now();
    let store = open_store(ctx).await?;
    let state = store.resolution_state().await?;
    if state.persons == 0 {
        return Err(CliError::bad_input(
            "the store holds no Person entities to resolve; import some first (palermo import FILE)",
        ));
    }
    let config = Config {
        threshold: args.threshold,
        max_block: args.max_block,
        ..Config::default()
    };
    let user = actor(args.user.clone());
    let decisions = human_decisions(&store).await?;
    let (_, time) = now();
    let run_id = uuid::Uuid::now_v7().to_string();
    let full = args.full || state.model.is_none() || state.resolved == 0;
    let mut new_id = new_cluster_id;
    let (mut summary, mut write) = if full {
        let persons = store.resolution_persons_after(0).await?;
        let watermark = persons.last().map_or(0, |p| p.seq);
        let previous_by_seq: HashMap<i64, String> =
            store.resolution_all_members().await?.into_iter().collect();
        let previous: Vec<Option<String>> = persons
            .iter()
            .map(|p| previous_by_seq.get(&p.seq).cloned())
            .collect();
        let records: Vec<Record> = persons.iter().map(to_record).collect();
        let run = incremental::resolve_all(records, &previous, &decisions, &config, &mut new_id)
            .bad_input()?;
        let o = &run.outcome;
        let members: Vec<(i64, String)> = persons
            .iter()
            .zip(&o.cluster_ids)
            .map(|(p, c)| (p.seq, c.clone()))
            .collect();
        let keys: Vec<(i64, i64)> = persons
            .iter()
            .zip(&run.records)
            .flat_map(|(p, r)| {
                incremental::blocking_keys(r)
                    .into_iter()
                    .map(move |k| (k, p.seq))
            })
            .collect();
        let terms: Vec<(i64, i64)> = incremental::term_counts(&run.records)
            .into_iter()
            .map(|(h, n)| (h, i64::from(n)))
            .collect();
        let summary = RunSummary {
            run_id: run_id.clone(),
            mode: "full",
            model_version: 0,
            records: persons.len(),
            neighbours: 0,
            candidate_pairs: o.candidate_pairs,
            merges: o.merges.len(),
            clusters: o.clusters as u64,
            new_clusters: o.new_clusters,
            grown_clusters: o.grown_clusters,
            resolved: persons.len() as u64,
            conflicts: o.conflicts.clone(),
            seconds: 0.0,
        };
        let write = ResolutionWrite {
            run: run_record(&run_id, &time, &user, "full", 0, watermark),
            expected_watermark: state.watermark,
            new_model: Some(run.model.to_json()),
            replace: true,
            members,
            keys,
            terms,
            merges: merge_rows(o, &run_id, &user, &time),
        };
        (summary, write)
    } else {
        let Some(model_record) = &state.model else {
            return Err(CliError::failure("no stored model"));
        };
        let new_persons = store.resolution_persons_after(state.watermark).await?;
        if new_persons.is_empty() {
            let summary = RunSummary {
                run_id: String::new(),
                mode: "incremental",
                model_version: model_record.version,
                records: 0,
                neighbours: 0,
                candidate_pairs: 0,
                merges: 0,
                clusters: state.clusters,
                new_clusters: 0,
                grown_clusters: 0,
                resolved: state.resolved,
                conflicts: Vec::new(),
                seconds: start.elapsed().as_secs_f64(),
            };
            return ctx.report(&summary, |s| {
                format!(
                    "nothing new to resolve: {} persons in {} clusters (model v{})",
                    s.resolved, s.clusters, s.model_version
                )
            });
        }
        let watermark = new_persons.last().map_or(state.watermark, |p| p.seq);
        let model = stored_model(
            &model_record.params,
            state.resolved + new_persons.len() as u64,
        )?;
        let mut new_records: Vec<Record> = new_persons.iter().map(to_record).collect();
        let new_terms = incremental::term_counts(&new_records);
        // Candidates: resolved persons sharing a blocking key, and the partners of
        // human decisions about the new records; then all members of their clusters.
        let new_keys: Vec<Vec<i64>> = new_records.iter().map(incremental::blocking_keys).collect();
        let mut all_keys: Vec<i64> = new_keys.iter().flatten().copied().collect();
        all_keys.sort_unstable();
        all_keys.dedup();
        let max_block = i64::try_from(config.max_block).unwrap_or(i64::MAX);
        let mut seqs: Vec<i64> = store
            .resolution_key_hits(&all_keys, max_block)
            .await?
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        let new_ids: HashSet<&str> = new_persons.iter().map(|p| p.id.as_str()).collect();
        let partners: Vec<String> = decisions
            .iter()
            .filter_map(|d| {
                if new_ids.contains(d.left.as_str()) {
                    Some(d.right.clone())
                } else if new_ids.contains(d.right.as_str()) {
                    Some(d.left.clone())
                } else {
                    None
                }
            })
            .filter(|id| !new_ids.contains(id.as_str()))
            .collect();
        if !partners.is_empty() {
            seqs.extend(
                store
                    .resolution_persons_by_id(&partners)
                    .await?
                    .iter()
                    .map(|p| p.seq),
            );
        }
        seqs.sort_unstable();
        seqs.dedup();
        let mut clusters: Vec<String> = store
            .resolution_members_of(&seqs)
            .await?
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        clusters.sort_unstable();
        clusters.dedup();
        let members = store.resolution_cluster_members(&clusters).await?;
        let member_seqs: Vec<i64> = members.iter().map(|(s, _)| *s).collect();
        let cluster_of: HashMap<i64, String> = members.into_iter().collect();
        let existing_persons = store.resolution_persons_by_seq(&member_seqs).await?;
        let mut existing_records: Vec<Record> = existing_persons.iter().map(to_record).collect();
        set_terms(&store, &mut existing_records, &new_terms).await?;
        set_terms(&store, &mut new_records, &new_terms).await?;
        let existing: Vec<(Record, String)> = existing_records
            .into_iter()
            .zip(&existing_persons)
            .map(|(r, p)| (r, cluster_of.get(&p.seq).cloned().unwrap_or_default()))
            .collect();
        let previous: Vec<String> = existing.iter().map(|(_, c)| c.clone()).collect();
        let n_existing = existing.len();
        let o = incremental::resolve_new(
            &model,
            existing,
            new_records,
            &decisions,
            &config,
            &mut new_id,
        )
        .bad_input()?;
        let mut members: Vec<(i64, String)> = Vec::new();
        for (p, (old, now)) in existing_persons
            .iter()
            .zip(previous.iter().zip(&o.cluster_ids))
        {
            if old != now {
                members.push((p.seq, now.clone()));
            }
        }
        members.extend(
            new_persons
                .iter()
                .zip(&o.cluster_ids[n_existing..])
                .map(|(p, c)| (p.seq, c.clone())),
        );
        let before: HashSet<&String> = previous.iter().collect();
        let after: HashSet<&String> = o.cluster_ids[..n_existing].iter().collect();
        let lost = before.difference(&after).count() as u64;
        let keys: Vec<(i64, i64)> = new_persons
            .iter()
            .zip(&new_keys)
            .flat_map(|(p, ks)| ks.iter().map(move |k| (*k, p.seq)))
            .collect();
        let terms: Vec<(i64, i64)> = new_terms.iter().map(|(h, n)| (*h, i64::from(*n))).collect();
        let summary = RunSummary {
            run_id: run_id.clone(),
            mode: "incremental",
            model_version: model_record.version,
            records: new_persons.len(),
            neighbours: n_existing,
            candidate_pairs: o.candidate_pairs,
            merges: o.merges.len(),
            clusters: state.clusters + o.new_clusters as u64 - lost.min(state.clusters),
            new_clusters: o.new_clusters,
            grown_clusters: o.grown_clusters,
            resolved: state.resolved + new_persons.len() as u64,
            conflicts: o.conflicts.clone(),
            seconds: 0.0,
        };
        let write = ResolutionWrite {
            run: run_record(
                &run_id,
                &time,
                &user,
                "incremental",
                model_record.version,
                watermark,
            ),
            expected_watermark: state.watermark,
            new_model: None,
            replace: false,
            members,
            keys,
            terms,
            merges: merge_rows(&o, &run_id, &user, &time),
        };
        (summary, write)
    };
    write.run.summary = serde_json::to_string(&summary)?;
    let version = store.resolution_commit(write).await.map_err(|e| match e {
        e @ palermo_store::Error::Conflict { .. } => CliError::failure(e),
        e => CliError::from(anyhow::Error::new(e).context("writing the resolution run")),
    })?;
    summary.model_version = version;
    summary.seconds = start.elapsed().as_secs_f64();
    let entry = NewEntry {
        actor: user.clone(),
        case: None,
        time: None,
        body: run_entry(&summary),
    };
    append(ctx, &store, &args.key, &user, vec![entry])
        .await
        .map_err(|err| {
            CliError::failure(format!(
                "resolution run {} was stored but could not be recorded on the ledger: {:#}",
                summary.run_id, err.error
            ))
        })?;
    for (a, b) in &summary.conflicts {
        eprintln!(
            "warning: confirmed pair {a} / {b} was not joined: it would join a rejected pair"
        );
    }
    ctx.report(&summary, run_text)
}

/// The ledger entry of a run. The ledger has no `resolution-run` kind yet, so the run is
/// recorded as a `merge-decision` whose decision names the run and its counts.
fn run_entry(s: &RunSummary) -> EntryBody {
    EntryBody::ResolutionRun {
        run: s.run_id.clone(),
        mode: s.mode.to_owned(),
        model_version: u64::try_from(s.model_version).unwrap_or_default(),
        records: s.records as u64,
        candidate_pairs: s.candidate_pairs,
        merges: s.merges as u64,
        clusters: s.clusters,
    }
}

fn run_text(s: &RunSummary) -> String {
    format!(
        "resolved {} records ({} run {}, model v{}): {} candidate pairs, {} merges; {} clusters ({} new, {} grown), {} persons resolved in {:.3} s\n",
        s.records,
        s.mode,
        s.run_id,
        s.model_version,
        s.candidate_pairs,
        s.merges,
        s.clusters,
        s.new_clusters,
        s.grown_clusters,
        s.resolved,
        s.seconds
    )
}

fn run_record(
    id: &str,
    time: &str,
    actor: &str,
    mode: &str,
    model: i64,
    watermark: i64,
) -> RunRecord {
    RunRecord {
        id: id.to_owned(),
        time: time.to_owned(),
        actor: actor.to_owned(),
        mode: mode.to_owned(),
        model_version: model,
        watermark,
        summary: String::new(),
    }
}

fn merge_rows(o: &Outcome, run_id: &str, actor: &str, time: &str) -> Vec<DecisionRecord> {
    o.merges
        .iter()
        .map(|m| DecisionRecord {
            left_id: m.left.clone(),
            right_id: m.right.clone(),
            kind: "merge".to_owned(),
            probability: Some(m.probability),
            weights: Some(m.weights.clone()),
            run_id: Some(run_id.to_owned()),
            actor: actor.to_owned(),
            note: None,
            time: time.to_owned(),
        })
        .collect()
}

/// Loads two distinct persons by id; unknown ids and a repeated id are bad input.
async fn two_persons(
    store: &AnyStore,
    id1: &str,
    id2: &str,
) -> Result<(PersonRow, PersonRow), CliError> {
    if id1 == id2 {
        return Err(CliError::bad_input(format!(
            "the two record ids are the same ({id1:?}); give two different records"
        )));
    }
    let mut found = store
        .resolution_persons_by_id(&[id1.to_owned(), id2.to_owned()])
        .await?;
    let take = |found: &mut Vec<PersonRow>, id: &str| {
        found
            .iter()
            .position(|p| p.id == id)
            .map(|i| found.swap_remove(i))
            .ok_or_else(|| {
                CliError::bad_input(format!(
                    "unknown record id {id:?}: no Person with this id in the store"
                ))
            })
    };
    let a = take(&mut found, id1)?;
    let b = take(&mut found, id2)?;
    Ok((a, b))
}

/// What a decision reports.
#[derive(Debug, Serialize)]
struct DecisionReport {
    decision: &'static str,
    id1: String,
    id2: String,
    note: Option<String>,
    actor: String,
    time: String,
    /// Match probability under the stored model, when there is one.
    probability: Option<f64>,
    /// The cluster of each record afterwards (`None` until a run resolves it).
    cluster1: Option<String>,
    cluster2: Option<String>,
    /// Records whose cluster changed.
    moved: usize,
}

/// Runs `palermo resolve confirm|reject`.
pub(super) async fn decide(ctx: &Ctx, d: Decision, key: &KeyArgs) -> Result<(), CliError> {
    check_threshold(d.threshold)?;
    if d.verdict == Verdict::Rejected && d.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(CliError::bad_input(
            "a rejection needs --note TEXT saying why",
        ));
    }
    let store = open_store(ctx).await?;
    let (a, b) = two_persons(&store, &d.id1, &d.id2).await?;
    let state = store.resolution_state().await?;
    let user = actor(d.user.clone());
    let (_, time) = now();
    let kind = if d.verdict == Verdict::Confirmed {
        "confirm"
    } else {
        "reject"
    };
    let mut decisions = human_decisions(&store).await?;
    decisions
        .retain(|x| !((x.left == a.id && x.right == b.id) || (x.left == b.id && x.right == a.id)));
    decisions.push(PairDecision {
        left: a.id.clone(),
        right: b.id.clone(),
        verdict: d.verdict,
    });
    let config = Config {
        threshold: d.threshold,
        ..Config::default()
    };
    let mut probability = None;
    let mut members: Vec<(i64, String)> = Vec::new();
    let mut clusters: HashMap<i64, String> = HashMap::new();
    if let Some(model_record) = &state.model {
        let model = stored_model(&model_record.params, state.resolved)?;
        let mut pair = vec![to_record(&a), to_record(&b)];
        set_terms(&store, &mut pair, &HashMap::new()).await?;
        probability =
            Some(palermo_resolve::explain_records(&model, &pair[0], &pair[1], false).probability);
        let of = store.resolution_members_of(&[a.seq, b.seq]).await?;
        if of.len() == 2 {
            let mut ids: Vec<String> = of.iter().map(|(_, c)| c.clone()).collect();
            ids.sort_unstable();
            ids.dedup();
            let current = store.resolution_cluster_members(&ids).await?;
            let seqs: Vec<i64> = current.iter().map(|(s, _)| *s).collect();
            let cluster_of: HashMap<i64, String> = current.into_iter().collect();
            let persons = store.resolution_persons_by_seq(&seqs).await?;
            let mut records: Vec<Record> = persons.iter().map(to_record).collect();
            set_terms(&store, &mut records, &HashMap::new()).await?;
            let previous: Vec<String> = persons
                .iter()
                .map(|p| cluster_of.get(&p.seq).cloned().unwrap_or_default())
                .collect();
            let input: Vec<(Record, String)> = records.into_iter().zip(previous.clone()).collect();
            let mut new_id = new_cluster_id;
            let o = incremental::recluster(&model, input, &decisions, &config, &mut new_id)
                .bad_input()?;
            if d.verdict == Verdict::Confirmed
                && o.conflicts
                    .iter()
                    .any(|(x, y)| (x == &a.id && y == &b.id) || (x == &b.id && y == &a.id))
            {
                return Err(CliError::bad_input(format!(
                    "cannot confirm {} and {}: joining them would put a rejected pair in one cluster; see palermo resolve show {}",
                    a.id, b.id, a.id
                )));
            }
            for ((p, old), now) in persons.iter().zip(&previous).zip(&o.cluster_ids) {
                if old != now {
                    members.push((p.seq, now.clone()));
                }
                clusters.insert(p.seq, now.clone());
            }
        }
    }
    let record = DecisionRecord {
        left_id: a.id.clone(),
        right_id: b.id.clone(),
        kind: kind.to_owned(),
        probability,
        weights: None,
        run_id: None,
        actor: user.clone(),
        note: d.note.clone(),
        time: time.clone(),
    };
    store.resolution_decide(&record, &members).await?;
    let (c1, c2) = (clusters.get(&a.seq).cloned(), clusters.get(&b.seq).cloned());
    let entry = NewEntry {
        actor: user.clone(),
        case: None,
        time: None,
        body: EntryBody::MergeDecision {
            records: vec![a.id.clone(), b.id.clone()],
            into: c1.clone().unwrap_or_default(),
            decision: if d.verdict == Verdict::Confirmed {
                "merge".to_owned()
            } else if c1 == c2 {
                "reject".to_owned()
            } else {
                "split".to_owned()
            },
            score: probability,
        },
    };
    append(ctx, &store, key, &user, vec![entry])
        .await
        .map_err(|err| {
            CliError::failure(format!(
                "the decision was stored but could not be recorded on the ledger: {:#}",
                err.error
            ))
        })?;
    let report = DecisionReport {
        decision: kind,
        id1: a.id,
        id2: b.id,
        note: d.note,
        actor: user,
        time,
        probability,
        cluster1: c1,
        cluster2: c2,
        moved: members.len(),
    };
    ctx.report(&report, |r| {
        let where_ = match (&r.cluster1, &r.cluster2) {
            (Some(x), Some(y)) if x == y => format!("both in cluster {x}"),
            (Some(x), Some(y)) => format!("clusters {x} and {y}"),
            _ => "applied at the next palermo resolve".to_owned(),
        };
        format!(
            "{}ed {} / {} ({}); {} records moved\n",
            r.decision.trim_end_matches('e'),
            r.id1,
            r.id2,
            where_,
            r.moved
        )
    })
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
    cluster_id: Option<String>,
    members: Vec<Member>,
    decisions: Vec<DecisionRecord>,
}

fn first(p: &PersonRow, names: &[&str]) -> String {
    names
        .iter()
        .find_map(|n| {
            p.properties
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_default()
}

fn display_name(p: &PersonRow) -> String {
    let name = first(p, &["name"]);
    if !name.is_empty() {
        return name;
    }
    [first(p, &["firstName"]), first(p, &["lastName"])]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `palermo resolve show ID`.
pub(super) async fn show(ctx: &Ctx, id: &str) -> Result<(), CliError> {
    let store = open_store(ctx).await?;
    let person = store
        .resolution_persons_by_id(&[id.to_owned()])
        .await?
        .pop()
        .ok_or_else(|| {
            CliError::bad_input(format!(
                "unknown record id {id:?}: no Person with this id in the store"
            ))
        })?;
    let cluster = store
        .resolution_members_of(&[person.seq])
        .await?
        .pop()
        .map(|(_, c)| c);
    let persons = match &cluster {
        Some(c) => {
            let seqs: Vec<i64> = store
                .resolution_cluster_members(std::slice::from_ref(c))
                .await?
                .into_iter()
                .map(|(s, _)| s)
                .collect();
            store.resolution_persons_by_seq(&seqs).await?
        }
        None => vec![person],
    };
    let ids: Vec<String> = persons.iter().map(|p| p.id.clone()).collect();
    let in_cluster: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let decisions: Vec<DecisionRecord> = store
        .resolution_decisions_about(&ids)
        .await?
        .into_iter()
        .filter(|d| {
            d.kind != "merge"
                || (in_cluster.contains(d.left_id.as_str())
                    && in_cluster.contains(d.right_id.as_str()))
        })
        .collect();
    let report = ShowReport {
        id: id.to_owned(),
        cluster_id: cluster,
        members: persons
            .iter()
            .map(|p| Member {
                id: p.id.clone(),
                name: display_name(p),
                birth_date: first(p, &["birthDate"]),
            })
            .collect(),
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
            r.members.len()
        ),
        None => format!("{} is not resolved yet (run palermo resolve)\n", r.id),
    };
    for m in &r.members {
        s.push_str(&format!("  {:<16} {:<32} {}\n", m.id, m.name, m.birth_date));
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

/// Runs `palermo explain ID1 ID2` against the store with the stored model.
pub(super) async fn explain(ctx: &Ctx, id1: &str, id2: &str) -> Result<(), CliError> {
    let store = open_store(ctx).await?;
    let (a, b) = two_persons(&store, id1, id2).await?;
    let state = store.resolution_state().await?;
    let Some(model_record) = &state.model else {
        return Err(CliError::bad_input(
            "the store has no resolution model yet; run palermo resolve first (or pass --input FILE)",
        ));
    };
    let model = stored_model(&model_record.params, state.resolved)?;
    let mut pair = vec![to_record(&a), to_record(&b)];
    set_terms(&store, &mut pair, &HashMap::new()).await?;
    let ka: HashSet<i64> = incremental::blocking_keys(&pair[0]).into_iter().collect();
    let candidate = incremental::blocking_keys(&pair[1])
        .iter()
        .any(|k| ka.contains(k));
    let explanation = palermo_resolve::explain_records(&model, &pair[0], &pair[1], candidate);
    ctx.report(&explanation, palermo_resolve::Explanation::to_text)
}
