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
// Pipeline constants, set by the host per call (kernels/decoder_dense.rs):
//   L  the latent size, 1..=64. The loops over the latent then have constant trip
//      counts, so compilers unroll them and keep z_i, z_j and the accumulators in
//      registers (or plain spill slots) rather than dynamically indexed private arrays,
//      which CPU drivers such as llvmpipe turn into per-lane gathers and scatters.
//   R  rows per invocation, 1..=4 (register blocking): every z_j loaded serves R rows.
//      Loads dominate on llvmpipe; the host picks R = 4 for L ≤ 16, 2 for L ≤ 32 and
//      1 above, where more rows spill more than they save.
// z_j is loaded once per column into registers and used for both the dot product and
// the gradient (loading it twice cost 2.6× on llvmpipe).
//
// Bindings (group 0):
//   0 uniform    params       {n, latent (= L), z_stride, col_chunk, splits,
//                              groups_per_split = ceil(n / (WG·R)), _, _}
//   1 storage r  z:            array<f32>, row i at i·z_stride, the first L columns used
//   2 storage rw grad_partial: array<f32>, splits × n × L
//   3 storage rw loss_partial: array<f32>, splits × n
// Dispatch: splits × groups_per_split workgroups of WG invocations, grid folded to 2-D
//   (linear workgroup id w = wid.x + wid.y · nwg.x). Workgroup w serves split
//   s = w / groups_per_split and the WG·R nodes from (w % groups_per_split)·WG·R;
//   invocation lid owns nodes first + r·WG, r < R, where first = that start + lid
//   (adjacent invocations own adjacent rows, so stores coalesce). The column range, and
//   with it every load of z_j, is the same for the whole workgroup: one broadcast load
//   per element rather than one per invocation. Invocations past the last node compute
//   on node n − 1 and store nothing, keeping control flow uniform.

struct Params {
    n: u32,
    latent: u32,
    z_stride: u32,
    col_chunk: u32,
    splits: u32,
    groups_per_split: u32,
    _pad0: u32,
    _pad1: u32,
}

override WG: u32 = 64u;
// The latent size this pipeline is built for, 1..=64 (MAX_LATENT on the host).
override L: u32 = 16u;
// Groups of four latent columns; the last one is partial when L is not a multiple of 4.
override LQ: u32 = (L + 3u) / 4u;
// Rows per invocation, 1..=RMAX.
override R: u32 = 4u;
const RMAX: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad_partial: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss_partial: array<f32>;

// Columns 4q..4q+3 of the row starting at `base`; columns ≥ L read as 0 (never loaded,
// so a row at the end of the buffer is not overrun).
fn load4(base: u32, q: u32) -> vec4<f32> {
    let c = 4u * q;
    if c + 4u <= L {
        return vec4<f32>(z[base + c], z[base + c + 1u], z[base + c + 2u], z[base + c + 3u]);
    }
    var v = vec4<f32>(z[base + c], 0.0, 0.0, 0.0);
    if c + 1u < L { v.y = z[base + c + 1u]; }
    if c + 2u < L { v.z = z[base + c + 2u]; }
    return v;
}

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let w = wid.x + wid.y * nwg.x;
    let n = params.n;
    if w >= params.splits * params.groups_per_split {
        return; // uniform: the whole workgroup is past the grid
    }
    let split = w / params.groups_per_split;
    let first = (w % params.groups_per_split) * WG * R + lid;
    let zs = params.z_stride;
    var zi: array<array<vec4<f32>, 16>, RMAX>;
    var acc: array<array<vec4<f32>, 16>, RMAX>;
    var loss: array<f32, RMAX>;
    var comp: array<f32, RMAX>;
    for (var r = 0u; r < R; r++) {
        let i = min(first + r * WG, n - 1u);
        for (var q = 0u; q < LQ; q++) {
            zi[r][q] = load4(i * zs, q);
            acc[r][q] = vec4<f32>(0.0);
        }
        loss[r] = 0.0;
        comp[r] = 0.0;
    }
    let j0 = split * params.col_chunk;
    let j1 = min(n, j0 + params.col_chunk);
    for (var j = j0; j < j1; j++) {
        let base = j * zs;
        var zj: array<vec4<f32>, 16>;
        for (var q = 0u; q < LQ; q++) {
            zj[q] = load4(base, q);
        }
        for (var r = 0u; r < R; r++) {
            // Summed column by column in order, as the CPU twin does.
            var dot = 0.0;
            for (var q = 0u; q < LQ; q++) {
                dot += zi[r][q].x * zj[q].x;
                dot += zi[r][q].y * zj[q].y;
                dot += zi[r][q].z * zj[q].z;
                dot += zi[r][q].w * zj[q].w;
            }
            // softplus and sigmoid share e = exp(−|S|).
            let e = exp(-abs(dot));
            let term = max(dot, 0.0) + log(1.0 + e) - comp[r];
            let next = loss[r] + term;
            comp[r] = (next - loss[r]) - term;
            loss[r] = next;
            let g = select(e, 1.0, dot >= 0.0) / (1.0 + e);
            for (var q = 0u; q < LQ; q++) {
                acc[r][q] += g * zj[q];
            }
        }
    }
    for (var r = 0u; r < R; r++) {
        let node = first + r * WG;
        if node < n {
            let row = split * n + node;
            for (var q = 0u; q < LQ; q++) {
                let c = 4u * q;
                grad_partial[row * L + c] = acc[r][q].x;
                if c + 1u < L { grad_partial[row * L + c + 1u] = acc[r][q].y; }
                if c + 2u < L { grad_partial[row * L + c + 2u] = acc[r][q].z; }
                if c + 3u < L { grad_partial[row * L + c + 3u] = acc[r][q].w; }
            }
            loss_partial[row] = loss[r];
        }
    }
}
