//! Loading policy sets: parse, check ids, validate against the schema,
//! refuse empty sets, and keep the previous set active on any error.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::OnceLock;

use cedar_policy::{
    ActionConstraint, Authorizer, Context, Decision as CedarDecision, Effect, Policy, PolicyId,
    PolicySet, Request, ResourceConstraint, RestrictedExpression, Schema, SchemaFragment,
    ValidationMode, Validator,
};
use serde::Serialize;

use crate::world::{action_uid, node_uid, user_uid};
use crate::{Action, Error, Result, World};

/// Whether `policy` can tell two records with equal attributes apart: its
/// resource scope is `==` or `in` a specific entity, or its scope or
/// conditions hold a `Palermo::Record` entity literal anywhere. Asked of
/// Cedar's parsed policy (scope constraint and entity literals), not of the
/// text, so a comment or a string mentioning a record cannot switch it on
/// and no spelling (spaces, namespaces) can switch it off.
fn names_a_record(policy: &Policy) -> bool {
    let scoped = match policy.resource_constraint() {
        ResourceConstraint::Any | ResourceConstraint::Is(_) => false,
        ResourceConstraint::Eq(_) | ResourceConstraint::In(_) | ResourceConstraint::IsIn(..) => {
            true
        }
    };
    scoped
        || policy
            .entity_literals()
            .iter()
            .any(|uid| uid.type_name().basename() == "Record")
}

/// The Cedar schema shipped with Palermo (`policies/palermo.cedarschema`).
pub const SCHEMA_TEXT: &str = include_str!("../policies/palermo.cedarschema");
/// The schema fragment of operations on a node's own API (`policies/node.cedarschema`).
pub const NODE_SCHEMA_TEXT: &str = include_str!("../policies/node.cedarschema");
/// The default policy set shipped with Palermo (`policies/default.cedar`).
pub const DEFAULT_POLICIES: &str = include_str!("../policies/default.cedar");
/// The default policies for operations on a node's own API (`policies/node.cedar`),
/// part of the embedded default set.
pub const NODE_POLICIES: &str = include_str!("../policies/node.cedar");
/// The plain-language description of the default policies (`policies/README.md`).
pub const POLICY_README: &str = include_str!("../policies/README.md");

/// The parsed shipped schema.
pub fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        // The shipped schema is checked by the crate's tests; it cannot fail here.
        #[allow(clippy::expect_used)]
        let (schema, _warnings) = Schema::from_cedarschema_str(SCHEMA_TEXT)
            .expect("invariant: the shipped schema parses");
        schema
    })
}

/// The shipped schema with the node-operation fragment ([`NODE_SCHEMA_TEXT`]):
/// policies whose action scope names `operate` are validated against it.
pub fn node_schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        // Both shipped fragments are checked by the crate's tests; they cannot fail here.
        #[allow(clippy::expect_used)]
        let fragments = [SCHEMA_TEXT, NODE_SCHEMA_TEXT].map(|text| {
            SchemaFragment::from_cedarschema_str(text)
                .expect("invariant: the shipped schema fragments parse")
                .0
        });
        #[allow(clippy::expect_used)]
        Schema::from_schema_fragments(fragments)
            .expect("invariant: the shipped schema fragments combine")
    })
}

/// Whether `policy`'s action scope names the node-level action `operate`.
fn names_operate(policy: &cedar_policy::Policy) -> bool {
    let uid = action_uid(NODE_ACTION);
    match policy.action_constraint() {
        ActionConstraint::Eq(a) => a == uid,
        ActionConstraint::In(list) => list.contains(&uid),
        _ => false,
    }
}

/// The Cedar action of operations on a node's own API.
const NODE_ACTION: &str = "operate";

/// Options for loading a policy set.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Accept a set with no policies (which denies everything).
    pub allow_empty: bool,
}

/// One policy of a set, as reported by `policy show`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicySummary {
    /// The `@id` annotation.
    pub id: String,
    /// `permit` or `forbid`.
    pub effect: &'static str,
    /// The `@reason` annotation, or an empty string.
    pub reason: String,
}

