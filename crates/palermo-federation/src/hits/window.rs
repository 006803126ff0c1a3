//! What each peer had answered in a window (for quotas and the
//! query-to-hit ratio), kept in memory.
//!
//! Summing `hit_queries` over the window for every query read every query
//! the peer sent in the last hour: at thousands of queries per second that
//! is millions of rows per query. Instead a node loads a peer's window from
//! the store once per window length ([`palermo_store::AnyStore::hit_window_seconds`],
//! per second) and then updates it as it answers. The store stays the
//! source of truth: only this node writes the received queries it counts,
//! and a node that restarts loads the window again.
//!
//! Admission *reserves* a query (counts it before it is matched), so that
//! queries answered at the same time cannot together exceed a quota; a
//! reservation that ends in no answer is released. Seconds are whole: the
//! second in which the window begins counts entirely, so the window held
//! here may count a query up to a second older than the store's window
//! would — a quota is never looser than configured.

use std::collections::{HashMap, VecDeque};

use palermo_store::HitWindow;
use time::OffsetDateTime;

/// One peer's window of one length.
#[derive(Debug, Default)]
pub(crate) struct PeerWindow {
    /// `(unix second, what was answered in it)`, oldest first.
    seconds: VecDeque<(i64, HitWindow)>,
    /// The sum of `seconds`.
    total: HitWindow,
}

impl PeerWindow {
    /// A window holding `seconds` (as loaded from the store, oldest first).
    pub(crate) fn from_seconds(seconds: Vec<(i64, HitWindow)>) -> PeerWindow {
        let mut window = PeerWindow::default();
        for (second, used) in seconds {
            window.add(second, used);
        }
        window
    }

    fn expire(&mut self, since: i64) {
        while let Some((second, used)) = self.seconds.front().copied()
            && second < since
        {
            self.seconds.pop_front();
            self.total = minus(self.total, used);
        }
    }

    fn add(&mut self, second: i64, used: HitWindow) {
        self.total = plus(self.total, used);
        match self.seconds.iter_mut().rev().find(|(s, _)| *s <= second) {
            Some((s, slot)) if *s == second => *slot = plus(*slot, used),
            _ => {
                // Seconds arrive in order but for a clock step back; keep them sorted.
                let at = self.seconds.partition_point(|(s, _)| *s < second);
                self.seconds.insert(at, (second, used));
            }
        }
    }

    fn remove(&mut self, second: i64, used: HitWindow) {
        if let Some((_, slot)) = self.seconds.iter_mut().rev().find(|(s, _)| *s == second) {
            *slot = minus(*slot, used);
            self.total = minus(self.total, used);
        }
    }
}

fn plus(a: HitWindow, b: HitWindow) -> HitWindow {
    HitWindow {
        queries: a.queries.saturating_add(b.queries),
        encodings: a.encodings.saturating_add(b.encodings),
        hits: a.hits.saturating_add(b.hits),
    }
}

fn minus(a: HitWindow, b: HitWindow) -> HitWindow {
    HitWindow {
        queries: a.queries.saturating_sub(b.queries),
        encodings: a.encodings.saturating_sub(b.encodings),
        hits: a.hits.saturating_sub(b.hits),
    }
}

/// The first unix second a window of `window_secs` ending at `now` counts.
fn since(now: OffsetDateTime, window_secs: u64) -> i64 {
    now.unix_timestamp()
        .saturating_sub(i64::try_from(window_secs).unwrap_or(i64::MAX))
}

/// Every peer's windows, by peer and window length (the quota window and
/// the probing detector's may differ).
#[derive(Debug, Default)]
pub(crate) struct Windows {
    peers: HashMap<(String, u64), PeerWindow>,
}

impl Windows {
    /// What `peer` had answered in the `window_secs` before `now`, or `None`
    /// when that window is not loaded yet.
    pub(crate) fn used(
        &mut self,
        peer: &str,
        window_secs: u64,
        now: OffsetDateTime,
    ) -> Option<HitWindow> {
        let window = self.peers.get_mut(&(peer.to_owned(), window_secs))?;
        window.expire(since(now, window_secs));
        Some(window.total)
    }

    /// Installs a window loaded from the store, unless one is held already
    /// (it holds reservations the store does not know yet).
    pub(crate) fn install(&mut self, peer: &str, window_secs: u64, window: PeerWindow) {
        self.peers
            .entry((peer.to_owned(), window_secs))
            .or_insert(window);
    }

    /// Counts `used` for `peer` at `now` in every window held for it.
    pub(crate) fn add(&mut self, peer: &str, now: OffsetDateTime, used: HitWindow) {
        for ((p, _), window) in self.peers.iter_mut() {
            if p == peer {
                window.add(now.unix_timestamp(), used);
            }
        }
    }

    /// Takes back what [`Windows::add`] counted at `now`.
    pub(crate) fn remove(&mut self, peer: &str, now: OffsetDateTime, used: HitWindow) {
        for ((p, _), window) in self.peers.iter_mut() {
            if p == peer {
                window.remove(now.unix_timestamp(), used);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn used(queries: u64, encodings: u64, hits: u64) -> HitWindow {
        HitWindow {
            queries,
            encodings,
            hits,
        }
    }

    #[test]
    fn windows_count_reserve_release_and_expire() {
        let t0 = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
        let mut windows = Windows::default();
        assert_eq!(windows.used("de-bka", 60, t0), None, "not loaded");
        // Loaded from the store: one query 100 s ago (outside), two 30 s ago.
        windows.install(
            "de-bka",
            60,
            PeerWindow::from_seconds(vec![
                (1_000_000 - 100, used(1, 5, 1)),
                (1_000_000 - 30, used(2, 10, 0)),
            ]),
        );
        assert_eq!(windows.used("de-bka", 60, t0), Some(used(2, 10, 0)));
        // A second install does not replace what is held.
        windows.install("de-bka", 60, PeerWindow::default());
        windows.add("de-bka", t0, used(1, 3, 0));
        windows.add("de-bka", t0, used(0, 0, 1));
        assert_eq!(windows.used("de-bka", 60, t0), Some(used(3, 13, 1)));
        windows.remove("de-bka", t0, used(1, 3, 0));
        assert_eq!(windows.used("de-bka", 60, t0), Some(used(2, 10, 1)));
        // Another peer is counted apart.
        windows.install("fr-ocrteh", 60, PeerWindow::default());
        assert_eq!(windows.used("fr-ocrteh", 60, t0), Some(used(0, 0, 0)));
        // 31 s later the queries of 30 s ago are out; the second at t0 stays.
        let later = t0 + time::Duration::seconds(31);
        assert_eq!(windows.used("de-bka", 60, later), Some(used(0, 0, 1)));
        // The second the window begins in counts whole: never fewer than the store's window.
        let edge = t0 + time::Duration::milliseconds(60_999);
        assert_eq!(windows.used("de-bka", 60, edge), Some(used(0, 0, 1)));
        let past = t0 + time::Duration::seconds(61);
        assert_eq!(windows.used("de-bka", 60, past), Some(used(0, 0, 0)));
    }

    #[test]
    fn a_clock_step_back_keeps_seconds_sorted() {
        let mut window = PeerWindow::from_seconds(vec![(10, used(1, 1, 0)), (20, used(1, 1, 0))]);
        window.add(15, used(1, 1, 0));
        window.expire(12);
        assert_eq!(window.total, used(2, 2, 0));
        window.expire(16);
        assert_eq!(window.total, used(1, 1, 0));
    }
}
