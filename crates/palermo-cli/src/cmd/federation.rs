//! `palermo federation` (the trust anchor's side) and `palermo node` (a node's
//! identity): create the anchor, create and enrol nodes, revoke them, and publish
//! and install the signed federation directory.
//!
//! The anchor lives in `ANCHOR_DIR` and a node in `NODE_DIR` (file layouts in
//! `palermo_federation::pki`). Private keys are written with mode 0600 and are
//! only replaced with `--force`. Missing directories, an unenrolled node, a bad
//! jurisdiction code or endpoint are bad input (exit 2).

use std::path::{Path, PathBuf};

use palermo_federation::pki::{DIRECTORY_FILE, node_id_for};
use palermo_federation::{
    Enrollment, EnrollmentRequest, NodeIdentity, SignedDirectory, TrustAnchor,
};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::exit::CliError;
use crate::output::Ctx;

/// Subcommands of `palermo federation`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum FederationCommand {
    /// Create the federation's trust anchor (CA certificate and directory signing key).
    Init(FedInitArgs),
    /// Sign a node's enrolment request (`enroll-request.json`) received out of band.
    Enroll(FedEnrollArgs),
    /// Revoke a member: the next directory marks it revoked and peers refuse it.
    Revoke(RevokeArgs),
    /// Publish the next signed federation directory (JSON) to a file.
    Directory(DirectoryArgs),
    /// Show the anchor and its members.
    Show(AnchorArgs),
}

/// Subcommands of `palermo node`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum NodeCommand {
    /// Create a node identity: Ed25519 signing key, TLS key and an enrolment request.
    Init(NodeInitArgs),
    /// Have the trust anchor sign the node's certificate and add it to the members.
    Enroll(EnrollArgs),
    /// Install the anchor's answer (from `palermo federation enroll`) received out of band.
    Install(InstallArgs),
    /// Verify a signed directory with the anchor's key and install it as the node's cache.
    Directory(NodeDirectoryArgs),
    /// Show the node's identity, enrolment and cached directory.
    Show(NodeDirArgs),
}

/// Arguments of `palermo federation init`.
#[derive(Debug, clap::Args)]
pub(crate) struct FedInitArgs {
    /// The anchor's directory (created).
    #[arg(long, value_name = "ANCHOR_DIR")]
    dir: PathBuf,
    /// The federation's name.
    #[arg(long)]
    name: String,
    /// Validity of the CA certificate, in days.
    #[arg(long, default_value_t = 3650)]
    validity_days: u32,
    /// Replace an existing anchor in the directory (its keys and members are lost).
    #[arg(long)]
    force: bool,
}

/// The anchor directory argument.
#[derive(Debug, clap::Args)]
pub(crate) struct AnchorArgs {
    /// The anchor's directory.
    #[arg(long, value_name = "ANCHOR_DIR")]
    anchor: PathBuf,
}

/// Arguments of `palermo federation revoke`.
#[derive(Debug, clap::Args)]
pub(crate) struct RevokeArgs {
    #[command(flatten)]
    anchor: AnchorArgs,
    /// The node to revoke.
    node_id: String,
}

/// Arguments of `palermo federation enroll`.
#[derive(Debug, clap::Args)]
pub(crate) struct FedEnrollArgs {
    #[command(flatten)]
    anchor: AnchorArgs,
    /// The node's enrolment request.
    request: PathBuf,
    /// Where to write the enrolment (certificate, CA certificate, directory key).
    #[arg(long)]
    out: PathBuf,
    /// Validity of the node's certificate, in days (not beyond the CA's).
    #[arg(long, default_value_t = 365)]
    validity_days: u32,
}

/// Arguments of `palermo node install`.
#[derive(Debug, clap::Args)]
pub(crate) struct InstallArgs {
    #[command(flatten)]
    node: NodeDirArgs,
    /// The enrolment file from `palermo federation enroll`.
    enrollment: PathBuf,
}

/// Arguments of `palermo federation directory`.
#[derive(Debug, clap::Args)]
pub(crate) struct DirectoryArgs {
    #[command(flatten)]
    anchor: AnchorArgs,
    /// Where to write the signed directory.
    #[arg(long)]
    out: PathBuf,
    /// How long nodes may use it before they need a newer one, in days.
    #[arg(long, default_value_t = 7)]
    validity_days: u32,
}

