//! Field-level scoring of encodings made of one segment per field (see
//! [`crate::encode::FieldLayout`]).
//!
//! A record-level encoding mixes every field into one filter, so a field recorded on one
//! side only (a date of birth one agency did not take, a passport only the border police
//! saw) counts as a disagreement in the Dice coefficient, and a long name outweighs a
//! short one. With one segment per field, a pair is scored field by field and the fields
//! are combined with weights (the "field-level Bloom filter" comparison of Vatsalan,
//! Christen et al., here a weighted mean in the spirit of Fellegi–Sunter):
//!
//! `score = Σ_f w_f · s_f / Σ_f w_f`, where `s_f` is the Dice coefficient of the two
//! segments of field `f` when both are present and `missing_f` when either is absent.
//! `missing_f` is the neutral value, the similarity at which the field is as likely for
//! a true match as for a non-match, so an absent field neither helps nor hurts much. A
//! field may weigh more when it agrees than when it differs ([`FieldWeight::agreement`]):
//! the standard scoring does that for contacts ([`CONTACT_AGREEMENT`]).
//!
//! A field is absent when its segment has no bit set: the encoder writes an all-zero
//! segment for a field without value (hardening included), which reveals only that the
//! field was not recorded. The score is in `[0, 1]` and is 1 for identical encodings
//! whose fields are all present, so thresholds and calibrations work as with Dice.
//!
//! **Namesakes.** A name that agrees is weak evidence when the name is common, and the
//! two sets being matched say how common it is: when a pair is matched as a set
//! ([`crate::matching::match_clks`]), each record's namesakes are counted, the records of
//! the other set whose name segment reaches [`FieldScoring::namesake_similarity`] (among
//! the pairs the whole-encoding first pass finds). A pair's score then drops by
//! `namesake_penalty · ln(max(n_left, n_right))`, where `n_left` is the left record's
//! count and `n_right` the right record's: the Fellegi–Sunter weight of an agreeing name
//! falls with the log of its frequency. A name held by one record on each side keeps its
//! score. The counts come from the encodings alone (nothing is revealed that the two sets
//! did not already show) and only whole sets have them: the hit/no-hit
//! [`crate::index::Index`] scores a single query without this term.

use serde::{Deserialize, Serialize};

use crate::encode::{EncodeConfig, Hardening};
use crate::error::{Error, Result};

/// One field's segment and how it weighs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldWeight {
    /// The field (`name`, `birth`, `identifier`).
    pub field: String,
    /// Length of the segment in 64-bit words; segments follow each other in order.
    pub words: usize,
    /// Weight of the field in the combined score.
    pub weight: f64,
    /// The similarity counted when the field is absent on either side.
    pub missing: f64,
    /// A weight of its own for a field present on both sides whose similarity reaches
    /// [`Agreement::at`]: for evidence that is strong when it agrees but weak against
    /// when it differs (see [`CONTACT_AGREEMENT`]). `None`: the field always weighs
    /// `weight`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<Agreement>,
}

/// A field's weight when it agrees ([`FieldWeight::agreement`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    /// The segment similarity (Dice) from which the field counts as agreeing.
    pub at: f64,
    /// The field's weight in the combined score when it agrees.
    pub weight: f64,
}

impl FieldWeight {
    /// The weight this field takes for a segment similarity `s`, `present` when the field
    /// has bits on both sides.
    fn weight_at(&self, present: bool, s: f64) -> f64 {
        match self.agreement {
            Some(a) if present && s >= a.at => a.weight,
            _ => self.weight,
        }
    }
}

/// How to score encodings made of field segments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldScoring {
    /// The segments, in order.
    pub fields: Vec<FieldWeight>,
    /// Candidate pairs must reach this Dice coefficient over the whole encoding before
    /// they are scored field by field (the fast kernel does that first pass); below the
    /// lowest whole-encoding Dice of true pairs, so that it only saves work.
    pub prefilter: f64,
    /// How much a pair's score drops per natural-log unit of its records' namesake count
    /// (see the module docs); 0 turns the term off. Needs a field named `name`.
    #[serde(default)]
    pub namesake_penalty: f64,
    /// The name-segment Dice at or above which two records count as namesakes.
    #[serde(default = "default_namesake_similarity")]
    pub namesake_similarity: f64,
}

fn default_namesake_similarity() -> f64 {
    NAMESAKE_SIMILARITY
}

/// The name-segment Dice at or above which [`FieldScoring::standard`] counts two records
/// as namesakes: the same name tokens, give or take a letter.
pub const NAMESAKE_SIMILARITY: f64 = 0.95;

