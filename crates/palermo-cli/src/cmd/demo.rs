//! `palermo demo`: the whole story on a synthetic scenario — generate three
//! countries' views with ground truth, give each agency its own node store,
//! import its view, run every capability that exists (entity resolution,
//! cross-border matching, legal basis, the hit/no-hit exchange between the
//! nodes over the federation) and compare the findings with the truth.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use palermo_ingest::{ImportConfig, MarkingConfig};
use palermo_model::{Originator, Schema};
use palermo_resolve::Resolution;
use palermo_store::Store;
use serde::Serialize;

use crate::cmd::sim::{self, megabytes};
use crate::exit::{CliError, ResultExt};
use crate::output::Ctx;

/// The demo's countries, in corridor order: origin, transit, destination.
const COUNTRIES: &str = "TH,MY,NL";

/// Arguments of `palermo demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Exit after the report instead of serving the web UI.
    #[arg(long)]
    no_serve: bool,
    /// Demo directory: the scenario goes to DIR/scenario, the node stores to DIR/nodes (both replaced).
    #[arg(long, default_value = "palermo-demo")]
    dir: PathBuf,
    /// Number of true persons in the scenario (all countries together).
    #[arg(long, default_value_t = 4_000)]
    persons: u64,
    /// Random seed of the scenario.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// One agency's node.
#[derive(Debug, Serialize)]
struct Node {
    code: String,
    db: String,
    persons: u64,
    entities: u64,
    victims: u64,
    red: u64,
    seconds: f64,
}

/// Entity resolution inside one node, scored against the truth.
#[derive(Debug, Serialize)]
struct Dedupe {
    code: String,
    records: usize,
    clusters: usize,
    true_persons: usize,
    evaluation: palermo_resolve::Evaluation,
}

/// Plaintext record linkage between two nodes, scored against the truth.
#[derive(Debug, Serialize)]
struct Link {
    left: String,
    right: String,
    pairs: usize,
    evaluation: palermo_resolve::Evaluation,
}

/// The legal basis for mutual legal assistance between two demo countries.
#[derive(Debug, Serialize)]
struct Basis {
    a: String,
    b: String,
    instruments: Vec<String>,
}

/// What the agencies' records reveal, against the truth.
#[derive(Debug, Default, Serialize)]
struct Findings {
    true_victims: usize,
    victims_recorded: usize,
    true_offenders: usize,
    offenders_recorded_as_suspects: usize,
    unrelated_suspects: usize,
    persons_in_several_nodes: usize,
    involved_persons_in_several_nodes: usize,
}

/// What `palermo demo --format json` prints.
#[derive(Debug, Serialize)]
struct Report {
    dir: String,
    seconds: f64,
    scenario: sim::Report,
    nodes: Vec<Node>,
    dedupe: Vec<Dedupe>,
    links: Vec<Link>,
    legal_basis: Vec<Basis>,
    hits: Vec<HitExchange>,
    findings: Findings,
    serve: String,
}

/// One node asking another hit/no-hit about all its persons, scored against the truth.
#[derive(Debug, Serialize)]
struct HitExchange {
    asker: String,
    answerer: String,
    basis: Option<String>,
    outcome: String,
    /// The asking node's person records.
    records: u64,
    /// Encodings sent: one per distinct identity of each resolved person.
    encodings: u64,
    hits: usize,
    true_hits: usize,
    precision: f64,
    /// Asking records with a true counterpart at the answering node that got a hit to
    /// it, themselves or through the encoding sent for their resolved person.
    recall: f64,
    seconds: f64,
}

