//! Encode two small agencies' files with the same group key and link them.

use palermo_pprl::{
    Blocking, EncodeConfig, Encoder, Hardening, MatchConfig, check_compatible, codec, match_clks,
};
use palermo_resolve::Mapping;

const LEFT: &str = "\
rec_id,given_name,surname,date_of_birth,passport,sex,nationality
a1,Ahmed,Al-Rashid,1984-03-02,P1234567,m,SY
a2,Maria,Kowalski,1975-11-30,K5550001,f,PL
a3,Yuri,Yushchenko,1961-07-11,,m,UA
a4,Ann,Lee,1990-01-01,L0000001,f,GB
a5,Tomas,Novak,1955-05-05,N1111111,m,CZ
";

const RIGHT: &str = "\
rec_id,name,dob,passport_number,gender,nationality
b1,AL RASHID Ahmed,02/03/1984,P 123 4567,M,SY
b2,Мария Ковальски,1975-11-30,K5550001,F,PL
b3,Юрий Ющенко,1961-07-11,,M,UA
b4,Bo Kim,1999-09-09,Z9999999,F,KR
b5,Peter Novak,1950-02-03,Q2222222,M,CZ
";

const SECRET: &[u8] = b"shared group secret for tests\n";

fn encode(text: &str, name: &str, hardening: Hardening) -> codec::Encodings {
    encode_with(
        text,
        name,
        EncodeConfig {
            hardening,
            ..EncodeConfig::standard()
        },
    )
}

fn encode_with(text: &str, name: &str, config: EncodeConfig) -> codec::Encodings {
    let hardening = config.hardening;
    let encoder = Encoder::new(SECRET, config).unwrap();
    let (ids, people) =
        palermo_pprl::read_csv(text.as_bytes(), name, "rec_id", &Mapping::default()).unwrap();
    let clks = encoder.encode_all(&people);
    let json = codec::to_json(&clks, &ids, encoder.key_id(), hardening.name());
    codec::parse(json.as_bytes(), name).unwrap()
}

#[test]
fn links_across_scripts_with_every_hardening() {
    for (hardening, threshold) in [
        (Hardening::None, 0.7),
        (Hardening::Balance, 0.8),
        (Hardening::XorFold, 0.7),
    ] {
        let left = encode(LEFT, "left.csv", hardening);
        let right = encode(RIGHT, "right.csv", hardening);
        check_compatible(&left, "left", &right, "right").unwrap();
        let config = MatchConfig {
            threshold,
            top_k: None,
            one_to_one: true,
            blocking: Blocking::Auto,
            kernel: None,
        };
        let (pairs, _) = match_clks(&left.clks, &right.clks, &config).unwrap();
        let got: Vec<(String, String)> = pairs
            .iter()
            .map(|p| (left.id(p.left as usize), right.id(p.right as usize)))
            .collect();
        let expect: Vec<(String, String)> = [("a1", "b1"), ("a2", "b2"), ("a3", "b3")]
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        assert_eq!(got, expect, "{hardening:?}: {pairs:?}");
    }
}

/// The same people with the birth date or passport recorded on one side only.
const RIGHT_SPARSE: &str = "\
rec_id,name,dob,passport_number,gender,nationality
b1,AL RASHID Ahmed,,P 123 4567,M,
b2,Мария Ковальски,1975-11-30,,F,PL
b3,Юрий Ющенко,1961,,,UA
b4,Bo Kim,1999-09-09,Z9999999,F,KR
b5,Tomas Novak,1950-02-03,Q2222222,M,CZ
";

#[test]
fn field_segments_forgive_missing_fields_and_survive_the_file() {
    let config = EncodeConfig::field_level();
    let left = encode_with(LEFT, "left.csv", config);
    let right = encode_with(RIGHT_SPARSE, "right.csv", config);
    // The scoring travels in the file (version 5).
    assert!(left.clks.scoring().is_some());
    assert_eq!(left.clks.scoring(), right.clks.scoring());
    let ids = |pairs: &[palermo_pprl::Pair]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|p| (left.id(p.left as usize), right.id(p.right as usize)))
            .collect()
    };
    let config = MatchConfig {
        threshold: 0.84,
        top_k: None,
        one_to_one: true,
        blocking: Blocking::Exhaustive,
        kernel: None,
    };
    let (pairs, _) = match_clks(&left.clks, &right.clks, &config).unwrap();
    let expect: Vec<(String, String)> = [("a1", "b1"), ("a2", "b2"), ("a3", "b3")]
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    // Tomas Novak born 1955 with another passport is someone else than the one of 1950.
    assert_eq!(ids(&pairs), expect, "{pairs:?}");
    // The two Novaks share a name and nationality only: far below the cut.
    let novak = left.clks.score(left.clks.row(4), right.clks.row(4));
    assert!(novak < 0.75, "{novak}");
}

#[test]
fn refuses_other_keys_and_clkhash_mixes() {
    let left = encode(LEFT, "left.csv", Hardening::Balance);
    let mut other = left.clone();
    other.key_id = Some("0000000000000000".to_owned());
    let err = check_compatible(&left, "a.json", &other, "b.json")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("encodings were made with different keys: a.json has key id "),
        "{err}"
    );
    let clkhash = codec::parse(codec::to_clkhash_json(&left.clks).as_bytes(), "c.json").unwrap();
    let err = check_compatible(&left, "a.json", &clkhash, "c.json")
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("c.json has key id none (clkhash file)"),
        "{err}"
    );
    let short = codec::parse(br#"{"clks": ["AQI="]}"#, "s.json").unwrap();
    let err = check_compatible(&clkhash, "c.json", &short, "s.json")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "s.json: encoding 0 has 16 bits, expected 2048 (all encodings must have the same length)"
    );
}
