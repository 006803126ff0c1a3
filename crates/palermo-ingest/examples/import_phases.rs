//! Run with: cargo run --release -p palermo-ingest --example import_phases -- CSV
//!
//! Times the CPU phases of an import of a person CSV (as written by the
//! `import_bench` example) without a store, one phase added at a time:
//! CSV parsing alone, parsing plus model validation (the importer's own
//! reader), then the store's per-row work: JSON encoding, content hashing,
//! and lookup-key hashing as the importer does it (`keys_s`) and, for
//! comparison, through the key strings of `entity_keys` (`key_strings_s`,
//! the importer's former path). Whatever an import takes beyond the sum is
//! SQL. Prints one JSON line with seconds per phase.

// An example prints its result; that is its job.
#![allow(clippy::print_stdout)]

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::time::Instant;

use palermo_ingest::{ImportConfig, MarkingConfig, read_entities};
use palermo_model::{Entity, Schema};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, csv] = args.as_slice() else {
        return Err("usage: import_phases CSV".into());
    };
    let path = PathBuf::from(csv);
    let config = ImportConfig {
        format: None,
        schema: Schema::Person,
        id_column: Some("id".to_owned()),
        maps: Vec::new(),
        markings: MarkingConfig {
            tlp: None,
            victim_tlp: None,
            purpose: None,
            retain_until: None,
            originator: None,
            onward_sharing: false,
            handling: None,
        },
        imported_by: "bench".to_owned(),
    };

    // 1. CSV parsing alone: every field of every record, as bytes.
    let started = Instant::now();
    let mut reader = csv::ReaderBuilder::new().from_reader(BufReader::new(File::open(&path)?));
    let mut record = csv::ByteRecord::new();
    let mut fields = 0usize;
    while reader.read_byte_record(&mut record)? {
        fields += record.len();
    }
    let csv_s = started.elapsed().as_secs_f64();

    // 2. The importer's reader: parsing, model validation, markings.
    let started = Instant::now();
    let mut n = 0u64;
    read_entities(
        BufReader::new(File::open(&path)?),
        &path,
        &config,
        &mut |_| n += 1,
    )?;
    let validate_s = started.elapsed().as_secs_f64();

    // 3-5. Each per-row store phase timed on its own over the same entities,
    // in chunks so memory stays bounded.
    let mut encode_s = 0.0;
    let mut hash_s = 0.0;
    let mut keys_s = 0.0;
    let mut key_strings_s = 0.0;
    let mut chunk: Vec<Entity> = Vec::with_capacity(10_000);
    let mut sink = 0usize;
    let mut flush = |chunk: &mut Vec<Entity>| {
        let started = Instant::now();
        let encoded: Vec<(String, String, String)> = chunk
            .iter()
            .map(|e| {
                (
                    serde_json::to_string(&e.properties).unwrap_or_default(),
                    serde_json::to_string(&e.markings).unwrap_or_default(),
                    e.caption(),
                )
            })
            .collect();
        encode_s += started.elapsed().as_secs_f64();
        let started = Instant::now();
        for ((properties, markings, _), e) in encoded.iter().zip(chunk.iter()) {
            let mut hasher = blake3::Hasher::new();
            for part in [
                e.schema.as_str(),
                properties,
                markings,
                e.role.map_or("", |r| r.as_str()),
            ] {
                hasher.update(&(part.len() as u64).to_le_bytes());
                hasher.update(part.as_bytes());
            }
            sink += hasher.finalize().as_bytes()[0] as usize;
        }
        hash_s += started.elapsed().as_secs_f64();
        let started = Instant::now();
        for e in chunk.iter() {
            for key in palermo_store::entity_keys(e) {
                sink += palermo_store::key_hash(&key) as usize & 1;
            }
        }
        key_strings_s += started.elapsed().as_secs_f64();
        let started = Instant::now();
        for e in chunk.iter() {
            sink += palermo_store::entity_key_hashes_of(e).len() & 1;
        }
        keys_s += started.elapsed().as_secs_f64();
        chunk.clear();
    };
    read_entities(
        BufReader::new(File::open(&path)?),
        &path,
        &config,
        &mut |e| {
            chunk.push(e);
            if chunk.len() == 10_000 {
                flush(&mut chunk);
            }
        },
    )?;
    flush(&mut chunk);
    println!(
        "{{\"records\":{n},\"fields\":{fields},\"csv_parse_s\":{csv_s:.3},\"parse_validate_s\":{validate_s:.3},\
         \"json_encode_s\":{encode_s:.3},\"content_hash_s\":{hash_s:.3},\"keys_s\":{keys_s:.3},\"key_strings_s\":{key_strings_s:.3},\"checksum\":{}}}",
        sink % 10
    );
    Ok(())
}