/// Runs `palermo demo`.
pub(crate) async fn run(ctx: &Ctx, args: Args) -> Result<(), CliError> {
    let started = Instant::now();
    let config = palermo_sim::Config::parse(COUNTRIES, args.persons, args.seed)
        .map_err(|err| CliError::bad_input(format!("--persons: {err}")))?;
    let scenario_dir = args.dir.join("scenario");
    let nodes_dir = args.dir.join("nodes");
    // The demo owns these two directories and replaces them on every run.
    let scenario = {
        let (config, dir) = (config.clone(), scenario_dir.clone());
        tokio::task::spawn_blocking(move || sim::generate(&config, &dir, true))
            .await
            .context("the scenario generator stopped")??
    };
    let truth =
        palermo_sim::PersonLabels::read(&scenario_dir).context("reading the ground truth")?;
    std::fs::create_dir_all(&nodes_dir)
        .with_context(|| format!("creating {}", nodes_dir.display()))?;

    let mut nodes = Vec::new();
    for code in config.countries() {
        nodes.push(import_node(code, &scenario_dir, &nodes_dir).await?);
    }
    let mut dedupe = Vec::new();
    let mut persons = Vec::new();
    for code in config.countries() {
        let (report, clusters) = dedupe_node(code, &scenario_dir, &truth)?;
        dedupe.push(report);
        persons.push(clusters);
    }
    let mut links = Vec::new();
    let codes = config.countries();
    for (i, a) in codes.iter().enumerate() {
        for b in &codes[i + 1..] {
            links.push(link_nodes(a, b, &scenario_dir, &truth)?);
        }
    }
    let legal_basis = legal_basis(codes)?;
    let hits = exchange_hits(&nodes, &persons, &nodes_dir, &truth).await?;
    let findings = findings(&truth);
    let serve = if args.no_serve {
        "not requested (--no-serve)".to_owned()
    } else {
        "the web UI is not built yet (`palermo serve` arrives with its issue); the demo data stays in place".to_owned()
    };
    let report = Report {
        dir: args.dir.display().to_string(),
        seconds: started.elapsed().as_secs_f64(),
        scenario,
        nodes,
        dedupe,
        links,
        legal_basis,
        hits,
        findings,
        serve,
    };
    ctx.report(&report, text)
}

