//! `x · Wᵀ` with 8-bit weights *and* 8-bit activations: one exact integer dot product per output.
//! In the browser this is both models' fast path: the sentiment encoder's linear layers and the
//! image model's 1×1 convolutions and classifier.
//!
//! Why hand-written: the f32 GEMM (`gemm` crate, simd128) does one multiply and one add per
//! 4 products; wasm's `i32x4.dot_i16x8_s` does 8 products and their pairwise sums in one
//! instruction. candle's own Q8_0 × Q8_0 kernel sums each block horizontally, one output at a
//! time, which made it slower than f32 in V8 (60 ms vs 38 ms per sentence). Here lane `j` of a
//! dot is `x[k]·W[j,k] + x[k+1]·W[j,k+1]`, so outputs share every instruction and no horizontal
//! sums are needed.
//!
//! The tile is 4 rows × 8 outputs. Per input pair: two weight loads (8 bytes each, widened to
//! i16 by the load itself), four broadcast loads of a row's input pair, 8 dots and 8 adds: 64
//! products in 22 instructions, in 8 accumulators + 3 operands, inside the 16 vector registers
//! V8 has on x86-64. The first version's 4 × 4 tile loaded each input pair again for every four
//! outputs and kept its weights as i16 (twice the memory traffic); it spent 72% of a sentence.
//!
//! Numbers: one f32 scale per weight row (output), `W[j, k] = w[j, k] · sw[j]` (the image file
//! stores its layers so; the sentiment file's Q8_0 blocks are re-quantised per row at load), and
//! one per activation row, quantised at run time: `x[i, k] ≈ q[i, k] · sx[i]`, `q = round(x/sx)`,
//! `sx = max|x[i, ..]| / 127`. Then `y[i, j] = (Σ_k q·w as f32 · sx[i]) · sw[j]`: the whole sum
//! stays in i32 (exact; at most 1536 · 127² ≈ 2.5e7 here) and there is one float epilogue per
//! output. Scales per 32-input block, as Q8_0 has them, cost a conversion and two multiplies per
//! block: a sentence 20% slower in V8 (14.3 vs 11.5 ms of CPU), an image 10% (31.7 vs 28.4 ms),
//! for accuracy within noise: 93.91% vs 93.76% on the sentiment validation split (4 sentences
//! of 2,694; the float model gets 93.73%), and the image model's top-1 agreement with float on
//! 454 hard photos is 91.0% either way. Integer sums are exact and the epilogue runs in the same
//! order on every target, so the portable code (native: eval, tests) and the wasm SIMD code give
//! bit-identical results: the accuracy `cargo xtask eval-*` reports in int8 mode is the
//! browser's.
//!
//! Activations may take more levels than 8 bits give ([`Int8Matrix::with_activation_bits`], up
//! to 12: `q` in ±2047): the operands are i16 in the dot anyway, so the cost is the same, and
//! the sums stay exact while `in · 127 · levels` fits in i32 (8,261 inputs at 12 bits). The
//! shipped models keep 8; imported image models, whose rounding the importer cannot check on
//! the model's real data, use 12.

use candle_core::{bail, CpuStorage, CustomOp1, Layout, Shape, Tensor};

use crate::parallel;

/// Inputs per block of a Q8_0 matrix in a GGUF file.
const QK: usize = 32;
/// Most inputs a row may have at 8-bit activations: its integer sum must stay inside i32
/// (|q|, |w| ≤ 127).
const MAX_INPUTS: usize = (i32::MAX as usize) / (127 * 127);
/// Activation bits the kernel takes: 8 (the default) to 12.
pub const ACTIVATION_BITS: std::ops::RangeInclusive<u32> = 8..=12;
/// Outputs per accumulator: one `v128` of i32 lanes.
const GROUP: usize = 4;
/// Outputs per tile: two accumulators per row.
const PANEL: usize = 2 * GROUP;
/// Rows per tile.
const MR: usize = 4;
/// Rows that every panel of outputs passes over before the next rows: their quantised inputs
/// (at most 64 × 1536 i16, 196 KB) stay in cache while all the weights stream past.
const ROW_CHUNK: usize = 64;
/// Bytes of one Q8_0 block in a GGUF file: an f16 scale, then 32 signed bytes.
const Q8_0_BLOCK_BYTES: usize = 2 + QK;

