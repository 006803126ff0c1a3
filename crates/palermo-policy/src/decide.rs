//! The one place where decisions are made: [`decide`] builds the Cedar
//! request, evaluates it against the active policies and hands the decision
//! to a [`DecisionSink`] (the ledger's seam).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use cedar_policy::{Authorizer, Context, Decision as CedarDecision, Request, RestrictedExpression};
use palermo_law::{Cooperation, Date, KnowledgeBase};
use palermo_model::{Purpose, Role};
use serde::{Deserialize, Serialize};

use crate::world::{action_uid, node_uid, purpose_text, record_uid, string, user_uid};
use crate::{Error, NodeInfo, Policies, Result, World};

/// What a principal wants to do with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// See the record on screen.
    View,
    /// Find the record in search results.
    Search,
    /// Export the record out of Palermo.
    Export,
    /// Answer hit/no-hit for the record (no attribute values).
    QueryHit,
    /// Send the record to another node.
    DiscloseToNode,
    /// Pass a received record on to a third node.
    OnwardShare,
    /// Release the record in answer to a cooperation request.
    ReleaseOnRequest,
    /// Change the record's markings.
    AmendMarking,
}

impl Action {
    /// All actions.
    pub const ALL: [Action; 8] = [
        Action::View,
        Action::Search,
        Action::Export,
        Action::QueryHit,
        Action::DiscloseToNode,
        Action::OnwardShare,
        Action::ReleaseOnRequest,
        Action::AmendMarking,
    ];

    /// The name in the schema and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::Search => "search",
            Action::Export => "export",
            Action::QueryHit => "query-hit",
            Action::DiscloseToNode => "disclose-to-node",
            Action::OnwardShare => "onward-share",
            Action::ReleaseOnRequest => "release-on-request",
            Action::AmendMarking => "amend-marking",
        }
    }

    /// Whether the action can move a record's content to another person or node.
    pub fn discloses(self) -> bool {
        !matches!(self, Action::QueryHit | Action::AmendMarking)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = Error;

    fn from_str(text: &str) -> Result<Action> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == text.trim())
            .ok_or_else(|| Error::Query {
                field: "action".to_owned(),
                reason: format!(
                    "unknown action {text:?}; expected one of {}",
                    Action::ALL.map(Action::as_str).join(", ")
                ),
            })
    }
}

/// A cooperation request from another node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestInfo {
    /// mla, extradition, information, jit or asset-freeze.
    pub kind: String,
    /// The purpose the request states (`case:ID` or text).
    pub purpose: Purpose,
    /// The role of the person the request is about.
    pub subject_role: Role,
    /// The requesting node.
    pub node: String,
    /// Date for the legal basis (YYYY-MM-DD); defaults to the decision date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

/// A supervisor's explicit override of the legal-basis rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// The supervisor's user id.
    pub by: String,
    /// Why; must not be empty, and is logged with the decision.
    pub reason: String,
}

/// One question: may `principal` do `action` to `record`?
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// User id.
    pub principal: &'a str,
    /// The action.
    pub action: Action,
    /// Record id.
    pub record: &'a str,
    /// The node the record would go to, for disclose-to-node and onward-share
    /// (default: the request's node). Release-on-request goes to the request's
    /// node; every other action reaches the principal's node.
    pub target_node: Option<&'a str>,
    /// The cooperation request, if any.
    pub request: Option<&'a RequestInfo>,
    /// A supervisor's override, if any.
    pub override_: Option<&'a Override>,
    /// The user approving the release (a legal officer for victims), if any.
    pub approver: Option<&'a str>,
    /// For query-hit: whether the answer would carry attribute values.
    pub reveals_attributes: bool,
    /// The date of the decision.
    pub today: Date,
}

