// y[m, n] = act(x[m, :] · W[n, :] + bias[n]), act = identity or GELU (`dims.act`), with W in Q8_0 blocks of 32 values: signed bytes
// packed four to a u32 (`wq`) and one f32 scale per block (`ws`). One invocation per output;
// the bytes are widened in registers, so the weights cross the memory bus at 8 bits.

struct Dims { m: u32, n: u32, k: u32, act: u32 }

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wq: array<u32>;
@group(0) @binding(3) var<storage, read> ws: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

// Sign-extends byte `i` (0 = lowest) of `word`: shift it to the top, then arithmetic-shift down.
fn byte_at(word: u32, i: u32) -> f32 {
    return f32(bitcast<i32>(word << (24u - 8u * i)) >> 24u);
}

// erf by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7): WGSL has no erf, and BERT's GELU is
// the exact (erf) one, not the tanh approximation.
fn erf(v: f32) -> f32 {
    let a = abs(v);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return sign(v) * (1.0 - poly * exp(-a * a));
}

fn gelu(v: f32) -> f32 {
    return 0.5 * v * (1.0 + erf(v * 0.70710678118654752));
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    let row = gid.y;
    if (col >= dims.n || row >= dims.m) {
        return;
    }
    let blocks = dims.k / 32u;
    let x0 = row * dims.k;
    var acc = 0.0;
    for (var b = 0u; b < blocks; b = b + 1u) {
        let w0 = (col * dims.k + b * 32u) / 4u;
        let xb = x0 + b * 32u;
        var part = 0.0;
        for (var j = 0u; j < 8u; j = j + 1u) {
            let word = wq[w0 + j];
            let xi = xb + j * 4u;
            part = part + x[xi] * byte_at(word, 0u) + x[xi + 1u] * byte_at(word, 1u)
                + x[xi + 2u] * byte_at(word, 2u) + x[xi + 3u] * byte_at(word, 3u);
        }
        acc = acc + part * ws[col * blocks + b];
    }
    let out = acc + bias[col];
    if (dims.act == 1u) {
        y[row * dims.n + col] = gelu(out);
    } else {
        y[row * dims.n + col] = out;
    }
}
