//! The true world: the population, the criminal organisations with their
//! members, victims, corridors and money, all derived from the seed.
//!
//! Persons are not stored: [`World::person`] recomputes person `idx` from
//! `(seed, idx)` whenever it is needed, so memory holds only the small
//! trafficking part (organisations and the persons involved).

use std::collections::HashMap;
use std::ops::Range;

use time::Date;

use crate::country::Profile;
use crate::names::{self, Culture, NameKey};
use crate::rng::Rng;
use crate::{Config, ids};

/// Random streams (the `stream` argument of [`Rng::derive`]).
pub(crate) mod stream {
    pub(crate) const PERSON: u64 = 1;
    pub(crate) const VISIBILITY: u64 = 2;
    pub(crate) const ORGS: u64 = 3;
    pub(crate) const RECORDS: u64 = 4;
    pub(crate) const ORG_RECORDS: u64 = 5;
    pub(crate) const ALIAS: u64 = 6;
    pub(crate) const VICTIM: u64 = 7;
}

/// The first day events happen on (2024-01-01, Julian day 2460311).
pub(crate) const EPOCH_JD: i32 = 2_460_311;
/// The number of days events span (two years).
pub(crate) const SPAN_DAYS: i32 = 730;

/// A day of the scenario as a date.
pub(crate) fn day(d: i32) -> Date {
    Date::from_julian_day(EPOCH_JD + d).unwrap_or(Date::MIN)
}

/// What a member does for an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrgRole {
    Boss,
    Recruiter,
    Transporter,
    DocumentForger,
    Controller,
    MoneyMule,
    CorruptOfficial,
}

impl OrgRole {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OrgRole::Boss => "boss",
            OrgRole::Recruiter => "recruiter",
            OrgRole::Transporter => "transporter",
            OrgRole::DocumentForger => "document_forger",
            OrgRole::Controller => "controller",
            OrgRole::MoneyMule => "money_mule",
            OrgRole::CorruptOfficial => "corrupt_official",
        }
    }
}

/// The Palermo Protocol Art. 3 purposes of exploitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exploitation {
    Sexual,
    ForcedLabour,
    ForcedCriminality,
    DomesticServitude,
    OrganRemoval,
}

impl Exploitation {
    const ALL: [Exploitation; 5] = [
        Exploitation::Sexual,
        Exploitation::ForcedLabour,
        Exploitation::ForcedCriminality,
        Exploitation::DomesticServitude,
        Exploitation::OrganRemoval,
    ];
    const WEIGHTS: [u32; 5] = [50, 28, 8, 12, 2];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Exploitation::Sexual => "sexual_exploitation",
            Exploitation::ForcedLabour => "forced_labour",
            Exploitation::ForcedCriminality => "forced_criminality",
            Exploitation::DomesticServitude => "domestic_servitude",
            Exploitation::OrganRemoval => "organ_removal",
        }
    }
}

/// How a victim was recruited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recruitment {
    DeceptiveJobOffer,
    OnlineAd,
    FamilyTies,
}

impl Recruitment {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Recruitment::DeceptiveJobOffer => "deceptive_job_offer",
            Recruitment::OnlineAd => "online_ad",
            Recruitment::FamilyTies => "family_ties",
        }
    }
}

/// The kind of passport a person travels on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocKind {
    /// The bearer's own passport.
    Genuine,
    /// A forgery with a made-up identity and valid check digits.
    Forged,
    /// A crude forgery whose check digits do not add up.
    CrudeForgery,
    /// Another person's genuine passport.
    Stolen,
}

impl DocKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DocKind::Genuine => "genuine",
            DocKind::Forged => "forged",
            DocKind::CrudeForgery => "crude_forgery",
            DocKind::Stolen => "stolen",
        }
    }
}

/// A victim's part in an organisation.
#[derive(Debug, Clone)]
pub(crate) struct Victim {
    pub(crate) org: u32,
    pub(crate) exploitation: Exploitation,
    pub(crate) child: bool,
    pub(crate) recruitment: Recruitment,
    /// The member who recruited the victim.
    pub(crate) recruiter: u64,
    /// The day of recruitment.
    pub(crate) recruited: i32,
    /// The passport the victim travels on.
    pub(crate) document: DocKind,
    /// For a stolen passport: whose it is.
    pub(crate) stolen_from: u64,
}

