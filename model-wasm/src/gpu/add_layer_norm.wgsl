// y = LayerNorm(x + residual) · gamma + beta, per row of `cols` values (BERT's post-norm
// residual blocks). One workgroup per row; the two sums (mean, then variance) are tree
// reductions in workgroup memory.

struct Dims { rows: u32, cols: u32, eps: f32, pad: u32 }

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> residual: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

const THREADS: u32 = 64u;
var<workgroup> partial: array<f32, 64>;

// Sums `partial` into partial[0]; every thread of the workgroup must call it.
fn reduce(t: u32) {
    for (var stride = THREADS / 2u; stride > 0u; stride = stride / 2u) {
        workgroupBarrier();
        if (t < stride) {
            partial[t] = partial[t] + partial[t + stride];
        }
    }
    workgroupBarrier();
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let row = wg.x;
    let base = row * dims.cols;
    var sum = 0.0;
    for (var i = t; i < dims.cols; i = i + THREADS) {
        sum = sum + x[base + i] + residual[base + i];
    }
    partial[t] = sum;
    reduce(t);
    let mean = partial[0] / f32(dims.cols);
    workgroupBarrier();
    var sq = 0.0;
    for (var i = t; i < dims.cols; i = i + THREADS) {
        let d = x[base + i] + residual[base + i] - mean;
        sq = sq + d * d;
    }
    partial[t] = sq;
    reduce(t);
    let inv = inverseSqrt(partial[0] / f32(dims.cols) + dims.eps);
    for (var i = t; i < dims.cols; i = i + THREADS) {
        y[base + i] = (x[base + i] + residual[base + i] - mean) * inv * gamma[i] + beta[i];
    }
}
