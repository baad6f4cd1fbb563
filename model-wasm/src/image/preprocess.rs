//! Pixels in, network input out — the one implementation used natively and in the browser.
//!
//! Steps (as the reference that produced the golden figures): straight-alpha RGBA is composited
//! on white; the shorter side is resized to 256 with a bilinear filter; the centre 224×224 is cut
//! out; each channel becomes `(x − 127) / 128`, laid out NCHW.
//!
//! The resize follows Pillow's `BILINEAR` resampling exactly (a triangle filter widened by the
//! downscale factor, so it averages rather than skips pixels; separable, horizontal pass first;
//! 22-bit fixed-point weights and 8-bit rounding between the passes). Matching it bit for bit is
//! what lets the float model reproduce the reference logits to 1e-3; a plain 2×2 bilinear lookup
//! moves the logits by several percent on photos larger than 256 px.
//!
//! Only the 224×224 pixels that survive the crop are computed, so the cost does not depend on the
//! aspect ratio (a 1×40,000,000 strip would otherwise "resize" to 256×10¹⁰).

use crate::ModelError;

use super::arch::INPUT_SIZE;

/// Images above this many pixels are refused (decoding one would need 160 MB of RGBA).
pub const MAX_PIXELS: u64 = 40_000_000;
/// The shorter side is resized to this before the centre crop.
pub const RESIZE_SHORTER_SIDE: u64 = 256;
/// Normalisation: `(x − MEAN) / STD`, as the TensorFlow-trained Lite models expect.
pub const MEAN: f32 = 127.0;
pub const STD: f32 = 128.0;

/// Fixed-point precision of the resampling weights (Pillow's choice: 32 − 8 bits − 2 guard bits).
const PRECISION_BITS: u32 = 22;

/// Layout of one pixel in a [`PixelBuffer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// 3 bytes per pixel.
    Rgb8,
    /// 4 bytes per pixel, straight (not premultiplied) alpha — what `ImageData` holds.
    Rgba8,
}

impl PixelFormat {
    pub const fn bytes_per_pixel(self) -> usize {
        match self {
            Self::Rgb8 => 3,
            Self::Rgba8 => 4,
        }
    }
}

/// A borrowed, validated, row-major 8-bit image.
#[derive(Debug, Clone, Copy)]
pub struct PixelBuffer<'a> {
    width: u32,
    height: u32,
    format: PixelFormat,
    data: &'a [u8],
}

impl<'a> PixelBuffer<'a> {
    /// Checks that `data` holds exactly `width × height` pixels and that the image is within
    /// [`MAX_PIXELS`]; the buffer comes from JavaScript, so nothing about it is trusted.
    pub fn new(
        width: u32,
        height: u32,
        format: PixelFormat,
        data: &'a [u8],
    ) -> Result<Self, ModelError> {
        check_dimensions(width, height)?;
        let expected = u64::from(width) * u64::from(height) * format.bytes_per_pixel() as u64;
        if data.len() as u64 != expected {
            return Err(ModelError::InvalidPixels(format!(
                "{width}×{height} {format:?} needs {expected} bytes, got {}",
                data.len()
            )));
        }
        Ok(Self {
            width,
            height,
            format,
            data,
        })
    }

    pub fn rgb(width: u32, height: u32, data: &'a [u8]) -> Result<Self, ModelError> {
        Self::new(width, height, PixelFormat::Rgb8, data)
    }

    pub fn rgba(width: u32, height: u32, data: &'a [u8]) -> Result<Self, ModelError> {
        Self::new(width, height, PixelFormat::Rgba8, data)
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Row `y` as RGB into `out` (`3 × width` bytes), transparent pixels composited on white:
    /// a cut-out product photo should look like it does on a web page, not on black.
    fn rgb_row(&self, y: usize, out: &mut [u8]) {
        let w = self.width as usize;
        let bpp = self.format.bytes_per_pixel();
        let row = &self.data[y * w * bpp..(y + 1) * w * bpp];
        match self.format {
            PixelFormat::Rgb8 => out.copy_from_slice(row),
            PixelFormat::Rgba8 => {
                for (dst, src) in out.chunks_exact_mut(3).zip(row.chunks_exact(4)) {
                    let a = u32::from(src[3]);
                    for c in 0..3 {
                        let v = u32::from(src[c]) * a + 255 * (255 - a);
                        dst[c] = ((v + 127) / 255) as u8;
                    }
                }
            }
        }
    }
}

/// Refuses empty images and images above [`MAX_PIXELS`]; the decoder calls this with the header's
/// dimensions before any pixel is decoded.
pub fn check_dimensions(width: u32, height: u32) -> Result<(), ModelError> {
    if width == 0 || height == 0 {
        return Err(ModelError::InvalidPixels(format!(
            "the image is {width}×{height} pixels"
        )));
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ModelError::ImageTooLarge {
            width,
            height,
            max_megapixels: MAX_PIXELS / 1_000_000,
        });
    }
    Ok(())
}