impl<'a> Query<'a> {
    /// A plain `action` by `principal` on `today`, for no record yet (set `record` per
    /// record): no request, override, approver or other target node, and no attribute
    /// values revealed.
    pub fn plain(principal: &'a str, action: Action, today: Date) -> Query<'a> {
        Query {
            principal,
            action,
            record: "",
            target_node: None,
            request: None,
            override_: None,
            approver: None,
            reveals_attributes: false,
            today,
        }
    }
}

/// The outcome of one decision, as the ledger records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Whether the action is allowed.
    pub allowed: bool,
    /// User id.
    pub principal: String,
    /// The action.
    pub action: Action,
    /// Record id.
    pub resource: String,
    /// Where the record would go.
    pub target_jurisdiction: String,
    /// Whether that is another jurisdiction than the holding node's.
    pub cross_border: bool,
    /// The request kind, if there was a request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_kind: Option<String>,
    /// Instruments palermo-law found as legal basis (empty: none found or not asked).
    pub legal_basis: Vec<String>,
    /// The supervisor override, if one was given (logged with its reason).
    #[serde(rename = "override", skip_serializing_if = "Option::is_none")]
    pub override_: Option<Override>,
    /// The approving user, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approver: Option<String>,
    /// Ids of the policies that determined the decision: the permits that
    /// allowed it, or the forbids that denied it (empty: denied by default).
    pub determining: Vec<String>,
    /// Evaluation errors (a policy that errors is skipped; the decision stays safe).
    pub errors: Vec<String>,
    /// Digest of the policy set used.
    pub policy_digest: String,
}

/// Where decisions go: the ledger implements this.
pub trait DecisionSink {
    /// Records one decision.
    fn record(&mut self, decision: &Decision);
}

impl DecisionSink for Vec<Decision> {
    fn record(&mut self, decision: &Decision) {
        self.push(decision.clone());
    }
}

/// Where the legal basis comes from.
pub trait BasisSource: Sync {
    /// Ids of the instruments that bind `from` and `to` (ISO 3166-1 alpha-2)
    /// on `on` and provide `kind`; empty when there is none.
    fn instruments(&self, from: &str, to: &str, kind: Cooperation, on: Date) -> Vec<String>;
}

/// One legal-basis question: from, to, kind and date.
type BasisKey = (String, String, Cooperation, Date);

/// The legal basis from palermo-law's knowledge base, cached per question.
#[derive(Debug)]
pub struct LawBasis {
    kb: KnowledgeBase,
    cache: Mutex<HashMap<BasisKey, Vec<String>>>,
}

impl LawBasis {
    /// A source answering from `kb`.
    pub fn new(kb: KnowledgeBase) -> LawBasis {
        LawBasis {
            kb,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl BasisSource for LawBasis {
    fn instruments(&self, from: &str, to: &str, kind: Cooperation, on: Date) -> Vec<String> {
        let key = (from.to_owned(), to.to_owned(), kind, on);
        if let Ok(cache) = self.cache.lock()
            && let Some(hit) = cache.get(&key)
        {
            return hit.clone();
        }
        // An unknown state has no basis: the safe answer.
        let found = palermo_law::basis(&self.kb, from, to, kind, on)
            .map(|answer| answer.bases.into_iter().map(|c| c.instrument_id).collect())
            .unwrap_or_default();
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, Vec::clone(&found));
        }
        found
    }
}

/// The policies, world and legal basis a decision is made against.
#[derive(Clone, Copy)]
pub struct Decider<'a> {
    /// The active policy set.
    pub policies: &'a Policies,
    /// Nodes, users and records.
    pub world: &'a World,
    /// The legal engine.
    pub basis: &'a dyn BasisSource,
}

/// Decides `query`: builds the Cedar request, evaluates it and records the
/// decision in `sink`. Deny by default; any matching forbid wins.
///
/// Errors when the query names an unknown user, record or node, or an
/// override has no reason; nothing is recorded then.
pub fn decide(
    decider: &Decider<'_>,
    query: &Query<'_>,
    sink: &mut dyn DecisionSink,
) -> Result<Decision> {
    decide_in(decider, query, None, sink)
}

/// Cedar's answer for one request.
#[derive(Debug, Clone)]
struct Outcome {
    legal_basis: Vec<String>,
    allowed: bool,
    determining: Vec<String>,
    errors: Vec<String>,
}

/// Cedar answers within one batch, by record class (see [`filter`]).
type Memo = HashMap<u32, Outcome>;

