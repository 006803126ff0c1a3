//! Fuzz the CSV reader: any bytes, as a Person CSV with auto-detected
//! headers, must give entities or an error, never a panic.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use palermo_ingest::{ImportConfig, InputFormat, MarkingConfig, read_entities};
use palermo_model::Schema;

fuzz_target!(|data: &[u8]| {
    let config = ImportConfig {
        format: Some(InputFormat::Csv),
        schema: Schema::Person,
        id_column: None,
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
        imported_by: "fuzz".to_owned(),
    };
    let _ = read_entities(data, Path::new("fuzz.csv"), &config, &mut |_| {});
});