/// A validated policy set with its source text and digest.
#[derive(Debug, Clone)]
pub struct Policies {
    set: PolicySet,
    source_name: String,
    text: String,
    digest: String,
    summaries: Vec<PolicySummary>,
    names_records: bool,
    /// For each action (in [`Action::ALL`] order), the policies whose action
    /// scope can match it: the others can never apply, so Cedar need not
    /// look at them. The shipped schema has no action groups, so `action in
    /// [A, B]` matches exactly A and B.
    by_action: Vec<PolicySet>,
}

impl Policies {
    /// Parses `text` (named `source_name` in errors), checks that every policy
    /// has a unique `@id`, validates it against [`schema`] in strict mode and
    /// refuses an empty set unless `options.allow_empty`.
    pub fn parse(source_name: &str, text: &str, options: LoadOptions) -> Result<Policies> {
        let parsed = PolicySet::from_str(text).map_err(|err| Error::Syntax {
            source_name: source_name.to_owned(),
            message: diagnostics(text, err.iter().map(|e| e as &dyn miette::Diagnostic)),
        })?;
        if parsed.templates().next().is_some() {
            return Err(Error::PolicyId {
                source_name: source_name.to_owned(),
                index: 0,
                reason: "policy templates are not supported; write static policies".to_owned(),
            });
        }
        let mut set = PolicySet::new();
        let mut seen = HashSet::new();
        let mut summaries = Vec::new();
        // `policies()` iterates in an unspecified order; sort by source position
        // so that reported indexes and summaries follow the file.
        let mut policies: Vec<_> = parsed.policies().collect();
        // A policy naming a record can tell records with equal attributes
        // apart; batch filtering must then evaluate each one.
        let names_records = policies.iter().any(|p| names_a_record(p));
        policies.sort_by_key(|p| {
            p.id()
                .to_string()
                .strip_prefix("policy")
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(usize::MAX)
        });
        for (idx, policy) in policies.into_iter().enumerate() {
            let index = idx + 1;
            let id_error = |reason: String| Error::PolicyId {
                source_name: source_name.to_owned(),
                index,
                reason,
            };
            let Some(id) = policy.annotation("id") else {
                return Err(id_error(
                    "every policy needs an @id(\"...\") annotation".to_owned(),
                ));
            };
            if id.trim().is_empty() {
                return Err(id_error("@id must not be empty".to_owned()));
            }
            if !seen.insert(id.to_owned()) {
                return Err(id_error(format!("duplicate @id {id:?}")));
            }
            summaries.push(PolicySummary {
                id: id.to_owned(),
                effect: match policy.effect() {
                    Effect::Permit => "permit",
                    Effect::Forbid => "forbid",
                },
                reason: policy.annotation("reason").unwrap_or_default().to_owned(),
            });
            set.add(policy.new_id(PolicyId::new(id)))
                .map_err(|err| id_error(err.to_string()))?;
        }
        if set.is_empty() && !options.allow_empty {
            return Err(Error::Empty {
                source_name: source_name.to_owned(),
            });
        }
        // Policies scoped to `operate` are checked against the schema with the
        // node fragment; all others against the record schema, so that an
        // unscoped policy about records stays valid.
        let (mut node_set, mut record_set) = (PolicySet::new(), PolicySet::new());
        for policy in set.policies() {
            let target = if names_operate(policy) {
                &mut node_set
            } else {
                &mut record_set
            };
            target
                .add(policy.clone())
                .map_err(|err| Error::Internal(err.to_string()))?;
        }
        for (part, schema) in [(&record_set, schema()), (&node_set, node_schema())] {
            let validation = Validator::new(schema.clone()).validate(part, ValidationMode::Strict);
            if !validation.validation_passed() {
                return Err(Error::Invalid {
                    source_name: source_name.to_owned(),
                    message: diagnostics(
                        text,
                        validation
                            .validation_errors()
                            .map(|e| e as &dyn miette::Diagnostic),
                    ),
                });
            }
        }
        let by_action = Action::ALL
            .iter()
            .map(|&action| slice_for(&set, action))
            .collect::<Result<Vec<_>>>()?;
        Ok(Policies {
            by_action,
            set,
            source_name: source_name.to_owned(),
            text: text.to_owned(),
            digest: digest(text),
            summaries,
            names_records,
        })
    }

