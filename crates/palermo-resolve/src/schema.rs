//! Person properties and the header → property table used for auto-detection.
//!
//! Property names follow FollowTheMoney (`firstName`, `lastName`, `birthDate`, ...);
//! address parts follow the FtM `Address` schema (`street`, `street2`, `city`,
//! `postalCode`, `region`, `country`), plus `streetNumber`. The table is public so
//! that importers can share it.

use crate::error::{Error, Result};

/// A person property that the resolver understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Property {
    /// Given name(s).
    FirstName,
    /// Middle name(s).
    MiddleName,
    /// Family name(s).
    LastName,
    /// Patronymic (father's name), compared as an optional part of the given names.
    FatherName,
    /// A full name in any order.
    Name,
    /// Date of birth (ISO 8601, `YYYYMMDD`, `DD/MM/YYYY`, partial dates allowed).
    BirthDate,
    /// A national id or social security number.
    IdNumber,
    /// A passport number.
    PassportNumber,
    /// A phone number.
    Phone,
    /// An e-mail address.
    Email,
    /// House number.
    StreetNumber,
    /// Street line.
    Street,
    /// Second address line.
    Street2,
    /// City, town or suburb.
    City,
    /// Postal code.
    PostalCode,
    /// State, province or region.
    Region,
    /// Country of residence (ISO 3166-1 alpha-2 or name).
    Country,
    /// A full address in one field.
    Address,
    /// Nationality.
    Nationality,
    /// Gender or sex.
    Gender,
}

/// Every property with its FtM-style name, in display order.
pub const PROPERTIES: &[(Property, &str)] = &[
    (Property::FirstName, "firstName"),
    (Property::MiddleName, "middleName"),
    (Property::LastName, "lastName"),
    (Property::FatherName, "fatherName"),
    (Property::Name, "name"),
    (Property::BirthDate, "birthDate"),
    (Property::IdNumber, "idNumber"),
    (Property::PassportNumber, "passportNumber"),
    (Property::Phone, "phone"),
    (Property::Email, "email"),
    (Property::StreetNumber, "streetNumber"),
    (Property::Street, "street"),
    (Property::Street2, "street2"),
    (Property::City, "city"),
    (Property::PostalCode, "postalCode"),
    (Property::Region, "region"),
    (Property::Country, "country"),
    (Property::Address, "address"),
    (Property::Nationality, "nationality"),
    (Property::Gender, "gender"),
];

/// Column headers recognised without `--map`, after [`header_key`] normalisation.
pub const HEADER_TABLE: &[(&str, Property)] = &[
    ("given_name", Property::FirstName),
    ("first_name", Property::FirstName),
    ("firstname", Property::FirstName),
    ("forename", Property::FirstName),
    ("forenames", Property::FirstName),
    ("given_names", Property::FirstName),
    ("middle_name", Property::MiddleName),
    ("middlename", Property::MiddleName),
    ("surname", Property::LastName),
    ("last_name", Property::LastName),
    ("lastname", Property::LastName),
    ("family_name", Property::LastName),
    ("familyname", Property::LastName),
    ("father_name", Property::FatherName),
    ("fathername", Property::FatherName),
    ("patronymic", Property::FatherName),
    ("name", Property::Name),
    ("full_name", Property::Name),
    ("fullname", Property::Name),
    ("date_of_birth", Property::BirthDate),
    ("dob", Property::BirthDate),
    ("birth_date", Property::BirthDate),
    ("birthdate", Property::BirthDate),
    ("soc_sec_id", Property::IdNumber),
    ("national_id", Property::IdNumber),
    ("id_number", Property::IdNumber),
    ("idnumber", Property::IdNumber),
    ("ssn", Property::IdNumber),
    ("passport", Property::PassportNumber),
    ("passport_number", Property::PassportNumber),
    ("passportnumber", Property::PassportNumber),
    ("phone", Property::Phone),
    ("telephone", Property::Phone),
    ("mobile", Property::Phone),
    ("phone_number", Property::Phone),
    ("email", Property::Email),
    ("e_mail", Property::Email),
    ("street_number", Property::StreetNumber),
    ("streetnumber", Property::StreetNumber),
    ("house_number", Property::StreetNumber),
    ("address_1", Property::Street),
    ("address1", Property::Street),
    ("street", Property::Street),
    ("address_2", Property::Street2),
    ("address2", Property::Street2),
    ("street2", Property::Street2),
    ("suburb", Property::City),
    ("city", Property::City),
    ("town", Property::City),
    ("postcode", Property::PostalCode),
    ("postal_code", Property::PostalCode),
    ("postalcode", Property::PostalCode),
    ("zip", Property::PostalCode),
    ("zipcode", Property::PostalCode),
    ("state", Property::Region),
    ("region", Property::Region),
    ("province", Property::Region),
    ("country", Property::Country),
    ("address", Property::Address),
    ("nationality", Property::Nationality),
    ("citizenship", Property::Nationality),
    ("gender", Property::Gender),
    ("sex", Property::Gender),
];

