//! House rules checked on the whole workspace: every `.rs` file opens with a
//! `//!` doc comment, no test is marked should-panic or ignored, and
//! every external dependency version is declared once, in the root
//! `[workspace.dependencies]` table.

use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !matches!(name.as_ref(), "target" | ".git" | "corpus" | "artifacts") {
                files(&path, ext, out);
            }
        } else if name.ends_with(ext) {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_starts_with_a_module_doc() {
    let root = workspace_root();
    let mut rust = Vec::new();
    files(&root.join("crates"), ".rs", &mut rust);
    files(&root.join("fuzz"), ".rs", &mut rust);
    let offenders: Vec<String> = rust
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|path| {
            path.strip_prefix(&root)
                .unwrap_or(path)
                .display()
                .to_string()
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "files without a //! doc comment: {offenders:#?}"
    );
}

#[test]
fn no_should_panic_or_ignore() {
    let root = workspace_root();
    let mut rust = Vec::new();
    files(&root.join("crates"), ".rs", &mut rust);
    let banned = [concat!("#[should", "_panic"), concat!("#[ig", "nore")];
    let offenders: Vec<String> = rust
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            banned.iter().any(|b| text.contains(b))
        })
        .map(|path| {
            path.strip_prefix(&root)
                .unwrap_or(path)
                .display()
                .to_string()
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "banned test attributes in: {offenders:#?}"
    );
}

#[test]
fn versions_live_in_the_workspace_table() {
    let root = workspace_root();
    let mut manifests = Vec::new();
    files(&root.join("crates"), "Cargo.toml", &mut manifests);
    let mut offenders = Vec::new();
    for path in manifests {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let mut in_deps = false;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_deps = line.contains("dependencies");
                continue;
            }
            if in_deps
                && !line.starts_with('#')
                && line.contains('=')
                && !line.contains("workspace = true")
            {
                offenders.push(format!(
                    "{}: {line}",
                    path.strip_prefix(&root).unwrap_or(&path).display()
                ));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "declare these in [workspace.dependencies]: {offenders:#?}"
    );
}
