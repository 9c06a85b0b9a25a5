//! Deterministic generated avatars (identicons), so a fresh install has pictures without a network.
//!
//! The seed's SHA-256 chooses a 5×5 pattern, mirrored left to right so it
//! reads as a face or a creature, and a colour; the same seed always gives
//! the same PNG bytes, so the pool's content addressing de-duplicates them.

use image::{Rgba, RgbaImage};
use sha2::{Digest, Sha256};

use super::image_check::{AVATAR_SIZE, NormalizedAvatar, encode_png};

/// Cells per row and per column of the pattern.
const GRID: u32 = 5;
/// Side of one cell, in pixels.
const CELL: u32 = 20;
/// Empty border around the pattern, in pixels: (128 - 5·20) / 2.
const MARGIN: u32 = (AVATAR_SIZE - GRID * CELL) / 2;
/// Radius of each cell's rounded corners, in pixels.
const CORNER: u32 = 7;

/// Renders the identicon for `seed` as a normalised 128×128 avatar.
pub fn identicon(seed: &str) -> NormalizedAvatar {
    let digest: [u8; 32] = Sha256::digest(seed.as_bytes()).into();
    let cells = pattern(&digest);
    let hue = f32::from(u16::from_be_bytes([digest[4], digest[5]]) % 360);
    let saturation = 0.45 + f32::from(digest[6]) / 255.0 * 0.3;
    let lightness = 0.42 + f32::from(digest[7]) / 255.0 * 0.16;
    let foreground = hsl_to_rgba(hue, saturation, lightness);
    let background = hsl_to_rgba(hue, 0.35, 0.93);

    let mut image = RgbaImage::from_pixel(AVATAR_SIZE, AVATAR_SIZE, background);
    for row in 0..GRID as usize {
        for col in 0..GRID as usize {
            if cells[row][col] {
                fill_cell(&mut image, &cells, row, col, foreground);
            }
        }
    }
    let png =
        encode_png(&image).expect("encoding a 128x128 in-memory RGBA image as PNG cannot fail");
    NormalizedAvatar::from_png(png)
}

/// The on/off grid, indexed `[row][col]`.
type Cells = [[bool; GRID as usize]; GRID as usize];

/// The 5×5 on/off pattern: three columns from the digest, mirrored onto the other two.
fn pattern(digest: &[u8; 32]) -> Cells {
    let bits = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    // A blank or nearly blank picture is a poor avatar, so sparse patterns are inverted.
    let bits = if (bits & 0x7fff).count_ones() < 4 {
        !bits
    } else {
        bits
    };
    let mut cells = [[false; GRID as usize]; GRID as usize];
    for (row, row_cells) in cells.iter_mut().enumerate() {
        for col in 0..3 {
            let on = bits >> (row * 3 + col) & 1 == 1;
            row_cells[col] = on;
            row_cells[GRID as usize - 1 - col] = on;
        }
    }
    cells
}

/// Paints one cell, rounding each corner that sticks out (no neighbour on either side of it).
fn fill_cell(image: &mut RgbaImage, cells: &Cells, row: usize, col: usize, colour: Rgba<u8>) {
    let filled = |r: Option<usize>, c: Option<usize>| {
        r.zip(c)
            .and_then(|(r, c)| cells.get(r)?.get(c).copied())
            .unwrap_or(false)
    };
    let up = filled(row.checked_sub(1), Some(col));
    let down = filled(Some(row + 1), Some(col));
    let left = filled(Some(row), col.checked_sub(1));
    let right = filled(Some(row), Some(col + 1));
    // The grid is 5×5, so these indices always fit in u32.
    let (x0, y0) = (MARGIN + col as u32 * CELL, MARGIN + row as u32 * CELL);
    for dy in 0..CELL {
        for dx in 0..CELL {
            let vertical_neighbour = if dy < CELL / 2 { up } else { down };
            let horizontal_neighbour = if dx < CELL / 2 { left } else { right };
            let exposed = !vertical_neighbour && !horizontal_neighbour;
            if !(exposed && outside_corner(dx, dy)) {
                image.put_pixel(x0 + dx, y0 + dy, colour);
            }
        }
    }
}

/// Whether the pixel at (`dx`, `dy`) within a cell lies outside a rounded corner.
fn outside_corner(dx: u32, dy: u32) -> bool {
    // Distance into the corner square along each axis, zero when not in a corner.
    let cx = CORNER.saturating_sub(dx.min(CELL - 1 - dx));
    let cy = CORNER.saturating_sub(dy.min(CELL - 1 - dy));
    cx > 0 && cy > 0 && (cx - 1) * (cx - 1) + (cy - 1) * (cy - 1) > CORNER * CORNER / 2
}

/// Converts hue (degrees), saturation and lightness (0–1) to an opaque RGBA pixel.
fn hsl_to_rgba(hue: f32, saturation: f32, lightness: f32) -> Rgba<u8> {
    let chroma = (1.0 - (2.0 * lightness - 1.0).abs()) * saturation;
    let h = hue / 60.0;
    let x = chroma * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (chroma, x, 0.0),
        1 => (x, chroma, 0.0),
        2 => (0.0, chroma, x),
        3 => (0.0, x, chroma),
        4 => (x, 0.0, chroma),
        _ => (chroma, 0.0, x),
    };
    let m = lightness - chroma / 2.0;
    // Each channel is within 0–1 by construction; the clamp guards rounding.
    let channel = |v: f32| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    Rgba([channel(r), channel(g), channel(b), u8::MAX])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_and_different_seeds_differ() {
        assert_eq!(identicon("alice"), identicon("alice"));
        assert_ne!(identicon("alice").hash, identicon("bob").hash);
    }

    #[test]
    fn is_a_128_square_png() {
        let avatar = identicon("carol");
        let decoded = image::load_from_memory(&avatar.png).expect("identicon decodes");
        assert_eq!(
            (decoded.width(), decoded.height()),
            (AVATAR_SIZE, AVATAR_SIZE)
        );
        assert_eq!(avatar.hash_hex(), super::super::sha256_hex(&avatar.png));
    }
}
