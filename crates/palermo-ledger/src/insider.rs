//! Insider-abuse signals computed from the ledger's query entries.
//!
//! Three signals, each pointing at the entries behind it:
//! - **volume**: a user looked up far more distinct persons than the median user;
//! - **outside-case**: a query with no case, or a case the user is not assigned
//!   to (assignments are `case-assignment` entries earlier in the log);
//! - **off-hours**: queries outside the working hours given in [`InsiderConfig`].

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::entry::{Entry, EntryBody};

/// Thresholds of the insider-abuse report (no defaults: the caller decides).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InsiderConfig {
    /// Flag a user whose distinct persons exceed this multiple of the median.
    pub volume_factor: f64,
    /// ... and who looked up at least this many distinct persons.
    pub min_persons: u64,
    /// First working hour (0–23) in `utc_offset_hours` local time.
    pub work_start_hour: u8,
    /// First hour after work (1–24).
    pub work_end_hour: u8,
    /// The node's local time offset from UTC, in hours.
    pub utc_offset_hours: i8,
}

/// Per-user counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct UserActivity {
    /// The user.
    pub user: String,
    /// Query entries.
    pub n_queries: u64,
    /// Distinct persons looked up.
    pub n_persons: u64,
    /// Queries outside the user's cases.
    pub n_outside_case: u64,
    /// Queries outside working hours.
    pub n_off_hours: u64,
}

/// One signal about one user.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Signal {
    /// The user.
    pub user: String,
    /// `volume`, `outside-case` or `off-hours`.
    pub kind: &'static str,
    /// Why, in words.
    pub detail: String,
    /// The ledger entries behind the signal (at most 20).
    pub entries: Vec<u64>,
}

/// The insider-abuse report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InsiderReport {
    /// The thresholds used.
    pub config: InsiderConfig,
    /// Median distinct persons per querying user.
    pub median_persons: f64,
    /// Every querying user, most persons first.
    pub users: Vec<UserActivity>,
    /// The signals, by user.
    pub signals: Vec<Signal>,
}

/// Most entries a signal lists.
const MAX_LISTED: usize = 20;

/// Computes the report from the log's entries, in log order.
pub fn insider_report<'a>(
    entries: impl IntoIterator<Item = &'a Entry>,
    config: &InsiderConfig,
) -> InsiderReport {
    #[derive(Default)]
    struct Acc {
        activity: UserActivity,
        persons: BTreeSet<String>,
        query_entries: Vec<u64>,
        outside: Vec<u64>,
        off_hours: Vec<u64>,
    }
    let mut assigned: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut users: BTreeMap<String, Acc> = BTreeMap::new();
    for entry in entries {
        match &entry.body {
            EntryBody::CaseAssignment { user } => {
                if let Some(case) = &entry.case {
                    assigned
                        .entry(user.clone())
                        .or_default()
                        .insert(case.clone());
                }
            }
            EntryBody::Query { persons, .. } => {
                let acc = users.entry(entry.actor.clone()).or_default();
                acc.activity.n_queries += 1;
                acc.persons.extend(persons.iter().cloned());
                acc.query_entries.push(entry.seq);
                let in_case = entry.case.as_ref().is_some_and(|case| {
                    assigned
                        .get(&entry.actor)
                        .is_some_and(|cases| cases.contains(case))
                });
                if !in_case {
                    acc.activity.n_outside_case += 1;
                    acc.outside.push(entry.seq);
                }
                let hour = local_hour(entry.time.hour(), config.utc_offset_hours);
                if !(config.work_start_hour..config.work_end_hour).contains(&hour) {
                    acc.activity.n_off_hours += 1;
                    acc.off_hours.push(entry.seq);
                }
            }
            _ => {}
        }
    }
    let mut counts: Vec<u64> = users.values().map(|acc| acc.persons.len() as u64).collect();
    counts.sort_unstable();
    let median_persons = median(&counts);
    let mut signals = Vec::new();
    let mut activities = Vec::new();
    for (user, mut acc) in users {
        acc.activity.user = user.clone();
        acc.activity.n_persons = acc.persons.len() as u64;
        let n = acc.activity.n_persons;
        if n >= config.min_persons && n as f64 > config.volume_factor * median_persons {
            signals.push(Signal {
                user: user.clone(),
                kind: "volume",
                detail: format!(
                    "looked up {n} distinct persons; the median user looked up {median_persons}"
                ),
                entries: first(&acc.query_entries),
            });
        }
        if !acc.outside.is_empty() {
            signals.push(Signal {
                user: user.clone(),
                kind: "outside-case",
                detail: format!(
                    "{} of {} queries were outside the user's assigned cases",
                    acc.outside.len(),
                    acc.activity.n_queries
                ),
                entries: first(&acc.outside),
            });
        }
        if !acc.off_hours.is_empty() {
            signals.push(Signal {
                user: user.clone(),
                kind: "off-hours",
                detail: format!(
                    "{} of {} queries were outside {:02}:00–{:02}:00",
                    acc.off_hours.len(),
                    acc.activity.n_queries,
                    config.work_start_hour,
                    config.work_end_hour
                ),
                entries: first(&acc.off_hours),
            });
        }
        activities.push(acc.activity);
    }
    activities.sort_by(|a, b| {
        b.n_persons
            .cmp(&a.n_persons)
            .then_with(|| a.user.cmp(&b.user))
    });
    InsiderReport {
        config: config.clone(),
        median_persons,
        users: activities,
        signals,
    }
}

