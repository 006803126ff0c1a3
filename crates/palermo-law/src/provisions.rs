//! Article summaries from `provisions.md`, each with its S/K check flag.

use serde::Serialize;

use crate::error::{Error, Result};

/// One article summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Provision {
    /// Instrument id (`PALERMO_TIP`, `UNTOC`, `CETS197`, `ILO_P029`, `ACTIP`, `EU_DIR_2011_36`).
    pub instrument_id: String,
    /// Article label as written, e.g. `Art. 18` or `Art. 3(a)`; `general` for section D.
    pub article: String,
    /// Heading after the article number, e.g. "mutual legal assistance (MLA)".
    pub title: String,
    /// Summary in the knowledge base's own words.
    pub summary: String,
    /// The check column as written (`S`, `K`, or a mix with notes).
    pub check: String,
    /// True only when the check is S throughout; any K means "not verified
    /// against the official text".
    pub verified: bool,
}

/// Parses the three article tables and the section-D bullets of `provisions.md`.
pub(crate) fn parse_provisions(file: &str, text: &str) -> Result<Vec<Provision>> {
    let mut out = Vec::new();
    let mut instrument: Option<&'static str> = None;
    for (idx, line) in text.lines().enumerate() {
        let line_no = idx as u64 + 1;
        if let Some(heading) = line.strip_prefix("## ") {
            instrument = if heading.contains("(PALERMO_TIP)") {
                Some("PALERMO_TIP")
            } else if heading.contains("(UNTOC)") {
                Some("UNTOC")
            } else if heading.contains("CETS 197") {
                Some("CETS197")
            } else {
                None
            };
            continue;
        }
        if let Some(bullet) = line.strip_prefix("- **") {
            let Some((name, summary)) = bullet.split_once("**:") else {
                continue;
            };
            let id = if name.starts_with("ILO P029") {
                "ILO_P029"
            } else if name.starts_with("ACTIP") {
                "ACTIP"
            } else if name.starts_with("EU Directive") {
                "EU_DIR_2011_36"
            } else {
                continue;
            };
            let summary = summary.trim();
            // Section D mixes flags inside the text ("... : S. Other content: K.").
            let check = if summary.contains(": K") || summary.ends_with("K.") {
                "S/K (mixed)"
            } else {
                "S"
            };
            out.push(Provision {
                instrument_id: id.to_owned(),
                article: "general".to_owned(),
                title: name.trim().to_owned(),
                summary: summary.to_owned(),
                check: check.to_owned(),
                verified: !check.contains('K'),
            });
            continue;
        }
        let Some(id) = instrument else { continue };
        if !line.starts_with("| ") || line.starts_with("| Article") || line.starts_with("|---") {
            continue;
        }
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split(" | ")
            .map(str::trim)
            .collect();
        if cells.len() != 3 {
            return Err(Error::Malformed {
                file: file.to_owned(),
                line: line_no,
                field: "row".to_owned(),
                reason: format!(
                    "expected 3 cells (article, summary, check), found {}",
                    cells.len()
                ),
            });
        }
        let (article, title) = match cells[0].split_once(" – ") {
            Some((a, t)) => (a.trim(), t.trim()),
            None => (cells[0], ""),
        };
        let check = cells[2].to_owned();
        out.push(Provision {
            instrument_id: id.to_owned(),
            article: article.to_owned(),
            title: title.to_owned(),
            summary: cells[1].replace("**", ""),
            verified: !check.contains('K'),
            check,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rows_and_flags() {
        let md = "## B. UN Convention (UNTOC)\n\n| Article | Summary | Check |\n|---|---|---|\n| Art. 19 – joint investigations | Consider agreements. | K |\n| Art. 38 – entry into force | In force 29 Sep 2003. | S (UNTC page) |\n\n## D. Other\n\n- **ACTIP (2015)**: Regional. S (ASEAN). It entered into force. S.\n- **ILO P029 (2014)**: Adds duties. Entry: S (ijrcenter.org). Other content: K.\n";
        let got: Vec<(String, String, String, bool)> = parse_provisions("p.md", md)
            .expect("parses")
            .into_iter()
            .map(|p| (p.instrument_id, p.article, p.title, p.verified))
            .collect();
        let expect = [
            ("UNTOC", "Art. 19", "joint investigations", false),
            ("UNTOC", "Art. 38", "entry into force", true),
            ("ACTIP", "general", "ACTIP (2015)", true),
            ("ILO_P029", "general", "ILO P029 (2014)", false),
        ];
        let expect: Vec<(String, String, String, bool)> = expect
            .iter()
            .map(|(a, b, c, d)| ((*a).into(), (*b).into(), (*c).into(), *d))
            .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn rejects_broken_rows() {
        let md = "## A. Palermo Protocol (PALERMO_TIP)\n| Art. 3 – x | only two |\n";
        let err = parse_provisions("p.md", md).map_err(|e| e.to_string());
        assert_eq!(
            err,
            Err(
                "p.md:2: field 'row': expected 3 cells (article, summary, check), found 2"
                    .to_owned()
            )
        );
    }
}