/// How 8-bit weight matrices are multiplied at run time. The model files are 8-bit either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MatmulMode {
    /// Keep the matrices 8-bit and quantise the activations to 8 bits on the fly: integer dot
    /// products ([`Int8Matrix`]). What the browser runs, so the default everywhere the
    /// product's numbers are measured (eval, the e2e reference).
    #[default]
    Int8,
    /// Expand the matrices to f32 once at load and use the f32 GEMM. Natively the fastest (the
    /// `gemm` crate dispatches to AVX2/FMA at run time, which the portable int8 code does not
    /// use), so the native benchmark baseline runs this; and the float reference path.
    F32,
}

/// What happens to each output on its way out of the product, fused into the store.
#[derive(Debug, Clone, Copy)]
pub struct Epilogue<'a> {
    /// Added per output column (`len() == out`).
    pub bias: Option<&'a [f32]>,
    /// Clamp to `[0, 6]` after the bias.
    pub relu6: bool,
}

impl Epilogue<'_> {
    /// The plain product.
    pub const NONE: Epilogue<'static> = Epilogue {
        bias: None,
        relu6: false,
    };

    /// `act(sum + bias[col])` for one output: the scalar form of the wasm store, the same
    /// operations in the same order (ReLU6 as two compares, which is what `pmax`/`pmin` do).
    fn apply(&self, sum: f32, col: usize) -> f32 {
        let mut v = sum;
        if let Some(bias) = self.bias {
            v += bias[col];
        }
        if self.relu6 {
            v = if 0.0 < v { v } else { 0.0 };
            v = if 6.0 < v { 6.0 } else { v };
        }
        v
    }
}

/// An `[out, in]` 8-bit matrix, re-laid for the kernel.
#[derive(Debug, Clone)]
pub struct Int8Matrix {
    out: usize,
    inp: usize,
    /// Per panel of [`PANEL`] outputs, per input pair `p`: 16 bytes, `[W[j,2p], W[j,2p+1]]` for
    /// the panel's outputs `j` in order (zero past `out`).
    weights: Vec<i8>,
    /// Per panel: the panel's [`PANEL`] row scales (zero past `out`).
    scales: Vec<f32>,
    /// Largest |q| of a quantised activation: 127 (8 bits) unless raised.
    levels: f32,
}

impl Int8Matrix {
    /// Quantises activations to `bits` (8–12) instead of 8: finer steps at the same cost.
    pub fn with_activation_bits(mut self, bits: u32) -> Result<Self, String> {
        if !ACTIVATION_BITS.contains(&bits) {
            return Err(format!("{bits}-bit activations: the kernel takes 8 to 12"));
        }
        let levels = (1u32 << (bits - 1)) - 1;
        let max_inputs = (i32::MAX as usize) / (127 * levels as usize);
        if self.inp > max_inputs {
            return Err(format!(
                "{} inputs at {bits}-bit activations: at most {max_inputs} keep the sums exact",
                self.inp
            ));
        }
        self.levels = levels as f32;
        Ok(self)
    }

