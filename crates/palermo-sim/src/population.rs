//! The person pass: every person's truth row and the records each agency
//! holds about them (registers, border crossings, phones, accounts,
//! ordinary payments and ads; for victims and offenders also victim
//! services, missing-person reports and case files).

use std::ops::Range;

use palermo_model::{Role, Schema, Tlp};
use time::Date;

use crate::emit::{Document, Emitter, PersonRecord, kind};
use crate::names;
use crate::noise;
use crate::out::{self, Out};
use crate::rng::Rng;
use crate::text;
use crate::world::{DocKind, Involvement, Person, Recruitment, SPAN_DAYS, World, day, stream};

/// Generates persons `range` into one output unit.
pub(crate) fn chunk(world: &World, range: Range<u64>) -> Out {
    let mut em = Emitter::new(world);
    for idx in range {
        let person = world.person(idx);
        let mut rng = Rng::derive(world.seed, stream::RECORDS, idx);
        match world.involved.get(&idx) {
            None => background(&mut em, &mut rng, &person),
            Some(inv) if inv.victim.is_some() => victim(&mut em, &mut rng, &person, inv),
            Some(inv) => offender(&mut em, &mut rng, &person, inv),
        }
    }
    em.out
}

fn truth_person(
    em: &mut Emitter<'_>,
    person: &Person,
    status: &str,
    inv: Option<&Involvement>,
    aliases: &str,
) {
    let world = em.world;
    let native = names::native(&person.name).full();
    let latin = names::for_mrz(&person.name).full();
    let orgs = inv
        .map(|i| {
            i.memberships
                .iter()
                .map(|(o, r)| format!("O{o}:{}", r.as_str()))
                .collect::<Vec<_>>()
                .join(";")
        })
        .unwrap_or_default();
    let victim = inv.and_then(|i| i.victim.as_ref());
    let code = world.countries[person.home].code;
    em.out.truth(
        out::PERSONS,
        [
            person.true_id().as_str(),
            code,
            code,
            person.name.culture.as_str(),
            if person.name.female { "female" } else { "male" },
            &noise::iso(person.birth),
            &native,
            &latin,
            status,
            &victim.map(|v| format!("O{}", v.org)).unwrap_or(orgs),
            victim.map_or("", |v| v.exploitation.as_str()),
            victim.map_or("", |v| if v.child { "true" } else { "false" }),
            victim.map_or("", |v| v.recruitment.as_str()),
            &victim
                .map(|v| format!("P{}", v.recruiter))
                .unwrap_or_default(),
            aliases,
        ],
    );
}

fn truth_phone(em: &mut Emitter<'_>, person: &Person, k: usize) -> String {
    let true_id = format!("T{}-{k}", person.idx);
    let code = em.world.countries[person.home].code;
    em.out.truth(
        out::PHONES,
        [true_id.as_str(), &person.true_id(), code, &person.phones[k]],
    );
    true_id
}

fn own_document(world: &World, person: &Person) -> Document {
    Document::new(
        world,
        format!("D{}", person.idx),
        DocKind::Genuine,
        person.name,
        person.birth,
        person.passport.clone(),
        person.home,
        person.passport_expiry,
    )
}

fn record<'a>(
    copy: u64,
    role: Option<Role>,
    source: &'static str,
    related: bool,
    person: &'a Person,
) -> PersonRecord<'a> {
    PersonRecord {
        copy,
        role,
        source,
        related,
        name: &person.name,
        birth: person.birth,
        passport: None,
        from_document: false,
    }
}

