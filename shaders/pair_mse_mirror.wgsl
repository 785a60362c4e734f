// Third pass of the dense pair MSE (DFCN's 0.1·MSE(σ(Z_G Z_Gᵀ) + σ(Ẑ Ẑᵀ), Â), DESIGN.md
// §10a) over one block of rows I = [row0, e), e = row0 + rows: the mirrored half. The
// coefficients are symmetric (C[i, j] = C[j, i]) and pair_mse computed the block's only
// for the columns j ≥ row0, so the rows j ≥ e get the pairs (j, i), i in I, here:
//   g[j, :] = g[j, :] + Σ_{i in I} C[i − row0, j] · z[i, :]      (j ≥ e, i in order)
// with C one of pair_mse's C_a, C_b (block rows × np, np = n rounded up to 4) and z the
// matching za or zb (n × L); g is ga or gb, an n × L block of `dense` at `out_offset`.
// The first block (row0 = 0) writes the sum (no earlier contribution), later blocks add.
// pair_mse_gradient then adds each block's own row sums; pair_mse_sparse reads g.
//
// Register blocking as matmul_tn's: an invocation owns one quad of output rows (one
// vec4 of C a step, serving its 4 rows) and CPL column groups of 4; the rows of z it
// meets, and so every load of z, are the same for the whole workgroup.
//
// Pipeline constants, set by the host per call (kernels/pair_mse_mirror.rs):
//   L        z's width, 1..=128.
//   CPL      column groups per invocation, 1..=8.
//   ALIGNED  L is a multiple of 4: z's rows are read as vec4s, else element by element.
//   SG       the subgroup layout (ALIGNED only): 0, or the subgroup size when the
//            source has shared/subgroups.wgsl and the host sized WG to one subgroup
//            (CPL ≤ SG): lane t loads the t-th of the CPL vec4s of z a step needs, the
//            lanes read the others with a shuffle. Same sums in the same order.
//
// Bindings (group 0):
//   0 uniform    params       {n, row0, rows, c_offset (vec4 where C's row 0 starts),
//                              out_offset (float where g's node 0 starts), col_groups =
//                              ⌈L / 4⌉, lanes = ⌈col_groups / CPL⌉, quad_blocks =
//                              ⌈(⌈n / 4⌉ − ⌊e / 4⌋) / WG⌉}
//   1 storage r  coefficients: array<vec4<f32>>, C at c_offset, block rows × np floats
//   2 storage r  z:            array<vec4<f32>>, n × L floats
//   3 storage rw dense:        array<f32>, g at out_offset, n × L floats
// Dispatch: lanes × quad_blocks workgroups of WG, grid folded to 2-D (w = wid.x + wid.y ·
//   nwg.x); workgroup w serves the column groups from (w % lanes)·CPL and the output row
//   quads from ⌊e / 4⌋ + (w / lanes)·WG, invocation lid one quad. Quads past the last
//   recompute it and store nothing, rows < e or ≥ n of a quad are not stored, groups
//   past the last recompute it and are not stored (uniform control flow).

struct Params {
    n: u32,
    row0: u32,
    rows: u32,
    c_offset: u32,
    out_offset: u32,
    col_groups: u32,
    lanes: u32,
    quad_blocks: u32,
}

override WG: u32 = 64u;
override L: u32 = 100u;
override CPL: u32 = 1u;
const CPL_MAX: u32 = 8u;
override ALIGNED: bool = true;
override SG: u32 = 0u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> coefficients: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> z: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dense: array<f32>;

// Columns 4c .. 4c + 3 of z's row i, zero for columns ≥ L.
fn z4(i: u32, c: u32) -> vec4<f32> {
    if ALIGNED {
        return z[i * (L / 4u) + c];
    }
    var v = vec4<f32>(0.0);
    for (var k = 0u; k < 4u; k++) {
        let e = i * L + min(4u * c + k, L - 1u);
        v[k] = select(0.0, z[e >> 2u][e & 3u], 4u * c + k < L);
    }
    return v;
}

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    // First, while every lane is active (only read by the subgroup layout).
    var lane = 0u;
    if SG > 0u {
        lane = subgroup_lane();
    }
    let w = wid.x + wid.y * nwg.x;
    if w >= params.lanes * params.quad_blocks {
        return; // uniform: the whole workgroup is past the grid
    }
    let n = params.n;
    let quads = (n + 3u) / 4u;
    let end = params.row0 + params.rows;
    let groups = params.col_groups;
    let g0 = (w % params.lanes) * CPL;
    let quad_unclamped = end / 4u + (w / params.lanes) * WG + lid;
    let quad = min(quad_unclamped, quads - 1u);
    // acc[k][g]: output row 4·quad + k, column group g0 + g.
    var acc: array<array<vec4<f32>, CPL_MAX>, 4>;
    // The subgroup layout: this lane loads group item of the CPL a step needs.
    let item_group = min(g0 + min(lane, CPL - 1u), groups - 1u);
    for (var i = 0u; i < params.rows; i++) {
        let x = coefficients[params.c_offset + i * quads + quad];
        let row = params.row0 + i;
        var mine = vec4<f32>(0.0);
        if SG > 0u {
            mine = z4(row, item_group);
        }
        for (var g = 0u; g < CPL; g++) {
            var zv: vec4<f32>;
            if SG > 0u {
                zv = lane_vec4(mine, g);
            } else {
                zv = z4(row, min(g0 + g, groups - 1u));
            }
            acc[0][g] += x.x * zv;
            acc[1][g] += x.y * zv;
            acc[2][g] += x.z * zv;
            acc[3][g] += x.w * zv;
        }
    }
    if quad_unclamped >= quads {
        return;
    }
    for (var k = 0u; k < 4u; k++) {
        let j = 4u * quad + k;
        if j >= end && j < n {
            let out_row = params.out_offset + j * L;
            for (var g = 0u; g < CPL; g++) {
                let group = g0 + g;
                if group < groups {
                    for (var c = 0u; c < 4u; c++) {
                        if 4u * group + c < L {
                            let e = out_row + 4u * group + c;
                            var earlier = 0.0;
                            if params.row0 > 0u {
                                earlier = dense[e];
                            }
                            dense[e] = earlier + acc[k][g][c];
                        }
                    }
                }
            }
        }
    }
}
