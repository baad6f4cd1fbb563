// 1×1 convolution on channels-last activations (and the classifier, with one pixel):
// y[p, n] = act(Σ_k x[p, k] · w[n, k] + bias[n]) (+ skip[p, n] for a residual block).
// `flags`: bit 0 = ReLU6, bit 1 = add `skip`.

struct Dims { pixels: u32, n: u32, k: u32, flags: u32 }

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> skip: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let n = gid.x;
    let p = gid.y;
    if (n >= dims.n || p >= dims.pixels) {
        return;
    }
    var acc = bias[n];
    let x0 = p * dims.k;
    let w0 = n * dims.k;
    for (var k = 0u; k < dims.k; k = k + 1u) {
        acc = acc + x[x0 + k] * w[w0 + k];
    }
    if ((dims.flags & 1u) != 0u) {
        acc = clamp(acc, 0.0, 6.0);
    }
    if ((dims.flags & 2u) != 0u) {
        acc = acc + skip[p * dims.n + n];
    }
    y[p * dims.n + n] = acc;
}