    /// `bytes`: the matrix's Q8_0 blocks as stored (row-major `[out, in]`, blocks along `in`),
    /// re-quantised to one scale per row: `round(w · 127 / max|row|)` of the values the blocks
    /// stand for.
    pub fn from_q8_0(bytes: &[u8], out: usize, inp: usize) -> Result<Self, String> {
        if !inp.is_multiple_of(QK) {
            return Err(format!(
                "{inp} inputs is not a whole number of 32-value blocks"
            ));
        }
        let blocks = inp / QK;
        if bytes.len() != out * blocks * Q8_0_BLOCK_BYTES {
            return Err(format!(
                "{} bytes for a {out}×{inp} Q8_0 matrix (expected {})",
                bytes.len(),
                out * blocks * Q8_0_BLOCK_BYTES
            ));
        }
        let mut matrix = Self::zeros(out, inp)?;
        // One row at a time through two reused buffers: this runs at every model load.
        let (mut row_values, mut row_quantised) = (vec![0f32; inp], vec![0i16; inp]);
        for (j, row) in bytes.chunks_exact(blocks * Q8_0_BLOCK_BYTES).enumerate() {
            for (block, w) in row
                .chunks_exact(Q8_0_BLOCK_BYTES)
                .zip(row_values.chunks_exact_mut(QK))
            {
                let s = crate::text::q8_0::f16_to_f32(u16::from_le_bytes([block[0], block[1]]));
                for (d, &v) in w.iter_mut().zip(&block[2..]) {
                    *d = f32::from(v as i8) * s;
                }
            }
            let scale = quantize_row(&row_values, &mut row_quantised, 127.0);
            // |w / s| ≤ 127: every value fits in i8.
            matrix.set_row(j, row_quantised.iter().map(|&v| v as i8), scale);
        }
        Ok(matrix)
    }

    /// `values`: row-major `[out, in]` int8; `scales`: one per output (`W[j, k] = values ×
    /// scales[j]`), as the image model file stores its layers.
    pub fn from_per_output(
        values: &[i8],
        scales: &[f32],
        out: usize,
        inp: usize,
    ) -> Result<Self, String> {
        if values.len() != out * inp || scales.len() != out {
            return Err(format!(
                "{} values and {} scales for a {out}×{inp} matrix",
                values.len(),
                scales.len()
            ));
        }
        let mut matrix = Self::zeros(out, inp)?;
        for (j, (row, &scale)) in values.chunks_exact(inp.max(1)).zip(scales).enumerate() {
            matrix.set_row(j, row.iter().copied(), scale);
        }
        Ok(matrix)
    }

    /// An all-zero `out × inp` matrix in the kernel's layout, rows to be set.
    fn zeros(out: usize, inp: usize) -> Result<Self, String> {
        if !inp.is_multiple_of(2) || inp > MAX_INPUTS {
            return Err(format!(
                "{inp} inputs: the kernel takes an even number, at most {MAX_INPUTS}"
            ));
        }
        let panels = out.div_ceil(PANEL);
        Ok(Self {
            out,
            inp,
            weights: vec![0i8; panels * inp * PANEL],
            scales: vec![0f32; panels * PANEL],
            levels: 127.0,
        })
    }

    /// Row (output) `j`: its `inp` values and scale, into the panel layout.
    fn set_row(&mut self, j: usize, values: impl Iterator<Item = i8>, scale: f32) {
        let (panel, lane) = (j / PANEL, j % PANEL);
        let half = self.inp / 2;
        self.scales[j] = scale;
        let panel_weights = &mut self.weights[panel * half * 2 * PANEL..][..half * 2 * PANEL];
        for (k, w) in values.take(self.inp).enumerate() {
            panel_weights[(k / 2) * 2 * PANEL + lane * 2 + k % 2] = w;
        }
    }

    /// `y[m, out] = epilogue(x[m, in] · Wᵀ)`, on every thread [`crate::parallel`] offers.
    pub fn forward(&self, x: &[f32], epilogue: Epilogue) -> Vec<f32> {
        self.forward_on(x, epilogue, parallel::threads())
    }

    /// [`Self::forward`] on exactly `threads` threads: each takes a band of whole rows (integer
    /// sums make the result the same bits whatever the split).
    pub fn forward_on(&self, x: &[f32], epilogue: Epilogue, threads: usize) -> Vec<f32> {
        let (inp, out) = (self.inp, self.out);
        if let Some(bias) = epilogue.bias {
            assert_eq!(bias.len(), out, "a bias per output");
        }
        let m = x.len().checked_div(inp).unwrap_or(0);
        let input = QuantizedRows::new(&x[..m * inp], inp, self.levels);
        let mut y = vec![0f32; m * out];
        let band = m.div_ceil(threads.max(1)).div_ceil(MR).max(1) * MR;
        parallel::for_each_chunk_mut(&mut y, band * out, threads, |i, rows| {
            self.rows_into(&input, i * band, rows, epilogue);
        });
        y
    }

