//! String similarity on short ASCII strings without allocation: Jaro–Winkler and a
//! bounded optimal-string-alignment distance. Names and address words are ASCII after
//! normalisation and almost always shorter than 64 bytes, so the match flags fit in one
//! `u64` each; longer strings fall back to `strsim`.

/// Jaro–Winkler similarity (prefix scale 0.1, prefix up to 4, boost only above Jaro 0.7,
/// as in Winkler's definition and `strsim`), byte-wise.
pub(crate) fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if x.len() > 64 || y.len() > 64 {
        return strsim::jaro_winkler(a, b);
    }
    let j = jaro(x, y);
    if j <= 0.7 {
        return j;
    }
    let prefix = x.iter().zip(y).take(4).take_while(|(p, q)| p == q).count();
    j + prefix as f64 * 0.1 * (1.0 - j)
}

/// True if the Jaro–Winkler similarity of `a` and `b` is at least `min` (what
/// [`jaro_winkler_from`] answers, as the tests state it).
#[cfg(test)]
pub(crate) fn jaro_winkler_at_least(a: &str, b: &str, min: f64) -> bool {
    jaro_winkler_from(a, b, min) >= min
}

/// The Jaro–Winkler similarity of `a` and `b` when it can reach `min`, otherwise some
/// value below `min`; cheaper than [`jaro_winkler`] when it cannot, which is what most
/// compared name pairs give, and callers that test a second, higher threshold reuse the
/// value.
///
/// The Jaro matches can be no more than the bytes of the shorter string whose letter class
/// (the byte's low six bits) occurs anywhere in the longer one (a letter-set test), and
/// with no transpositions and the common prefix boosted that bounds the similarity from
/// above; only when the bound reaches `min` is the similarity computed (below, 0 is
/// returned).
///
/// The bound is tested without dividing: with `d = 3 |x| |y|` and `n = m (|x| + |y|) +
/// |x| |y|` the bound's Jaro part is `n / d`, so `bound >= t` is `n (1 - p/10) + d p/10 >=
/// t d` (and `n >= t d` without the boost), all exact in `f64` for strings of up to 64
/// bytes. At 1M pooled records the three divisions of the bound, and a 128-bit letter set
/// built a bit at a time, were most of this function's time, and nearly every name pair
/// that reaches it is turned away by the bound.
pub(crate) fn jaro_winkler_from(a: &str, b: &str, min: f64) -> f64 {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if x.is_empty() || y.is_empty() || x.len() > 64 || y.len() > 64 {
        return jaro_winkler(a, b);
    }
    // Letter classes by the low six bits: bytes that share a class only loosen the bound
    // (more pairs computed in full), never tighten it.
    let letters = |s: &[u8]| s.iter().fold(0u64, |m, &c| m | (1u64 << (c & 63)));
    let (short, long) = if x.len() <= y.len() { (x, y) } else { (y, x) };
    let in_long = letters(long);
    let m = short
        .iter()
        .map(|&c| (in_long >> (c & 63)) & 1)
        .sum::<u64>() as f64;
    let (lx, ly) = (x.len() as f64, y.len() as f64);
    let d = 3.0 * lx * ly;
    let n = m * (lx + ly) + lx * ly;
    // Small margins for rounding: the bound must never reject a pair that passes (the
    // boost is applied from a hair below Jaro 0.7, where [`jaro`]'s own rounding may
    // apply it, and it only raises the bound).
    let t = (min - 1e-9) * d;
    let reaches = if n > (0.7 - 1e-9) * d {
        let prefix = x.iter().zip(y).take(4).take_while(|(p, q)| p == q).count() as f64;
        n * (1.0 - prefix * 0.1) + d * (prefix * 0.1) >= t
    } else {
        n >= t
    };
    // Turned away only when `min` is above 0 (`n` and `d` are positive).
    if reaches { jaro_winkler(a, b) } else { 0.0 }
}