/// Size after resizing the shorter side to 256 (longer side truncated, like torchvision).
/// `u64`: the longer side of a thin strip can exceed `usize` on wasm32.
pub fn resized_size(width: u32, height: u32) -> (u64, u64) {
    let (w, h) = (u64::from(width), u64::from(height));
    if w <= h {
        (RESIZE_SHORTER_SIDE, h * RESIZE_SHORTER_SIDE / w)
    } else {
        (w * RESIZE_SHORTER_SIDE / h, RESIZE_SHORTER_SIDE)
    }
}

/// The filter taps for one output pixel: input indices `start..start + weights.len()`.
#[derive(Debug, Clone, PartialEq)]
struct Taps {
    start: usize,
    weights: Vec<i32>,
}

/// Pillow's bilinear taps for output index `out_index` of a resize from `in_size` to `out_size`.
fn taps(in_size: usize, out_size: u64, out_index: u64) -> Taps {
    let scale = in_size as f64 / out_size as f64;
    // Downscaling widens the triangle so every input pixel contributes (anti-aliasing).
    let filter_scale = scale.max(1.0);
    let support = filter_scale; // the triangle's half-width is 1 at scale 1
    let center = (out_index as f64 + 0.5) * scale;
    // Multiplying by the reciprocal (not dividing) keeps the last bit equal to the reference.
    let inv_scale = 1.0 / filter_scale;
    // `as` truncates toward zero, like the C cast in the reference; negatives are clamped next.
    let start = ((center - support + 0.5) as i64).max(0) as usize;
    let end = ((center + support + 0.5) as i64).clamp(0, in_size as i64) as usize;
    let raw: Vec<f64> = (start..end)
        .map(|x| {
            let d = ((x as f64 - center + 0.5) * inv_scale).abs();
            if d < 1.0 {
                1.0 - d
            } else {
                0.0
            }
        })
        .collect();
    let sum: f64 = raw.iter().sum();
    let one = f64::from(1u32 << PRECISION_BITS);
    let weights = raw
        .iter()
        .map(|&w| {
            let w = if sum != 0.0 { w / sum } else { w };
            // Round half away from zero, then truncate: the reference's fixed-point conversion.
            (if w < 0.0 {
                w * one - 0.5
            } else {
                w * one + 0.5
            }) as i32
        })
        .collect();
    Taps { start, weights }
}

/// Applies taps to `len` samples at stride `stride` starting at `base`, back to 8 bits.
#[inline]
fn filter(src: &[u8], base: usize, stride: usize, weights: &[i32]) -> u8 {
    let mut acc: i32 = 1 << (PRECISION_BITS - 1);
    for (j, &k) in weights.iter().enumerate() {
        acc += i32::from(src[base + j * stride]) * k;
    }
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// The resized, centre-cropped image as 224×224 RGB bytes, row-major.
pub fn resize_and_crop(image: &PixelBuffer) -> Vec<u8> {
    const N: usize = INPUT_SIZE;
    let (w, h) = (image.width as usize, image.height as usize);
    let (out_w, out_h) = resized_size(image.width, image.height);
    let (left, top) = ((out_w - N as u64) / 2, (out_h - N as u64) / 2);
    let cols: Vec<Taps> = (0..N as u64).map(|i| taps(w, out_w, left + i)).collect();
    let rows: Vec<Taps> = (0..N as u64).map(|i| taps(h, out_h, top + i)).collect();
    // Only the input rows some output row reads go through the horizontal pass.
    let row_lo = rows.iter().map(|t| t.start).min().unwrap_or(0);
    let row_hi = rows
        .iter()
        .map(|t| t.start + t.weights.len())
        .max()
        .unwrap_or(0);

    let mut line = vec![0u8; w * 3];
    let mut horizontal = vec![0u8; (row_hi - row_lo) * N * 3];
    for (y, dst) in (row_lo..row_hi).zip(horizontal.chunks_exact_mut(N * 3)) {
        image.rgb_row(y, &mut line);
        for (px, t) in dst.chunks_exact_mut(3).zip(&cols) {
            for (c, v) in px.iter_mut().enumerate() {
                *v = filter(&line, t.start * 3 + c, 3, &t.weights);
            }
        }
    }

    let mut out = vec![0u8; N * N * 3];
    for (dst, t) in out.chunks_exact_mut(N * 3).zip(&rows) {
        let base = (t.start - row_lo) * N * 3;
        for (i, v) in dst.iter_mut().enumerate() {
            *v = filter(&horizontal, base + i, N * 3, &t.weights);
        }
    }
    out
}

/// 224×224 RGB bytes to the normalised planar (CHW) input.
pub fn normalize(rgb: &[u8]) -> Vec<f32> {
    let plane = rgb.len() / 3;
    let mut out = vec![0f32; rgb.len()];
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        for (c, &v) in px.iter().enumerate() {
            out[c * plane + i] = (f32::from(v) - MEAN) / STD;
        }
    }
    out
}

