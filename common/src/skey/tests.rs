//! Unit tests for S/KEY: validation, the chain, encodings and parsers. The
//! full RFC 2289 vector table is checked by `tests/rfc2289.rs`.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use super::*;

/// RFC 2289 appendix C's parity example (MD5, count 99).
const PARITY_PASS: &str = "A_Valid_Pass_Phrase";
const PARITY_SEED: &str = "AValidSeed";
const PARITY_WORDS: &str = "FOWL KID MASH DEAD DUAL OAF";

fn value(hex: &str) -> OtpValue {
    parse::parse_hex(hex).unwrap()
}

#[test]
fn parity_example_matches_the_rfc() {
    let v = otp(OtpAlgorithm::Md5, PARITY_SEED, PARITY_PASS, 99).unwrap();
    assert_eq!(v, value("85c43ee03857765b"));
    assert_eq!(to_words(v), PARITY_WORDS);
    assert_eq!(parse_response(PARITY_WORDS).unwrap(), v);
}

#[test]
fn changing_the_last_word_fails_the_checksum() {
    assert_eq!(
        parse_response("FOWL KID MASH DEAD DUAL NUT"),
        Err(SkeyError::Checksum)
    );
}

#[test]
fn the_checksum_catches_most_single_word_changes() {
    // A 2-bit checksum lets about one change in four through; check that it
    // is neither always silent nor always loud, and that what it lets
    // through is a different value, never the original.
    let original = parse_response(PARITY_WORDS).unwrap();
    let words: Vec<&str> = PARITY_WORDS.split(' ').collect();
    let (mut caught, mut passed) = (0, 0);
    for replacement in super::words::tests_support::all_words() {
        if replacement == words[0] {
            continue;
        }
        let changed = format!("{replacement} {}", words[1..].join(" "));
        match parse_response(&changed) {
            Err(SkeyError::Checksum) => caught += 1,
            Ok(v) => {
                assert_ne!(v, original);
                passed += 1;
            }
            Err(e) => panic!("unexpected error for {changed:?}: {e}"),
        }
    }
    assert_eq!(caught + passed, 2047);
    assert!((1300..1700).contains(&caught), "caught {caught} of 2047");
}

#[test]
fn rfc2243_example_chain() {
    // RFC 2243's examples: "This is a test.", MD5, seeds ke1234 and ke1235, count 499.
    let current = otp(OtpAlgorithm::Md5, "ke1234", "This is a test.", 499).unwrap();
    assert_eq!(to_hex(current), "5BF0 75D9 959D 036F");
    assert_eq!(to_words(current), "BOND FOGY DRAB NE RISE MART");
    let new = init(OtpAlgorithm::Md5, "ke1235", "This is a test.", 499).unwrap();
    assert_eq!(to_hex(new.otp), "3712 DCB4 AA53 16C1");
    assert_eq!(to_words(new.otp), "RED HERD NOW BEAN PA BURG");

    let expected = ExtendedResponse::Reinit {
        current,
        new: new.clone(),
    };
    assert_eq!(
        parse_extended_response("init-hex:5bf0 75d9 959d 036f:md5 499 ke1235:3712 dcb4 aa53 16c1")
            .unwrap(),
        expected
    );
    assert_eq!(
        parse_extended_response("init-hex:5bf075d9959d036f:md5 499 ke1235:3712dcb4aa5316c1")
            .unwrap(),
        expected
    );
    assert_eq!(
        parse_extended_response(
            "INIT-WORD: bond fogy drab ne rise mart : otp-md5  499  KE1235 : RED HERD NOW BEAN PA BURG"
        )
        .unwrap(),
        expected
    );
    assert_eq!(
        parse_extended_response("hex:5Bf0 75d9 959d 036f").unwrap(),
        ExtendedResponse::Plain(current)
    );
    assert_eq!(
        parse_extended_response("word:BOND FOGY DRAB NE RISE MART").unwrap(),
        ExtendedResponse::Plain(current)
    );
    assert_eq!(
        parse_extended_response("  BOND FOGY DRAB NE RISE MART\n").unwrap(),
        ExtendedResponse::Plain(current)
    );
}

