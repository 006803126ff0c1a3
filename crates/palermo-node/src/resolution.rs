//! Entity resolution in the store: runs (full or incremental), human
//! decisions, cluster views and explanations from the store.
//!
//! The store hands out rows (`palermo_store` resolution tables); this module
//! turns persons into resolver records, asks `palermo_resolve::incremental`
//! what to change, and writes the result back in one transaction. Ledger
//! entries are returned to the caller ([`run_entry`], [`decide`]), which
//! appends them with its other entries of the same command or request.
//! Views ([`cluster`], [`explain`]) return record ids; the caller decides
//! with the policy gate what the principal may see.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use palermo_ledger::EntryBody;
use palermo_ledger::entry::NewEntry;
use palermo_resolve::incremental::{self, Outcome, PairDecision, Verdict};
use palermo_resolve::{Config, Explanation, Model, Property, Record};
use palermo_store::{AnyStore, DecisionRecord, PersonRow, ResolutionWrite, RunRecord};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{Error, Result};

/// How to run resolution.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Match probability at or above which two records are the same person.
    pub threshold: f64,
    /// Skip blocking keys shared by more records than this.
    pub max_block: usize,
    /// Recompute everything (retrain, recluster); human decisions are kept.
    pub full: bool,
    /// Who runs it (recorded on the run and the ledger).
    pub actor: String,
}

/// What a run reports.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// The run id (UUIDv7; empty when there was nothing new to resolve).
    pub run_id: String,
    /// `full` or `incremental`.
    pub mode: &'static str,
    /// The model version the run used or trained.
    pub model_version: i64,
    /// Records resolved by this run (all persons for a full run, new ones otherwise).
    pub records: usize,
    /// Already resolved records loaded as candidates' clusters (incremental).
    pub neighbours: usize,
    /// Pairs compared.
    pub candidate_pairs: u64,
    /// Machine merges made.
    pub merges: usize,
    /// Clusters in the store after the run.
    pub clusters: u64,
    /// Clusters created by the run.
    pub new_clusters: usize,
    /// Existing clusters that grew.
    pub grown_clusters: usize,
    /// Persons resolved in the store after the run.
    pub resolved: u64,
    /// Confirmed pairs that were not joined because they would join a rejected pair.
    pub conflicts: Vec<(String, String)>,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
}

/// A resolver error on the records given: bad input.
fn bad(err: palermo_resolve::Error) -> Error {
    Error::BadInput(err.to_string())
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
    let (id, values) = record_input(p);
    Record::new(id, values)
}

/// Stored persons as resolver records, normalised in parallel (`Record::new_many`):
/// loading the neighbours of an incremental run was a large part of its time.
fn to_records(persons: &[PersonRow]) -> Vec<Record> {
    Record::new_many(persons.iter().map(record_input).collect())
}

/// The id and resolver properties of a stored person (see [`to_record`]).
fn record_input(p: &PersonRow) -> (String, Vec<(Property, String)>) {
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
    (p.id.clone(), values)
}

fn check_threshold(threshold: f64) -> Result<()> {
    if (0.0..=1.0).contains(&threshold) {
        Ok(())
    } else {
        Err(Error::BadInput(format!(
            "threshold {threshold} is not a probability in [0, 1]"
        )))
    }
}

/// Human decisions, the latest per pair.
async fn human_decisions(store: &AnyStore) -> Result<Vec<PairDecision>> {
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

/// Sets name term counts on records (given, family and full name): stored counts plus
/// `extra` (records not yet stored).
async fn set_terms(
    store: &AnyStore,
    records: &mut [Record],
    extra: &HashMap<i64, u32>,
) -> Result<()> {
    let mut hashes: Vec<i64> = records
        .iter()
        .flat_map(|r| {
            incremental::term_hashes(r)
                .into_iter()
                .chain([incremental::name_term_hash(r)])
                .flatten()
        })
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
        // The full-name count is 0 ("unknown") when the record lacks a given or family
        // name, which makes the model weigh the two parts as if independent.
        let full = incremental::name_term_hash(r).map_or(0, |h| count(Some(h)));
        incremental::set_name_count(r, full);
    }
    Ok(())
}

fn stored_model(params: &str, resolved: u64) -> Result<Model> {
    let model = Model::from_json(params).map_err(|e| Error::Corrupt {
        what: "stored resolution model".to_owned(),
        reason: e.to_string(),
    })?;
    Ok(model.with_tf_records(u32::try_from(resolved).unwrap_or(u32::MAX)))
}

