//! What the federation benches share.

use std::path::{Path, PathBuf};

use palermo_federation::{NodeIdentity, TrustAnchor};
use time::OffsetDateTime;

/// Enrolls a node `cc`/`agency` reachable at `port` with `anchor`, and saves
/// its identity in a directory of `tmp`.
pub(crate) fn enroll(
    anchor: &mut TrustAnchor,
    tmp: &Path,
    cc: &str,
    agency: &str,
    port: u16,
) -> (PathBuf, NodeIdentity) {
    let now = OffsetDateTime::now_utc();
    let mut identity =
        NodeIdentity::init(cc, agency, &format!("https://127.0.0.1:{port}")).unwrap();
    let enrollment = anchor
        .enroll(
            &identity.enrollment_request(),
            now - time::Duration::hours(1),
            30,
        )
        .unwrap();
    identity.install(&enrollment).unwrap();
    anchor.record(enrollment.member).unwrap();
    let dir = tmp.join(&identity.node_id);
    std::fs::create_dir_all(&dir).unwrap();
    identity.save(&dir).unwrap();
    (dir, identity)
}
