//! `palermo policy`: show, load, validate, test and explain the sharing policy.
//!
//! The node's active set is the latest version loaded into the store with
//! `palermo policy load FILE` (validated first; a file that does not validate
//! is refused with Cedar's error, exit 2, and the active set is unchanged),
//! or the default set shipped with the binary when none was loaded.
//! `show`, `test` and `explain` take another file with `--policies` (or
//! `PALERMO_POLICIES`). `explain` decides about the store's users and records,
//! or about those of a world file (`--world`, JSON: `{"nodes": [...],
//! "users": [...], "records": [...]}`).
//!
//! This module also holds the policy context of the commands that show or
//! export stored records ([`AccessArgs`], [`access`]): the principal
//! (`--as USER`, or the local operator), the node, the active policies, the
//! legal basis with the store's law updates, and one ledger append per
//! command for all its decisions.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use palermo_law::{Date, KnowledgeBase};
use palermo_ledger::entry::NewEntry;
use palermo_model::{Entity, HandlingCode, Tlp};
use palermo_node::{Gate, LOCAL_OPERATOR, LedgerSink};
use palermo_policy::{
    Action, Decider, Decision, LawBasis, LoadOptions, NodeInfo, Override, Policies, PolicySummary,
    Query, RequestInfo, UserInfo, World, WorldInfo, decide, handling_to_tlp, tlp_to_handling,
};
use palermo_store::{AnyStore, PolicyVersionRecord, Store};
use serde::{Deserialize, Serialize};

use crate::cmd::ledger::{KeyArgs, append};
use crate::exit::{CliError, ResultExt};
use crate::output::Ctx;
use crate::store::open_store;

/// Subcommands of `palermo policy`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// The active policy set (version, history, source, digest, each policy's id, effect and reason).
    Show {
        /// Show this policy file instead of the node's active set.
        #[arg(long, env = "PALERMO_POLICIES", value_name = "FILE")]
        policies: Option<PathBuf>,
        /// Print the Cedar source text instead of the summary.
        #[arg(long)]
        source: bool,
        /// Print the Cedar schema instead of the summary.
        #[arg(long)]
        schema: bool,
    },
    /// Validate a policy file and make it the node's active set (a new version in the store).
    Load {
        /// The policy file.
        file: PathBuf,
        /// Accept a file with no policies (it denies everything).
        #[arg(long)]
        allow_empty: bool,
        /// Who loads it (default: $USER).
        #[arg(long, env = "PALERMO_USER")]
        user: Option<String>,
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
        /// A policy file to test (default: the node's active set; the shipped set when
        /// the node has no store yet).
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
    /// The nodes, users and records (JSON); default: the user and record from the store
    /// (`--db`), this node and, with `--node`, the members of its federation directory.
    #[arg(long, value_name = "FILE")]
    world: Option<PathBuf>,
    /// The node directory (palermo node init) when deciding from the store.
    #[arg(long, value_name = "NODE_DIR", conflicts_with = "world")]
    node: Option<PathBuf>,
    #[command(flatten)]
    key: KeyArgs,
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
    /// A policy file to decide with (default: the node's active set).
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
        } => show(ctx, policies.as_deref(), source, schema).await,
        Command::Load {
            file,
            allow_empty,
            user,
        } => load_into_store(ctx, &file, allow_empty, user).await,
        Command::Validate { file, allow_empty } => {
            let policies = load(Some(&file), allow_empty)?;
            let report = ShowReport::of(&policies, None, Vec::new());
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
        Command::Test { cases, policies } => test(ctx, &cases, policies.as_deref()).await,
        Command::Explain(args) => explain(ctx, *args).await,
    }
}