/// How a person is involved in trafficking.
#[derive(Debug, Clone, Default)]
pub(crate) struct Involvement {
    /// Memberships: organisation and role.
    pub(crate) memberships: Vec<(u32, OrgRole)>,
    pub(crate) victim: Option<Victim>,
}

/// A corridor: the countries (indexes into the config) a route passes, and how.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub(crate) countries: Vec<usize>,
    /// `flight`, `bus`, `car` or `boat`: used on legs within a region; legs
    /// between regions are always flights.
    pub(crate) means: &'static str,
}

impl Route {
    /// How the leg from country `a` to `b` is travelled.
    pub(crate) fn leg_means(&self, world: &World, a: usize, b: usize) -> &'static str {
        if world.countries[a].region == world.countries[b].region {
            self.means
        } else {
            "flight"
        }
    }
}

/// A criminal organisation.
#[derive(Debug, Clone)]
pub(crate) struct Org {
    pub(crate) id: u32,
    pub(crate) name: String,
    pub(crate) members: Vec<(u64, OrgRole)>,
    pub(crate) victims: Vec<u64>,
    pub(crate) exploitation: Exploitation,
    pub(crate) route: Route,
    /// The route used after the first one was disrupted, and from which day.
    pub(crate) detour: Option<(Route, i32)>,
    pub(crate) active: (i32, i32),
    pub(crate) connected_to: Vec<u32>,
    /// Index of the country its front business operates in.
    pub(crate) front: Option<usize>,
    /// Per country: whether that agency has an investigation case on the organisation.
    pub(crate) cased: Vec<bool>,
}

impl Org {
    /// All country indexes the organisation operates in.
    pub(crate) fn countries(&self) -> Vec<usize> {
        let mut all = self.route.countries.clone();
        if let Some((detour, _)) = &self.detour {
            all.extend(&detour.countries);
        }
        all.sort_unstable();
        all.dedup();
        all
    }

    /// The route in use on `day`.
    pub(crate) fn route_on(&self, day: i32) -> &Route {
        match &self.detour {
            Some((detour, from)) if day >= *from => detour,
            _ => &self.route,
        }
    }

    /// The members with `role`.
    pub(crate) fn with_role(&self, role: OrgRole) -> impl Iterator<Item = u64> + '_ {
        self.members
            .iter()
            .filter(move |(_, r)| *r == role)
            .map(|(p, _)| *p)
    }

    /// The first member with `role`, or the first member at all.
    pub(crate) fn one(&self, role: OrgRole) -> u64 {
        self.with_role(role).next().unwrap_or(self.members[0].0)
    }
}

/// One true person, recomputed from the seed on demand.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub(crate) idx: u64,
    /// Index of the home country in the config.
    pub(crate) home: usize,
    pub(crate) name: NameKey,
    pub(crate) birth: Date,
    pub(crate) phones: Vec<String>,
    pub(crate) city: &'static str,
    pub(crate) email: Option<String>,
    pub(crate) passport: String,
    pub(crate) passport_expiry: Date,
    /// The person's account: IBAN or domestic number, and the bank.
    pub(crate) account: (String, &'static str),
}

impl Person {
    pub(crate) fn true_id(&self) -> String {
        format!("P{}", self.idx)
    }
}

/// Which of a background person's records the agencies hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Visibility {
    /// Records in the home agency's view (0 = not known there).
    pub(crate) home_records: u8,
    /// The home agency knows the person's phone.
    pub(crate) phone: bool,
    /// The home agency's financial intelligence unit knows the person's account.
    pub(crate) account: bool,
    /// The person travelled to this other country (index), if at all.
    pub(crate) trip: Option<usize>,
    /// The person posted an ordinary online ad.
    pub(crate) ad: bool,
    /// The person is a suspect in an unrelated case.
    pub(crate) other_case: bool,
}