/// The body of [`decide`]; within a batch, `memo` reuses Cedar's answer for
/// records whose policy-visible attributes equal an earlier record's.
fn decide_in(
    decider: &Decider<'_>,
    query: &Query<'_>,
    memo: Option<&mut Memo>,
    sink: &mut dyn DecisionSink,
) -> Result<Decision> {
    let world = decider.world;
    let unknown = |field: &str, id: &str| Error::Query {
        field: field.to_owned(),
        reason: format!("unknown {field} {id:?}"),
    };
    let principal = world
        .user(query.principal)
        .ok_or_else(|| unknown("user", query.principal))?;
    let record = world
        .record(query.record)
        .ok_or_else(|| unknown("record", query.record))?;
    let holder = world
        .node(&record.node)
        .ok_or_else(|| unknown("node", &record.node))?;
    // Disclosures go to a node; everything else reaches the principal's node.
    let target_id = match query.action {
        Action::ReleaseOnRequest => query.request.map(|r| r.node.as_str()),
        Action::DiscloseToNode | Action::OnwardShare => {
            query.target_node.or(query.request.map(|r| r.node.as_str()))
        }
        _ => None,
    }
    .unwrap_or(principal.node.as_str());
    let target = world
        .node(target_id)
        .ok_or_else(|| unknown("node", target_id))?;
    let cross_border = !target
        .jurisdiction
        .eq_ignore_ascii_case(&holder.jurisdiction);
    let class = world
        .record_class(query.record)
        .filter(|_| !decider.policies.names_records());
    let remembered = match (&memo, class) {
        (Some(memo), Some(class)) => memo.get(&class).cloned(),
        _ => None,
    };
    let outcome = match remembered {
        Some(outcome) => outcome,
        None => {
            let outcome = evaluate(decider, query, holder, target, cross_border)?;
            if let (Some(memo), Some(class)) = (memo, class) {
                memo.insert(class, outcome.clone());
            }
            outcome
        }
    };
    let Outcome {
        legal_basis,
        allowed,
        determining,
        errors,
    } = outcome;
    let decision = Decision {
        allowed,
        principal: query.principal.to_owned(),
        action: query.action,
        resource: query.record.to_owned(),
        target_jurisdiction: target.jurisdiction.clone(),
        cross_border,
        request_kind: query.request.map(|r| r.kind.clone()),
        legal_basis,
        override_: query.override_.cloned(),
        approver: query.approver.map(str::to_owned),
        determining,
        errors,
        policy_digest: decider.policies.digest().to_owned(),
    };
    sink.record(&decision);
    Ok(decision)
}

/// Builds the Cedar context and request for `query` (checking the request,
/// override and approver), asks the legal engine when the record would cross
/// a border, and evaluates the request against the policies.
fn evaluate(
    decider: &Decider<'_>,
    query: &Query<'_>,
    holder: &NodeInfo,
    target: &NodeInfo,
    cross_border: bool,
) -> Result<Outcome> {
    let world = decider.world;
    let unknown = |field: &str, id: &str| Error::Query {
        field: field.to_owned(),
        reason: format!("unknown {field} {id:?}"),
    };

    let mut pairs: Vec<(String, RestrictedExpression)> = Vec::with_capacity(8);
    pairs.push((
        "today".to_owned(),
        RestrictedExpression::new_long(query.today.unix_days()),
    ));
    pairs.push((
        "cross_border".to_owned(),
        RestrictedExpression::new_bool(cross_border),
    ));
    pairs.push((
        "target_jurisdiction".to_owned(),
        string(&target.jurisdiction.to_ascii_uppercase()),
    ));
    pairs.push((
        "reveals_attributes".to_owned(),
        RestrictedExpression::new_bool(query.reveals_attributes),
    ));
    let mut legal_basis = Vec::new();
    if let Some(request) = query.request {
        let kind = Cooperation::parse(&request.kind).ok_or_else(|| Error::Query {
            field: "request.kind".to_owned(),
            reason: format!(
                "unknown kind {:?}; expected mla, extradition, information, jit or asset-freeze",
                request.kind
            ),
        })?;
        world
            .node(&request.node)
            .ok_or_else(|| unknown("node", &request.node))?;
        let on = match &request.date {
            Some(text) => Date::parse(text).map_err(|err| Error::Query {
                field: "request.date".to_owned(),
                reason: err.to_string(),
            })?,
            None => query.today,
        };
        if cross_border {
            legal_basis =
                decider
                    .basis
                    .instruments(&holder.jurisdiction, &target.jurisdiction, kind, on);
        }
        let fields = [
            ("kind".to_owned(), string(kind.as_str())),
            (
                "purpose".to_owned(),
                string(&purpose_text(&request.purpose)),
            ),
            (
                "subject_role".to_owned(),
                string(request.subject_role.as_str()),
            ),
            (
                "node".to_owned(),
                RestrictedExpression::new_entity_uid(node_uid(&request.node)),
            ),
        ];
        pairs.push(("request".to_owned(), record_expr(fields)?));
    }
    pairs.push((
        "basis_found".to_owned(),
        RestrictedExpression::new_bool(!legal_basis.is_empty()),
    ));
    if let Some(over) = query.override_ {
        world
            .user(&over.by)
            .ok_or_else(|| unknown("user", &over.by))?;
        if over.reason.trim().is_empty() {
            return Err(Error::Query {
                field: "override.reason".to_owned(),
                reason: "an override needs a reason".to_owned(),
            });
        }
        let fields = [
            (
                "by".to_owned(),
                RestrictedExpression::new_entity_uid(user_uid(&over.by)),
            ),
            ("reason".to_owned(), string(over.reason.trim())),
        ];
        pairs.push(("override".to_owned(), record_expr(fields)?));
    }
    if let Some(approver) = query.approver {
        world
            .user(approver)
            .ok_or_else(|| unknown("user", approver))?;
        pairs.push((
            "approver".to_owned(),
            RestrictedExpression::new_entity_uid(user_uid(approver)),
        ));
    }
    let context = Context::from_pairs(pairs).map_err(|err| Error::Internal(err.to_string()))?;
    let request = Request::new(
        user_uid(query.principal),
        action_uid(query.action.as_str()),
        record_uid(query.record),
        context,
        None,
    )
    .map_err(|err| Error::Internal(err.to_string()))?;
    let response = Authorizer::new().is_authorized(
        &request,
        decider.policies.set_for(query.action),
        world.entities(),
    );
    let mut determining: Vec<String> = response
        .diagnostics()
        .reason()
        .map(ToString::to_string)
        .collect();
    determining.sort_unstable();
    Ok(Outcome {
        legal_basis,
        allowed: response.decision() == CedarDecision::Allow,
        determining,
        errors: response
            .diagnostics()
            .errors()
            .map(ToString::to_string)
            .collect(),
    })
}