/// Runs `palermo policy explain`, about a world file or about the store.
async fn explain(ctx: &Ctx, args: ExplainArgs) -> Result<(), CliError> {
    let ExplainArgs {
        user,
        action,
        record,
        world,
        node,
        key,
        request,
        to,
        override_by,
        reason,
        approver,
        today: on,
        policies,
    } = args;
    let request = match &request {
        Some(path) => Some(read_json::<RequestInfo>(path)?),
        None => None,
    };
    let override_ = override_by.map(|by| Override {
        by,
        reason: reason.unwrap_or_default(),
    });
    let today = match &on {
        Some(text) => {
            Date::parse(text).map_err(|err| CliError::bad_input(format!("--today: {err}")))?
        }
        None => today(),
    };
    let action: Action = action.parse().bad_input()?;
    // From a world file: a hypothetical decision, recorded nowhere.
    let store = match &world {
        Some(_) => None,
        None => Some(open_store(ctx).await?),
    };
    let (policies, world, law) = match (&world, &store) {
        (Some(path), _) => {
            let law = LawBasis::new(
                KnowledgeBase::embedded().context("loading the legal knowledge base")?,
            );
            (load(policies.as_deref(), false)?, read_world(path)?, law)
        }
        (None, Some(store)) => {
            let policies = match policies.as_deref() {
                Some(path) => load(Some(path), false)?,
                None => active(store).await?,
            };
            let mut users = vec![user.as_str()];
            users.extend(override_.as_ref().map(|o| o.by.as_str()));
            users.extend(approver.as_deref());
            let world = store_world(store, node.as_deref(), &users, &record).await?;
            let law = palermo_node::law_basis(store).await.map_err(node_error)?;
            (policies, world, law)
        }
        (None, None) => return Err(CliError::failure("no store and no world")),
    };
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
    let mut sink = LedgerSink::new();
    let decision = decide(&decider, &query, &mut sink).bad_input()?;
    if let Some(store) = &store {
        append(ctx, store, &key, &user, sink.take()).await?;
    }
    let report = Explanation::of(&decision, &policies, &world);
    ctx.report(&report, explanation_text)
}

/// The world of a decision from the store: this node (and, with a node
/// directory, the federation's members), the stored users `users` (or the
/// local operator) and the stored record `record`.
async fn store_world(
    store: &AnyStore,
    node_dir: Option<&Path>,
    users: &[&str],
    record: &str,
) -> Result<World, CliError> {
    let (this, peers) = node_scope(node_dir)?;
    let mut infos: Vec<UserInfo> = Vec::new();
    for &name in users {
        if infos.iter().any(|u| u.id == name) {
            continue;
        }
        let who = (name != LOCAL_OPERATOR).then_some(name);
        infos.push(
            palermo_node::principal(store, &this, who)
                .await
                .map_err(node_error)?,
        );
    }
    let entity = store
        .get(record)
        .await
        .context("reading the record")?
        .ok_or_else(|| {
            CliError::bad_input(format!("unknown record {record:?}: not in the store"))
        })?;
    let mut nodes = vec![this.clone()];
    nodes.extend(peers.into_iter().filter(|p| p.id != this.id));
    World::new(WorldInfo {
        records: vec![palermo_node::record_info(&this, &entity)],
        nodes,
        users: infos,
    })
    .bad_input()
}