/// Resolves the store's persons (full or incremental, see [`RunConfig`]) and
/// writes the result in one transaction. Returns the summary; the caller
/// puts [`run_entry`] on the ledger (nothing to put when `run_id` is empty:
/// there was nothing new to resolve).
///
/// Errors: a threshold outside [0, 1] or a store without persons is bad
/// input; another run that moved the watermark meanwhile is a store conflict.
pub async fn run(store: &AnyStore, config: &RunConfig) -> Result<RunSummary> {
    check_threshold(config.threshold)?;
    let start = Instant::now();
    let state = store.resolution_state().await?;
    if state.persons == 0 {
        return Err(Error::BadInput(
            "the store holds no Person entities to resolve; import some first".to_owned(),
        ));
    }
    let args = config;
    let config = Config {
        threshold: args.threshold,
        max_block: args.max_block,
        ..Config::default()
    };
    let user = args.actor.clone();
    let decisions = human_decisions(store).await?;
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
        let records: Vec<Record> = to_records(&persons);
        let run = incremental::resolve_all(records, &previous, &decisions, &config, &mut new_id)
            .map_err(bad)?;
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
            return Err(Error::Corrupt {
                what: "resolution state".to_owned(),
                reason: "no stored model".to_owned(),
            });
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
            return Ok(summary);
        }
        let watermark = new_persons.last().map_or(state.watermark, |p| p.seq);
        let model = stored_model(
            &model_record.params,
            state.resolved + new_persons.len() as u64,
        )?;
        let mut new_records: Vec<Record> = to_records(&new_persons);
        let new_terms = incremental::term_counts(&new_records);
        // Candidates: resolved persons sharing a blocking key, and the partners of
        // human decisions about the new records; then all members of their clusters.
        let new_keys: Vec<Vec<i64>> = new_records.iter().map(incremental::blocking_keys).collect();
        let mut all_keys: Vec<i64> = new_keys.iter().flatten().copied().collect();
        all_keys.sort_unstable();
        all_keys.dedup();
        let max_block = i64::try_from(config.max_block).unwrap_or(i64::MAX);
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
        let mut partner_seqs: Vec<i64> = Vec::new();
        if !partners.is_empty() {
            partner_seqs.extend(
                store
                    .resolution_persons_by_id(&partners)
                    .await?
                    .iter()
                    .map(|p| p.seq),
            );
        }
        // The persons in the clusters the new records reach, with their clusters, in
        // one read (`resolution_neighbours`).
        let (existing_persons, existing_clusters): (Vec<PersonRow>, Vec<String>) = store
            .resolution_neighbours(&all_keys, max_block, &partner_seqs)
            .await?
            .into_iter()
            .unzip();
        let mut existing_records: Vec<Record> = to_records(&existing_persons);
        set_terms(store, &mut existing_records, &new_terms).await?;
        set_terms(store, &mut new_records, &new_terms).await?;
        let existing: Vec<(Record, String)> = existing_records
            .into_iter()
            .zip(existing_clusters)
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
        .map_err(bad)?;
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
    write.run.summary = serde_json::to_string(&summary).map_err(|e| Error::Corrupt {
        what: "run summary".to_owned(),
        reason: e.to_string(),
    })?;
    let version = store.resolution_commit(write).await?;
    summary.model_version = version;
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

/// The ledger entry of a run (`resolution-run`) by `actor`; `None` when the
/// run resolved nothing new (it wrote nothing either).
pub fn run_entry(s: &RunSummary, actor: &str) -> Option<NewEntry> {
    if s.run_id.is_empty() {
        return None;
    }
    let body = EntryBody::ResolutionRun {
        run: s.run_id.clone(),
        mode: s.mode.to_owned(),
        model_version: u64::try_from(s.model_version).unwrap_or_default(),
        records: s.records as u64,
        candidate_pairs: s.candidate_pairs,
        merges: s.merges as u64,
        clusters: s.clusters,
    };
    Some(NewEntry {
        actor: actor.to_owned(),
        case: None,
        time: None,
        body,
    })
}

