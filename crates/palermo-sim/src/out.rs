//! In-memory output of one unit of work (a chunk of persons or one
//! organisation): the rows each country's view and each truth file gets.
//!
//! Units are generated in parallel and their outputs appended to the files
//! in unit order, so the files do not depend on thread scheduling.

use std::collections::BTreeMap;

use palermo_model::{Entity, Markings, Purpose};

/// The columns of `<CC>/persons.csv`.
pub(crate) const PERSON_COLUMNS: [&str; 15] = [
    "id",
    "first_name",
    "last_name",
    "fatherName",
    "name",
    "date_of_birth",
    "gender",
    "nationality",
    "passport_number",
    "phone",
    "email",
    "city",
    "country",
    "role",
    "tlp",
];

/// A truth file: its name under `truth/` and its header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TruthFile {
    pub(crate) name: &'static str,
    pub(crate) columns: &'static [&'static str],
}

/// `truth/records.csv`: every record of every country and its true entity.
pub(crate) const RECORDS: usize = 0;
/// `truth/persons.csv`: every true person.
pub(crate) const PERSONS: usize = 1;
/// `truth/documents.csv`: every passport that appears in a view.
pub(crate) const DOCUMENTS: usize = 2;
/// `truth/accounts.csv`: every bank account that appears in a view.
pub(crate) const ACCOUNTS: usize = 3;
/// `truth/phones.csv`: every phone number that appears in a view.
pub(crate) const PHONES: usize = 4;
/// `truth/ads.csv`: every advertisement and the template it was written from.
pub(crate) const ADS: usize = 5;
/// `truth/organisations.csv`: criminal organisations and their front businesses.
pub(crate) const ORGS: usize = 6;
/// `truth/memberships.csv`: who belongs to which organisation in which role.
pub(crate) const MEMBERSHIPS: usize = 7;
/// `truth/ad_templates.csv`: the templates ads were written from.
pub(crate) const TEMPLATES: usize = 8;
/// `truth/laundering.csv`: every payment of every laundering chain, in order.
pub(crate) const LAUNDERING: usize = 9;
/// `truth/routes.csv`: each organisation's corridors and their disruption.
pub(crate) const ROUTES: usize = 10;

/// All truth files, indexed by the constants above.
pub(crate) const TRUTH_FILES: [TruthFile; 11] = [
    TruthFile {
        name: "records.csv",
        columns: &[
            "country",
            "record_id",
            "schema",
            "true_id",
            "related",
            "source",
        ],
    },
    TruthFile {
        name: "persons.csv",
        columns: &[
            "true_id",
            "home",
            "nationality",
            "culture",
            "gender",
            "birth_date",
            "native_name",
            "latin_name",
            "status",
            "orgs",
            "exploitation",
            "child",
            "recruitment",
            "recruited_by",
            "aliases",
        ],
    },
    TruthFile {
        name: "documents.csv",
        columns: &[
            "true_id",
            "kind",
            "bearer",
            "identity_of",
            "issuer",
            "number",
            "surname",
            "given_name",
            "birth_date",
            "mrz1",
            "mrz2",
            "check_digits_valid",
        ],
    },
    TruthFile {
        name: "accounts.csv",
        columns: &[
            "true_id",
            "holder",
            "country",
            "bank",
            "iban",
            "account_number",
            "iban_valid",
        ],
    },
    TruthFile {
        name: "phones.csv",
        columns: &["true_id", "owner", "country", "e164"],
    },
    TruthFile {
        name: "ads.csv",
        columns: &["true_id", "template_id", "org_id", "kind", "country"],
    },
    TruthFile {
        name: "organisations.csv",
        columns: &[
            "org_id",
            "kind",
            "name",
            "countries",
            "size",
            "victims",
            "exploitation",
            "connected_to",
            "front_of",
        ],
    },
    TruthFile {
        name: "memberships.csv",
        columns: &["true_id", "org_id", "role", "home"],
    },
    TruthFile {
        name: "ad_templates.csv",
        columns: &["template_id", "org_id", "kind", "text"],
    },
    TruthFile {
        name: "laundering.csv",
        columns: &[
            "chain_id",
            "org_id",
            "pattern",
            "step",
            "payment_id",
            "from_account",
            "to_account",
            "amount",
            "currency",
            "date",
        ],
    },
    TruthFile {
        name: "routes.csv",
        columns: &[
            "org_id",
            "route",
            "countries",
            "means",
            "active_from",
            "active_to",
            "disrupted_on",
        ],
    },
];

