//! Odd and hostile image files: each gives a typed error or is handled correctly, never a panic
//! or a hang. Every file is generated here, so no fixtures are committed.

#![cfg(not(target_arch = "wasm32"))]

use std::io::Cursor;

use image::codecs::gif::GifEncoder;
use image::{Delay, DynamicImage, Frame, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use jpeg_encoder::{ColorType, Encoder};
use model_wasm::image::decode::decode;
use model_wasm::image::preprocess::resize_and_crop;
use model_wasm::image::PixelFormat;
use model_wasm::image::Preprocessing;
use model_wasm::ModelError;

fn encode(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format)
        .expect("encoding a test image");
    out.into_inner()
}

/// Left half red, right half blue: orientation mistakes show up as colours in the wrong place.
fn red_blue(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    })
}

fn is_red(p: &[u8]) -> bool {
    p[0] > 200 && p[1] < 60 && p[2] < 60
}

fn is_blue(p: &[u8]) -> bool {
    p[0] < 60 && p[1] < 60 && p[2] > 200
}

#[test]
fn empty_file_is_refused() {
    assert!(matches!(decode(&[]), Err(ModelError::EmptyImage)));
}

#[test]
fn text_file_named_png_is_refused() {
    // The name is irrelevant: the format is sniffed from the bytes.
    let err = decode(b"this is not a picture, just text saved as photo.png\n").unwrap_err();
    assert!(matches!(err, ModelError::UnsupportedImage(_)), "{err:?}");
    assert!(err.to_string().contains("JPEG, PNG"), "{err}");
}

#[test]
fn png_signature_with_garbage_after_it_is_corrupt() {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(b"garbage garbage garbage");
    let err = decode(&bytes).unwrap_err();
    assert!(matches!(err, ModelError::CorruptImage(_)), "{err:?}");
}

#[test]
fn truncated_jpeg_is_refused() {
    let noise = RgbImage::from_fn(64, 48, |x, y| {
        Rgb([(x * 7 + y * 13) as u8, (x * y) as u8, (x ^ y) as u8 * 4])
    });
    let jpeg = encode(DynamicImage::ImageRgb8(noise), ImageFormat::Jpeg);
    for keep in [3, 20, jpeg.len() / 2, jpeg.len() - 40] {
        let err = decode(&jpeg[..keep]).unwrap_err();
        assert!(
            matches!(err, ModelError::CorruptImage(_)),
            "kept {keep} bytes: {err:?}"
        );
    }
}

#[test]
fn truncated_png_and_gif_are_refused() {
    let noise = RgbImage::from_fn(64, 48, |x, y| {
        Rgb([(x * 7 + y * 13) as u8, (x * y) as u8, (x ^ y) as u8 * 4])
    });
    for format in [ImageFormat::Png, ImageFormat::Gif] {
        let bytes = encode(DynamicImage::ImageRgb8(noise.clone()), format);
        let err = decode(&bytes[..bytes.len() / 2]).unwrap_err();
        assert!(
            matches!(err, ModelError::CorruptImage(_)),
            "{format:?}: {err:?}"
        );
    }
}

#[test]
fn jpeg_with_bytes_after_its_end_marker_still_decodes() {
    // Some cameras and editors append data after the end-of-image marker; that is not truncation.
    let mut jpeg = encode(DynamicImage::ImageRgb8(red_blue(16, 8)), ImageFormat::Jpeg);
    jpeg.extend_from_slice(b"trailing vendor data");
    assert_eq!(decode(&jpeg).unwrap().width, 16);
}

/// CRC-32 (IEEE), needed to forge a PNG header the decoder accepts as well-formed.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

#[test]
fn png_of_30000_by_30000_is_refused_from_its_header() {
    // A valid header announcing 900 megapixels and no pixel data at all: if the decoder tried to
    // allocate or decode before checking the size, this would take gigabytes or fail differently.
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&30_000u32.to_be_bytes());
    ihdr.extend_from_slice(&30_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &ihdr));
    // A real file would carry its (compressed, tiny) pixel data here; an empty zlib stream will do.
    png.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(png_chunk(b"IEND", &[]));
    match decode(&png) {
        Err(ModelError::ImageTooLarge { width, height, .. }) => {
            assert_eq!((width, height), (30_000, 30_000))
        }
        other => panic!("expected ImageTooLarge, got {other:?}"),
    }
}

#[test]
fn bmp_header_claiming_a_huge_image_is_refused() {
    let mut bmp = encode(DynamicImage::ImageRgb8(red_blue(4, 4)), ImageFormat::Bmp);
    // BITMAPINFOHEADER width and height live at bytes 18..26.
    // 10000×10000 = 100 megapixels: within BMP's own limits, over ours.
    bmp[18..22].copy_from_slice(&10_000i32.to_le_bytes());
    bmp[22..26].copy_from_slice(&10_000i32.to_le_bytes());
    let err = decode(&bmp).unwrap_err();
    assert!(matches!(err, ModelError::ImageTooLarge { .. }), "{err:?}");
}

