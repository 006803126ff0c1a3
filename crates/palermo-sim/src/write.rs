//! Writing a scenario to disk: the output directory rules, parallel
//! generation in ordered chunks, streaming into the files, and the summary.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::out::{Out, PERSON_COLUMNS, TRUTH_FILES};
use crate::world::World;
use crate::{Config, Error, Result, network, population};

/// Persons per unit of parallel work.
const CHUNK: u64 = 2048;

/// What was generated: per-country record counts, truth counts and sizes.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The seed.
    pub seed: u64,
    /// The number of true persons.
    pub persons: u64,
    /// Per country, in corridor order.
    pub countries: Vec<CountrySummary>,
    /// Counts of the trafficking world.
    pub truth: TruthSummary,
    /// Total size of all files written, in bytes.
    pub bytes: u64,
}

/// One country's view.
#[derive(Debug, Clone, Serialize)]
pub struct CountrySummary {
    /// ISO 3166-1 alpha-2 code.
    pub code: String,
    /// The agency whose view it is.
    pub agency: String,
    /// Records in the view (persons.csv rows plus entities.jsonl lines).
    pub records: u64,
    /// Records that belong to the trafficking world.
    pub related: u64,
    /// Share of records unrelated to trafficking (0..1).
    pub unrelated_share: f64,
    /// Records per schema.
    pub by_schema: BTreeMap<String, u64>,
    /// Size of the view's files in bytes.
    pub bytes: u64,
}

/// Counts of the true trafficking world.
#[derive(Debug, Clone, Serialize)]
pub struct TruthSummary {
    /// Criminal organisations.
    pub organisations: u64,
    /// Distinct offenders (members of at least one organisation).
    pub offenders: u64,
    /// Victims.
    pub victims: u64,
    /// Victims under 18 when recruited.
    pub child_victims: u64,
    /// Victims travelling on forged, crudely forged or stolen passports.
    pub victims_on_false_documents: u64,
    /// Organisations whose corridor was disrupted and moved.
    pub disrupted_routes: u64,
}

/// Checks the output directory before anything is generated: a missing or
/// empty directory is fine; a non-empty one is refused unless `force`, in
/// which case the scenario's own entries (`truth/` and two-letter country
/// directories) are removed and other files are left alone.
pub fn prepare_output(dir: &Path, force: bool) -> Result<()> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let entries: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()
            .map_err(io)?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotADirectory => {
            return Err(Error::OutputNotEmpty {
                path: dir.to_path_buf(),
            });
        }
        Err(err) => return Err(io(err)),
    };
    if entries.is_empty() {
        return Ok(());
    }
    if !force {
        return Err(Error::OutputNotEmpty {
            path: dir.to_path_buf(),
        });
    }
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let ours =
            name == "truth" || (name.len() == 2 && name.bytes().all(|b| b.is_ascii_uppercase()));
        if ours && path.is_dir() {
            fs::remove_dir_all(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
        }
    }
    Ok(())
}

/// Generates the scenario of `config` into `dir` (which [`prepare_output`]
/// should have checked), calling `progress(done, total)` as persons are done.
pub fn write_scenario(
    config: &Config,
    dir: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Summary> {
    let world = World::build(config);
    let files = Files::create(&world, dir)?;
    let n = world.n_persons;
    let n_chunks = n.div_ceil(CHUNK);
    let batch = (rayon::current_num_threads() as u64 * 4).max(4);
    // A writer thread appends finished batches in order while the next batch
    // is generated, so that writing (kernel copies) overlaps generation.
    let (send, receive) = std::sync::mpsc::sync_channel::<Vec<Out>>(2);
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> Result<Files> {
            let mut files = files;
            for outs in receive {
                for out in outs {
                    files.append(out)?;
                }
            }
            Ok(files)
        });
        let mut start = 0;
        while start < n_chunks {
            let end = (start + batch).min(n_chunks);
            let outs: Vec<Out> = (start..end)
                .into_par_iter()
                .map(|c| population::chunk(&world, c * CHUNK..((c + 1) * CHUNK).min(n)))
                .collect();
            if send.send(outs).is_err() {
                // The writer stopped on an error, which `join` reports below.
                break;
            }
            progress((end * CHUNK).min(n), n);
            start = end;
        }
        if start >= n_chunks {
            let outs: Vec<Out> = world
                .orgs
                .par_iter()
                .map(|org| network::unit(&world, org))
                .collect();
            let _ = send.send(outs);
            let _ = send.send(vec![network::background_templates(&world)]);
        }
        drop(send);
        let files = writer.join().map_err(|_| Error::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::other("the writer thread panicked"),
        })??;
        files.finish(&world, dir)
    })
}

struct ViewFiles {
    persons: BufWriter<File>,
    entities: BufWriter<File>,
    counts: BTreeMap<&'static str, [u64; 2]>,
}

