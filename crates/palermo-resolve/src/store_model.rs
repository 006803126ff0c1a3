//! The trained model as stored JSON, so that later runs in a node's store reuse it.
//!
//! The JSON names each field and its levels, so a stored model can be checked against
//! the comparison code that reads it: a field or level this build does not know is an
//! error rather than a silently shifted weight.

use serde::{Deserialize, Serialize};

use crate::compare::{FIELDS, N_FIELDS};
use crate::error::{Error, Result};
use crate::model::{FieldParams, MAX_LEVELS, Model};

/// Format version of [`StoredModel`].
pub const MODEL_FORMAT: u32 = 1;

/// One field's parameters as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredField {
    /// The field name (`givenName`, `birthDate`...).
    pub field: String,
    /// Level labels, best first.
    pub levels: Vec<String>,
    /// P(level | match).
    pub m: Vec<f64>,
    /// P(level | non-match).
    pub u: Vec<f64>,
}

/// A trained Fellegi–Sunter model in its stored form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredModel {
    /// [`MODEL_FORMAT`].
    pub format: u32,
    /// The active fields.
    pub fields: Vec<StoredField>,
    /// Prior match probability of two random records.
    pub prior: f64,
    /// Match rate among candidate pairs (EM).
    pub candidate_match_rate: f64,
    /// EM iterations run.
    pub em_iterations: usize,
    /// Records counted for name term frequencies when trained.
    pub tf_records: u32,
    /// See [`Model::name_dependence`]; 1 (independent names) when absent, as in models
    /// stored before it existed.
    #[serde(default = "independent")]
    pub name_dependence: f64,
}

/// Birth-date levels of models stored before year-and-month agreement (one side without a
/// day) had a level of its own: it was part of "year".
const DATE_LEVELS_BEFORE_MONTH: [&str; 5] = ["exact", "close", "partial", "year", "different"];

/// A birth-date field stored with [`DATE_LEVELS_BEFORE_MONTH`], with "month" inserted and
/// given the "year" parameters, so the stored model scores every pair as it did when it
/// was trained; `None` for any other field.
fn upgrade_date_levels(sf: &StoredField) -> Option<StoredField> {
    let old = sf.field == crate::compare::Field::BirthDate.name()
        && sf.levels.iter().eq(DATE_LEVELS_BEFORE_MONTH.iter())
        && sf.m.len() == 5
        && sf.u.len() == 5;
    if !old {
        return None;
    }
    let insert = |v: &[f64]| {
        let mut v = v.to_vec();
        v.insert(3, v[3]);
        v
    };
    let mut levels = sf.levels.clone();
    levels.insert(3, "month".to_owned());
    Some(StoredField {
        field: sf.field.clone(),
        levels,
        m: insert(&sf.m),
        u: insert(&sf.u),
    })
}

fn independent() -> f64 {
    1.0
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidModel(reason.into())
}

impl Model {
    /// The model as JSON (see [`StoredModel`]).
    pub fn to_json(&self) -> String {
        let stored = StoredModel {
            format: MODEL_FORMAT,
            fields: self
                .fields
                .iter()
                .map(|f| StoredField {
                    field: f.field.name().to_owned(),
                    levels: f.levels.iter().map(|l| (*l).to_owned()).collect(),
                    m: f.m.clone(),
                    u: f.u.clone(),
                })
                .collect(),
            prior: self.prior,
            candidate_match_rate: self.candidate_match_rate,
            em_iterations: self.em_iterations,
            tf_records: self.tf_records,
            name_dependence: self.name_dependence,
        };
        serde_json::to_string(&stored).unwrap_or_default()
    }

