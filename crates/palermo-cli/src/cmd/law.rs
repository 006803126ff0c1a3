//! `palermo law`: treaties, legal basis for cooperation, dual criminality,
//! gap reports, and operator updates of the legal knowledge base.
//!
//! The knowledge base is embedded in the binary; operator updates are kept
//! in the store's `law_updates` log and replayed on top of it. Read-only
//! questions against an SQLite store that does not exist yet use the base
//! alone (no file is created just to answer).

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use palermo_law::{
    BasisAnswer, Candidate, Conduct, Cooperation, Date, DualAnswer, Finding, GapReport,
    KnowledgeBase, Matrix, Membership, PartiesReport, Tri, Update, UpdateAction,
};
use palermo_store::LawUpdateRecord;
use serde::Serialize;

use crate::exit::{CliError, ResultExt};
use crate::output::Ctx;

/// Subcommands of `palermo law`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Instruments binding both states that provide a kind of cooperation.
    Basis {
        /// First state (ISO 3166-1 alpha-2, or EU).
        a: String,
        /// Second state.
        b: String,
        /// Kind of cooperation: mla, extradition, information, jit or asset-freeze.
        #[arg(long = "for", value_name = "KIND")]
        kind: String,
        /// Date of the question (YYYY-MM-DD, default today).
        #[arg(long)]
        on: Option<String>,
    },
    /// Whether each state's national offence covers a conduct, element by element.
    DualCriminality {
        /// Conduct as JSON: {"acts": [...], "means": [...], "purpose": [...], "victim_age": N, "transnational": bool}.
        #[arg(long, value_name = "FILE")]
        conduct: std::path::PathBuf,
        /// First state.
        a: String,
        /// Second state.
        b: String,
    },
    /// A state's national offence against the Palermo standard: gaps and unknowns.
    Gaps {
        /// The state.
        country: String,
        /// Date for treaty membership (YYYY-MM-DD, default today).
        #[arg(long)]
        on: Option<String>,
    },
    /// The states the knowledge base records for an instrument.
    Parties {
        /// Instrument id (PALERMO_TIP, UNTOC, CETS197, ILO_P029, ACTIP, EU_DIR_2011_36).
        instrument: String,
        /// Date of the statuses (YYYY-MM-DD, default today).
        #[arg(long)]
        on: Option<String>,
    },
    /// Which instruments bind each pair of states.
    Matrix {
        /// Comma-separated states, e.g. NL,TH,MY.
        countries: String,
        /// Date (YYYY-MM-DD, default today).
        #[arg(long)]
        on: Option<String>,
        /// Print CSV instead of text.
        #[arg(long)]
        csv: bool,
    },
    /// Add or correct knowledge-base rows, or add bilateral agreements, from a CSV file.
    Import {
        /// CSV in the format of instruments.csv, parties.csv, non_parties.csv,
        /// national_offences.csv, or the bilateral format
        /// (agreement_id,kind,state_a,state_b,title,signature_date,entry_into_force,cooperation,scope,source,notes).
        file: std::path::PathBuf,
        /// Who makes the update (default: $USER).
        #[arg(long)]
        author: Option<String>,
        /// Why.
        #[arg(long, default_value = "")]
        note: String,
        /// Check the file and show what would change, without storing it.
        #[arg(long)]
        dry_run: bool,
    },
    /// The update log: every version, who made it, when, and what it did.
    History,
    /// Withdraw the rows of an earlier import (recorded as a new version).
    Revert {
        /// The version to revert.
        version: u32,
        /// Who reverts (default: $USER).
        #[arg(long)]
        author: Option<String>,
        /// Why.
        #[arg(long, default_value = "")]
        note: String,
    },
}

