//! Schemas and their properties, named as in FollowTheMoney.
//!
//! Each [`PropertyDef`] says whether FollowTheMoney itself knows the property
//! on that schema (`ftm`); Palermo's own additions (address parts on a person,
//! online handles, evidence hashes, whole schemas such as `Movement`) are
//! exported under the `palermo` key so that FtM tools load the rest unchanged.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// The type of a property's values, which decides how values are validated
/// and normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropertyType {
    /// A name of a person or organisation.
    Name,
    /// A short string.
    String,
    /// Long free text.
    Text,
    /// An ISO 8601 date, possibly partial.
    Date,
    /// An ISO 3166-1 alpha-2 code (normalised to upper case).
    Country,
    /// A phone number as written (normalisation to E.164 happens in resolution).
    Phone,
    /// An e-mail address.
    Email,
    /// An identifier: passport, national id, IBAN, hash.
    Identifier,
    /// A reference to another entity's id.
    Entity,
    /// A decimal number.
    Number,
    /// A URL.
    Url,
    /// A postal address as one text.
    Address,
    /// A gender: `male`, `female` or `other`.
    Gender,
}

/// One property of a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropertyDef {
    /// The property name (FtM spelling, e.g. `firstName`).
    pub name: &'static str,
    /// The value type.
    pub kind: PropertyType,
    /// Whether FollowTheMoney knows this property on this schema.
    pub ftm: bool,
}

const fn ftm(name: &'static str, kind: PropertyType) -> PropertyDef {
    PropertyDef {
        name,
        kind,
        ftm: true,
    }
}

const fn ext(name: &'static str, kind: PropertyType) -> PropertyDef {
    PropertyDef {
        name,
        kind,
        ftm: false,
    }
}

use PropertyType as T;

const THING: &[PropertyDef] = &[
    ftm("name", T::Name),
    ftm("alias", T::Name),
    ftm("weakAlias", T::Name),
    ftm("previousName", T::Name),
    ftm("notes", T::Text),
    ftm("summary", T::Text),
    ftm("description", T::Text),
    ftm("country", T::Country),
    ftm("sourceUrl", T::Url),
    ftm("address", T::Address),
    ftm("addressEntity", T::Entity),
    ftm("keywords", T::String),
];

const LEGAL_ENTITY: &[PropertyDef] = &[
    ftm("email", T::Email),
    ftm("phone", T::Phone),
    ftm("idNumber", T::Identifier),
    ftm("taxNumber", T::Identifier),
    ftm("registrationNumber", T::Identifier),
    ftm("jurisdiction", T::Country),
    ftm("mainCountry", T::Country),
    ftm("legalForm", T::String),
    ftm("incorporationDate", T::Date),
    ftm("dissolutionDate", T::Date),
    ftm("status", T::String),
    ftm("website", T::Url),
    ext("handle", T::String),
];

const PERSON: &[PropertyDef] = &[
    ftm("title", T::String),
    ftm("firstName", T::Name),
    ftm("secondName", T::Name),
    ftm("middleName", T::Name),
    ftm("fatherName", T::Name),
    ftm("motherName", T::Name),
    ftm("lastName", T::Name),
    ftm("nameSuffix", T::Name),
    ftm("birthDate", T::Date),
    ftm("birthPlace", T::String),
    ftm("birthCountry", T::Country),
    ftm("deathDate", T::Date),
    ftm("nationality", T::Country),
    ftm("citizenship", T::Country),
    ftm("gender", T::Gender),
    ftm("passportNumber", T::Identifier),
    ftm("ethnicity", T::String),
    ftm("position", T::String),
    ftm("religion", T::String),
    ext("streetNumber", T::String),
    ext("street", T::String),
    ext("street2", T::String),
    ext("suburb", T::String),
    ext("city", T::String),
    ext("postalCode", T::String),
    ext("state", T::String),
];

const IDENTIFICATION: &[PropertyDef] = &[
    ftm("holder", T::Entity),
    ftm("number", T::Identifier),
    ftm("type", T::String),
    ftm("authority", T::String),
    ftm("startDate", T::Date),
    ftm("endDate", T::Date),
];