async fn import_node(code: &str, scenario: &Path, nodes: &Path) -> Result<Node, CliError> {
    let started = Instant::now();
    let db = nodes.join(format!("{}.db", code.to_lowercase()));
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", db.display()));
        if path.exists() {
            std::fs::remove_file(&path).with_context(|| format!("replacing {}", path.display()))?;
        }
    }
    let url = format!("sqlite://{}", db.display());
    let store = palermo_store::open(&url)
        .await
        .with_context(|| format!("opening the {code} node store"))?;
    let markings = MarkingConfig {
        tlp: None,
        victim_tlp: None,
        purpose: None,
        retain_until: None,
        originator: Some(Originator {
            node: format!("{}-node", code.to_lowercase()),
            agency: code.to_owned(),
        }),
        onward_sharing: false,
        handling: None,
    };
    let mut counts = [0u64; 2];
    for (k, file) in ["persons.csv", "entities.jsonl"].into_iter().enumerate() {
        let config = ImportConfig {
            format: None,
            schema: Schema::Person,
            // The id column is for the CSV file; FtM lines carry their ids.
            id_column: (k == 0).then(|| "id".to_owned()),
            maps: Vec::new(),
            markings: markings.clone(),
            imported_by: "palermo demo".to_owned(),
        };
        let path = scenario.join(code).join(file);
        let summary = palermo_ingest::import_file(&store, &path, &config, &mut |_| {})
            .await
            .with_context(|| format!("importing {}", path.display()))?;
        counts[k] = summary.records;
    }
    let stats = store
        .stats()
        .await
        .with_context(|| format!("reading the {code} node's statistics"))?;
    let count = |list: &[(String, u64)], key: &str| {
        list.iter().find(|(k, _)| k == key).map_or(0, |(_, n)| *n)
    };
    Ok(Node {
        code: code.to_owned(),
        db: db.display().to_string(),
        persons: counts[0],
        entities: counts[1],
        victims: count(&stats.by_role, "victim"),
        red: count(&stats.by_tlp, "TLP:RED"),
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn load_persons(code: &str, scenario: &Path) -> Result<palermo_resolve::Dataset, CliError> {
    let path = scenario.join(code).join("persons.csv");
    let file = File::open(&path).with_context(|| format!("reading {}", path.display()))?;
    let mapping =
        palermo_resolve::Mapping::parse::<&str>(&[]).context("the default column mapping")?;
    Ok(palermo_resolve::read_csv(
        BufReader::new(file),
        &path.display().to_string(),
        "id",
        &mapping,
    )
    .with_context(|| format!("reading {}", path.display()))?)
}

/// Resolves one node's persons: the report, and each record's resolved person
/// (cluster number) by record id.
fn dedupe_node(
    code: &str,
    scenario: &Path,
    truth: &palermo_sim::PersonLabels,
) -> Result<(Dedupe, HashMap<String, u32>), CliError> {
    let data = load_persons(code, scenario)?;
    let records = data.records.len();
    let res = Resolution::dedupe(data, &palermo_resolve::Config::default())
        .with_context(|| format!("resolving the {code} node's persons"))?;
    let labels = truth.for_country(code);
    let true_persons = labels.values().collect::<HashSet<_>>().len();
    let clusters = res
        .clusters()
        .map(|clusters| {
            res.records()
                .iter()
                .zip(clusters)
                .map(|(r, c)| (r.id.clone(), *c))
                .collect()
        })
        .unwrap_or_default();
    let report = Dedupe {
        code: code.to_owned(),
        records,
        clusters: res.stats().clusters.unwrap_or(records),
        true_persons,
        evaluation: res.evaluate(&labels),
    };
    Ok((report, clusters))
}

fn link_nodes(
    a: &str,
    b: &str,
    scenario: &Path,
    truth: &palermo_sim::PersonLabels,
) -> Result<Link, CliError> {
    let res = Resolution::link(
        load_persons(a, scenario)?,
        load_persons(b, scenario)?,
        &palermo_resolve::Config::default(),
    )
    .with_context(|| format!("linking {a} and {b}"))?;
    let mut labels = truth.for_country(a);
    labels.extend(truth.for_country(b));
    Ok(Link {
        left: a.to_owned(),
        right: b.to_owned(),
        pairs: res.stats().pairs_at_threshold,
        evaluation: res.evaluate(&labels),
    })
}

fn legal_basis(codes: &[&str]) -> Result<Vec<Basis>, CliError> {
    let kb = palermo_law::KnowledgeBase::embedded().context("loading the legal knowledge base")?;
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let today = palermo_law::Date::from_unix_days((secs / 86_400) as i64);
    let mut out = Vec::new();
    for (i, a) in codes.iter().enumerate() {
        for b in &codes[i + 1..] {
            let answer =
                palermo_law::basis(&kb, a, b, palermo_law::Cooperation::Mla, today).bad_input()?;
            let instruments = answer
                .bases
                .iter()
                .map(|c| {
                    let articles: Vec<String> =
                        c.articles.iter().map(|a| a.article.clone()).collect();
                    if articles.is_empty() {
                        c.name.clone()
                    } else {
                        format!("{} ({})", c.name, articles.join(", "))
                    }
                })
                .collect();
            out.push(Basis {
                a: (*a).to_owned(),
                b: (*b).to_owned(),
                instruments,
            });
        }
    }
    Ok(out)
}

/// Runs the three nodes as a federation on loopback (a fresh trust anchor,
/// enrolled node identities, mutual TLS), encodes each node's persons with a
/// fresh group secret, lets every node answer the others, has every node ask
/// every other about all its resolved persons (`persons`: each node's record id →
/// resolved person; near-identical encodings of one person are sent once), and
/// scores the hits against the truth.
async fn exchange_hits(
    nodes: &[Node],
    persons: &[HashMap<String, u32>],
    nodes_dir: &Path,
    truth: &palermo_sim::PersonLabels,
) -> Result<Vec<HitExchange>, CliError> {
    use palermo_federation::{NodeConfig, NodeIdentity, TrustAnchor};
    use palermo_store::{FederationStore as _, HitDirection};

    let fed_dir = nodes_dir.join("federation");
    if fed_dir.exists() {
        std::fs::remove_dir_all(&fed_dir)
            .with_context(|| format!("replacing {}", fed_dir.display()))?;
    }
    let now = time::OffsetDateTime::now_utc();
    let mut anchor = TrustAnchor::create("palermo-demo", now - time::Duration::hours(1), 30)
        .context("creating the demo trust anchor")?;
    // A fresh random group secret: the PEM text of a freshly generated key.
    let secret = palermo_ledger::NodeKey::generate()
        .to_pem()
        .context("generating the demo group secret")?;
    let encoder =
        palermo_pprl::Encoder::new(secret.as_bytes(), palermo_pprl::EncodeConfig::standard())
            .context("the demo group secret")?;
    struct Running {
        id: String,
        code: String,
        dir: PathBuf,
        identity: NodeIdentity,
        store: palermo_store::AnyStore,
        listener: Option<tokio::net::TcpListener>,
        encodings: palermo_pprl::Encodings,
        /// The rows of `encodings` this node asks about.
        asked: Vec<usize>,
        /// Record id → resolved person, for scoring.
        person_of: HashMap<String, u32>,
    }
    let near = palermo_federation::hits::ProbeConfig::standard().near_identical;
    let mut running = Vec::new();
    for (node, person_of) in nodes.iter().zip(persons) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding a loopback port")?;
        let port = listener.local_addr().context("the loopback port")?.port();
        let mut identity =
            NodeIdentity::init(&node.code, "demo", &format!("https://127.0.0.1:{port}"))
                .context("creating a node identity")?;
        let enrollment = anchor
            .enroll(&identity.enrollment_request(), now, 30)
            .context("enrolling a node")?;
        identity
            .install(&enrollment)
            .context("installing the enrolment")?;
        anchor
            .record(enrollment.member)
            .context("recording a member")?;
        let dir = fed_dir.join(&identity.node_id);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        identity.save(&dir).context("saving a node identity")?;
        let store = palermo_store::open(&format!("sqlite://{}", node.db))
            .await
            .with_context(|| format!("opening the {} node store", node.code))?;
        let (set, rows) = crate::cmd::hits::encode_store(&store, &encoder).await?;
        store.hit_encodings_replace(&set, &rows).await?;
        let mut clks = palermo_pprl::Clks::new(usize::try_from(set.n_bits).unwrap_or(0));
        for (_, bytes) in &rows {
            clks.push_bytes(bytes);
        }
        let ids: Vec<String> = rows.into_iter().map(|(id, _)| id).collect();
        let person: Vec<Option<u32>> = ids.iter().map(|id| person_of.get(id).copied()).collect();
        let asked = crate::cmd::hits::distinct_per_person(&clks, &person, near);
        let encodings = palermo_pprl::Encodings {
            clks,
            ids: Some(ids),
            key_id: Some(set.key_id),
            hardening: Some(set.hardening),
        };
        running.push(Running {
            id: identity.node_id.clone(),
            code: node.code.clone(),
            dir,
            identity,
            store,
            listener: Some(listener),
            encodings,
            asked,
            person_of: person_of.clone(),
        });
    }
    let directory = anchor
        .publish(now, 7)
        .context("publishing the demo directory")?;
    let ids: Vec<String> = running.iter().map(|r| r.id.clone()).collect();
    for r in &running {
        directory
            .save(&r.dir.join(palermo_federation::pki::DIRECTORY_FILE))
            .context("installing the demo directory")?;
        for peer in ids.iter().filter(|p| **p != r.id) {
            palermo_federation::hits::set_peer(&r.store, peer, true, [None; 3], "palermo demo")
                .await
                .map_err(CliError::failure)?;
        }
    }
    // The nodes run in this process until every query is settled.
    let mut stops = Vec::new();
    let mut tasks = Vec::new();
    for r in &mut running {
        let mut config = NodeConfig::new(&r.dir, palermo_ledger::NodeKey::generate());
        config.hits.max_encodings = 1_000_000;
        let node =
            palermo_federation::Node::open(config, r.store.clone()).map_err(CliError::failure)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let Some(listener) = r.listener.take() else {
            continue;
        };
        tasks.push(tokio::spawn(node.run(listener, async move {
            let _ = stopped.await;
        })));
        stops.push(stop);
    }
    let kb = palermo_law::KnowledgeBase::embedded().context("loading the legal knowledge base")?;
    let today = palermo_law::Date::from_unix_days(now.unix_timestamp().div_euclid(86_400));
    let mut asked = Vec::new();
    for a in &running {
        for b in running.iter().filter(|b| b.id != a.id) {
            let basis = palermo_law::basis(
                &kb,
                &a.code,
                &b.code,
                palermo_federation::hits::COOPERATION,
                today,
            )
            .ok()
            .and_then(|answer| answer.bases.into_iter().next())
            .map(|c| c.instrument_id);
            let Some(instrument) = basis.clone() else {
                asked.push((a, b, None, Vec::new(), Instant::now()));
                continue;
            };
            let started = Instant::now();
            let mut queries = Vec::new();
            for rows in a.asked.chunks(10_000) {
                let mut clks = palermo_pprl::Clks::new(a.encodings.clks.n_bits());
                for &i in rows {
                    clks.push_words(a.encodings.clks.row(i));
                }
                let chunk = palermo_pprl::Encodings {
                    clks,
                    ids: a
                        .encodings
                        .ids
                        .as_ref()
                        .map(|ids| rows.iter().map(|&i| ids[i].clone()).collect()),
                    key_id: a.encodings.key_id.clone(),
                    hardening: a.encodings.hardening.clone(),
                };
                let request = palermo_federation::QueryRequest {
                    peer: b.id.clone(),
                    case: format!("DEMO-{}", a.code),
                    purpose: format!("case:DEMO-{}", a.code),
                    basis: palermo_federation::BasisClaim {
                        instrument: instrument.clone(),
                        article: None,
                    },
                    date: today,
                    encodings: chunk,
                };
                let id = palermo_federation::send_query(
                    &a.store,
                    &a.identity,
                    &request,
                    time::OffsetDateTime::now_utc(),
                )
                .await
                .map_err(CliError::failure)?;
                queries.push(id);
            }
            asked.push((a, b, Some(instrument), queries, started));
        }
    }
    let deadline = Instant::now() + std::time::Duration::from_secs(120);
    let mut out = Vec::new();
    for (a, b, basis, queries, started) in asked {
        let mut outcome = if basis.is_none() {
            "not asked: no legal basis for information exchange".to_owned()
        } else {
            "answered".to_owned()
        };
        for id in &queries {
            loop {
                let status = a
                    .store
                    .hit_query(HitDirection::Sent, *id)
                    .await?
                    .map(|q| (q.status, q.code));
                match status {
                    Some((s, _)) if s == "answered" => break,
                    Some((s, code)) if s == "refused" => {
                        outcome = format!("refused: {}", code.unwrap_or_default());
                        break;
                    }
                    _ if Instant::now() > deadline => {
                        outcome = "no answer in time".to_owned();
                        break;
                    }
                    _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
                }
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        // Score: resolve each reference on the answering node (the demo holds every store).
        let sent = a
            .store
            .hits_list(Some(HitDirection::Sent), u32::MAX)
            .await?;
        let received = b
            .store
            .hits_list(Some(HitDirection::Received), u32::MAX)
            .await?;
        let by_ref: HashMap<&str, &Vec<String>> = received
            .iter()
            .filter(|h| h.peer == a.id)
            .map(|h| (h.hit_ref.as_str(), &h.record_ids))
            .collect();
        let person = |id: &str| truth.true_person.get(id);
        // A record left out of the batch is found through the encoding sent for its
        // resolved person: the key is (resolved person, true person), or the record
        // itself when resolution left it alone.
        let asked_as = |id: &str| {
            (
                a.person_of.get(id).copied(),
                person(id).map_or(id, String::as_str).to_owned(),
            )
        };
        let mut n_hits = 0;
        let mut true_hits = 0;
        let mut found: HashSet<(Option<u32>, String)> = HashSet::new();
        for hit in sent.iter().filter(|h| h.peer == b.id) {
            let (Some(local), Some(remote)) =
                (hit.record_ids.first(), by_ref.get(hit.hit_ref.as_str()))
            else {
                continue;
            };
            n_hits += 1;
            if remote
                .iter()
                .any(|r| person(r).is_some() && person(r) == person(local))
            {
                true_hits += 1;
                found.insert(asked_as(local));
            }
        }
        let b_persons: HashSet<&String> = b
            .encodings
            .ids
            .iter()
            .flatten()
            .filter_map(|id| person(id))
            .collect();
        let with_counterpart: Vec<&String> = a
            .encodings
            .ids
            .iter()
            .flatten()
            .filter(|id| person(id).is_some_and(|p| b_persons.contains(p)))
            .collect();
        let n_found = with_counterpart
            .iter()
            .filter(|id| found.contains(&asked_as(id)))
            .count();
        let ratio = |x: usize, y: usize| if y == 0 { 0.0 } else { x as f64 / y as f64 };
        out.push(HitExchange {
            asker: a.code.clone(),
            answerer: b.code.clone(),
            basis,
            outcome,
            records: a.encodings.clks.len() as u64,
            encodings: a.asked.len() as u64,
            hits: n_hits,
            true_hits,
            precision: ratio(true_hits, n_hits),
            recall: ratio(n_found, with_counterpart.len()),
            seconds,
        });
    }
    for stop in stops {
        let _ = stop.send(());
    }
    for task in tasks {
        if let Ok(Err(err)) = task.await {
            tracing::warn!(error = %err, "a demo node stopped with an error");
        }
    }
    for r in &running {
        let counts = r.store.fed_counts().await?;
        tracing::info!(node = %r.id, inbox = counts.inbox, delivered = counts.outbox_delivered, "demo node stopped");
    }
    Ok(out)
}

fn findings(truth: &palermo_sim::PersonLabels) -> Findings {
    let mut victims = HashSet::new();
    let mut suspects = HashSet::new();
    let mut nodes_of: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (record, person) in &truth.true_person {
        let code = record.split_once('-').map_or("", |(cc, _)| cc);
        nodes_of.entry(person.as_str()).or_default().insert(code);
        match truth.recorded_role.get(record).map(String::as_str) {
            Some("victim") => victims.insert(person.as_str()),
            Some("suspect") => suspects.insert(person.as_str()),
            _ => false,
        };
    }
    let status = |p: &str| truth.status.get(p).map_or("background", String::as_str);
    let several: Vec<&str> = nodes_of
        .iter()
        .filter(|(_, n)| n.len() > 1)
        .map(|(p, _)| *p)
        .collect();
    Findings {
        true_victims: truth.status.values().filter(|s| *s == "victim").count(),
        victims_recorded: victims.iter().filter(|p| status(p) == "victim").count(),
        true_offenders: truth.status.values().filter(|s| *s == "offender").count(),
        offenders_recorded_as_suspects: suspects.iter().filter(|p| status(p) == "offender").count(),
        unrelated_suspects: suspects
            .iter()
            .filter(|p| status(p) == "background")
            .count(),
        persons_in_several_nodes: several.len(),
        involved_persons_in_several_nodes: several
            .iter()
            .filter(|p| status(p) != "background")
            .count(),
    }
}

fn prf(p: &palermo_resolve::metrics::Prf) -> String {
    format!(
        "precision {:.3}, recall {:.3}, F1 {:.3}",
        p.precision, p.recall, p.f1
    )
}

fn text(r: &Report) -> String {
    let s = &r.scenario.summary;
    let t = &s.truth;
    let codes: Vec<&str> = s.countries.iter().map(|c| c.code.as_str()).collect();
    let mut out = format!(
        "Palermo demo: {} persons in {} (seed {}), everything under {} — {:.1} s\n\n",
        s.persons,
        codes.join(" → "),
        s.seed,
        r.dir,
        r.seconds
    );
    out.push_str(&format!(
        "1. Scenario ({}, {:.1} s): {} organisations, {} offenders, {} victims ({} children, {} on forged or stolen passports), {} disrupted routes; ground truth in {}/truth\n",
        megabytes(s.bytes),
        r.scenario.seconds,
        t.organisations,
        t.offenders,
        t.victims,
        t.child_victims,
        t.victims_on_false_documents,
        t.disrupted_routes,
        r.scenario.out
    ));
    out.push_str("2. One node store per agency, each importing only its own view:\n");
    for (n, c) in r.nodes.iter().zip(&s.countries) {
        out.push_str(&format!(
            "   {}  {:>6} person records + {:>6} other records, {:>4.1}% unrelated; {} victim records (TLP:RED: {})  {}\n",
            n.code,
            n.persons,
            n.entities,
            c.unrelated_share * 100.0,
            n.victims,
            n.red,
            n.db
        ));
    }
    out.push_str(
        "3. Entity resolution inside each node (palermo-resolve), scored against the truth:\n",
    );
    for d in &r.dedupe {
        let cluster = d
            .evaluation
            .cluster_pairs
            .as_ref()
            .map(prf)
            .unwrap_or_default();
        out.push_str(&format!(
            "   {}  {:>6} person records -> {:>6} clusters (true persons: {:>6}); duplicate pairs {}\n",
            d.code, d.records, d.clusters, d.true_persons, cluster
        ));
    }
    out.push_str("4. Cross-border matching of person records (plaintext baseline; step 6 does it privacy-preserving):\n");
    for l in &r.links {
        out.push_str(&format!(
            "   {}-{}  {:>5} pairs found, {:>5} true pairs; {}\n",
            l.left,
            l.right,
            l.pairs,
            l.evaluation.true_pairs,
            prf(&l.evaluation.pairs)
        ));
    }
    out.push_str("5. Legal basis for mutual legal assistance (palermo-law):\n");
    for b in &r.legal_basis {
        let list = if b.instruments.is_empty() {
            "none in the knowledge base".to_owned()
        } else {
            b.instruments.join("; ")
        };
        out.push_str(&format!("   {}-{}  {list}\n", b.a, b.b));
    }
    out.push_str("6. Hit/no-hit between the nodes over the federation (keyed encodings only; references resolved on the answering node, scored against the truth):\n");
    for h in &r.hits {
        out.push_str(&format!(
            "   {} asks {}  {}{}: {} encodings for {} records, {} hits, {} true; precision {:.3}, recall {:.3} ({:.1} s)\n",
            h.asker,
            h.answerer,
            h.outcome,
            h.basis.as_deref().map(|b| format!(" under {b}")).unwrap_or_default(),
            h.encodings,
            h.records,
            h.hits,
            h.true_hits,
            h.precision,
            h.recall,
            h.seconds
        ));
    }
    let f = &r.findings;
    out.push_str("7. What the agencies know, against the truth:\n");
    out.push_str(&format!(
        "   victims: {} in truth, {} recorded as victims by at least one agency\n",
        f.true_victims, f.victims_recorded
    ));
    out.push_str(&format!(
        "   offenders: {} in truth, {} recorded as suspects; {} unrelated persons are suspects in other cases\n",
        f.true_offenders, f.offenders_recorded_as_suspects, f.unrelated_suspects
    ));
    out.push_str(&format!(
        "   persons known to more than one agency: {} ({} of them victims or offenders)\n",
        f.persons_in_several_nodes, f.involved_persons_in_several_nodes
    ));
    out.push_str("   not yet run: network analysis, ad screening, follow-up requests citing hit references (later issues)\n");
    out.push_str(&format!("UI: {}", r.serve));
    out
}
