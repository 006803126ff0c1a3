//! Record emission: how one agency writes a person, a passport, a phone, an
//! account, a payment, a movement, an ad or a case into its view, and the
//! matching row of `truth/records.csv`.

use palermo_model::{Entity, EntityId, Markings, Originator, Purpose, Role, Schema, Tlp};
use time::Date;

use crate::country::Script;
use crate::ids::{self, MrzData};
use crate::names::{self, NameKey};
use crate::noise;
use crate::out::{self, Out};
use crate::rng::{Rng, mix};
use crate::world::{DocKind, Person, World};

/// Record kinds, part of the (opaque) record id.
pub(crate) mod kind {
    pub(crate) const PERSON: u64 = 1;
    pub(crate) const PASSPORT: u64 = 2;
    pub(crate) const PHONE: u64 = 3;
    pub(crate) const ACCOUNT: u64 = 4;
    pub(crate) const PAYMENT: u64 = 5;
    pub(crate) const MOVEMENT: u64 = 6;
    pub(crate) const AD: u64 = 7;
    pub(crate) const CASE: u64 = 8;
    pub(crate) const LINK: u64 = 9;
    pub(crate) const ORG: u64 = 10;
    pub(crate) const FRONT: u64 = 11;
    pub(crate) const FRONT_ACCOUNT: u64 = 12;
    pub(crate) const MEMBERSHIP: u64 = 13;
}

/// A travel document as it exists in the true world.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    pub(crate) true_id: String,
    pub(crate) kind: DocKind,
    /// The identity printed on it.
    pub(crate) name: NameKey,
    pub(crate) birth: Date,
    pub(crate) number: String,
    pub(crate) issuer: usize,
    pub(crate) expiry: Date,
    pub(crate) mrz: [String; 2],
}

impl Document {
    /// Builds a document with the identity `name`/`birth`; crude forgeries get a wrong check digit.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        world: &World,
        true_id: String,
        kind: DocKind,
        name: NameKey,
        birth: Date,
        number: String,
        issuer: usize,
        expiry: Date,
    ) -> Document {
        let written = names::for_mrz(&name);
        let profile = world.countries[issuer];
        let data = MrzData {
            issuer: profile.icao,
            surname: written.full_surname(),
            given: written.given.clone(),
            number: number.clone(),
            nationality: profile.icao,
            birth: noise::yymmdd(birth),
            sex: if name.female { 'F' } else { 'M' },
            expiry: noise::yymmdd(expiry),
        };
        let mut mrz = ids::td3(&data);
        if kind == DocKind::CrudeForgery {
            // The forger changed the expiry date without recomputing its check digit.
            let mut line: Vec<char> = mrz[1].chars().collect();
            line[27] = char::from(b'0' + (line[27].to_digit(10).unwrap_or(0) as u8 + 1) % 10);
            mrz[1] = line.into_iter().collect();
        }
        Document {
            true_id,
            kind,
            name,
            birth,
            number,
            issuer,
            expiry,
            mrz,
        }
    }

    /// The row of `truth/documents.csv`.
    pub(crate) fn truth_row(&self, world: &World, bearer: &str, identity_of: &str) -> Vec<String> {
        let written = names::for_mrz(&self.name);
        vec![
            self.true_id.clone(),
            self.kind.as_str().to_owned(),
            bearer.to_owned(),
            identity_of.to_owned(),
            world.countries[self.issuer].code.to_owned(),
            self.number.clone(),
            written.full_surname(),
            written.given,
            noise::iso(self.birth),
            self.mrz[0].clone(),
            self.mrz[1].clone(),
            if ids::td3_line2_valid(&self.mrz[1]) {
                "true"
            } else {
                "false"
            }
            .to_owned(),
        ]
    }
}

/// How one person record is written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PersonRecord<'a> {
    /// Distinguishes several records of the same person in one view.
    pub(crate) copy: u64,
    pub(crate) role: Option<Role>,
    pub(crate) source: &'static str,
    pub(crate) related: bool,
    /// The identity written (the true one, an alias, or a document's).
    pub(crate) name: &'a NameKey,
    pub(crate) birth: Date,
    pub(crate) passport: Option<&'a str>,
    /// Border records copy the name from the document in upper case.
    pub(crate) from_document: bool,
}

/// Emits records for one unit of work.
pub(crate) struct Emitter<'w> {
    pub(crate) world: &'w World,
    pub(crate) out: Out,
}

