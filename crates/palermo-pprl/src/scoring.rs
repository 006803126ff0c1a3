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
//! a true match as for a non-match, so an absent field neither helps nor hurts much.
//!
//! A field is absent when its segment has no bit set: the encoder writes an all-zero
//! segment for a field without value (hardening included), which reveals only that the
//! field was not recorded. The score is in `[0, 1]` and is 1 for identical encodings
//! whose fields are all present, so thresholds and calibrations work as with Dice.

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
}

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
                "birth_year" => (2.6, 0.76),
                "birth_day" => (1.7, 0.66),
                "identifier" => (8.8, 0.80),
                "contact" => (2.4, 0.80),
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
                    }
                })
                .collect(),
            prefilter,
        }
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
        }
        if self.fields.iter().map(|f| f.weight).sum::<f64>() <= 0.0 {
            return invalid("the weights sum to 0".to_owned());
        }
        if !(0.0..=1.0).contains(&self.prefilter) {
            return invalid(format!("prefilter {} is not in [0, 1]", self.prefilter));
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
            num += f.weight * s;
            den += f.weight;
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
                },
                FieldWeight {
                    field: "birth".to_owned(),
                    words: 1,
                    weight: 1.0,
                    missing: 0.5,
                },
            ],
            prefilter: 0.5,
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
    fn rejects_bad_scorings() {
        let check = |s: FieldScoring, words: usize, expect: &str| {
            let err = s.validate(words).unwrap_err().to_string();
            assert!(err.contains(expect), "{err} does not contain {expect:?}");
        };
        check(scoring(), 4, "segments of 3 words for encodings of 4 words");
        let mut s = scoring();
        s.fields[1].weight = f64::NAN;
        check(s, 3, "weight NaN");
        let mut s = scoring();
        s.fields[0].missing = 2.0;
        check(s, 3, "missing similarity 2");
        let mut s = scoring();
        s.fields.iter_mut().for_each(|f| f.weight = 0.0);
        check(s, 3, "sum to 0");
        check(
            FieldScoring {
                fields: vec![],
                prefilter: 0.5,
            },
            0,
            "no fields",
        );
    }
}