/// A finished view part: `persons.csv` bytes, `entities.jsonl` bytes, counts per schema.
pub(crate) type ViewParts = (Vec<u8>, Vec<u8>, BTreeMap<&'static str, [u64; 2]>);

/// One country's part of an output unit.
#[derive(Debug)]
pub(crate) struct ViewOut {
    pub(crate) persons: csv::Writer<Vec<u8>>,
    pub(crate) entities: Vec<u8>,
    /// Records per schema: total and related to trafficking.
    pub(crate) counts: BTreeMap<&'static str, [u64; 2]>,
}

/// The output of one unit of work.
#[derive(Debug)]
pub(crate) struct Out {
    pub(crate) views: Vec<ViewOut>,
    pub(crate) truth: Vec<csv::Writer<Vec<u8>>>,
}

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new())
}

impl Out {
    pub(crate) fn new(n_countries: usize) -> Out {
        Out {
            views: (0..n_countries)
                .map(|_| ViewOut {
                    persons: writer(),
                    entities: Vec::new(),
                    counts: BTreeMap::new(),
                })
                .collect(),
            truth: TRUTH_FILES.iter().map(|_| writer()).collect(),
        }
    }

    /// Appends a row to a truth file.
    pub(crate) fn truth<I, T>(&mut self, file: usize, row: I)
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        // Writing into a Vec cannot fail.
        let _ = self.truth[file].write_record(row);
    }

    /// Appends an entity to a country's `entities.jsonl`.
    pub(crate) fn entity(&mut self, country: usize, entity: &Entity, related: bool) {
        let view = &mut self.views[country];
        write_ftm(&mut view.entities, entity);
        view.entities.push(b'\n');
        let count = view.counts.entry(entity.schema.as_str()).or_default();
        count[0] += 1;
        count[1] += u64::from(related);
    }

    /// Appends a row to a country's `persons.csv`.
    pub(crate) fn person(&mut self, country: usize, row: &[&str; 15], related: bool) {
        let view = &mut self.views[country];
        let _ = view.persons.write_record(row);
        let count = view.counts.entry("Person").or_default();
        count[0] += 1;
        count[1] += u64::from(related);
    }

    /// Consumes the unit: per-country (persons, entities, counts), then truth buffers.
    pub(crate) fn into_parts(self) -> (Vec<ViewParts>, Vec<Vec<u8>>) {
        let views = self
            .views
            .into_iter()
            .map(|v| {
                (
                    v.persons.into_inner().unwrap_or_default(),
                    v.entities,
                    v.counts,
                )
            })
            .collect();
        let truth = self
            .truth
            .into_iter()
            .map(|w| w.into_inner().unwrap_or_default())
            .collect();
        (views, truth)
    }
}

/// Writes `entity` as one line of FtM JSON, byte-identical to
/// [`palermo_model::to_ftm_json`] (sorted keys, FtM properties under
/// `properties`, Palermo's under `palermo.properties`) without building a
/// `serde_json::Value` tree first: that tree was 40% of the generation time.
/// The integration tests check the equality on every generated line.
pub(crate) fn write_ftm(buf: &mut Vec<u8>, entity: &Entity) {
    buf.extend_from_slice(b"{\"id\":");
    string(buf, entity.id.as_str());
    buf.extend_from_slice(b",\"palermo\":{\"markings\":");
    markings(buf, &entity.markings);
    let is_ftm = |name: &str| entity.schema.property(name).is_some_and(|def| def.ftm);
    if entity.properties.keys().any(|k| !is_ftm(k)) {
        buf.extend_from_slice(b",\"properties\":");
        properties(buf, entity, |k| !is_ftm(k));
    }
    if let Some(role) = entity.role {
        buf.extend_from_slice(b",\"role\":");
        string(buf, role.as_str());
    }
    buf.extend_from_slice(b"},\"properties\":");
    properties(buf, entity, is_ftm);
    buf.extend_from_slice(b",\"schema\":");
    string(buf, entity.schema.as_str());
    buf.push(b'}');
}

