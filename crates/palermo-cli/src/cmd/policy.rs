//! `palermo policy`: show, validate, test and explain the sharing policy.
//!
//! The active set is the default set shipped with the binary, or the node's
//! own file given with `--policies` (or `PALERMO_POLICIES`). A file that does
//! not validate is refused with Cedar's error (exit 2) and nothing changes.
//! Decisions are made about the nodes, users and records of a world file
//! (JSON: `{"nodes": [...], "users": [...], "records": [...]}`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use palermo_law::{Date, KnowledgeBase};
use palermo_model::{HandlingCode, Tlp};
use palermo_policy::{
    Action, Decider, Decision, LawBasis, LoadOptions, Override, Policies, PolicySummary, Query,
    RequestInfo, World, WorldInfo, decide, handling_to_tlp, tlp_to_handling,
};
use serde::{Deserialize, Serialize};

use crate::exit::{CliError, ResultExt};
use crate::output::Ctx;

/// Subcommands of `palermo policy`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// The active policy set: source, digest, each policy's id, effect and reason.
    Show {
        /// The node's policy file (default: the set shipped with the binary).
        #[arg(long, env = "PALERMO_POLICIES", value_name = "FILE")]
        policies: Option<PathBuf>,
        /// Print the Cedar source text instead of the summary.
        #[arg(long)]
        source: bool,
        /// Print the Cedar schema instead of the summary.
        #[arg(long)]
        schema: bool,
    },
    /// Check a policy file against the schema without activating it.
    Validate {
        /// The policy file.
        file: PathBuf,
        /// Accept a file with no policies (it denies everything).
        #[arg(long)]
        allow_empty: bool,
    },
    /// Run a file of expected decisions against the policies (exit 1 if any fails).
    Test {
        /// Test cases as JSON: {"world": {...}, "cases": [{"as", "action", "record", "expect", ...}]}.
        cases: PathBuf,
        /// The node's policy file (default: the shipped set).
        #[arg(long, env = "PALERMO_POLICIES", value_name = "FILE")]
        policies: Option<PathBuf>,
    },
    /// Why a decision comes out as it does, with the determining policies.
    Explain(Box<ExplainArgs>),
}

/// Arguments of `palermo policy explain`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExplainArgs {
    /// The user asking.
    #[arg(long = "as", value_name = "USER")]
    user: String,
    /// view, search, export, query-hit, disclose-to-node, onward-share, release-on-request or amend-marking.
    #[arg(long)]
    action: String,
    /// The record id.
    #[arg(long, value_name = "ID")]
    record: String,
    /// The nodes, users and records (JSON).
    #[arg(long, value_name = "FILE")]
    world: PathBuf,
    /// A cooperation request (JSON: kind, purpose, subject_role, node[, date]).
    #[arg(long, value_name = "FILE")]
    request: Option<PathBuf>,
    /// The node the record would go to (disclose-to-node, onward-share).
    #[arg(long, value_name = "NODE")]
    to: Option<String>,
    /// A supervisor overriding the legal-basis rule (needs --reason).
    #[arg(long, value_name = "USER", requires = "reason")]
    override_by: Option<String>,
    /// The reason for the override (logged with the decision).
    #[arg(long, requires = "override_by")]
    reason: Option<String>,
    /// The user approving the release (a legal officer for victim records).
    #[arg(long, value_name = "USER")]
    approver: Option<String>,
    /// Date of the decision (YYYY-MM-DD, default today).
    #[arg(long)]
    today: Option<String>,
    /// The node's policy file (default: the shipped set).
    #[arg(long, env = "PALERMO_POLICIES", value_name = "FILE")]
    policies: Option<PathBuf>,
}