/// The standard scoring's [`Agreement`] of the phone and e-mail segments: at this
/// similarity or above a segment weighs the second value instead of its field weight.
///
/// A phone number or an e-mail address that two records share is strong evidence (in the
/// simulated population no two people share one), but one that differs is weak evidence
/// against (people use several), so the field's ordinary weight is small. Agreeing, it
/// pulls the score up: a border record written from a forged passport shares nothing
/// else with its bearer's other records (and `match_clks` proposes such pairs by the
/// equal segment, since their whole encodings are far apart). Balanced segments of two
/// people's contacts stay below 0.84 in all but a handful of pairs, and the same contact
/// gives 1; fitted on the simulated population with seed 7 when phones and e-mail
/// addresses shared one segment (version 4), and kept for the two segments of version 5
/// (bench/pprl/README.md).
pub const CONTACT_AGREEMENT: Agreement = Agreement {
    at: 0.84,
    weight: 40.0,
};

/// The namesake penalty of [`FieldScoring::standard`] for field-level encodings.
pub const NAMESAKE_PENALTY: f64 = 0.01;

// Validated: no NaN weights or similarities, so equality is reflexive.
impl Eq for FieldScoring {}

impl FieldScoring {
    /// The scoring of encodings made with `config` (which must have field segments; a
    /// record-level configuration gives one segment scored by Dice).
    ///
    /// Weights: the name counts most, the birth date and identifiers less (an
    /// identifier that agrees is strong evidence, but people hold several passports, so
    /// one that differs is weak evidence against). The neutral similarity of a missing
    /// field depends on the hardening: balanced segments of unrelated people already
    /// share about two thirds of their bits.
    pub fn standard(config: &EncodeConfig) -> FieldScoring {
        // Fitted on the simulated cross-border population (bench/pprl/sim.sh) for
        // balanced segments: (weight, neutral similarity) per field.
        let field = |name: &str| -> (f64, f64) {
            match name {
                "name" => (6.0, 0.70),
                "birth_year" => (2.1, 0.76),
                "birth_day" => (2.2, 0.66),
                "identifier" => (8.8, 0.80),
                // The two contact segments together weigh what the one contact segment
                // of version 4 did (2.4, 0.80) when they differ or are missing, so a pair
                // without a shared contact scores as before the split (refitting them on
                // seed 7 moved pairs that share only a name across the cut: see
                // bench/pprl/README.md).
                "phone" | "email" => (1.2, 0.80),
                _ => (1.0, 0.75),
            }
        };
        // Unhardened and diffused segments of unrelated people share fewer bits than
        // balanced ones, so their neutral points sit lower.
        let (shift, prefilter): (f64, f64) = match config.hardening {
            Hardening::Balance => (0.0, 0.6),
            Hardening::Diffuse | Hardening::XorFold => (-0.15, 0.45),
            Hardening::None => (-0.3, 0.3),
        };
        FieldScoring {
            fields: config
                .segments()
                .into_iter()
                .map(|(name, bits)| {
                    let (weight, missing) = field(name);
                    FieldWeight {
                        field: name.to_owned(),
                        words: config.hardened_bits(bits) / 64,
                        weight,
                        missing: (missing + shift).clamp(0.0, 1.0),
                        agreement: matches!(name, "phone" | "email").then_some(CONTACT_AGREEMENT),
                    }
                })
                .collect(),
            prefilter,
            // Fitted with the weights above on the same population (seed 7; seed 9 checks
            // it): a name held by e records on one side costs 0.01·ln(e).
            namesake_penalty: if config.fields.is_some() {
                NAMESAKE_PENALTY
            } else {
                0.0
            },
            namesake_similarity: NAMESAKE_SIMILARITY,
        }
    }

    /// Where the namesake term applies: the name segment's word range, the similarity
    /// bound and the penalty; `None` when the penalty is 0 or there is no `name` field.
    pub(crate) fn namesakes(&self) -> Option<(std::ops::Range<usize>, f64, f64)> {
        if self.namesake_penalty <= 0.0 {
            return None;
        }
        let mut start = 0;
        for f in &self.fields {
            if f.field == "name" {
                return Some((
                    start..start + f.words,
                    self.namesake_similarity,
                    self.namesake_penalty,
                ));
            }
            start += f.words;
        }
        None
    }

    /// The word ranges of the fields with an agreement weight
    /// ([`FieldWeight::agreement`]).
    pub(crate) fn agreement_ranges(&self) -> Vec<std::ops::Range<usize>> {
        let mut start = 0;
        let mut out = Vec::new();
        for f in &self.fields {
            if f.agreement.is_some() {
                out.push(start..start + f.words);
            }
            start += f.words;
        }
        out
    }

    /// The namesake term of a pair whose records have `left` and `right` namesakes on
    /// the other side (see the module docs); 0 without the term.
    pub fn namesake_term(&self, left: u32, right: u32) -> f64 {
        if self.namesake_penalty <= 0.0 {
            return 0.0;
        }
        self.namesake_penalty * f64::from(left.max(right).max(1)).ln()
    }

