//! Renders encoded bytes as the document shows them: the MessagePack structure
//! in a JSON-like notation, then the bytes in hex.
//!
//! The structure is read back from the bytes by a generic MessagePack reader
//! (not from the Rust value), so the notation shows what a client in any
//! language will see: maps, strings, integers, `nil`, and `bin` kept apart
//! from arrays.

use std::fmt::{self, Write as _};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

/// Widest line of the decoded notation before a map or array is broken over lines.
const WIDTH: usize = 76;
/// Bytes per line of the hex dump.
const HEX_PER_LINE: usize = 16;

/// One MessagePack value, as a schema-less reader sees it.
#[derive(Debug)]
enum Value {
    Nil,
    Bool(bool),
    Uint(u64),
    Int(i64),
    Str(String),
    Bin(Vec<u8>),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
}

/// The block the document holds for `bytes`: decoded notation, a blank line, hex.
pub fn block(bytes: &[u8]) -> String {
    let value: Value = rmp_serde::from_slice(bytes).expect("the encoder's output decodes");
    let mut out = String::new();
    write_value(&mut out, &value, 0);
    out.push_str("\n\n");
    for line in bytes.chunks(HEX_PER_LINE) {
        let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        out.push_str(&hex.join(" "));
        out.push('\n');
    }
    out
}

/// Writes `value` at `indent`, on one line when it fits in [`WIDTH`].
fn write_value(out: &mut String, value: &Value, indent: usize) {
    let one_line = flat(value);
    if indent + one_line.len() <= WIDTH {
        out.push_str(&one_line);
        return;
    }
    let pad = " ".repeat(indent + 2);
    match value {
        Value::Map(entries) => {
            out.push_str("{\n");
            for (i, (key, item)) in entries.iter().enumerate() {
                out.push_str(&pad);
                out.push_str(&flat(key));
                out.push_str(": ");
                write_value(out, item, indent + 2);
                out.push_str(if i + 1 < entries.len() { ",\n" } else { "\n" });
            }
            out.push_str(&" ".repeat(indent));
            out.push('}');
        }
        Value::Array(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&pad);
                write_value(out, item, indent + 2);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&" ".repeat(indent));
            out.push(']');
        }
        // Scalars (a long string or bin) cannot be broken; they run long.
        _ => out.push_str(&one_line),
    }
}

/// `value` on one line.
fn flat(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Nil => out.push_str("nil"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Uint(n) => out.push_str(&n.to_string()),
        Value::Int(n) => out.push_str(&n.to_string()),
        // Debug quoting of a `str` is JSON's for everything the samples hold.
        Value::Str(s) => out.push_str(&format!("{s:?}")),
        Value::Bin(bytes) => {
            out.push_str("h'");
            for b in bytes {
                let _ = write!(out, "{b:02x}");
            }
            out.push('\'');
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(flat).collect();
            out.push_str(&format!("[{}]", items.join(", ")));
        }
        Value::Map(entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}: {}", flat(k), flat(v)))
                .collect();
            out.push_str(&format!("{{{}}}", entries.join(", ")));
        }
    }
    out
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any MessagePack value but a float or an extension")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Uint(n))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Int(n))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.to_owned()))
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Value, E> {
        Ok(Value::Bin(bytes.to_vec()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Value::Map(entries))
    }
}