/// `policy show` output.
#[derive(Debug, Serialize)]
struct ShowReport {
    /// The active stored version (`None`: the shipped set, or a file).
    version: Option<u64>,
    /// Every stored version, oldest first.
    history: Vec<PolicyVersionRecord>,
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
    fn of(
        policies: &Policies,
        version: Option<u64>,
        history: Vec<PolicyVersionRecord>,
    ) -> ShowReport {
        ShowReport {
            version,
            history,
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

async fn show(ctx: &Ctx, path: Option<&Path>, source: bool, schema: bool) -> Result<(), CliError> {
    if schema {
        return ctx.report(&palermo_policy::SCHEMA_TEXT, |s| (*s).to_owned());
    }
    let (policies, version, history) = match path {
        Some(path) => (load(Some(path), false)?, None, Vec::new()),
        None if no_store_yet(&ctx.db) => (Policies::embedded(), None, Vec::new()),
        None => {
            let store = open_store(ctx).await?;
            let (policies, active) = palermo_node::active_policies(&store)
                .await
                .map_err(node_error)?;
            let history = store
                .policy_versions()
                .await
                .context("reading the policy history")?;
            (policies, active.map(|v| v.version), history)
        }
    };
    if source {
        return ctx.report(&policies.text(), |s| (*s).to_owned());
    }
    let report = ShowReport::of(&policies, version, history);
    ctx.report(&report, |r| {
        let mut out = match r.version {
            Some(v) => format!(
                "active version {v}: policy set {} ({})\n",
                r.source, r.digest
            ),
            None => format!("policy set {} ({})\n", r.source, r.digest),
        };
        for p in &r.policies {
            let _ = writeln!(out, "  {:<6} {:<36} {}", p.effect, p.id, p.reason);
        }
        if !r.history.is_empty() {
            out.push_str("history:\n");
            for v in &r.history {
                let _ = writeln!(
                    out,
                    "  v{:<4} {} {} by {} ({})",
                    v.version, v.created, v.source_name, v.author, v.digest
                );
            }
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

/// What `policy load` reports.
#[derive(Debug, Serialize)]
struct LoadReport {
    version: u64,
    source: String,
    digest: String,
    policies: usize,
}

/// Runs `palermo policy load FILE`: validates, then activates atomically.
async fn load_into_store(
    ctx: &Ctx,
    file: &Path,
    allow_empty: bool,
    user: Option<String>,
) -> Result<(), CliError> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading {}", file.display()))
        .bad_input()?;
    let source = file.display().to_string();
    // Validate before opening the store, so a bad file never creates one.
    let policies = Policies::parse(&source, &text, LoadOptions { allow_empty }).bad_input()?;
    let store = open_store(ctx).await?;
    let author = crate::cmd::ledger::actor(user);
    let stored = palermo_node::install_policies(
        &store,
        &source,
        &text,
        LoadOptions { allow_empty },
        &author,
    )
    .await
    .map_err(node_error)?;
    let report = LoadReport {
        version: stored.version,
        source,
        digest: stored.digest,
        policies: policies.summaries().len(),
    };
    ctx.report(&report, |r| {
        format!(
            "activated policy version {}: {} ({} policies, {})",
            r.version, r.source, r.policies, r.digest
        )
    })
}

/// Who asks, and on which node: the policy context of a command that shows
/// or exports stored records.
#[derive(Debug, clap::Args)]
pub(crate) struct AccessArgs {
    /// Act as this stored user (palermo user add). Default: the local operator, user id
    /// `local-operator` of the node's agency, role administrator, no cases.
    #[arg(long = "as", value_name = "USER")]
    pub(crate) user: Option<String>,
    /// The node directory (palermo node init): the node's id, jurisdiction and agency.
    /// Default: node `palermo` of agency `palermo` in jurisdiction `ZZ`, as `palermo serve`.
    #[arg(long = "node", value_name = "NODE_DIR")]
    pub(crate) node: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) key: KeyArgs,
}

/// The policy context of one command: the node's active policies, the legal
/// basis with the store's law updates, and the gate that decides for the
/// principal and collects every decision.
pub(crate) struct Access {
    policies: Policies,
    basis: LawBasis,
    gate: Gate,
}

/// Builds the policy context of a command; an unknown or revoked `--as`
/// user is bad input.
pub(crate) async fn access(store: &AnyStore, args: &AccessArgs) -> Result<Access, CliError> {
    let (node, _) = node_scope(args.node.as_deref())?;
    let policies = active(store).await?;
    let basis = palermo_node::law_basis(store).await.map_err(node_error)?;
    let user = palermo_node::principal(store, &node, args.user.as_deref())
        .await
        .map_err(node_error)?;
    Ok(Access {
        policies,
        basis,
        gate: Gate::new(node, user, palermo_node::today()),
    })
}

impl Access {
    /// The same context for bulk work (an export of the store): like
    /// record decisions share one ledger entry (`Gate::bulk`).
    pub(crate) fn bulk(self) -> Access {
        let gate = Gate::bulk(
            self.gate.node().clone(),
            self.gate.user().clone(),
            palermo_node::today(),
        );
        Access { gate, ..self }
    }

    /// The principal's id.
    pub(crate) fn principal(&self) -> &str {
        &self.gate.user().id
    }

    /// Decides `action` on each entity; returns those allowed, in order.
    pub(crate) fn filter<'e>(
        &mut self,
        action: Action,
        entities: &'e [Entity],
    ) -> Result<Vec<&'e Entity>, CliError> {
        self.gate
            .filter(&self.policies, &self.basis, action, entities)
            .map_err(node_error)
    }

    /// Records decided and denied so far.
    pub(crate) fn denied(&self) -> u64 {
        self.gate.denied()
    }

    /// Writes every decision of the command, then `extra`, to the ledger in
    /// one append.
    pub(crate) async fn record(
        &mut self,
        ctx: &Ctx,
        store: &AnyStore,
        key: &KeyArgs,
        extra: Vec<NewEntry>,
    ) -> Result<(), CliError> {
        for entry in extra {
            self.gate.log(entry);
        }
        let entries = self.gate.take_entries();
        if entries.is_empty() {
            return Ok(());
        }
        let actor = self.principal().to_owned();
        append(ctx, store, key, &actor, entries).await?;
        Ok(())
    }
}

/// This node and the members of its federation directory (when `dir` is an
/// enrolled node directory); without `dir`, node `palermo` of agency
/// `palermo` in jurisdiction `ZZ`, as `palermo serve` without `--node`.
fn node_scope(dir: Option<&Path>) -> Result<(NodeInfo, Vec<NodeInfo>), CliError> {
    let Some(dir) = dir else {
        let node = NodeInfo {
            id: "palermo".to_owned(),
            jurisdiction: "ZZ".to_owned(),
            agency: "palermo".to_owned(),
        };
        return Ok((node, Vec::new()));
    };
    let identity = palermo_federation::NodeIdentity::load(dir)
        .map_err(|err| CliError::bad_input(format!("{}: {err}", dir.display())))?;
    let node = NodeInfo {
        id: identity.node_id.clone(),
        jurisdiction: identity.jurisdiction.clone(),
        agency: identity.agency.clone(),
    };
    // A node not enrolled yet has no directory: it knows no peers.
    let peers = identity
        .load_directory(dir, time::OffsetDateTime::now_utc())
        .map(|signed| {
            signed
                .directory
                .members
                .iter()
                .map(|m| NodeInfo {
                    id: m.node_id.clone(),
                    jurisdiction: m.jurisdiction.clone(),
                    agency: m.agency.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((node, peers))
}

/// The node's active policy set from the store.
async fn active(store: &AnyStore) -> Result<Policies, CliError> {
    Ok(palermo_node::active_policies(store)
        .await
        .map_err(node_error)?
        .0)
}

/// A node-level error as a CLI error: bad input is exit 2.
pub(crate) fn node_error(err: palermo_node::Error) -> CliError {
    if err.is_bad_input() {
        CliError::bad_input(err)
    } else {
        CliError::from(anyhow::Error::new(err))
    }
}

/// True when the store is an SQLite file that does not exist yet.
fn no_store_yet(db: &str) -> bool {
    let Some(path) = db
        .strip_prefix("sqlite://")
        .or_else(|| db.strip_prefix("sqlite:"))
    else {
        return false;
    };
    let path = path.split('?').next().unwrap_or(path);
    path != ":memory:" && !std::path::Path::new(path).exists()
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

async fn test(ctx: &Ctx, path: &Path, policies_path: Option<&Path>) -> Result<(), CliError> {
    let policies = match policies_path {
        Some(_) => load(policies_path, false)?,
        None if no_store_yet(&ctx.db) => Policies::embedded(),
        None => active(&open_store(ctx).await?).await?,
    };
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
    // Test decisions are about a world file, not the store: hypothetical, so on no ledger.
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