fn string(buf: &mut Vec<u8>, text: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *buf, text);
}

fn properties(buf: &mut Vec<u8>, entity: &Entity, keep: impl Fn(&str) -> bool) {
    buf.push(b'{');
    let mut first = true;
    for (name, values) in entity.properties.iter().filter(|(k, _)| keep(k)) {
        if !first {
            buf.push(b',');
        }
        first = false;
        string(buf, name);
        buf.extend_from_slice(b":[");
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            string(buf, value);
        }
        buf.push(b']');
    }
    buf.push(b'}');
}

fn markings(buf: &mut Vec<u8>, m: &Markings) {
    buf.push(b'{');
    if let Some(handling) = &m.handling {
        buf.extend_from_slice(b"\"handling\":");
        let _ = serde_json::to_writer(&mut *buf, handling);
        buf.push(b',');
    }
    buf.extend_from_slice(if m.onward_sharing {
        b"\"onward_sharing\":true"
    } else {
        b"\"onward_sharing\":false"
    });
    if let Some(o) = &m.originator {
        buf.extend_from_slice(b",\"originator\":{\"agency\":");
        string(buf, &o.agency);
        buf.extend_from_slice(b",\"node\":");
        string(buf, &o.node);
        buf.push(b'}');
    }
    if let Some(purpose) = &m.purpose {
        let (tag, text) = match purpose {
            Purpose::Case(id) => ("case", id),
            Purpose::Text(text) => ("text", text),
        };
        buf.extend_from_slice(b",\"purpose\":{");
        string(buf, tag);
        buf.push(b':');
        string(buf, text);
        buf.push(b'}');
    }
    if let Some(date) = m.retain_until {
        buf.extend_from_slice(
            format!(
                ",\"retain_until\":\"{:04}-{:02}-{:02}\"",
                date.year(),
                u8::from(date.month()),
                date.day()
            )
            .as_bytes(),
        );
    }
    buf.extend_from_slice(b",\"tlp\":");
    string(buf, m.tlp.as_str());
    buf.push(b'}');
}

#[cfg(test)]
mod tests {
    use palermo_model::{EntityId, HandlingCode, Originator, Role, Schema, Tlp, to_ftm_json};

    use super::*;

    fn check(entity: &Entity) {
        let mut buf = Vec::new();
        write_ftm(&mut buf, entity);
        assert_eq!(String::from_utf8(buf).unwrap(), to_ftm_json(entity));
    }

    #[test]
    fn writes_the_same_bytes_as_the_model() {
        let mut person = Entity::new(EntityId::new("p\"1").unwrap(), Schema::Organization);
        check(&person);
        person.add("name", "Golden \"Lotus\" Spa\u{e9}").unwrap();
        person.add("country", "NL").unwrap();
        person.add("handle", "@lotus").unwrap();
        person.set_role(Role::Suspect).unwrap();
        person.markings.tlp = Tlp::AmberStrict;
        person.markings.handling = Some(HandlingCode::H2);
        person.markings.purpose = Some(Purpose::Case("NL-2024-0101".into()));
        person.markings.retain_until = Some(Markings::parse_retain_until("2031-01-02").unwrap());
        person.markings.originator = Some(Originator {
            node: "nl-node".into(),
            agency: "Politie EMM".into(),
        });
        check(&person);
        let mut ad = Entity::new(EntityId::new("a1").unwrap(), Schema::Advertisement);
        ad.add("bodyText", "line one\nline two \u{1F48B}").unwrap();
        ad.add("phone", "+31612345678").unwrap();
        ad.markings.purpose = Some(Purpose::Text("ad monitoring".into()));
        ad.markings.onward_sharing = true;
        check(&ad);
    }
}
