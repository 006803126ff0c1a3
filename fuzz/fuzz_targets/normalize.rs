//! Fuzzes the resolver's normaliser: folding, name tokens, phonetic keys, full-name
//! splitting, date parsing and CSV reading must never panic, and folded text is ASCII.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palermo_resolve::normalize::{fold, identifier, name_tokens, phone, phonetic_key};
use palermo_resolve::{Mapping, Property, Record};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let folded = fold(&text);
    assert!(folded.is_ascii());
    assert!(!folded.starts_with(' ') && !folded.ends_with(' '));
    let (core, all) = name_tokens(&text);
    assert!(core.len() <= all.len() || all.is_empty());
    for t in &all {
        let _ = phonetic_key(t);
    }
    let _ = phonetic_key(&folded);
    assert!(identifier(&text).is_ascii());
    let _ = phone(&text);
    let values = vec![
        (Property::Name, text.to_string()),
        (Property::BirthDate, text.to_string()),
        (Property::Phone, text.to_string()),
        (Property::Email, text.to_string()),
    ];
    let _ = Record::new("x", values);
    let _ = palermo_resolve::read_csv(data, "fuzz.csv", "id", &Mapping::default());
});