impl<'w> Emitter<'w> {
    pub(crate) fn new(world: &'w World) -> Emitter<'w> {
        Emitter {
            world,
            out: Out::new(world.countries.len()),
        }
    }

    /// The opaque record id of (kind, index, copy) in country `c`: unique,
    /// stable, and revealing nothing about the true entity.
    pub(crate) fn rid(&self, c: usize, kind: u64, index: u64, copy: u64) -> String {
        let salt = mix(self.world.seed ^ mix(0xA6E7_C1D0 + c as u64));
        let key = (kind << 56) | ((copy & 0xFF) << 48) | (index & 0xFFFF_FFFF_FFFF);
        format!("{}-{:016x}", self.world.countries[c].code, mix(salt ^ key))
    }

    /// A bank reference for a true payment: the same in every view, opaque.
    pub(crate) fn reference(&self, true_id: &str) -> String {
        let hash = true_id.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
        });
        format!(
            "TX{:014}",
            mix(self.world.seed ^ hash) % 100_000_000_000_000
        )
    }

    /// Markings as agency `c` sets them.
    pub(crate) fn markings(&self, c: usize, tlp: Tlp, purpose: Option<&str>, on: Date) -> Markings {
        let profile = self.world.countries[c];
        Markings {
            tlp,
            purpose: purpose.map(|p| {
                if p.starts_with(profile.code) {
                    Purpose::Case(p.to_owned())
                } else {
                    Purpose::Text(p.to_owned())
                }
            }),
            retain_until: on.replace_year(on.year() + 5).ok(),
            originator: Some(Originator {
                node: format!("{}-node", profile.code.to_lowercase()),
                agency: profile.short.to_owned(),
            }),
            onward_sharing: false,
            handling: None,
        }
    }

    fn truth_record(
        &mut self,
        c: usize,
        rid: &str,
        schema: &str,
        true_id: &str,
        related: bool,
        source: &str,
    ) {
        let code = self.world.countries[c].code;
        self.out.truth(
            out::RECORDS,
            [
                code,
                rid,
                schema,
                true_id,
                if related { "1" } else { "0" },
                source,
            ],
        );
    }

    /// Writes the truth row of bank account `true_id` of `owner` (a person's
    /// or a front business's truth id), held in country `c`: the number goes
    /// in the IBAN column when it has `c`'s IBAN prefix, else in the domestic one.
    pub(crate) fn truth_account(
        &mut self,
        true_id: &str,
        owner: &str,
        c: usize,
        account: &(String, &str),
    ) {
        let (number, bank) = (account.0.as_str(), account.1);
        let code = self.world.countries[c].code;
        let (iban, domestic, valid) = if number.starts_with(code) {
            (number, "", ids::iban_valid(number).to_string())
        } else {
            ("", number, String::new())
        };
        self.out.truth(
            out::ACCOUNTS,
            [true_id, owner, code, bank, iban, domestic, valid.as_str()],
        );
    }

    /// Emits an entity of `schema` with `props` into country `c`'s view.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn entity(
        &mut self,
        c: usize,
        rid: &str,
        schema: Schema,
        props: &[(&str, &str)],
        markings: Markings,
        role: Option<Role>,
        true_id: &str,
        related: bool,
        source: &str,
    ) {
        let mut entity = Entity::new(
            EntityId::new(rid).expect("invariant: record ids are valid"),
            schema,
        );
        for (name, value) in props {
            // Values are generated valid for their schema; a failure is a bug in the generator.
            entity
                .add(name, value)
                .expect("invariant: generated values are valid");
        }
        entity.markings = markings;
        if let Some(role) = role {
            let _ = entity.set_role(role);
        }
        self.out.entity(c, &entity, related);
        self.truth_record(c, rid, schema.as_str(), true_id, related, source);
    }

    /// Writes one person record into country `c`'s `persons.csv`; returns its id.
    pub(crate) fn person(
        &mut self,
        c: usize,
        rng: &mut Rng,
        person: &Person,
        rec: PersonRecord<'_>,
    ) -> String {
        let rid = self.rid(c, kind::PERSON, person.idx, rec.copy);
        self.person_as(c, rng, person, rec, &rid)
    }

    /// Writes one person record under the given record id; returns the id.
    pub(crate) fn person_as(
        &mut self,
        c: usize,
        rng: &mut Rng,
        person: &Person,
        rec: PersonRecord<'_>,
        rid: &str,
    ) -> String {
        let world = self.world;
        let profile = world.countries[c];
        let rid = rid.to_owned();
        let mut written = if rec.from_document {
            names::for_mrz(rec.name)
        } else {
            names::for_agency(rec.name, profile, rng.chance(0.12))
        };
        if rng.chance(0.1) {
            written.given = noise::typo(rng, &written.given);
        }
        if rng.chance(0.1) {
            written.surname = noise::typo(rng, &written.surname);
        }
        if !written.particle.is_empty() && rng.chance(0.4) {
            written.particle.clear();
        }
        if profile.script != Script::Cyrillic || rng.chance(0.3) {
            written.patronymic.clear();
        }
        let (mut first, mut last) = (written.given.clone(), written.full_surname());
        if rec.from_document {
            first = first.to_uppercase();
            last = last.to_uppercase();
        }
        let mut full = String::new();
        match rng.below(100) {
            0..=13 => {
                full = if rec.from_document {
                    format!("{last} {first}")
                } else {
                    written.full()
                };
                first.clear();
                last.clear();
            }
            14..=19 => std::mem::swap(&mut first, &mut last),
            _ => {}
        }
        let birth = noise::birth_date(rng, rec.birth);
        let gender = match rng.below(10) {
            0..=4 => {
                if rec.name.female {
                    "female"
                } else {
                    "male"
                }
            }
            5..=8 => {
                if rec.name.female {
                    "F"
                } else {
                    "M"
                }
            }
            _ => "",
        };
        let nationality = if rng.chance(0.8) {
            world.countries[person.home].code
        } else {
            ""
        };
        let phone = if rng.chance(0.3) {
            let e164 = &person.phones[0];
            let style = if person.home == c {
                rng.below(4)
            } else {
                rng.below(2)
            };
            ids::write_phone(e164, world.countries[person.home], style)
        } else {
            String::new()
        };
        let email = person
            .email
            .as_deref()
            .filter(|_| rng.chance(0.3))
            .unwrap_or("");
        let city = if rng.chance(0.6) && person.home == c {
            person.city
        } else {
            ""
        };
        let country = if rng.chance(0.5) {
            world.countries[person.home].code
        } else {
            ""
        };
        let passport = rec.passport.filter(|_| rng.chance(0.9)).unwrap_or("");
        let tlp = match rec.role {
            Some(Role::Victim) => Tlp::Red,
            _ => Tlp::Amber,
        };
        let row = [
            rid.as_str(),
            &first,
            &last,
            &written.patronymic,
            &full,
            &birth,
            gender,
            nationality,
            passport,
            &phone,
            email,
            city,
            country,
            rec.role.map_or("", Role::as_str),
            tlp.as_str(),
        ];
        self.out.person(c, &row, rec.related);
        self.truth_record(
            c,
            &rid,
            "Person",
            &person.true_id(),
            rec.related,
            rec.source,
        );
        rid
    }

    /// Emits a passport record held by `holder` (a record id) in country `c`; returns its id.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn passport(
        &mut self,
        c: usize,
        doc: &Document,
        holder: &str,
        index: u64,
        copy: u64,
        related: bool,
        on: Date,
    ) -> String {
        let rid = self.rid(c, kind::PASSPORT, index, copy);
        let written = names::for_mrz(&doc.name);
        let surname = written.full_surname().to_uppercase();
        let given = written.given.to_uppercase();
        let birth = noise::iso(doc.birth);
        let expiry = noise::iso(doc.expiry);
        let mrz = format!("{}\n{}", doc.mrz[0], doc.mrz[1]);
        let issuer = self.world.countries[doc.issuer];
        let props = [
            ("number", doc.number.as_str()),
            ("surname", &surname),
            ("givenName", &given),
            ("birthDate", &birth),
            ("gender", if doc.name.female { "female" } else { "male" }),
            ("country", issuer.code),
            ("authority", issuer.icao),
            ("type", "passport"),
            ("endDate", &expiry),
            ("holder", holder),
            ("mrz", &mrz),
        ];
        let markings = self.markings(c, Tlp::Amber, Some("border control"), on);
        self.entity(
            c,
            &rid,
            Schema::Passport,
            &props,
            markings,
            None,
            &doc.true_id,
            related,
            "border",
        );
        rid
    }

    /// Emits a border crossing of `person_rid` from country `from` to `to`, recorded by `c`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn movement(
        &mut self,
        c: usize,
        rng: &mut Rng,
        person_rid: &str,
        doc_rid: &str,
        from: usize,
        to: usize,
        means: &str,
        on: Date,
        index: u64,
        copy: u64,
        true_id: &str,
        related: bool,
    ) {
        let world = self.world;
        let rid = self.rid(c, kind::MOVEMENT, index, copy);
        let (pf, pt) = (world.countries[from], world.countries[to]);
        let (from_place, to_place, border) = if means == "flight" {
            let (a, b) = (*rng.pick(pf.airports), *rng.pick(pt.airports));
            (a, b, if c == from { a } else { b })
        } else {
            let point = if c == from {
                *rng.pick(pf.land_borders)
            } else {
                *rng.pick(pt.land_borders)
            };
            (*rng.pick(pf.cities), *rng.pick(pt.cities), point)
        };
        let date = noise::iso(on);
        let props = [
            ("person", person_rid),
            ("document", doc_rid),
            ("fromCountry", pf.code),
            ("toCountry", pt.code),
            ("fromPlace", from_place),
            ("toPlace", to_place),
            ("means", means),
            ("borderPoint", border),
            ("date", &date),
        ];
        let markings = self.markings(c, Tlp::Amber, Some("border control"), on);
        let source = if c == from {
            "border_exit"
        } else {
            "border_entry"
        };
        self.entity(
            c,
            &rid,
            Schema::Movement,
            &props,
            markings,
            None,
            true_id,
            related,
            source,
        );
    }

    /// Emits a phone record owned by `owner_rid`; the number is written in a local or international style.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn phone(
        &mut self,
        c: usize,
        rng: &mut Rng,
        e164: &str,
        home: usize,
        owner_rid: &str,
        index: u64,
        copy: u64,
        true_id: &str,
        related: bool,
        tlp: Tlp,
        purpose: Option<&str>,
        on: Date,
    ) {
        let world = self.world;
        let rid = self.rid(c, kind::PHONE, index, copy);
        let style = if home == c {
            rng.below(4)
        } else {
            rng.below(2)
        };
        let number = ids::write_phone(e164, world.countries[home], style);
        let props = [
            ("number", number.as_str()),
            ("owner", owner_rid),
            ("country", world.countries[home].code),
        ];
        let markings = self.markings(c, tlp, purpose, on);
        self.entity(
            c,
            &rid,
            Schema::Phone,
            &props,
            markings,
            None,
            true_id,
            related,
            "investigation",
        );
    }

    /// Emits a bank account record.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn account(
        &mut self,
        c: usize,
        rid: &str,
        account: &(String, &'static str),
        home: usize,
        holder_rid: Option<&str>,
        true_id: &str,
        related: bool,
        on: Date,
    ) {
        let profile = self.world.countries[home];
        let number_prop = if account.0.len() > 2 && account.0[..2] == *profile.code {
            "iban"
        } else {
            "accountNumber"
        };
        let mut props = vec![
            (number_prop, account.0.as_str()),
            ("bankName", account.1),
            ("currency", profile.currency),
            ("country", profile.code),
        ];
        if let Some(holder) = holder_rid {
            props.push(("holder", holder));
        }
        let markings = self.markings(c, Tlp::Amber, Some("financial intelligence"), on);
        self.entity(
            c,
            rid,
            Schema::BankAccount,
            &props,
            markings,
            None,
            true_id,
            related,
            "fiu",
        );
    }

    /// Emits a payment between two account records of view `c`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn payment(
        &mut self,
        c: usize,
        rid: &str,
        from_rid: Option<&str>,
        to_rid: &str,
        amount: u64,
        currency: &str,
        on: Date,
        purpose: &str,
        channel: &str,
        true_id: &str,
        related: bool,
    ) {
        let amount = format!("{amount}.00");
        let date = noise::iso(on);
        // Both banks of a cross-border payment quote the same reference.
        let reference = self.reference(true_id);
        let mut props = vec![
            ("beneficiaryAccount", to_rid),
            ("amount", amount.as_str()),
            ("currency", currency),
            ("date", &date),
            ("purpose", purpose),
            ("channel", channel),
            ("transactionNumber", &reference),
        ];
        if let Some(from) = from_rid {
            props.push(("payerAccount", from));
        }
        let markings = self.markings(c, Tlp::Amber, Some("financial intelligence"), on);
        self.entity(
            c,
            rid,
            Schema::Payment,
            &props,
            markings,
            None,
            true_id,
            related,
            "fiu",
        );
    }
}