/// Runs a `palermo policy` subcommand.
pub(crate) async fn run(ctx: &Ctx, command: Command) -> Result<(), CliError> {
    match command {
        Command::Show {
            policies,
            source,
            schema,
        } => show(ctx, policies.as_deref(), source, schema),
        Command::Validate { file, allow_empty } => {
            let policies = load(Some(&file), allow_empty)?;
            let report = ShowReport::of(&policies);
            ctx.report(&report, |r| {
                format!(
                    "{}: valid, {} policies ({} permit, {} forbid), {}",
                    r.source,
                    r.policies.len(),
                    r.policies.iter().filter(|p| p.effect == "permit").count(),
                    r.policies.iter().filter(|p| p.effect == "forbid").count(),
                    r.digest
                )
            })
        }
        Command::Test { cases, policies } => test(ctx, &cases, policies.as_deref()),
        Command::Explain(args) => {
            let ExplainArgs {
                user,
                action,
                record,
                world,
                request,
                to,
                override_by,
                reason,
                approver,
                today: on,
                policies,
            } = *args;
            let policies = load(policies.as_deref(), false)?;
            let world = read_world(&world)?;
            let request = match &request {
                Some(path) => Some(read_json::<RequestInfo>(path)?),
                None => None,
            };
            let override_ = override_by.map(|by| Override {
                by,
                reason: reason.unwrap_or_default(),
            });
            let today = match &on {
                Some(text) => Date::parse(text)
                    .map_err(|err| CliError::bad_input(format!("--today: {err}")))?,
                None => today(),
            };
            let action: Action = action.parse().bad_input()?;
            let law = LawBasis::new(
                KnowledgeBase::embedded().context("loading the legal knowledge base")?,
            );
            let decider = Decider {
                policies: &policies,
                world: &world,
                basis: &law,
            };
            let query = Query {
                principal: &user,
                action,
                record: &record,
                target_node: to.as_deref(),
                request: request.as_ref(),
                override_: override_.as_ref(),
                approver: approver.as_deref(),
                reveals_attributes: false,
                today,
            };
            // FIXME(#7): decisions explained here go to no ledger yet; the ledger plugs into DecisionSink.
            let mut sink: Vec<Decision> = Vec::new();
            let decision = decide(&decider, &query, &mut sink).bad_input()?;
            let report = Explanation::of(&decision, &policies, &world);
            ctx.report(&report, explanation_text)
        }
    }
}

/// `policy show` output.
#[derive(Debug, Serialize)]
struct ShowReport {
    source: String,
    digest: String,
    policies: Vec<PolicySummary>,
    translation: Vec<TranslationRow>,
}

/// One row of the TLP ↔ H-code table.
#[derive(Debug, Serialize)]
struct TranslationRow {
    tlp: Tlp,
    to_handling: Option<HandlingCode>,
}

impl ShowReport {
    fn of(policies: &Policies) -> ShowReport {
        ShowReport {
            source: policies.source_name().to_owned(),
            digest: policies.digest().to_owned(),
            policies: policies.summaries().to_vec(),
            translation: Tlp::ALL
                .into_iter()
                .map(|tlp| TranslationRow {
                    tlp,
                    to_handling: tlp_to_handling(tlp),
                })
                .collect(),
        }
    }
}

fn show(ctx: &Ctx, path: Option<&Path>, source: bool, schema: bool) -> Result<(), CliError> {
    let policies = load(path, false)?;
    if schema {
        return ctx.report(&palermo_policy::SCHEMA_TEXT, |s| (*s).to_owned());
    }
    if source {
        return ctx.report(&policies.text(), |s| (*s).to_owned());
    }
    let report = ShowReport::of(&policies);
    ctx.report(&report, |r| {
        let mut out = format!("policy set {} ({})\n", r.source, r.digest);
        for p in &r.policies {
            let _ = writeln!(out, "  {:<6} {:<36} {}", p.effect, p.id, p.reason);
        }
        out.push_str("TLP -> H-code: ");
        let row = |t: &TranslationRow| {
            format!(
                "{} -> {}",
                t.tlp,
                t.to_handling
                    .map_or("none".to_owned(), |h| format!("{h:?}"))
            )
        };
        out.push_str(&r.translation.iter().map(row).collect::<Vec<_>>().join(", "));
        out.push_str("\nH-code -> TLP: ");
        let codes = [
            HandlingCode::H0,
            HandlingCode::H1,
            HandlingCode::H2,
            HandlingCode::H3,
        ];
        let back: Vec<String> = codes
            .iter()
            .map(|&h| format!("{h:?} -> {}", handling_to_tlp(h)))
            .collect();
        out.push_str(&back.join(", "));
        out
    })
}

