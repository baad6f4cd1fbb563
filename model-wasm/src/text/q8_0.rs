//! Expanding Q8_0 blocks (an f16 scale then 32 signed bytes) to f32, straight from the model
//! file's bytes.
//!
//! Why not candle's `dequantize`: in the browser the 10.6 M encoder weights are expanded once, at
//! load, by code that runs exactly once — so V8 runs it in its baseline compiler (Liftoff), which
//! keeps candle's scalar per-value loop scalar and bounds-checked. Measured in Chromium that was
//! ~50 ms of the model's load. Here each block is 8 SIMD multiplies in wasm (simd128 is in every
//! browser we target), and a plain loop over whole blocks natively, which LLVM vectorises. Both
//! compute `q as f32 * scale` in f32, exactly as candle does, so the values are bit-identical.

/// Values per block.
const QK: usize = 32;
/// Bytes per block: the f16 scale, then the values.
const BLOCK_BYTES: usize = 2 + QK;

/// Expands `bytes` (whole Q8_0 blocks) to `bytes.len() / 34 * 32` f32 values.
pub fn dequantize(bytes: &[u8]) -> Vec<f32> {
    let blocks = bytes.len() / BLOCK_BYTES;
    let mut out = vec![0f32; blocks * QK];
    for (block, ys) in bytes
        .chunks_exact(BLOCK_BYTES)
        .zip(out.chunks_exact_mut(QK))
    {
        let scale = f16_to_f32(u16::from_le_bytes([block[0], block[1]]));
        let qs: &[u8; QK] = block[2..].try_into().expect("block length");
        let ys: &mut [f32; QK] = ys.try_into().expect("block length");
        expand_block(scale, qs, ys);
    }
    out
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn expand_block(scale: f32, qs: &[u8; QK], ys: &mut [f32; QK]) {
    use core::arch::wasm32::*;
    let d = f32x4_splat(scale);
    for half in 0..2 {
        // SAFETY: 16 of the 32 bytes / 16 of the 32 floats, in bounds; wasm loads and stores
        // have no alignment requirement (`read_unaligned`/`write_unaligned` say so to Rust).
        unsafe {
            let q = std::ptr::read_unaligned(qs.as_ptr().add(16 * half).cast::<v128>());
            let lo = i16x8_extend_low_i8x16(q);
            let hi = i16x8_extend_high_i8x16(q);
            let out = ys.as_mut_ptr().add(16 * half).cast::<v128>();
            for (k, words) in [
                i32x4_extend_low_i16x8(lo),
                i32x4_extend_high_i16x8(lo),
                i32x4_extend_low_i16x8(hi),
                i32x4_extend_high_i16x8(hi),
            ]
            .into_iter()
            .enumerate()
            {
                std::ptr::write_unaligned(out.add(k), f32x4_mul(f32x4_convert_i32x4(words), d));
            }
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn expand_block(scale: f32, qs: &[u8; QK], ys: &mut [f32; QK]) {
    for (y, &q) in ys.iter_mut().zip(qs) {
        *y = f32::from(q as i8) * scale;
    }
}

/// Splits Q8_0 blocks into their signed bytes, packed four to a `u32` (little-endian, as the
/// GPU kernels read them), and one f32 scale per block: the GPU backend's upload layout.
#[cfg(feature = "gpu")]
pub fn split(bytes: &[u8]) -> (Vec<u32>, Vec<f32>) {
    let blocks = bytes.len() / BLOCK_BYTES;
    let mut qs = Vec::with_capacity(blocks * QK / 4);
    let mut scales = Vec::with_capacity(blocks);
    for block in bytes.chunks_exact(BLOCK_BYTES) {
        scales.push(f16_to_f32(u16::from_le_bytes([block[0], block[1]])));
        qs.extend(
            block[2..]
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
    }
    (qs, scales)
}

/// IEEE half to single precision (exact: every f16 is representable as an f32).
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    let bits = match (exp, man) {
        (0, 0) => sign,
        // Subnormal: man × 2^-24, exact in f32.
        (0, _) => {
            let v = man as f32 * f32::from_bits(0x3380_0000);
            sign | v.to_bits()
        }
        (0x1f, _) => sign | 0x7f80_0000 | (man << 13),
        _ => sign | ((exp + 112) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};

    #[test]
    fn every_f16_converts_exactly() {
        for h in 0..=u16::MAX {
            let ours = f16_to_f32(h);
            let theirs = half_to_f32_reference(h);
            if theirs.is_nan() {
                assert!(ours.is_nan(), "{h:#06x}");
            } else {
                assert_eq!(ours.to_bits(), theirs.to_bits(), "{h:#06x}");
            }
        }
    }

    /// candle's own conversion, through a one-value F16 tensor.
    fn half_to_f32_reference(h: u16) -> f32 {
        let t = Tensor::from_raw_buffer(
            &h.to_le_bytes(),
            candle_core::DType::F16,
            &[1],
            &Device::Cpu,
        )
        .and_then(|t| t.to_dtype(candle_core::DType::F32))
        .and_then(|t| t.to_vec1::<f32>())
        .expect("f16 tensor");
        t[0]
    }

    #[test]
    fn matches_candle_bit_for_bit() {
        let values: Vec<f32> = (0..64 * 96)
            .map(|i| ((i as f32 * 0.618).sin() * 3.0) * if i % 97 == 0 { 40.0 } else { 1.0 })
            .collect();
        let t = Tensor::from_vec(values, (64, 96), &Device::Cpu).expect("tensor");
        let q = QTensor::quantize(&t, GgmlDType::Q8_0).expect("quantize");
        let theirs = q
            .dequantize(&Device::Cpu)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .expect("dequantize");
        let ours = dequantize(&q.data().expect("bytes"));
        assert_eq!(ours.len(), theirs.len());
        for (a, b) in ours.iter().zip(&theirs) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
    }
}
