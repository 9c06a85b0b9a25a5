//! What the server makes of an uploaded picture: its size as displayed (after
//! the camera's orientation), a small PNG thumbnail, and the bytes to store
//! without metadata. Decoding runs under [`image::Limits`], so a small file
//! claiming a huge canvas is refused before a large buffer is allocated; a
//! picture that cannot be decoded is kept as a plain file.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use super::metadata;
use crate::avatars::image_check::encode_png;

/// Longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 320;

/// Bounds for decoding an attached picture.
#[derive(Debug, Clone, Copy)]
pub struct PictureLimits {
    /// Widest and tallest canvas accepted.
    pub max_side: u32,
    /// Most memory the decoder may allocate for the pixels.
    pub max_alloc: u64,
}

impl Default for PictureLimits {
    fn default() -> Self {
        // A 48-megapixel photo decodes within this (192 MiB as RGBA); a
        // forged 65,535² header does not. Decodes run a few at a time
        // (`Limits::concurrent_uploads`), which bounds their memory together.
        Self {
            max_side: 16_384,
            max_alloc: 256 * 1024 * 1024,
        }
    }
}

/// A decoded picture, ready to store.
#[derive(Debug)]
pub struct Examined {
    /// The bytes to store and serve: the upload without its metadata (or, for
    /// a photo that must be turned upright, re-encoded upright).
    pub bytes: Vec<u8>,
    /// Width as displayed.
    pub width: u32,
    /// Height as displayed.
    pub height: u32,
    /// A PNG at most [`THUMBNAIL_SIDE`] on its longer side.
    pub thumbnail: Vec<u8>,
}

/// Examines a file of type `mime`; `None` when it is not a picture this
/// server decodes, or decoding failed or broke a limit.
pub fn examine(mime: &str, bytes: &[u8], limits: PictureLimits) -> Option<Examined> {
    let format = match mime {
        "image/png" => ImageFormat::Png,
        "image/jpeg" => ImageFormat::Jpeg,
        "image/gif" => ImageFormat::Gif,
        "image/webp" => ImageFormat::WebP,
        _ => return None,
    };
    let mut decode_limits = Limits::default();
    decode_limits.max_image_width = Some(limits.max_side);
    decode_limits.max_image_height = Some(limits.max_side);
    decode_limits.max_alloc = Some(limits.max_alloc);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(decode_limits);
    let mut decoder = reader.into_decoder().ok()?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).ok()?;
    image.apply_orientation(orientation);
    let thumbnail = encode_png(&thumbnail_pixels(&image)).ok()?;
    let stored = if orientation == Orientation::NoTransforms {
        metadata::strip(mime, bytes)
    } else {
        // The orientation lives in the EXIF that is removed: turn the pixels instead.
        upright_jpeg(&image)
    };
    Some(Examined {
        bytes: stored?,
        width: image.width(),
        height: image.height(),
        thumbnail,
    })
}

/// The pixels of `image`'s thumbnail: the picture itself when it fits within
/// [`THUMBNAIL_SIDE`], else the picture scaled down to fit.
fn thumbnail_pixels(image: &DynamicImage) -> image::RgbaImage {
    // `DynamicImage::thumbnail` scales to fit either way, so it would blow a
    // 16×16 icon up to 320×320: a thumbnail larger than its picture, and
    // slower to make and to send.
    if image.width() <= THUMBNAIL_SIDE && image.height() <= THUMBNAIL_SIDE {
        image.to_rgba8()
    } else {
        image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE).to_rgba8()
    }
}

/// A turned photo, encoded again as a good-quality JPEG.
fn upright_jpeg(image: &DynamicImage) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&DynamicImage::ImageRgb8(image.to_rgb8()))
        .ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbaImage::from_fn(width, height, |x, y| {
            image::Rgba([(x % 256) as u8, (y % 256) as u8, 90, 255])
        });
        encode_png(&image).unwrap()
    }

    #[test]
    fn a_picture_gets_its_size_and_a_small_thumbnail() {
        let examined = examine("image/png", &png(1000, 400), PictureLimits::default()).unwrap();
        assert_eq!((examined.width, examined.height), (1000, 400));
        let thumb = image::load_from_memory(&examined.thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 128));
    }

    #[test]
    fn a_small_picture_is_not_enlarged_for_its_thumbnail() {
        let original = png(40, 20);
        let small = examine("image/png", &original, PictureLimits::default()).unwrap();
        let thumb = image::load_from_memory(&small.thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (40, 20));
        // The pixels are kept as they are, not resampled.
        let pixels = image::load_from_memory(&original).unwrap().to_rgba8();
        assert_eq!(thumb.to_rgba8(), pixels);

        let large = examine("image/png", &png(1000, 500), PictureLimits::default()).unwrap();
        let thumb = image::load_from_memory(&large.thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 160));
    }

    #[test]
    fn a_canvas_over_the_limits_or_garbage_is_no_picture() {
        let limits = PictureLimits {
            max_side: 500,
            max_alloc: 1 << 30,
        };
        assert!(examine("image/png", &png(600, 10), limits).is_none());
        assert!(examine("image/png", b"\x89PNG\r\n\x1a\nnot really", limits).is_none());
        assert!(examine("application/pdf", b"%PDF-1.4", limits).is_none());
    }

    #[test]
    fn a_turned_photo_is_stored_upright_without_its_exif() {
        // A 4×2 JPEG with EXIF orientation 6 (turn 90° clockwise to view).
        let mut plain = Vec::new();
        JpegEncoder::new_with_quality(&mut plain, 90)
            .encode_image(&DynamicImage::ImageRgb8(image::RgbImage::new(4, 2)))
            .unwrap();
        let exif: &[u8] =
            b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0";
        let mut app1 = vec![0xff, 0xe1];
        app1.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        app1.extend_from_slice(exif);
        let mut turned = plain[..2].to_vec();
        turned.extend_from_slice(&app1);
        turned.extend_from_slice(&plain[2..]);
        let examined = examine("image/jpeg", &turned, PictureLimits::default()).unwrap();
        assert_eq!((examined.width, examined.height), (2, 4));
        assert!(!examined.bytes.windows(4).any(|w| w == b"Exif"));
        let stored = image::load_from_memory(&examined.bytes).unwrap();
        assert_eq!((stored.width(), stored.height()), (2, 4));
    }
}