/// Arguments of `palermo node init`.
#[derive(Debug, clap::Args)]
pub(crate) struct NodeInitArgs {
    /// The node's directory (created).
    #[arg(long, value_name = "NODE_DIR")]
    dir: PathBuf,
    /// The node's state: ISO 3166-1 alpha-2 code.
    #[arg(long, value_name = "CC")]
    jurisdiction: String,
    /// The agency running the node (its id becomes `<cc>-<agency-slug>`).
    #[arg(long)]
    agency: String,
    /// Where peers reach the node: `https://HOST:PORT`.
    #[arg(long)]
    endpoint: String,
    /// Replace an existing identity in the directory (new keys; it must enrol again).
    #[arg(long)]
    force: bool,
}

/// The node directory argument.
#[derive(Debug, clap::Args)]
pub(crate) struct NodeDirArgs {
    /// The node's directory.
    #[arg(long, value_name = "NODE_DIR")]
    dir: PathBuf,
}

/// Arguments of `palermo node enroll`.
#[derive(Debug, clap::Args)]
pub(crate) struct EnrollArgs {
    #[command(flatten)]
    node: NodeDirArgs,
    /// The trust anchor's directory.
    #[arg(long, value_name = "ANCHOR_DIR")]
    anchor: PathBuf,
    /// Validity of the node's certificate, in days (not beyond the CA's).
    #[arg(long, default_value_t = 365)]
    validity_days: u32,
}

/// Arguments of `palermo node directory`.
#[derive(Debug, clap::Args)]
pub(crate) struct NodeDirectoryArgs {
    #[command(flatten)]
    node: NodeDirArgs,
    /// The signed directory file (from `palermo federation directory`).
    file: PathBuf,
}

/// Runs `palermo federation …`.
pub(crate) async fn run_federation(ctx: &Ctx, command: FederationCommand) -> Result<(), CliError> {
    match command {
        FederationCommand::Init(args) => federation_init(ctx, args),
        FederationCommand::Enroll(args) => federation_enroll(ctx, args),
        FederationCommand::Revoke(args) => federation_revoke(ctx, args),
        FederationCommand::Directory(args) => federation_directory(ctx, args),
        FederationCommand::Show(args) => federation_show(ctx, args),
    }
}

/// Runs `palermo node …`.
pub(crate) async fn run_node(ctx: &Ctx, command: NodeCommand) -> Result<(), CliError> {
    match command {
        NodeCommand::Init(args) => node_init(ctx, args),
        NodeCommand::Enroll(args) => node_enroll(ctx, args),
        NodeCommand::Install(args) => node_install(ctx, args),
        NodeCommand::Directory(args) => node_directory(ctx, args),
        NodeCommand::Show(args) => node_show(ctx, args),
    }
}

