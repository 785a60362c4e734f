// Gradient of the class-conditional prior's −KL term (DESIGN.md §9) with respect to the
// learnable class means:
//   dm[c, k] = −kl_scale · Σ_{i ∈ members(c)} (μ_ik − m_ck)
// members(c) = the nodes whose training label is c, listed per class (CSR, ascending
// node ids), summed in that order. kl_scale = 1/N², the scale of the objective's KL.
// Only training labels ever enter members(c).
//
// Bindings (group 0):
//   0 uniform    params        {classes, latent, ms_stride, kl_scale}
//   1 storage r  ms:            array<f32>, rows of ms_stride floats, μ in the first
//                               latent columns
//   2 storage r  class_ptr:     array<u32>, classes + 1
//   3 storage r  class_nodes:   array<u32>, class_ptr[classes]
//   4 storage r  class_means:   array<f32>, classes × latent
//   5 storage rw d_class_means: array<f32>, classes × latent
// Dispatch: one invocation per (class, latent column): classes × latent invocations, WG
//   per workgroup, grid folded to 2-D.

struct Params {
    classes: u32,
    latent: u32,
    ms_stride: u32,
    kl_scale: f32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ms: array<f32>;
@group(0) @binding(2) var<storage, read> class_ptr: array<u32>;
@group(0) @binding(3) var<storage, read> class_nodes: array<u32>;
@group(0) @binding(4) var<storage, read> class_means: array<f32>;
@group(0) @binding(5) var<storage, read_write> d_class_means: array<f32>;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = (wid.x + wid.y * nwg.x) * WG + lid;
    let l = params.latent;
    if t >= params.classes * l {
        return;
    }
    let c = t / l;
    let k = t % l;
    let m = class_means[t];
    var acc = 0.0;
    for (var p = class_ptr[c]; p < class_ptr[c + 1u]; p++) {
        acc += ms[class_nodes[p] * params.ms_stride + k] - m;
    }
    d_class_means[t] = -params.kl_scale * acc;
}
