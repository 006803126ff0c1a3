//! Calibrated match probabilities: a monotone map from Dice scores to the probability
//! that a candidate pair is the same person, fit on labelled pairs by isotonic regression
//! (pool-adjacent-violators), stored in a small JSON file tied to the encoding schema
//! (filter length and hardening) and read back by `palermo pprl match`.
//!
//! The probability is that of a *candidate pair* at that score being a true match, given
//! the mix of candidates in the fitting data (pairs at or above the fit's threshold, best
//! few per record). It transfers to data with a similar share of true matches among
//! candidates; a very different base rate shifts it, which is why the file records what it
//! was fit on.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The `format` value of calibration files.
pub const FORMAT: &str = "palermo-pprl-calibration";

/// A score band, from the calibrated probability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    /// Below the medium cut.
    Low,
    /// From the medium cut up to the high cut.
    Medium,
    /// At or above the high cut.
    High,
}

impl Band {
    /// `low`, `medium` or `high`.
    pub fn name(self) -> &'static str {
        match self {
            Band::Low => "low",
            Band::Medium => "medium",
            Band::High => "high",
        }
    }
}

/// A fitted calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// Always [`FORMAT`].
    pub format: String,
    /// Length of the encodings it applies to, in bits.
    pub n_bits: usize,
    /// Hardening of the encodings it applies to (`none` for clkhash files).
    pub hardening: String,
    /// Where the labelled pairs came from (free text).
    pub fitted_on: String,
    /// Labelled pairs used.
    pub pairs: usize,
    /// Of which true matches.
    pub positives: usize,
    /// Lowest score among the pairs (below it the first point's probability applies).
    pub min_score: f64,
    /// Probability at which a pair is `medium`.
    pub medium: f64,
    /// Probability at which a pair is `high`.
    pub high: f64,
    /// `(score, probability)` points, scores ascending, probabilities non-decreasing;
    /// linear in between.
    pub points: Vec<(f64, f64)>,
}

impl Calibration {
    /// Fits a calibration on `(score, is_match)` pairs.
    ///
    /// Errors: no pairs, a score outside `[0, 1]`, band cuts not `0 < medium ≤ high ≤ 1`.
    pub fn fit(
        labelled: &[(f64, bool)],
        n_bits: usize,
        hardening: &str,
        fitted_on: &str,
    ) -> Result<Calibration> {
        if labelled.is_empty() {
            return Err(Error::InvalidConfig {
                field: "calibration",
                reason: "no labelled pairs to fit on".to_owned(),
            });
        }
        if let Some((s, _)) = labelled.iter().find(|(s, _)| !(0.0..=1.0).contains(s)) {
            return Err(Error::InvalidConfig {
                field: "calibration",
                reason: format!("score {s} is not in [0, 1]"),
            });
        }
        let mut sorted = labelled.to_vec();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Pool adjacent violators: blocks of (sum of labels, count, sum of scores).
        let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
        for &(s, y) in &sorted {
            blocks.push((if y { 1.0 } else { 0.0 }, 1.0, s));
            while blocks.len() >= 2 {
                let (y2, w2, s2) = blocks[blocks.len() - 1];
                let (y1, w1, s1) = blocks[blocks.len() - 2];
                if y1 / w1 < y2 / w2 {
                    break;
                }
                blocks.pop();
                let last = blocks.len() - 1;
                blocks[last] = (y1 + y2, w1 + w2, s1 + s2);
            }
        }
        // Each block becomes a point at its mean score; a small prior keeps probabilities
        // off 0 and 1 where a block is small, and a running maximum keeps them monotone.
        let mut points: Vec<(f64, f64)> = Vec::with_capacity(blocks.len());
        let mut floor = 0.0f64;
        for (y, w, s) in blocks {
            let p = ((y + 0.5) / (w + 1.0)).max(floor);
            floor = p;
            points.push((s / w, p));
        }
        Ok(Calibration {
            format: FORMAT.to_owned(),
            n_bits,
            hardening: hardening.to_owned(),
            fitted_on: fitted_on.to_owned(),
            pairs: sorted.len(),
            positives: sorted.iter().filter(|(_, y)| *y).count(),
            min_score: sorted[0].0,
            medium: 0.5,
            high: 0.9,
            points,
        })
    }

    /// The calibrated probability of a pair with Dice `score`.
    pub fn probability(&self, score: f64) -> f64 {
        let pts = &self.points;
        let Some(&(first_s, first_p)) = pts.first() else {
            return 0.0;
        };
        if score <= first_s {
            return first_p;
        }
        let i = pts.partition_point(|&(s, _)| s <= score);
        match pts.get(i) {
            None => pts[pts.len() - 1].1,
            Some(&(s1, p1)) => {
                let (s0, p0) = pts[i - 1];
                if s1 - s0 <= f64::EPSILON {
                    p1
                } else {
                    p0 + (p1 - p0) * (score - s0) / (s1 - s0)
                }
            }
        }
    }

    /// The band of a probability.
    pub fn band(&self, probability: f64) -> Band {
        if probability >= self.high {
            Band::High
        } else if probability >= self.medium {
            Band::Medium
        } else {
            Band::Low
        }
    }

