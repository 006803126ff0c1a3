//! Thai script to Latin, close to the Royal Thai General System (RTGS) that Thai passports
//! and most agencies use.
//!
//! Per-character transliteration (`any_ascii`) cannot do this: Thai writes some vowels
//! before the consonant they follow in speech, leaves most short vowels unwritten, and
//! pronounces a consonant differently at the end of a syllable (`ร` is `r` as an initial but
//! `n` as a final: `พร` → `phon`). Matching only needs what survives the phonetic key
//! (consonants, finals, the first sound), so the rules here are few: leading vowels move
//! behind their consonant, a consonant is a final when it closes a syllable (a written vowel
//! or an unwritten `o` before it, no vowel after it), silent letters (`์`, the leading `ห` of
//! sonorants, `อ` as a vowel carrier) are dropped, `รร` is `an`, and unwritten vowels are
//! `a` before a new syllable and `o` inside a closed one.

/// Initial and final sound of a consonant (`None` when it is not a consonant).
fn consonant(c: char) -> Option<(&'static str, &'static str)> {
    Some(match c {
        'ก' => ("k", "k"),
        'ข' | 'ฃ' | 'ค' | 'ฅ' | 'ฆ' => ("kh", "k"),
        'ง' => ("ng", "ng"),
        'จ' | 'ฉ' | 'ช' | 'ฌ' => ("ch", "t"),
        'ซ' | 'ศ' | 'ษ' | 'ส' => ("s", "t"),
        'ญ' => ("y", "n"),
        'ฎ' | 'ด' => ("d", "t"),
        'ฏ' | 'ต' => ("t", "t"),
        'ฐ' | 'ฑ' | 'ฒ' | 'ถ' | 'ท' | 'ธ' => ("th", "t"),
        'ณ' | 'น' => ("n", "n"),
        'บ' => ("b", "p"),
        'ป' => ("p", "p"),
        'ผ' | 'พ' | 'ภ' => ("ph", "p"),
        'ฝ' | 'ฟ' => ("f", "p"),
        'ม' => ("m", "m"),
        'ย' => ("y", "i"),
        'ร' => ("r", "n"),
        'ล' | 'ฬ' => ("l", "n"),
        'ว' => ("w", "o"),
        'ห' | 'ฮ' => ("h", ""),
        'อ' => ("", ""),
        _ => return None,
    })
}

/// Vowel signs written after, above or below their consonant.
fn following_vowel(c: char) -> Option<&'static str> {
    Some(match c {
        'ะ' | 'ั' | 'า' => "a",
        'ำ' => "am",
        'ิ' | 'ี' => "i",
        'ึ' | 'ื' => "ue",
        'ุ' | 'ู' => "u",
        'ๅ' => "",
        _ => return None,
    })
}

/// Vowel signs written before their consonant.
fn leading_vowel(c: char) -> Option<&'static str> {
    Some(match c {
        'เ' => "e",
        'แ' => "ae",
        'โ' => "o",
        'ใ' | 'ไ' => "ai",
        _ => return None,
    })
}

/// Stands for a leading vowel in `romanize`'s record of what opened a syllable.
const LEADING: char = 'เ';

/// Marks that carry no sound of their own (tone marks, the short-vowel mark).
fn is_silent_mark(c: char) -> bool {
    matches!(c, '่' | '้' | '๊' | '๋' | '็' | 'ํ' | 'ฺ')
}

/// Sonorants after which a leading `ห` is silent (it only sets the tone).
fn is_sonorant(c: char) -> bool {
    matches!(c, 'ง' | 'ญ' | 'น' | 'ม' | 'ย' | 'ร' | 'ล' | 'ว')
}