    /// Checks the scoring against encodings of `n_words` words.
    ///
    /// Errors: no fields, segments that do not add up to `n_words`, a weight that is
    /// negative or not finite, weights that sum to 0, a similarity or prefilter outside
    /// `[0, 1]`.
    pub fn validate(&self, n_words: usize) -> Result<()> {
        let invalid = |reason: String| {
            Err(Error::InvalidConfig {
                field: "fields",
                reason,
            })
        };
        if self.fields.is_empty() {
            return invalid("no fields".to_owned());
        }
        let words: usize = self.fields.iter().map(|f| f.words).sum();
        if words != n_words {
            return invalid(format!(
                "segments of {words} words for encodings of {n_words} words"
            ));
        }
        for f in &self.fields {
            if f.words == 0 || !(f.weight.is_finite() && f.weight >= 0.0) {
                return invalid(format!(
                    "field {:?}: {} words, weight {} (need at least 1 word and a weight ≥ 0)",
                    f.field, f.words, f.weight
                ));
            }
            if !(0.0..=1.0).contains(&f.missing) {
                return invalid(format!(
                    "field {:?}: missing similarity {} is not in [0, 1]",
                    f.field, f.missing
                ));
            }
            if let Some(a) = f.agreement
                && !((0.0..=1.0).contains(&a.at) && a.weight.is_finite() && a.weight >= 0.0)
            {
                return invalid(format!(
                    "field {:?}: agreement at {} with weight {} (need a similarity in [0, 1] \
                     and a weight ≥ 0)",
                    f.field, a.at, a.weight
                ));
            }
        }
        if self.fields.iter().map(|f| f.weight).sum::<f64>() <= 0.0 {
            return invalid("the weights sum to 0".to_owned());
        }
        if !(0.0..=1.0).contains(&self.prefilter) {
            return invalid(format!("prefilter {} is not in [0, 1]", self.prefilter));
        }
        if !(0.0..=1.0).contains(&self.namesake_penalty) {
            return invalid(format!(
                "namesake penalty {} is not in [0, 1]",
                self.namesake_penalty
            ));
        }
        if !(self.namesake_similarity > 0.0 && self.namesake_similarity <= 1.0) {
            return invalid(format!(
                "namesake similarity {} is not in (0, 1]",
                self.namesake_similarity
            ));
        }
        if self.namesake_penalty > 0.0 && !self.fields.iter().any(|f| f.field == "name") {
            return invalid("a namesake penalty needs a field named \"name\"".to_owned());
        }
        Ok(())
    }

    /// The field-level score of two encodings (each `Σ words` long).
    ///
    /// # Panics
    /// If an encoding is shorter than the segments.
    pub fn score(&self, a: &[u64], b: &[u64]) -> f64 {
        let (mut num, mut den, mut start) = (0.0, 0.0, 0);
        for f in &self.fields {
            let (x, y) = (&a[start..start + f.words], &b[start..start + f.words]);
            start += f.words;
            let (mut both, mut px, mut py) = (0u32, 0u32, 0u32);
            for (u, v) in x.iter().zip(y) {
                both += (u & v).count_ones();
                px += u.count_ones();
                py += v.count_ones();
            }
            let s = if px == 0 || py == 0 {
                f.missing
            } else {
                2.0 * f64::from(both) / f64::from(px + py)
            };
            let weight = f.weight_at(px > 0 && py > 0, s);
            num += weight * s;
            den += weight;
        }
        if den > 0.0 { num / den } else { 0.0 }
    }

