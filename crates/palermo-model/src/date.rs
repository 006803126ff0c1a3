//! ISO 8601 dates that may be partial (`1990`, `1990-04`, `1990-04-12`), as
//! FollowTheMoney uses them, optionally followed by a time of day.

use std::fmt;

/// A calendar date with optional month and day, and an optional time part.
///
/// Ordering compares year, then month, then day, with a missing part before
/// any present one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartialDate {
    /// Year, 1 to 9999.
    pub year: u16,
    /// Month, 1 to 12.
    pub month: Option<u8>,
    /// Day of the month; only present with a month.
    pub day: Option<u8>,
    /// The time of day exactly as given after `T` (e.g. `10:30:00Z`); only present with a day.
    pub time: Option<String>,
}

impl PartialDate {
    /// Parses `1990`, `1990-04`, `1990-04-12` or `1990-04-12T10:30:00Z`.
    ///
    /// Returns the reason when the text is not such a date (e.g. `1990-02-30`).
    pub fn parse(text: &str) -> Result<PartialDate, String> {
        let text = text.trim();
        // Compact `YYYYMMDD` (common in registries and FEBRL-style data).
        if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
            return PartialDate::parse(&format!("{}-{}-{}", &text[..4], &text[4..6], &text[6..]));
        }
        let (date, time) = match text.split_once(['T', ' ']) {
            Some((date, time)) => (date, Some(time)),
            None => (text, None),
        };
        let mut parts = date.split('-');
        let year = parts.next().ok_or_else(|| "empty date".to_owned())?;
        let year = parse_number(year, 4, "year")?;
        if year == 0 {
            return Err("year 0000 does not exist".to_owned());
        }
        let month = parts
            .next()
            .map(|m| parse_number(m, 2, "month"))
            .transpose()?;
        let day = parts
            .next()
            .map(|d| parse_number(d, 2, "day"))
            .transpose()?;
        if parts.next().is_some() {
            return Err("expected YYYY, YYYY-MM or YYYY-MM-DD".to_owned());
        }
        if let Some(month) = month {
            if !(1..=12).contains(&month) {
                return Err(format!("month {month} is not between 1 and 12"));
            }
            if let Some(day) = day {
                let last = days_in_month(year, month);
                if day == 0 || day > last {
                    return Err(format!("day {day} is not between 1 and {last}"));
                }
            }
        }
        let time = match time {
            Some(time) if day.is_none() => {
                return Err(format!("a time ({time}) needs a full date"));
            }
            Some(time) => Some(validate_time(time)?.to_owned()),
            None => None,
        };
        // The numbers were checked against their ranges above.
        Ok(PartialDate {
            year: year as u16,
            month: month.map(|m| m as u8),
            day: day.map(|d| d as u8),
            time,
        })
    }

    /// The date with only its year.
    pub fn year_only(&self) -> PartialDate {
        PartialDate {
            year: self.year,
            month: None,
            day: None,
            time: None,
        }
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(month) = self.month {
            write!(f, "-{month:02}")?;
        }
        if let Some(day) = self.day {
            write!(f, "-{day:02}")?;
        }
        if let Some(time) = &self.time {
            write!(f, "T{time}")?;
        }
        Ok(())
    }
}

fn parse_number(text: &str, width: usize, what: &str) -> Result<u32, String> {
    if text.len() != width || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} must be {width} digits, got {text:?}"));
    }
    text.parse()
        .map_err(|_| format!("{what} {text:?} is not a number"))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Checks `HH:MM[:SS[.fff]][Z|±HH:MM]` and returns it unchanged.
fn validate_time(time: &str) -> Result<&str, String> {
    let bad = || format!("time {time:?} is not HH:MM[:SS][Z|+HH:MM]");
    let (clock, zone) = match time.find(['Z', '+', '-']) {
        Some(idx) => time.split_at(idx),
        None => (time, ""),
    };
    let mut fields = clock.split(':');
    let hour = fields.next().ok_or_else(bad)?;
    let minute = fields.next().ok_or_else(bad)?;
    let second = fields.next();
    if fields.next().is_some() {
        return Err(bad());
    }
    let in_range = |text: &str, max: u32| {
        text.len() == 2 && text.parse::<u32>().map(|n| n <= max).unwrap_or(false)
    };
    if !in_range(hour, 23) || !in_range(minute, 59) {
        return Err(bad());
    }
    if let Some(second) = second {
        let whole = second.split('.').next().unwrap_or_default();
        if !in_range(whole, 60) {
            return Err(bad());
        }
    }
    let zone_ok = zone.is_empty()
        || zone == "Z"
        || (zone.len() == 6
            && in_range(&zone[1..3], 23)
            && &zone[3..4] == ":"
            && in_range(&zone[4..6], 59));
    if !zone_ok {
        return Err(bad());
    }
    Ok(time)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: Result<&str, &str>) {
        let got = PartialDate::parse(input).map(|d| d.to_string());
        match expect {
            Ok(text) => assert_eq!(got.as_deref(), Ok(text), "{input}"),
            Err(fragment) => {
                let err = got.expect_err(input);
                assert!(err.contains(fragment), "{input}: {err}");
            }
        }
    }

    #[test]
    fn parses_full_and_partial_dates() {
        check("1990", Ok("1990"));
        check("1990-04", Ok("1990-04"));
        check("1990-04-12", Ok("1990-04-12"));
        check("19900412", Ok("1990-04-12"));
        check("19901331", Err("month 13"));
        check(" 2000-02-29 ", Ok("2000-02-29"));
        check("2021-03-04T10:30:00Z", Ok("2021-03-04T10:30:00Z"));
        check("2021-03-04T10:30+02:00", Ok("2021-03-04T10:30+02:00"));
    }

    #[test]
    fn rejects_bad_dates() {
        check("", Err("year must be 4 digits"));
        check("90", Err("year must be 4 digits"));
        check("1990-13", Err("month 13"));
        check("1990-02-29", Err("day 29 is not between 1 and 28"));
        check("1900-02-29", Err("day 29"));
        check("0000", Err("year 0000"));
        check("1990-04-12-01", Err("expected YYYY"));
        check("12/04/1990", Err("year must be 4 digits"));
        check("1990T10:00", Err("needs a full date"));
        check("2021-03-04T25:00", Err("is not HH:MM"));
    }

    #[test]
    fn orders_partial_before_full() {
        let a = PartialDate::parse("1990").unwrap();
        let b = PartialDate::parse("1990-01").unwrap();
        assert!(a < b);
        assert_eq!(b.year_only(), a);
    }
}
