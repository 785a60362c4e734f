// Link scores for evaluation: scores[p] = sigmoid(z_a · z_b) for pair p = (a, b).
// Evaluation passes μ (the mean embedding) through z_stride without copying it out of
// ms = [μ | s].
//
// Pipeline constant LOGITS: write the logit z_a · z_b itself instead of its sigmoid
// (σ rounds to 1.0 above a logit of about 17, so the logit cannot be recovered from it).
//
// Pipeline constant WINDOWED: z is larger than one storage binding (gpu/windows.rs).
// z_a then holds z's rows a_lo .. a_lo + a_rows and z_b its rows b_lo .. b_lo + b_rows;
// a pair is scored only when a falls in the first window and b in the second, and the
// host runs one dispatch per pair of windows, so every pair is scored exactly once.
// Otherwise both bindings are the whole of z and the windows are not read.
//
// Bindings (group 0):
//   0 uniform    params {pairs, latent, z_stride, a_lo, a_rows, b_lo, b_rows, _}
//   1 storage r  z_a:    array<ZElem> (f32, or f16 under Precision::F16: see
//                        shared/store_f32.wgsl), row i at i·z_stride (a window of rows
//                        if WINDOWED)
//   2 storage r  z_b:    array<ZElem>, likewise
//   3 storage r  pairs:  array<u32>, 2 × pairs (a, b)
//   4 storage rw scores: array<f32>, pairs
// Dispatch: one invocation per pair, WG per workgroup, grid folded to 2-D.

struct Params {
    pairs: u32,
    latent: u32,
    z_stride: u32,
    a_lo: u32,
    a_rows: u32,
    b_lo: u32,
    b_rows: u32,
    _pad0: u32,
}

override WG: u32 = 64u;
override WINDOWED: bool = false;
override LOGITS: bool = false;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z_a: array<ZElem>;
@group(0) @binding(2) var<storage, read> z_b: array<ZElem>;
@group(0) @binding(3) var<storage, read> pairs: array<u32>;
@group(0) @binding(4) var<storage, read_write> scores: array<f32>;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let p = (wid.x + wid.y * nwg.x) * WG + lid;
    if p >= params.pairs {
        return;
    }
    var a = pairs[2u * p];
    var b = pairs[2u * p + 1u];
    if WINDOWED {
        a -= params.a_lo;
        b -= params.b_lo;
        if a >= params.a_rows || b >= params.b_rows {
            return;
        }
    }
    var dot = 0.0;
    for (var k = 0u; k < params.latent; k++) {
        dot += f32(z_a[a * params.z_stride + k]) * f32(z_b[b * params.z_stride + k]);
    }
    if LOGITS {
        scores[p] = dot;
        return;
    }
    let e = exp(-abs(dot));
    scores[p] = select(e / (1.0 + e), 1.0 / (1.0 + e), dot >= 0.0);
}
