//! Removing what a picture says about where and when it was taken (EXIF with
//! its GPS position, XMP, IPTC, text chunks) without touching its pixels:
//! segments and chunks are dropped from the file as it is, so a photo is not
//! re-compressed. A file these walkers cannot follow is refused
//! (`None`), and the caller re-encodes the decoded picture instead.

/// The file without its metadata, or `None` when its structure is not what
/// the type promises. GIFs carry no EXIF and are returned as they are.
pub fn strip(mime: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    match mime {
        "image/jpeg" => strip_jpeg(bytes),
        "image/png" => strip_png(bytes),
        "image/webp" => strip_webp(bytes),
        "image/gif" => Some(bytes.to_vec()),
        _ => None,
    }
}

/// JPEG: every segment before the image data is kept but APP1 (EXIF, XMP),
/// APP3–APP13 (IPTC and makers' notes), APP15 and comments. APP0 (JFIF),
/// APP2 (the colour profile) and APP14 (Adobe's colour transform) stay, as
/// the picture would look different without them.
fn strip_jpeg(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.starts_with(&[0xff, 0xd8]) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2]);
    let mut at = 2;
    loop {
        if *bytes.get(at)? != 0xff {
            return None;
        }
        // Fill bytes: any number of 0xff before the marker.
        let mut marker_at = at + 1;
        while *bytes.get(marker_at)? == 0xff {
            marker_at += 1;
        }
        let marker = bytes[marker_at];
        let body = marker_at + 1;
        // Markers without a length: TEM and the restart markers.
        if marker == 0x01 || (0xd0..=0xd7).contains(&marker) {
            out.extend_from_slice(&bytes[at..body]);
            at = body;
            continue;
        }
        // Start of scan or end of image: the rest is image data, kept whole.
        if marker == 0xda || marker == 0xd9 {
            out.extend_from_slice(&bytes[at..]);
            return Some(out);
        }
        let len = usize::from(u16::from_be_bytes([
            *bytes.get(body)?,
            *bytes.get(body + 1)?,
        ]));
        if len < 2 {
            return None;
        }
        let end = body.checked_add(len)?;
        if end > bytes.len() {
            return None;
        }
        let metadata = marker == 0xe1 || (0xe3..=0xed).contains(&marker) || marker == 0xef;
        if !(metadata || marker == 0xfe) {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
    }
}

/// PNG: the chunks holding EXIF, text and the modification time are dropped;
/// each kept chunk is copied with its own CRC.
fn strip_png(bytes: &[u8]) -> Option<Vec<u8>> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if !bytes.starts_with(SIGNATURE) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(SIGNATURE);
    let mut at = SIGNATURE.len();
    while at < bytes.len() {
        let len = u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?);
        let kind = bytes.get(at + 4..at + 8)?;
        let end = at
            .checked_add(12)?
            .checked_add(usize::try_from(len).ok()?)?;
        if end > bytes.len() {
            return None;
        }
        if !matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME") {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
        if kind == b"IEND" {
            return Some(out);
        }
    }
    None
}