/// A test-case file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    world: WorldInfo,
    cases: Vec<Case>,
}

/// One expected decision.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "as")]
    user: String,
    action: String,
    record: String,
    #[serde(default)]
    request: Option<RequestInfo>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default, rename = "override")]
    override_: Option<Override>,
    #[serde(default)]
    approver: Option<String>,
    #[serde(default)]
    reveals_attributes: bool,
    #[serde(default)]
    today: Option<String>,
    /// `allow` or `deny`.
    expect: String,
    /// A policy id that must be among the determining policies.
    #[serde(default)]
    policy: Option<String>,
}

/// The result of one case.
#[derive(Debug, Serialize)]
struct CaseResult {
    name: String,
    passed: bool,
    expected: String,
    decision: Decision,
}

/// `policy test` output.
#[derive(Debug, Serialize)]
struct TestReport {
    policies: String,
    digest: String,
    passed: usize,
    failed: usize,
    results: Vec<CaseResult>,
}

fn test(ctx: &Ctx, path: &Path, policies_path: Option<&Path>) -> Result<(), CliError> {
    let policies = load(policies_path, false)?;
    let file: CaseFile = read_json(path)?;
    let world = World::new(file.world)
        .map_err(|err| CliError::bad_input(format!("{}: {err}", path.display())))?;
    let law = LawBasis::new(KnowledgeBase::embedded().context("loading the legal knowledge base")?);
    let decider = Decider {
        policies: &policies,
        world: &world,
        basis: &law,
    };
    let mut results = Vec::new();
    // FIXME(#7): test decisions go to no ledger on purpose; they are hypothetical.
    let mut sink: Vec<Decision> = Vec::new();
    for (idx, case) in file.cases.iter().enumerate() {
        let at = |field: &str, msg: String| {
            CliError::bad_input(format!(
                "{}: case {}: {field}: {msg}",
                path.display(),
                idx + 1
            ))
        };
        let expect_allow = match case.expect.as_str() {
            "allow" => true,
            "deny" => false,
            other => {
                return Err(at(
                    "expect",
                    format!("expected allow or deny, got {other:?}"),
                ));
            }
        };
        let action: Action = case
            .action
            .parse()
            .map_err(|e: palermo_policy::Error| at("action", e.to_string()))?;
        let today = match &case.today {
            Some(text) => Date::parse(text).map_err(|e| at("today", e.to_string()))?,
            None => today(),
        };
        let query = Query {
            principal: &case.user,
            action,
            record: &case.record,
            target_node: case.to.as_deref(),
            request: case.request.as_ref(),
            override_: case.override_.as_ref(),
            approver: case.approver.as_deref(),
            reveals_attributes: case.reveals_attributes,
            today,
        };
        let decision =
            decide(&decider, &query, &mut sink).map_err(|e| at("query", e.to_string()))?;
        let policy_ok = case
            .policy
            .as_ref()
            .is_none_or(|id| decision.determining.contains(id));
        results.push(CaseResult {
            name: case
                .name
                .clone()
                .unwrap_or_else(|| format!("{} {} {}", case.user, case.action, case.record)),
            passed: decision.allowed == expect_allow && policy_ok,
            expected: match &case.policy {
                Some(id) => format!("{} by {id}", case.expect),
                None => case.expect.clone(),
            },
            decision,
        });
    }
    let failed = results.iter().filter(|r| !r.passed).count();
    let report = TestReport {
        policies: policies.source_name().to_owned(),
        digest: policies.digest().to_owned(),
        passed: results.len() - failed,
        failed,
        results,
    };
    ctx.report(&report, |r| {
        let mut out = String::new();
        for res in &r.results {
            let got = if res.decision.allowed {
                "allow"
            } else {
                "deny"
            };
            let _ = writeln!(
                out,
                "{} {}: expected {}, got {} [{}]",
                if res.passed { "ok  " } else { "FAIL" },
                res.name,
                res.expected,
                got,
                res.decision.determining.join(", ")
            );
        }
        let _ = write!(
            out,
            "{} passed, {} failed ({})",
            r.passed, r.failed, r.policies
        );
        out
    })?;
    if failed > 0 {
        return Err(CliError::failure(format!(
            "{failed} policy test case(s) failed"
        )));
    }
    Ok(())
}

