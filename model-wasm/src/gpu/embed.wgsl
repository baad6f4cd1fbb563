// Token embeddings: out[t, c] = word[ids[t], c] (8-bit table, Q8_0) + position[t mod len, c]
// + token_type_0[c]. One invocation per output value; the layer norm that follows is
// `add_layer_norm` with a zero residual.

struct Dims { tokens: u32, len: u32, hidden: u32, pad: u32 }

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> wq: array<u32>;
@group(0) @binding(3) var<storage, read> ws: array<f32>;
@group(0) @binding(4) var<storage, read> positions: array<f32>;
@group(0) @binding(5) var<storage, read> token_type: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let idx = gid.x;
    if (idx >= dims.tokens * dims.hidden) {
        return;
    }
    let t = idx / dims.hidden;
    let c = idx % dims.hidden;
    let flat = ids[t] * dims.hidden + c;
    let word = wq[flat / 4u];
    let q = f32(bitcast<i32>(word << (24u - 8u * (flat % 4u))) >> 24u);
    let i = t % dims.len;
    out[idx] = q * ws[flat / 32u] + positions[i * dims.hidden + c] + token_type[c];
}