    /// The default policy set shipped with the binary: [`DEFAULT_POLICIES`]
    /// followed by [`NODE_POLICIES`].
    pub fn embedded() -> Policies {
        // The shipped set is validated by the crate's tests; it cannot fail here.
        #[allow(clippy::expect_used)]
        Policies::parse(
            "default",
            &format!("{DEFAULT_POLICIES}\n{NODE_POLICIES}"),
            LoadOptions { allow_empty: false },
        )
        .expect("invariant: the shipped policies validate")
    }

    /// The Cedar policy set.
    pub fn set(&self) -> &PolicySet {
        &self.set
    }

    /// The policies that can apply to `action`.
    pub(crate) fn set_for(&self, action: Action) -> &PolicySet {
        let idx = Action::ALL.iter().position(|&a| a == action);
        idx.and_then(|i| self.by_action.get(i)).unwrap_or(&self.set)
    }

    /// Where the text came from.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// The source text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// A stable digest of the source text (`fnv1a64:` + 16 hex digits).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The policies in file order.
    pub fn summaries(&self) -> &[PolicySummary] {
        &self.summaries
    }

    /// Whether a policy names a specific record (a `Palermo::Record::"…"`
    /// literal anywhere, or a resource scope `==` / `in` an entity), so that
    /// records with equal attributes may be decided differently and no
    /// decision may be reused for another record.
    pub fn names_records(&self) -> bool {
        self.names_records
    }

    /// The summary of the policy with `id`, if any.
    pub fn summary(&self, id: &str) -> Option<&PolicySummary> {
        self.summaries.iter().find(|s| s.id == id)
    }
}

/// The outcome of a node-level decision (action `operate` on the node
/// itself): requests to a node's API that have no record as their object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeDecision {
    /// Whether the operation is allowed.
    pub allowed: bool,
    /// User id.
    pub principal: String,
    /// The operation (`health`, `metrics`, `openapi`, `ledger`, `import`, `search`, `view`).
    pub operation: String,
    /// The node operated on.
    pub node: String,
    /// Ids of the policies that determined the decision (empty: denied by default).
    pub determining: Vec<String>,
    /// Evaluation errors (a policy that errors is skipped; the decision stays safe).
    pub errors: Vec<String>,
    /// Digest of the policy set used.
    pub policy_digest: String,
}

impl Policies {
    /// Decides whether `principal` may perform `operation` on `node`'s API
    /// (the Cedar action `operate` with the node as resource; only policies
    /// that name it, or whose action scope is unconstrained, can apply). Errors when
    /// the world does not know the user or the node.
    pub fn decide_node(
        &self,
        world: &World,
        principal: &str,
        node: &str,
        operation: &str,
    ) -> Result<NodeDecision> {
        for (field, known) in [
            ("user", world.user(principal).is_some()),
            ("node", world.node(node).is_some()),
        ] {
            if !known {
                let id = if field == "user" { principal } else { node };
                return Err(Error::Query {
                    field: field.to_owned(),
                    reason: format!("unknown {field} {id:?}"),
                });
            }
        }
        let context = Context::from_pairs([(
            "operation".to_owned(),
            RestrictedExpression::new_string(operation.to_owned()),
        )])
        .map_err(|err| Error::Internal(err.to_string()))?;
        let request = Request::new(
            user_uid(principal),
            action_uid(NODE_ACTION),
            node_uid(node),
            context,
            None,
        )
        .map_err(|err| Error::Internal(err.to_string()))?;
        let response = Authorizer::new().is_authorized(&request, &self.set, world.entities());
        let mut determining: Vec<String> = response
            .diagnostics()
            .reason()
            .map(ToString::to_string)
            .collect();
        determining.sort_unstable();
        Ok(NodeDecision {
            allowed: response.decision() == CedarDecision::Allow,
            principal: principal.to_owned(),
            operation: operation.to_owned(),
            node: node.to_owned(),
            determining,
            errors: response
                .diagnostics()
                .errors()
                .map(ToString::to_string)
                .collect(),
            policy_digest: self.digest.clone(),
        })
    }
}

