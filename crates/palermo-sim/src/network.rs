//! The organisation pass: each organisation's truth rows (organisation,
//! front, routes, ad templates, laundering chains) and the records agencies
//! hold about it (case files, the front business, ads, accounts, payments).

use std::collections::HashSet;

use palermo_model::{Role, Schema, Tlp};

use crate::emit::{Emitter, kind};
use crate::noise;
use crate::out::{self, Out};
use crate::population::case_number;
use crate::rng::Rng;
use crate::text;
use crate::world::{Exploitation, Org, OrgRole, World, day, stream};

/// Generates organisation `org` into one output unit.
pub(crate) fn unit(world: &World, org: &Org) -> Out {
    let mut em = Emitter::new(world);
    let mut rng = Rng::derive(world.seed, stream::ORG_RECORDS, u64::from(org.id));
    truth_rows(&mut em, org);
    cases(&mut em, &mut rng, org);
    let templates = ads(&mut em, &mut rng, org);
    for t in &templates {
        em.out.truth(
            out::TEMPLATES,
            [t.id.as_str(), &format!("O{}", org.id), t.kind, &t.text],
        );
    }
    Money::new(&mut em, org).launder(&mut rng);
    em.out
}

/// The background ad templates, written once.
pub(crate) fn background_templates(world: &World) -> Out {
    let mut em = Emitter::new(world);
    for (id, text) in text::background_templates() {
        em.out
            .truth(out::TEMPLATES, [id.as_str(), "", "background", text]);
    }
    em.out
}

fn codes(world: &World, countries: &[usize]) -> String {
    countries
        .iter()
        .map(|c| world.countries[*c].code)
        .collect::<Vec<_>>()
        .join(">")
}