    /// The lowest Dice score whose probability reaches `p` (1.0 when none does): pairs
    /// below it need not be scored.
    pub fn score_for(&self, p: f64) -> f64 {
        let Some(i) = self.points.iter().position(|&(_, q)| q >= p) else {
            return 1.0;
        };
        if i == 0 {
            return 0.0;
        }
        let ((s0, p0), (s1, p1)) = (self.points[i - 1], self.points[i]);
        if p1 - p0 <= f64::EPSILON {
            s1
        } else {
            s0 + (s1 - s0) * (p - p0) / (p1 - p0)
        }
    }

    /// The calibration as pretty JSON.
    pub fn to_json(&self) -> String {
        // Serialising strings and numbers cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses a calibration file. Errors name `source_name` and the problem.
    pub fn from_json(text: &[u8], source_name: &str) -> Result<Calibration> {
        let bad = |reason: String| Error::MalformedEncodings {
            source_name: source_name.to_owned(),
            reason,
        };
        let c: Calibration = serde_json::from_slice(text)
            .map_err(|e| bad(format!("not a calibration file: {e}")))?;
        if c.format != FORMAT {
            return Err(bad(format!("format {:?}, expected {FORMAT:?}", c.format)));
        }
        if c.points.is_empty() {
            return Err(bad("no points".to_owned()));
        }
        let monotone = c
            .points
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1);
        let in_range = c
            .points
            .iter()
            .all(|&(s, p)| (0.0..=1.0).contains(&s) && (0.0..=1.0).contains(&p));
        if !monotone || !in_range {
            return Err(bad(
                "points must be in [0, 1] with scores and probabilities non-decreasing".to_owned(),
            ));
        }
        if !(c.medium > 0.0 && c.medium <= c.high && c.high <= 1.0) {
            return Err(bad(format!(
                "band cuts medium {} and high {} must satisfy 0 < medium <= high <= 1",
                c.medium, c.high
            )));
        }
        Ok(c)
    }

    /// Checks that the calibration applies to encodings of `n_bits` bits and `hardening`
    /// (`None`: a clkhash file, taken as `none`).
    pub fn check(&self, n_bits: usize, hardening: Option<&str>, source_name: &str) -> Result<()> {
        let hardening = hardening.unwrap_or("none");
        if self.n_bits != n_bits || self.hardening != hardening {
            return Err(Error::InvalidConfig {
                field: "calibration",
                reason: format!(
                    "{source_name} was fit on {}-bit encodings with hardening {}, not {n_bits}-bit with {hardening}",
                    self.n_bits, self.hardening
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fitted() -> Calibration {
        // Scores below 0.6 are never matches, above 0.9 always, in between half are.
        let mut pairs = Vec::new();
        for i in 0..100 {
            let s = f64::from(i) / 100.0;
            let y = s > 0.9 || (s >= 0.6 && i % 2 == 0);
            pairs.push((s, y));
        }
        Calibration::fit(&pairs, 1024, "balance", "test").unwrap()
    }

    #[test]
    fn fit_is_monotone_and_calibrated() {
        let c = fitted();
        assert!(c.probability(0.1) < 0.05, "{}", c.probability(0.1));
        assert!(c.probability(0.97) > 0.85, "{}", c.probability(0.97));
        let mid = c.probability(0.75);
        assert!((0.35..0.65).contains(&mid), "{mid}");
        let mut last = 0.0;
        for i in 0..=100 {
            let p = c.probability(f64::from(i) / 100.0);
            assert!(p >= last - 1e-12 && (0.0..=1.0).contains(&p));
            last = p;
        }
        assert_eq!(c.band(c.probability(0.99)), Band::High);
        assert_eq!(c.band(0.6), Band::Medium);
        assert_eq!(c.band(0.1).name(), "low");
        let cut = c.score_for(0.5);
        assert!(
            c.probability(cut + 1e-6) >= 0.5 - 1e-9 && cut > 0.5,
            "{cut}"
        );
        assert_eq!((c.pairs, c.positives), (100, 25));
    }

    #[test]
    fn json_round_trip_and_checks() {
        let c = fitted();
        let back = Calibration::from_json(c.to_json().as_bytes(), "c.json").unwrap();
        assert_eq!(back, c);
        assert!(c.check(1024, Some("balance"), "c.json").is_ok());
        let err = c.check(2048, None, "c.json").unwrap_err().to_string();
        assert!(
            err.contains("c.json was fit on 1024-bit encodings with hardening balance, not 2048-bit with none"),
            "{err}"
        );
        let err = Calibration::from_json(b"{}", "c.json")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("c.json: not a calibration file"), "{err}");
        let mut bad = c.clone();
        bad.points = vec![(0.5, 0.9), (0.6, 0.1)];
        let err = Calibration::from_json(bad.to_json().as_bytes(), "c.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("non-decreasing"), "{err}");
        assert!(Calibration::fit(&[], 8, "none", "").is_err());
        assert!(Calibration::fit(&[(1.5, true)], 8, "none", "").is_err());
    }
}