/// A federation error as a CLI error: bad input (exit 2) or a failure (exit 1).
fn fed_err(err: palermo_federation::Error) -> CliError {
    if err.is_bad_input() {
        CliError::bad_input(err)
    } else {
        CliError::failure(err)
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn load_anchor(dir: &Path) -> Result<TrustAnchor, CliError> {
    if !dir.join("anchor.json").is_file() {
        return Err(CliError::bad_input(format!(
            "{}: not a trust anchor directory (run `palermo federation init`)",
            dir.display()
        )));
    }
    TrustAnchor::load(dir).map_err(fed_err)
}

fn load_node(dir: &Path) -> Result<NodeIdentity, CliError> {
    if !dir.join("node.json").is_file() {
        return Err(CliError::bad_input(format!(
            "{}: not a node directory (run `palermo node init`)",
            dir.display()
        )));
    }
    NodeIdentity::load(dir).map_err(fed_err)
}

/// Removes the files `names` in `dir` (for `--force`), ignoring missing ones.
fn remove_files(dir: &Path, names: &[&str]) -> Result<(), CliError> {
    for name in names {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(CliError::failure(format!(
                    "removing {}: {err}",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

/// What `federation init` and `federation show` report.
#[derive(Debug, Serialize)]
struct AnchorReport {
    command: &'static str,
    dir: String,
    federation: String,
    directory_key: String,
    ca_not_after: String,
    serial: u64,
    members: Vec<MemberRow>,
}

/// One member in a report.
#[derive(Debug, Serialize)]
struct MemberRow {
    node_id: String,
    jurisdiction: String,
    agency: String,
    endpoint: String,
    status: &'static str,
    not_after: String,
    revoked_at: Option<String>,
}

fn member_row(m: &palermo_federation::Member, now: OffsetDateTime) -> MemberRow {
    MemberRow {
        node_id: m.node_id.clone(),
        jurisdiction: m.jurisdiction.clone(),
        agency: m.agency.clone(),
        endpoint: m.endpoint.clone(),
        status: m.status(now),
        not_after: rfc3339(m.not_after),
        revoked_at: m.revoked_at.map(rfc3339),
    }
}

fn members_text(members: &[MemberRow]) -> String {
    let mut out = String::new();
    for m in members {
        out.push_str(&format!(
            "  {:<32} {:<8} {} (until {})\n",
            m.node_id, m.status, m.endpoint, m.not_after
        ));
    }
    out
}

fn anchor_report(command: &'static str, dir: &Path, anchor: &TrustAnchor) -> AnchorReport {
    let now = OffsetDateTime::now_utc();
    AnchorReport {
        command,
        dir: dir.display().to_string(),
        federation: anchor.federation().to_owned(),
        directory_key: palermo_federation::directory::encode_key(&anchor.directory_key()),
        ca_not_after: rfc3339(anchor.ca_not_after()),
        serial: anchor.serial(),
        members: anchor
            .members()
            .iter()
            .map(|m| member_row(m, now))
            .collect(),
    }
}

fn anchor_text(r: &AnchorReport) -> String {
    format!(
        "federation {} (anchor in {})\ndirectory key {}\nCA valid until {}\nlast directory serial {}\n{} member(s)\n{}",
        r.federation,
        r.dir,
        r.directory_key,
        r.ca_not_after,
        r.serial,
        r.members.len(),
        members_text(&r.members)
    )
}

const ANCHOR_FILES: [&str; 4] = [
    "anchor.json",
    "ca.crt.pem",
    "ca.key.pem",
    "directory.key.pem",
];

fn federation_init(ctx: &Ctx, args: FedInitArgs) -> Result<(), CliError> {
    if args.dir.join("anchor.json").exists() || args.dir.join("ca.key.pem").exists() {
        if !args.force {
            return Err(CliError::bad_input(format!(
                "{}: a trust anchor already exists; use --force to replace its keys",
                args.dir.display()
            )));
        }
        remove_files(&args.dir, &ANCHOR_FILES)?;
    }
    let anchor = TrustAnchor::create(&args.name, OffsetDateTime::now_utc(), args.validity_days)
        .map_err(fed_err)?;
    anchor.save(&args.dir).map_err(fed_err)?;
    let report = anchor_report("federation init", &args.dir, &anchor);
    ctx.report(&report, anchor_text)
}

fn federation_show(ctx: &Ctx, args: AnchorArgs) -> Result<(), CliError> {
    let anchor = load_anchor(&args.anchor)?;
    let report = anchor_report("federation show", &args.anchor, &anchor);
    ctx.report(&report, anchor_text)
}

/// What `federation enroll` reports.
#[derive(Debug, Serialize)]
struct EnrollReport {
    command: &'static str,
    out: String,
    member: MemberRow,
}

fn federation_enroll(ctx: &Ctx, args: FedEnrollArgs) -> Result<(), CliError> {
    let mut anchor = load_anchor(&args.anchor.anchor)?;
    let request = EnrollmentRequest::load(&args.request).map_err(fed_err)?;
    let now = OffsetDateTime::now_utc();
    let enrollment = anchor
        .enroll(&request, now, args.validity_days)
        .map_err(fed_err)?;
    let member = member_row(&enrollment.member, now);
    anchor.record(enrollment.member.clone()).map_err(fed_err)?;
    let mut json = serde_json::to_vec_pretty(&enrollment)?;
    json.push(b'\n');
    std::fs::write(&args.out, json)
        .map_err(|err| CliError::bad_input(format!("writing {}: {err}", args.out.display())))?;
    anchor.save(&args.anchor.anchor).map_err(fed_err)?;
    let report = EnrollReport {
        command: "federation enroll",
        out: args.out.display().to_string(),
        member,
    };
    ctx.report(&report, |r| {
        format!(
            "enrolled {} (certificate valid until {}); send {} to the node (`palermo node install`)",
            r.member.node_id, r.member.not_after, r.out
        )
    })
}

/// What `federation revoke` reports.
#[derive(Debug, Serialize)]
struct RevokeReport {
    command: &'static str,
    node_id: String,
    revoked_at: Option<String>,
}

fn federation_revoke(ctx: &Ctx, args: RevokeArgs) -> Result<(), CliError> {
    let mut anchor = load_anchor(&args.anchor.anchor)?;
    let member = anchor
        .revoke(&args.node_id, OffsetDateTime::now_utc())
        .map_err(fed_err)?;
    let report = RevokeReport {
        command: "federation revoke",
        node_id: member.node_id.clone(),
        revoked_at: member.revoked_at.map(rfc3339),
    };
    anchor.save(&args.anchor.anchor).map_err(fed_err)?;
    ctx.report(&report, |r| {
        format!(
            "revoked {} as of {}; publish a new directory (`palermo federation directory`) to tell the nodes",
            r.node_id,
            r.revoked_at.as_deref().unwrap_or("?")
        )
    })
}

/// What `federation directory` reports.
#[derive(Debug, Serialize)]
struct DirectoryReport {
    command: &'static str,
    out: String,
    federation: String,
    serial: u64,
    issued_at: String,
    valid_until: String,
    members: Vec<MemberRow>,
}

fn federation_directory(ctx: &Ctx, args: DirectoryArgs) -> Result<(), CliError> {
    let mut anchor = load_anchor(&args.anchor.anchor)?;
    let now = OffsetDateTime::now_utc();
    let signed = anchor.publish(now, args.validity_days).map_err(fed_err)?;
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(CliError::bad_input(format!(
            "{}: no such directory",
            parent.display()
        )));
    }
    signed.save(&args.out).map_err(fed_err)?;
    // The serial is only consumed once the directory is written.
    anchor.save(&args.anchor.anchor).map_err(fed_err)?;
    let d = &signed.directory;
    let report = DirectoryReport {
        command: "federation directory",
        out: args.out.display().to_string(),
        federation: d.federation.clone(),
        serial: d.serial,
        issued_at: rfc3339(d.issued_at),
        valid_until: rfc3339(d.valid_until),
        members: d.members.iter().map(|m| member_row(m, now)).collect(),
    };
    ctx.report(&report, |r| {
        format!(
            "directory {} of federation {} (valid until {}) written to {}\n{}",
            r.serial,
            r.federation,
            r.valid_until,
            r.out,
            members_text(&r.members)
        )
    })
}

/// What `node init`, `node enroll` and `node show` report.
#[derive(Debug, Serialize)]
struct NodeReport {
    command: &'static str,
    dir: String,
    node_id: String,
    jurisdiction: String,
    agency: String,
    endpoint: String,
    server_name: String,
    signing_key: String,
    enrolled: bool,
    federation: Option<String>,
    cert_not_before: Option<String>,
    cert_not_after: Option<String>,
    directory: Option<CachedDirectory>,
}

/// The node's cached directory, as `node show` reports it.
#[derive(Debug, Serialize)]
struct CachedDirectory {
    serial: u64,
    valid_until: String,
    /// `valid`, or why the node would refuse it.
    status: String,
    members: Vec<MemberRow>,
}

fn node_report(command: &'static str, dir: &Path, node: &NodeIdentity) -> NodeReport {
    let now = OffsetDateTime::now_utc();
    let directory = match (
        node.anchor_directory_key(),
        dir.join(DIRECTORY_FILE).is_file(),
    ) {
        (Some(key), true) => match SignedDirectory::load(&dir.join(DIRECTORY_FILE)) {
            Ok(signed) => {
                let status = match signed.verify(&key, now) {
                    Ok(_) => "valid".to_owned(),
                    Err(err) => err.to_string(),
                };
                let d = &signed.directory;
                Some(CachedDirectory {
                    serial: d.serial,
                    valid_until: rfc3339(d.valid_until),
                    status,
                    members: d.members.iter().map(|m| member_row(m, now)).collect(),
                })
            }
            Err(err) => Some(CachedDirectory {
                serial: 0,
                valid_until: String::new(),
                status: err.to_string(),
                members: Vec::new(),
            }),
        },
        _ => None,
    };
    NodeReport {
        command,
        dir: dir.display().to_string(),
        node_id: node.node_id.clone(),
        jurisdiction: node.jurisdiction.clone(),
        agency: node.agency.clone(),
        endpoint: node.endpoint.clone(),
        server_name: node.server_name(),
        signing_key: palermo_federation::directory::encode_key(&node.verifying_key()),
        enrolled: node.is_enrolled(),
        federation: node.federation().map(str::to_owned),
        cert_not_before: node.cert_validity().map(|(nb, _)| rfc3339(nb)),
        cert_not_after: node.cert_validity().map(|(_, na)| rfc3339(na)),
        directory,
    }
}

fn node_text(r: &NodeReport) -> String {
    let mut out = format!(
        "node {} ({}, {})\nendpoint {} (TLS name {})\nsigning key {}\n",
        r.node_id, r.agency, r.jurisdiction, r.endpoint, r.server_name, r.signing_key
    );
    match (&r.federation, &r.cert_not_after) {
        (Some(fed), Some(until)) => {
            out.push_str(&format!(
                "enrolled in {fed}, certificate valid until {until}\n"
            ));
        }
        _ => out.push_str(&format!(
            "not enrolled: send {}/enroll-request.json to the trust anchor\n",
            r.dir
        )),
    }
    if let Some(d) = &r.directory {
        out.push_str(&format!(
            "directory {} valid until {}: {}\n{}",
            d.serial,
            d.valid_until,
            d.status,
            members_text(&d.members)
        ));
    }
    out
}

const NODE_FILES: [&str; 7] = [
    "node.json",
    "signing.key.pem",
    "tls.key.pem",
    "tls.csr.pem",
    "enroll-request.json",
    "node.crt.pem",
    "ca.crt.pem",
];

fn node_init(ctx: &Ctx, args: NodeInitArgs) -> Result<(), CliError> {
    // Validate before touching anything.
    node_id_for(&args.jurisdiction, &args.agency).map_err(fed_err)?;
    if args.dir.join("node.json").exists() || args.dir.join("signing.key.pem").exists() {
        if !args.force {
            return Err(CliError::bad_input(format!(
                "{}: a node identity already exists; use --force to replace its keys",
                args.dir.display()
            )));
        }
        remove_files(&args.dir, &NODE_FILES)?;
    }
    let node =
        NodeIdentity::init(&args.jurisdiction, &args.agency, &args.endpoint).map_err(fed_err)?;
    node.save(&args.dir).map_err(fed_err)?;
    let report = node_report("node init", &args.dir, &node);
    ctx.report(&report, node_text)
}

fn node_enroll(ctx: &Ctx, args: EnrollArgs) -> Result<(), CliError> {
    let mut node = load_node(&args.node.dir)?;
    let mut anchor = load_anchor(&args.anchor)?;
    let enrollment = anchor
        .enroll(
            &node.enrollment_request(),
            OffsetDateTime::now_utc(),
            args.validity_days,
        )
        .map_err(fed_err)?;
    node.install(&enrollment).map_err(fed_err)?;
    anchor.record(enrollment.member).map_err(fed_err)?;
    anchor.save(&args.anchor).map_err(fed_err)?;
    node.save(&args.node.dir).map_err(fed_err)?;
    let report = node_report("node enroll", &args.node.dir, &node);
    ctx.report(&report, node_text)
}

fn node_install(ctx: &Ctx, args: InstallArgs) -> Result<(), CliError> {
    let mut node = load_node(&args.node.dir)?;
    let bytes = std::fs::read(&args.enrollment).map_err(|err| {
        CliError::bad_input(format!("reading {}: {err}", args.enrollment.display()))
    })?;
    let enrollment: Enrollment = serde_json::from_slice(&bytes)
        .map_err(|err| CliError::bad_input(format!("{}: {err}", args.enrollment.display())))?;
    node.install(&enrollment).map_err(fed_err)?;
    node.save(&args.node.dir).map_err(fed_err)?;
    let report = node_report("node install", &args.node.dir, &node);
    ctx.report(&report, node_text)
}

fn node_directory(ctx: &Ctx, args: NodeDirectoryArgs) -> Result<(), CliError> {
    let node = load_node(&args.node.dir)?;
    let Some(key) = node.anchor_directory_key() else {
        return Err(CliError::bad_input(format!(
            "node {} is not enrolled (run `palermo node enroll`)",
            node.node_id
        )));
    };
    let signed = SignedDirectory::load(&args.file).map_err(fed_err)?;
    let now = OffsetDateTime::now_utc();
    let cache = args.node.dir.join(DIRECTORY_FILE);
    // A valid installed directory may only be replaced by one at least as new.
    let current = SignedDirectory::load(&cache)
        .ok()
        .filter(|current| current.verify(&key, now).is_ok());
    match &current {
        Some(current) => signed.verify_refresh(&current.directory, &key, now),
        None => signed.verify(&key, now),
    }
    .map_err(fed_err)?;
    signed.save(&cache).map_err(fed_err)?;
    let report = node_report("node directory", &args.node.dir, &node);
    ctx.report(&report, node_text)
}

fn node_show(ctx: &Ctx, args: NodeDirArgs) -> Result<(), CliError> {
    let node = load_node(&args.dir)?;
    let report = node_report("node show", &args.dir, &node);
    ctx.report(&report, node_text)
}
