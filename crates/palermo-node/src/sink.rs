//! The one ledger sink of policy decisions: [`LedgerSink`] turns every
//! [`palermo_policy::Decision`] (and every node-level decision) into a
//! `policy-decision` ledger entry, and collects them with any other entries
//! of the same command or request so that the caller writes them all in one
//! `ledger_append`.

use palermo_ledger::EntryBody;
use palermo_ledger::entry::NewEntry;
use palermo_policy::{Decision, DecisionSink, NodeDecision};

/// Collects decisions as ledger entries (`policy-decision`), in order.
///
/// By default each decision is its own entry. A [`LedgerSink::grouped`] sink
/// (for bulk work such as an export of the whole store) writes record
/// decisions that agree on everything but the record — principal, action,
/// outcome, determining policies, border, basis, request, override and
/// approver — as one entry whose request names every record (`export
/// records:ID,ID,...`, at most [`GROUP_MAX`] per entry, records in decision
/// order): every decision is still on the ledger with its record id, at a
/// fraction of the entries.
#[derive(Debug, Default)]
pub struct LedgerSink {
    decisions: Vec<NewEntry>,
    extra: Vec<NewEntry>,
    grouped: bool,
    /// Open groups, one per distinct decision (few: a handful of policies decide).
    groups: Vec<Group>,
}

/// Records per grouped entry at most.
pub const GROUP_MAX: usize = 4096;

/// A run of record decisions that differ only in the record.
#[derive(Debug)]
struct Group {
    actor: String,
    action: &'static str,
    suffix: String,
    allowed: bool,
    policies: Vec<String>,
    /// The record ids so far, comma-separated: one string per group rather
    /// than one per record keeps an export's memory near the ids' own size.
    records: String,
    /// How many ids `records` holds.
    n_records: usize,
}

impl LedgerSink {
    /// An empty sink that writes one entry per decision.
    pub fn new() -> LedgerSink {
        LedgerSink::default()
    }

    /// An empty sink that groups like record decisions into one entry each.
    pub fn grouped() -> LedgerSink {
        LedgerSink {
            grouped: true,
            ..LedgerSink::default()
        }
    }

    /// Records a node-level decision: `actor` asked to `operation` on `node`.
    pub fn record_node(&mut self, actor: &str, node: &str, operation: &str, d: &NodeDecision) {
        self.push_decision(
            actor,
            format!("operate node:{node} ({operation})"),
            d.allowed,
            d.determining.clone(),
        );
    }

    /// Adds another entry (an import batch, a resolution run...) to the same
    /// append; it is written after the decisions.
    pub fn log(&mut self, entry: NewEntry) {
        self.extra.push(entry);
    }

    /// Number of entries collected.
    pub fn len(&self) -> usize {
        self.decisions.len() + self.extra.len() + self.groups.len()
    }

    /// Whether nothing was collected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes every entry collected so far: the decisions, then the others.
    pub fn take(&mut self) -> Vec<NewEntry> {
        self.close_groups();
        let mut entries = std::mem::take(&mut self.decisions);
        entries.append(&mut self.extra);
        entries
    }

    /// Adds a record decision to the open group of like decisions (closing it
    /// first when full), or opens one.
    fn push_grouped(&mut self, d: &Decision) {
        // Empty (no allocation) for the decisions of an export.
        let suffix = request_suffix(d);
        let action = d.action.as_str();
        let open = self.groups.iter().position(|g| {
            g.allowed == d.allowed
                && g.actor == d.principal
                && g.action == action
                && g.suffix == suffix
                && g.policies == d.determining
        });
        if let Some(idx) = open {
            let group = &mut self.groups[idx];
            if group.n_records < GROUP_MAX {
                group.records.push(',');
                group.records.push_str(&d.resource);
                group.n_records += 1;
                return;
            }
            let full = self.groups.swap_remove(idx);
            self.close(full);
        }
        self.groups.push(Group {
            actor: d.principal.clone(),
            action,
            suffix,
            allowed: d.allowed,
            policies: d.determining.clone(),
            records: d.resource.clone(),
            n_records: 1,
        });
    }

    /// Turns every open group into an entry.
    fn close_groups(&mut self) {
        for group in std::mem::take(&mut self.groups) {
            self.close(group);
        }
    }

    /// Turns one group into an entry.
    fn close(&mut self, group: Group) {
        let request = format!("{} records:{}{}", group.action, group.records, group.suffix);
        self.push_decision(&group.actor, request, group.allowed, group.policies);
    }

    fn push_decision(
        &mut self,
        actor: &str,
        request: String,
        allowed: bool,
        policies: Vec<String>,
    ) {
        self.decisions.push(NewEntry {
            actor: actor.to_owned(),
            case: None,
            time: None,
            body: EntryBody::PolicyDecision {
                request,
                decision: if allowed { "allow" } else { "deny" }.to_owned(),
                policies,
            },
        });
    }
}

/// The request text of a record decision: `ACTION record:ID`, followed, for
/// a decision that crosses a border, by ` to:JURISDICTION`, the legal basis
/// (` basis:ID,ID` or ` basis:none`), and any request kind, override and
/// approver, so that the ledger shows what each decision rested on.
pub fn request_text(d: &Decision) -> String {
    format!("{} record:{}{}", d.action, d.resource, request_suffix(d))
}

