//! Pixels in, network input out — the one implementation used natively and in the browser.
//!
//! Steps (from the model's [`Preprocessing`]): straight-alpha RGBA is composited on white; the
//! shorter side is resized (256 for the shipped model) with Pillow's bilinear or bicubic filter;
//! the centre square (224) is cut out; each channel becomes `(x − mean) / std`, laid out NCHW.
//!
//! The resize follows Pillow's `BILINEAR` and `BICUBIC` resampling exactly (the filter widened by
//! the downscale factor, so it averages rather than skips pixels; separable, horizontal pass
//! first; 22-bit fixed-point weights and 8-bit rounding between the passes). Matching it bit for
//! bit is what lets the float model reproduce the reference logits to 1e-3; a plain 2×2 bilinear
//! lookup moves the logits by several percent on photos larger than 256 px. Bicubic is what
//! timm's models are evaluated with (`Resize(.., BICUBIC)` on a PIL image).
//!
//! Only the pixels that survive the crop are computed, so the cost does not depend on the aspect
//! ratio (a 1×40,000,000 strip would otherwise "resize" to 256×10¹⁰).

use crate::ModelError;

use super::spec::{CropOffset, Interpolation, Preprocessing};

/// Images above this many pixels are refused (decoding one would need 160 MB of RGBA).
pub const MAX_PIXELS: u64 = 40_000_000;

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

/// Size after resizing the shorter side to `shorter` (longer side truncated, like torchvision).
/// `u64`: the longer side of a thin strip can exceed `usize` on wasm32.
pub fn resized_size(width: u32, height: u32, shorter: u32) -> (u64, u64) {
    let (w, h, s) = (u64::from(width), u64::from(height), u64::from(shorter));
    if w <= h {
        (s, h * s / w)
    } else {
        (w * s / h, s)
    }
}

/// Where a centred `crop` starts inside `size`.
fn crop_start(size: u64, crop: u64, offset: CropOffset) -> u64 {
    let margin = size - crop;
    match offset {
        CropOffset::Floor => margin / 2,
        // round(margin / 2), ties to even: only odd margins tie, at k + ½.
        CropOffset::RoundHalfEven => {
            let k = margin / 2;
            if margin % 2 == 1 && k % 2 == 1 {
                k + 1
            } else {
                k
            }
        }
    }
}

/// The filter taps for one output pixel: input indices `start..start + weights.len()`.
#[derive(Debug, Clone, PartialEq)]
struct Taps {
    start: usize,
    weights: Vec<i32>,
}

impl Interpolation {
    /// Half-width of the filter at scale 1.
    fn support(self) -> f64 {
        match self {
            Self::Bilinear => 1.0,
            Self::Bicubic => 2.0,
        }
    }

    /// Pillow's filter functions (`Resample.c`).
    fn weight(self, x: f64) -> f64 {
        let x = x.abs();
        match self {
            Self::Bilinear => {
                if x < 1.0 {
                    1.0 - x
                } else {
                    0.0
                }
            }
            Self::Bicubic => {
                const A: f64 = -0.5;
                if x < 1.0 {
                    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * A
                } else {
                    0.0
                }
            }
        }
    }
}