/// WebP: the `EXIF` and `XMP ` chunks are dropped, their flags cleared in the
/// `VP8X` header, and the RIFF size written anew.
fn strip_webp(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WEBP" {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..12]);
    let mut at = 12;
    while at < bytes.len() {
        let kind = bytes.get(at..at + 4)?;
        let len = u32::from_le_bytes(bytes.get(at + 4..at + 8)?.try_into().ok()?);
        let len = usize::try_from(len).ok()?;
        // Chunks are padded to an even length.
        let end = at.checked_add(8)?.checked_add(len)?.checked_add(len % 2)?;
        let end = end.min(bytes.len());
        if at + 8 + len > bytes.len() {
            return None;
        }
        match kind {
            b"EXIF" | b"XMP " => {}
            b"VP8X" if len >= 1 => {
                let flags_at = out.len() + 8;
                out.extend_from_slice(&bytes[at..end]);
                // Bit 3: EXIF present; bit 2: XMP present.
                out[flags_at] &= !0b0000_1100;
            }
            _ => out.extend_from_slice(&bytes[at..end]),
        }
        at = end;
    }
    let riff_size = u32::try_from(out.len() - 8).ok()?;
    out[4..8].copy_from_slice(&riff_size.to_le_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG's skeleton: SOI, APP0, APP1 (EXIF with a "GPS" marker), COM,
    /// DQT, SOS with data, EOI.
    fn jpeg() -> Vec<u8> {
        let mut j = vec![0xff, 0xd8];
        j.extend_from_slice(&[0xff, 0xe0, 0, 7, b'J', b'F', b'I', b'F', 0]);
        j.extend_from_slice(&[0xff, 0xe1, 0, 10, b'E', b'x', b'i', b'f', 0, 0, b'G', b'P']);
        j.extend_from_slice(&[0xff, 0xfe, 0, 4, b'h', b'i']);
        j.extend_from_slice(&[0xff, 0xdb, 0, 3, 9]);
        j.extend_from_slice(&[0xff, 0xda, 0, 2, 1, 2, 3, 0xff, 0xd9]);
        j
    }

    #[test]
    fn jpeg_loses_exif_and_comments_and_keeps_the_rest() {
        let stripped = strip("image/jpeg", &jpeg()).unwrap();
        let mut expected = vec![0xff, 0xd8];
        expected.extend_from_slice(&[0xff, 0xe0, 0, 7, b'J', b'F', b'I', b'F', 0]);
        expected.extend_from_slice(&[0xff, 0xdb, 0, 3, 9]);
        expected.extend_from_slice(&[0xff, 0xda, 0, 2, 1, 2, 3, 0xff, 0xd9]);
        assert_eq!(stripped, expected);
    }

    #[test]
    fn broken_structures_are_refused_at_every_cut() {
        let whole = jpeg();
        // Every cut before the scan is refused rather than half-copied.
        let scan = whole.len() - 9;
        for cut in 0..scan {
            assert_eq!(strip("image/jpeg", &whole[..cut]), None, "cut at {cut}");
        }
        assert_eq!(strip("image/png", b"\x89PNG\r\n\x1a\n\0\0\0\xffIHDR"), None);
        assert_eq!(strip("image/webp", b"RIFF\0\0\0\0WEBPEXIF\xff\0\0\0"), None);
        assert_eq!(strip("application/pdf", b"%PDF"), None);
    }

    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[0, 0, 0, 0]);
        c
    }

    #[test]
    fn png_loses_its_text_and_exif_chunks() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let ihdr = png_chunk(b"IHDR", &[0; 13]);
        let idat = png_chunk(b"IDAT", &[1, 2, 3]);
        let iend = png_chunk(b"IEND", &[]);
        png.extend_from_slice(&ihdr);
        png.extend_from_slice(&png_chunk(b"eXIf", b"GPS"));
        png.extend_from_slice(&png_chunk(b"tEXt", b"Author\0me"));
        png.extend_from_slice(&idat);
        png.extend_from_slice(&iend);
        let mut expected = b"\x89PNG\r\n\x1a\n".to_vec();
        expected.extend_from_slice(&ihdr);
        expected.extend_from_slice(&idat);
        expected.extend_from_slice(&iend);
        assert_eq!(strip("image/png", &png).unwrap(), expected);
    }

    #[test]
    fn webp_loses_exif_and_its_flag() {
        let mut webp = b"RIFF\0\0\0\0WEBP".to_vec();
        webp.extend_from_slice(b"VP8X\x0a\0\0\0\x0c\0\0\0\0\0\0\0\0\0");
        webp.extend_from_slice(b"VP8L\x03\0\0\0abc\0");
        webp.extend_from_slice(b"EXIF\x03\0\0\0GPS\0");
        let stripped = strip("image/webp", &webp).unwrap();
        assert!(!stripped.windows(4).any(|w| w == b"EXIF"));
        assert_eq!(stripped[20], 0, "the EXIF and XMP flags are cleared");
        assert_eq!(
            u32::from_le_bytes(stripped[4..8].try_into().unwrap()) as usize,
            stripped.len() - 8
        );
    }
}
