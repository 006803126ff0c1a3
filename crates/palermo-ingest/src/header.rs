//! CSV header auto-detection: common column names map to FtM properties
//! without `--map`.

use palermo_model::Schema;

/// Column names (normalised: lower case, `_` between words) and the property
/// they map to.
const ALIASES: &[(&str, &str)] = &[
    ("given_name", "firstName"),
    ("first_name", "firstName"),
    ("firstname", "firstName"),
    ("forename", "firstName"),
    ("middle_name", "middleName"),
    ("surname", "lastName"),
    ("last_name", "lastName"),
    ("lastname", "lastName"),
    ("family_name", "lastName"),
    ("name", "name"),
    ("full_name", "name"),
    ("fullname", "name"),
    ("alias", "alias"),
    ("date_of_birth", "birthDate"),
    ("dob", "birthDate"),
    ("birth_date", "birthDate"),
    ("birthdate", "birthDate"),
    ("place_of_birth", "birthPlace"),
    ("soc_sec_id", "idNumber"),
    ("national_id", "idNumber"),
    ("id_number", "idNumber"),
    ("passport", "passportNumber"),
    ("passport_number", "passportNumber"),
    ("passport_no", "passportNumber"),
    ("phone", "phone"),
    ("phone_number", "phone"),
    ("telephone", "phone"),
    ("mobile", "phone"),
    ("email", "email"),
    ("e_mail", "email"),
    ("email_address", "email"),
    ("street_number", "streetNumber"),
    ("address_1", "street"),
    ("address_2", "street2"),
    ("suburb", "suburb"),
    ("city", "city"),
    ("town", "city"),
    ("postcode", "postalCode"),
    ("postal_code", "postalCode"),
    ("zip", "postalCode"),
    ("state", "state"),
    ("country", "country"),
    ("nationality", "nationality"),
    ("citizenship", "citizenship"),
    ("gender", "gender"),
    ("sex", "gender"),
    ("address", "address"),
    ("notes", "notes"),
];

/// Column names tried, in order, as the record id when `--id-column` is not given.
pub fn id_column_candidates() -> &'static [&'static str] {
    &["id", "record_id", "rec_id"]
}

/// The property a column header maps to on `schema`: a known alias
/// (`dob` → `birthDate`) or the exact name of one of the schema's properties
/// (any case). Returns `None` for columns Palermo does not recognise.
pub fn detect_property(schema: Schema, header: &str) -> Option<&'static str> {
    let trimmed = header.trim().trim_start_matches('\u{feff}');
    if let Some(def) = schema
        .properties()
        .find(|def| def.name.eq_ignore_ascii_case(trimmed))
    {
        return Some(def.name);
    }
    let normalized = normalize_header(trimmed);
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == normalized)
        .map(|(_, property)| *property)
        .filter(|property| schema.property(property).is_some())
}

/// `Date of Birth` → `date_of_birth`, `firstName` → `first_name`.
fn normalize_header(header: &str) -> String {
    let mut out = String::with_capacity(header.len() + 4);
    let mut prev_lower = false;
    for c in header.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
    }
    out.trim_matches('_').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(header: &str, expect: Option<&str>) {
        assert_eq!(detect_property(Schema::Person, header), expect, "{header}");
    }

    #[test]
    fn detects_the_contract_names() {
        for (header, property) in [
            ("given_name", "firstName"),
            ("first_name", "firstName"),
            ("FirstName", "firstName"),
            ("forename", "firstName"),
            ("surname", "lastName"),
            ("Last Name", "lastName"),
            ("family_name", "lastName"),
            ("name", "name"),
            ("full_name", "name"),
            ("date_of_birth", "birthDate"),
            ("DOB", "birthDate"),
            ("birth_date", "birthDate"),
            ("birthdate", "birthDate"),
            ("soc_sec_id", "idNumber"),
            ("national_id", "idNumber"),
            ("id_number", "idNumber"),
            ("passport", "passportNumber"),
            ("passport_number", "passportNumber"),
            ("phone", "phone"),
            ("telephone", "phone"),
            ("mobile", "phone"),
            ("email", "email"),
            ("street_number", "streetNumber"),
            ("address_1", "street"),
            ("address_2", "street2"),
            ("suburb", "suburb"),
            ("city", "city"),
            ("postcode", "postalCode"),
            ("state", "state"),
            ("country", "country"),
            ("nationality", "nationality"),
            ("gender", "gender"),
            ("sex", "gender"),
            ("\u{feff}firstName", "firstName"),
        ] {
            check(header, Some(property));
        }
    }

    #[test]
    fn ignores_unknown_columns_and_foreign_schemas() {
        check("entity_id", None);
        check("shoe_size", None);
        assert_eq!(detect_property(Schema::Passport, "number"), Some("number"));
        assert_eq!(detect_property(Schema::Passport, "first_name"), None);
    }
}
