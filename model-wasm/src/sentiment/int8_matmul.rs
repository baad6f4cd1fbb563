//! `x · Wᵀ` with 8-bit weights *and* 8-bit activations, integer dot products in 32-value blocks.
//!
//! Why hand-written: in the browser this is the sentiment model's fast path. The f32 GEMM
//! (`gemm` crate, simd128) does one multiply and one add per 4 products; wasm's
//! `i32x4.dot_i16x8_s` does 8 products and their pairwise sums in one instruction. candle's own
//! Q8_0 × Q8_0 kernel sums each 32-value block horizontally, one output at a time, which made
//! it slower than f32 in V8 (60 ms vs 38 ms per sentence). Here four outputs share every
//! instruction: lane `j` of a dot is `x[k]·W[j,k] + x[k+1]·W[j,k+1]`, so no horizontal sums.
//!
//! Numbers: the weights are the file's Q8_0 blocks unchanged (an f16 scale per 32 values); the
//! activations are quantised the same way, per row and block, at run time. Integer sums are
//! exact, and the f32 epilogue runs in the same order on every target, so the portable code
//! (native: eval, tests) and the wasm SIMD code give bit-identical results — the accuracy
//! `cargo xtask eval-sentiment` reports (int8 is its default) is the browser's.

/// Values per quantisation block (Q8_0's).
const QK: usize = 32;
/// Outputs per group: one `v128` of i32 lanes.
const GROUP: usize = 4;
/// Rows per tile: 4 rows × (one i32 and one f32 accumulator) + weights + input = 10 registers.
const MR: usize = 4;
/// Bytes of one Q8_0 block in the model file: an f16 scale, then 32 signed bytes.
const BLOCK_BYTES: usize = 2 + QK;

/// A `[out, in]` Q8_0 matrix, re-laid for the kernel.
#[derive(Debug, Clone)]
pub struct Int8Matrix {
    out: usize,
    inp: usize,
    /// Per group of [`GROUP`] outputs, per input pair `(2p, 2p+1)`: 8 × i16
    /// `[W[j,2p], W[j,2p+1]]` for the group's four outputs `j` (zero past `out`).
    weights: Vec<i16>,
    /// Per group, per block: the four outputs' block scales.
    scales: Vec<f32>,
}

impl Int8Matrix {
    /// `bytes`: the matrix's Q8_0 blocks as stored (row-major `[out, in]`, blocks along `in`).
    pub fn from_q8_0(bytes: &[u8], out: usize, inp: usize) -> Result<Self, String> {
        if !inp.is_multiple_of(QK) {
            return Err(format!(
                "{inp} inputs is not a whole number of 32-value blocks"
            ));
        }
        let blocks = inp / QK;
        if bytes.len() != out * blocks * BLOCK_BYTES {
            return Err(format!(
                "{} bytes for a {out}×{inp} Q8_0 matrix (expected {})",
                bytes.len(),
                out * blocks * BLOCK_BYTES
            ));
        }
        let groups = out.div_ceil(GROUP);
        let mut weights = vec![0i16; groups * inp * GROUP];
        let mut scales = vec![0f32; groups * blocks * GROUP];
        for j in 0..out {
            let (g, lane) = (j / GROUP, j % GROUP);
            let row = &bytes[j * blocks * BLOCK_BYTES..][..blocks * BLOCK_BYTES];
            for (b, block) in row.chunks_exact(BLOCK_BYTES).enumerate() {
                scales[(g * blocks + b) * GROUP + lane] =
                    super::q8_0::f16_to_f32(u16::from_le_bytes([block[0], block[1]]));
                for (i, &q) in block[2..].iter().enumerate() {
                    let k = b * QK + i;
                    let pair = k / 2;
                    weights[(g * inp / 2 + pair) * 2 * GROUP + lane * 2 + k % 2] =
                        i16::from(q as i8);
                }
            }
        }
        Ok(Self {
            out,
            inp,
            weights,
            scales,
        })
    }

