// Student's t soft assignment with one degree of freedom (DFCN/DEC, DESIGN.md §10a):
//   num_ij = 1 / (1 + ‖z_i − c_j‖²),   q_ij = num_ij / Σ_j' num_ij'
// for points z (n × L) and centres c (k × L); ‖·‖² summed in column order.
//
// Bindings (group 0):
//   0 uniform    params  {n, latent (= L), k, _}
//   1 storage r  z:       array<f32>, n × L
//   2 storage r  centers: array<f32>, k × L
//   3 storage rw q:       array<f32>, n × k (num first, then divided by the row's sum)
// Dispatch: one invocation per point, WG per workgroup, grid folded to 2-D.

struct Params {
    n: u32,
    latent: u32,
    k: u32,
    _pad0: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> centers: array<f32>;
@group(0) @binding(3) var<storage, read_write> q: array<f32>;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = (wid.x + wid.y * nwg.x) * WG + lid;
    if i >= params.n {
        return;
    }
    let l = params.latent;
    var total = 0.0;
    for (var j = 0u; j < params.k; j++) {
        var dist = 0.0;
        for (var c = 0u; c < l; c++) {
            let diff = z[i * l + c] - centers[j * l + c];
            dist += diff * diff;
        }
        let num = 1.0 / (1.0 + dist);
        q[i * params.k + j] = num;
        total += num;
    }
    for (var j = 0u; j < params.k; j++) {
        q[i * params.k + j] = q[i * params.k + j] / total;
    }
}