#[test]
fn extended_responses_refuse_bad_shapes() {
    use SkeyError::*;
    let cases: &[(&str, SkeyError)] = &[
        ("foo:data", UnsupportedResponseType),
        ("hex:", HexLength { found: 0 }),
        ("hex:5bf075d9959d036f:extra", ExtendedFormat),
        ("word:BOND FOGY DRAB NE RISE", WordCount { found: 5 }),
        // The stated encoding is enforced: words are not hex and hex is not words.
        ("hex:BOND FOGY DRAB NE RISE MART", HexCharacters),
        ("word:5bf0 75d9 959d 036f", WordCount { found: 4 }),
        ("init-hex:5bf075d9959d036f:md5 499 ke1235", ExtendedFormat),
        (
            "init-hex:5bf075d9959d036f:md5 0 ke1235:3712dcb4aa5316c1",
            CountZero,
        ),
        (
            "init-hex:5bf075d9959d036f:md5 499 ke-1235:3712dcb4aa5316c1",
            SeedCharacters,
        ),
        (
            "init-hex:5bf075d9959d036f:rot13 499 ke1235:3712dcb4aa5316c1",
            UnknownAlgorithm,
        ),
        (
            "init-hex:5bf075d9959d036f:md5 499:3712dcb4aa5316c1",
            ExtendedFormat,
        ),
        (":", UnsupportedResponseType),
    ];
    for (input, expected) in cases {
        assert_eq!(
            parse_extended_response(input).as_ref(),
            Err(expected),
            "input {input:?}"
        );
    }
}

#[test]
fn step_extends_the_chain_by_one() {
    for alg in [OtpAlgorithm::Md4, OtpAlgorithm::Md5, OtpAlgorithm::Sha1] {
        for n in [1, 2, 50, 99, 500] {
            let previous = otp(alg, "seed42", "correct horse battery", n - 1).unwrap();
            let current = otp(alg, "seed42", "correct horse battery", n).unwrap();
            assert_eq!(step(alg, previous), current, "{alg} n={n}");
            assert_ne!(previous, current);
        }
    }
}

#[test]
fn algorithms_give_different_chains() {
    let md4 = otp(OtpAlgorithm::Md4, "seed", "correct horse battery", 5).unwrap();
    let md5 = otp(OtpAlgorithm::Md5, "seed", "correct horse battery", 5).unwrap();
    let sha1 = otp(OtpAlgorithm::Sha1, "seed", "correct horse battery", 5).unwrap();
    assert_ne!(md4, md5);
    assert_ne!(md5, sha1);
    assert_ne!(md4, sha1);
}

#[test]
fn passphrase_length_is_checked_in_characters() {
    assert_eq!(
        validate_passphrase("Too_short"),
        Err(SkeyError::PassphraseTooShort { min: 10 })
    );
    assert_eq!(validate_passphrase("Not_short!"), Ok(()));
    assert_eq!(validate_passphrase(&"x".repeat(63)), Ok(()));
    assert_eq!(
        validate_passphrase(&format!("{}1234", "1234567890".repeat(6))),
        Err(SkeyError::PassphraseTooLong { max: 63 })
    );
    // Ten characters, twenty bytes: accepted.
    assert_eq!(validate_passphrase("éééééééééé"), Ok(()));
    // Nine characters, eighteen bytes: refused.
    assert!(validate_passphrase("ééééééééé").is_err());
    // otp() validates too.
    assert_eq!(
        otp(OtpAlgorithm::Md5, "iamvalid", "Too_short", 99),
        Err(SkeyError::PassphraseTooShort { min: 10 })
    );
}

#[test]
fn seeds_are_checked_and_lower_cased() {
    assert_eq!(normalize_seed("TeSt").unwrap(), "test");
    assert_eq!(normalize_seed("a").unwrap(), "a");
    assert_eq!(
        normalize_seed("Sixteen0Letters0").unwrap(),
        "sixteen0letters0"
    );
    let seed_len = SkeyError::SeedLength { max: 16 };
    assert_eq!(normalize_seed(""), Err(seed_len.clone()));
    assert_eq!(normalize_seed("LengthOfSeventeen"), Err(seed_len));
    assert_eq!(normalize_seed("ab cd"), Err(SkeyError::SeedCharacters));
    assert_eq!(normalize_seed("A Seed"), Err(SkeyError::SeedCharacters));
    assert_eq!(normalize_seed("ab-1"), Err(SkeyError::SeedCharacters));
    assert_eq!(
        normalize_seed("Length_Okay"),
        Err(SkeyError::SeedCharacters)
    );
    assert_eq!(normalize_seed("sëed"), Err(SkeyError::SeedCharacters));
    // The seed's case does not change the chain.
    assert_eq!(
        otp(OtpAlgorithm::Sha1, "TeSt", "This is a test.", 3),
        otp(OtpAlgorithm::Sha1, "test", "This is a test.", 3)
    );
}

