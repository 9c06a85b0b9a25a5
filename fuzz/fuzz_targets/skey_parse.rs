//! Fuzz target: every public S/KEY parser in `chatroom_common::skey`, on arbitrary text.
//!
//! These parsers read what people type and what a peer sends (responses in
//! hex or six words, challenges, RFC 2243 extended and `init-` responses,
//! counts, seeds, algorithm names, pass phrases). Each must refuse with a
//! `SkeyError` or succeed, never panic; whatever parses must format back
//! (`to_hex`, `to_words`, `Display`) to text that parses to the same value.
//! The chain functions run too, with a small count, to check that one more
//! count is one more `step`.

#![no_main]

use chatroom_common::protocol::{OtpAlgorithm, OtpValue};
use chatroom_common::skey::{
    self, ExtendedResponse, MAX_COUNT, MAX_SEED, parse_algorithm, parse_challenge, parse_count,
    parse_extended_response, parse_response, to_hex, to_words,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Invalid UTF-8 never reaches the parsers (they take `&str`), but its
    // replacement characters are a fair stand-in for odd Unicode.
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();

    if let Ok(value) = parse_response(text) {
        value_round_trips(value);
    }
    if let Ok(challenge) = parse_challenge(text) {
        assert!(challenge.count <= MAX_COUNT);
        assert_eq!(parse_challenge(&challenge.to_string()), Ok(challenge));
    }
    if let Ok(response) = parse_extended_response(text) {
        extended_round_trips(&response);
    }
    if let Ok(count) = parse_count(text) {
        assert!(count <= MAX_COUNT);
        assert_eq!(parse_count(&count.to_string()), Ok(count));
    }
    if let Ok(algorithm) = parse_algorithm(text) {
        assert_eq!(parse_algorithm(&algorithm.to_string()), Ok(algorithm));
        assert_eq!(text.parse::<OtpAlgorithm>(), Ok(algorithm));
    }
    if let Ok(seed) = skey::normalize_seed(text) {
        assert!((1..=MAX_SEED).contains(&seed.len()));
        assert_eq!(skey::normalize_seed(&seed).as_deref(), Ok(seed.as_str()));
    }
    chain(data, text);
});

/// A value must come back from both of its printed forms.
fn value_round_trips(value: OtpValue) {
    assert_eq!(parse_response(&to_hex(value)), Ok(value), "hex round trip");
    assert_eq!(
        parse_response(&to_words(value)),
        Ok(value),
        "words round trip"
    );
}

/// An extended response must come back from the canonical spelling of each
/// encoding it allows.
fn extended_round_trips(response: &ExtendedResponse) {
    match response {
        ExtendedResponse::Plain(value) => {
            value_round_trips(*value);
            for text in [
                format!("hex:{}", to_hex(*value)),
                format!("word:{}", to_words(*value)),
            ] {
                assert_eq!(parse_extended_response(&text).as_ref(), Ok(response));
            }
        }
        ExtendedResponse::Reinit { current, new } => {
            assert!((1..=MAX_COUNT).contains(&new.count));
            let params = format!("{} {} {}", new.algorithm, new.count, new.seed);
            for text in [
                format!("init-hex:{}:{params}:{}", to_hex(*current), to_hex(new.otp)),
                format!(
                    "init-word:{}:{params}:{}",
                    to_words(*current),
                    to_words(new.otp)
                ),
            ] {
                assert_eq!(parse_extended_response(&text).as_ref(), Ok(response));
            }
        }
    }
}

/// Runs the chain on `seed\npassphrase` input with a count of 0 to 2 (each
/// count is a hash, so a large one would only slow the fuzzer down).
fn chain(data: &[u8], text: &str) {
    let _ = skey::validate_passphrase(text);
    let Some((seed, passphrase)) = text.split_once('\n') else {
        return;
    };
    let algorithm =
        [OtpAlgorithm::Md4, OtpAlgorithm::Md5, OtpAlgorithm::Sha1][usize::from(data[0] % 3)];
    let count = u32::from(data[data.len() - 1] % 3);
    let Ok(value) = skey::otp(algorithm, seed, passphrase, count) else {
        return;
    };
    let next = skey::otp(algorithm, seed, passphrase, count + 1).expect("count + 1 is valid too");
    assert_eq!(skey::step(algorithm, value), next, "one count is one step");
    let init = skey::init(algorithm, seed, passphrase, count + 1).expect("init of a valid chain");
    assert_eq!(init.otp, next);
    assert!(skey::constant_time_eq(&init.otp, &next));
}