/// Pillow's taps for output index `out_index` of a resize from `in_size` to `out_size`.
fn taps(filter: Interpolation, in_size: usize, out_size: u64, out_index: u64) -> Taps {
    let scale = in_size as f64 / out_size as f64;
    // Downscaling widens the filter so every input pixel contributes (anti-aliasing).
    let filter_scale = scale.max(1.0);
    let support = filter.support() * filter_scale;
    let center = (out_index as f64 + 0.5) * scale;
    // Multiplying by the reciprocal (not dividing) keeps the last bit equal to the reference.
    let inv_scale = 1.0 / filter_scale;
    // `as` truncates toward zero, like the C cast in the reference; negatives are clamped next.
    let start = ((center - support + 0.5) as i64).max(0) as usize;
    let end = ((center + support + 0.5) as i64).clamp(0, in_size as i64) as usize;
    let raw: Vec<f64> = (start..end)
        .map(|x| filter.weight((x as f64 - center + 0.5) * inv_scale))
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
fn apply(src: &[u8], base: usize, stride: usize, weights: &[i32]) -> u8 {
    let mut acc: i32 = 1 << (PRECISION_BITS - 1);
    for (j, &k) in weights.iter().enumerate() {
        acc += i32::from(src[base + j * stride]) * k;
    }
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// The resized, centre-cropped image as `crop × crop` RGB bytes, row-major.
pub fn resize_and_crop(image: &PixelBuffer, steps: &Preprocessing) -> Vec<u8> {
    let n = steps.input_size();
    let (w, h) = (image.width as usize, image.height as usize);
    let (out_w, out_h) = resized_size(image.width, image.height, steps.resize_shorter_side);
    let crop = n as u64;
    let left = crop_start(out_w, crop, steps.crop_offset);
    let top = crop_start(out_h, crop, steps.crop_offset);
    let filter = steps.interpolation;
    let cols: Vec<Taps> = (0..crop)
        .map(|i| taps(filter, w, out_w, left + i))
        .collect();
    let rows: Vec<Taps> = (0..crop).map(|i| taps(filter, h, out_h, top + i)).collect();
    // Only the input rows some output row reads go through the horizontal pass.
    let row_lo = rows.iter().map(|t| t.start).min().unwrap_or(0);
    let row_hi = rows
        .iter()
        .map(|t| t.start + t.weights.len())
        .max()
        .unwrap_or(0);

    let mut line = vec![0u8; w * 3];
    let mut horizontal = vec![0u8; (row_hi - row_lo) * n * 3];
    for (y, dst) in (row_lo..row_hi).zip(horizontal.chunks_exact_mut(n * 3)) {
        image.rgb_row(y, &mut line);
        for (px, t) in dst.chunks_exact_mut(3).zip(&cols) {
            for (c, v) in px.iter_mut().enumerate() {
                *v = apply(&line, t.start * 3 + c, 3, &t.weights);
            }
        }
    }

    let mut out = vec![0u8; n * n * 3];
    for (dst, t) in out.chunks_exact_mut(n * 3).zip(&rows) {
        let base = (t.start - row_lo) * n * 3;
        for (i, v) in dst.iter_mut().enumerate() {
            *v = apply(&horizontal, base + i, n * 3, &t.weights);
        }
    }
    out
}

/// Cropped RGB bytes to the normalised planar (CHW) input, `(x − mean) / std` per channel.
pub fn normalize(rgb: &[u8], steps: &Preprocessing) -> Vec<f32> {
    let plane = rgb.len() / 3;
    let mut out = vec![0f32; rgb.len()];
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        for (c, &v) in px.iter().enumerate() {
            out[c * plane + i] = (f32::from(v) - steps.mean[c]) / steps.std[c];
        }
    }
    out
}

/// The whole pipeline: `[3 × crop × crop]` values for one image, CHW.
pub fn preprocess(image: &PixelBuffer, steps: &Preprocessing) -> Vec<f32> {
    normalize(&resize_and_crop(image, steps), steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: Preprocessing = Preprocessing::SHIPPED;

    #[test]
    fn shorter_side_becomes_256() {
        assert_eq!(resized_size(512, 343, 256), (382, 256));
        assert_eq!(resized_size(300, 900, 256), (256, 768));
        assert_eq!(resized_size(1, 40_000_000, 256), (256, 10_240_000_000));
    }

    #[test]
    fn crop_offsets_floor_or_round_half_even() {
        // Margins 33 (16.5) and 35 (17.5): Python's round gives 16 and 18.
        assert_eq!(crop_start(257, 224, CropOffset::Floor), 16);
        assert_eq!(crop_start(257, 224, CropOffset::RoundHalfEven), 16);
        assert_eq!(crop_start(259, 224, CropOffset::Floor), 17);
        assert_eq!(crop_start(259, 224, CropOffset::RoundHalfEven), 18);
        assert_eq!(crop_start(382, 224, CropOffset::RoundHalfEven), 79);
    }

    #[test]
    fn bicubic_taps_have_negative_lobes_and_sum_to_one() {
        // Downscale 3×: the widened kernel spans 12 inputs, its outer taps negative.
        let t = taps(Interpolation::Bicubic, 30, 10, 4);
        assert_eq!(t.weights.len(), 12);
        assert!(t.weights.iter().any(|&w| w < 0));
        let sum: i32 = t.weights.iter().sum();
        assert!((sum - (1 << PRECISION_BITS)).abs() <= 12, "{sum}");
    }

    #[test]
    fn taps_are_identity_when_the_size_does_not_change() {
        for i in 0..5 {
            let t = taps(Interpolation::Bilinear, 5, 5, i);
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
        let t = taps(Interpolation::Bilinear, 4, 2, 0);
        assert_eq!(t.start, 0);
        let row = [0u8, 100, 200, 40];
        assert_eq!(
            apply(&row, 0, 1, &t.weights),
            ((100 * 3 + 200) as f64 / 7.0).round() as u8
        );
    }

    #[test]
    fn uniform_image_stays_uniform_whatever_its_shape() {
        for (w, h) in [(1, 1), (3, 1000), (640, 480), (224, 224), (257, 256)] {
            let data = vec![200u8; w * h * 3];
            let img = PixelBuffer::rgb(w as u32, h as u32, &data).unwrap();
            let out = resize_and_crop(&img, &SHIPPED);
            assert_eq!(out.len(), 224 * 224 * 3);
            assert!(out.iter().all(|&v| v == 200), "{w}x{h}");
            let bicubic = Preprocessing {
                interpolation: Interpolation::Bicubic,
                crop_offset: CropOffset::RoundHalfEven,
                ..SHIPPED
            };
            let out = resize_and_crop(&img, &bicubic);
            assert!(out.iter().all(|&v| v == 200), "bicubic {w}x{h}");
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
        let v = normalize(&[127, 255, 0, 127, 255, 0], &SHIPPED);
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
