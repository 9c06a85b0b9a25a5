//! Finds the generated example blocks in docs/protocol.md and rewrites them.
//!
//! An example is a marker line `<!-- example: NAME -->` (invisible when the
//! page is rendered), then, after any blank lines, a fenced code block. Only
//! the block's contents are generated; the prose around it is written by hand.

use std::ops::Range;

/// What opens a marker line.
const MARKER_START: &str = "<!-- example:";
/// What closes a marker line.
const MARKER_END: &str = "-->";
/// What opens and closes a fenced block.
const FENCE: &str = "```";

/// One example block.
#[derive(Debug)]
pub struct Block {
    /// The name in its marker.
    pub name: String,
    /// Where its contents (between the fence lines) lie in the document.
    pub body: Range<usize>,
    /// Its line number, counting from 1, for messages.
    pub line: usize,
}

/// Every example block in `doc`, in order; an error names the first malformed one.
pub fn blocks(doc: &str) -> Result<Vec<Block>, String> {
    // Each line with the byte offset it starts at.
    let mut offset = 0;
    let lines: Vec<(usize, &str)> = doc
        .split_inclusive('\n')
        .map(|line| {
            let start = offset;
            offset += line.len();
            (start, line)
        })
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let text = lines[i].1.trim();
        let Some(rest) = text.strip_prefix(MARKER_START) else {
            i += 1;
            continue;
        };
        let marker_line = i + 1;
        let name = rest
            .strip_suffix(MARKER_END)
            .ok_or_else(|| format!("line {marker_line}: a marker must end with {MARKER_END}"))?
            .trim()
            .to_owned();
        i += 1;
        while i < lines.len() && lines[i].1.trim().is_empty() {
            i += 1;
        }
        if i == lines.len() || !lines[i].1.trim_start().starts_with(FENCE) {
            return Err(format!(
                "line {marker_line}: the marker for {name} is not followed by a fenced block"
            ));
        }
        i += 1;
        let body_start = lines.get(i).map_or(doc.len(), |l| l.0);
        while i < lines.len() && lines[i].1.trim() != FENCE {
            i += 1;
        }
        if i == lines.len() {
            return Err(format!(
                "line {marker_line}: the block for {name} is never closed"
            ));
        }
        out.push(Block {
            name,
            body: body_start..lines[i].0,
            line: marker_line,
        });
        i += 1;
    }
    Ok(out)
}

/// `doc` with each block's contents replaced by `body(name)` where that gives one.
pub fn rewrite(doc: &str, blocks: &[Block], body: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(doc.len());
    let mut copied = 0;
    for block in blocks {
        if let Some(new) = body(&block.name) {
            out.push_str(&doc[copied..block.body.start]);
            out.push_str(&new);
            copied = block.body.end;
        }
    }
    out.push_str(&doc[copied..]);
    out
}