    /// `x` (`[.., in]`, f32 on the CPU) times this matrix: `[.., out]`, read straight from the
    /// tensor's storage (copied first only if it is not contiguous).
    pub fn product(&self, x: &Tensor, epilogue: Epilogue) -> candle_core::Result<Tensor> {
        x.contiguous()?.apply_op1_no_bwd(&Product {
            matrix: self,
            epilogue,
        })
    }

    /// Rows `first..` of the product into `y` (whole rows of `out` values).
    fn rows_into(&self, x: &QuantizedRows, first: usize, y: &mut [f32], epilogue: Epilogue) {
        let (half, out) = (self.inp / 2, self.out);
        let m = y.len() / out;
        for chunk in (0..m).step_by(ROW_CHUNK) {
            let chunk_end = (chunk + ROW_CHUNK).min(m);
            for panel in 0..out.div_ceil(PANEL) {
                let weights = &self.weights[panel * half * 2 * PANEL..][..half * 2 * PANEL];
                let scales = &self.scales[panel * PANEL..][..PANEL];
                let cols = (out - panel * PANEL).min(PANEL);
                let mut r = chunk;
                while r < chunk_end {
                    let height = (chunk_end - r).min(MR);
                    let tile = Tile {
                        x,
                        r: first + r,
                        weights,
                        scales,
                    };
                    let dst = Dst {
                        y: &mut y[r * out..(r + height) * out],
                        out,
                        col: panel * PANEL,
                        cols,
                        epilogue,
                    };
                    match height {
                        4 => tile.write::<4>(dst),
                        3 => tile.write::<3>(dst),
                        2 => tile.write::<2>(dst),
                        _ => tile.write::<1>(dst),
                    }
                    r += height;
                }
            }
        }
    }
}

/// [`Int8Matrix::product`] as a candle op, so the activations are read in place.
struct Product<'a> {
    matrix: &'a Int8Matrix,
    epilogue: Epilogue<'a>,
}

impl CustomOp1 for Product<'_> {
    fn name(&self) -> &'static str {
        "int8-product"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else {
            bail!("int8 product: the input must be f32");
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            bail!("int8 product: the input must be contiguous");
        };
        let mut dims = layout.dims().to_vec();
        if dims.last() != Some(&self.matrix.inp) {
            bail!(
                "int8 product: input of shape {dims:?} for a matrix of {} inputs",
                self.matrix.inp
            );
        }
        let y = self.matrix.forward(&data[start..end], self.epilogue);
        if let Some(last) = dims.last_mut() {
            *last = self.matrix.out;
        }
        Ok((CpuStorage::F32(y), Shape::from(dims)))
    }
}

/// Activations quantised per row.
struct QuantizedRows {
    /// `[m, in]`, `in` even: read as u32, values `2p` and `2p + 1` are the dot's operand pair.
    values: Vec<i16>,
    /// `[m]`.
    scales: Vec<f32>,
    inp: usize,
}

impl QuantizedRows {
    fn new(x: &[f32], inp: usize, levels: f32) -> Self {
        let rows = x.len().checked_div(inp).unwrap_or(0);
        let mut values = vec![0i16; rows * inp];
        let mut scales = vec![0f32; rows];
        for ((row, q), s) in x
            .chunks_exact(inp.max(1))
            .zip(values.chunks_exact_mut(inp.max(1)))
            .zip(&mut scales)
        {
            *s = quantize_row(row, q, levels);
        }
        Self {
            values,
            scales,
            inp,
        }
    }
}

