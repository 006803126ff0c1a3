//! One module per subcommand.

pub(crate) mod demo;
pub(crate) mod evidence;
pub(crate) mod export;
pub(crate) mod federation;
pub(crate) mod hits;
pub(crate) mod import;
pub(crate) mod law;
pub(crate) mod ledger;
pub(crate) mod peer;
pub(crate) mod policy;
pub(crate) mod pprl;
pub(crate) mod resolve;
pub(crate) mod serve;
pub(crate) mod sim;
pub(crate) mod stats;
pub(crate) mod user;
