//! Pixels in and out for files: the checks and conversions that need the
//! `image` crate. Thumbnails must be small pictures before egui's loaders
//! see them; a full-size picture is decoded under limits and scaled to what
//! a texture can hold; a pasted picture becomes a PNG to upload.

use std::io::Cursor;

use egui::ColorImage;
use image::imageops::FilterType;
use image::{ImageEncoder, ImageReader, Limits};

/// The longest side a thumbnail may have. The server makes them at most 320
/// pixels; anything much larger is not a thumbnail and is not decoded.
const THUMBNAIL_MAX_SIDE: u32 = 1024;
/// The longest side a picture is decoded at (the server takes no larger).
const DECODE_MAX_SIDE: u32 = 16_384;
/// The most memory decoding one picture may take.
const DECODE_MAX_ALLOC: u64 = 512 * 1024 * 1024;

/// Why a picture could not be shown or pasted.
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    /// Not a picture this app reads, or over the limits.
    #[error("not a picture this app can show: {0}")]
    Decode(#[from] image::ImageError),
    /// The bytes' format could not even be guessed.
    #[error("could not read the picture: {0}")]
    Read(#[from] std::io::Error),
    /// The pixels do not make the picture they say.
    #[error("the pasted picture's pixels do not match its size")]
    Pixels,
}

/// Whether `bytes` are a picture no larger than a thumbnail, read from its
/// header alone (nothing is decoded).
pub fn fits_thumbnail(bytes: &[u8]) -> bool {
    let Ok(reader) = ImageReader::new(Cursor::new(bytes)).with_guessed_format() else {
        return false;
    };
    reader
        .into_dimensions()
        .is_ok_and(|(w, h)| w > 0 && h > 0 && w <= THUMBNAIL_MAX_SIDE && h <= THUMBNAIL_MAX_SIDE)
}

/// Decodes a picture under limits and scales it down to at most `max_side`
/// on its longer side (a texture larger than the GPU's limit cannot be made).
pub fn decode_fitted(bytes: &[u8], max_side: u32) -> Result<ColorImage, PictureError> {
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(DECODE_MAX_SIDE);
    limits.max_image_height = Some(DECODE_MAX_SIDE);
    limits.max_alloc = Some(DECODE_MAX_ALLOC);
    reader.limits(limits);
    let mut image = reader.decode()?;
    let max_side = max_side.max(1);
    if image.width() > max_side || image.height() > max_side {
        image = image.resize(max_side, max_side, FilterType::Triangle);
    }
    let rgba = image.to_rgba8();
    let size = [rgba.width() as usize, rgba.height() as usize];
    Ok(ColorImage::from_rgba_unmultiplied(size, rgba.as_raw()))
}

/// A pasted picture as PNG bytes.
pub fn encode_png(image: &ColorImage) -> Result<Vec<u8>, PictureError> {
    let [w, h] = image.size;
    let (Ok(width), Ok(height)) = (u32::try_from(w), u32::try_from(h)) else {
        return Err(PictureError::Pixels);
    };
    if image.pixels.len() != w * h || w == 0 || h == 0 {
        return Err(PictureError::Pixels);
    }
    let raw: Vec<u8> = image
        .pixels
        .iter()
        .flat_map(|pixel| pixel.to_srgba_unmultiplied())
        .collect();
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png).write_image(
        &raw,
        width,
        height,
        image::ExtendedColorType::Rgba8,
    )?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let pixels = ColorImage::filled(
            [width as usize, height as usize],
            egui::Color32::from_rgb(10, 200, 30),
        );
        encode_png(&pixels).unwrap()
    }

    #[test]
    fn a_pasted_picture_round_trips_through_png() {
        let mut image = ColorImage::filled([3, 2], egui::Color32::from_rgb(1, 2, 3));
        image.pixels[4] = egui::Color32::from_rgb(200, 100, 50);
        let back = decode_fitted(&encode_png(&image).unwrap(), 100).unwrap();
        assert_eq!(back.size, [3, 2]);
        assert_eq!(back.pixels, image.pixels);
    }

    #[test]
    fn a_big_picture_is_scaled_to_fit_a_texture() {
        let shown = decode_fitted(&png(400, 100), 200).unwrap();
        assert_eq!(shown.size, [200, 50]);
    }

    #[test]
    fn only_small_pictures_pass_as_thumbnails() {
        assert!(fits_thumbnail(&png(320, 200)));
        assert!(!fits_thumbnail(&png(1500, 10)));
        assert!(!fits_thumbnail(b"not a picture at all"));
        assert!(decode_fitted(b"not a picture at all", 100).is_err());
    }

    #[test]
    fn mismatched_pixels_are_refused() {
        let mut image = ColorImage::filled([2, 2], egui::Color32::WHITE);
        image.pixels.pop();
        assert!(matches!(encode_png(&image), Err(PictureError::Pixels)));
    }
}
