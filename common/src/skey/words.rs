//! The RFC 2289 six-word encoding: 64 bits plus a 2-bit checksum, as six
//! 11-bit indexes into the standard 2048-word dictionary (appendix D).

use super::SkeyError;
use crate::protocol::OtpValue;

/// Number of words in the dictionary: one per 11-bit index.
const DICTIONARY_LEN: usize = 2048;

/// The dictionary, in index order, one word a line.
const DICTIONARY_TEXT: &str = include_str!("dictionary.txt");

/// The dictionary split into words. Built at compile time, so a damaged
/// `dictionary.txt` is a build error rather than a runtime panic.
static WORDS: [&str; DICTIONARY_LEN] = split_dictionary(DICTIONARY_TEXT);

/// Splits the dictionary text into its 2048 words, checking that each is one
/// to four upper-case ASCII letters. Blank lines and `\r` are ignored, so a
/// checkout with Windows line endings still builds.
const fn split_dictionary(text: &str) -> [&str; DICTIONARY_LEN] {
    let mut words = [""; DICTIONARY_LEN];
    let mut count = 0;
    let mut rest = text.as_bytes();
    while !rest.is_empty() {
        let mut len = 0;
        while len < rest.len() && rest[len] != b'\n' {
            len += 1;
        }
        let (line, tail) = rest.split_at(len);
        let line = match line {
            [head @ .., b'\r'] => head,
            _ => line,
        };
        if !line.is_empty() {
            assert!(
                line.len() <= 4,
                "dictionary words have at most four letters"
            );
            let mut i = 0;
            while i < line.len() {
                assert!(
                    line[i].is_ascii_uppercase(),
                    "dictionary words are upper case"
                );
                i += 1;
            }
            assert!(
                count < DICTIONARY_LEN,
                "the dictionary has more than 2048 words"
            );
            words[count] = match std::str::from_utf8(line) {
                Ok(word) => word,
                Err(_) => panic!("the dictionary is not ASCII"),
            };
            count += 1;
        }
        rest = match tail {
            [_newline, after @ ..] => after,
            [] => tail,
        };
    }
    assert!(
        count == DICTIONARY_LEN,
        "the dictionary has fewer than 2048 words"
    );
    words
}

/// The 2-bit checksum: the sum of the value's 32 two-bit pairs, modulo 4.
fn checksum(bits: u64) -> u64 {
    (0..32).map(|pair| (bits >> (2 * pair)) & 3).sum::<u64>() & 3
}

/// Encodes a value as six dictionary words separated by single spaces, like
/// `ROME MUG FRED SCAN LIVE LACE`.
pub fn to_words(value: OtpValue) -> String {
    let bits = u64::from_be_bytes(value.0);
    // 66 bits: the value, then the checksum in the two lowest bits.
    let all = (u128::from(bits) << 2) | u128::from(checksum(bits));
    let mut out = String::with_capacity(6 * 5);
    for i in 0..6 {
        if i > 0 {
            out.push(' ');
        }
        let index = (all >> (55 - 11 * i)) & 0x7ff;
        out.push_str(WORDS[index as usize]);
    }
    out
}

/// Decodes six dictionary words (any case, any amount of whitespace between
/// them) and verifies the checksum.
///
/// Like the RFC's reference code, the digits 0, 1 and 5 are read as the
/// letters O, L and S, which they are easily mistaken for; the dictionary
/// holds no digits, so this never changes a correct word.
pub(super) fn parse_words(text: &str) -> Result<OtpValue, SkeyError> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    if tokens.len() != 6 {
        return Err(SkeyError::WordCount {
            found: tokens.len(),
        });
    }
    let mut all: u128 = 0;
    for (position, token) in tokens.iter().enumerate() {
        let index = word_index(token).ok_or(SkeyError::UnknownWord {
            position: position + 1,
        })?;
        all = (all << 11) | index as u128;
    }
    // The 66 bits are the value followed by the checksum in the two lowest bits.
    let bits = (all >> 2) as u64;
    if checksum(bits) != (all & 3) as u64 {
        return Err(SkeyError::Checksum);
    }
    Ok(OtpValue(bits.to_be_bytes()))
}

/// Finds a word's index, ignoring case and reading 0, 1 and 5 as O, L and S.
fn word_index(token: &str) -> Option<usize> {
    if token.is_empty() || token.len() > 4 {
        return None;
    }
    let mut word = [0u8; 4];
    for (slot, byte) in word.iter_mut().zip(token.bytes()) {
        *slot = match byte.to_ascii_uppercase() {
            b'0' => b'O',
            b'1' => b'L',
            b'5' => b'S',
            other => other,
        };
    }
    let word = &word[..token.len()];
    WORDS
        .iter()
        .position(|candidate| candidate.as_bytes() == word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_has_2048_distinct_words() {
        let mut sorted = WORDS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), DICTIONARY_LEN);
        assert_eq!(WORDS[0], "A");
        assert_eq!(WORDS[570], "YOU");
        assert_eq!(WORDS[571], "ABED");
        assert_eq!(WORDS[2047], "YOKE");
    }

    #[test]
    fn every_word_maps_back_to_its_index() {
        for (i, word) in WORDS.iter().enumerate() {
            assert_eq!(word_index(word), Some(i));
            assert_eq!(word_index(&word.to_ascii_lowercase()), Some(i));
        }
    }

    #[test]
    fn checksum_sums_bit_pairs() {
        assert_eq!(checksum(0), 0);
        assert_eq!(checksum(0b11), 3);
        assert_eq!(checksum(0b11_11), 2);
        assert_eq!(checksum(u64::MAX), (32 * 3) % 4);
        assert_eq!(checksum(0b01_10_00_01), 0);
    }
}

/// Access to the dictionary for tests elsewhere in the module.
#[cfg(test)]
pub(super) mod tests_support {
    /// Every dictionary word, in index order.
    pub(crate) fn all_words() -> impl Iterator<Item = &'static str> {
        super::WORDS.iter().copied()
    }
}
