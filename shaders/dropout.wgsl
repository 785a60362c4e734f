// Inverted dropout with a counter-based mask, so no mask is stored: for element
// (r, c) of a rows × cols matrix,
//   keep     = uniform(row_base + r, c, epoch, stream; seed) ≥ p      (philox.wgsl)
//   out[r,c] = keep ? x[r,c] · scale : 0                              scale = 1/(1 − p)
// uniform = the first Philox word's top 24 bits / 2²⁴, in [0, 1). The backward pass
// is this kernel on the gradient with the same seed, stream and epoch: the same mask.
// MAGI's encoder drops its layers' inputs this way while training (src/filters/magi.rs).
//
// Bindings (group 0):
//   0 uniform    params {rows, cols, p, scale, seed_lo, seed_hi, stream, row_base}
//                row_base: the global index of row 0 of this dispatch (the mask's
//                counter), where the host splits the rows into windows of one binding
//   1 storage r  x:    array<f32>, rows × cols
//   2 storage rw out:  array<f32>, rows × cols
//   3 uniform    step  (shared/step.wgsl)    {epoch, adam_step, decoder_scale, _}
// Dispatch: one invocation per element (rows × cols invocations), WG per workgroup,
//   grid folded to 2-D.

struct Params {
    rows: u32,
    cols: u32,
    p: f32,
    scale: f32,
    seed_lo: u32,
    seed_hi: u32,
    stream: u32,
    row_base: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> step: Step;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let e = (wid.x + wid.y * nwg.x) * WG + lid;
    if e >= params.rows * params.cols {
        return;
    }
    let r = e / params.cols;
    let c = e % params.cols;
    let key = vec2<u32>(params.seed_lo, params.seed_hi);
    let bits = philox4x32_10(vec4<u32>(params.row_base + r, c, step.epoch, params.stream), key);
    let u = f32(bits.x >> 8u) * (1.0 / 16777216.0);
    var v = 0.0;
    if u >= params.p {
        v = x[e] * params.scale;
    }
    out[e] = v;
}
