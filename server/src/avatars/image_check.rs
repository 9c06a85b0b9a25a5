//! Validation and normalisation of untrusted avatar images: bytes in, a square 128×128 PNG out.
//!
//! Everything here is pure (no I/O) so it can be tested directly and run on
//! a blocking thread. The format is sniffed from the content, never taken
//! from a header or a file name, and decoding runs under [`image::Limits`]
//! so that a small file claiming a huge canvas (a decompression bomb) is
//! refused before any large buffer is allocated.

use std::io::Cursor;

use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::error::LimitErrorKind;
use image::imageops::FilterType;
use image::{
    DynamicImage, ExtendedColorType, ImageEncoder, ImageError, ImageFormat, ImageReader, Limits,
};
use sha2::{Digest, Sha256};

/// Width and height, in pixels, of every normalised avatar.
pub const AVATAR_SIZE: u32 = 128;

/// The bounds a candidate avatar must stay within.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvatarLimits {
    /// Largest encoded file accepted, in bytes; checked before any parsing.
    pub max_bytes: usize,
    /// Largest width the decoder may accept, so a forged header cannot ask for a huge canvas.
    pub max_width: u32,
    /// Largest height the decoder may accept, for the same reason as `max_width`.
    pub max_height: u32,
    /// Most memory, in bytes, the decoder may allocate for the decoded pixels.
    pub max_alloc: u64,
    /// Smallest width and height accepted: anything smaller would be a blur at 128×128.
    pub min_side: u32,
}

impl Default for AvatarLimits {
    fn default() -> Self {
        Self {
            max_bytes: 5 * 1024 * 1024,
            max_width: 8192,
            max_height: 8192,
            max_alloc: 64 * 1024 * 1024,
            min_side: 32,
        }
    }
}

/// A validated avatar: a 128×128 PNG and its content address.
#[derive(Clone, PartialEq, Eq)]
pub struct NormalizedAvatar {
    /// The re-encoded PNG, always [`AVATAR_SIZE`]×[`AVATAR_SIZE`].
    pub png: Vec<u8>,
    /// SHA-256 of `png`; the pool names files after it and de-duplicates by it.
    pub hash: [u8; 32],
}

impl NormalizedAvatar {
    /// Wraps already-encoded PNG bytes, computing their hash.
    ///
    /// Only for PNG data this process produced itself (normalised or
    /// generated); untrusted bytes go through [`normalize_avatar`].
    pub(crate) fn from_png(png: Vec<u8>) -> Self {
        let hash = Sha256::digest(&png).into();
        Self { png, hash }
    }

    /// The hash as 64 lower-case hex digits, as used for file names and on the wire.
    pub fn hash_hex(&self) -> String {
        hex::encode(self.hash)
    }
}

impl std::fmt::Debug for NormalizedAvatar {
    // The PNG bytes are noise in logs and test failures; the hash identifies the image.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NormalizedAvatar")
            .field("png_len", &self.png.len())
            .field("hash", &self.hash_hex())
            .finish()
    }
}

/// Why a candidate avatar was refused. The messages are shown to users as they are.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AvatarError {
    /// The file is bigger than the byte limit, before any decoding.
    #[error("the image is too large ({len} bytes; the limit is {limit} bytes)")]
    TooLarge {
        /// Size of the file that was offered, in bytes.
        len: usize,
        /// The limit it exceeded, in bytes.
        limit: usize,
    },
    /// The content is not recognisable as any image format.
    #[error("the file is not an image")]
    NotAnImage,
    /// The content is an image, but in a format we do not accept.
    #[error("the image format {0} is not supported; use PNG, JPEG, GIF or WebP")]
    UnsupportedFormat(String),
    /// The file ends before the image data does.
    #[error("the image is truncated (the file ends too early)")]
    Truncated,
    /// The image data is damaged or malformed; the decoder's own words follow.
    #[error("the image is damaged: {0}")]
    Corrupt(String),
    /// Decoding would exceed the dimension or memory limits (a decompression bomb or simply too big).
    #[error("the image's dimensions are too large to decode safely")]
    DecompressionBomb,
    /// The image is smaller than the minimum side length.
    #[error("the image is too small ({w}×{h}; at least {min}×{min} is needed)")]
    TooSmall {
        /// Width of the offered image, in pixels.
        w: u32,
        /// Height of the offered image, in pixels.
        h: u32,
        /// The minimum width and height, in pixels.
        min: u32,
    },
    /// Re-encoding the normalised image failed; a bug rather than bad input.
    #[error("the image could not be re-encoded: {0}")]
    Encode(String),
}

