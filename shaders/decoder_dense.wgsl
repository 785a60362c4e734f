// Dense part of the inner-product decoder's objective (DESIGN.md §2a), one fused pass
// that never stores the N×N logits: for node i and a chunk of columns j,
//   S_ij = z_i · z_j
//   loss_partial[s, i]    = Σ_j softplus(S_ij)          (Kahan-compensated)
//   grad_partial[s, i, :] = Σ_j sigmoid(S_ij) · z_j      (row i of σ(Z Zᵀ) Z)
// over j in split s = [s·col_chunk, min(n, (s+1)·col_chunk)). Splitting the columns
// gives a real GPU enough parallel work at small N; decoder_pairs adds the splits,
// the sparse correction over the label's nonzeros and the scale. Memory O(splits·N·L),
// work O(N²·L).
//
// Bindings (group 0):
//   0 uniform    params       {n, latent, z_stride, col_chunk, splits, _, _, _}
//   1 storage r  z:            array<f32>, row i at i·z_stride, latent ≤ 64 columns used
//   2 storage rw grad_partial: array<f32>, splits × n × latent
//   3 storage rw loss_partial: array<f32>, splits × n
// Dispatch: one invocation per (split, node): splits × n invocations (node fastest, so
//   a workgroup reads each z_j once for all its rows), WG per workgroup, grid folded.

struct Params {
    n: u32,
    latent: u32,
    z_stride: u32,
    col_chunk: u32,
    splits: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const MAX_LATENT: u32 = 64u;

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad_partial: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss_partial: array<f32>;

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
    let t = (wid.x + wid.y * nwg.x) * WG + lid;
    let n = params.n;
    if t >= params.splits * n {
        return;
    }
    let split = t / n;
    let i = t % n;
    let l = params.latent;
    let zs = params.z_stride;
    var zi: array<f32, MAX_LATENT>;
    var acc: array<f32, MAX_LATENT>;
    for (var k = 0u; k < l; k++) {
        zi[k] = z[i * zs + k];
        acc[k] = 0.0;
    }
    var loss = 0.0;
    var compensation = 0.0;
    let j0 = split * params.col_chunk;
    let j1 = min(n, j0 + params.col_chunk);
    for (var j = j0; j < j1; j++) {
        var dot = 0.0;
        for (var k = 0u; k < l; k++) {
            dot += zi[k] * z[j * zs + k];
        }
        let term = softplus(dot) - compensation;
        let next = loss + term;
        compensation = (next - loss) - term;
        loss = next;
        let g = sigmoid(dot);
        for (var k = 0u; k < l; k++) {
            acc[k] += g * z[j * zs + k];
        }
    }
    let row = split * n + i;
    for (var k = 0u; k < l; k++) {
        grad_partial[row * l + k] = acc[k];
    }
    loss_partial[row] = loss;
}