/// One loaded version, as listed by [`PolicyStore::versions`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionInfo {
    /// 1 for the first set loaded, then counting up.
    pub version: u64,
    /// Where the text came from.
    pub source_name: String,
    /// Digest of the text.
    pub digest: String,
    /// Number of policies.
    pub n_policies: usize,
}

/// The active policy set of a node, with the versions loaded before it.
///
/// A set that fails to load leaves the active set unchanged.
#[derive(Debug, Clone)]
pub struct PolicyStore {
    active: Policies,
    versions: Vec<VersionInfo>,
}

impl PolicyStore {
    /// A store whose first version is `initial`.
    pub fn new(initial: Policies) -> PolicyStore {
        let info = VersionInfo {
            version: 1,
            source_name: initial.source_name.clone(),
            digest: initial.digest.clone(),
            n_policies: initial.summaries.len(),
        };
        PolicyStore {
            active: initial,
            versions: vec![info],
        }
    }

    /// The active set.
    pub fn active(&self) -> &Policies {
        &self.active
    }

    /// The active version number.
    pub fn version(&self) -> u64 {
        self.versions.last().map_or(0, |v| v.version)
    }

    /// All versions loaded, oldest first.
    pub fn versions(&self) -> &[VersionInfo] {
        &self.versions
    }

    /// Parses and validates `text`; on success it becomes the active set and
    /// its version number is returned. On error the active set is unchanged.
    pub fn load(&mut self, source_name: &str, text: &str, options: LoadOptions) -> Result<u64> {
        let policies = Policies::parse(source_name, text, options)?;
        let version = self.version() + 1;
        self.versions.push(VersionInfo {
            version,
            source_name: source_name.to_owned(),
            digest: policies.digest.clone(),
            n_policies: policies.summaries.len(),
        });
        self.active = policies;
        Ok(version)
    }
}

/// The policies of `set` whose action scope can match `action`.
fn slice_for(set: &PolicySet, action: Action) -> Result<PolicySet> {
    let uid = action_uid(action.as_str());
    let mut slice = PolicySet::new();
    for policy in set.policies() {
        let applies = match policy.action_constraint() {
            ActionConstraint::Eq(a) => a == uid,
            ActionConstraint::In(list) => list.contains(&uid),
            // `Any`, and any constraint this crate does not know, may match.
            _ => true,
        };
        if applies {
            slice
                .add(policy.clone())
                .map_err(|err| Error::Internal(err.to_string()))?;
        }
    }
    Ok(slice)
}

/// Renders Cedar diagnostics as `line L, column C: message (help)` lines.
fn diagnostics<'a>(text: &str, errors: impl Iterator<Item = &'a dyn miette::Diagnostic>) -> String {
    let mut out = String::new();
    for err in errors {
        if !out.is_empty() {
            out.push_str("; ");
        }
        let offset = err
            .labels()
            .and_then(|mut labels| labels.next())
            .map(|l| l.offset());
        if let Some(offset) = offset {
            let (line, column) = line_column(text, offset);
            let _ = write!(out, "line {line}, column {column}: ");
        }
        let _ = write!(out, "{err}");
        if let Some(help) = err.help() {
            let _ = write!(out, " ({help})");
        }
    }
    out
}

