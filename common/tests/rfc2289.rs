//! Every row of RFC 2289 appendix C's test vectors, read from a verbatim copy of the table.

#![allow(clippy::unwrap_used)]

use chatroom_common::protocol::OtpAlgorithm;
use chatroom_common::skey::{
    ExtendedResponse, otp, parse_extended_response, parse_response, step, to_hex, to_words,
};

/// The RFC's table: a section header per algorithm, then one row per vector
/// (pass phrase, seed, count, hex) with its six words on the following line.
const VECTORS: &str = include_str!("data/rfc2289-vectors.txt");

/// One row of the table.
#[derive(Debug)]
struct Vector {
    algorithm: OtpAlgorithm,
    passphrase: String,
    seed: String,
    count: u32,
    hex: String,
    words: String,
}

/// Parses the table. Pass phrases contain spaces, so each row is read from
/// the right: four hex groups, the count, the seed, and the rest is the pass phrase.
fn vectors() -> Vec<Vector> {
    let mut out = Vec::new();
    let mut algorithm = None;
    let mut lines = VECTORS.lines().map(str::trim).filter(|l| !l.is_empty());
    while let Some(line) = lines.next() {
        match line {
            "MD4 ENCODINGS" => algorithm = Some(OtpAlgorithm::Md4),
            "MD5 ENCODINGS" => algorithm = Some(OtpAlgorithm::Md5),
            "SHA1 ENCODINGS" => algorithm = Some(OtpAlgorithm::Sha1),
            _ if line.starts_with('#')
                || line.starts_with("Pass Phrase")
                || line.starts_with("====") => {}
            _ => {
                let tokens: Vec<&str> = line.split_whitespace().collect();
                assert!(tokens.len() >= 7, "short row: {line:?}");
                let n = tokens.len();
                out.push(Vector {
                    algorithm: algorithm.expect("a row before any section header"),
                    passphrase: tokens[..n - 6].join(" "),
                    seed: tokens[n - 6].to_owned(),
                    count: tokens[n - 5].parse().unwrap(),
                    hex: tokens[n - 4..].join(" "),
                    words: lines
                        .next()
                        .expect("a row without its six words")
                        .to_owned(),
                });
            }
        }
    }
    out
}

#[test]
fn the_table_parses_into_27_rows() {
    let rows = vectors();
    assert_eq!(rows.len(), 27);
    for alg in [OtpAlgorithm::Md4, OtpAlgorithm::Md5, OtpAlgorithm::Sha1] {
        assert_eq!(rows.iter().filter(|v| v.algorithm == alg).count(), 9);
    }
}

#[test]
fn every_vector_computes() {
    let mut failures = Vec::new();
    for v in vectors() {
        let value = otp(v.algorithm, &v.seed, &v.passphrase, v.count).unwrap();
        if to_hex(value) != v.hex || to_words(value) != v.words {
            failures.push(format!(
                "{} {:?} {} {}: got {} / {}, want {} / {}",
                v.algorithm,
                v.passphrase,
                v.seed,
                v.count,
                to_hex(value),
                to_words(value),
                v.hex,
                v.words
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_vector_parses_back_in_both_forms() {
    for v in vectors() {
        let value = otp(v.algorithm, &v.seed, &v.passphrase, v.count).unwrap();
        assert_eq!(parse_response(&v.hex), Ok(value), "{v:?}");
        assert_eq!(parse_response(&v.words), Ok(value), "{v:?}");
        assert_eq!(parse_response(&v.words.to_lowercase()), Ok(value), "{v:?}");
        assert_eq!(
            parse_extended_response(&format!("word:{}", v.words)),
            Ok(ExtendedResponse::Plain(value)),
            "{v:?}"
        );
        assert_eq!(
            parse_extended_response(&format!("hex:{}", v.hex)),
            Ok(ExtendedResponse::Plain(value)),
            "{v:?}"
        );
    }
}

#[test]
fn rows_one_step_apart_are_linked_by_step() {
    let rows = vectors();
    for zero in rows.iter().filter(|v| v.count == 0) {
        let one = rows
            .iter()
            .find(|v| v.algorithm == zero.algorithm && v.seed == zero.seed && v.count == 1)
            .unwrap();
        let value = parse_response(&zero.hex).unwrap();
        assert_eq!(to_hex(step(zero.algorithm, value)), one.hex, "{zero:?}");
    }
}
