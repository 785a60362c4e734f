// Merges attention_forward's per-split softmax statistics, and DFCN's fusion output
// (DESIGN.md §10a): per row i, with M = max_s m_s and weights e_s = exp(m_s − M),
//   l = Σ_s l_s e_s,   zs_i = (Σ_s o_s e_s) / l,   lse_i = M + log l,
//   z_tilde_i = gamma[0] · zs_i + y_i
// (splits in order). zs = softmax_row(Y Yᵀ) Y; lse is what attention_backward
// recomputes S_ij = exp(y_i · y_j − lse_i) from.
//
// Bindings (group 0):
//   0 uniform    params  {n, latent (= L), splits, _}
//   1 storage r  partial: array<f32>, splits × n × (2 + L) (attention_forward's)
//   2 storage r  y:       array<f32>, n × L
//   3 storage r  gamma:   array<f32>, 1
//   4 storage rw zs:      array<f32>, n × L
//   5 storage rw lse:     array<f32>, n
//   6 storage rw z_tilde: array<f32>, n × L
// Dispatch: one invocation per row, WG per workgroup, grid folded to 2-D.

struct Params {
    n: u32,
    latent: u32,
    splits: u32,
    _pad0: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read_write> zs: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<storage, read_write> z_tilde: array<f32>;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = (wid.x + wid.y * nwg.x) * WG + lid;
    let n = params.n;
    if i >= n {
        return;
    }
    let width = 2u + params.latent;
    var top = partial[i * width];
    for (var s = 1u; s < params.splits; s++) {
        top = max(top, partial[(s * n + i) * width]);
    }
    var l = 0.0;
    for (var s = 0u; s < params.splits; s++) {
        let base = (s * n + i) * width;
        l += partial[base + 1u] * exp(partial[base] - top);
    }
    let g = gamma[0];
    for (var c = 0u; c < params.latent; c++) {
        var o = 0.0;
        for (var s = 0u; s < params.splits; s++) {
            let base = (s * n + i) * width;
            o += partial[base + 2u + c] * exp(partial[base] - top);
        }
        let e = i * params.latent + c;
        let v = o / l;
        zs[e] = v;
        z_tilde[e] = g * v + y[e];
    }
    lse[i] = top + log(l);
}
