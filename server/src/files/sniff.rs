//! The media type of a file, found from its first bytes: a name or a sender's
//! word is never trusted, so a `.jpg` that is really a program is served as
//! `application/octet-stream`, never as a picture.

/// Signatures at offset 0, most specific first.
const MAGIC: &[(&[u8], &str)] = &[
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"ID3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
    (b"\x1a\x45\xdf\xa3", "video/webm"),
    (b"BM", "image/bmp"),
];

/// The type of a file whose bytes start with `bytes` (a few dozen are
/// enough): a known signature, else `text/plain` for UTF-8 text without
/// control characters, else `application/octet-stream`.
pub fn media_type(bytes: &[u8]) -> &'static str {
    if let Some(kind) = riff(bytes).or_else(|| iso_media(bytes)) {
        return kind;
    }
    if let Some((_, kind)) = MAGIC.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        // "BM" alone is too weak: a bitmap's header also gives its file size.
        if *kind != "image/bmp" || bytes.len() >= 14 {
            return kind;
        }
    }
    if looks_like_text(bytes) {
        "text/plain"
    } else {
        "application/octet-stream"
    }
}

/// RIFF containers: WebP pictures and WAV sound.
fn riff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" {
        return None;
    }
    match &bytes[8..12] {
        b"WEBP" => Some("image/webp"),
        b"WAVE" => Some("audio/wav"),
        _ => None,
    }
}

/// ISO base media files (MP4, QuickTime, HEIC): an `ftyp` box first.
fn iso_media(bytes: &[u8]) -> Option<&'static str> {
    if bytes.len() < 12 || &bytes[4..8] != b"ftyp" {
        return None;
    }
    Some(match &bytes[8..12] {
        b"qt  " => "video/quicktime",
        b"heic" | b"heix" | b"mif1" => "image/heic",
        b"M4A " => "audio/mp4",
        _ => "video/mp4",
    })
}

/// UTF-8 (allowing a character cut at the end of the sample) with no control
/// characters but tab, newline, carriage return and form feed.
fn looks_like_text(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(4096)];
    let valid = match std::str::from_utf8(sample) {
        Ok(text) => text,
        // A multi-byte character cut by the sample's end is still text.
        Err(e) if e.error_len().is_none() && sample.len() - e.valid_up_to() < 4 => {
            match std::str::from_utf8(&sample[..e.valid_up_to()]) {
                Ok(text) => text,
                Err(_) => return false,
            }
        }
        Err(_) => return false,
    };
    !sample.is_empty()
        && !valid
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(media_type(b"\x89PNG\r\n\x1a\n...."), "image/png");
        assert_eq!(media_type(b"\xff\xd8\xff\xe0\0\x10JFIF"), "image/jpeg");
        assert_eq!(media_type(b"GIF89a\x01\0\x01\0"), "image/gif");
        assert_eq!(media_type(b"RIFF\0\0\0\0WEBPVP8 "), "image/webp");
        assert_eq!(media_type(b"RIFF\0\0\0\0WAVEfmt "), "audio/wav");
        assert_eq!(media_type(b"\0\0\0\x18ftypmp42\0\0\0\0"), "video/mp4");
        assert_eq!(media_type(b"\0\0\0\x18ftypheic\0\0\0\0"), "image/heic");
        assert_eq!(media_type(b"%PDF-1.7\n"), "application/pdf");
        assert_eq!(media_type(b"PK\x03\x04\x14\0"), "application/zip");
        assert_eq!(media_type("你好, world\n".as_bytes()), "text/plain");
        assert_eq!(
            media_type(b"\x7fELF\x02\x01\x01"),
            "application/octet-stream"
        );
        assert_eq!(media_type(b""), "application/octet-stream");
        assert_eq!(media_type(b"BM"), "text/plain");
    }

    #[test]
    fn text_cut_inside_a_character_is_still_text() {
        let text = "汉字".repeat(2000);
        assert_eq!(media_type(&text.as_bytes()[..4097]), "text/plain");
        assert_eq!(media_type(b"a\0b"), "application/octet-stream");
    }
}