/// Runs a `palermo law` subcommand.
pub(crate) async fn run(ctx: &Ctx, command: Command) -> Result<(), CliError> {
    let today = today();
    match command {
        Command::Basis { a, b, kind, on } => {
            let kind = Cooperation::parse(&kind).ok_or_else(|| {
                CliError::bad_input(format!(
                    "--for: unknown kind of cooperation '{kind}' (expected mla, extradition, information, jit or asset-freeze)"
                ))
            })?;
            let on = on_date(on.as_deref(), today)?;
            let kb = load(ctx, false).await?;
            let answer = palermo_law::basis(&kb, &a, &b, kind, on).bad_input()?;
            ctx.report(&answer, basis_text)
        }
        Command::DualCriminality { conduct, a, b } => {
            let text = std::fs::read_to_string(&conduct)
                .with_context(|| format!("reading {}", conduct.display()))
                .bad_input()?;
            let parsed = Conduct::from_json(&text)
                .with_context(|| format!("{}", conduct.display()))
                .bad_input()?;
            let kb = load(ctx, false).await?;
            let answer = palermo_law::dual_criminality(&kb, &parsed, &a, &b).bad_input()?;
            ctx.report(&answer, dual_text)
        }
        Command::Gaps { country, on } => {
            let on = on_date(on.as_deref(), today)?;
            let kb = load(ctx, false).await?;
            let report = palermo_law::gaps(&kb, &country, on).bad_input()?;
            ctx.report(&report, gaps_text)
        }
        Command::Parties { instrument, on } => {
            let on = on_date(on.as_deref(), today)?;
            let kb = load(ctx, false).await?;
            let report = palermo_law::parties(&kb, &instrument, on).bad_input()?;
            ctx.report(&report, parties_text)
        }
        Command::Matrix { countries, on, csv } => {
            let on = on_date(on.as_deref(), today)?;
            let list: Vec<String> = countries
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect();
            if list.len() < 2 {
                return Err(CliError::bad_input(
                    "matrix needs at least two comma-separated country codes",
                ));
            }
            let kb = load(ctx, false).await?;
            let matrix = palermo_law::matrix(&kb, &list, on).bad_input()?;
            if csv {
                print!("{}", matrix.to_csv());
                Ok(())
            } else {
                ctx.report(&matrix, matrix_text)
            }
        }
        Command::Import {
            file,
            author,
            note,
            dry_run,
        } => import(ctx, &file, author, note, dry_run, today).await,
        Command::History => history(ctx).await,
        Command::Revert {
            version,
            author,
            note,
        } => revert(ctx, version, author, note).await,
    }
}

/// Today's date (UTC) from the system clock.
fn today() -> Date {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Date::from_unix_days((secs / 86_400) as i64)
}

/// Now as RFC 3339 (UTC, seconds).
fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let day = Date::from_unix_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{day}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn on_date(on: Option<&str>, today: Date) -> Result<Date, CliError> {
    let Some(text) = on else { return Ok(today) };
    let date = Date::parse(text).with_context(|| "--on").bad_input()?;
    palermo_law::not_future("--on date", date, today).bad_input()?;
    Ok(date)
}