#[test]
fn animated_gif_gives_its_first_frame() {
    let mut bytes = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut bytes);
        let frames = [Rgba([255, 0, 0, 255]), Rgba([0, 0, 255, 255])].map(|c| {
            Frame::from_parts(
                RgbaImage::from_pixel(8, 6, c),
                0,
                0,
                Delay::from_numer_denom_ms(100, 1),
            )
        });
        enc.encode_frames(frames).expect("encoding a test gif");
    }
    let img = decode(&bytes).unwrap();
    assert_eq!((img.width, img.height), (8, 6));
    let bpp = if img.format == PixelFormat::Rgba8 {
        4
    } else {
        3
    };
    assert!(img.data.chunks_exact(bpp).all(is_red), "first frame is red");
}

/// A minimal EXIF block: little-endian TIFF with one IFD entry, Orientation = `value`.
fn exif_orientation(value: u16) -> Vec<u8> {
    let mut e = b"Exif\0\0II*\0".to_vec();
    e.extend_from_slice(&8u32.to_le_bytes()); // IFD0 right after the header
    e.extend_from_slice(&1u16.to_le_bytes()); // one entry
    e.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    e.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    e.extend_from_slice(&1u32.to_le_bytes()); // count
    e.extend_from_slice(&value.to_le_bytes());
    e.extend_from_slice(&[0, 0]); // padding of the 4-byte value field
    e.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    e
}

#[test]
fn exif_rotated_jpeg_comes_out_upright() {
    // Stored 40×20 landscape, left red / right blue, tagged "rotate 90° clockwise to display"
    // (orientation 6, what phones write for portrait shots): upright it is 20×40, red on top.
    let stored = red_blue(40, 20);
    let mut jpeg = Vec::new();
    let mut enc = Encoder::new(&mut jpeg, 95);
    enc.add_app_segment(1, &exif_orientation(6)).unwrap();
    enc.encode(stored.as_raw(), 40, 20, ColorType::Rgb).unwrap();

    let img = decode(&jpeg).unwrap();
    assert_eq!((img.width, img.height), (20, 40));
    let px = |x: usize, y: usize| &img.data[(y * 20 + x) * 3..][..3];
    assert!(is_red(px(10, 3)), "top should be red, got {:?}", px(10, 3));
    assert!(
        is_blue(px(10, 36)),
        "bottom should be blue, got {:?}",
        px(10, 36)
    );
}

#[test]
fn transparent_png_is_composited_on_white() {
    // Fully transparent red, and half-transparent black.
    let clear = RgbaImage::from_pixel(6, 6, Rgba([255, 0, 0, 0]));
    let img = decode(&encode(DynamicImage::ImageRgba8(clear), ImageFormat::Png)).unwrap();
    assert_eq!(img.format, PixelFormat::Rgba8);
    assert!(
        resize_and_crop(&img.pixels().unwrap(), &Preprocessing::SHIPPED)
            .iter()
            .all(|&v| v == 255)
    );

    let half = RgbaImage::from_pixel(6, 6, Rgba([0, 0, 0, 128]));
    let img = decode(&encode(DynamicImage::ImageRgba8(half), ImageFormat::Png)).unwrap();
    assert!(
        resize_and_crop(&img.pixels().unwrap(), &Preprocessing::SHIPPED)
            .iter()
            .all(|&v| v == 127)
    );
}

#[test]
fn greyscale_png_and_jpeg_become_grey_rgb() {
    let grey = image::GrayImage::from_pixel(10, 8, image::Luma([77]));
    for format in [ImageFormat::Png, ImageFormat::Jpeg] {
        let img = decode(&encode(DynamicImage::ImageLuma8(grey.clone()), format)).unwrap();
        assert_eq!(
            (img.width, img.height, img.format),
            (10, 8, PixelFormat::Rgb8)
        );
        assert!(
            img.data
                .chunks_exact(3)
                .all(|p| p[0] == p[1] && p[1] == p[2] && p[0].abs_diff(77) <= 2),
            "{format:?}"
        );
    }
}

#[test]
fn cmyk_jpeg_is_converted_to_rgb() {
    // Pure magenta + yellow ink (no cyan, no black) is red.
    let (w, h) = (16u16, 8u16);
    let cmyk: Vec<u8> = (0..usize::from(w) * usize::from(h))
        .flat_map(|_| [0u8, 255, 255, 0])
        .collect();
    let mut jpeg = Vec::new();
    Encoder::new(&mut jpeg, 95)
        .encode(&cmyk, w, h, ColorType::Cmyk)
        .unwrap();

    let img = decode(&jpeg).unwrap();
    assert_eq!(
        (img.width, img.height, img.format),
        (16, 8, PixelFormat::Rgb8)
    );
    let centre = &img.data[(4 * 16 + 8) * 3..][..3];
    assert!(
        is_red(centre),
        "CMYK (0,255,255,0) should look red, got {centre:?}"
    );
}

#[test]
fn sixteen_bit_png_is_reduced_to_eight_bits() {
    let img16 = image::ImageBuffer::<Rgb<u16>, _>::from_pixel(5, 5, Rgb([65535u16, 0, 32896]));
    let img = decode(&encode(DynamicImage::ImageRgb16(img16), ImageFormat::Png)).unwrap();
    assert_eq!(&img.data[..3], &[255, 0, 128]);
}