#[test]
fn counts_are_bounded() {
    assert_eq!(parse_count("0"), Ok(0));
    assert_eq!(parse_count("499"), Ok(499));
    assert_eq!(parse_count("100000"), Ok(MAX_COUNT));
    let too_large = SkeyError::CountTooLarge { max: MAX_COUNT };
    assert_eq!(parse_count("100001"), Err(too_large.clone()));
    assert_eq!(parse_count("99999999999999999999"), Err(too_large.clone()));
    for bad in ["", "+5", "-1", "4 9", "0x10", "1e3", "٣"] {
        assert_eq!(parse_count(bad), Err(SkeyError::BadCount), "{bad:?}");
    }
    assert_eq!(
        otp(
            OtpAlgorithm::Md5,
            "seed",
            "correct horse battery",
            MAX_COUNT + 1
        ),
        Err(too_large)
    );
    assert_eq!(
        init(OtpAlgorithm::Md5, "seed", "correct horse battery", 0),
        Err(SkeyError::CountZero)
    );
}

#[test]
fn init_builds_a_validated_setup() {
    let setup = init(OtpAlgorithm::Sha1, "KE1234", "correct horse battery", 100).unwrap();
    assert_eq!(setup.algorithm, OtpAlgorithm::Sha1);
    assert_eq!(setup.seed, "ke1234");
    assert_eq!(setup.count, 100);
    let answer = otp(OtpAlgorithm::Sha1, "ke1234", "correct horse battery", 99).unwrap();
    assert!(constant_time_eq(
        &step(OtpAlgorithm::Sha1, answer),
        &setup.otp
    ));
    assert_eq!(
        init(OtpAlgorithm::Sha1, "bad seed", "correct horse battery", 100),
        Err(SkeyError::SeedCharacters)
    );
}

#[test]
fn algorithms_parse_with_or_without_prefix() {
    for (text, alg) in [
        ("otp-md5", OtpAlgorithm::Md5),
        ("md5", OtpAlgorithm::Md5),
        ("OTP-MD5", OtpAlgorithm::Md5),
        ("otp-sha1", OtpAlgorithm::Sha1),
        ("SHA1", OtpAlgorithm::Sha1),
        ("otp-md4", OtpAlgorithm::Md4),
        ("md4", OtpAlgorithm::Md4),
    ] {
        assert_eq!(parse_algorithm(text), Ok(alg), "{text}");
        assert_eq!(text.parse::<OtpAlgorithm>(), Ok(alg), "{text}");
    }
    for alg in [OtpAlgorithm::Md4, OtpAlgorithm::Md5, OtpAlgorithm::Sha1] {
        assert_eq!(alg.to_string().parse::<OtpAlgorithm>(), Ok(alg));
    }
    for bad in ["", "otp-", "sha256", "otp-sha-1", "otp md5", "é"] {
        assert_eq!(
            parse_algorithm(bad),
            Err(SkeyError::UnknownAlgorithm),
            "{bad:?}"
        );
    }
}

#[test]
fn challenges_round_trip_through_display() {
    let challenge = parse_challenge("otp-md5 499 ke1234").unwrap();
    assert_eq!(
        challenge,
        Challenge {
            algorithm: OtpAlgorithm::Md5,
            count: 499,
            seed: "ke1234".to_owned(),
        }
    );
    assert_eq!(challenge.to_string(), "otp-md5 499 ke1234");
    for text in [
        "  otp-md5   499\tke1234 \n",
        "otp-md5 499 KE1234",
        "otp-md5 499 ke1234 ext",
        "otp-md5 499 ke1234 ext,foo",
        "OTP-MD5 499 ke1234 EXT",
    ] {
        assert_eq!(parse_challenge(text).unwrap(), challenge, "{text:?}");
    }
    for alg in [OtpAlgorithm::Md4, OtpAlgorithm::Md5, OtpAlgorithm::Sha1] {
        let c = Challenge {
            algorithm: alg,
            count: 0,
            seed: "z9".to_owned(),
        };
        assert_eq!(parse_challenge(&c.to_string()).unwrap(), c);
    }
}

#[test]
fn bad_challenges_get_typed_errors() {
    use SkeyError::*;
    let cases: &[(&str, SkeyError)] = &[
        ("", ChallengeFormat),
        ("otp-md5 499", ChallengeFormat),
        ("otp-md5 499 ke1234 foo", ChallengeFormat),
        ("otp-md5 499 ke1234 ext extra", ChallengeFormat),
        ("otp-rot13 499 ke1234", UnknownAlgorithm),
        ("otp-md5 many ke1234", BadCount),
        ("otp-md5 -1 ke1234", BadCount),
        (
            "otp-md5 4294967296 ke1234",
            CountTooLarge { max: MAX_COUNT },
        ),
        ("otp-md5 499 ke_1234", SeedCharacters),
        ("otp-md5 499 abcdefghijklmnopq", SeedLength { max: 16 }),
    ];
    for (input, expected) in cases {
        assert_eq!(parse_challenge(input).as_ref(), Err(expected), "{input:?}");
    }
    let long = "otp-md5 499 ".to_owned() + &"a".repeat(MAX_INPUT_LEN);
    assert_eq!(parse_challenge(&long), Err(TooLong { max: MAX_INPUT_LEN }));
}