/// The whole true world (minus the persons, which are recomputed).
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) seed: u64,
    pub(crate) countries: Vec<&'static Profile>,
    pub(crate) n_persons: u64,
    /// Person indexes living in each country.
    pub(crate) ranges: Vec<Range<u64>>,
    pub(crate) involved: HashMap<u64, Involvement>,
    pub(crate) orgs: Vec<Org>,
}

impl World {
    /// Builds the world for `config`: population ranges and organisations.
    pub(crate) fn build(config: &Config) -> World {
        let countries = config.profiles();
        let n = config.persons;
        let k = countries.len() as u64;
        let ranges = (0..k).map(|c| (n * c / k)..(n * (c + 1) / k)).collect();
        let mut world = World {
            seed: config.seed,
            countries,
            n_persons: n,
            ranges,
            involved: HashMap::new(),
            orgs: Vec::new(),
        };
        world.build_orgs();
        world
    }

    /// Recomputes person `idx`.
    pub(crate) fn person(&self, idx: u64) -> Person {
        let mut rng = Rng::derive(self.seed, stream::PERSON, idx);
        let home = self.home_of(idx);
        let profile = self.countries[home];
        let weights: Vec<u32> = profile.cultures.iter().map(|(_, w)| *w).collect();
        let culture: Culture = profile.cultures[rng.weighted(&weights)].0;
        let mut female = rng.chance(0.5);
        let mut birth = day(-(rng.range(18 * 365, 75 * 365) as i32));
        let involvement = self.involved.get(&idx);
        if let Some(inv) = involvement {
            if let Some(victim) = &inv.victim {
                female = match victim.exploitation {
                    Exploitation::Sexual | Exploitation::DomesticServitude => rng.chance(0.92),
                    _ => rng.chance(0.35),
                };
                let age_days = if victim.child {
                    rng.range(13 * 365, 17 * 365)
                } else {
                    rng.range(18 * 365, 34 * 365)
                };
                birth = day(victim.recruited - age_days as i32);
            } else {
                birth = day(-(rng.range(24 * 365, 60 * 365) as i32));
                female = rng.chance(0.25);
            }
        }
        let name = names::draw(&mut rng, culture, female);
        let n_phones = if involvement.is_some_and(|i| !i.memberships.is_empty()) {
            3
        } else {
            1 + rng.below(2) as usize
        };
        let phones = (0..n_phones)
            .map(|_| ids::mobile(&mut rng, profile))
            .collect();
        let city = *rng.pick(profile.cities);
        let email = rng.chance(0.4).then(|| {
            let written = names::for_mrz(&name);
            let local: String = format!("{}.{}{}", written.given, written.surname, rng.below(100))
                .to_lowercase()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect();
            format!("{local}@{}", rng.pick(profile.mail_domains))
        });
        let passport = ids::passport_number(&mut rng);
        let passport_expiry = day(rng.range(200, 3600) as i32);
        let account = ids::account(&mut rng, profile);
        Person {
            idx,
            home,
            name,
            birth,
            phones,
            city,
            email,
            passport,
            passport_expiry,
            account,
        }
    }

    /// The home country index of person `idx`.
    pub(crate) fn home_of(&self, idx: u64) -> usize {
        self.ranges
            .iter()
            .position(|r| r.contains(&idx))
            .unwrap_or(0)
    }

    /// Which records of background person `idx` the agencies hold.
    pub(crate) fn visibility(&self, idx: u64) -> Visibility {
        let mut rng = Rng::derive(self.seed, stream::VISIBILITY, idx);
        let involved = self.involved.contains_key(&idx);
        let home_records = match rng.below(100) {
            0..=44 => 0,
            45..=90 => 1,
            _ => 2,
        };
        let phone = home_records > 0 && rng.chance(0.5);
        let account = home_records > 0 && rng.chance(0.5) && !involved;
        let trip = rng.chance(0.06).then(|| {
            let home = self.home_of(idx);
            let other = rng.index(self.countries.len() - 1);
            if other >= home { other + 1 } else { other }
        });
        let ad = rng.chance(0.04);
        let other_case = home_records > 0 && rng.chance(0.01);
        Visibility {
            home_records,
            phone,
            account,
            trip: if involved { None } else { trip },
            ad,
            other_case,
        }
    }

