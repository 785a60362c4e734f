// Link scores for evaluation: scores[p] = sigmoid(z_a · z_b) for pair p = (a, b).
// Evaluation passes μ (the mean embedding) through z_stride without copying it out of
// ms = [μ | s].
//
// Bindings (group 0):
//   0 uniform    params {pairs, latent, z_stride, _}
//   1 storage r  z:      array<f32>, row i at i·z_stride
//   2 storage r  pairs:  array<u32>, 2 × pairs (a, b)
//   3 storage rw scores: array<f32>, pairs
// Dispatch: one invocation per pair, WG per workgroup, grid folded to 2-D.

struct Params {
    pairs: u32,
    latent: u32,
    z_stride: u32,
    _pad0: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> pairs: array<u32>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;

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
    let a = pairs[2u * p];
    let b = pairs[2u * p + 1u];
    var dot = 0.0;
    for (var k = 0u; k < params.latent; k++) {
        dot += z[a * params.z_stride + k] * z[b * params.z_stride + k];
    }
    let e = exp(-abs(dot));
    scores[p] = select(e / (1.0 + e), 1.0 / (1.0 + e), dot >= 0.0);
}
