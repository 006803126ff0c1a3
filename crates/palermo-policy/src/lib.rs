//! palermo-policy: the sharing policy, in Cedar.
//!
//! Every view, search, export, hit/no-hit answer and disclosure of a record
//! is decided by [`decide`] against a Cedar policy set validated against the
//! shipped schema ([`SCHEMA_TEXT`]). The default set ([`DEFAULT_POLICIES`],
//! described in plain language in [`POLICY_README`]) implements TLP 2.0,
//! the legal-basis rule (from palermo-law), purpose limitation, retention,
//! originator control, victim protection and hit/no-hit answers that reveal
//! nothing. Deny by default; a matching `forbid` beats every `permit`.
//!
//! Each decision is handed to a [`DecisionSink`]: the ledger's seam. The
//! crate is pure: callers pass policy text, worlds and dates as values.
//!
//! Speed: Cedar evaluates only the policies whose action scope can match
//! the request's action, and [`filter`] asks Cedar once per class of records
//! with identical policy-visible attributes within a batch (each record still
//! gets its own [`Decision`] in the sink); a policy set that names a record
//! literal turns that reuse off.

mod decide;
mod error;
mod policies;
mod translate;
mod world;

pub use crate::decide::{
    Action, BasisSource, Decider, Decision, DecisionSink, Filter, HitAnswer, LawBasis, Override,
    Query, RequestInfo, decide, filter, hit_answer,
};
pub use crate::error::{Error, Result};
pub use crate::policies::{
    DEFAULT_POLICIES, LoadOptions, NODE_POLICIES, NODE_SCHEMA_TEXT, NodeDecision, POLICY_README,
    Policies, PolicyStore, PolicySummary, SCHEMA_TEXT, VersionInfo, node_schema, schema,
};
pub use crate::translate::{effective_tlp, handling_to_tlp, tlp_to_handling};
pub use crate::world::{NodeInfo, RecordInfo, UserInfo, UserRole, World, WorldInfo};
