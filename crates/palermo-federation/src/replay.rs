//! The in-memory replay guard: remembers the ids of envelopes received within a
//! time window and refuses a second one with the same id.
//!
//! Envelopes older than the window are refused outright (the receiver's clock-skew
//! check refuses them too), so an id can be forgotten once its creation time has
//! left the window and memory stays bounded by the message rate. The persistent
//! inbox is the durable defence: a message id already in the inbox is acknowledged
//! and not applied again, also across restarts.

use std::collections::{BTreeSet, HashSet};

use time::OffsetDateTime;
use uuid::Uuid;

use crate::envelope::Rejection;

/// Ids seen within the window.
#[derive(Debug, Clone)]
pub struct ReplayGuard {
    window: time::Duration,
    seen: HashSet<Uuid>,
    by_time: BTreeSet<(OffsetDateTime, Uuid)>,
}

impl ReplayGuard {
    /// A guard that remembers ids for `window` after their creation time. Use a
    /// window at least as wide as the receiver's allowed clock skew.
    pub fn new(window: time::Duration) -> ReplayGuard {
        ReplayGuard {
            window: window.abs(),
            seen: HashSet::new(),
            by_time: BTreeSet::new(),
        }
    }

    /// Records `id` (created at `created_at`) as received at `now`; refuses an id
    /// already seen within the window, and an envelope older than the window.
    pub fn check(
        &mut self,
        id: Uuid,
        created_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), Rejection> {
        let horizon = now - self.window;
        self.forget_before(horizon);
        if created_at < horizon {
            return Err(Rejection::ClockSkew {
                created_at,
                now,
                max_skew_seconds: self.window.whole_seconds(),
            });
        }
        if !self.seen.insert(id) {
            return Err(Rejection::Replay(id));
        }
        self.by_time.insert((created_at, id));
        Ok(())
    }

    /// How many ids the guard holds.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Does the guard hold no id?
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    fn forget_before(&mut self, horizon: OffsetDateTime) {
        while let Some(&(at, id)) = self.by_time.first() {
            if at >= horizon {
                break;
            }
            self.by_time.pop_first();
            self.seen.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;
    use crate::testutil::fixed_now;

    #[test]
    fn refuses_a_second_id_within_the_window() {
        let mut guard = ReplayGuard::new(Duration::minutes(5));
        let now = fixed_now();
        let id = Uuid::now_v7();
        assert_eq!(guard.check(id, now, now), Ok(()));
        assert_eq!(
            guard.check(id, now, now + Duration::minutes(4)),
            Err(Rejection::Replay(id))
        );
        assert_eq!(guard.check(Uuid::now_v7(), now, now), Ok(()));
        assert_eq!(guard.len(), 2);
    }

    #[test]
    fn forgets_ids_that_left_the_window_and_refuses_old_envelopes() {
        let window = Duration::minutes(5);
        let mut guard = ReplayGuard::new(window);
        let t0 = fixed_now();
        for _ in 0..100 {
            guard.check(Uuid::now_v7(), t0, t0).unwrap();
        }
        assert_eq!(guard.len(), 100);
        let later = t0 + window + Duration::seconds(1);
        let fresh = Uuid::now_v7();
        guard.check(fresh, later, later).unwrap();
        assert_eq!(guard.len(), 1, "old ids are forgotten");
        // An envelope created before the window is refused, not remembered.
        let old = Uuid::now_v7();
        assert!(matches!(
            guard.check(old, t0, later),
            Err(Rejection::ClockSkew { .. })
        ));
        assert_eq!(guard.len(), 1);
        assert!(!guard.is_empty());
    }
}