fn background(em: &mut Emitter<'_>, rng: &mut Rng, person: &Person) {
    let world = em.world;
    let vis = world.visibility(person.idx);
    let home = person.home;
    let profile = world.countries[home];
    truth_person(em, person, "background", None, "");
    let on = day(rng.below(SPAN_DAYS as u64) as i32);
    let mut home_rid = None;
    for copy in 0..u64::from(vis.home_records) {
        let role = if vis.other_case && copy == 0 {
            Some(Role::Suspect)
        } else {
            [None, Some(Role::Witness), Some(Role::Other)][rng.weighted(&[70, 10, 20])]
        };
        let source = if role == Some(Role::Suspect) {
            "case"
        } else {
            "register"
        };
        let mut rec = record(copy, role, source, false, person);
        rec.passport = rng.chance(0.3).then_some(person.passport.as_str());
        let rid = em.person(home, rng, person, rec);
        home_rid.get_or_insert(rid);
    }
    let Some(holder) = home_rid else {
        return trip_and_ad(em, rng, person, &vis, None);
    };
    if vis.phone {
        let true_id = truth_phone(em, person, 0);
        em.phone(
            home,
            rng,
            &person.phones[0],
            home,
            &holder,
            person.idx << 4,
            0,
            &true_id,
            false,
            Tlp::Amber,
            Some("investigation"),
            on,
        );
    }
    if vis.other_case {
        let case_rid = em.rid(home, kind::CASE, person.idx, 1);
        let case_no = format!(
            "{}-{}-B{:06}",
            profile.code,
            on.year(),
            person.idx % 1_000_000
        );
        let offence = *rng.pick(&["theft", "fraud", "assault", "drug possession", "burglary"]);
        let opened = noise::iso(on);
        let markings = em.markings(home, Tlp::Amber, Some(&case_no), on);
        let true_case = format!("CB{}", person.idx);
        em.entity(
            home,
            &case_rid,
            Schema::Case,
            &[
                ("caseNumber", &case_no),
                ("name", &case_no),
                ("agency", profile.agency),
                ("offence", offence),
                ("openedAt", &opened),
                ("status", "open"),
            ],
            markings.clone(),
            None,
            &true_case,
            false,
            "case",
        );
        let link = em.rid(home, kind::LINK, person.idx, 1);
        em.entity(
            home,
            &link,
            Schema::UnknownLink,
            &[
                ("subject", &case_rid),
                ("object", &holder),
                ("role", "suspect"),
            ],
            markings,
            None,
            &format!("L{true_case}"),
            false,
            "case",
        );
    }
    if vis.account {
        let true_acct = format!("A{}", person.idx);
        em.truth_account(&true_acct, &person.true_id(), person.home, &person.account);
        let acct_rid = em.rid(home, kind::ACCOUNT, person.idx, 0);
        em.account(
            home,
            &acct_rid,
            &person.account,
            home,
            Some(&holder),
            &true_acct,
            false,
            on,
        );
        for n in 0..rng.below(7) {
            let abroad = rng.chance(0.08);
            let target = if abroad {
                (home + 1 + rng.index(world.countries.len() - 1)) % world.countries.len()
            } else {
                home
            };
            let Some(payee) = world.payee(rng, target, person.idx) else {
                continue;
            };
            let amount = (profile.typical_payment as f64 * (0.2 + rng.unit() * 3.0)) as u64 + 1;
            let when = day(rng.below(SPAN_DAYS as u64) as i32);
            let purpose = *rng.pick(text::PAYMENT_PURPOSES);
            let true_id = format!("PAY-b{}-{n}", person.idx);
            let to_rid = em.rid(target, kind::ACCOUNT, payee, 0);
            let pay_rid = em.rid(home, kind::PAYMENT, (person.idx << 4) | n, 0);
            let payee_true = format!("A{payee}");
            if abroad {
                let payee_person = world.person(payee);
                // The sending FIU records the foreign counterparty account as a record of its own.
                let foreign_rid = em.rid(home, kind::ACCOUNT, (person.idx << 4) | n, 32);
                em.account(
                    home,
                    &foreign_rid,
                    &payee_person.account,
                    target,
                    None,
                    &payee_true,
                    false,
                    when,
                );
                em.payment(
                    home,
                    &pay_rid,
                    Some(&acct_rid),
                    &foreign_rid,
                    amount,
                    profile.currency,
                    when,
                    purpose,
                    "transfer",
                    &true_id,
                    false,
                );
                let in_rid = em.rid(target, kind::ACCOUNT, (person.idx << 4) | n, 33);
                em.account(
                    target,
                    &in_rid,
                    &person.account,
                    home,
                    None,
                    &true_acct,
                    false,
                    when,
                );
                let pay_rid2 = em.rid(target, kind::PAYMENT, (person.idx << 4) | n, 0);
                em.payment(
                    target,
                    &pay_rid2,
                    Some(&in_rid),
                    &to_rid,
                    amount,
                    profile.currency,
                    when,
                    purpose,
                    "transfer",
                    &true_id,
                    false,
                );
            } else {
                em.payment(
                    home,
                    &pay_rid,
                    Some(&acct_rid),
                    &to_rid,
                    amount,
                    profile.currency,
                    when,
                    purpose,
                    "transfer",
                    &true_id,
                    false,
                );
            }
        }
    }
    trip_and_ad(em, rng, person, &vis, Some(&holder));
}