impl Property {
    /// The FtM-style property name (`firstName`, `birthDate`, ...).
    pub fn name(self) -> &'static str {
        PROPERTIES
            .iter()
            .find(|(p, _)| *p == self)
            .map_or("?", |(_, n)| n)
    }

    /// Parses a property name as written in `--map COLUMN=property` (case-insensitive;
    /// FtM names and the header aliases of [`HEADER_TABLE`] are both accepted).
    pub fn parse(name: &str) -> Option<Property> {
        PROPERTIES
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(p, _)| *p)
            .or_else(|| detect(name))
    }

    /// True for the properties that hold (part of) a person's name.
    pub fn is_name(self) -> bool {
        matches!(
            self,
            Property::FirstName | Property::LastName | Property::Name | Property::MiddleName
        )
    }
}

/// Normalises a column header for lookup: lower case, runs of non-alphanumerics → `_`.
pub fn header_key(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    for c in header.trim().chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

/// The property a column header stands for, if it is a known header.
pub fn detect(header: &str) -> Option<Property> {
    let key = header_key(header);
    HEADER_TABLE
        .iter()
        .find(|(h, _)| *h == key)
        .map(|(_, p)| *p)
}

/// What to do with one column: a property, or ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnUse {
    /// Read the column as this property.
    Property(Property),
    /// Do not read the column.
    Ignore,
}

/// Explicit `COLUMN=property` mappings that override header auto-detection.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    entries: Vec<(String, ColumnUse)>,
}

impl Mapping {
    /// Parses `--map` arguments (`COLUMN=property`, or `COLUMN=ignore` to drop a column).
    pub fn parse<S: AsRef<str>>(specs: &[S]) -> Result<Mapping> {
        let mut entries = Vec::with_capacity(specs.len());
        for spec in specs {
            let spec = spec.as_ref();
            let Some((column, property)) = spec.split_once('=') else {
                return Err(Error::InvalidMapping {
                    mapping: spec.to_owned(),
                    reason: "expected COLUMN=property".to_owned(),
                });
            };
            let (column, property) = (column.trim(), property.trim());
            if column.is_empty() {
                return Err(Error::InvalidMapping {
                    mapping: spec.to_owned(),
                    reason: "empty column name".to_owned(),
                });
            }
            let usage = if property.eq_ignore_ascii_case("ignore") || property == "-" {
                ColumnUse::Ignore
            } else {
                match Property::parse(property) {
                    Some(p) => ColumnUse::Property(p),
                    None => {
                        let known: Vec<&str> = PROPERTIES.iter().map(|(_, n)| *n).collect();
                        return Err(Error::InvalidMapping {
                            mapping: spec.to_owned(),
                            reason: format!(
                                "unknown property {property:?} (known: {}, ignore)",
                                known.join(", ")
                            ),
                        });
                    }
                }
            };
            entries.push((column.to_owned(), usage));
        }
        Ok(Mapping { entries })
    }

    /// How to use the column with this header: the explicit mapping, else auto-detection.
    pub fn resolve(&self, header: &str) -> Option<ColumnUse> {
        if let Some((_, usage)) = self.entries.iter().find(|(c, _)| c == header.trim()) {
            return Some(*usage);
        }
        detect(header).map(ColumnUse::Property)
    }

    /// The explicitly mapped columns (to check that each exists in a header).
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(c, _)| c.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(header: &str, expect: Option<&str>) {
        assert_eq!(
            detect(header).map(Property::name),
            expect,
            "header {header:?}"
        );
    }

    #[test]
    fn detects_common_headers() {
        check("given_name", Some("firstName"));
        check("First Name", Some("firstName"));
        check("FORENAME", Some("firstName"));
        check("surname", Some("lastName"));
        check("family-name", Some("lastName"));
        check("full_name", Some("name"));
        check("DOB", Some("birthDate"));
        check("soc_sec_id", Some("idNumber"));
        check("passport_number", Some("passportNumber"));
        check("mobile", Some("phone"));
        check("suburb", Some("city"));
        check("address_1", Some("street"));
        check("postcode", Some("postalCode"));
        check("sex", Some("gender"));
        check("rec_id", None);
        check("entity_id", None);
    }

    #[test]
    fn mapping_overrides_and_rejects() {
        let m = Mapping::parse(&["nom=lastName", "rec_id=ignore", "surname=-"]).unwrap();
        assert_eq!(
            m.resolve("nom"),
            Some(ColumnUse::Property(Property::LastName))
        );
        assert_eq!(m.resolve("surname"), Some(ColumnUse::Ignore));
        assert_eq!(
            m.resolve("dob"),
            Some(ColumnUse::Property(Property::BirthDate))
        );
        assert!(Mapping::parse(&["nom"]).is_err());
        assert!(Mapping::parse(&["nom=shoeSize"]).is_err());
        assert!(Mapping::parse(&["=firstName"]).is_err());
    }
}
