//! Chatroom's shared core: the wire protocol, RFC 2289 S/KEY and validation.
//!
//! # Layout
//! - [`protocol`]: the request, reply and event types and protocol constants.
//! - [`codec`]: MessagePack encoding with size caps.
//! - [`skey`]: RFC 2289 one-time passwords (hashing, folding, six-word encoding, parsing).
//! - [`validate`]: checks on usernames, e-mail addresses, room names and text.
//! - [`report`]: an error and its causes as one line, each said once.
//! - [`timeline`]: client-side ordering, de-duplication and gap detection by sequence number.
//!
//! Architecture invariant: this crate does no I/O. It is pure, so every piece
//! of it can be tested and fuzzed without a network or a disk.

pub mod codec;
pub mod protocol;
pub mod report;
pub mod skey;
pub mod timeline;
pub mod validate;
