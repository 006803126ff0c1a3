//! A small deterministic synthetic population with known truth: persons with several
//! records each, written with typos, swapped name order, transliterations and nicknames.

use palermo_resolve::{Dataset, Property, Record};

const GIVEN: &[&str] = &[
    "ahmed", "maria", "john", "olga", "wei", "fatima", "ivan", "sofia", "omar", "anna", "li",
    "elena", "yusuf", "grace", "pedro", "mariam", "dmitri", "chloe", "hassan", "nadia", "tomas",
    "leila", "viktor", "amara", "kenji", "zainab", "pavel", "irina", "samuel", "aisha",
];
const FAMILY: &[&str] = &[
    "rashid",
    "kowalski",
    "nguyen",
    "petrova",
    "haddad",
    "silva",
    "okafor",
    "ivanov",
    "chen",
    "mensah",
    "garcia",
    "novak",
    "abdi",
    "horvat",
    "tanaka",
    "osei",
    "moreau",
    "kaya",
    "popescu",
    "lindqvist",
    "bakr",
    "santos",
    "meier",
    "dubois",
    "rossi",
    "farouk",
    "kim",
    "jensen",
    "ali",
    "costa",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn typo(rng: &mut Rng, s: &str) -> String {
    let mut b: Vec<u8> = s.bytes().collect();
    if b.len() < 3 {
        return s.to_owned();
    }
    let i = 1 + rng.below(b.len() - 2);
    match rng.below(3) {
        0 => b.swap(i, i + 1),
        1 => {
            b.remove(i);
        }
        _ => b[i] = b'a' + rng.below(26) as u8,
    }
    String::from_utf8(b).unwrap_or_else(|_| s.to_owned())
}

/// `(records, entity of each record)`: `persons` persons, 1–3 records each.
pub(crate) fn population(persons: usize, seed: u64) -> (Vec<Record>, Vec<String>) {
    let mut rng = Rng(seed);
    let mut records = Vec::new();
    let mut entity = Vec::new();
    for p in 0..persons {
        let given = GIVEN[rng.below(GIVEN.len())];
        let family = FAMILY[rng.below(FAMILY.len())];
        let dob = format!(
            "{}-{:02}-{:02}",
            1950 + rng.below(50),
            1 + rng.below(12),
            1 + rng.below(28)
        );
        let passport = format!("P{:07}", rng.next() % 10_000_000);
        let city = ["amsterdam", "bangkok", "kuala lumpur", "lagos", "bucharest"][rng.below(5)];
        let copies = 1 + rng.below(3);
        for c in 0..copies {
            let mut values = Vec::new();
            let (mut g, mut f) = (given.to_owned(), family.to_owned());
            if c > 0 && rng.below(2) == 0 {
                g = typo(&mut rng, &g);
            }
            if c > 0 && rng.below(3) == 0 {
                f = typo(&mut rng, &f);
            }
            if c > 0 && rng.below(4) == 0 {
                // full name only, family first in capitals
                values.push((Property::Name, format!("{} {}", f.to_uppercase(), g)));
            } else {
                values.push((Property::FirstName, g));
                values.push((Property::LastName, f));
            }
            if rng.below(6) != 0 {
                values.push((Property::BirthDate, dob.clone()));
            }
            if rng.below(3) != 0 {
                values.push((Property::PassportNumber, passport.clone()));
            }
            values.push((Property::City, city.to_owned()));
            records.push(Record::new(format!("p{p}-r{c}"), values));
            entity.push(format!("p{p}"));
        }
    }
    (records, entity)
}

/// Wraps records in a data set.
pub(crate) fn dataset(records: Vec<Record>) -> Dataset {
    Dataset::from_records("synthetic", records)
}