/// Filters `records` for `template` (whose `record` is ignored): returns the
/// ids the principal may act on, in input order. Every record gets its own
/// [`Decision`] in `sink`, made by the same code as [`decide`]. Within the
/// batch, Cedar is asked once per class of records with identical
/// policy-visible attributes (all but the id), since it must answer them
/// alike; when a policy names a record literal every record is evaluated.
pub fn filter<'r>(
    decider: &Decider<'_>,
    template: &Query<'_>,
    records: &[&'r str],
    sink: &mut dyn DecisionSink,
) -> Result<Vec<&'r str>> {
    Filter::new(*decider, *template).records(records, sink)
}

/// [`filter`] over several lists of records with one decider and one
/// template: Cedar is asked once per class of records over all the lists
/// (a node answering a batch of hit queries from one peer for one case
/// filters each query's candidates in turn). Each call returns and records
/// exactly what [`filter`] would for its list.
pub struct Filter<'a> {
    decider: Decider<'a>,
    template: Query<'a>,
    memo: Memo,
}

impl<'a> Filter<'a> {
    /// A filter for `template` (whose `record` is ignored) against `decider`.
    pub fn new(decider: Decider<'a>, template: Query<'a>) -> Filter<'a> {
        Filter {
            decider,
            template,
            memo: Memo::new(),
        }
    }

    /// The ids of `records` the principal may act on, in input order; every
    /// record gets its own [`Decision`] in `sink` (see [`filter`]).
    pub fn records<'r>(
        &mut self,
        records: &[&'r str],
        sink: &mut dyn DecisionSink,
    ) -> Result<Vec<&'r str>> {
        let mut allowed = Vec::new();
        for &record in records {
            let query = Query {
                record,
                ..self.template
            };
            if decide_in(&self.decider, &query, Some(&mut self.memo), sink)?.allowed {
                allowed.push(record);
            }
        }
        Ok(allowed)
    }
}

/// A hit/no-hit answer: by construction it carries no attribute values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HitAnswer {
    /// Whether any of the candidate records may be reported as a hit.
    pub hit: bool,
}

/// Answers hit/no-hit over `records` (the candidates a search matched) for a
/// query-hit by `principal`; each candidate's decision reaches `sink`.
pub fn hit_answer(
    decider: &Decider<'_>,
    principal: &str,
    records: &[&str],
    today: Date,
    sink: &mut dyn DecisionSink,
) -> Result<HitAnswer> {
    let template = Query::plain(principal, Action::QueryHit, today);
    Ok(HitAnswer {
        hit: !filter(decider, &template, records, sink)?.is_empty(),
    })
}

fn record_expr<const N: usize>(
    fields: [(String, RestrictedExpression); N],
) -> Result<RestrictedExpression> {
    RestrictedExpression::new_record(fields).map_err(|err| Error::Internal(err.to_string()))
}