/// `q = round(x / s)` with `s = max|x| / levels` (ties to even); returns `s`. Values are i16,
/// the dot's operand width.
#[cfg(target_arch = "wasm32")]
fn quantize_row(x: &[f32], q: &mut [i16], levels: f32) -> f32 {
    use core::arch::wasm32::*;
    let whole = x.len() / 8 * 8;
    let mut amax4 = f32x4_splat(0.0);
    for c in x[..whole].chunks_exact(4) {
        // SAFETY: four f32s in bounds; wasm loads need no alignment.
        let v = unsafe { v128_load(c.as_ptr() as *const v128) };
        // pmax(a, b) = `a < b ? b : a`: one instruction (`f32x4_max`'s NaN rules take several),
        // and like the scalar fold it keeps `a` when `b` is NaN.
        amax4 = f32x4_pmax(amax4, f32x4_abs(v));
    }
    let lanes = [
        f32x4_extract_lane::<0>(amax4),
        f32x4_extract_lane::<1>(amax4),
        f32x4_extract_lane::<2>(amax4),
        f32x4_extract_lane::<3>(amax4),
    ];
    let amax = lanes
        .into_iter()
        .chain(x[whole..].iter().map(|v| v.abs()))
        .fold(0f32, |a, v| if v > a { v } else { a });
    let (scale, inv) = scale_and_inverse(amax, levels);
    let inv4 = f32x4_splat(inv);
    for (c, d) in x[..whole].chunks_exact(8).zip(q.chunks_exact_mut(8)) {
        // SAFETY: eight f32s in and eight i16s out, in bounds.
        unsafe {
            let lo = f32x4_nearest(f32x4_mul(v128_load(c.as_ptr() as *const v128), inv4));
            let hi = f32x4_nearest(f32x4_mul(v128_load(c.as_ptr().add(4) as *const v128), inv4));
            let packed = i16x8_narrow_i32x4(i32x4_trunc_sat_f32x4(lo), i32x4_trunc_sat_f32x4(hi));
            v128_store(d.as_mut_ptr() as *mut v128, packed);
        }
    }
    for (v, d) in x[whole..].iter().zip(&mut q[whole..]) {
        *d = (v * inv).round_ties_even() as i16;
    }
    scale
}

/// The same arithmetic in plain Rust (bit-identical to the wasm code).
#[cfg(not(target_arch = "wasm32"))]
fn quantize_row(x: &[f32], q: &mut [i16], levels: f32) -> f32 {
    // A compare, not `f32::max`: the same NaN rule as the wasm code's `pmax`.
    let amax = x
        .iter()
        .fold(0f32, |a, v| if v.abs() > a { v.abs() } else { a });
    let (scale, inv) = scale_and_inverse(amax, levels);
    for (v, d) in x.iter().zip(q) {
        *d = (v * inv).round_ties_even() as i16;
    }
    scale
}

fn scale_and_inverse(amax: f32, levels: f32) -> (f32, f32) {
    let scale = amax / levels;
    (scale, if scale > 0.0 { 1.0 / scale } else { 0.0 })
}

/// One panel of outputs for up to [`MR`] rows from `r`: where the operands are.
struct Tile<'a> {
    x: &'a QuantizedRows,
    r: usize,
    /// The panel's weights and scales.
    weights: &'a [i8],
    scales: &'a [f32],
}

/// Where a tile's outputs go: rows of `y` (`out` wide), columns `col..col + cols`.
struct Dst<'a, 'e> {
    y: &'a mut [f32],
    out: usize,
    col: usize,
    cols: usize,
    epilogue: Epilogue<'e>,
}

