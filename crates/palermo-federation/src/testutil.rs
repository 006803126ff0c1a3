//! Test fixtures: a trust anchor with three enrolled nodes.

use time::OffsetDateTime;

use crate::directory::{Directory, SignedDirectory};
use crate::pki::{NodeIdentity, TrustAnchor};

/// A federation for tests.
pub(crate) struct Fed {
    pub(crate) anchor: TrustAnchor,
    pub(crate) nodes: Vec<NodeIdentity>,
    /// When the members were enrolled (a day before `now`).
    pub(crate) enrolled_at: OffsetDateTime,
    /// "Now" in the tests.
    pub(crate) now: OffsetDateTime,
}

pub(crate) const NODES: [(&str, &str, u16); 3] = [
    ("NL", "KNP", 8443),
    ("DE", "BKA", 8444),
    ("FR", "OCRTEH", 8445),
];

impl Fed {
    /// Anchor "test" and nodes nl-knp, de-bka, fr-ocrteh enrolled a day before
    /// `now` for 30 days.
    pub(crate) fn new(name: &str, now: OffsetDateTime) -> Fed {
        let enrolled_at = now - time::Duration::days(1);
        let mut anchor = TrustAnchor::create(name, enrolled_at, 365).expect("anchor");
        let mut nodes = Vec::new();
        for (cc, agency, port) in NODES {
            let mut node =
                NodeIdentity::init(cc, agency, &format!("https://127.0.0.1:{port}")).expect("node");
            let enrollment = anchor
                .enroll(&node.enrollment_request(), enrolled_at, 30)
                .expect("enroll");
            node.install(&enrollment).expect("install");
            anchor.record(enrollment.member).expect("record");
            nodes.push(node);
        }
        Fed {
            anchor,
            nodes,
            enrolled_at,
            now,
        }
    }

    pub(crate) fn signed(&mut self) -> SignedDirectory {
        self.anchor.publish(self.now, 7).expect("publish")
    }

    pub(crate) fn directory(&mut self) -> Directory {
        self.signed().directory
    }

    pub(crate) fn node(&self, id: &str) -> &NodeIdentity {
        self.nodes
            .iter()
            .find(|n| n.node_id == id)
            .expect("fixture node")
    }
}

/// A fixed "now" for tests that must not depend on the clock.
pub(crate) fn fixed_now() -> OffsetDateTime {
    time::macros::datetime!(2026-11-27 12:00:00.250 UTC)
}