    /// A random person of country `c` whose account the home agency holds
    /// (for ordinary payments), or `None` after a few tries.
    pub(crate) fn payee(&self, rng: &mut Rng, c: usize, not: u64) -> Option<u64> {
        let range = &self.ranges[c];
        for _ in 0..8 {
            let idx = range.start + rng.below(range.end - range.start);
            if idx != not && self.visibility(idx).account {
                return Some(idx);
            }
        }
        None
    }

    fn build_orgs(&mut self) {
        let n = self.n_persons;
        let k = self.countries.len();
        if n < 20 {
            return;
        }
        // Involved persons: about 0.9% of the population, and at least ~120
        // (or a tenth of a small population) so that small demos show a network.
        let target = ((n as f64 * 0.009) as u64).max(80.min(n / 10));
        let mut rng = Rng::derive(self.seed, stream::ORGS, 0);
        let mut involved_count = 0u64;
        let mut org_id = 0u32;
        while involved_count < target {
            // Small worlds get smaller organisations, so that there are several.
            let max_size = (target / 6).clamp(10, 45);
            let size = match rng.weighted(&[50, 35, 15]) {
                0 => rng.range(4, 8),
                1 => rng.range(9, 20.min(max_size)),
                _ => rng.range(9, max_size),
            };
            let origin = if k == 2 {
                0
            } else {
                rng.weighted(&origin_weights(k))
            };
            let destination = origin + 1 + rng.index(k - origin - 1);
            let via = |rng: &mut Rng| -> Vec<usize> {
                let mut countries = vec![origin];
                if destination > origin + 1 && rng.chance(0.7) {
                    countries.push(origin + 1 + rng.index(destination - origin - 1));
                }
                countries.push(destination);
                countries
            };
            let means = ["flight", "bus", "car", "boat"];
            let route = Route {
                countries: via(&mut rng),
                means: means[rng.weighted(&[55, 25, 15, 5])],
            };
            let active_from = rng.range(0, (SPAN_DAYS / 2) as u64) as i32;
            let active = (
                active_from,
                (active_from + rng.range(180, 360) as i32).min(SPAN_DAYS - 1),
            );
            let detour = rng.chance(0.4).then(|| {
                let mut alt = Route {
                    countries: via(&mut rng),
                    means: means[rng.index(3)],
                };
                if alt.countries == route.countries && alt.means == route.means {
                    alt.means = if route.means == "flight" {
                        "bus"
                    } else {
                        "flight"
                    };
                }
                (alt, active.0 + rng.range(60, 150) as i32)
            });
            let exploitation = Exploitation::ALL[rng.weighted(&Exploitation::WEIGHTS)];
            let mut org = Org {
                id: org_id,
                name: org_name(&mut rng),
                members: Vec::new(),
                victims: Vec::new(),
                exploitation,
                route,
                detour,
                active,
                connected_to: Vec::new(),
                front: None,
                cased: (0..k).map(|_| rng.chance(0.6)).collect(),
            };
            org.front = rng.chance(0.5).then_some(destination);
            self.add_members(&mut rng, &mut org, size as usize);
            self.add_victims(&mut rng, &mut org, size);
            involved_count += (org.members.len() + org.victims.len()) as u64;
            self.orgs.push(org);
            org_id += 1;
        }
    }

