// Reparameterization and the KL term's per-node sums (VGAE forward):
//   ε_ik = standard_normal(i, k, epoch; seed)            (philox.wgsl)
//   z_ik = μ_ik + ε_ik · exp(s_ik)                       s = log σ
//   kl_rows[i] = Σ_k (1 + 2 s_ik − (μ_ik − p_ik)² − exp(2 s_ik))
// where the prior mean p_i is 0 (N(0, I)), or with the class-conditional prior
// (DESIGN.md §9, pipeline constant CONDITIONAL) the learnable mean m_c of node i's
// training class c = class_of[i], and 0 for nodes without a training label.
// μ and s are the two halves of each row of ms = Â·Y (N × 2L: μ in columns 0..L,
// s in L..2L). The host scales the reduced kl_rows by −0.5/N² (DESIGN.md §2).
//
// Bindings (group 0):
//   0 uniform    params      {n, latent, seed_lo, seed_hi, row_base, _, _, _}
//                row_base: the global index of row 0 of this dispatch (the noise's
//                key); the bound arrays start there when the host splits the nodes into
//                windows of one binding each (gpu/windows.rs)
//   1 storage r  ms:          array<f32>, n × 2·latent
//   2 storage rw z:           array<ZElem>, n × latent: f32, or f16 under
//                             Precision::F16 (rounded to nearest even, see
//                             shared/store_f16.wgsl), which the decoders then read
//   3 storage rw kl_rows:     array<f32>, n
//   4 uniform    step  (shared/step.wgsl)    {epoch, adam_step, decoder_scale, _}
//   5 storage r  class_of:    array<u32>, n (0xFFFFFFFF: no training label); read only
//                             when CONDITIONAL
//   6 storage r  class_means: array<f32>, classes × latent; read only when CONDITIONAL
// Dispatch: one invocation per node (row), WG per workgroup, grid folded to 2-D.

struct Params {
    n: u32,
    latent: u32,
    seed_lo: u32,
    seed_hi: u32,
    row_base: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

override WG: u32 = 64u;
// Whether the prior means come from class_of and class_means (a constant: llvmpipe runs
// both sides of a branch).
override CONDITIONAL: bool = false;
const NO_CLASS: u32 = 0xFFFFFFFFu;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ms: array<f32>;
@group(0) @binding(2) var<storage, read_write> z: array<ZElem>;
@group(0) @binding(3) var<storage, read_write> kl_rows: array<f32>;
@group(0) @binding(4) var<uniform> step: Step;
@group(0) @binding(5) var<storage, read> class_of: array<u32>;
@group(0) @binding(6) var<storage, read> class_means: array<f32>;

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
    let key = vec2<u32>(params.seed_lo, params.seed_hi);
    var node_class = NO_CLASS;
    if CONDITIONAL {
        node_class = class_of[i];
    }
    var kl = 0.0;
    for (var k = 0u; k < l; k++) {
        let mu = ms[i * 2u * l + k];
        let s = ms[i * 2u * l + l + k];
        let sigma = exp(s);
        let eps = standard_normal(params.row_base + i, k, step.epoch, key);
        z[i * l + k] = to_zelem(mu + eps * sigma);
        var d = mu;
        if CONDITIONAL && node_class != NO_CLASS {
            d = mu - class_means[node_class * l + k];
        }
        kl += 1.0 + 2.0 * s - d * d - sigma * sigma;
    }
    kl_rows[i] = kl;
}