fn trip_and_ad(
    em: &mut Emitter<'_>,
    rng: &mut Rng,
    person: &Person,
    vis: &crate::world::Visibility,
    holder: Option<&str>,
) {
    let world = em.world;
    let home = person.home;
    if let Some(dest) = vis.trip {
        let doc = own_document(world, person);
        em.out.truth(
            out::DOCUMENTS,
            doc.truth_row(world, &person.true_id(), &person.true_id()),
        );
        let on = day(rng.below(SPAN_DAYS as u64) as i32);
        let same_region = world.countries[home].region == world.countries[dest].region;
        let means = if !same_region || rng.chance(0.7) {
            "flight"
        } else {
            "bus"
        };
        let true_mv = format!("MV{}", person.idx);
        for (c, copy) in [(home, 8u64), (dest, 0)] {
            let mut rec = record(
                copy,
                None,
                if c == home {
                    "border_exit"
                } else {
                    "border_entry"
                },
                false,
                person,
            );
            rec.passport = Some(&doc.number);
            rec.from_document = true;
            let rid = em.person(c, rng, person, rec);
            let doc_rid = em.passport(c, &doc, &rid, person.idx, 0, false, on);
            em.movement(
                c, rng, &rid, &doc_rid, home, dest, means, on, person.idx, 0, &true_mv, false,
            );
        }
    }
    if vis.ad {
        let (template, body) =
            text::background_ad(rng, world.countries[home], &person.phones[0], person.city);
        let true_id = format!("AD-b{}", person.idx);
        em.out.truth(
            out::ADS,
            [
                true_id.as_str(),
                &template,
                "",
                "background",
                world.countries[home].code,
            ],
        );
        let rid = em.rid(home, kind::AD, person.idx, 0);
        let on = day(rng.below(SPAN_DAYS as u64) as i32);
        let published = noise::iso(on);
        let phone = crate::ids::write_phone(&person.phones[0], world.countries[home], rng.below(4));
        let title: String = body.chars().take(40).collect();
        let mut props = vec![
            ("title", title.as_str()),
            ("bodyText", &body),
            ("phone", &phone),
            ("city", person.city),
            ("publishedAt", &published),
            ("platform", *rng.pick(text::PLATFORMS)),
        ];
        if let Some(h) = holder.filter(|_| rng.chance(0.1)) {
            props.push(("poster", h));
        }
        let markings = em.markings(home, Tlp::Green, Some("ad monitoring"), on);
        em.entity(
            home,
            &rid,
            Schema::Advertisement,
            &props,
            markings,
            None,
            &true_id,
            false,
            "ad_monitoring",
        );
    }
}

/// One leg of a journey on a travel document, from country `from` to `to`:
/// what the border posts at either end write about it. Victims and travelling
/// offenders cross the same way; only the dates and record numbers differ.
struct Crossing<'a> {
    doc: &'a Document,
    from: usize,
    to: usize,
    means: &'static str,
    /// The day the passport is shown.
    shown: Date,
    /// The day the movement is dated.
    moved: Date,
    /// The movement's record index and ground-truth id.
    index: u64,
    true_mv: &'a str,
    /// The record copy of the exit movement; the entry movement is the next.
    exit_copy: u64,
}