const PASSPORT: &[PropertyDef] = &[
    ftm("surname", T::Name),
    ftm("givenName", T::Name),
    ftm("birthDate", T::Date),
    ftm("birthPlace", T::String),
    ftm("gender", T::Gender),
    ftm("personalNumber", T::Identifier),
    ext("mrz", T::Text),
];

const ADDRESS: &[PropertyDef] = &[
    ftm("full", T::Address),
    ftm("street", T::String),
    ftm("street2", T::String),
    ftm("city", T::String),
    ftm("postalCode", T::String),
    ftm("region", T::String),
    ftm("state", T::String),
    ftm("postOfficeBox", T::String),
    ftm("remarks", T::Text),
];

const BANK_ACCOUNT: &[PropertyDef] = &[
    ftm("bankName", T::String),
    ftm("accountNumber", T::Identifier),
    ftm("iban", T::Identifier),
    ftm("bic", T::Identifier),
    ftm("accountType", T::String),
    ftm("currency", T::String),
    ftm("balance", T::Number),
    ftm("openingDate", T::Date),
    ftm("closingDate", T::Date),
    ext("holder", T::Entity),
];

const INTERVAL: &[PropertyDef] = &[
    ftm("startDate", T::Date),
    ftm("endDate", T::Date),
    ftm("date", T::Date),
    ftm("summary", T::Text),
    ftm("description", T::Text),
    ftm("sourceUrl", T::Url),
    ftm("recordId", T::Identifier),
];

const PAYMENT: &[PropertyDef] = &[
    ftm("payer", T::Entity),
    ftm("beneficiary", T::Entity),
    ftm("payerAccount", T::Entity),
    ftm("beneficiaryAccount", T::Entity),
    ftm("amount", T::Number),
    ftm("currency", T::String),
    ftm("purpose", T::Text),
    ftm("transactionNumber", T::Identifier),
    ftm("programme", T::String),
    ext("channel", T::String),
];

const PHONE: &[PropertyDef] = &[
    ext("number", T::Phone),
    ext("owner", T::Entity),
    ext("carrier", T::String),
];

const EMAIL: &[PropertyDef] = &[ext("email", T::Email), ext("owner", T::Entity)];

const MOVEMENT: &[PropertyDef] = &[
    ext("person", T::Entity),
    ext("fromCountry", T::Country),
    ext("toCountry", T::Country),
    ext("fromPlace", T::String),
    ext("toPlace", T::String),
    ext("means", T::String),
    ext("borderPoint", T::String),
    ext("document", T::Entity),
];

const ADVERTISEMENT: &[PropertyDef] = &[
    ext("title", T::String),
    ext("bodyText", T::Text),
    ext("phone", T::Phone),
    ext("email", T::Email),
    ext("handle", T::String),
    ext("url", T::Url),
    ext("price", T::String),
    ext("currency", T::String),
    ext("city", T::String),
    ext("publishedAt", T::Date),
    ext("platform", T::String),
    ext("poster", T::Entity),
];

const CASE: &[PropertyDef] = &[
    ext("caseNumber", T::Identifier),
    ext("status", T::String),
    ext("agency", T::String),
    ext("offence", T::String),
    ext("openedAt", T::Date),
    ext("closedAt", T::Date),
];

const EVIDENCE: &[PropertyDef] = &[
    ext("case", T::Entity),
    ext("fileName", T::String),
    ext("fileSize", T::Number),
    ext("mimeType", T::String),
    ext("sha256", T::Identifier),
    ext("blake3", T::Identifier),
    ext("seizedAt", T::String),
    ext("seizedOn", T::Date),
    ext("seizedBy", T::String),
];

const MEMBERSHIP: &[PropertyDef] = &[
    ftm("member", T::Entity),
    ftm("organization", T::Entity),
    ftm("role", T::String),
    ftm("status", T::String),
];

