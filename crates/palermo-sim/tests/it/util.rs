//! Shared helpers: generating scenarios into temporary directories and reading CSV.

use std::collections::HashMap;
use std::path::Path;

use palermo_sim::{Config, Summary};

/// Generates a scenario into a fresh temporary directory.
pub(crate) fn generate(countries: &str, persons: u64, seed: u64) -> (tempfile::TempDir, Summary) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::parse(countries, persons, seed).unwrap();
    palermo_sim::prepare_output(dir.path(), false).unwrap();
    let summary = palermo_sim::write_scenario(&config, dir.path(), &mut |_, _| {}).unwrap();
    (dir, summary)
}

/// Reads a CSV file into rows of column name → value.
pub(crate) fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// Every file under `dir`, relative path → bytes, sorted.
pub(crate) fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                files.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}