impl Crossing<'_> {
    /// Writes the crossing as country `c` (`from` or `to`) records it: the
    /// traveller as read off the document and the passport (both record
    /// `copy`), then the movement. Draws from `rng` in that order.
    fn record(&self, em: &mut Emitter<'_>, rng: &mut Rng, person: &Person, c: usize, copy: u64) {
        let rec = PersonRecord {
            copy,
            role: None,
            source: if c == self.from {
                "border_exit"
            } else {
                "border_entry"
            },
            related: true,
            name: &self.doc.name,
            birth: self.doc.birth,
            passport: Some(&self.doc.number),
            from_document: true,
        };
        let rid = em.person(c, rng, person, rec);
        let doc_rid = em.passport(c, self.doc, &rid, person.idx, copy, true, self.shown);
        em.movement(
            c,
            rng,
            &rid,
            &doc_rid,
            self.from,
            self.to,
            self.means,
            self.moved,
            self.index,
            self.exit_copy + u64::from(c == self.to),
            self.true_mv,
            true,
        );
    }
}

fn victim(em: &mut Emitter<'_>, rng: &mut Rng, person: &Person, inv: &Involvement) {
    let world = em.world;
    let Some(v) = &inv.victim else { return };
    let org = &world.orgs[v.org as usize];
    truth_person(em, person, "victim", Some(inv), "");
    let phone_true = truth_phone(em, person, 0);
    // The travel document.
    let doc = match v.document {
        DocKind::Genuine => own_document(world, person),
        DocKind::Forged | DocKind::CrudeForgery => {
            let mut vrng = Rng::derive(world.seed, stream::VICTIM, person.idx);
            let fake = names::draw(&mut vrng, person.name.culture, person.name.female);
            // Forgers make children adults on paper.
            let birth = day(-(vrng.range(19 * 365, 30 * 365) as i32) + v.recruited);
            let number = crate::ids::passport_number(&mut vrng);
            Document::new(
                world,
                format!("DF{}", person.idx),
                v.document,
                fake,
                birth,
                number,
                person.home,
                day(v.recruited + 1500),
            )
        }
        DocKind::Stolen => {
            let owner = world.person(v.stolen_from);
            let mut doc = own_document(world, &owner);
            doc.true_id = format!("DS{}", person.idx);
            doc.kind = DocKind::Stolen;
            doc
        }
    };
    let identity_of = match v.document {
        DocKind::Genuine => person.true_id(),
        DocKind::Stolen => format!("P{}", v.stolen_from),
        _ => String::new(),
    };
    em.out.truth(
        out::DOCUMENTS,
        doc.truth_row(world, &person.true_id(), &identity_of),
    );
    let route = org.route_on(v.recruited);
    let origin = route.countries[0];
    let destination = *route.countries.last().unwrap_or(&origin);
    // Missing-person report in the origin country.
    if rng.chance(if v.recruitment == Recruitment::FamilyTies {
        0.4
    } else {
        0.15
    }) {
        let mut rec = record(3, Some(Role::Other), "missing_person", true, person);
        rec.passport = Some(&person.passport);
        let victim_rid = em.person(origin, rng, person, rec);
        // The family names the relative who took the victim abroad.
        if v.recruitment == Recruitment::FamilyTies && world.home_of(v.recruiter) == origin {
            let relative = world.person(v.recruiter);
            let rec = record(40, Some(Role::Suspect), "missing_person", true, &relative);
            let relative_rid = em.rid(origin, kind::PERSON, person.idx, 40);
            let written = em.person_as(origin, rng, &relative, rec, &relative_rid);
            let on = day(v.recruited + 20);
            let link = em.rid(origin, kind::LINK, person.idx, 3);
            let markings = em.markings(origin, Tlp::Amber, Some("missing person"), on);
            let props = [
                ("person", victim_rid.as_str()),
                ("relative", written.as_str()),
                ("relationship", "relative (recruited the victim)"),
            ];
            em.entity(
                origin,
                &link,
                Schema::Family,
                &props,
                markings,
                None,
                &format!("FAM{}", person.idx),
                true,
                "missing_person",
            );
        }
    }
    // Border crossings along the corridor, on the document.
    for (leg, pair) in route.countries.windows(2).enumerate() {
        let (a, b) = (pair[0], pair[1]);
        let on = day(v.recruited + 3 + 2 * leg as i32);
        let true_mv = format!("MV{}-{leg}", person.idx);
        let crossing = Crossing {
            doc: &doc,
            from: a,
            to: b,
            means: route.leg_means(world, a, b),
            shown: on,
            moved: on,
            index: (person.idx << 4) | leg as u64,
            exit_copy: 2,
            true_mv: &true_mv,
        };
        for (c, p, copy) in [(a, 0.55, 4 + 2 * leg as u64), (b, 0.7, 5 + 2 * leg as u64)] {
            if rng.chance(p) {
                crossing.record(em, rng, person, c, copy);
            }
        }
    }
    let found = day(v.recruited + 30 + rng.below(300) as i32);
    // Victim services in the destination know the true identity.
    if rng.chance(0.4) {
        let rid = em.person(
            destination,
            rng,
            person,
            record(1, Some(Role::Victim), "victim_services", true, person),
        );
        if rng.chance(0.5) {
            em.phone(
                destination,
                rng,
                &person.phones[0],
                person.home,
                &rid,
                person.idx << 4,
                0,
                &phone_true,
                true,
                Tlp::Red,
                Some("victim protection"),
                found,
            );
        }
    }
    // The destination's investigation of the organisation.
    if org.cased[destination] && rng.chance(0.5) {
        let case_no = case_number(world, destination, org.id, org.active.0);
        let rid = em.person(
            destination,
            rng,
            person,
            record(2, Some(Role::Victim), "case", true, person),
        );
        let case_rid = em.rid(destination, kind::CASE, u64::from(org.id), 0);
        let link = em.rid(destination, kind::LINK, person.idx, 2);
        let markings = em.markings(destination, Tlp::Red, Some(&case_no), found);
        em.entity(
            destination,
            &link,
            Schema::UnknownLink,
            &[("subject", &case_rid), ("object", &rid), ("role", "victim")],
            markings,
            None,
            &format!("LV{}", person.idx),
            true,
            "case",
        );
    }
}