/// What a record decision's request text says after the record.
fn request_suffix(d: &Decision) -> String {
    let mut text = String::new();
    if d.cross_border {
        text.push_str(&format!(" to:{}", d.target_jurisdiction));
        if d.legal_basis.is_empty() {
            text.push_str(" basis:none");
        } else {
            text.push_str(&format!(" basis:{}", d.legal_basis.join(",")));
        }
    }
    if let Some(kind) = &d.request_kind {
        text.push_str(&format!(" request:{kind}"));
    }
    if let Some(over) = &d.override_ {
        text.push_str(&format!(" override:{} ({})", over.by, over.reason.trim()));
    }
    if let Some(approver) = &d.approver {
        text.push_str(&format!(" approver:{approver}"));
    }
    text
}

impl DecisionSink for LedgerSink {
    fn record(&mut self, decision: &Decision) {
        if self.grouped {
            self.push_grouped(decision);
            return;
        }
        self.push_decision(
            &decision.principal,
            request_text(decision),
            decision.allowed,
            decision.determining.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use palermo_policy::{Action, Override};

    use super::*;

    fn decision() -> Decision {
        Decision {
            allowed: true,
            principal: "ana".to_owned(),
            action: Action::View,
            resource: "p1".to_owned(),
            target_jurisdiction: "NL".to_owned(),
            cross_border: false,
            request_kind: None,
            legal_basis: Vec::new(),
            override_: None,
            approver: None,
            determining: vec!["tlp-clear-green".to_owned()],
            errors: Vec::new(),
            policy_digest: "d".to_owned(),
        }
    }

    #[test]
    fn request_texts() {
        let mut d = decision();
        assert_eq!(request_text(&d), "view record:p1");
        d.action = Action::DiscloseToNode;
        d.cross_border = true;
        d.target_jurisdiction = "DE".to_owned();
        assert_eq!(
            request_text(&d),
            "disclose-to-node record:p1 to:DE basis:none"
        );
        d.legal_basis = vec!["palermo".to_owned(), "cets197".to_owned()];
        d.request_kind = Some("mla".to_owned());
        d.override_ = Some(Override {
            by: "boss".to_owned(),
            reason: " urgent ".to_owned(),
        });
        d.approver = Some("lex".to_owned());
        assert_eq!(
            request_text(&d),
            "disclose-to-node record:p1 to:DE basis:palermo,cets197 request:mla override:boss (urgent) approver:lex"
        );
    }

    fn requests(entries: &[NewEntry]) -> Vec<(String, String)> {
        entries
            .iter()
            .map(|e| match &e.body {
                EntryBody::PolicyDecision {
                    request, decision, ..
                } => (request.clone(), decision.clone()),
                other => panic!("unexpected entry {other:?}"),
            })
            .collect()
    }

    #[test]
    fn grouped_sink_keeps_every_record_in_entries_of_like_decisions() {
        let mut sink = LedgerSink::grouped();
        let mut d = decision();
        for (id, allowed) in [("a", true), ("b", true), ("c", false), ("d", true)] {
            d.resource = id.to_owned();
            d.allowed = allowed;
            sink.record(&d);
        }
        d.resource = "e".to_owned();
        d.determining = vec!["other".to_owned()];
        sink.record(&d);
        assert_eq!(sink.len(), 3);
        let got = requests(&sink.take());
        let want = [
            ("view records:a,b,d", "allow"),
            ("view records:c", "deny"),
            ("view records:e", "allow"),
        ];
        assert_eq!(got.len(), want.len());
        for ((request, decision), (r, dd)) in got.iter().zip(want) {
            assert_eq!((request.as_str(), decision.as_str()), (r, dd));
        }
        assert!(sink.is_empty());

        // A group never grows past GROUP_MAX records.
        let mut d = decision();
        for i in 0..GROUP_MAX + 1 {
            d.resource = format!("r{i}");
            sink.record(&d);
        }
        let got = requests(&sink.take());
        assert_eq!(got.len(), 2);
        assert!(got[1].0.ends_with(&format!("records:r{GROUP_MAX}")));
    }

    #[test]
    fn sink_orders_decisions_before_other_entries() {
        let mut sink = LedgerSink::new();
        assert!(sink.is_empty());
        sink.log(NewEntry {
            actor: "ana".to_owned(),
            case: None,
            time: None,
            body: EntryBody::PolicyDecision {
                request: "other".to_owned(),
                decision: "allow".to_owned(),
                policies: Vec::new(),
            },
        });
        let mut d = decision();
        d.allowed = false;
        d.determining.clear();
        sink.record(&d);
        assert_eq!(sink.len(), 2);
        let entries = sink.take();
        assert!(sink.is_empty());
        match &entries[0].body {
            EntryBody::PolicyDecision {
                request,
                decision,
                policies,
            } => {
                assert_eq!(request, "view record:p1");
                assert_eq!(decision, "deny");
                assert!(policies.is_empty());
            }
            other => panic!("unexpected entry {other:?}"),
        }
        assert_eq!(entries[0].actor, "ana");
    }
}