/// The text report of a run.
pub fn run_text(s: &RunSummary) -> String {
    if s.run_id.is_empty() {
        return format!(
            "nothing new to resolve: {} persons in {} clusters (model v{})\n",
            s.resolved, s.clusters, s.model_version
        );
    }
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
pub async fn two_persons(store: &AnyStore, id1: &str, id2: &str) -> Result<(PersonRow, PersonRow)> {
    if id1 == id2 {
        return Err(Error::BadInput(format!(
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
                Error::BadInput(format!(
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
pub struct DecisionReport {
    /// `confirm` or `reject`.
    pub decision: &'static str,
    /// One record id.
    pub id1: String,
    /// The other record id.
    pub id2: String,
    /// Why.
    pub note: Option<String>,
    /// Who decided.
    pub actor: String,
    /// When (RFC 3339).
    pub time: String,
    /// Match probability under the stored model, when there is one.
    pub probability: Option<f64>,
    /// The cluster of each record afterwards (`None` until a run resolves it).
    pub cluster1: Option<String>,
    /// The cluster of the second record afterwards.
    pub cluster2: Option<String>,
    /// Records whose cluster changed.
    pub moved: usize,
}

/// A human decision about two records.
#[derive(Debug, Clone)]
pub struct HumanDecision {
    /// One record id.
    pub id1: String,
    /// The other record id.
    pub id2: String,
    /// Same person (confirmed) or different persons (rejected).
    pub verdict: Verdict,
    /// Why; required for a rejection.
    pub note: Option<String>,
    /// Match probability at or above which two records are the same person.
    pub threshold: f64,
    /// Who decides.
    pub actor: String,
}

/// Records a human decision and applies it at once to the two records'
/// clusters (when they are resolved). Returns the report and the
/// `merge-decision` ledger entry for the caller to append.
pub async fn decide(store: &AnyStore, d: HumanDecision) -> Result<(DecisionReport, NewEntry)> {
    check_threshold(d.threshold)?;
    if d.verdict == Verdict::Rejected && d.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(Error::BadInput(
            "a rejection needs --note TEXT saying why".to_owned(),
        ));
    }
    let (a, b) = two_persons(store, &d.id1, &d.id2).await?;
    let state = store.resolution_state().await?;
    let user = d.actor.clone();
    let (_, time) = now();
    let kind = if d.verdict == Verdict::Confirmed {
        "confirm"
    } else {
        "reject"
    };
    let mut decisions = human_decisions(store).await?;
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
        set_terms(store, &mut pair, &HashMap::new()).await?;
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
            let mut records: Vec<Record> = to_records(&persons);
            set_terms(store, &mut records, &HashMap::new()).await?;
            let previous: Vec<String> = persons
                .iter()
                .map(|p| cluster_of.get(&p.seq).cloned().unwrap_or_default())
                .collect();
            let input: Vec<(Record, String)> = records.into_iter().zip(previous.clone()).collect();
            let mut new_id = new_cluster_id;
            let o = incremental::recluster(&model, input, &decisions, &config, &mut new_id)
                .map_err(bad)?;
            if d.verdict == Verdict::Confirmed
                && o.conflicts
                    .iter()
                    .any(|(x, y)| (x == &a.id && y == &b.id) || (x == &b.id && y == &a.id))
            {
                return Err(Error::BadInput(format!(
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
    Ok((report, entry))
}

/// The text report of a human decision.
pub fn decision_text(r: &DecisionReport) -> String {
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
}

/// A record's cluster: its members and the decisions about them.
#[derive(Debug, Clone)]
pub struct ClusterView {
    /// The cluster id (`None` until a run resolves the record).
    pub cluster_id: Option<String>,
    /// The members (the record alone when unresolved).
    pub members: Vec<PersonRow>,
    /// Human decisions about the members, and machine merges within the cluster.
    pub decisions: Vec<DecisionRecord>,
}

/// The cluster of person `id`; an unknown id is bad input.
pub async fn cluster(store: &AnyStore, id: &str) -> Result<ClusterView> {
    let person = store
        .resolution_persons_by_id(&[id.to_owned()])
        .await?
        .pop()
        .ok_or_else(|| {
            Error::BadInput(format!(
                "unknown record id {id:?}: no Person with this id in the store"
            ))
        })?;
    let cluster = store
        .resolution_members_of(&[person.seq])
        .await?
        .pop()
        .map(|(_, c)| c);
    let members = match &cluster {
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
    let ids: Vec<String> = members.iter().map(|p| p.id.clone()).collect();
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
    Ok(ClusterView {
        cluster_id: cluster,
        members,
        decisions,
    })
}

/// Explains the match of persons `id1` and `id2` with the stored model.
/// Unknown or equal ids, and a store without a model, are bad input.
pub async fn explain(store: &AnyStore, id1: &str, id2: &str) -> Result<Explanation> {
    let (a, b) = two_persons(store, id1, id2).await?;
    let state = store.resolution_state().await?;
    let Some(model_record) = &state.model else {
        return Err(Error::BadInput(
            "the store has no resolution model yet; run palermo resolve first (or pass --input FILE)"
                .to_owned(),
        ));
    };
    let model = stored_model(&model_record.params, state.resolved)?;
    let mut pair = vec![to_record(&a), to_record(&b)];
    set_terms(store, &mut pair, &HashMap::new()).await?;
    let ka: HashSet<i64> = incremental::blocking_keys(&pair[0]).into_iter().collect();
    let candidate = incremental::blocking_keys(&pair[1])
        .iter()
        .any(|k| ka.contains(k));
    Ok(palermo_resolve::explain_records(
        &model, &pair[0], &pair[1], candidate,
    ))
}

/// The first value of the first of `names` that `p` has (empty if none).
pub fn first(p: &PersonRow, names: &[&str]) -> String {
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

/// A person's name for display: `name`, else `firstName lastName`.
pub fn display_name(p: &PersonRow) -> String {
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