fn jaro(x: &[u8], y: &[u8]) -> f64 {
    if x.is_empty() && y.is_empty() {
        return 1.0;
    }
    if x.is_empty() || y.is_empty() {
        return 0.0;
    }
    if x == y {
        return 1.0;
    }
    let window = (x.len().max(y.len()) / 2).saturating_sub(1);
    // Where each byte occurs in `y`, by its low five bits (ASCII letters of one case, and
    // digits, fall in different classes; bytes that share a class are told apart below):
    // the first free, equal byte in the window is then the lowest bit of a few masks
    // rather than a scan of the window, which was most of the time spent comparing names.
    let mut at = [0u64; 32];
    for (j, &d) in y.iter().enumerate() {
        at[usize::from(d & 31)] |= 1 << j;
    }
    let (mut fx, mut fy) = (0u64, 0u64);
    let mut matches = 0usize;
    for (i, &c) in x.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(y.len());
        if lo >= hi {
            continue;
        }
        // Bits lo..hi (hi <= 64, lo < hi).
        let in_window = (u64::MAX >> (64 - (hi - lo))) << lo;
        let mut free = at[usize::from(c & 31)] & in_window & !fy;
        while free != 0 {
            let j = free.trailing_zeros() as usize;
            if y[j] == c {
                fx |= 1 << i;
                fy |= 1 << j;
                matches += 1;
                break;
            }
            free &= free - 1;
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0usize;
    let mut j = 0usize;
    for (i, &c) in x.iter().enumerate() {
        if fx & (1 << i) == 0 {
            continue;
        }
        while fy & (1 << j) == 0 {
            j += 1;
        }
        if c != y[j] {
            transpositions += 1;
        }
        j += 1;
    }
    let m = matches as f64;
    (m / x.len() as f64 + m / y.len() as f64 + (m - (transpositions / 2) as f64) / m) / 3.0
}

/// Optimal string alignment distance (adjacent transpositions count 1) on bytes,
/// returning `limit + 1` as soon as the distance must exceed `limit`.
pub(crate) fn osa_bounded(a: &str, b: &str, limit: usize) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    if a == b {
        return 0;
    }
    // Strip the common prefix and suffix: they never change the distance.
    let pre = a.iter().zip(b).take_while(|(p, q)| p == q).count();
    let (a, b) = (&a[pre..], &b[pre..]);
    let suf = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(p, q)| p == q)
        .count();
    let (a, b) = (&a[..a.len() - suf], &b[..b.len() - suf]);
    if a.is_empty() || b.is_empty() {
        return a.len().max(b.len()).min(limit + 1);
    }
    // Within one edit, after stripping, only one substituted byte or two transposed ones
    // can be left (the first bytes differ and so do the last): every name, date and code
    // comparison asks this, and the table below costs far more.
    if limit == 1 {
        let one = match (a, b) {
            ([_], [_]) => true,
            ([p, q], [r, s]) => p == s && q == r,
            _ => false,
        };
        return if one { 1 } else { 2 };
    }
    const N: usize = 65;
    if b.len() >= N {
        return strsim::osa_distance(
            std::str::from_utf8(a).unwrap_or_default(),
            std::str::from_utf8(b).unwrap_or_default(),
        )
        .min(limit + 1);
    }
    let n = b.len();
    // Three rows of the table, used in turn (row `i` is `rows[i % 3]`): copying rows
    // from one array into the next cost more than the arithmetic.
    let mut rows = [[0usize; N]; 3];
    for (j, v) in rows[0].iter_mut().enumerate().take(n + 1) {
        *v = j;
    }
    for i in 1..=a.len() {
        let [r0, r1, r2] = &mut rows;
        let (cur, prev, prev2) = match i % 3 {
            0 => (r0, &*r2, &*r1),
            1 => (r1, &*r0, &*r2),
            _ => (r2, &*r1, &*r0),
        };
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=n {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > limit {
            return limit + 1;
        }
    }
    rows[a.len() % 3][n].min(limit + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        assert!((jaro_winkler("martha", "marhta") - 0.961).abs() < 1e-3);
        assert_eq!(jaro_winkler("", ""), 1.0);
        assert_eq!(jaro_winkler("abc", ""), 0.0);
        for (a, b, d) in [
            ("", "", 0),
            ("abc", "abc", 0),
            ("abc", "acb", 1),
            ("abc", "ab", 1),
            ("kitten", "sitting", 3),
            ("ca", "abc", 3),
        ] {
            assert_eq!(osa_bounded(a, b, 5), d, "{a} {b}");
            assert_eq!(osa_bounded(a, b, 1), d.min(2), "{a} {b} bounded");
        }
    }

    proptest! {
        #[test]
        fn agrees_with_strsim(a in "[a-e]{0,12}", b in "[a-e]{0,12}") {
            prop_assert!((jaro_winkler(&a, &b) - strsim::jaro_winkler(&a, &b)).abs() < 1e-9);
            prop_assert_eq!(osa_bounded(&a, &b, 20), strsim::osa_distance(&a, &b));
            prop_assert_eq!(osa_bounded(&a, &b, 2), strsim::osa_distance(&a, &b).min(3));
            prop_assert_eq!(osa_bounded(&a, &b, 1), strsim::osa_distance(&a, &b).min(2));
            prop_assert_eq!(osa_bounded(&a, &b, 0), strsim::osa_distance(&a, &b).min(1));
        }

        /// Bytes that share their low five bits (`a`, `A`, `!`, `A`) are told apart.
        #[test]
        fn jaro_agrees_on_mixed_bytes(a in "[a-dA-D!#0-3 ]{0,20}", b in "[a-dA-D!#0-3 ]{0,20}") {
            prop_assert!((jaro_winkler(&a, &b) - strsim::jaro_winkler(&a, &b)).abs() < 1e-9);
        }

        /// Up to the 64 bytes the match flags hold.
        #[test]
        fn jaro_agrees_on_long_strings(a in "[a-c]{40,64}", b in "[a-c]{40,64}") {
            prop_assert!((jaro_winkler(&a, &b) - strsim::jaro_winkler(&a, &b)).abs() < 1e-9);
        }

        /// The letter-set bound never turns away a pair that reaches the threshold.
        #[test]
        fn bounded_test_agrees(a in "[a-h]{0,12}", b in "[a-h]{0,12}", min in 0.5f64..1.0) {
            prop_assert_eq!(jaro_winkler_at_least(&a, &b, min), jaro_winkler(&a, &b) >= min);
            let from = jaro_winkler_from(&a, &b, min);
            prop_assert!(from == jaro_winkler(&a, &b) || (from < min && jaro_winkler(&a, &b) < min));
        }

        /// Bytes that share a letter class (`a` and `!`, `A` and a control byte, digits
        /// and `p`..`y`) only loosen the bound.
        #[test]
        fn bounded_test_agrees_on_mixed_bytes(
            a in "[a-zA-Z!#0-9 .-]{0,20}",
            b in "[a-zA-Z!#0-9 .-]{0,20}",
            min in 0.0f64..1.0,
        ) {
            let from = jaro_winkler_from(&a, &b, min);
            let jw = jaro_winkler(&a, &b);
            prop_assert!(from == jw || (from < min && jw < min), "{} {}", from, jw);
        }

        /// The thresholds the comparison levels use, on name-like strings.
        #[test]
        fn bounded_levels_agree(a in "[a-z]{1,14}", b in "[a-z]{1,14}") {
            let from = jaro_winkler_from(&a, &b, 0.80);
            let jw = jaro_winkler(&a, &b);
            prop_assert_eq!(from >= 0.80, jw >= 0.80);
            prop_assert_eq!(from >= 0.92, jw >= 0.92);
        }
    }
}
