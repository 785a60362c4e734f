// Gradient of the class-conditional prior's −KL term (DESIGN.md §9) with respect to the
// learnable class means:
//   dm[c, k] = −kl_scale · Σ_{i ∈ members(c)} (μ_ik − m_ck)
// members(c) = the nodes whose training label is c, listed per class (CSR, ascending
// node ids), summed in that order. kl_scale = 1/N², the scale of the objective's KL.
// Only training labels ever enter members(c).
//
// Pipeline constant WINDOWED: ms is larger than one storage binding (gpu/windows.rs).
// ms then holds its rows ms_lo .. ms_hi only, members outside are skipped, and the host
// runs one dispatch per window in ascending order, each after the first continuing the
// raw sums left in d_class_means (flags & 1), the last scaling them (flags & 2). Members
// are ascending, so every sum runs in the single dispatch's order: the same bits.
//
// Bindings (group 0):
//   0 uniform    params        {classes, latent, ms_stride, kl_scale, ms_lo, ms_hi,
//                                flags (1: continue, 2: finish), _}
//   1 storage r  ms:            array<f32>, rows of ms_stride floats, μ in the first
//                               latent columns (rows ms_lo .. ms_hi when WINDOWED)
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
    ms_lo: u32,
    ms_hi: u32,
    flags: u32,
    _pad0: u32,
}

override WG: u32 = 64u;
override WINDOWED: bool = false;
const CONTINUES: u32 = 1u;
const FINISHES: u32 = 2u;

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
    if WINDOWED && (params.flags & CONTINUES) != 0u {
        acc = d_class_means[t];
    }
    for (var p = class_ptr[c]; p < class_ptr[c + 1u]; p++) {
        var node = class_nodes[p];
        if WINDOWED {
            if node < params.ms_lo || node >= params.ms_hi {
                continue;
            }
            node -= params.ms_lo;
        }
        acc += ms[node * params.ms_stride + k] - m;
    }
    if (params.flags & FINISHES) != 0u {
        acc = -params.kl_scale * acc;
    }
    d_class_means[t] = acc;
}