/// Drops letters silenced by the thanthakhat (`์`): the consonant carrying it with its
/// vowel sign, and a `ท`/`ต` before a silenced `ร` after a final (`จันทร์` → `จัน`).
/// Beside each letter kept: whether silenced letters followed it, which makes it the end
/// of a syllable (`สมบูรณ์แสง`: the ร closes `บูร`).
fn drop_silenced(chars: &[char]) -> (Vec<char>, Vec<bool>) {
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    let mut silenced_after: Vec<bool> = Vec::with_capacity(chars.len());
    for &c in chars {
        if c != '์' {
            out.push(c);
            silenced_after.push(false);
            continue;
        }
        while out
            .last()
            .is_some_and(|&p| following_vowel(p).is_some() || is_silent_mark(p))
        {
            out.pop();
        }
        let carrier = out.last().copied().filter(|&p| consonant(p).is_some());
        if carrier.is_some() {
            out.pop();
        }
        // ทร์ and ตร์ after a closed syllable are silent together (จันทร์ → จัน).
        let n = out.len();
        if carrier == Some('ร')
            && n >= 2
            && matches!(out[n - 1], 'ท' | 'ต')
            && consonant(out[n - 2]).is_some()
        {
            out.pop();
        }
        silenced_after.truncate(out.len());
        if let Some(last) = silenced_after.last_mut() {
            *last = true;
        }
    }
    (out, silenced_after)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a word or after a closed syllable.
    Start,
    /// After an initial consonant with no vowel yet.
    Bare,
    /// After a vowel (written or unwritten): a consonant may close the syllable.
    Open,
}