struct Files {
    views: Vec<ViewFiles>,
    truth: Vec<BufWriter<File>>,
}

fn create(path: PathBuf) -> Result<BufWriter<File>> {
    File::create(&path)
        .map(|f| BufWriter::with_capacity(1 << 20, f))
        .map_err(|source| Error::Io { path, source })
}

fn write_all(w: &mut BufWriter<File>, bytes: &[u8], path: &Path) -> Result<()> {
    w.write_all(bytes).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl Files {
    fn create(world: &World, dir: &Path) -> Result<Files> {
        let mkdir =
            |path: PathBuf| fs::create_dir_all(&path).map_err(|source| Error::Io { path, source });
        let mut views = Vec::new();
        for profile in &world.countries {
            let cdir = dir.join(profile.code);
            mkdir(cdir.clone())?;
            let mut persons = create(cdir.join("persons.csv"))?;
            write_all(
                &mut persons,
                format!("{}\n", PERSON_COLUMNS.join(",")).as_bytes(),
                dir,
            )?;
            views.push(ViewFiles {
                persons,
                entities: create(cdir.join("entities.jsonl"))?,
                counts: BTreeMap::new(),
            });
        }
        let tdir = dir.join("truth");
        mkdir(tdir.clone())?;
        let mut truth = Vec::new();
        for file in TRUTH_FILES {
            let mut w = create(tdir.join(file.name))?;
            write_all(
                &mut w,
                format!("{}\n", file.columns.join(",")).as_bytes(),
                &tdir,
            )?;
            truth.push(w);
        }
        Ok(Files { views, truth })
    }

    fn append(&mut self, out: Out) -> Result<()> {
        let (views, truth) = out.into_parts();
        for (view, (persons, entities, counts)) in self.views.iter_mut().zip(views) {
            write_all(&mut view.persons, &persons, Path::new("persons.csv"))?;
            write_all(&mut view.entities, &entities, Path::new("entities.jsonl"))?;
            for (schema, [total, related]) in counts {
                let c = view.counts.entry(schema).or_default();
                c[0] += total;
                c[1] += related;
            }
        }
        for (w, bytes) in self.truth.iter_mut().zip(truth) {
            write_all(w, &bytes, Path::new("truth"))?;
        }
        Ok(())
    }

    fn finish(self, world: &World, dir: &Path) -> Result<Summary> {
        let flush = |mut w: BufWriter<File>| {
            w.flush().map_err(|source| Error::Io {
                path: dir.to_path_buf(),
                source,
            })
        };
        let mut countries = Vec::new();
        for (profile, view) in world.countries.iter().zip(self.views) {
            flush(view.persons)?;
            flush(view.entities)?;
            let records: u64 = view.counts.values().map(|c| c[0]).sum();
            let related: u64 = view.counts.values().map(|c| c[1]).sum();
            let cdir = dir.join(profile.code);
            countries.push(CountrySummary {
                code: profile.code.to_owned(),
                agency: profile.agency.to_owned(),
                records,
                related,
                unrelated_share: if records == 0 {
                    1.0
                } else {
                    1.0 - related as f64 / records as f64
                },
                by_schema: view
                    .counts
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v[0]))
                    .collect(),
                bytes: size(&cdir.join("persons.csv")) + size(&cdir.join("entities.jsonl")),
            });
        }
        for w in self.truth {
            flush(w)?;
        }
        let victims: Vec<_> = world
            .involved
            .values()
            .filter_map(|i| i.victim.as_ref())
            .collect();
        let truth = TruthSummary {
            organisations: world.orgs.len() as u64,
            offenders: world
                .involved
                .values()
                .filter(|i| !i.memberships.is_empty())
                .count() as u64,
            victims: victims.len() as u64,
            child_victims: victims.iter().filter(|v| v.child).count() as u64,
            victims_on_false_documents: victims
                .iter()
                .filter(|v| v.document != crate::world::DocKind::Genuine)
                .count() as u64,
            disrupted_routes: world.orgs.iter().filter(|o| o.detour.is_some()).count() as u64,
        };
        let mut summary = Summary {
            seed: world.seed,
            persons: world.n_persons,
            countries,
            truth,
            bytes: 0,
        };
        let tdir = dir.join("truth");
        summary.bytes = summary.countries.iter().map(|c| c.bytes).sum::<u64>()
            + TRUTH_FILES
                .iter()
                .map(|f| size(&tdir.join(f.name)))
                .sum::<u64>();
        let path = tdir.join("summary.json");
        let json =
            serde_json::to_string_pretty(&summary).expect("invariant: the summary serializes");
        fs::write(&path, format!("{json}\n")).map_err(|source| Error::Io { path, source })?;
        Ok(summary)
    }
}

fn size(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