    /// The threshold of the whole-encoding Dice first pass for a score threshold `t`.
    pub fn first_pass(&self, t: f64) -> f64 {
        self.prefilter.min(t).max(f64::MIN_POSITIVE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scoring() -> FieldScoring {
        FieldScoring {
            fields: vec![
                FieldWeight {
                    field: "name".to_owned(),
                    words: 2,
                    weight: 3.0,
                    missing: 0.5,
                    agreement: None,
                },
                FieldWeight {
                    field: "birth".to_owned(),
                    words: 1,
                    weight: 1.0,
                    missing: 0.5,
                    agreement: None,
                },
            ],
            prefilter: 0.5,
            namesake_penalty: 0.0,
            namesake_similarity: NAMESAKE_SIMILARITY,
        }
    }

    #[test]
    fn scores_present_fields_and_imputes_missing_ones() {
        let s = scoring();
        s.validate(3).unwrap();
        let a = [0b1111, 0, 0b1100];
        assert!((s.score(&a, &a) - 1.0).abs() < 1e-12);
        // Names agree, birth disagrees: (3·1 + 1·0) / 4.
        assert!((s.score(&a, &[0b1111, 0, 0b0011]) - 0.75).abs() < 1e-12);
        // Birth absent on one side: (3·1 + 1·0.5) / 4.
        assert!((s.score(&a, &[0b1111, 0, 0]) - 0.875).abs() < 1e-12);
        // Names half shared: Dice 2·2/8 = 0.5.
        assert!((s.score(&a, &[0b0011, 0b11, 0b1100]) - (1.5 + 1.0) / 4.0).abs() < 1e-12);
    }

    #[test]
    fn an_agreeing_field_weighs_its_agreement_weight() {
        let mut s = scoring();
        let heavy = 40.0;
        s.fields[1].agreement = Some(Agreement {
            at: 0.84,
            weight: heavy,
        });
        s.validate(3).unwrap();
        let a = [0b1111, 0, 0b1111_0000];
        // Names differ in half their bits, field 1 agrees: (3·0.5 + heavy·1) / (3 + heavy).
        let b = [0b0011, 0b11, 0b1111_0000];
        let expect = (1.5 + heavy) / (3.0 + heavy);
        assert!((s.score(&a, &b) - expect).abs() < 1e-12);
        // Below the agreement similarity it keeps the field weight: (1.5 + 1·0.5) / 4.
        let c = [0b0011, 0b11, 0b1100_1100];
        assert!((s.score(&a, &c) - 0.5).abs() < 1e-12);
        // Missing on one side it is neutral, with the field weight: (1.5 + 0.5) / 4.
        assert!((s.score(&a, &[0b0011, 0b11, 0]) - 0.5).abs() < 1e-12);
        // The setting, not the field's name, decides: a `contact` without it keeps its
        // weight when it agrees, and any field with it weighs more.
        s.fields[1].agreement = None;
        s.fields[1].field = "contact".to_owned();
        assert!((s.score(&a, &b) - 0.625).abs() < 1e-12);
    }

    #[test]
    fn the_standard_scoring_gives_the_contact_segments_their_agreement() {
        let s = FieldScoring::standard(&EncodeConfig::field_level());
        for f in &s.fields {
            let expect = matches!(f.field.as_str(), "phone" | "email").then_some(CONTACT_AGREEMENT);
            assert_eq!(f.agreement, expect, "{}", f.field);
        }
    }

    #[test]
    fn namesake_term_grows_with_the_log_of_the_larger_count() {
        let mut s = scoring();
        assert_eq!(s.namesake_term(5, 7), 0.0);
        s.namesake_penalty = 0.01;
        assert_eq!(s.namesake_term(1, 1), 0.0);
        assert_eq!(s.namesake_term(0, 0), 0.0);
        assert!((s.namesake_term(2, 7) - 0.01 * 7f64.ln()).abs() < 1e-15);
        assert!((s.namesake_term(7, 2) - 0.01 * 7f64.ln()).abs() < 1e-15);
    }

    #[test]
    fn rejects_bad_scorings() {
        let check = |s: FieldScoring, words: usize, expect: &str| {
            let err = s.validate(words).unwrap_err().to_string();
            assert!(err.contains(expect), "{err} does not contain {expect:?}");
        };
        check(scoring(), 4, "segments of 3 words for encodings of 4 words");
        let mut s = scoring();
        s.namesake_penalty = -0.1;
        check(s, 3, "namesake penalty -0.1");
        let mut s = scoring();
        s.namesake_similarity = 0.0;
        check(s, 3, "namesake similarity 0");
        let mut s = scoring();
        s.namesake_penalty = 0.01;
        s.fields[0].field = "given".to_owned();
        check(s, 3, "needs a field named \"name\"");
        let mut s = scoring();
        s.fields[1].weight = f64::NAN;
        check(s, 3, "weight NaN");
        let mut s = scoring();
        s.fields[0].missing = 2.0;
        check(s, 3, "missing similarity 2");
        let mut s = scoring();
        s.fields[1].agreement = Some(Agreement {
            at: 1.5,
            weight: 4.0,
        });
        check(s, 3, "field \"birth\": agreement at 1.5 with weight 4");
        let mut s = scoring();
        s.fields[1].agreement = Some(Agreement {
            at: 0.9,
            weight: -1.0,
        });
        check(s, 3, "agreement at 0.9 with weight -1");
        let mut s = scoring();
        s.fields.iter_mut().for_each(|f| f.weight = 0.0);
        check(s, 3, "sum to 0");
        check(
            FieldScoring {
                fields: vec![],
                prefilter: 0.5,
                namesake_penalty: 0.0,
                namesake_similarity: NAMESAKE_SIMILARITY,
            },
            0,
            "no fields",
        );
    }
}