#[test]
fn responses_tolerate_case_and_spacing() {
    let v = value("D1854218EBBB0B51");
    for text in [
        "ROME MUG FRED SCAN LIVE LACE",
        "rome mug fred scan live lace",
        "  Rome\tMUG  fred\nscan live   lace  ",
        "D185 4218 EBBB 0B51",
        "d1854218ebbb0b51",
        " d1 85 42 18 eb bb 0b 51 ",
    ] {
        assert_eq!(parse_response(text), Ok(v), "{text:?}");
    }
    // 0, 1 and 5 read as O, L and S, as in the RFC's reference code.
    let words = "R0ME MUG FRED 5CAN 1IVE 1ACE";
    assert_eq!(parse_response(words), Ok(v));
}

#[test]
fn bad_responses_get_typed_errors() {
    use SkeyError::*;
    let cases: &[(&str, SkeyError)] = &[
        ("", EmptyResponse),
        ("   \n", EmptyResponse),
        ("ROME MUG FRED SCAN LIVE", WordCount { found: 5 }),
        ("ROME MUG FRED SCAN LIVE LACE LACE", WordCount { found: 7 }),
        ("ROME MUG FRED SCAN LIVE LACX", UnknownWord { position: 6 }),
        ("ROMEO MUG FRED SCAN LIVE LACE", UnknownWord { position: 1 }),
        ("D185 4218 EBBB 0B5", HexLength { found: 15 }),
        ("D185 4218 EBBB 0B51 0", HexLength { found: 17 }),
        ("hello", WordCount { found: 1 }),
    ];
    for (input, expected) in cases {
        assert_eq!(parse_response(input).as_ref(), Err(expected), "{input:?}");
    }
    assert_eq!(
        parse_response(&"A ".repeat(MAX_INPUT_LEN)),
        Err(TooLong { max: MAX_INPUT_LEN })
    );
}

#[test]
fn hex_is_grouped_upper_case() {
    assert_eq!(to_hex(OtpValue([0; 8])), "0000 0000 0000 0000");
    assert_eq!(
        to_hex(OtpValue([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef])),
        "0123 4567 89AB CDEF"
    );
}

#[test]
fn constant_time_eq_compares_every_byte() {
    let a = OtpValue([1, 2, 3, 4, 5, 6, 7, 8]);
    assert!(constant_time_eq(&a, &a));
    for i in 0..8 {
        let mut b = a;
        b.0[i] ^= 0x80;
        assert!(!constant_time_eq(&a, &b), "byte {i}");
    }
}

#[test]
fn errors_never_echo_the_response() {
    let secret = "ROME MUG FRED SCAN LIVE LACX";
    let message = parse_response(secret).unwrap_err().to_string();
    assert!(!message.contains("LACX"), "{message}");
}

proptest! {
    #[test]
    fn parsers_never_panic(text in any::<String>()) {
        let _ = parse_response(&text);
        let _ = parse_challenge(&text);
        let _ = parse_extended_response(&text);
        let _ = parse_algorithm(&text);
        let _ = parse_count(&text);
        let _ = normalize_seed(&text);
        let _ = validate_passphrase(&text);
    }

    #[test]
    fn parsers_never_panic_on_near_misses(
        text in r"(init-|INIT-)?(hex|word|x)?:?[A-Za-z0-9 :,\-]{0,80}"
    ) {
        let _ = parse_response(&text);
        let _ = parse_challenge(&text);
        let _ = parse_extended_response(&text);
    }

    #[test]
    fn words_and_hex_round_trip(bits in any::<u64>()) {
        let v = OtpValue(bits.to_be_bytes());
        prop_assert_eq!(parse_response(&to_words(v)), Ok(v));
        prop_assert_eq!(parse_response(&to_words(v).to_lowercase()), Ok(v));
        prop_assert_eq!(parse_response(&to_hex(v)), Ok(v));
        prop_assert_eq!(parse_extended_response(&format!("hex:{}", to_hex(v))), Ok(ExtendedResponse::Plain(v)));
        prop_assert_eq!(parse_extended_response(&format!("word:{}", to_words(v))), Ok(ExtendedResponse::Plain(v)));
    }

    #[test]
    fn challenges_round_trip(count in 0..=MAX_COUNT, seed in "[a-z0-9]{1,16}", alg in 0..3u8) {
        let algorithm = [OtpAlgorithm::Md4, OtpAlgorithm::Md5, OtpAlgorithm::Sha1][usize::from(alg)];
        let c = Challenge { algorithm, count, seed };
        prop_assert_eq!(parse_challenge(&c.to_string()), Ok(c));
    }
}
