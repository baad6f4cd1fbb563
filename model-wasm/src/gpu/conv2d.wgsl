// k×k convolution with TensorFlow SAME padding on channels-last activations, bias, ReLU6.
// Serves the stem (full conv, `groups` = 1) and the depthwise convs (`groups` = channels: each
// output channel reads only its own input channel). Weights are `[c_out, k, k, c_in/groups]`.

struct Dims {
    in_h: u32, in_w: u32, c_in: u32, c_out: u32,
    out_h: u32, out_w: u32, kernel: u32, stride: u32,
    pad_top: u32, pad_left: u32, depthwise: u32, pad: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let idx = gid.x;
    if (idx >= dims.out_h * dims.out_w * dims.c_out) {
        return;
    }
    let co = idx % dims.c_out;
    let ox = (idx / dims.c_out) % dims.out_w;
    let oy = idx / (dims.c_out * dims.out_w);
    let per_group = select(dims.c_in, 1u, dims.depthwise == 1u);
    var acc = bias[co];
    for (var ky = 0u; ky < dims.kernel; ky = ky + 1u) {
        let iy = i32(oy * dims.stride + ky) - i32(dims.pad_top);
        if (iy < 0 || iy >= i32(dims.in_h)) {
            continue;
        }
        for (var kx = 0u; kx < dims.kernel; kx = kx + 1u) {
            let ix = i32(ox * dims.stride + kx) - i32(dims.pad_left);
            if (ix < 0 || ix >= i32(dims.in_w)) {
                continue;
            }
            let pixel = (u32(iy) * dims.in_w + u32(ix)) * dims.c_in;
            let tap = ((co * dims.kernel + ky) * dims.kernel + kx) * per_group;
            if (dims.depthwise == 1u) {
                acc = acc + x[pixel + co] * w[tap];
            } else {
                for (var ci = 0u; ci < dims.c_in; ci = ci + 1u) {
                    acc = acc + x[pixel + ci] * w[tap + ci];
                }
            }
        }
    }
    y[idx] = clamp(acc, 0.0, 6.0);
}