/// The whole pipeline: `[3 × 224 × 224]` values for one image, CHW.
pub fn preprocess(image: &PixelBuffer) -> Vec<f32> {
    normalize(&resize_and_crop(image))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorter_side_becomes_256() {
        assert_eq!(resized_size(512, 343), (382, 256));
        assert_eq!(resized_size(300, 900), (256, 768));
        assert_eq!(resized_size(1, 40_000_000), (256, 10_240_000_000));
    }

    #[test]
    fn taps_are_identity_when_the_size_does_not_change() {
        for i in 0..5 {
            let t = taps(5, 5, i);
            let picked: Vec<(usize, i32)> = t
                .weights
                .iter()
                .enumerate()
                .filter(|(_, &k)| k != 0)
                .map(|(j, &k)| (t.start + j, k))
                .collect();
            assert_eq!(picked, vec![(i as usize, 1 << PRECISION_BITS)]);
        }
    }

    #[test]
    fn downscaling_averages_neighbours() {
        // 4 → 2: the first output's triangle (centre 1.0, half-width 2) reaches inputs 0, 1, 2
        // with weights 3:3:1.
        let t = taps(4, 2, 0);
        assert_eq!(t.start, 0);
        let row = [0u8, 100, 200, 40];
        assert_eq!(
            filter(&row, 0, 1, &t.weights),
            ((100 * 3 + 200) as f64 / 7.0).round() as u8
        );
    }

    #[test]
    fn uniform_image_stays_uniform_whatever_its_shape() {
        for (w, h) in [(1, 1), (3, 1000), (640, 480), (224, 224), (257, 256)] {
            let data = vec![200u8; w * h * 3];
            let img = PixelBuffer::rgb(w as u32, h as u32, &data).unwrap();
            let out = resize_and_crop(&img);
            assert_eq!(out.len(), 224 * 224 * 3);
            assert!(out.iter().all(|&v| v == 200), "{w}x{h}");
        }
    }

    #[test]
    fn transparent_pixels_become_white() {
        let data = [10u8, 20, 30, 0, 10, 20, 30, 255];
        let img = PixelBuffer::rgba(2, 1, &data).unwrap();
        let mut row = [0u8; 6];
        img.rgb_row(0, &mut row);
        assert_eq!(row, [255, 255, 255, 10, 20, 30]);
    }

    #[test]
    fn normalises_to_planar_minus_one_to_one() {
        let v = normalize(&[127, 255, 0, 127, 255, 0]);
        assert_eq!(v, vec![0.0, 0.0, 1.0, 1.0, -127.0 / 128.0, -127.0 / 128.0]);
    }

    #[test]
    fn rejects_buffers_that_lie_about_their_size() {
        assert!(matches!(
            PixelBuffer::rgb(2, 2, &[0; 11]),
            Err(ModelError::InvalidPixels(_))
        ));
        assert!(matches!(
            PixelBuffer::rgba(0, 2, &[]),
            Err(ModelError::InvalidPixels(_))
        ));
        assert!(matches!(
            check_dimensions(30_000, 30_000),
            Err(ModelError::ImageTooLarge { .. })
        ));
    }
}