    /// `y[m, out] = x[m, in] · Wᵀ`, on every thread [`crate::parallel`] offers.
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        self.forward_on(x, crate::parallel::threads())
    }

    /// [`Self::forward`] on exactly `threads` threads: each takes a band of whole rows (integer
    /// sums make the result the same bits whatever the split).
    pub fn forward_on(&self, x: &[f32], threads: usize) -> Vec<f32> {
        let (inp, out) = (self.inp, self.out);
        let m = x.len() / inp;
        let input = QuantizedRows::new(&x[..m * inp], inp);
        let mut y = vec![0f32; m * out];
        let band = m.div_ceil(threads.max(1)).div_ceil(MR).max(1) * MR;
        crate::parallel::for_each_chunk_mut(&mut y, band * out, threads, |i, rows| {
            self.rows_into(&input, i * band, rows);
        });
        y
    }

    /// Rows `first..` of the product into `y` (whole rows of `out` values).
    fn rows_into(&self, input: &QuantizedRows, first: usize, y: &mut [f32]) {
        let (inp, out) = (self.inp, self.out);
        let blocks = inp / QK;
        let m = y.len() / out;
        for g in 0..out.div_ceil(GROUP) {
            let weights = &self.weights[g * inp * GROUP..][..inp * GROUP];
            let scales = &self.scales[g * blocks * GROUP..][..blocks * GROUP];
            let cols = (out - g * GROUP).min(GROUP);
            let mut r = 0;
            while r < m {
                let height = (m - r).min(MR);
                let tile = group_tile(input, first + r, height, weights, scales);
                for (i, sums) in tile.iter().enumerate().take(height) {
                    y[(r + i) * out + g * GROUP..][..cols].copy_from_slice(&sums[..cols]);
                }
                r += height;
            }
        }
    }
}

/// Activations quantised like Q8_0: per row and 32-value block, `q = round(x / s)`,
/// `s = max|x| / 127`; values stored as i16 pairs packed in a u32 (the dot's operand layout).
struct QuantizedRows {
    /// `[m, in / 2]`: `q[2p] | q[2p+1] << 16`.
    pairs: Vec<u32>,
    /// `[m, in / 32]`.
    scales: Vec<f32>,
    half: usize,
    blocks: usize,
}

impl QuantizedRows {
    fn new(x: &[f32], inp: usize) -> Self {
        let (half, blocks) = (inp / 2, inp / QK);
        let rows = x.len() / inp;
        let mut pairs = Vec::with_capacity(rows * half);
        let mut scales = Vec::with_capacity(rows * blocks);
        for block in x.chunks_exact(QK) {
            // A compare, not `f32::max`: in wasm that is a call to libm's `fmaxf` (NaN rules),
            // which cost 4% of the model's time here.
            let amax = block
                .iter()
                .fold(0f32, |a, v| if v.abs() > a { v.abs() } else { a });
            let scale = amax / 127.0;
            let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
            scales.push(scale);
            pairs.extend(block.chunks_exact(2).map(|p| {
                let lo = (p[0] * inv).round_ties_even() as i16;
                let hi = (p[1] * inv).round_ties_even() as i16;
                u32::from(lo as u16) | (u32::from(hi as u16) << 16)
            }));
        }
        Self {
            pairs,
            scales,
            half,
            blocks,
        }
    }
}

/// `height` (≤ [`MR`]) rows from `r`, times one group of four outputs: `[MR][GROUP]` sums.
#[cfg(target_arch = "wasm32")]
fn group_tile(
    x: &QuantizedRows,
    r: usize,
    height: usize,
    weights: &[i16],
    scales: &[f32],
) -> [[f32; GROUP]; MR] {
    use core::arch::wasm32::*;
    assert!(height <= MR && weights.len() >= x.half * 8 && scales.len() >= x.blocks * GROUP);
    assert!(x.pairs.len() >= (r + height) * x.half && x.scales.len() >= (r + height) * x.blocks);
    let mut total = [f32x4_splat(0.0); MR];
    for b in 0..x.blocks {
        let mut sums = [i32x4_splat(0); MR];
        for p in b * QK / 2..(b + 1) * QK / 2 {
            // SAFETY: p < half and every row index < r + height: in bounds by the asserts.
            unsafe {
                let w = v128_load(weights.as_ptr().add(p * 8) as *const v128);
                for (i, s) in sums.iter_mut().enumerate().take(height) {
                    let pair = *x.pairs.get_unchecked((r + i) * x.half + p);
                    *s = i32x4_add(*s, i32x4_dot_i16x8(i32x4_splat(pair as i32), w));
                }
            }
        }
        // SAFETY: b < blocks: four scales in bounds (asserted).
        let w_scale = unsafe { v128_load(scales.as_ptr().add(b * GROUP) as *const v128) };
        for (i, (t, s)) in total.iter_mut().zip(sums).enumerate().take(height) {
            let x_scale = f32x4_splat(x.scales[(r + i) * x.blocks + b]);
            *t = f32x4_add(
                *t,
                f32x4_mul(f32x4_mul(f32x4_convert_i32x4(s), x_scale), w_scale),
            );
        }
    }
    // SAFETY: [v128; MR] and [[f32; 4]; MR] have the same size, any bits are valid f32s.
    unsafe { core::mem::transmute::<[v128; MR], [[f32; GROUP]; MR]>(total) }
}