fn truth_rows(em: &mut Emitter<'_>, org: &Org) {
    let world = em.world;
    let id = format!("O{}", org.id);
    let countries: Vec<&str> = org
        .countries()
        .iter()
        .map(|c| world.countries[*c].code)
        .collect();
    let connected = org
        .connected_to
        .iter()
        .map(|o| format!("O{o}"))
        .collect::<Vec<_>>()
        .join(";");
    em.out.truth(
        out::ORGS,
        [
            id.as_str(),
            "criminal",
            &org.name,
            &countries.join(";"),
            &org.members.len().to_string(),
            &org.victims.len().to_string(),
            org.exploitation.as_str(),
            &connected,
            "",
        ],
    );
    if let Some(c) = org.front {
        em.out.truth(
            out::ORGS,
            [
                format!("F{}", org.id),
                "front".to_owned(),
                front_name(org),
                world.countries[c].code.to_owned(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                id.clone(),
            ],
        );
    }
    let (from, to) = (noise::iso(day(org.active.0)), noise::iso(day(org.active.1)));
    match &org.detour {
        None => em.out.truth(
            out::ROUTES,
            [
                id.as_str(),
                "main",
                &codes(world, &org.route.countries),
                org.route.means,
                &from,
                &to,
                "",
            ],
        ),
        Some((detour, on)) => {
            let switch = noise::iso(day(*on));
            em.out.truth(
                out::ROUTES,
                [
                    id.as_str(),
                    "main",
                    &codes(world, &org.route.countries),
                    org.route.means,
                    &from,
                    &switch,
                    &switch,
                ],
            );
            em.out.truth(
                out::ROUTES,
                [
                    id.as_str(),
                    "detour",
                    &codes(world, &detour.countries),
                    detour.means,
                    &switch,
                    &to,
                    "",
                ],
            );
        }
    }
}

fn front_name(org: &Org) -> String {
    let word = org.name.split(' ').next().unwrap_or("Golden");
    match org.exploitation {
        Exploitation::Sexual => format!("{word} Spa & Wellness"),
        Exploitation::ForcedLabour => format!("{word} Staffing Services"),
        Exploitation::DomesticServitude => format!("{word} Home Care Agency"),
        _ => format!("{word} Trading"),
    }
}

fn cases(em: &mut Emitter<'_>, rng: &mut Rng, org: &Org) {
    let world = em.world;
    for c in org.countries() {
        if !org.cased[c] {
            continue;
        }
        let profile = world.countries[c];
        let case_no = case_number(world, c, org.id, org.active.0);
        let opened = day(org.active.0 + 40);
        let markings = em.markings(c, Tlp::Amber, Some(&case_no), opened);
        let codename = format!(
            "Operation {}",
            [
                "Lotus", "Harbour", "Monsoon", "Tulip", "Orchid", "Compass", "Mirage", "Anchor"
            ][rng.index(8)]
        );
        let case_rid = em.rid(c, kind::CASE, u64::from(org.id), 0);
        let offence = format!(
            "trafficking in persons ({})",
            org.exploitation.as_str().replace('_', " ")
        );
        let opened_text = noise::iso(opened);
        em.entity(
            c,
            &case_rid,
            Schema::Case,
            &[
                ("caseNumber", &case_no),
                ("name", &codename),
                ("agency", profile.agency),
                ("offence", &offence),
                ("openedAt", &opened_text),
                ("status", "open"),
            ],
            markings.clone(),
            None,
            &format!("C{}-{}", org.id, profile.code),
            true,
            "case",
        );
        let org_rid = em.rid(c, kind::ORG, u64::from(org.id), 0);
        let group = format!("{codename} network");
        em.entity(
            c,
            &org_rid,
            Schema::Organization,
            &[("name", &group), ("country", profile.code)],
            markings,
            Some(Role::Suspect),
            &format!("O{}", org.id),
            true,
            "case",
        );
    }
    if let Some(c) = org.front {
        let profile = world.countries[c];
        let rid = em.rid(c, kind::FRONT, u64::from(org.id), 0);
        let reg = rng.digits(8);
        let opened = day(org.active.0);
        let markings = em.markings(c, Tlp::Amber, Some("financial intelligence"), opened);
        em.entity(
            c,
            &rid,
            Schema::Organization,
            &[
                ("name", &front_name(org)),
                ("registrationNumber", &reg),
                ("country", profile.code),
                ("address", *rng.pick(profile.cities)),
            ],
            markings,
            None,
            &format!("F{}", org.id),
            true,
            "fiu",
        );
    }
}

fn ads(em: &mut Emitter<'_>, rng: &mut Rng, org: &Org) -> Vec<text::Template> {
    let world = em.world;
    let origin = org.route.countries[0];
    let destination = *org.route.countries.last().unwrap_or(&origin);
    let nat = match world.countries[origin].code {
        "TH" => "Thai",
        "MY" => "Malaysian",
        "UA" => "Ukrainian",
        "RU" => "Russian",
        "NL" => "Dutch",
        "DE" => "German",
        _ => "exotic",
    };
    let dest_name =
        palermo_model::country_name(world.countries[destination].code).unwrap_or("Europe");
    let templates = text::org_templates(
        rng,
        org.id,
        org.exploitation == Exploitation::Sexual,
        nat,
        dest_name,
    );
    let posters: Vec<u64> = org
        .with_role(OrgRole::Controller)
        .chain(org.with_role(OrgRole::Recruiter))
        .collect();
    let n_ads = (org.victims.len() as u64 * 3 / 2).max(5);
    for n in 0..n_ads {
        let template = rng.pick(&templates);
        // Escort ads run where victims are exploited, job offers where they are recruited.
        let c = if template.kind == "escort" {
            destination
        } else {
            origin
        };
        let profile = world.countries[c];
        let poster = world.person(*rng.pick(&posters));
        let e164 = rng.pick(&poster.phones).clone();
        let phone = crate::ids::write_phone(
            &e164,
            world.countries[poster.home],
            if poster.home == c {
                rng.below(4)
            } else {
                rng.below(2)
            },
        );
        let city = *rng.pick(profile.cities);
        let body = text::org_ad(rng, template, city, &phone, profile);
        let true_id = format!("AD-o{}-{n}", org.id);
        em.out.truth(
            out::ADS,
            [
                true_id.as_str(),
                &template.id,
                &format!("O{}", org.id),
                template.kind,
                profile.code,
            ],
        );
        let on = day(rng.range(org.active.0 as u64, org.active.1 as u64) as i32);
        let published = noise::iso(on);
        let title: String = body.chars().take(40).collect();
        let platform = if template.kind == "escort" {
            "escort-directory"
        } else {
            *rng.pick(&["jobs-board", "social-market", "messenger-group"])
        };
        let handle = template
            .text
            .split_whitespace()
            .find(|w| w.starts_with('@'))
            .unwrap_or("")
            .trim_end_matches('.');
        let mut props = vec![
            ("title", title.as_str()),
            ("bodyText", &body),
            ("phone", &phone),
            ("city", city),
            ("publishedAt", &published),
            ("platform", platform),
        ];
        if !handle.is_empty() {
            props.push(("handle", handle));
        }
        let markings = em.markings(c, Tlp::Green, Some("ad monitoring"), on);
        let rid = em.rid(c, kind::AD, (u64::from(org.id) << 20) | n, 1);
        em.entity(
            c,
            &rid,
            Schema::Advertisement,
            &props,
            markings,
            None,
            &true_id,
            true,
            "ad_monitoring",
        );
    }
    templates
}

/// An account in a laundering chain.
#[derive(Debug, Clone)]
struct Acct {
    true_id: String,
    /// Person index, or `None` for the front business.
    owner: Option<u64>,
    home: usize,
    account: (String, &'static str),
}

struct Money<'e, 'w> {
    em: &'e mut Emitter<'w>,
    org: &'e Org,
    /// (country, account) records already written by this unit.
    written: HashSet<(usize, String)>,
    n_payments: u64,
}

impl<'e, 'w> Money<'e, 'w> {
    fn new(em: &'e mut Emitter<'w>, org: &'e Org) -> Money<'e, 'w> {
        Money {
            em,
            org,
            written: HashSet::new(),
            n_payments: 0,
        }
    }

    fn person_acct(&mut self, idx: u64) -> Acct {
        let world = self.em.world;
        let p = world.person(idx);
        Acct {
            true_id: format!("A{idx}"),
            owner: Some(idx),
            home: p.home,
            account: p.account,
        }
    }

    fn front_acct(&mut self, rng: &mut Rng, c: usize) -> Acct {
        let world = self.em.world;
        let account = crate::ids::account(rng, world.countries[c]);
        let acct = Acct {
            true_id: format!("AF{}", self.org.id),
            owner: None,
            home: c,
            account,
        };
        self.em.truth_account(
            &acct.true_id,
            &format!("F{}", self.org.id),
            c,
            &acct.account,
        );
        acct
    }

    /// The record id of `acct` in view `c`, writing the account record the first time.
    fn acct_rid(&mut self, c: usize, acct: &Acct, on: time::Date) -> String {
        let world = self.em.world;
        let org_id = u64::from(self.org.id);
        let rid = match acct.owner {
            Some(idx) => {
                let position = world
                    .involved
                    .get(&idx)
                    .and_then(|i| i.memberships.iter().position(|m| m.0 == self.org.id))
                    .unwrap_or(0);
                self.em.rid(c, kind::ACCOUNT, idx, 64 + position as u64)
            }
            None => self.em.rid(c, kind::FRONT_ACCOUNT, org_id, 0),
        };
        if self.written.insert((c, acct.true_id.clone())) {
            let holder = match acct.owner {
                None if Some(c) == self.org.front => Some(self.em.rid(c, kind::FRONT, org_id, 0)),
                _ => None,
            };
            self.em.account(
                c,
                &rid,
                &acct.account,
                acct.home,
                holder.as_deref(),
                &acct.true_id,
                true,
                on,
            );
        }
        rid
    }

    /// One payment, written into the views of both banks' countries and into the chain.
    #[allow(clippy::too_many_arguments)]
    fn pay(
        &mut self,
        chain: &str,
        pattern: &str,
        step: usize,
        from: Option<&Acct>,
        to: &Acct,
        amount: u64,
        d: i32,
        purpose: &str,
    ) {
        let world = self.em.world;
        let on = day(d);
        let n = self.n_payments;
        self.n_payments += 1;
        let true_id = format!("PAY-o{}-{n}", self.org.id);
        let payer_home = from.map_or(to.home, |f| f.home);
        let currency = world.countries[payer_home].currency;
        let channel = if from.is_none() {
            "cash_deposit"
        } else {
            "transfer"
        };
        let mut views = vec![payer_home, to.home];
        views.dedup();
        for c in views {
            let from_rid = from.map(|f| self.acct_rid(c, f, on));
            let to_rid = self.acct_rid(c, to, on);
            let rid = self
                .em
                .rid(c, kind::PAYMENT, (u64::from(self.org.id) << 20) | n, 1);
            self.em.payment(
                c,
                &rid,
                from_rid.as_deref(),
                &to_rid,
                amount,
                currency,
                on,
                purpose,
                channel,
                &true_id,
                true,
            );
        }
        self.em.out.truth(
            out::LAUNDERING,
            [
                chain.to_owned(),
                format!("O{}", self.org.id),
                pattern.to_owned(),
                step.to_string(),
                true_id,
                from.map(|f| f.true_id.clone()).unwrap_or_default(),
                to.true_id.clone(),
                amount.to_string(),
                currency.to_owned(),
                noise::iso(on),
            ],
        );
    }

    fn launder(mut self, rng: &mut Rng) {
        let world = self.em.world;
        let org = self.org;
        let origin = org.route.countries[0];
        let destination = *org.route.countries.last().unwrap_or(&origin);
        let mules: Vec<u64> = org.with_role(OrgRole::MoneyMule).collect();
        let mule1 = mules
            .iter()
            .copied()
            .find(|m| world.home_of(*m) == destination)
            .unwrap_or_else(|| org.one(OrgRole::MoneyMule));
        let mule2 = mules
            .iter()
            .copied()
            .find(|m| *m != mule1 && world.home_of(*m) != destination);
        let boss = org.one(OrgRole::Boss);
        let m1 = self.person_acct(mule1);
        let dest_profile = world.countries[destination];
        let mut d = org.active.0 + 30 + rng.below(60) as i32;
        for chain_n in 0..rng.range(1, 3) {
            let chain = format!("O{}-L{chain_n}", org.id);
            // Step 0: money comes in, either structured cash or fan-in from clients.
            let mut total = 0;
            let mut step = 0;
            if rng.chance(0.5) {
                for _ in 0..rng.range(3, 8) {
                    let amount = dest_profile.threshold * rng.range(850, 990) / 1000;
                    total += amount;
                    self.pay(
                        &chain,
                        "structuring",
                        step,
                        None,
                        &m1,
                        amount,
                        d,
                        "cash deposit",
                    );
                    d += 1;
                }
            } else {
                for _ in 0..rng.range(4, 10) {
                    let Some(client) = world.payee(rng, destination, mule1) else {
                        continue;
                    };
                    let client_acct = Acct {
                        true_id: format!("A{client}"),
                        owner: None,
                        home: destination,
                        account: world.person(client).account,
                    };
                    let amount = dest_profile.typical_payment * rng.range(5, 40);
                    total += amount;
                    // The client's own account record already exists in the destination's view.
                    let from_rid = self.em.rid(destination, kind::ACCOUNT, client, 0);
                    self.written
                        .insert((destination, client_acct.true_id.clone()));
                    let n = self.n_payments;
                    self.n_payments += 1;
                    let true_id = format!("PAY-o{}-{n}", org.id);
                    let to_rid = self.acct_rid(destination, &m1, day(d));
                    let rid =
                        self.em
                            .rid(destination, kind::PAYMENT, (u64::from(org.id) << 20) | n, 1);
                    self.em.payment(
                        destination,
                        &rid,
                        Some(&from_rid),
                        &to_rid,
                        amount,
                        dest_profile.currency,
                        day(d),
                        "services",
                        "transfer",
                        &true_id,
                        true,
                    );
                    self.em.out.truth(
                        out::LAUNDERING,
                        [
                            chain.clone(),
                            format!("O{}", org.id),
                            "fan_in".to_owned(),
                            step.to_string(),
                            true_id,
                            client_acct.true_id.clone(),
                            m1.true_id.clone(),
                            amount.to_string(),
                            dest_profile.currency.to_owned(),
                            noise::iso(day(d)),
                        ],
                    );
                }
            }
            step += 1;
            // Step 1: rapid pass-through to a second mule abroad.
            let mut holder = m1.clone();
            if let Some(m) = mule2 {
                let m2 = self.person_acct(m);
                let amount = total * rng.range(960, 990) / 1000;
                d += 1;
                self.pay(
                    &chain,
                    "pass_through",
                    step,
                    Some(&m1),
                    &m2,
                    amount,
                    d,
                    "consulting fee",
                );
                total = amount;
                holder = m2;
                step += 1;
            }
            // Step 2: fan-out to the boss and recruiters in the origin.
            let mut receivers = vec![boss];
            receivers.extend(org.with_role(OrgRole::Recruiter).take(4));
            let share = total / receivers.len() as u64;
            for r in receivers {
                let acct = self.person_acct(r);
                d += rng.range(0, 2) as i32;
                self.pay(
                    &chain,
                    "fan_out",
                    step,
                    Some(&holder),
                    &acct,
                    share,
                    d,
                    "family support",
                );
            }
            d += rng.range(7, 30) as i32;
        }
        // A cash-heavy front business.
        if let Some(c) = org.front {
            let chain = format!("O{}-F", org.id);
            let front = self.front_acct(rng, c);
            let profile = world.countries[c];
            let mut total = 0;
            for _ in 0..rng.range(10, 25) {
                let amount = profile.threshold * rng.range(300, 900) / 1000;
                total += amount;
                self.pay(
                    &chain,
                    "cash_front",
                    0,
                    None,
                    &front,
                    amount,
                    d,
                    "daily takings",
                );
                d += rng.range(1, 4) as i32;
            }
            let boss_acct = self.person_acct(boss);
            self.pay(
                &chain,
                "cash_front",
                1,
                Some(&front),
                &boss_acct,
                total * 8 / 10,
                d,
                "management fee",
            );
        }
        // Bribes to corrupt officials.
        let officials: Vec<u64> = org.with_role(OrgRole::CorruptOfficial).collect();
        for (k, official) in officials.into_iter().enumerate() {
            let chain = format!("O{}-B{k}", org.id);
            let payer = self.person_acct(org.one(OrgRole::Controller));
            let to = self.person_acct(official);
            for step in 0..rng.range(2, 5) as usize {
                let amount = world.countries[payer.home].typical_payment * rng.range(20, 60);
                self.pay(
                    &chain,
                    "bribe",
                    step,
                    Some(&payer),
                    &to,
                    amount,
                    d + 14 * step as i32,
                    "gift",
                );
            }
        }
    }
}