impl Tile<'_> {
    /// `H` rows (one instantiation per height, so every loop over rows is unrolled).
    #[cfg(target_arch = "wasm32")]
    #[inline(always)]
    fn write<const H: usize>(&self, dst: Dst) {
        use core::arch::wasm32::*;
        let Self {
            x,
            r,
            weights,
            scales,
        } = *self;
        let inp = x.inp;
        let half = inp / 2;
        assert!(weights.len() >= half * 2 * PANEL && scales.len() >= PANEL);
        assert!(x.values.len() >= (r + H) * inp && x.scales.len() >= r + H);
        let rows: [*const i16; H] = core::array::from_fn(|i| x.values[(r + i) * inp..].as_ptr());
        let mut sums = [[i32x4_splat(0); 2]; H];
        for p in 0..half {
            // SAFETY: p < half, and every row index < r + H: in bounds by the asserts.
            unsafe {
                let w = weights.as_ptr().add(p * 2 * PANEL);
                let w0 = i16x8_load_extend_i8x8(w);
                let w1 = i16x8_load_extend_i8x8(w.add(2 * GROUP));
                for (row, s) in rows.iter().zip(sums.iter_mut()) {
                    let pair = v128_load32_splat(row.add(2 * p) as *const u32);
                    s[0] = i32x4_add(s[0], i32x4_dot_i16x8(pair, w0));
                    s[1] = i32x4_add(s[1], i32x4_dot_i16x8(pair, w1));
                }
            }
        }
        // SAFETY: the panel's scales and each row's scale are in bounds (asserted).
        let total: [[v128; 2]; H] = unsafe {
            let w_scale = [
                v128_load(scales.as_ptr() as *const v128),
                v128_load(scales.as_ptr().add(GROUP) as *const v128),
            ];
            core::array::from_fn(|i| {
                let x_scale = f32x4_splat(*x.scales.get_unchecked(r + i));
                core::array::from_fn(|g| {
                    f32x4_mul(
                        f32x4_mul(f32x4_convert_i32x4(sums[i][g]), x_scale),
                        w_scale[g],
                    )
                })
            })
        };
        let Dst {
            y,
            out,
            col,
            cols,
            epilogue,
        } = dst;
        let bias = epilogue.bias.map(|b| &b[col..col + cols]);
        for (i, t) in total.into_iter().enumerate() {
            let row = &mut y[i * out + col..][..cols];
            if cols < PANEL {
                // A partial panel (the matrix's last): through memory, one value at a time.
                let mut sums = [0f32; PANEL];
                // SAFETY: eight f32s out, in bounds.
                unsafe {
                    v128_store(sums.as_mut_ptr() as *mut v128, t[0]);
                    v128_store(sums.as_mut_ptr().add(GROUP) as *mut v128, t[1]);
                }
                for (c, v) in row.iter_mut().enumerate() {
                    *v = epilogue.apply(sums[c], col + c);
                }
                continue;
            }
            for (g, mut v) in t.into_iter().enumerate() {
                // SAFETY: cols == PANEL: four values of the row (and of the bias) from g · 4.
                unsafe {
                    if let Some(bias) = bias {
                        v = f32x4_add(v, v128_load(bias.as_ptr().add(g * GROUP) as *const v128));
                    }
                    if epilogue.relu6 {
                        v = f32x4_pmin(f32x4_pmax(f32x4_splat(0.0), v), f32x4_splat(6.0));
                    }
                    v128_store(row.as_mut_ptr().add(g * GROUP) as *mut v128, v);
                }
            }
        }
    }

    /// The same arithmetic in plain Rust, in the same order (bit-identical to the wasm kernel).
    #[cfg(not(target_arch = "wasm32"))]
    fn write<const H: usize>(&self, dst: Dst) {
        let Self {
            x,
            r,
            weights,
            scales,
        } = *self;
        let inp = x.inp;
        for i in 0..H {
            let row = &x.values[(r + i) * inp..][..inp];
            let mut sums = [0i32; PANEL];
            for (p, pair) in row.chunks_exact(2).enumerate() {
                let (lo, hi) = (i32::from(pair[0]), i32::from(pair[1]));
                let w = &weights[p * 2 * PANEL..][..2 * PANEL];
                for (j, s) in sums.iter_mut().enumerate() {
                    *s += lo * i32::from(w[2 * j]) + hi * i32::from(w[2 * j + 1]);
                }
            }
            let x_scale = x.scales[r + i];
            let total: [f32; PANEL] =
                core::array::from_fn(|j| (sums[j] as f32 * x_scale) * scales[j]);
            let out_row = &mut dst.y[i * dst.out + dst.col..][..dst.cols];
            for (c, v) in out_row.iter_mut().enumerate() {
                *v = dst.epilogue.apply(total[c], dst.col + c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};

    use super::*;

    #[test]
    fn more_activation_bits_give_finer_products() {
        let (out, inp) = (8, 64);
        let w: Vec<i8> = (0..out * inp)
            .map(|i| ((i * 31 % 255) as i32 - 127) as i8)
            .collect();
        let scales = vec![0.01f32; out];
        let x: Vec<f32> = (0..3 * inp)
            .map(|i| (i * 17 % 97) as f32 / 97.0 * 6.0)
            .collect();
        let exact: Vec<f64> = x
            .chunks_exact(inp)
            .flat_map(|row| {
                w.chunks_exact(inp).map(move |wr| {
                    row.iter()
                        .zip(wr)
                        .map(|(&a, &b)| f64::from(a) * f64::from(b) * 0.01)
                        .sum::<f64>()
                })
            })
            .collect();
        let err = |m: &Int8Matrix| {
            m.forward(&x, Epilogue::NONE)
                .iter()
                .zip(&exact)
                .fold(0f64, |e, (&a, &b)| e.max((f64::from(a) - b).abs()))
        };
        let m8 = Int8Matrix::from_per_output(&w, &scales, out, inp).unwrap();
        let m12 = m8.clone().with_activation_bits(12).unwrap();
        assert!(err(&m12) < err(&m8) / 8.0, "{} vs {}", err(&m12), err(&m8));
        assert!(m8.clone().with_activation_bits(13).is_err());
        let wide = Int8Matrix::from_per_output(&vec![0; 10_000], &[0.0], 1, 10_000).unwrap();
        assert!(wide.with_activation_bits(12).is_err());
    }

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

    fn flat(t: &Tensor) -> Vec<f32> {
        t.flatten_all()
            .and_then(|t| t.to_vec1())
            .expect("f32 values")
    }

    /// Deterministic activations with an outlier in every 29 values, `m × inp`.
    fn activations(m: usize, inp: usize) -> Vec<f32> {
        (0..m * inp)
            .map(|i| (i as f32 * 0.377).sin() * if i % 29 == 0 { 5.0 } else { 1.0 })
            .collect()
    }

    /// `ours` against the exact product `x · wᵀ`, within what rounding can cost: each
    /// activation moves by at most half its row's step `sx/2`, and each weight by half its row's
    /// step `sw/2` when the matrix was re-quantised (`requantised`), else not at all. So output
    /// `(i, j)` is off by at most `Σ_k |x_ik|·Δw_j + |w_jk|·sx_i/2 + Δw_j·sx_i/2`, plus f32
    /// rounding of the sums.
    fn assert_within_rounding(ours: &[f32], x: &[f32], w: &[f32], inp: usize, requantised: bool) {
        let step = |row: &[f32]| row.iter().fold(0f32, |a, v| a.max(v.abs())) / 127.0;
        let (m, out) = (x.len() / inp, w.len() / inp);
        for i in 0..m {
            let xr = &x[i * inp..][..inp];
            let sx = step(xr);
            for j in 0..out {
                let wr = &w[j * inp..][..inp];
                let dw = if requantised { step(wr) / 2.0 } else { 0.0 };
                let exact: f64 = xr.iter().zip(wr).map(|(a, b)| f64::from(a * b)).sum();
                let bound: f64 = xr
                    .iter()
                    .zip(wr)
                    .map(|(a, b)| f64::from(a.abs() * dw + b.abs() * sx / 2.0 + dw * sx / 2.0))
                    .sum();
                let error = (f64::from(ours[i * out + j]) - exact).abs();
                assert!(
                    error <= bound * 1.001 + 1e-4,
                    "[{i}, {j}] of {m}×{inp}→{out}: off by {error}, bound {bound}"
                );
            }
        }
    }

    #[test]
    fn q8_0_matches_the_exact_product_within_rounding() {
        // 6 outputs: a partial panel; 9 rows: two tiles and a remainder; 70 rows: two row
        // chunks; 12 outputs: a whole panel and a partial one. The weights have a 4× outlier in
        // every 41: re-quantised per row, the others get coarser steps, which the bound allows.
        for (m, out, inp) in [(9, 6, 64), (1, 384, 384), (28, 8, 1536), (70, 12, 96)] {
            let (bytes, w) = q8_matrix(out, inp, 0.731);
            let x = activations(m, inp);
            let matrix = Int8Matrix::from_q8_0(&bytes, out, inp).expect("matrix");
            let ours = matrix.forward(&x, Epilogue::NONE);
            assert_within_rounding(&ours, &x, &flat(&w), inp, true);
        }
    }

    #[test]
    fn per_output_scales_any_even_width_bias_and_relu6() {
        // 40 and 144 inputs: not multiples of 32 (the image model's 1×1 convs take 16, 24, 40,
        // 80, 112, 144 and 240 channels).
        for (m, out, inp) in [(13, 24, 40), (5, 16, 144), (3, 10, 2)] {
            let values: Vec<i8> = (0..out * inp)
                .map(|i| ((i * 37 + 11) % 255) as i16 as i8)
                .map(|v| v.max(-127))
                .collect();
            let scales: Vec<f32> = (0..out).map(|j| 0.01 + j as f32 * 0.003).collect();
            let bias: Vec<f32> = (0..out).map(|j| j as f32 * 0.25 - 1.0).collect();
            let w: Vec<f32> = (0..out * inp)
                .map(|i| f32::from(values[i]) * scales[i / inp])
                .collect();
            let x = activations(m, inp);
            let matrix = Int8Matrix::from_per_output(&values, &scales, out, inp).expect("matrix");
            let plain = matrix.forward(&x, Epilogue::NONE);
            assert_within_rounding(&plain, &x, &w, inp, false);
            let activated = matrix.forward(
                &x,
                Epilogue {
                    bias: Some(&bias),
                    relu6: true,
                },
            );
            for (i, (&a, &p)) in activated.iter().zip(&plain).enumerate() {
                assert_eq!(a, (p + bias[i % out]).clamp(0.0, 6.0), "output {i}");
            }
        }
    }

    #[test]
    fn the_candle_op_reads_any_leading_shape() {
        let (bytes, _) = q8_matrix(8, 64, 0.5);
        let matrix = Int8Matrix::from_q8_0(&bytes, 8, 64).expect("matrix");
        let x = Tensor::randn(0f32, 1.0, (2, 3, 64), &Device::Cpu).expect("x");
        let y = matrix.product(&x, Epilogue::NONE).expect("product");
        assert_eq!(y.dims(), [2, 3, 8]);
        assert_eq!(flat(&y), matrix.forward(&flat(&x), Epilogue::NONE));
        let wrong = Tensor::zeros((2, 63), candle_core::DType::F32, &Device::Cpu).expect("x");
        assert!(matrix.product(&wrong, Epilogue::NONE).is_err());
    }

    #[test]
    fn zero_rows_give_zeros_not_nan() {
        let (bytes, _) = q8_matrix(4, 32, 0.3);
        let matrix = Int8Matrix::from_q8_0(&bytes, 4, 32).expect("matrix");
        assert_eq!(matrix.forward(&[0.0; 64], Epilogue::NONE), vec![0.0; 8]);
        assert!(matrix.forward(&[], Epilogue::NONE).is_empty());
    }

    #[test]
    fn every_thread_count_gives_the_same_bits() {
        let (bytes, _) = q8_matrix(12, 96, 0.417);
        let matrix = Int8Matrix::from_q8_0(&bytes, 12, 96).expect("matrix");
        let x: Vec<f32> = (0..23 * 96).map(|i| (i as f32 * 0.093).sin()).collect();
        let one = matrix.forward_on(&x, Epilogue::NONE, 1);
        for threads in [2, 3, 8] {
            assert_eq!(
                matrix.forward_on(&x, Epilogue::NONE, threads),
                one,
                "{threads} threads"
            );
        }
    }

    #[test]
    fn refuses_a_matrix_whose_bytes_do_not_fit() {
        assert!(Int8Matrix::from_q8_0(&[0; 10], 4, 32).is_err());
        assert!(Int8Matrix::from_q8_0(&[0; 34], 1, 30).is_err());
        assert!(Int8Matrix::from_per_output(&[0; 3], &[1.0], 1, 3).is_err());
        assert!(Int8Matrix::from_per_output(&[0; 4], &[1.0], 1, 2).is_err());
    }
}