/// The same arithmetic in plain Rust, in the same order (bit-identical to the wasm kernel).
#[cfg(not(target_arch = "wasm32"))]
fn group_tile(
    x: &QuantizedRows,
    r: usize,
    height: usize,
    weights: &[i16],
    scales: &[f32],
) -> [[f32; GROUP]; MR] {
    let mut total = [[0f32; GROUP]; MR];
    for (i, t) in total.iter_mut().enumerate().take(height) {
        let row = &x.pairs[(r + i) * x.half..][..x.half];
        for b in 0..x.blocks {
            let mut sums = [0i32; GROUP];
            for p in b * QK / 2..(b + 1) * QK / 2 {
                let (lo, hi) = (
                    i32::from(row[p] as u16 as i16),
                    i32::from((row[p] >> 16) as i16),
                );
                let w = &weights[p * 8..][..8];
                for (j, s) in sums.iter_mut().enumerate() {
                    *s += lo * i32::from(w[2 * j]) + hi * i32::from(w[2 * j + 1]);
                }
            }
            let x_scale = x.scales[(r + i) * x.blocks + b];
            for ((tj, &s), &w_scale) in t.iter_mut().zip(&sums).zip(&scales[b * GROUP..][..GROUP]) {
                *tj += (s as f32 * x_scale) * w_scale;
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};

    use super::*;

    /// A Q8_0 matrix and the f32 values its bytes stand for.
    fn q8_matrix(out: usize, inp: usize, seed: f32) -> (Vec<u8>, Tensor) {
        let values: Vec<f32> = (0..out * inp)
            .map(|i| ((i as f32 * seed).sin() * 0.8) * if i % 41 == 0 { 4.0 } else { 1.0 })
            .collect();
        let t = Tensor::from_vec(values, (out, inp), &Device::Cpu).expect("tensor");
        let q = QTensor::quantize(&t, GgmlDType::Q8_0).expect("quantize");
        let dequantized = q.dequantize(&Device::Cpu).expect("dequantize");
        (q.data().expect("bytes").into_owned(), dequantized)
    }

    #[test]
    fn matches_the_f32_product_within_activation_rounding() {
        // 6 outputs: a whole group and a partial one; 9 rows: two tiles and a remainder.
        for (m, out, inp) in [(9, 6, 64), (1, 384, 384), (28, 8, 1536)] {
            let (bytes, w) = q8_matrix(out, inp, 0.731);
            let x = Tensor::randn(0f32, 1.0, (m, inp), &Device::Cpu).expect("x");
            let reference = x.matmul(&w.t().expect("t")).expect("matmul");
            let matrix = Int8Matrix::from_q8_0(&bytes, out, inp).expect("matrix");
            let ours = matrix.forward(&x.flatten_all().and_then(|t| t.to_vec1()).expect("x"));
            let theirs: Vec<f32> = reference
                .flatten_all()
                .and_then(|t| t.to_vec1())
                .expect("y");
            // Quantising the activations to 8 bits per block costs at most half a step
            // (max|x|/254) per value; relative to the output's scale that is well under 1%.
            let scale = theirs.iter().fold(0f32, |a, v| a.max(v.abs()));
            let worst = ours
                .iter()
                .zip(&theirs)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                worst <= 0.01 * scale,
                "{m}×{inp}→{out}: worst {worst}, scale {scale}"
            );
        }
    }

    #[test]
    fn zero_rows_and_zero_blocks_give_zeros_not_nan() {
        let (bytes, _) = q8_matrix(4, 32, 0.3);
        let matrix = Int8Matrix::from_q8_0(&bytes, 4, 32).expect("matrix");
        assert_eq!(matrix.forward(&[0.0; 64]), vec![0.0; 8]);
        assert!(matrix.forward(&[]).is_empty());
    }

    #[test]
    fn every_thread_count_gives_the_same_bits() {
        let (bytes, _) = q8_matrix(12, 96, 0.417);
        let matrix = Int8Matrix::from_q8_0(&bytes, 12, 96).expect("matrix");
        let x: Vec<f32> = (0..23 * 96).map(|i| (i as f32 * 0.093).sin()).collect();
        let one = matrix.forward_on(&x, 1);
        for threads in [2, 3, 8] {
            assert_eq!(matrix.forward_on(&x, threads), one, "{threads} threads");
        }
    }

    #[test]
    fn refuses_a_matrix_whose_bytes_do_not_fit() {
        assert!(Int8Matrix::from_q8_0(&[0; 10], 4, 32).is_err());
        assert!(Int8Matrix::from_q8_0(&[0; 34], 1, 30).is_err());
    }
}
