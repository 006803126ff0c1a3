//! `palermo user`: the users of the node's API and their bearer tokens.
//!
//! `add` creates a user with roles (analyst, supervisor, legal-officer,
//! administrator), assigned cases and an agency, and prints a fresh token
//! once: the store keeps only its SHA-256 hash; case assignments are
//! recorded on the ledger (`case-assignment`). `revoke` stops a user's
//! tokens at once; `list` shows every user, revoked ones included.

use std::fmt::Write as _;

use palermo_ledger::EntryBody;
use palermo_ledger::entry::NewEntry;
use palermo_policy::UserRole;
use palermo_store::{NewUser, UserRecord};
use serde::Serialize;

use crate::exit::CliError;
use crate::output::Ctx;
use crate::store::open_store;

/// Subcommands of `palermo user`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Create a user and print their API token (shown once).
    Add(AddArgs),
    /// List users, revoked ones included.
    List,
    /// Revoke a user: their tokens stop working at once.
    Revoke(RevokeArgs),
}

/// Arguments of `palermo user add`.
#[derive(Debug, clap::Args)]
pub(crate) struct AddArgs {
    /// The user's name (their principal id in policy decisions and on the ledger).
    name: String,
    /// A role: analyst, supervisor, legal-officer or administrator; repeatable.
    #[arg(long = "role", value_name = "ROLE", required = true)]
    roles: Vec<String>,
    /// An assigned case id; repeatable.
    #[arg(long = "case", value_name = "CASE")]
    cases: Vec<String>,
    /// The user's agency (default: the node's agency).
    #[arg(long)]
    agency: Option<String>,
    #[command(flatten)]
    key: crate::cmd::ledger::KeyArgs,
}

/// Arguments of `palermo user revoke`.
#[derive(Debug, clap::Args)]
pub(crate) struct RevokeArgs {
    /// The user to revoke.
    name: String,
}

/// Runs `palermo user`.
pub(crate) async fn run(ctx: &Ctx, command: Command) -> Result<(), CliError> {
    match command {
        Command::Add(args) => add(ctx, args).await,
        Command::List => list(ctx).await,
        Command::Revoke(args) => revoke(ctx, args).await,
    }
}

/// The role names `--role` accepts.
const ROLES: [UserRole; 4] = [
    UserRole::Analyst,
    UserRole::Supervisor,
    UserRole::LegalOfficer,
    UserRole::Administrator,
];

/// Checks a user name: non-empty, no spaces or control characters.
fn check_name(name: &str) -> Result<(), CliError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CliError::bad_input(format!(
            "user name {name:?}: must be non-empty, without spaces or control characters"
        )));
    }
    Ok(())
}

/// Parses `--role` values into the policy crate's roles, deduplicated.
fn parse_roles(names: &[String]) -> Result<Vec<String>, CliError> {
    let mut roles: Vec<String> = Vec::new();
    for name in names {
        let wanted = name.trim().to_ascii_lowercase();
        let role = ROLES
            .into_iter()
            .find(|r| r.as_str() == wanted)
            .ok_or_else(|| {
                CliError::bad_input(format!(
                    "--role {name:?}: unknown role; expected one of {}",
                    ROLES.map(UserRole::as_str).join(", ")
                ))
            })?;
        if !roles.iter().any(|r| r == role.as_str()) {
            roles.push(role.as_str().to_owned());
        }
    }
    Ok(roles)
}

#[derive(Serialize)]
struct Added {
    user: UserRecord,
    /// The token, shown this once.
    token: String,
}

async fn add(ctx: &Ctx, args: AddArgs) -> Result<(), CliError> {
    check_name(&args.name)?;
    let roles = parse_roles(&args.roles)?;
    let mut cases: Vec<String> = Vec::new();
    for case in &args.cases {
        let case = case.trim();
        if case.is_empty() {
            return Err(CliError::bad_input("--case: a case id must not be empty"));
        }
        if !cases.iter().any(|c| c == case) {
            cases.push(case.to_owned());
        }
    }
    let agency = match args.agency.as_deref().map(str::trim) {
        Some("") => return Err(CliError::bad_input("--agency must not be empty")),
        other => other.map(str::to_owned),
    };
    let store = open_store(ctx).await?;
    let token = palermo_server::token::generate();
    let user = NewUser {
        name: args.name.clone(),
        agency,
        roles,
        cases,
    };
    let user = match store
        .add_user(&user, &palermo_server::token::hash(&token))
        .await
    {
        Ok(user) => user,
        Err(palermo_store::Error::Conflict { .. }) => {
            return Err(CliError::bad_input(format!(
                "user {:?} already exists (revoked names are not reused)",
                args.name
            )));
        }
        Err(err) => return Err(err.into()),
    };
    // Case assignments go on the ledger, where the insider-abuse report
    // (`palermo ledger insider`) compares queries with them.
    if !user.cases.is_empty() {
        let actor = std::env::var("PALERMO_USER")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "unknown".to_owned());
        let entries = user
            .cases
            .iter()
            .map(|case| NewEntry {
                actor: actor.clone(),
                case: Some(case.clone()),
                time: None,
                body: EntryBody::CaseAssignment {
                    user: user.name.clone(),
                },
            })
            .collect();
        crate::cmd::ledger::append(ctx, &store, &args.key, &actor, entries)
            .await
            .map_err(|err| {
                CliError::failure(format!(
                    "user {} was created but the case assignments could not be recorded on the ledger: {:#}",
                    user.name, err.error
                ))
            })?;
    }
    ctx.report(&Added { user, token }, |a| {
        format!(
            "created user {} ({})\ntoken (shown once; store it now):\n{}",
            a.user.name,
            a.user.roles.join(", "),
            a.token
        )
    })
}

async fn list(ctx: &Ctx) -> Result<(), CliError> {
    let store = open_store(ctx).await?;
    let users = store.users().await?;
    ctx.report(&users, |users| {
        if users.is_empty() {
            return "no users; add one with `palermo user add NAME --role ROLE`".to_owned();
        }
        let mut out = String::new();
        for u in users {
            let _ = write!(
                out,
                "{:<16} {:<36} agency {:<12} cases {:<16} created {}",
                u.name,
                u.roles.join(","),
                u.agency.as_deref().unwrap_or("(node)"),
                if u.cases.is_empty() {
                    "-".to_owned()
                } else {
                    u.cases.join(",")
                },
                rfc3339(u.created_at)
            );
            if let Some(at) = u.revoked_at {
                let _ = write!(out, "  REVOKED {}", rfc3339(at));
            }
            out.push('\n');
        }
        out
    })
}

async fn revoke(ctx: &Ctx, args: RevokeArgs) -> Result<(), CliError> {
    let store = open_store(ctx).await?;
    let Some(user) = store.revoke_user(&args.name).await? else {
        return Err(CliError::bad_input(format!(
            "no user {:?}; see `palermo user list`",
            args.name
        )));
    };
    ctx.report(&user, |u| {
        format!(
            "revoked user {} at {}; their tokens no longer work",
            u.name,
            u.revoked_at.map(rfc3339).unwrap_or_default()
        )
    })
}

fn rfc3339(time: time::OffsetDateTime) -> String {
    time.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
