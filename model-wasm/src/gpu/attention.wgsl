// Multi-head self-attention over projected q, k, v (`[batch·len, hidden]`, heads side by side):
// out = softmax(q·kᵀ/√d, padding keys excluded) · v, per sequence, head and query position.
// One invocation per (sequence, head, query); the softmax is computed online in one pass over
// the keys (running max and sum), so no len×len score matrix is ever stored.

struct Dims { batch: u32, len: u32, heads: u32, hidden: u32 }

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<f32>; // [batch·len]: 1 token, 0 padding
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

// `D`, the head width, is declared in front of this source by `attention.rs` (one pipeline per
// width): WGSL sizes function-scope arrays by const-expressions only, and a fixed size is what
// keeps each query's state in registers.

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let idx = gid.x;
    if (idx >= dims.batch * dims.heads * dims.len) {
        return;
    }
    let i = idx % dims.len;
    let h = (idx / dims.len) % dims.heads;
    let b = idx / (dims.len * dims.heads);
    let scale = inverseSqrt(f32(D));
    let q0 = (b * dims.len + i) * dims.hidden + h * D;
    var qv: array<f32, D>;
    var acc: array<f32, D>;
    for (var d = 0u; d < D; d = d + 1u) {
        qv[d] = q[q0 + d] * scale;
        acc[d] = 0.0;
    }
    var running_max = -3.0e38;
    var sum = 0.0;
    for (var j = 0u; j < dims.len; j = j + 1u) {
        if (mask[b * dims.len + j] == 0.0) {
            continue;
        }
        let k0 = (b * dims.len + j) * dims.hidden + h * D;
        var score = 0.0;
        for (var d = 0u; d < D; d = d + 1u) {
            score = score + qv[d] * k[k0 + d];
        }
        let new_max = max(running_max, score);
        let rescale = exp(running_max - new_max);
        let p = exp(score - new_max);
        sum = sum * rescale + p;
        for (var d = 0u; d < D; d = d + 1u) {
            acc[d] = acc[d] * rescale + p * v[k0 + d];
        }
        running_max = new_max;
    }
    // A sequence with no tokens at all cannot come from the tokenizer ([CLS] and [SEP] are
    // always there); guard anyway rather than divide by zero.
    let inv = select(0.0, 1.0 / sum, sum > 0.0);
    for (var d = 0u; d < D; d = d + 1u) {
        out[q0 + d] = acc[d] * inv;
    }
}
