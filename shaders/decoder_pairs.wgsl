// Inner-product decoder over listed node pairs, row by row, in one of two roles:
//  - the sparse correction of the dense objective (DESIGN.md §2a): pairs = the label's
//    nonzeros (train edges both ways + diagonal), w_pos = pos_weight, w_neg = −1, and the
//    dense split partials from decoder_dense are added in;
//  - the sampled objective (§2b): pairs = positive and negative pairs listed at both
//    endpoints, weights 1/P (positive) and 1/Q (negative), no dense partials.
// For node i and each listed pair (i, j) with weights (w_pos, w_neg):
//   S = z_i · z_j
//   loss_rows[i] += w_pos · softplus(−S) + w_neg · softplus(S)
//   g_i          += (w_pos · (σ(S) − 1) + w_neg · σ(S)) · z_j
// then dz[i] = grad_scale · (Σ_s grad_partial[s, i] + g_i),
//      loss_rows[i] += Σ_s loss_partial[s, i].
// Rows own their pairs (CSR by i), so no atomics: results are deterministic.
//
// Bindings (group 0):
//   0 uniform    params       {n, latent, z_stride, splits, grad_scale, _, _, _}
//   1 storage r  z:            array<f32>, row i at i·z_stride
//   2 storage r  pair_ptr:     array<u32>, n + 1
//   3 storage r  pair_col:     array<u32>, pairs
//   4 storage r  pair_weight:  array<f32>, 2 × pairs (w_pos, w_neg)
//   5 storage r  grad_partial: array<f32>, splits × n × latent (unused when splits = 0)
//   6 storage r  loss_partial: array<f32>, splits × n
//   7 storage rw dz:           array<f32>, n × latent
//   8 storage rw loss_rows:    array<f32>, n
// Dispatch: one invocation per node, WG per workgroup, grid folded to 2-D.

struct Params {
    n: u32,
    latent: u32,
    z_stride: u32,
    splits: u32,
    grad_scale: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const MAX_LATENT: u32 = 64u;

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> pair_ptr: array<u32>;
@group(0) @binding(3) var<storage, read> pair_col: array<u32>;
@group(0) @binding(4) var<storage, read> pair_weight: array<f32>;
@group(0) @binding(5) var<storage, read> grad_partial: array<f32>;
@group(0) @binding(6) var<storage, read> loss_partial: array<f32>;
@group(0) @binding(7) var<storage, read_write> dz: array<f32>;
@group(0) @binding(8) var<storage, read_write> loss_rows: array<f32>;

fn softplus(x: f32) -> f32 {
    return max(x, 0.0) + log(1.0 + exp(-abs(x)));
}

fn sigmoid(x: f32) -> f32 {
    let e = exp(-abs(x));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}

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
    let l = params.latent;
    let zs = params.z_stride;
    var zi: array<f32, MAX_LATENT>;
    var acc: array<f32, MAX_LATENT>;
    for (var k = 0u; k < l; k++) {
        zi[k] = z[i * zs + k];
        acc[k] = 0.0;
    }
    var loss = 0.0;
    for (var p = pair_ptr[i]; p < pair_ptr[i + 1u]; p++) {
        let j = pair_col[p];
        let w_pos = pair_weight[2u * p];
        let w_neg = pair_weight[2u * p + 1u];
        var dot = 0.0;
        for (var k = 0u; k < l; k++) {
            dot += zi[k] * z[j * zs + k];
        }
        loss += w_pos * softplus(-dot) + w_neg * softplus(dot);
        let sig = sigmoid(dot);
        let coef = w_pos * (sig - 1.0) + w_neg * sig;
        for (var k = 0u; k < l; k++) {
            acc[k] += coef * z[j * zs + k];
        }
    }
    for (var s = 0u; s < params.splits; s++) {
        let row = s * n + i;
        for (var k = 0u; k < l; k++) {
            acc[k] += grad_partial[row * l + k];
        }
        loss += loss_partial[row];
    }
    for (var k = 0u; k < l; k++) {
        dz[i * l + k] = params.grad_scale * acc[k];
    }
    loss_rows[i] = loss;
}
