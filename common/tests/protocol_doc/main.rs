//! Keeps docs/protocol.md true to the code: every wire example in it is the real encoder's output.
//!
//! Each example in the document is a marker line `<!-- example: NAME -->`
//! followed by a fenced block. For every NAME this test builds the value it
//! stands for (`samples.rs`), encodes it with `chatroom_common::codec`, and
//! renders the decoded MessagePack structure and the hex bytes (`render.rs`);
//! the S/KEY examples are computed step by step (`skey.rs`). It fails when a
//! block differs from what the code produces, when a marker names nothing,
//! when a sample has no marker, or when a request, reply, event or history
//! query variant has no sample at all.
//!
//! After changing a wire type or a sample, regenerate the blocks with
//!
//! ```text
//! UPDATE_PROTOCOL_DOC=1 cargo test -p chatroom-common --test protocol_doc
//! ```
//!
//! and read the diff of docs/protocol.md: it is the change on the wire. Only
//! the blocks are rewritten; the prose around them, and the marker for a new
//! variant, are written by hand.

#![allow(clippy::unwrap_used)]

mod markdown;
mod render;
mod samples;
mod skey;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chatroom_common::protocol::{
    ErrorCode, Event, HistoryQuery, OtpAlgorithm, Reply, Request, RoomKind,
};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// The variable that turns the check into a rewrite.
const UPDATE_VAR: &str = "UPDATE_PROTOCOL_DOC";

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol.md")
}

/// Every generated block, by marker name.
fn expected_blocks() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for sample in samples::all() {
        let name = sample.name();
        let block = render::block(&sample.encode());
        assert!(
            out.insert(name.clone(), block).is_none(),
            "two samples are named {name}"
        );
    }
    for (name, block) in skey::examples() {
        assert!(
            out.insert(name.clone(), block).is_none(),
            "two samples are named {name}"
        );
    }
    out
}

#[test]
fn the_document_shows_what_the_encoder_writes() {
    let path = doc_path();
    let doc = std::fs::read_to_string(&path).unwrap();
    let blocks = markdown::blocks(&doc).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let expected = expected_blocks();

    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for block in &blocks {
        if !expected.contains_key(&block.name) {
            problems.push(format!(
                "line {}: no sample is named {:?} (see tests/protocol_doc/samples.rs)",
                block.line, block.name
            ));
        }
        if !seen.insert(block.name.as_str()) {
            problems.push(format!(
                "line {}: a second example of {}",
                block.line, block.name
            ));
        }
    }
    for name in expected.keys() {
        if !seen.contains(name.as_str()) {
            problems.push(format!(
                "{name} has no example: add `<!-- example: {name} -->` and an empty fenced block \
                 where it belongs, then run with {UPDATE_VAR}=1"
            ));
        }
    }

    if std::env::var_os(UPDATE_VAR).is_some() {
        let updated = markdown::rewrite(&doc, &blocks, |name| expected.get(name).cloned());
        if updated != doc {
            // Written beside and renamed, so that a reader never sees half a file.
            let tmp = path.with_extension("md.tmp");
            std::fs::write(&tmp, &updated).unwrap();
            std::fs::rename(&tmp, &path).unwrap();
        }
    } else {
        for block in &blocks {
            let Some(want) = expected.get(&block.name) else {
                continue;
            };
            let have = &doc[block.body.clone()];
            if have != want {
                problems.push(format!(
                    "line {}: the example of {} is out of date; it should read:\n{want}",
                    block.line, block.name
                ));
            }
        }
        if !problems.is_empty() {
            problems.push(format!(
                "regenerate the examples with {UPDATE_VAR}=1 cargo test -p chatroom-common --test protocol_doc"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_variant_has_a_sample() {
    let named: BTreeSet<String> = samples::all().iter().map(samples::Sample::name).collect();
    let mut missing = Vec::new();
    for (prefix, variants) in [
        ("Request", variants::<Request>()),
        ("Reply", variants::<Reply>()),
        ("Event", variants::<Event>()),
        ("HistoryQuery", variants::<HistoryQuery>()),
    ] {
        assert!(
            variants.len() > 1,
            "the probe found no variants of {prefix}"
        );
        for variant in variants {
            let name = format!("{prefix}::{variant}");
            if !named.contains(&name) {
                missing.push(name);
            }
        }
    }
    assert!(missing.is_empty(), "no sample for {missing:?}");
}

#[test]
fn every_sample_decodes_back_to_itself() {
    for sample in samples::all() {
        assert!(
            sample.round_trips(),
            "{} does not round-trip",
            sample.name()
        );
    }
}

/// Unit enums travel as their variant names; the document must list each one.
#[test]
fn the_document_names_every_code_kind_and_algorithm() {
    let doc = std::fs::read_to_string(doc_path()).unwrap();
    let mut missing = Vec::new();
    for variants in [
        variants::<ErrorCode>(),
        variants::<RoomKind>(),
        variants::<OtpAlgorithm>(),
    ] {
        for variant in variants {
            if !doc.contains(&format!("`\"{variant}\"`")) {
                missing.push(*variant);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/protocol.md never shows these as `\"Name\"`: {missing:?}"
    );
}

/// The variant names of enum `T`, straight from its serde derive: the list a
/// decoder accepts, so no variant can be forgotten here.
fn variants<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut found = None;
    let _ = T::deserialize(VariantProbe { found: &mut found });
    found.expect("an enum asks for deserialize_enum")
}

/// A deserializer that only records the variant list an enum passes to it.
struct VariantProbe<'a> {
    found: &'a mut Option<&'static [&'static str]>,
}

impl<'de> Deserializer<'de> for VariantProbe<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not an enum"))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.found = Some(variants);
        Err(de::Error::custom("probed"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}