/// The case number agency `c` gives its investigation of organisation `org`.
pub(crate) fn case_number(world: &World, c: usize, org: u32, opened: i32) -> String {
    format!(
        "{}-{}-{:04}",
        world.countries[c].code,
        day(opened + 40).year(),
        100 + org
    )
}

fn offender(em: &mut Emitter<'_>, rng: &mut Rng, person: &Person, inv: &Involvement) {
    let world = em.world;
    let mut arng = Rng::derive(world.seed, stream::ALIAS, person.idx);
    let alias = names::draw(&mut arng, person.name.culture, person.name.female);
    let alias_text = names::native(&alias).full();
    truth_person(em, person, "offender", Some(inv), &alias_text);
    let phone_ids: Vec<String> = (0..person.phones.len())
        .map(|k| truth_phone(em, person, k))
        .collect();
    // Any member's account may carry the organisation's money.
    em.truth_account(
        &format!("A{}", person.idx),
        &person.true_id(),
        person.home,
        &person.account,
    );
    let home = person.home;
    let (org_id, role) = inv.memberships[0];
    let org = &world.orgs[org_id as usize];
    for (o, r) in &inv.memberships {
        em.out.truth(
            out::MEMBERSHIPS,
            [
                format!("P{}", person.idx),
                format!("O{o}"),
                r.as_str().to_owned(),
                world.countries[home].code.to_owned(),
            ],
        );
    }
    // Case files: the home agency, and agencies of countries the organisation works in.
    for c in 0..world.countries.len() {
        let in_case = inv.memberships.iter().any(|(o, _)| {
            let org = &world.orgs[*o as usize];
            org.cased[c] && org.countries().contains(&c)
        });
        let p = if c == home { 0.7 } else { 0.3 };
        if !in_case || !rng.chance(p) {
            continue;
        }
        let case_org = inv
            .memberships
            .iter()
            .map(|(o, _)| &world.orgs[*o as usize])
            .find(|o| o.cased[c] && o.countries().contains(&c))
            .unwrap_or(org);
        let case_no = case_number(world, c, case_org.id, case_org.active.0);
        let name = if rng.chance(0.3) {
            &alias
        } else {
            &person.name
        };
        let rec = PersonRecord {
            copy: 0,
            role: Some(Role::Suspect),
            source: "case",
            related: true,
            name,
            birth: person.birth,
            passport: Some(&person.passport),
            from_document: false,
        };
        let rid = em.person(c, rng, person, rec);
        let on = day(case_org.active.0 + 40 + rng.below(200) as i32);
        let markings = em.markings(c, Tlp::Amber, Some(&case_no), on);
        let case_rid = em.rid(c, kind::CASE, u64::from(case_org.id), 0);
        let link = em.rid(c, kind::LINK, person.idx, 0);
        em.entity(
            c,
            &link,
            Schema::UnknownLink,
            &[
                ("subject", &case_rid),
                ("object", &rid),
                ("role", "suspect"),
            ],
            markings.clone(),
            None,
            &format!("LS{}", person.idx),
            true,
            "case",
        );
        let org_rid = em.rid(c, kind::ORG, u64::from(case_org.id), 0);
        let member = em.rid(c, kind::MEMBERSHIP, person.idx, 0);
        em.entity(
            c,
            &member,
            Schema::Membership,
            &[
                ("member", &rid),
                ("organization", &org_rid),
                ("role", "suspected member"),
            ],
            markings,
            None,
            &format!("M{}-O{}", person.idx, case_org.id),
            true,
            "case",
        );
        for (k, e164) in person.phones.iter().enumerate() {
            if rng.chance(0.6) {
                em.phone(
                    c,
                    rng,
                    e164,
                    home,
                    &rid,
                    (person.idx << 4) | k as u64,
                    0,
                    &phone_ids[k],
                    true,
                    Tlp::Amber,
                    Some(&case_no),
                    on,
                );
            }
        }
    }
    if rng.chance(0.3) {
        let mut rec = record(1, None, "register", true, person);
        rec.passport = Some(&person.passport);
        em.person(home, rng, person, rec);
    }
    // Transporters and bosses travel the corridor, some on forged papers.
    if matches!(
        role,
        crate::world::OrgRole::Transporter | crate::world::OrgRole::Boss
    ) {
        let forged = rng.chance(0.3);
        let doc = if forged {
            Document::new(
                world,
                format!("DF{}", person.idx),
                DocKind::Forged,
                alias,
                person.birth,
                crate::ids::passport_number(&mut arng),
                home,
                day(1800),
            )
        } else {
            own_document(world, person)
        };
        let identity_of = if forged {
            String::new()
        } else {
            person.true_id()
        };
        em.out.truth(
            out::DOCUMENTS,
            doc.truth_row(world, &person.true_id(), &identity_of),
        );
        for trip in 0..rng.range(1, 2) {
            let on = rng.range(org.active.0 as u64, org.active.1 as u64) as i32;
            let route = org.route_on(on);
            for (leg, pair) in route.countries.windows(2).enumerate() {
                let (a, b) = (pair[0], pair[1]);
                let true_mv = format!("MV{}-{trip}-{leg}", person.idx);
                let crossing = Crossing {
                    doc: &doc,
                    from: a,
                    to: b,
                    means: route.leg_means(world, a, b),
                    shown: day(on),
                    moved: day(on + leg as i32),
                    index: (person.idx << 8) | (trip << 4) | leg as u64,
                    exit_copy: 4,
                    true_mv: &true_mv,
                };
                for (c, copy) in [
                    (a, 16 + 4 * trip + 2 * leg as u64),
                    (b, 17 + 4 * trip + 2 * leg as u64),
                ] {
                    if rng.chance(0.6) {
                        crossing.record(em, rng, person, c, copy);
                    }
                }
            }
        }
    }
}