fn author(given: Option<String>) -> String {
    given
        .or_else(|| std::env::var("USER").ok())
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
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

async fn read_log(
    ctx: &Ctx,
    create: bool,
) -> Result<Option<(palermo_store::AnyStore, Vec<Update>)>, CliError> {
    if !create && no_store_yet(&ctx.db) {
        return Ok(None);
    }
    let store = palermo_store::open(&ctx.db)
        .await
        .context("opening the store")?;
    let records = store
        .law_updates()
        .await
        .context("reading the legal update log")?;
    let updates = records
        .iter()
        .map(|r| {
            serde_json::from_str::<Update>(&r.body)
                .with_context(|| format!("legal update log: version {} is corrupt", r.version))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some((store, updates)))
}

async fn load(ctx: &Ctx, create: bool) -> Result<KnowledgeBase, CliError> {
    let updates = read_log(ctx, create)
        .await?
        .map(|(_, u)| u)
        .unwrap_or_default();
    Ok(KnowledgeBase::with_updates(&updates).context("building the legal knowledge base")?)
}

async fn append(store: &palermo_store::AnyStore, update: &Update) -> Result<(), CliError> {
    let record = LawUpdateRecord {
        version: update.version,
        author: update.author.clone(),
        created: update.created.clone(),
        body: serde_json::to_string(update)?,
    };
    store
        .append_law_update(&record)
        .await
        .context("storing the legal update")?;
    Ok(())
}

#[derive(Serialize)]
struct ImportReport {
    version: Option<u32>,
    dry_run: bool,
    file: String,
    summary: palermo_law::ImportSummary,
    kb_version: String,
}

async fn import(
    ctx: &Ctx,
    file: &std::path::Path,
    author_name: Option<String>,
    note: String,
    dry_run: bool,
    today: Date,
) -> Result<(), CliError> {
    let content = std::fs::read_to_string(file)
        .with_context(|| format!("reading {}", file.display()))
        .bad_input()?;
    let file_name = file.display().to_string();
    let (store, updates) = match read_log(ctx, !dry_run).await? {
        Some((store, updates)) => (Some(store), updates),
        None => (None, Vec::new()),
    };
    let kb = KnowledgeBase::with_updates(&updates).context("building the legal knowledge base")?;
    let summary = kb.check_import(&file_name, &content, today).bad_input()?;
    let mut report = ImportReport {
        version: None,
        dry_run,
        file: file_name.clone(),
        summary,
        kb_version: kb.version().to_string(),
    };
    if !dry_run {
        let update = Update {
            version: updates.len() as u32 + 1,
            author: author(author_name),
            created: now_rfc3339(),
            note,
            action: UpdateAction::Import { file_name, content },
        };
        let mut all = updates.clone();
        all.push(update.clone());
        let new_kb = KnowledgeBase::with_updates(&all).context("replaying the update log")?;
        let store = store.ok_or_else(|| CliError::failure("no store to write the update to"))?;
        append(&store, &update).await?;
        report.version = Some(update.version);
        report.kb_version = new_kb.version().to_string();
    }
    ctx.report(&report, |r| {
        let s = &r.summary;
        let head = match r.version {
            Some(v) => format!("imported {} as version {v}", r.file),
            None => format!("checked {} (dry run, nothing stored)", r.file),
        };
        format!(
            "{head}: {:?} table, {} rows ({} added, {} corrected)\nknowledge base now {}\n",
            s.table, s.rows, s.added, s.replaced, r.kb_version
        )
    })
}

#[derive(Serialize)]
struct HistoryEntry {
    version: u32,
    author: String,
    created: String,
    note: String,
    action: String,
    file: Option<String>,
    reverted_by: Option<u32>,
}

#[derive(Serialize)]
struct History {
    kb_version: String,
    updates: Vec<HistoryEntry>,
}

async fn history(ctx: &Ctx) -> Result<(), CliError> {
    let updates = read_log(ctx, false)
        .await?
        .map(|(_, u)| u)
        .unwrap_or_default();
    let kb = KnowledgeBase::with_updates(&updates).context("building the legal knowledge base")?;
    let entries = updates
        .iter()
        .map(|u| HistoryEntry {
            version: u.version,
            author: u.author.clone(),
            created: u.created.clone(),
            note: u.note.clone(),
            action: match &u.action {
                UpdateAction::Import { .. } => "import".to_owned(),
                UpdateAction::Revert { target } => format!("revert of version {target}"),
            },
            file: match &u.action {
                UpdateAction::Import { file_name, .. } => Some(file_name.clone()),
                UpdateAction::Revert { .. } => None,
            },
            reverted_by: updates
                .iter()
                .find(|r| r.action == UpdateAction::Revert { target: u.version })
                .map(|r| r.version),
        })
        .collect();
    let report = History {
        kb_version: kb.version().to_string(),
        updates: entries,
    };
    ctx.report(&report, |h| {
        let mut out = format!("legal knowledge base {}\n", h.kb_version);
        if h.updates.is_empty() {
            out.push_str("no operator updates\n");
        }
        for u in &h.updates {
            let _ = write!(
                out,
                "v{}  {}  {}  {}",
                u.version, u.created, u.author, u.action
            );
            if let Some(f) = &u.file {
                let _ = write!(out, " {f}");
            }
            if let Some(r) = u.reverted_by {
                let _ = write!(out, " (reverted by v{r})");
            }
            if !u.note.is_empty() {
                let _ = write!(out, "  -- {}", u.note);
            }
            out.push('\n');
        }
        out
    })
}

async fn revert(
    ctx: &Ctx,
    version: u32,
    author_name: Option<String>,
    note: String,
) -> Result<(), CliError> {
    let Some((store, updates)) = read_log(ctx, false).await? else {
        return Err(CliError::bad_input(format!(
            "version {version}: no such update (the store has no updates)"
        )));
    };
    palermo_law::check_revert(&updates, version).bad_input()?;
    let update = Update {
        version: updates.len() as u32 + 1,
        author: author(author_name),
        created: now_rfc3339(),
        note,
        action: UpdateAction::Revert { target: version },
    };
    let mut all = updates;
    all.push(update.clone());
    let kb = KnowledgeBase::with_updates(&all).context("replaying the update log")?;
    append(&store, &update).await?;
    #[derive(Serialize)]
    struct Reverted {
        version: u32,
        reverted: u32,
        kb_version: String,
    }
    let report = Reverted {
        version: update.version,
        reverted: version,
        kb_version: kb.version().to_string(),
    };
    ctx.report(&report, |r| {
        format!(
            "reverted version {} as version {}\nknowledge base now {}\n",
            r.reverted, r.version, r.kb_version
        )
    })
}

// ---- text renderings -------------------------------------------------------

fn member_line(m: &Membership) -> String {
    let mut line = format!("    {}: {}", m.country, m.explanation);
    if let Some(url) = m.source_urls.first() {
        let _ = write!(line, "\n      source: {url}");
    }
    line
}

fn candidate_text(out: &mut String, c: &Candidate, full: bool) {
    let _ = writeln!(out, "  {} ({}; {})", c.instrument_id, c.name, c.kind);
    for art in &c.articles {
        let flag = if art.verified {
            "S"
        } else {
            "K: not verified against the official text"
        };
        let _ = writeln!(
            out,
            "    {} {} – {} [{flag}]",
            art.instrument_id, art.article, art.title
        );
    }
    for m in &c.memberships {
        let _ = writeln!(out, "{}", member_line(m));
    }
    if full {
        if !c.scope_requirement.is_empty() {
            let _ = writeln!(out, "    scope: {}", c.scope_requirement);
        }
        if let Some(link) = &c.protocol_link {
            let _ = writeln!(out, "    via the Protocol: {}", link.note);
        }
        for cond in &c.conditions {
            let _ = writeln!(out, "    condition: {cond}");
        }
        if let Some(url) = c.source_urls.first() {
            let _ = writeln!(out, "    instrument source: {url}");
        }
    }
}

fn basis_text(a: &BasisAnswer) -> String {
    let mut out = format!(
        "legal basis for {} between {} and {} on {} (knowledge base {})\n",
        a.cooperation.as_str(),
        a.a,
        a.b,
        a.on,
        a.kb_version
    );
    if a.bases.is_empty() {
        out.push_str("\nno instrument in the knowledge base binds both for this cooperation\n");
    } else {
        out.push_str("\nbinding both:\n");
        for c in &a.bases {
            candidate_text(&mut out, c, true);
        }
    }
    if !a.unknown.is_empty() {
        out.push_str("\nunknown (a membership is not known):\n");
        for c in &a.unknown {
            candidate_text(&mut out, c, false);
        }
    }
    if !a.not_binding.is_empty() {
        out.push_str("\nnot binding both:\n");
        for c in &a.not_binding {
            candidate_text(&mut out, c, false);
        }
    }
    if !a.also_binding_both.is_empty() {
        let ids: Vec<&str> = a
            .also_binding_both
            .iter()
            .map(|c| c.instrument_id.as_str())
            .collect();
        let _ = writeln!(
            out,
            "\nalso binding both (no article for {} in the knowledge base): {}",
            a.cooperation.as_str(),
            ids.join(", ")
        );
    }
    if let Some(f) = &a.fallback {
        let _ = writeln!(out, "\n{}", f.label);
        for r in &f.routes {
            let _ = writeln!(out, "  - {r}");
        }
    }
    for n in &a.notes {
        let _ = writeln!(out, "\nnote: {n}");
    }
    out
}

fn tri_word(t: Tri) -> &'static str {
    match t {
        Tri::Yes => "yes",
        Tri::No => "no",
        Tri::Unknown => "undetermined",
    }
}

fn dual_text(d: &DualAnswer) -> String {
    let mut out = format!(
        "dual criminality: {} (knowledge base {})\n",
        d.dual_criminality, d.kb_version
    );
    for s in &d.states {
        let _ = writeln!(out, "\n{}: {} ({})", s.country, s.verdict, s.explanation);
        for o in &s.offences {
            let _ = writeln!(
                out,
                "  {} – {}: {}",
                o.statute,
                o.section,
                tri_word(o.covers)
            );
            for e in &o.elements {
                let _ = writeln!(
                    out,
                    "    {:?}: {} – {}",
                    e.element,
                    tri_word(e.covered),
                    e.reason
                );
            }
            let _ = writeln!(
                out,
                "    max penalty: {}; as of {}",
                o.max_penalty, o.as_of_year
            );
            if let Some(url) = o.source_urls.first() {
                let _ = writeln!(out, "    source: {url}");
            }
        }
    }
    for n in &d.notes {
        let _ = writeln!(out, "note: {n}");
    }
    out
}

fn gaps_text(g: &GapReport) -> String {
    let mut out = format!(
        "{} against the Palermo standard (knowledge base {})\n",
        g.country, g.kb_version
    );
    for o in &g.offences {
        let _ = writeln!(
            out,
            "  {} – {} (as of {})",
            o.statute, o.section, o.as_of_year
        );
        if let Some(url) = o.source_urls.first() {
            let _ = writeln!(out, "    source: {url}");
        }
    }
    if g.offences.is_empty() {
        out.push_str("  no national offence in the knowledge base\n");
    }
    out.push('\n');
    for e in &g.elements {
        let word = match e.finding {
            Finding::Covered => "covered",
            Finding::Gap => "GAP",
            Finding::Unknown => "unknown",
            Finding::NotApplicable => "n/a",
            Finding::Broader => "broader",
        };
        let _ = writeln!(
            out,
            "  [{word}] {} {} ({}): {}",
            e.area, e.element, e.standard, e.reason
        );
    }
    let _ = writeln!(
        out,
        "\ngaps: {}",
        if g.gaps.is_empty() {
            "none found".to_owned()
        } else {
            g.gaps.join("; ")
        }
    );
    let _ = writeln!(out, "unknowns: {}", g.unknowns.len());
    out
}

fn parties_text(p: &PartiesReport) -> String {
    let mut out = format!(
        "{} – {} on {} (knowledge base {})\n",
        p.instrument.id, p.instrument.short_name, p.on, p.kb_version
    );
    let counts: Vec<String> = p
        .counts
        .iter()
        .map(|(s, n)| format!("{s:?}: {n}"))
        .collect();
    let _ = writeln!(out, "{}", counts.join(", "));
    for m in &p.states {
        let _ = writeln!(out, "  {} {:?}: {}", m.country, m.status, m.explanation);
    }
    let _ = writeln!(out, "note: {}", p.note);
    out
}

fn matrix_text(m: &Matrix) -> String {
    let mut out = format!(
        "instruments binding both, on {} (knowledge base {})\n",
        m.on, m.kb_version
    );
    for row in &m.rows {
        let yes: Vec<&str> = row
            .cells
            .iter()
            .filter(|c| c.binds_both == Tri::Yes)
            .map(|c| c.instrument_id.as_str())
            .collect();
        let unknown: Vec<&str> = row
            .cells
            .iter()
            .filter(|c| c.binds_both == Tri::Unknown)
            .map(|c| c.instrument_id.as_str())
            .collect();
        let _ = writeln!(
            out,
            "  {}-{}: {} | unknown: {}",
            row.a,
            row.b,
            if yes.is_empty() {
                "none".to_owned()
            } else {
                yes.join(", ")
            },
            if unknown.is_empty() {
                "none".to_owned()
            } else {
                unknown.join(", ")
            }
        );
    }
    out
}
