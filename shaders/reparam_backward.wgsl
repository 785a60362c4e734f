// Gradients through the reparameterization and the KL term (VGAE backward):
//   dμ_ik = dz_ik + kl_scale · (μ_ik − p_ik)
//   ds_ik = dz_ik · ε_ik · exp(s_ik) + kl_scale · (exp(2 s_ik) − 1)
// with ε regenerated from the same Philox counter as the forward pass (same seed and
// epoch), kl_scale = 1/N² (∂(−KL)/∂μ = (μ − p)/N², ∂(−KL)/∂s = (exp(2s) − 1)/N²), and
// the prior mean p_i = 0, or with the class-conditional prior (DESIGN.md §9, pipeline
// constant CONDITIONAL) the mean m_c of node i's training class (0 without one).
// Output d_ms = [dμ | ds], the gradient of ms = Â·Y, laid out like ms.
//
// Bindings (group 0):
//   0 uniform    params      {n, latent, seed_lo, seed_hi, kl_scale, row_base, _, _}
//                row_base: the global index of row 0 of this dispatch (the noise's
//                key); the bound arrays start there when the host splits the nodes into
//                windows of one binding each (gpu/windows.rs)
//   1 storage r  ms:          array<f32>, n × 2·latent
//   2 storage r  dz:          array<f32>, n × latent
//   3 storage rw d_ms:        array<f32>, n × 2·latent
//   4 uniform    step  (shared/step.wgsl)  {epoch, adam_step, decoder_scale, _}
//   5 storage r  class_of:    array<u32>, n (0xFFFFFFFF: no training label); read only
//                             when CONDITIONAL
//   6 storage r  class_means: array<f32>, classes × latent; read only when CONDITIONAL
// Dispatch: one invocation per (node, latent column): n × latent invocations, WG per
//   workgroup, grid folded to 2-D.

struct Params {
    n: u32,
    latent: u32,
    seed_lo: u32,
    seed_hi: u32,
    kl_scale: f32,
    row_base: u32,
    _pad1: u32,
    _pad2: u32,
}

override WG: u32 = 64u;
override CONDITIONAL: bool = false;
const NO_CLASS: u32 = 0xFFFFFFFFu;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ms: array<f32>;
@group(0) @binding(2) var<storage, read> dz: array<f32>;
@group(0) @binding(3) var<storage, read_write> d_ms: array<f32>;
@group(0) @binding(4) var<uniform> step: Step;
@group(0) @binding(5) var<storage, read> class_of: array<u32>;
@group(0) @binding(6) var<storage, read> class_means: array<f32>;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = (wid.x + wid.y * nwg.x) * WG + lid;
    let l = params.latent;
    if t >= params.n * l {
        return;
    }
    let i = t / l;
    let k = t % l;
    let mu = ms[i * 2u * l + k];
    let s = ms[i * 2u * l + l + k];
    let sigma = exp(s);
    let eps = standard_normal(
        params.row_base + i, k, step.epoch, vec2<u32>(params.seed_lo, params.seed_hi)
    );
    let g = dz[i * l + k];
    var d = mu;
    if CONDITIONAL {
        let node_class = class_of[i];
        if node_class != NO_CLASS {
            d = mu - class_means[node_class * l + k];
        }
    }
    d_ms[i * 2u * l + k] = g + params.kl_scale * d;
    d_ms[i * 2u * l + l + k] = g * eps * sigma + params.kl_scale * (sigma * sigma - 1.0);
}
