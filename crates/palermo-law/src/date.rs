//! Calendar dates as the knowledge base writes them: full ISO dates and
//! partial ones (`2017`, `2015-11`), with the bounds a partial date allows.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::error::{Error, Result};

/// A full calendar date (proleptic Gregorian), ordered chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// Builds a date, checking month and day.
    pub fn new(year: i32, month: u8, day: u8) -> Result<Date> {
        if !(1..=12).contains(&month) {
            return Err(invalid(
                &format!("{year}-{month}-{day}"),
                "month must be 01-12",
            ));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(invalid(
                &format!("{year}-{month:02}-{day}"),
                "no such day in that month",
            ));
        }
        Ok(Date { year, month, day })
    }

    /// Parses `YYYY-MM-DD` only.
    pub fn parse(text: &str) -> Result<Date> {
        match PartialDate::parse(text)? {
            PartialDate {
                year,
                month: Some(month),
                day: Some(day),
            } => Date::new(year, month, day),
            _ => Err(invalid(text, "a full date YYYY-MM-DD is needed")),
        }
    }

    /// The date `days` days after 1970-01-01 (negative: before).
    pub fn from_unix_days(days: i64) -> Date {
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// Days since 1970-01-01.
    pub fn unix_days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` days later.
    pub fn add_days(self, days: i64) -> Date {
        Date::from_unix_days(self.unix_days() + days)
    }

    /// The same day `months` months later (clamped to the month's last day).
    pub fn add_months(self, months: u32) -> Date {
        let total = i64::from(self.year) * 12 + i64::from(self.month) - 1 + i64::from(months);
        let year = total.div_euclid(12) as i32;
        let month = (total.rem_euclid(12) + 1) as u8;
        Date {
            year,
            month,
            day: self.day.min(days_in_month(year, month)),
        }
    }

    /// The first day of the month after this date's month.
    pub fn first_of_next_month(self) -> Date {
        let next = Date { day: 1, ..self }.add_months(1);
        Date { day: 1, ..next }
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An ISO 8601 date that may lack its month or day (`2017`, `2015-11`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartialDate {
    year: i32,
    month: Option<u8>,
    day: Option<u8>,
}

impl PartialDate {
    /// Parses `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<PartialDate> {
        let text = text.trim();
        let mut parts = text.split('-');
        let year = parts
            .next()
            .filter(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|y| y.parse::<i32>().ok())
            .ok_or_else(|| invalid(text, "expected YYYY, YYYY-MM or YYYY-MM-DD"))?;
        let mut number = |name: &str| -> Result<Option<u8>> {
            match parts.next() {
                None => Ok(None),
                Some(p) if p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()) => {
                    p.parse::<u8>().map(Some).map_err(|_| invalid(text, name))
                }
                Some(_) => Err(invalid(text, &format!("{name} must be two digits"))),
            }
        };
        let month = number("month")?;
        let day = if month.is_some() {
            number("day")?
        } else {
            None
        };
        if parts.next().is_some() {
            return Err(invalid(text, "expected YYYY, YYYY-MM or YYYY-MM-DD"));
        }
        if let Some(m) = month {
            Date::new(year, m, day.unwrap_or(1))?;
        }
        Ok(PartialDate { year, month, day })
    }

    /// The earliest full date this partial date allows.
    pub fn earliest(self) -> Date {
        Date {
            year: self.year,
            month: self.month.unwrap_or(1),
            day: self.day.unwrap_or(1),
        }
    }

    /// The latest full date this partial date allows.
    pub fn latest(self) -> Date {
        let month = self.month.unwrap_or(12);
        Date {
            year: self.year,
            month,
            day: self.day.unwrap_or(days_in_month(self.year, month)),
        }
    }

    /// True when year, month and day are all given.
    pub fn is_full(self) -> bool {
        self.day.is_some()
    }
}

impl From<Date> for PartialDate {
    fn from(d: Date) -> PartialDate {
        PartialDate {
            year: d.year,
            month: Some(d.month),
            day: Some(d.day),
        }
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
        }
        if let Some(d) = self.day {
            write!(f, "-{d:02}")?;
        }
        Ok(())
    }
}

impl Serialize for PartialDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Finds the first `YYYY-MM-DD` (or `YYYY-MM`) at the start of `text` or after
/// `marker` inside it, e.g. "2003-12-25 (art. 17)" → 2003-12-25.
pub(crate) fn leading_date(text: &str) -> Option<PartialDate> {
    let head: String = text
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    PartialDate::parse(head.trim_end_matches('-')).ok()
}

/// The full dates (`YYYY-MM-DD`) that appear anywhere in `text`, in order.
pub(crate) fn dates_in(text: &str) -> Vec<Date> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 10 <= bytes.len() {
        let window = &text[i..i + 10];
        let shape = window.bytes().enumerate().all(|(k, b)| {
            if k == 4 || k == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
        let bounded = (i == 0 || !bytes[i - 1].is_ascii_digit())
            && bytes.get(i + 10).is_none_or(|b| !b.is_ascii_digit());
        if shape
            && bounded
            && let Ok(d) = Date::parse(window)
        {
            out.push(d);
            i += 10;
            continue;
        }
        i += 1;
    }
    out
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

fn invalid(text: &str, reason: &str) -> Error {
    Error::InvalidDate {
        text: text.to_owned(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_partial_dates_with_bounds() {
        let check = |input: &str, expect: Option<(&str, &str)>| {
            let got = PartialDate::parse(input)
                .ok()
                .map(|d| (d.earliest().to_string(), d.latest().to_string()));
            let expect = expect.map(|(a, b)| (a.to_owned(), b.to_owned()));
            assert_eq!(got, expect, "{input}");
        };
        check("2003-09-24", Some(("2003-09-24", "2003-09-24")));
        check("2015-11", Some(("2015-11-01", "2015-11-30")));
        check("2024-02", Some(("2024-02-01", "2024-02-29")));
        check("2017", Some(("2017-01-01", "2017-12-31")));
        check("2017-13", None);
        check("2017-02-30", None);
        check("17-01-01", None);
        check("2017/01/01", None);
        check("", None);
    }

    #[test]
    fn unix_days_round_trip() {
        for days in [-800_000_i64, -1, 0, 1, 11_016, 20_000, 60_000] {
            assert_eq!(Date::from_unix_days(days).unix_days(), days);
        }
        assert_eq!(Date::from_unix_days(0).to_string(), "1970-01-01");
        assert_eq!(
            Date::parse("2003-09-24")
                .map(|d| d.add_days(30).to_string())
                .ok(),
            Some("2003-10-24".into())
        );
        assert_eq!(
            Date::parse("2021-01-31")
                .map(|d| d.add_months(1).to_string())
                .ok(),
            Some("2021-02-28".into())
        );
        assert_eq!(
            Date::parse("2021-11-15")
                .map(|d| d.first_of_next_month().to_string())
                .ok(),
            Some("2021-12-01".into())
        );
    }

    #[test]
    fn finds_dates_in_text() {
        let got: Vec<String> = dates_in("between 2016-01-25 and 2017-01-05; not 12016-01-01")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(got, ["2016-01-25", "2017-01-05"]);
        assert_eq!(
            leading_date("2003-12-25 (art. 17)").map(|d| d.to_string()),
            Some("2003-12-25".into())
        );
        assert_eq!(
            leading_date("2017-03 (30th day)").map(|d| d.to_string()),
            Some("2017-03".into())
        );
        assert_eq!(leading_date("n/a"), None);
    }
}
