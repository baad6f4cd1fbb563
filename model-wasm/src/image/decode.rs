//! Native image decoding for eval, benchmarks and tests (the browser decodes with
//! `createImageBitmap`, so this module and the `image` crate stay out of the wasm build).
//!
//! Untrusted files: the size is checked from the header before any pixel is decoded, EXIF
//! orientation is applied so phone photos are upright, GIFs give their first frame, and every
//! failure is a typed [`ModelError`] rather than a panic.

use std::io::Cursor;

use ::image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits};

use super::preprocess::{check_dimensions, PixelBuffer, PixelFormat, MAX_PIXELS};
use crate::ModelError;

/// Decoded 8-bit pixels, owned.
#[derive(Clone, PartialEq, Eq)]
pub struct DecodedImage {
    pub width: u32,
    pub height: u32,
    pub format: PixelFormat,
    pub data: Vec<u8>,
}

// Sizes only: a failing assertion should not print megabytes of pixels.
impl std::fmt::Debug for DecodedImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodedImage")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("format", &self.format)
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl DecodedImage {
    /// A validated view of the pixels (fails only if the public fields were edited inconsistently).
    pub fn pixels(&self) -> Result<PixelBuffer<'_>, ModelError> {
        PixelBuffer::new(self.width, self.height, self.format, &self.data)
    }
}

/// Decodes a JPEG, PNG, GIF or BMP file's bytes, whatever its extension says.
pub fn decode(bytes: &[u8]) -> Result<DecodedImage, ModelError> {
    if bytes.is_empty() {
        return Err(ModelError::EmptyImage);
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ModelError::CorruptImage(e.to_string()))?;
    match reader.format() {
        None => {
            return Err(ModelError::UnsupportedImage(
                "not a JPEG, PNG, GIF or BMP file".into(),
            ))
        }
        Some(::image::ImageFormat::Jpeg) if jpeg_is_truncated(bytes) => {
            return Err(ModelError::CorruptImage(TRUNCATED.into()));
        }
        Some(_) => {}
    }
    // Second line of defence behind the explicit header check below: caps what a decoder may
    // allocate (RGBA of the largest accepted image, plus room for a GIF's canvas).
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 4 * 2);
    reader.limits(limits);

    let mut decoder = reader.into_decoder().map_err(map_error)?;
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height)?;
    // A damaged EXIF block should not cost the visitor their photo: fall back to as-stored.
    let orientation = decoder
        .orientation()
        .unwrap_or(::image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(map_error)?;
    img.apply_orientation(orientation);

    let (width, height) = (img.width(), img.height());
    let (format, data) = if img.color().has_alpha() {
        (PixelFormat::Rgba8, img.into_rgba8().into_raw())
    } else {
        (PixelFormat::Rgb8, img.into_rgb8().into_raw())
    };
    Ok(DecodedImage {
        width,
        height,
        format,
        data,
    })
}

const TRUNCATED: &str = "the file ends before the image does (an interrupted download or copy?)";

/// True when no end-of-image marker follows the last scan. The JPEG decoder is lenient and fills
/// a cut-off file with grey, which would classify half a photo; we would rather say it is broken.
/// Inside entropy-coded data every 0xFF byte is followed by 0x00 or a restart marker, so `FF D9`
/// after the last start-of-scan (`FF DA`) can only be the real end marker.
fn jpeg_is_truncated(bytes: &[u8]) -> bool {
    let Some(last_scan) = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]) else {
        // No scan at all: nothing to fill in; the decoder reports what is missing.
        return false;
    };
    !bytes[last_scan..].windows(2).any(|w| w == [0xFF, 0xD9])
}

fn map_error(e: ImageError) -> ModelError {
    match e {
        ImageError::Unsupported(u) => ModelError::UnsupportedImage(u.to_string()),
        // Dimensions are checked before this can happen; what is left is a decoder needing more
        // memory than the image's size suggests (a malformed or hostile file).
        ImageError::Limits(l) => {
            ModelError::CorruptImage(format!("decoding would need too much memory ({l})"))
        }
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            ModelError::CorruptImage(TRUNCATED.into())
        }
        other => ModelError::CorruptImage(other.to_string()),
    }
}
