//! The model's error type.

/// Everything that can be wrong with a value, a property or an entity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The schema name is not one Palermo knows.
    #[error("unknown schema `{name}`")]
    UnknownSchema {
        /// The name as given.
        name: String,
    },
    /// The property does not exist on the schema.
    #[error("unknown property `{property}` for schema {schema}")]
    UnknownProperty {
        /// The schema name.
        schema: String,
        /// The property name as given.
        property: String,
    },
    /// A value does not fit its property's type.
    #[error("invalid value {value:?} for property `{property}`: {reason}")]
    InvalidValue {
        /// The property name.
        property: String,
        /// The offending value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A marking (TLP level, handling code, purpose...) could not be parsed.
    #[error("unknown marking {value:?}: {reason}")]
    InvalidMarking {
        /// The offending text.
        value: String,
        /// What is expected instead.
        reason: String,
    },
    /// An entity id is empty or too long.
    #[error("invalid entity id {id:?}: {reason}")]
    InvalidId {
        /// The offending id.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A FollowTheMoney JSON document is malformed.
    #[error("invalid FollowTheMoney entity: {reason}")]
    InvalidFtm {
        /// What is wrong with it.
        reason: String,
    },
}

/// `Result` with the model's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