    /// Reads a model written by [`Model::to_json`].
    pub fn from_json(text: &str) -> Result<Model> {
        let stored: StoredModel =
            serde_json::from_str(text).map_err(|e| invalid(format!("not a stored model: {e}")))?;
        if stored.format != MODEL_FORMAT {
            return Err(invalid(format!(
                "model format {} (this build reads {MODEL_FORMAT})",
                stored.format
            )));
        }
        if !(stored.prior > 0.0 && stored.prior < 1.0) {
            return Err(invalid(format!("prior {} is not in (0, 1)", stored.prior)));
        }
        let mut m = [[0.0; MAX_LEVELS]; N_FIELDS];
        let mut u = [[0.0; MAX_LEVELS]; N_FIELDS];
        let mut active = [false; N_FIELDS];
        let mut fields = Vec::new();
        for sf in &stored.fields {
            let upgraded = upgrade_date_levels(sf);
            let sf = upgraded.as_ref().unwrap_or(sf);
            let field = FIELDS
                .iter()
                .copied()
                .find(|f| f.name() == sf.field)
                .ok_or_else(|| invalid(format!("unknown field {:?}", sf.field)))?;
            let levels = field.levels();
            if sf.levels.len() != levels.len()
                || sf.levels.iter().zip(levels).any(|(a, b)| a != b)
                || sf.m.len() != levels.len()
                || sf.u.len() != levels.len()
            {
                return Err(invalid(format!(
                    "field {}: levels {:?} do not match this build's {:?}",
                    sf.field, sf.levels, levels
                )));
            }
            if sf
                .m
                .iter()
                .chain(&sf.u)
                .any(|p| !(p.is_finite() && *p > 0.0 && *p <= 1.0))
            {
                return Err(invalid(format!(
                    "field {}: a probability is not in (0, 1]",
                    sf.field
                )));
            }
            let f = field.index();
            if active[f] {
                return Err(invalid(format!("field {} appears twice", sf.field)));
            }
            active[f] = true;
            m[f][..levels.len()].copy_from_slice(&sf.m);
            u[f][..levels.len()].copy_from_slice(&sf.u);
            fields.push((
                f,
                FieldParams {
                    field,
                    levels: levels.to_vec(),
                    m: sf.m.clone(),
                    u: sf.u.clone(),
                },
            ));
        }
        fields.sort_by_key(|(f, _)| *f);
        Ok(Model {
            fields: fields.into_iter().map(|(_, p)| p).collect(),
            prior: stored.prior,
            candidate_match_rate: stored.candidate_match_rate,
            em_iterations: stored.em_iterations,
            tf_records: stored.tf_records,
            name_dependence: if stored.name_dependence.is_finite() && stored.name_dependence >= 1.0
            {
                stored.name_dependence
            } else {
                return Err(invalid(format!(
                    "name dependence {} is not a number of at least 1",
                    stored.name_dependence
                )));
            },
            m,
            u,
            active,
        })
    }

    /// The same model with term frequencies counted over `records` records (the store's
    /// resolved persons grow after training).
    pub fn with_tf_records(mut self, records: u32) -> Model {
        self.tf_records = records.max(1);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_stored_before_the_month_level_still_load() {
        let text = r#"{"format":1,"fields":[{"field":"birthDate","levels":["exact","close","partial","year","different"],"m":[0.7,0.04,0.01,0.24,0.01],"u":[4e-5,1e-3,6e-4,3e-3,0.99]}],"prior":0.001,"candidate_match_rate":0.1,"em_iterations":1,"tf_records":10}"#;
        let model = Model::from_json(text).unwrap();
        let date = &model.fields[0];
        assert_eq!(
            date.levels,
            ["exact", "close", "partial", "month", "year", "different"]
        );
        // "month" scores as "year" did when the model was trained.
        assert_eq!(date.m, [0.7, 0.04, 0.01, 0.24, 0.24, 0.01]);
        assert_eq!(date.u, [4e-5, 1e-3, 6e-4, 3e-3, 3e-3, 0.99]);
        // Written back, it is in this build's levels and reads the same.
        let again = Model::from_json(&model.to_json()).unwrap();
        assert_eq!(again.fields[0].levels, date.levels);
        assert_eq!(again.fields[0].m, date.m);
        // A birth date with other wrong levels is still refused.
        let wrong = text.replace(r#""year","different""#, r#""day","different""#);
        assert!(Model::from_json(&wrong).is_err());
    }

    #[test]
    fn bad_models_are_refused() {
        for text in [
            "",
            "{}",
            r#"{"format":2,"fields":[],"prior":0.1,"candidate_match_rate":0.1,"em_iterations":1,"tf_records":1}"#,
            r#"{"format":1,"fields":[],"prior":1.5,"candidate_match_rate":0.1,"em_iterations":1,"tf_records":1}"#,
            r#"{"format":1,"fields":[{"field":"shoeSize","levels":[],"m":[],"u":[]}],"prior":0.1,"candidate_match_rate":0.1,"em_iterations":1,"tf_records":1}"#,
            r#"{"format":1,"fields":[{"field":"gender","levels":["exact","different"],"m":[0.9],"u":[0.5,0.5]}],"prior":0.1,"candidate_match_rate":0.1,"em_iterations":1,"tf_records":1}"#,
        ] {
            assert!(Model::from_json(text).is_err(), "{text}");
        }
    }
}
