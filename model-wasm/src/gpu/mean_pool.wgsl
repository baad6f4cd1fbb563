// Sentence vectors: out[b, c] = mean over the real tokens i of x[b, i, c] (mask 1 = token).

struct Dims { batch: u32, len: u32, hidden: u32, pad: u32 }

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let idx = gid.x;
    if (idx >= dims.batch * dims.hidden) {
        return;
    }
    let b = idx / dims.hidden;
    let c = idx % dims.hidden;
    var sum = 0.0;
    var count = 0.0;
    for (var i = 0u; i < dims.len; i = i + 1u) {
        let m = mask[b * dims.len + i];
        sum = sum + m * x[(b * dims.len + i) * dims.hidden + c];
        count = count + m;
    }
    out[idx] = sum / max(count, 1e-9);
}