/// Romanises one run of Thai letters (no spaces).
pub(crate) fn romanize(word: &str) -> String {
    let (chars, silenced_after) = drop_silenced(&word.chars().collect::<Vec<char>>());
    let syllable_ends = |k: usize| silenced_after.get(k).copied().unwrap_or(false);
    let mut out = String::with_capacity(chars.len() * 2);
    let mut state = State::Start;
    let mut pending: Option<&str> = None;
    // The vowel sign that opened the current syllable ([`LEADING`] for one written before
    // its consonant): what may follow depends on it.
    let mut vowel = LEADING;
    let mut i = 0;
    let is_vowel_next = |k: usize| {
        chars[k..]
            .iter()
            .find(|c| !is_silent_mark(**c))
            .is_some_and(|&c| following_vowel(c).is_some())
    };
    while i < chars.len() {
        let c = chars[i];
        if let Some(v) = leading_vowel(c) {
            if state == State::Bare {
                out.push('a');
            }
            pending = Some(v);
            state = State::Start;
            i += 1;
            continue;
        }
        if let Some(v) = following_vowel(c) {
            out.push_str(v);
            state = State::Open;
            vowel = c;
            i += 1;
            continue;
        }
        if is_silent_mark(c) {
            i += 1;
            continue;
        }
        let Some((initial, fin)) = consonant(c) else {
            // Digits and other signs: keep what any_ascii makes of them.
            out.push_str(any_ascii::any_ascii_char(c));
            i += 1;
            continue;
        };
        let next = chars.get(i + 1).copied();
        // รร: a written "a" with an n (or with the next consonant as its final).
        if c == 'ร' && next == Some('ร') {
            if state == State::Bare || state == State::Start {
                out.push('a');
            }
            let closes = chars.get(i + 2).is_some_and(|&n| consonant(n).is_some());
            if closes {
                out.push_str(consonant(chars[i + 2]).map_or("", |x| x.1));
                i += 3;
            } else {
                out.push('n');
                i += 2;
            }
            state = State::Start;
            continue;
        }
        let after = chars.get(i + 2).copied();
        let is_cons = |c: Option<char>| c.is_some_and(|c| consonant(c).is_some());
        // After the short a of ั a consonant closes the syllable (ชัย is chai, never
        // cha-y...); after a leading vowel a word-final ร is silent (เพชร → phet).
        let after_short_a = state == State::Open && vowel == 'ั';
        let after_leading = state == State::Open && vowel == LEADING;
        let wan = after == Some('ร') && chars.get(i + 3) == Some(&'ร');
        // A consonant before a word-final ร opens the last syllable (ศิริพร → siriphon,
        // ธนากร → thanakon), as one before รร does (สุวรรณ → suwan); a consonant before
        // ว + consonant starts a syllable with the vowel ua (ดวน → duan), but not after
        // ั or before วรร (ทิพวรรณ → thipwan); a ว before a word's last consonant after an
        // open syllable starts one (มณีวงศ์ → maniwong).
        let starts_syllable = pending.is_some()
            || is_vowel_next(i + 1)
            || (c != 'ร' && next == Some('ร') && i + 2 == chars.len() && !after_leading)
            || (next == Some('ร') && after == Some('ร') && !after_leading)
            || (next == Some('ว')
                && is_cons(after)
                && !after_short_a
                && !wan
                && !syllable_ends(i + 2))
            || (c == 'ว' && state == State::Open && is_cons(next) && i + 2 == chars.len());
        // A consonant after ั before ร + vowel closes one syllable and opens the next
        // (วัชระ → watchara).
        if after_short_a && next == Some('ร') && is_vowel_next(i + 2) {
            out.push_str(fin);
            out.push_str(initial);
            out.push('a');
            vowel = 'ะ';
            i += 1;
            continue;
        }
        // A ร after a written vowel (not ั or ำ) and before a consonant or a leading vowel
        // opens a syllable of its own with an unwritten a (ธีรพงษ์ → thiraphong,
        // สุรเชษฐ์ → surachet): as a final after such a vowel it is rare in names.
        if c == 'ร'
            && state == State::Open
            && !matches!(vowel, 'ั' | 'ำ' | 'อ' | LEADING)
            && next.is_some_and(|n| consonant(n).is_some() || leading_vowel(n).is_some())
            && !starts_syllable
            && !syllable_ends(i)
        {
            out.push_str("ra");
            state = State::Start;
            i += 1;
            continue;
        }
        // ศร, สร, ซร before a vowel: the ร is silent (ศรี → si).
        if matches!(c, 'ศ' | 'ส' | 'ซ') && next == Some('ร') && is_vowel_next(i + 2) {
            out.push('s');
            state = State::Bare;
            if let Some(v) = pending.take() {
                out.push_str(v);
                state = State::Open;
                vowel = LEADING;
            }
            i += 2;
            continue;
        }
        // A ร after a closed syllable with no vowel of its own is silent (เพชร → phet).
        if c == 'ร' && state == State::Start && !out.is_empty() && !starts_syllable {
            i += 1;
            continue;
        }
        // ว between an initial and a consonant is the vowel ua (ลำดวน → lamduan).
        if c == 'ว' && state == State::Bare && is_cons(next) {
            out.push_str("ua");
            state = State::Open;
            i += 1;
            continue;
        }
        match state {
            State::Start => {
                if c == 'ห' && next.is_some_and(is_sonorant) {
                    i += 1;
                    continue;
                }
                out.push_str(initial);
                if let Some(v) = pending.take() {
                    out.push_str(v);
                    state = State::Open;
                    vowel = LEADING;
                } else {
                    state = State::Bare;
                }
            }
            State::Bare if starts_syllable || next.is_none() && c == 'อ' => {
                out.push('a');
                out.push_str(initial);
                state = State::Bare;
                if let Some(v) = pending.take() {
                    out.push_str(v);
                    state = State::Open;
                    vowel = LEADING;
                }
            }
            State::Bare if c == 'อ' => {
                // อ after an initial is the vowel o: the next consonant may close the
                // syllable (ทองคำ → thongkham, not thongakham).
                out.push('o');
                state = State::Open;
                vowel = 'อ';
            }
            State::Bare => {
                // Two consonants with no vowel written: an unwritten o, and this one closes it.
                out.push('o');
                out.push_str(fin);
                state = State::Start;
            }
            State::Open if starts_syllable => {
                out.push_str(initial);
                state = State::Bare;
                if let Some(v) = pending.take() {
                    out.push_str(v);
                    state = State::Open;
                    vowel = LEADING;
                }
            }
            State::Open => {
                out.push_str(fin);
                state = State::Start;
            }
        }
        i += 1;
    }
    if state == State::Bare && !out.is_empty() {
        out.push('a');
    }
    out
}

/// True for letters of the Thai block.
pub(crate) fn is_thai(c: char) -> bool {
    ('\u{0E01}'..='\u{0E4E}').contains(&c)
}