/// 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// FNV-1a 64 of `text`: a stable version fingerprint (not a security hash).
fn digest(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("fnv1a64:{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALLOW: LoadOptions = LoadOptions { allow_empty: false };

    #[test]
    fn shipped_policies_validate() {
        let policies = Policies::embedded();
        assert!(policies.summaries().len() >= 15);
        assert!(policies.summary("cross-border-needs-legal-basis").is_some());
        assert!(policies.summaries().iter().all(|s| !s.reason.is_empty()));
    }

    #[test]
    fn node_operations() {
        let world = World::new(
            crate::WorldInfo::from_json(
                r#"{"nodes": [{"id": "nl", "jurisdiction": "NL", "agency": "KMar"},
                              {"id": "be", "jurisdiction": "BE", "agency": "FGP"}],
                    "users": [{"id": "ana", "node": "nl", "roles": ["analyst"]},
                              {"id": "root", "node": "nl", "roles": ["administrator"]},
                              {"id": "lou", "node": "nl", "roles": ["legal-officer"]},
                              {"id": "bob", "node": "be", "roles": ["administrator"]}]}"#,
            )
            .unwrap(),
        )
        .unwrap();
        let policies = Policies::embedded();
        let ask = |user: &str, op: &str| policies.decide_node(&world, user, "nl", op).unwrap();
        let health = ask("ana", "health");
        assert!(health.allowed);
        assert_eq!(health.determining, ["node-api-users"]);
        assert!(ask("ana", "import").allowed);
        assert!(!ask("ana", "metrics").allowed);
        assert!(ask("root", "metrics").allowed);
        assert!(ask("root", "import").allowed);
        assert!(!ask("lou", "import").allowed);
        // Another node's users get nothing here; unknown operations are denied.
        assert!(!ask("bob", "health").allowed);
        assert!(!ask("root", "shutdown").allowed);
        assert!(
            policies
                .decide_node(&world, "nobody", "nl", "health")
                .is_err()
        );
        assert!(policies.decide_node(&world, "ana", "xx", "health").is_err());
        let forbid = Policies::parse(
            "deny.cedar",
            "@id(\"deny-all\") forbid(principal, action, resource);",
            ALLOW,
        )
        .unwrap();
        let denied = forbid.decide_node(&world, "root", "nl", "health").unwrap();
        // An unscoped policy about records still validates; one scoped to
        // `operate` that reads record attributes does not.
        let record_only =
            "@id(\"r\") forbid(principal, action, resource) when { resource.tlp_rank >= 0 };";
        assert!(Policies::parse("r.cedar", record_only, ALLOW).is_ok());
        let wrong = "@id(\"w\") permit(principal, action == Palermo::Action::\"operate\", resource) when { resource.tlp_rank >= 0 };";
        assert!(Policies::parse("w.cedar", wrong, ALLOW).is_err());
        assert_eq!(
            (denied.allowed, denied.determining),
            (false, vec!["deny-all".to_owned()])
        );
    }

    #[test]
    fn refusals() {
        let check = |text: &str, expect: &str| {
            let err = Policies::parse("p.cedar", text, ALLOW)
                .unwrap_err()
                .to_string();
            assert!(err.contains(expect), "{err:?} does not contain {expect:?}");
        };
        check("", "empty");
        check("// only a comment\n", "empty");
        check("permit(principal, action, resource)", "line 1");
        check(
            "@id(\"a\") permit(principal, action, resource) when { resource.colour == \"red\" };",
            "validate",
        );
        check("permit(principal, action, resource);", "@id");
        check(
            "@id(\"a\") permit(principal, action, resource);\n@id(\"a\") forbid(principal, action, resource);",
            "duplicate",
        );
        check(
            "@id(\"a\") permit(principal, action == Palermo::Action::\"fly\", resource);",
            "validate",
        );
    }

    #[test]
    fn store_keeps_previous_set_on_error() {
        let mut store = PolicyStore::new(Policies::embedded());
        let before = store.active().digest().to_owned();
        assert!(store.load("bad.cedar", "permit(", ALLOW).is_err());
        assert!(store.load("empty.cedar", "", ALLOW).is_err());
        assert_eq!(
            (store.active().digest(), store.version()),
            (before.as_str(), 1)
        );
        let v = store
            .load("empty.cedar", "", LoadOptions { allow_empty: true })
            .unwrap();
        assert_eq!((v, store.active().summaries().len()), (2, 0));
    }

    #[test]
    fn slices_hold_the_policies_whose_action_scope_matches() {
        let policies = Policies::embedded();
        let check = |action: Action, expect: &[&str]| {
            let mut ids: Vec<String> = policies
                .set_for(action)
                .policies()
                .map(|p| p.id().to_string())
                .collect();
            ids.sort_unstable();
            assert_eq!(ids, expect, "{action}");
        };
        check(
            Action::QueryHit,
            &["hit-no-hit", "hit-reveals-nothing", "retention-expired"],
        );
        check(Action::AmendMarking, &["amend-by-originator"]);
        let full = policies.set().policies().count();
        assert!(
            Action::ALL
                .iter()
                .all(|&a| policies.set_for(a).policies().count() < full)
        );
    }

    #[test]
    fn line_columns() {
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("ab", 0), (1, 1));
    }
}
