//! Lookup keys written beside every entity, so that lookups and entity
//! resolution's blocking can find candidates without scanning.
//!
//! Keys are deliberately simple (lower-case ASCII-folded tokens, identifier
//! characters); the resolution engine does the heavy normalisation.

use palermo_model::{Entity, PropertyType};

/// Lookup keys of one entity, deduplicated and sorted:
/// `n:<token>` for each name token of two or more characters,
/// `id:<IDENTIFIER>` for identifiers (upper case, letters and digits only),
/// `ph:<digits>` for phone numbers and `em:<address>` for e-mail addresses.
pub fn entity_keys(entity: &Entity) -> Vec<String> {
    let mut keys = Vec::new();
    for (name, values) in &entity.properties {
        let Some(def) = entity.schema.property(name) else {
            continue;
        };
        for value in values {
            match def.kind {
                PropertyType::Name => {
                    keys.extend(name_tokens(value).into_iter().map(|t| format!("n:{t}")));
                }
                PropertyType::Identifier => {
                    let id: String = value
                        .chars()
                        .filter(char::is_ascii_alphanumeric)
                        .map(|c| c.to_ascii_uppercase())
                        .collect();
                    if id.len() >= 3 {
                        keys.push(format!("id:{id}"));
                    }
                }
                PropertyType::Phone => {
                    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
                    if digits.len() >= 5 {
                        keys.push(format!("ph:{digits}"));
                    }
                }
                PropertyType::Email => keys.push(format!("em:{}", value.to_lowercase())),
                _ => {}
            }
        }
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The hashes under which an import stores the lookup keys of `entity`:
/// [`key_hash`] of each of [`entity_keys`], sorted and deduplicated,
/// computed without building the key strings (as the importer does).
pub fn entity_key_hashes_of(entity: &Entity) -> Vec<i64> {
    let (mut buf, mut out) = (String::new(), Vec::new());
    entity_key_hashes(entity, &mut buf, &mut out);
    out
}

/// The stored hashes of [`entity_keys`], sorted and deduplicated, without
/// building the key strings: the import hashes every key of every record,
/// and allocating each one first cost more than the rest of the row.
/// `buf` is scratch space reused across calls; `out` is cleared first.
pub(crate) fn entity_key_hashes(entity: &Entity, buf: &mut String, out: &mut Vec<i64>) {
    out.clear();
    for (name, values) in &entity.properties {
        let Some(def) = entity.schema.property(name) else {
            continue;
        };
        for value in values {
            match def.kind {
                PropertyType::Name => {
                    for token in value.split(|c: char| !c.is_alphanumeric()) {
                        buf.clear();
                        buf.push_str("n:");
                        buf.extend(token.chars().flat_map(char::to_lowercase));
                        // The length rule counts characters of the folded token.
                        if buf[2..].chars().nth(1).is_some() {
                            out.push(key_hash(buf));
                        }
                    }
                }
                PropertyType::Identifier => {
                    buf.clear();
                    buf.push_str("id:");
                    buf.extend(
                        value
                            .chars()
                            .filter(char::is_ascii_alphanumeric)
                            .map(|c| c.to_ascii_uppercase()),
                    );
                    if buf.len() >= 3 + 3 {
                        out.push(key_hash(buf));
                    }
                }
                PropertyType::Phone => {
                    buf.clear();
                    buf.push_str("ph:");
                    buf.extend(value.chars().filter(char::is_ascii_digit));
                    if buf.len() >= 3 + 5 {
                        out.push(key_hash(buf));
                    }
                }
                PropertyType::Email => {
                    // `str::to_lowercase`, not per character: it folds a
                    // final sigma differently, and must match `entity_keys`.
                    buf.clear();
                    buf.push_str("em:");
                    buf.push_str(&value.to_lowercase());
                    out.push(key_hash(buf));
                }
                _ => {}
            }
        }
    }
    out.sort_unstable();
    out.dedup();
}

/// The 64-bit hash under which a key is stored (the first eight bytes of
/// its BLAKE3 hash, as a signed integer for the database).
pub fn key_hash(key: &str) -> i64 {
    let hash = blake3::hash(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    i64::from_le_bytes(first)
}

/// The lookup key of a single name token: `n:` plus the folded token.
pub fn name_key(token: &str) -> Option<String> {
    name_tokens(token)
        .into_iter()
        .next()
        .map(|t| format!("n:{t}"))
}

fn name_tokens(value: &str) -> Vec<String> {
    value
        .split(|c: char| !c.is_alphanumeric())
        .map(|token| {
            token
                .chars()
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|token| token.chars().count() >= 2)
        .collect()
}

#[cfg(test)]
mod tests {
    use palermo_model::{EntityId, Schema};

    use super::*;

    #[test]
    fn keys_cover_names_ids_phones_and_emails() {
        let mut person = Entity::new(EntityId::new("p").unwrap(), Schema::Person);
        person.add("name", "Ahmed AL-RASHID").unwrap();
        person.add("alias", "Achmed").unwrap();
        person.add("passportNumber", "p-123 4567").unwrap();
        person.add("phone", "+31 6 1234 5678").unwrap();
        person.add("email", "A.Rashid@Example.org").unwrap();
        assert_eq!(
            entity_keys(&person),
            [
                "em:a.rashid@example.org",
                "id:P1234567",
                "n:achmed",
                "n:ahmed",
                "n:al",
                "n:rashid",
                "ph:31612345678",
            ]
        );
    }

    #[test]
    fn key_hashes_match_the_hashed_keys() {
        let mut person = Entity::new(EntityId::new("p").unwrap(), Schema::Person);
        person
            .add("name", "Ahmed AL-RASHID ΟΔΥΣΣΕΥΣ İlker x Ǆemal")
            .unwrap();
        person.add("alias", "Achmed").unwrap();
        person.add("alias", "ahmed").unwrap();
        person.add("passportNumber", "p-123 4567").unwrap();
        person.add("passportNumber", "ab").unwrap();
        person.add("phone", "+31 6 1234 5678").unwrap();
        person.add("phone", "123").unwrap();
        person.add("email", "ΣΑΣ.Rashid@Example.org").unwrap();
        let mut want: Vec<i64> = entity_keys(&person).iter().map(|k| key_hash(k)).collect();
        want.sort_unstable();
        want.dedup();
        let (mut buf, mut got) = (String::new(), vec![7]);
        entity_key_hashes(&person, &mut buf, &mut got);
        assert_eq!(got, want);
        assert_eq!(got.len(), entity_keys(&person).len());
        assert_eq!(entity_key_hashes_of(&person), want);
    }

    #[test]
    fn name_keys_fold_case_in_any_script() {
        assert_eq!(name_key("АЛЕКСЕЙ").as_deref(), Some("n:алексей"));
        assert_eq!(name_key("x"), None);
    }
}