/// A name written in Thai script as one byte a letter (its offset in the Thai block, so
/// byte-wise edit distances count letters), the words run together; empty unless the
/// name has Thai letters and no letters or digits of another script.
///
/// Romanising loses what the script tells apart: ใจ and ชัย are both `chai` (ใจดี and
/// ชัยดี are different names that read `chaidi`), and a typo of one letter in the script
/// (แสงศรี / แสฆศรี) can land two letters apart after romanising.
pub(crate) fn script_form(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::with_capacity(text.len() / 3 + 1);
    for c in text.nfkc() {
        if is_thai(c) {
            // The Thai block is U+0E00 to U+0E7F: every offset is below 0x80, one
            // ASCII byte (letters are U+0E01 to U+0E4E, so never NUL).
            out.push(char::from((u32::from(c) - 0x0E00) as u8));
        } else if c.is_alphanumeric() {
            return String::new();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::phonetic_key;

    #[test]
    fn script_forms_keep_thai_letters_only() {
        assert_eq!(script_form("ใจดี").len(), 4);
        assert_ne!(script_form("ใจดี"), script_form("ชัยดี"));
        assert_eq!(script_form("สมชาย ใจดี"), script_form("สมชายใจดี"));
        assert_eq!(script_form("Chaidi"), "");
        assert_eq!(script_form("ใจดี Chaidi"), "");
        assert_eq!(script_form(""), "");
    }

    #[test]
    fn romanises_like_rtgs() {
        let mut wrong = Vec::new();
        let mut check = |thai: &str, rtgs: &str| {
            let got = romanize(thai);
            if phonetic_key(&got) != phonetic_key(rtgs) {
                wrong.push(format!("{thai} → {got}, expected like {rtgs}"));
            }
        };
        check("นันทนา", "nanthana");
        check("ทิพย์ไชย", "thipchai");
        check("มณีชัย", "manichai");
        check("วงศ์ไชย", "wongchai");
        check("ศักดิ์ชัย", "sakchai");
        check("พรสมบูรณ์", "phonsombun");
        check("สมหญิง", "somying");
        check("ศิริพร", "siriphon");
        check("จันทร์แก้ว", "chankaeo");
        check("อภิชาติ", "aphichat");
        check("แก้วสุข", "kaeosuk");
        // A consonant that closes one syllable and opens the next, a word-final ร after
        // any consonant, ร opening a syllable after a written vowel, ว starting a
        // syllable after an open one or before รร, and ย closing ั.
        check("วัชระ", "watchara");
        check("ธนากร", "thanakon");
        check("พงศกร", "phongsakon");
        check("ธีรพงษ์", "thiraphong");
        check("สุรเชษฐ์", "surachet");
        check("มณีวงศ์", "maniwong");
        check("ศรีวงศ์", "siwong");
        check("ชัยวงศ์", "chaiwong");
        check("สุวรรณ", "suwan");
        // Only the Thai key folds ph into p here (thipwan / thiphawan).
        assert_eq!(
            crate::normalize::thai_key(&romanize("ทิพวรรณ")),
            crate::normalize::thai_key("thiphawan")
        );
        check("เพชร", "phet");
        // Letters silenced by ์ end a syllable (สมบูรณ์: the ร is its final; วงศ์ is wong,
        // not the vowel ua), and อ after an initial is the vowel o that a consonant closes.
        check("สมบูรณ์แสง", "sombunsaeng");
        check("นาควงศ์", "nakwong");
        check("ทองคำ", "thongkham");
        // FIXME: a silent ร inside a syllable (ประเสริฐ, prasoet), เ-ีย (เกียรติ, kiat), an
        // unwritten a after อ (อรทัย, orathai) and the cluster พร before ห (พรหมมา,
        // phromma) are not handled; the phonetic keys of such names differ by a consonant.
        check("เพ็ญศรี", "phensi");
        check("สวัสดิ์ศรี", "sawatsi");
        check("รัตน์มณี", "ratmani");
        check("กาญจนา", "kanchana");
        check("อัญชลี", "anchali");
        check("พิมพ์ชนก", "phimchanok");
        check("ศรีเรือง", "sirueang");
        check("ทองมณี", "thongmani");
        check("ลำดวน", "lamduan");
        check("เพชรแสง", "phetsaeng");
        check("ธรรมรักษ์", "thammarak");
        assert!(wrong.is_empty(), "{wrong:#?}");
    }
}
