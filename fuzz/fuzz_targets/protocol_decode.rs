//! Fuzz target: every wire type the network delivers, decoded from arbitrary bytes.
//!
//! Each input is offered as each kind of stream the peers read, with the cap
//! the reader applies: a request (the server decodes with `MAX_UPLOAD_BYTES`),
//! a response (the client, `MAX_RESPONSE_BYTES`), a pushed event (the client,
//! `MAX_EVENT_BYTES`) and a `--stream-mode single` event stream of
//! length-prefixed frames. Decoding must give a value or a `CodecError`, never
//! a panic; whatever decodes must survive encode → decode unchanged, and its
//! encoding must be stable, so a value relayed or stored re-encoded means the
//! same thing.

#![no_main]

use std::fmt::Debug;

use chatroom_common::codec::{self, CodecError};
use chatroom_common::protocol::{
    AvatarHash, Event, MAX_EVENT_BYTES, MAX_RESPONSE_BYTES, MAX_UPLOAD_BYTES, Request, Response,
};
use libfuzzer_sys::fuzz_target;
use serde::{Serialize, de::DeserializeOwned};

fuzz_target!(|data: &[u8]| {
    check::<Request>(data, MAX_UPLOAD_BYTES);
    check::<Response>(data, MAX_RESPONSE_BYTES);
    check::<Event>(data, MAX_EVENT_BYTES);
    framed_events(data);
    avatar_hash_text(data);
});

/// Decodes `data` as a `T` under `limit` and, if that works, checks the round trip.
fn check<T>(data: &[u8], limit: usize)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let value = match codec::decode::<T>(data, limit) {
        Ok(value) => value,
        // Refusals are the decoder doing its job; only a panic is a finding.
        Err(CodecError::TooLarge { .. } | CodecError::Undecodable(_)) => return,
        Err(e @ CodecError::Unencodable(_)) => panic!("decode reported an encode error: {e}"),
    };
    // Every wire type is plain data, so encoding what was decoded cannot fail.
    let encoded = codec::encode(&value).expect("a decoded value encodes");
    // The named encoding can be longer than a compact input (maps instead of
    // arrays), so the re-decode is not held to the read cap.
    let again: T = codec::decode(&encoded, usize::MAX).expect("an encoded value decodes");
    assert_eq!(value, again, "round trip changed the value");
    let encoded_again = codec::encode(&again).expect("a decoded value encodes");
    assert_eq!(encoded, encoded_again, "encoding is not stable");
}

/// Reads `data` as the client's single-stream event framing does (a u32
/// big-endian length, then that many bytes of `Event`; oversized frames end the
/// stream), decoding each frame.
fn framed_events(mut data: &[u8]) {
    while let Some((len, rest)) = data.split_first_chunk::<4>() {
        let len = u32::from_be_bytes(*len) as usize;
        if len > MAX_EVENT_BYTES || len > rest.len() {
            return;
        }
        let (frame, rest) = rest.split_at(len);
        check::<Event>(frame, MAX_EVENT_BYTES);
        data = rest;
    }
}

/// Avatar hashes also arrive as text (file names in the pool, command-line
/// arguments): `from_hex` must refuse or give a hash that prints back the same.
fn avatar_hash_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(hash) = AvatarHash::from_hex(text) {
        assert_eq!(hash.to_string(), text.trim().to_ascii_lowercase());
        assert_eq!(AvatarHash::from_hex(&hash.to_string()), Some(hash));
    }
}