const FAMILY: &[PropertyDef] = &[
    ftm("person", T::Entity),
    ftm("relative", T::Entity),
    ftm("relationship", T::String),
];

const ASSOCIATE: &[PropertyDef] = &[
    ftm("person", T::Entity),
    ftm("associate", T::Entity),
    ftm("relationship", T::String),
];

const OWNERSHIP: &[PropertyDef] = &[
    ftm("owner", T::Entity),
    ftm("asset", T::Entity),
    ftm("percentage", T::String),
    ftm("sharesCount", T::String),
    ftm("role", T::String),
];

const UNKNOWN_LINK: &[PropertyDef] = &[
    ftm("subject", T::Entity),
    ftm("object", T::Entity),
    ftm("role", T::String),
];

/// An entity schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Schema {
    /// A natural person.
    Person,
    /// An organisation, company or criminal group.
    Organization,
    /// A generic identity document.
    Identification,
    /// A passport.
    Passport,
    /// A postal address.
    Address,
    /// A bank or payment account.
    BankAccount,
    /// A transfer of money.
    Payment,
    /// A phone number as an entity (Palermo extension).
    Phone,
    /// An e-mail address as an entity (Palermo extension).
    Email,
    /// A trip or border crossing (Palermo extension).
    Movement,
    /// An online advertisement (Palermo extension).
    Advertisement,
    /// An investigation case (Palermo extension).
    Case,
    /// An evidence item (Palermo extension).
    Evidence,
    /// Membership of a person in an organisation.
    Membership,
    /// A family tie between two persons.
    Family,
    /// An association between two persons.
    Associate,
    /// Ownership of an asset.
    Ownership,
    /// A link of unknown nature.
    UnknownLink,
}

impl Schema {
    /// All schemas.
    pub const ALL: [Schema; 18] = [
        Schema::Person,
        Schema::Organization,
        Schema::Identification,
        Schema::Passport,
        Schema::Address,
        Schema::BankAccount,
        Schema::Payment,
        Schema::Phone,
        Schema::Email,
        Schema::Movement,
        Schema::Advertisement,
        Schema::Case,
        Schema::Evidence,
        Schema::Membership,
        Schema::Family,
        Schema::Associate,
        Schema::Ownership,
        Schema::UnknownLink,
    ];

    /// The schema name as written in files (`Person`, `BankAccount`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Schema::Person => "Person",
            Schema::Organization => "Organization",
            Schema::Identification => "Identification",
            Schema::Passport => "Passport",
            Schema::Address => "Address",
            Schema::BankAccount => "BankAccount",
            Schema::Payment => "Payment",
            Schema::Phone => "Phone",
            Schema::Email => "Email",
            Schema::Movement => "Movement",
            Schema::Advertisement => "Advertisement",
            Schema::Case => "Case",
            Schema::Evidence => "Evidence",
            Schema::Membership => "Membership",
            Schema::Family => "Family",
            Schema::Associate => "Associate",
            Schema::Ownership => "Ownership",
            Schema::UnknownLink => "UnknownLink",
        }
    }

    /// Whether FollowTheMoney itself defines this schema.
    pub fn is_ftm(self) -> bool {
        !matches!(
            self,
            Schema::Phone
                | Schema::Email
                | Schema::Movement
                | Schema::Advertisement
                | Schema::Case
                | Schema::Evidence
        )
    }

    /// Whether entities of this schema may carry a [`Role`](crate::Role).
    pub fn has_role(self) -> bool {
        matches!(self, Schema::Person | Schema::Organization)
    }

    /// The property groups of this schema, most general first.
    fn groups(self) -> &'static [&'static [PropertyDef]] {
        match self {
            Schema::Person => &[THING, LEGAL_ENTITY, PERSON],
            Schema::Organization => &[THING, LEGAL_ENTITY],
            Schema::Identification => &[THING, IDENTIFICATION],
            Schema::Passport => &[THING, IDENTIFICATION, PASSPORT],
            Schema::Address => &[THING, ADDRESS],
            Schema::BankAccount => &[THING, BANK_ACCOUNT],
            Schema::Payment => &[INTERVAL, PAYMENT],
            Schema::Phone => &[THING, PHONE],
            Schema::Email => &[THING, EMAIL],
            Schema::Movement => &[INTERVAL, MOVEMENT],
            Schema::Advertisement => &[THING, ADVERTISEMENT],
            Schema::Case => &[THING, CASE],
            Schema::Evidence => &[THING, EVIDENCE],
            Schema::Membership => &[INTERVAL, MEMBERSHIP],
            Schema::Family => &[INTERVAL, FAMILY],
            Schema::Associate => &[INTERVAL, ASSOCIATE],
            Schema::Ownership => &[INTERVAL, OWNERSHIP],
            Schema::UnknownLink => &[INTERVAL, UNKNOWN_LINK],
        }
    }

    /// Every property of this schema.
    pub fn properties(self) -> impl Iterator<Item = &'static PropertyDef> {
        let ftm_schema = self.is_ftm();
        self.groups()
            .iter()
            .flat_map(|group| group.iter())
            .map(move |def| {
                // A property of a Palermo-only schema is never an FtM property.
                if ftm_schema { def } else { ext_ref(def) }
            })
    }

    /// Looks up a property by name.
    pub fn property(self, name: &str) -> Option<&'static PropertyDef> {
        self.properties().find(|def| def.name == name)
    }
}

