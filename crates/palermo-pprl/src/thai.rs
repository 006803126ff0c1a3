//! Thai-script names to Latin letters close to the Royal Thai General System (RTGS), the
//! romanisation Thai passports and other agencies' records use.
//!
//! Letter-by-letter transliteration (what the shared normaliser does for every script)
//! reads Thai badly: a leading vowel (เ แ โ ใ ไ) is written before the consonant it
//! follows in speech (แสง `aesng` for *saeng*), a consonant under the cancellation mark
//! ์ is silent (ศักดิ์ `sakdi` for *sak*), ห before a sonorant only marks the tone
//! (หญิง `hying` for *ying*), อ carries a vowel, and final consonants are pronounced
//! differently from initial ones (บุญ `buy` for *bun*, ชัย `chay` for *chai*). This module
//! applies those rules before the normaliser sees the text, so a name written in Thai by
//! one agency and romanised by another produce mostly the same q-grams.

/// Rewrites the Thai letters of `text` in Latin letters (RTGS-like); other characters
/// are kept as they are. Text without Thai letters is returned unchanged.
pub(crate) fn romanise(text: &str) -> String {
    if !text.chars().any(is_thai) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut word: Vec<char> = Vec::new();
    for c in text.chars() {
        if is_thai(c) {
            word.push(c);
        } else {
            if !word.is_empty() {
                out.push_str(&romanise_word(&word));
                word.clear();
            }
            out.push(c);
        }
    }
    if !word.is_empty() {
        out.push_str(&romanise_word(&word));
    }
    out
}

fn is_thai(c: char) -> bool {
    ('\u{0E01}'..='\u{0E5B}').contains(&c)
}

fn is_consonant(c: char) -> bool {
    ('\u{0E01}'..='\u{0E2E}').contains(&c)
}

fn is_leading_vowel(c: char) -> bool {
    ('\u{0E40}'..='\u{0E44}').contains(&c)
}

/// Marks that only change tone or length: dropped.
fn is_silent_mark(c: char) -> bool {
    matches!(
        c,
        '\u{0E47}'..='\u{0E4B}' | '\u{0E4D}' | '\u{0E4E}' | '\u{0E3A}'
    )
}

fn romanise_word(word: &[char]) -> String {
    // 1. A consonant (with its vowel marks) under the cancellation mark is silent.
    let mut chars: Vec<char> = Vec::with_capacity(word.len());
    for &c in word {
        if c == '\u{0E4C}' {
            while let Some(&last) = chars.last() {
                chars.pop();
                if is_consonant(last) {
                    break;
                }
            }
        } else if !is_silent_mark(c) {
            chars.push(c);
        }
    }
    // 2. A leading vowel goes after the consonant it is spoken after (and after a
    //    cluster's second consonant ร ล ว when a vowel-less final follows).
    let mut i = 0;
    while i + 1 < chars.len() {
        if is_leading_vowel(chars[i]) && is_consonant(chars[i + 1]) {
            chars.swap(i, i + 1);
            i += 2;
        } else {
            i += 1;
        }
    }
    // 3. Letters to sounds: a consonant is a final when it ends the word or another
    //    consonant follows it after a vowel (or after an initial with the inherent vowel).
    let mut out = String::new();
    let n = chars.len();
    let mut after_vowel = false;
    let mut k = 0;
    while k < n {
        let c = chars[k];
        let next = chars.get(k + 1).copied();
        if is_consonant(c) {
            // ห before a sonorant, and อ before a vowel, are silent.
            if c == 'ห' && next.is_some_and(|x| "งญนมยรลว".contains(x)) && !after_vowel
            {
                k += 1;
                continue;
            }
            if c == 'อ' && !after_vowel && next.is_some_and(|x| !is_consonant(x)) {
                k += 1;
                continue;
            }
            let closes = next.is_none() || next.is_some_and(is_consonant);
            let waiting = !after_vowel && out_ends_with_initial(&out);
            if c == 'อ' && waiting {
                // อ after an initial is the vowel o (ทอง thong).
                out.push('o');
                after_vowel = true;
                k += 1;
                continue;
            }
            if !closes && waiting && !"รลว".contains(c) {
                // An initial, then another with a vowel: the inherent a between them
                // (นภา napha); ร ล ว make a cluster instead (ประ pra).
                out.push('a');
            }
            if closes && (after_vowel || waiting) {
                if waiting {
                    // Two consonants with no vowel: the inherent o between them.
                    out.push('o');
                }
                out.push_str(final_sound(c));
                out.push('|');
            } else {
                out.push_str(initial_sound(c));
            }
            after_vowel = false;
        } else {
            out.push_str(vowel_sound(c, next));
            after_vowel = true;
            if c == 'ั' && next == Some('ว') {
                // ัว is the vowel ua, not a final w.
                k += 1;
            }
        }
        k += 1;
    }
    out.replace('|', "")
}

