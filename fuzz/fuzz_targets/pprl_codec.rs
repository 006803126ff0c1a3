//! Fuzz the PPRL parsers: encodings files (Palermo and clkhash JSON, with or without
//! persons), CSV people, cluster files and dates.
//! Any input must give a value or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(enc) = palermo_pprl::codec::parse(data, "fuzz.json") {
        for i in 0..enc.clks.len().min(4) {
            let _ = enc.id(i);
            let _ = palermo_pprl::codec::to_base64(&enc.clks.bytes(i));
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = palermo_pprl::person::parse_date(text);
    }
    if let Ok((enc, Some(persons))) = palermo_pprl::codec::parse_with_persons(data, "fuzz.json") {
        assert_eq!(persons.len(), enc.clks.len());
    }
    let mapping = palermo_resolve::Mapping::default();
    let _ = palermo_pprl::read_csv(data, "fuzz.csv", "id", &mapping);
    let ids = ["a", "b", "c"].map(String::from);
    if let Ok(persons) = palermo_pprl::read_clusters(data, "fuzz.csv", &ids) {
        assert_eq!(persons.len(), ids.len());
    }
});