/// Returns `def` unchanged when it is already an extension, otherwise its
/// extension twin from [`EXT_TWINS`], so Palermo-only schemas never claim FtM properties.
fn ext_ref(def: &'static PropertyDef) -> &'static PropertyDef {
    if !def.ftm {
        return def;
    }
    EXT_TWINS
        .iter()
        .find(|twin| twin.name == def.name && twin.kind == def.kind)
        .unwrap_or(def)
}

/// Extension twins of the shared property groups used by Palermo-only schemas.
const EXT_TWINS: &[PropertyDef] = &[
    ext("name", T::Name),
    ext("alias", T::Name),
    ext("weakAlias", T::Name),
    ext("previousName", T::Name),
    ext("notes", T::Text),
    ext("summary", T::Text),
    ext("description", T::Text),
    ext("country", T::Country),
    ext("sourceUrl", T::Url),
    ext("address", T::Address),
    ext("addressEntity", T::Entity),
    ext("keywords", T::String),
    ext("startDate", T::Date),
    ext("endDate", T::Date),
    ext("date", T::Date),
    ext("recordId", T::Identifier),
];

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Schema {
    type Err = Error;

    /// Parses a schema name, case-insensitively.
    fn from_str(name: &str) -> Result<Schema, Error> {
        let trimmed = name.trim();
        Schema::ALL
            .into_iter()
            .find(|schema| schema.as_str().eq_ignore_ascii_case(trimmed))
            .ok_or_else(|| Error::UnknownSchema {
                name: name.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_schema_names() {
        assert_eq!("person".parse::<Schema>().unwrap(), Schema::Person);
        assert_eq!(
            "BankAccount".parse::<Schema>().unwrap(),
            Schema::BankAccount
        );
        assert!("Persn".parse::<Schema>().is_err());
        for schema in Schema::ALL {
            assert_eq!(schema.as_str().parse::<Schema>().unwrap(), schema);
        }
    }

    #[test]
    fn properties_are_unique_per_schema() {
        for schema in Schema::ALL {
            let names: Vec<_> = schema.properties().map(|def| def.name).collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(names.len(), sorted.len(), "{schema} repeats a property");
        }
    }

    #[test]
    fn ftm_flags_follow_the_schema() {
        assert!(Schema::Person.property("firstName").unwrap().ftm);
        assert!(!Schema::Person.property("city").unwrap().ftm);
        assert!(!Schema::Movement.property("date").unwrap().ftm);
        assert!(!Schema::Advertisement.property("name").unwrap().ftm);
        assert!(Schema::Passport.property("number").unwrap().ftm);
        assert!(Schema::Person.property("holder").is_none());
    }
}