/// Validates `bytes` as an avatar and normalises it to a centred, square 128×128 PNG.
pub fn normalize_avatar(
    bytes: &[u8],
    limits: &AvatarLimits,
) -> Result<NormalizedAvatar, AvatarError> {
    let square = validate_avatar(bytes, limits)?;
    encode_png(&square).map(NormalizedAvatar::from_png)
}

/// Validates `bytes` as an avatar and returns its centred 128×128 pixels:
/// everything that reads untrusted bytes (the encoding afterwards only sees
/// these pixels, so the fuzz target stops here).
///
/// The checks run from cheapest to dearest: byte length, format sniffing,
/// header dimensions, then a full decode under `limits`.
pub fn validate_avatar(
    bytes: &[u8],
    limits: &AvatarLimits,
) -> Result<image::RgbaImage, AvatarError> {
    if bytes.len() > limits.max_bytes {
        return Err(AvatarError::TooLarge {
            len: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let format = sniff_format(bytes)?;

    // Reading the header first lets a too-small image be refused cheaply and
    // runs the dimension limits before the full decode reserves memory.
    let (w, h) = reader(bytes, format, limits)
        .into_dimensions()
        .map_err(decode_error)?;
    if w < limits.min_side || h < limits.min_side {
        return Err(AvatarError::TooSmall {
            w,
            h,
            min: limits.min_side,
        });
    }
    let image = reader(bytes, format, limits)
        .decode()
        .map_err(decode_error)?;

    Ok(centre_square(&image))
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Encodes an RGBA image as PNG, dropping the alpha channel when every pixel is opaque.
///
/// Shared with the identicon generator so that both produce identical encodings.
pub(crate) fn encode_png(image: &image::RgbaImage) -> Result<Vec<u8>, AvatarError> {
    let mut png = Vec::new();
    let encoder =
        PngEncoder::new_with_quality(&mut png, CompressionType::Best, PngFilter::Adaptive);
    let (w, h) = image.dimensions();
    let opaque = image.pixels().all(|p| p.0[3] == u8::MAX);
    let result = if opaque {
        let rgb = DynamicImage::ImageRgba8(image.clone()).into_rgb8();
        encoder.write_image(rgb.as_raw(), w, h, ExtendedColorType::Rgb8)
    } else {
        encoder.write_image(image.as_raw(), w, h, ExtendedColorType::Rgba8)
    };
    result.map_err(|e| AvatarError::Encode(e.to_string()))?;
    Ok(png)
}

/// Recognises the format from the leading bytes and keeps only the four we accept.
fn sniff_format(bytes: &[u8]) -> Result<ImageFormat, AvatarError> {
    let format = image::guess_format(bytes).map_err(|_| AvatarError::NotAnImage)?;
    match format {
        ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP => Ok(format),
        other => Err(AvatarError::UnsupportedFormat(
            other
                .extensions_str()
                .first()
                .map_or_else(|| format!("{other:?}"), |ext| ext.to_uppercase()),
        )),
    }
}

/// A reader over `bytes` for `format` with the decoding limits applied.
fn reader<'a>(
    bytes: &'a [u8],
    format: ImageFormat,
    limits: &AvatarLimits,
) -> ImageReader<Cursor<&'a [u8]>> {
    let mut decode_limits = Limits::default();
    decode_limits.max_image_width = Some(limits.max_width);
    decode_limits.max_image_height = Some(limits.max_height);
    decode_limits.max_alloc = Some(limits.max_alloc);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(decode_limits);
    reader
}

/// Maps a decoder error onto the reasons we tell users about.
fn decode_error(error: ImageError) -> AvatarError {
    match error {
        ImageError::Limits(limit) => match limit.kind() {
            LimitErrorKind::DimensionError | LimitErrorKind::InsufficientMemory => {
                AvatarError::DecompressionBomb
            }
            // Only reachable if a decoder refuses our kind of limits at all.
            _ => AvatarError::Corrupt(limit.to_string()),
        },
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            AvatarError::Truncated
        }
        ImageError::Unsupported(unsupported) => {
            AvatarError::UnsupportedFormat(unsupported.to_string())
        }
        other => {
            let message = other.to_string();
            // Decoders report a short file in their own words rather than as an I/O error.
            if looks_truncated(&message) {
                AvatarError::Truncated
            } else {
                AvatarError::Corrupt(message)
            }
        }
    }
}

/// Whether a decoder's message describes input that stopped early.
fn looks_truncated(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    [
        "eof",
        "end of file",
        "unexpected end",
        "truncated",
        "no more data",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

/// Crops the centre square of `image` and scales it to [`AVATAR_SIZE`].
fn centre_square(image: &DynamicImage) -> image::RgbaImage {
    let (w, h) = (image.width(), image.height());
    let side = w.min(h);
    let square = image.crop_imm((w - side) / 2, (h - side) / 2, side, side);
    let scaled = if side > AVATAR_SIZE {
        // Area averaging is fast and alias-free when shrinking, which is the common case.
        square.thumbnail_exact(AVATAR_SIZE, AVATAR_SIZE)
    } else {
        square.resize_exact(AVATAR_SIZE, AVATAR_SIZE, FilterType::CatmullRom)
    };
    scaled.into_rgba8()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageFormat, Rgb, RgbImage};

    /// A `w`×`h` gradient encoded as `format`.
    fn encoded(w: u32, h: u32, format: ImageFormat) -> Vec<u8> {
        let image = RgbImage::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(image)
            .write_to(&mut out, format)
            .expect("encoding a fixture");
        out.into_inner()
    }

    /// A valid PNG whose header is rewritten to claim `w`×`h`, with the header CRC fixed.
    fn png_claiming(w: u32, h: u32) -> Vec<u8> {
        let mut png = encoded(32, 32, ImageFormat::Png);
        png[16..20].copy_from_slice(&w.to_be_bytes());
        png[20..24].copy_from_slice(&h.to_be_bytes());
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        png
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    fn check(bytes: &[u8]) -> Result<NormalizedAvatar, AvatarError> {
        normalize_avatar(bytes, &AvatarLimits::default())
    }

    #[test]
    fn every_accepted_format_becomes_a_128_png() {
        for format in [
            ImageFormat::Png,
            ImageFormat::Jpeg,
            ImageFormat::Gif,
            ImageFormat::WebP,
        ] {
            let avatar = check(&encoded(300, 200, format)).expect("accepted");
            let decoded = image::load_from_memory_with_format(&avatar.png, ImageFormat::Png)
                .expect("output is PNG");
            assert_eq!(
                (decoded.width(), decoded.height()),
                (AVATAR_SIZE, AVATAR_SIZE)
            );
            assert_eq!(avatar.hash_hex(), sha256_hex(&avatar.png), "{format:?}");
        }
    }

    #[test]
    fn small_images_are_scaled_up_and_tiny_ones_refused() {
        assert!(check(&encoded(32, 40, ImageFormat::Png)).is_ok());
        assert_eq!(
            check(&encoded(8, 8, ImageFormat::Png)),
            Err(AvatarError::TooSmall {
                w: 8,
                h: 8,
                min: 32
            })
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(check(b"hello, I am text"), Err(AvatarError::NotAnImage));
        assert_eq!(check(b""), Err(AvatarError::NotAnImage));
        assert!(matches!(
            check(b"BM\x00\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00"),
            Err(AvatarError::UnsupportedFormat(_))
        ));
        let png = encoded(64, 64, ImageFormat::Png);
        assert_eq!(check(&png[..png.len() / 2]), Err(AvatarError::Truncated));
        let limits = AvatarLimits {
            max_bytes: 100,
            ..AvatarLimits::default()
        };
        assert_eq!(
            normalize_avatar(&png, &limits),
            Err(AvatarError::TooLarge {
                len: png.len(),
                limit: 100
            })
        );
    }

    #[test]
    fn decompression_bombs_are_refused_before_allocating() {
        // Over the dimension limit.
        assert_eq!(
            check(&png_claiming(100_000, 100_000)),
            Err(AvatarError::DecompressionBomb)
        );
        // Within the dimension limit, but 8000×8000 RGB needs ~183 MiB, over the allocation limit.
        assert_eq!(
            check(&png_claiming(8000, 8000)),
            Err(AvatarError::DecompressionBomb)
        );
    }
}
