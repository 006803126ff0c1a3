//! Same seed → byte-identical files; another seed → other files.

use crate::util::{generate, tree};

#[test]
fn same_seed_gives_byte_identical_output() {
    let (a, _) = generate("TH,MY,NL", 3000, 7);
    let (b, _) = generate("TH,MY,NL", 3000, 7);
    let (ta, tb) = (tree(a.path()), tree(b.path()));
    assert_eq!(ta.len(), 3 * 2 + 12);
    for ((name_a, bytes_a), (name_b, bytes_b)) in ta.iter().zip(&tb) {
        assert_eq!(name_a, name_b);
        assert!(
            bytes_a == bytes_b,
            "{name_a} differs between two runs with the same seed"
        );
    }
}

#[test]
fn another_seed_gives_other_output() {
    let (a, _) = generate("TH,NL", 500, 1);
    let (b, _) = generate("TH,NL", 500, 2);
    let read = |dir: &std::path::Path| std::fs::read(dir.join("TH/persons.csv")).unwrap();
    assert_ne!(read(a.path()), read(b.path()));
}

#[test]
fn refuses_a_non_empty_directory_without_force() {
    let (dir, _) = generate("TH,NL", 100, 1);
    let err = palermo_sim::prepare_output(dir.path(), false).unwrap_err();
    assert!(err.is_bad_input());
    assert!(err.to_string().contains("is not empty"), "{err}");
    std::fs::write(dir.path().join("notes.txt"), "keep me").unwrap();
    palermo_sim::prepare_output(dir.path(), true).unwrap();
    assert!(!dir.path().join("TH").exists() && !dir.path().join("truth").exists());
    assert!(
        dir.path().join("notes.txt").exists(),
        "--force only removes the scenario's own entries"
    );
}

#[test]
fn output_does_not_depend_on_the_number_of_threads() {
    let config = palermo_sim::Config::parse("TH,MY,NL", 9000, 3).unwrap();
    let run = |threads: usize| {
        let dir = tempfile::tempdir().unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| palermo_sim::write_scenario(&config, dir.path(), &mut |_, _| {}).unwrap());
        let files = tree(dir.path());
        (dir, files)
    };
    let ((_a, one), (_b, three)) = (run(1), run(3));
    assert_eq!(one.len(), three.len());
    for ((name, x), (_, y)) in one.iter().zip(&three) {
        assert!(x == y, "{name} differs between 1 and 3 threads");
    }
}