    fn add_members(&mut self, rng: &mut Rng, org: &mut Org, size: usize) {
        let origin = org.route.countries[0];
        let destination = *org.route.countries.last().unwrap_or(&origin);
        let transit = org
            .route
            .countries
            .get(1)
            .copied()
            .filter(|c| *c != destination)
            .unwrap_or(origin);
        // Connected organisations share a forger or a money mule.
        if !self.orgs.is_empty() && rng.chance(0.3) {
            let other = rng.index(self.orgs.len());
            let shared = self.orgs[other]
                .members
                .iter()
                .find(|(_, r)| matches!(r, OrgRole::DocumentForger | OrgRole::MoneyMule))
                .copied();
            if let Some((idx, role)) = shared {
                org.members.push((idx, role));
                org.connected_to.push(other as u32);
                self.involved
                    .entry(idx)
                    .or_default()
                    .memberships
                    .push((org.id, role));
            }
        }
        for slot in 0..size {
            let role = match slot {
                0 => OrgRole::Boss,
                1 => OrgRole::Recruiter,
                2 => OrgRole::Controller,
                3 => OrgRole::MoneyMule,
                4 if size >= 6 => OrgRole::DocumentForger,
                _ => [
                    OrgRole::Recruiter,
                    OrgRole::Transporter,
                    OrgRole::Controller,
                    OrgRole::MoneyMule,
                    OrgRole::CorruptOfficial,
                ][rng.weighted(&[25, 20, 25, 22, 8])],
            };
            let home = match role {
                OrgRole::Boss => {
                    if rng.chance(0.5) {
                        origin
                    } else {
                        destination
                    }
                }
                OrgRole::Recruiter => origin,
                OrgRole::Transporter | OrgRole::DocumentForger | OrgRole::CorruptOfficial => {
                    transit
                }
                OrgRole::Controller => destination,
                OrgRole::MoneyMule => [destination, transit, origin][rng.weighted(&[50, 30, 20])],
            };
            if let Some(idx) = self.free_person(rng, home) {
                org.members.push((idx, role));
                self.involved
                    .entry(idx)
                    .or_default()
                    .memberships
                    .push((org.id, role));
            }
        }
    }

    fn add_victims(&mut self, rng: &mut Rng, org: &mut Org, size: u64) {
        let n_victims = size * rng.range(15, 30) / 10;
        let origin = org.route.countries[0];
        let recruiters: Vec<u64> = org.with_role(OrgRole::Recruiter).collect();
        for _ in 0..n_victims {
            let Some(idx) = self.free_person(rng, origin) else {
                continue;
            };
            let exploitation = if rng.chance(0.8) {
                org.exploitation
            } else {
                Exploitation::ALL[rng.weighted(&Exploitation::WEIGHTS)]
            };
            let child = exploitation != Exploitation::OrganRemoval && rng.chance(0.15);
            let document = match rng.weighted(&[55, 25, 8, 12]) {
                0 if !child => DocKind::Genuine,
                0 | 1 => DocKind::Forged,
                2 => DocKind::CrudeForgery,
                _ => DocKind::Stolen,
            };
            let range = &self.ranges[origin];
            let stolen_from = range.start + rng.below(range.end - range.start);
            let victim = Victim {
                org: org.id,
                exploitation,
                child,
                recruitment: [
                    Recruitment::DeceptiveJobOffer,
                    Recruitment::OnlineAd,
                    Recruitment::FamilyTies,
                ][rng.weighted(&[45, 35, 20])],
                recruiter: if recruiters.is_empty() {
                    org.members[0].0
                } else {
                    *rng.pick(&recruiters)
                },
                recruited: rng.range(org.active.0 as u64, org.active.1 as u64) as i32,
                document,
                stolen_from,
            };
            org.victims.push(idx);
            self.involved.entry(idx).or_default().victim = Some(victim);
        }
    }

    /// A random person of country `c` not yet involved in trafficking.
    fn free_person(&self, rng: &mut Rng, c: usize) -> Option<u64> {
        let range = &self.ranges[c];
        (0..64).find_map(|_| {
            let idx = range.start + rng.below(range.end - range.start);
            (!self.involved.contains_key(&idx)).then_some(idx)
        })
    }
}

/// Origins are mostly the first countries of the list.
fn origin_weights(k: usize) -> Vec<u32> {
    (0..k)
        .map(|c| {
            if c + 1 == k {
                0
            } else {
                ((k - c) * (k - c)) as u32 * 4
            }
        })
        .collect()
}

fn org_name(rng: &mut Rng) -> String {
    const A: [&str; 10] = [
        "Golden", "Silver", "Red", "Black", "Jade", "Lotus", "Northern", "Eastern", "Crystal",
        "Orchid",
    ];
    const B: [&str; 10] = [
        "Dragon", "Tiger", "Crane", "Star", "River", "Moon", "Falcon", "Bridge", "Gate", "Wave",
    ];
    format!("{} {} network", rng.pick(&A), rng.pick(&B))
}
