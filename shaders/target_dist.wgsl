// DEC's target distribution (DFCN, DESIGN.md §10a), from soft assignments q (n × k)
// and their column sums f (reduce_sum):
//   p_ij = (q_ij² / f_j) / Σ_j' (q_ij'² / f_j')
// recomputed every epoch; no gradient flows through it.
//
// Bindings (group 0):
//   0 uniform    params {n, k, _, _}
//   1 storage r  q: array<f32>, n × k
//   2 storage r  f: array<f32>, k
//   3 storage rw p: array<f32>, n × k
// Dispatch: one invocation per point, WG per workgroup, grid folded to 2-D.

struct Params {
    n: u32,
    k: u32,
    _pad0: u32,
    _pad1: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> f: array<f32>;
@group(0) @binding(3) var<storage, read_write> p: array<f32>;

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
    let k = params.k;
    var total = 0.0;
    for (var j = 0u; j < k; j++) {
        let v = q[i * k + j];
        let w = v * v / f[j];
        p[i * k + j] = w;
        total += w;
    }
    for (var j = 0u; j < k; j++) {
        p[i * k + j] = p[i * k + j] / total;
    }
}