fn local_hour(utc_hour: u8, offset: i8) -> u8 {
    (i16::from(utc_hour) + i16::from(offset)).rem_euclid(24) as u8
}

fn median(sorted: &[u64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2] as f64,
        n => (sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0,
    }
}

fn first(seqs: &[u64]) -> Vec<u64> {
    seqs.iter().take(MAX_LISTED).copied().collect()
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::hash::Hash;

    fn entry(seq: u64, actor: &str, case: Option<&str>, hour: i64, body: EntryBody) -> Entry {
        Entry {
            v: 1,
            seq,
            prev: Hash([0; 32]),
            time: OffsetDateTime::from_unix_timestamp(1_700_006_400 + hour * 3600).unwrap(),
            actor: actor.to_owned(),
            case: case.map(str::to_owned),
            body,
        }
    }

    fn query(seq: u64, actor: &str, case: &str, hour: i64, persons: &[&str]) -> Entry {
        let body = EntryBody::Query {
            persons: persons.iter().map(|p| (*p).to_owned()).collect(),
            purpose: None,
            legal_basis: None,
            policy_decision: None,
        };
        entry(seq, actor, Some(case), hour, body)
    }

    fn config() -> InsiderConfig {
        InsiderConfig {
            volume_factor: 3.0,
            min_persons: 5,
            work_start_hour: 8,
            work_end_hour: 19,
            utc_offset_hours: 0,
        }
    }

    fn kinds(report: &InsiderReport) -> Vec<(String, &'static str)> {
        report
            .signals
            .iter()
            .map(|s| (s.user.clone(), s.kind))
            .collect()
    }

    #[test]
    fn flags_volume_outside_case_and_off_hours() {
        // 1_700_006_400 is 2023-11-15 00:00 UTC; hour 10 is in working hours.
        let mut log = vec![
            entry(
                0,
                "lead",
                Some("C1"),
                9,
                EntryBody::CaseAssignment { user: "ann".into() },
            ),
            entry(
                1,
                "lead",
                Some("C1"),
                9,
                EntryBody::CaseAssignment { user: "bob".into() },
            ),
            entry(
                2,
                "lead",
                Some("C1"),
                9,
                EntryBody::CaseAssignment { user: "eve".into() },
            ),
            query(3, "ann", "C1", 10, &["p1", "p2"]),
            query(4, "bob", "C1", 11, &["p2"]),
        ];
        let many: Vec<String> = (0..30).map(|i| format!("x{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        log.push(query(5, "eve", "C1", 12, &many));
        log.push(query(6, "eve", "C9", 3, &["p1"]));
        let report = insider_report(&log, &config());
        assert_eq!(
            kinds(&report),
            vec![
                ("eve".into(), "volume"),
                ("eve".into(), "outside-case"),
                ("eve".into(), "off-hours")
            ]
        );
        assert_eq!(report.users[0].user, "eve");
        assert_eq!(report.signals[1].entries, vec![6]);
    }

    #[test]
    fn quiet_log_has_no_signals() {
        let log = vec![
            entry(
                0,
                "lead",
                Some("C1"),
                9,
                EntryBody::CaseAssignment { user: "ann".into() },
            ),
            query(1, "ann", "C1", 10, &["p1"]),
        ];
        assert!(insider_report(&log, &config()).signals.is_empty());
        assert_eq!(local_hour(1, -3), 22);
    }
}
