//! Free text: ad templates (per organisation and for the background),
//! payment purposes, platforms.

use crate::country::Profile;
use crate::ids;
use crate::rng::Rng;

/// Purposes of ordinary payments.
pub(crate) const PAYMENT_PURPOSES: &[&str] = &[
    "rent",
    "groceries",
    "invoice",
    "family support",
    "school fees",
    "utilities",
    "loan repayment",
    "salary",
    "car repair",
    "phone bill",
    "insurance",
    "gift",
];

/// Where ads are published.
pub(crate) const PLATFORMS: &[&str] = &[
    "classifieds-a",
    "classifieds-b",
    "social-market",
    "jobs-board",
    "escort-directory",
    "messenger-group",
];

/// Skeletons of escort ads; `{…}` slots are filled per ad.
const ESCORT: &[&str] = &[
    "NEW IN {city}!!! {name} {age}y, sweet {nat} girl, {service}. Incall/outcall 24/7. {price} {cur}/hr. Call or WhatsApp {phone}",
    "{name} ({age}) - young {nat} model just arrived in {city}. {service}, discreet & clean. {price} {cur}. Book now: {phone} / {handle}",
    "Massage + extra in {city} center. {nat} girls {age}+, new faces every week. From {price} {cur}. Tel {phone}, Line {handle}",
];

/// Skeletons of (deceptive) job offers.
const JOBS: &[&str] = &[
    "URGENT! {job} needed in {dest}. Salary {salary} {cur}/month, free flight + visa + accommodation. No experience, no language needed. Contact {phone} (WhatsApp) {handle}",
    "Work abroad in {dest}: {job}, good income {salary} {cur} per month, agency pays all costs, leave in 2 weeks. Call {phone} or Line {handle}",
    "We are hiring {job} for {dest} company. Age 18-35, {salary} {cur}/month + bonus. Fast processing, passport help. {phone} {handle}",
];

const SERVICES: &[&str] = &[
    "GFE",
    "full service",
    "no rush",
    "VIP service",
    "party girl",
];
const JOB_TITLES: &[&str] = &[
    "waitresses",
    "factory workers",
    "fruit pickers",
    "spa therapists",
    "hotel cleaners",
    "nannies",
    "construction workers",
    "fishing crew",
];
const SIGNATURES: &[&str] = &[
    "100% real photos",
    "Trusted agency since 2015",
    "VIP only",
    "Serious applicants only",
    "Best price guaranteed",
    "No deposit",
];
const GIRL_NAMES: &[&str] = &[
    "Lily", "Candy", "Mimi", "Nana", "Angel", "Bella", "Cherry", "Kitty", "Jasmine", "Honey",
];

const BACKGROUND: &[&str] = &[
    "Selling {item}, good condition, {price} {cur}. Pick up in {city}. Call {phone}",
    "Room for rent in {city}, {price} {cur}/month, near public transport. {phone}",
    "Licensed massage spa in {city}, traditional massage only, {price} {cur}/hr. Booking {phone}",
    "Restaurant in {city} seeks cook, legal contract and insurance, {price} {cur}/month. Apply {phone}",
    "Private tutor (maths, English) in {city}, {price} {cur} per lesson. {phone}",
    "Moving sale: {item} and more, {city}. Make an offer: {phone}",
];
const ITEMS: &[&str] = &[
    "iPhone 12",
    "sofa",
    "mountain bike",
    "washing machine",
    "baby stroller",
    "laptop",
    "dining table",
    "scooter",
];

/// An organisation's ad template: its id, kind and text with the slots the ads fill.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    pub(crate) id: String,
    pub(crate) kind: &'static str,
    pub(crate) text: String,
}

/// Draws the organisation's templates: skeleton plus its own fixed choices
/// (nationality, service, job, signature, handle).
pub(crate) fn org_templates(
    rng: &mut Rng,
    org: u32,
    escort: bool,
    nat: &str,
    dest: &str,
) -> Vec<Template> {
    let n = rng.range(1, 3);
    (0..n)
        .map(|t| {
            let (kind, skeleton) = if escort && (t == 0 || rng.chance(0.5)) {
                ("escort", *rng.pick(ESCORT))
            } else {
                ("job_offer", *rng.pick(JOBS))
            };
            let handle = format!(
                "@{}{}",
                rng.pick(&["vip", "lotus", "star", "angel", "work", "easy", "golden"]),
                rng.range(10, 99)
            );
            let service: &str = rng.pick::<&str>(SERVICES);
            let job: &str = rng.pick::<&str>(JOB_TITLES);
            let text = skeleton
                .replace("{nat}", nat)
                .replace("{dest}", dest)
                .replace("{service}", service)
                .replace("{job}", job)
                .replace("{handle}", &handle);
            let text = format!("{text}. {}", rng.pick(SIGNATURES));
            Template {
                id: format!("O{org}-T{t}"),
                kind,
                text,
            }
        })
        .collect()
}

/// Writes one ad from a template: fills the slots and applies small edits
/// (dropped signature, reworded phrases, changed case).
pub(crate) fn org_ad(
    rng: &mut Rng,
    template: &Template,
    city: &str,
    phone: &str,
    profile: &Profile,
) -> String {
    let price = (profile.typical_payment * rng.range(10, 40) / 10).max(1);
    let salary = profile.typical_payment * rng.range(150, 400);
    let name: &str = rng.pick::<&str>(GIRL_NAMES);
    let mut text = template
        .text
        .replace("{city}", city)
        .replace("{name}", name)
        .replace("{age}", &rng.range(19, 25).to_string())
        .replace("{price}", &price.to_string())
        .replace("{salary}", &salary.to_string())
        .replace("{cur}", profile.currency)
        .replace("{phone}", phone);
    if rng.chance(0.3)
        && let Some(cut) = text.rfind(". ")
    {
        text.truncate(cut);
    }
    if rng.chance(0.3) {
        text = text
            .replace("24/7", "day and night")
            .replace("Call", "Text")
            .replace("URGENT!", "URGENT!!");
    }
    if rng.chance(0.15) {
        text = text.to_uppercase();
    }
    text
}

/// Writes an ordinary ad; returns its template id and text.
pub(crate) fn background_ad(
    rng: &mut Rng,
    profile: &Profile,
    e164: &str,
    city: &str,
) -> (String, String) {
    let t = rng.index(BACKGROUND.len());
    let phone = ids::write_phone(e164, profile, rng.below(4));
    let item: &str = rng.pick::<&str>(ITEMS);
    let text = BACKGROUND[t]
        .replace("{item}", item)
        .replace("{city}", city)
        .replace(
            "{price}",
            &(profile.typical_payment * rng.range(1, 30)).to_string(),
        )
        .replace("{cur}", profile.currency)
        .replace("{phone}", &phone);
    (format!("BG-T{t}"), text)
}

/// The background templates as `(template_id, text)`, for `truth/ad_templates.csv`.
pub(crate) fn background_templates() -> impl Iterator<Item = (String, &'static str)> {
    BACKGROUND
        .iter()
        .enumerate()
        .map(|(t, text)| (format!("BG-T{t}"), *text))
}
