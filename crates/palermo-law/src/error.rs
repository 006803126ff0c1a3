//! The one error type of `palermo-law`.

/// Everything that can go wrong when loading, updating or asking the knowledge base.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A country code that is not ISO 3166-1 alpha-2 (nor `EU`).
    #[error("unknown country code '{code}'{}", hint(.suggestion))]
    UnknownCountry {
        /// The code as given.
        code: String,
        /// The closest known code, if any.
        suggestion: Option<String>,
    },
    /// An instrument id that the knowledge base does not hold.
    #[error("unknown instrument '{id}' (known: {known})")]
    UnknownInstrument {
        /// The id as given.
        id: String,
        /// The ids the knowledge base holds, comma-separated.
        known: String,
    },
    /// A row of a CSV or markdown file that cannot be used.
    #[error("{file}:{line}: field '{field}': {reason}")]
    Malformed {
        /// File name as given by the caller.
        file: String,
        /// 1-based line number (the header is line 1).
        line: u64,
        /// Column name.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A date that is not ISO 8601 (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`).
    #[error("invalid date '{text}': {reason}")]
    InvalidDate {
        /// The text as given.
        text: String,
        /// What is wrong.
        reason: String,
    },
    /// A date after today where only past or present dates make sense.
    #[error("{what} {date} is in the future (today is {today})")]
    FutureDate {
        /// Which date (e.g. "--on date", "consent_date").
        what: String,
        /// The date as given.
        date: String,
        /// Today's date as passed by the caller.
        today: String,
    },
    /// A conduct description that cannot be used.
    #[error("conduct field '{field}': {reason}")]
    InvalidConduct {
        /// The JSON field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// An update version that does not exist or cannot be reverted.
    #[error("version {version}: {reason}")]
    Version {
        /// The version asked for.
        version: u32,
        /// What is wrong.
        reason: String,
    },
    /// The embedded base data does not parse (a build defect, not user input).
    #[error("embedded knowledge base is corrupt: {0}")]
    Corrupt(String),
}

fn hint(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(code) => format!(" (did you mean '{code}'?)"),
        None => String::new(),
    }
}

/// `Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