/// `policy explain` output.
#[derive(Debug, Serialize)]
struct Explanation {
    decision: Decision,
    /// The determining policies with their reasons.
    because: Vec<PolicySummary>,
    /// The facts the policies looked at.
    facts: Vec<String>,
}

impl Explanation {
    fn of(decision: &Decision, policies: &Policies, world: &World) -> Explanation {
        let because = decision
            .determining
            .iter()
            .map(|id| {
                policies.summary(id).cloned().unwrap_or(PolicySummary {
                    id: id.clone(),
                    effect: "unknown",
                    reason: String::new(),
                })
            })
            .collect();
        let mut facts = Vec::new();
        if let Some(record) = world.record(&decision.resource) {
            let m = &record.markings;
            facts.push(format!(
                "record {}: {} held by node {}, {}{}{}{}",
                record.id,
                record.schema,
                record.node,
                palermo_policy::effective_tlp(m),
                record
                    .role
                    .map(|r| format!(", role {r}"))
                    .unwrap_or_default(),
                m.handling
                    .map(|h| format!(", handling {h:?}"))
                    .unwrap_or_default(),
                if m.onward_sharing {
                    ", onward sharing allowed"
                } else {
                    ", no onward sharing"
                },
            ));
        }
        facts.push(format!(
            "target jurisdiction {} ({})",
            decision.target_jurisdiction,
            if decision.cross_border {
                "cross-border"
            } else {
                "same state"
            }
        ));
        if decision.cross_border {
            facts.push(
                match (&decision.request_kind, decision.legal_basis.is_empty()) {
                    (None, _) => "no request, so no legal basis".to_owned(),
                    (Some(kind), true) => format!("no legal basis found for {kind}"),
                    (Some(kind), false) => {
                        format!(
                            "legal basis for {kind}: {}",
                            decision.legal_basis.join(", ")
                        )
                    }
                },
            );
        }
        if let Some(o) = &decision.override_ {
            facts.push(format!("override by {}: {}", o.by, o.reason));
        }
        Explanation {
            decision: decision.clone(),
            because,
            facts,
        }
    }
}

fn explanation_text(e: &Explanation) -> String {
    let d = &e.decision;
    let mut out = format!(
        "{}: {} {} {}\n",
        if d.allowed { "ALLOW" } else { "DENY" },
        d.principal,
        d.action,
        d.resource
    );
    if e.because.is_empty() {
        out.push_str("because no permit policy applies (deny by default)\n");
    } else {
        out.push_str("because:\n");
        for p in &e.because {
            let _ = writeln!(out, "  {} {}: {}", p.effect, p.id, p.reason);
        }
    }
    out.push_str("facts:\n");
    for fact in &e.facts {
        let _ = writeln!(out, "  {fact}");
    }
    let _ = write!(out, "policies {}", d.policy_digest);
    out
}

/// Loads the node's policy file, or the shipped set; errors are bad input.
fn load(path: Option<&Path>, allow_empty: bool) -> Result<Policies, CliError> {
    let Some(path) = path else {
        return Ok(Policies::embedded());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))
        .bad_input()?;
    Policies::parse(
        &path.display().to_string(),
        &text,
        LoadOptions { allow_empty },
    )
    .bad_input()
}

fn read_world(path: &Path) -> Result<World, CliError> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))
        .bad_input()?;
    WorldInfo::from_json(&text)
        .and_then(World::new)
        .map_err(|err| CliError::bad_input(format!("{}: {err}", path.display())))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, CliError> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))
        .bad_input()?;
    serde_json::from_str(&text).map_err(|err| {
        CliError::bad_input(format!("{}: line {}: {err}", path.display(), err.line()))
    })
}

fn today() -> Date {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Date::from_unix_days(i64::try_from(secs / 86_400).unwrap_or(0))
}