/// True when the last letters written are an initial consonant still waiting for its
/// vowel (nothing written is a vowel after it, and no syllable ended there).
fn out_ends_with_initial(out: &str) -> bool {
    !out.ends_with('|') && out.chars().last().is_some_and(|c| !"aeiou".contains(c))
}

fn initial_sound(c: char) -> &'static str {
    match c {
        'ก' => "k",
        'ข' | 'ฃ' | 'ค' | 'ฅ' | 'ฆ' => "kh",
        'ง' => "ng",
        'จ' | 'ฉ' | 'ช' | 'ฌ' => "ch",
        'ซ' | 'ศ' | 'ษ' | 'ส' => "s",
        'ญ' | 'ย' => "y",
        'ฎ' | 'ด' => "d",
        'ฏ' | 'ต' => "t",
        'ฐ' | 'ฑ' | 'ฒ' | 'ถ' | 'ท' | 'ธ' => "th",
        'ณ' | 'น' => "n",
        'บ' => "b",
        'ป' => "p",
        'ผ' | 'พ' | 'ภ' => "ph",
        'ฝ' | 'ฟ' => "f",
        'ม' => "m",
        'ร' => "r",
        'ล' | 'ฬ' => "l",
        'ว' => "w",
        'ห' | 'ฮ' => "h",
        'อ' => "o",
        _ => "",
    }
}

fn final_sound(c: char) -> &'static str {
    match c {
        'ก' | 'ข' | 'ฃ' | 'ค' | 'ฅ' | 'ฆ' => "k",
        'ง' => "ng",
        'จ' | 'ฉ' | 'ช' | 'ซ' | 'ฌ' | 'ฎ' | 'ฏ' | 'ฐ' | 'ฑ' | 'ฒ' | 'ด' | 'ต' | 'ถ' | 'ท' | 'ธ'
        | 'ศ' | 'ษ' | 'ส' => "t",
        'ญ' | 'ณ' | 'น' | 'ร' | 'ล' | 'ฬ' => "n",
        'บ' | 'ป' | 'ผ' | 'ฝ' | 'พ' | 'ฟ' | 'ภ' => "p",
        'ม' => "m",
        'ย' => "i",
        'ว' => "o",
        _ => "",
    }
}

fn vowel_sound(c: char, next: Option<char>) -> &'static str {
    match c {
        'ะ' | 'ั' | 'า' => "a",
        'ำ' => "am",
        'ิ' | 'ี' => "i",
        'ึ' | 'ื' => "ue",
        'ุ' | 'ู' => "u",
        'เ' => "e",
        'แ' => "ae",
        'โ' => "o",
        'ใ' | 'ไ' => "ai",
        'ฤ' => "rue",
        'ฦ' => "lue",
        _ if next.is_none() => "",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(thai: &str, expect: &str) {
        assert_eq!(romanise(thai), expect, "{thai}");
    }

    #[test]
    fn names_read_as_agencies_romanise_them() {
        check("แสงบุญ", "saengbun");
        check("ศักดิ์ชัย", "sakchai");
        check("สมหญิง", "somying");
        // A consonant spoken twice (final and initial, วัช-ชระ) is read once.
        check("วัชระ", "watra");
        check("ประนี", "prani");
        check("Somchai", "Somchai");
        check("นภา ทองสมบูรณ์", "napha thongsombun");
    }
}
