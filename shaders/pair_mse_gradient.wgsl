// Second pass of the dense pair MSE (DFCN's 0.1·MSE(σ(Z_G Z_Gᵀ) + σ(Ẑ Ẑᵀ), Â), DESIGN.md
// §10a) over one block of rows I = [row0, row0 + rows): the product of pair_mse's
// coefficient block C (one of C_a, C_b: block rows × np, np = n rounded up to 4, holding
// the columns j ≥ row0, zero past n) with z (za or zb, n × L), added to the block's rows
// of g (ga or gb, an n × L block of `dense` at `out_offset`):
//   g[i, :] = g[i, :] + Σ_{j ≥ row0} C[i − row0, j] · z[j, :]     (i in I, j in order)
// The earlier blocks' pair_mse_mirror passes have left their contributions in g[i, :];
// the first block (row0 = 0) has none and writes the sum. pair_mse_sparse reads g.
//
// Register blocking as matmul's A·B: invocations own R rows and CPL column groups of 4;
// the column groups, and with them every load of z, are the same for the whole
// workgroup, each vec4 of C loaded serves 4·CPL outputs.
//
// Pipeline constants, set by the host per call (kernels/pair_mse_gradient.rs):
//   L        z's width, 1..=128.
//   R        rows per invocation, 1..=4.
//   CPL      column groups per invocation, 1..=8.
//   ALIGNED  L is a multiple of 4: z's rows are read as vec4s, else element by element.
//   SG       the subgroup layout (ALIGNED only): 0, or the subgroup size when the
//            source has shared/subgroups.wgsl and the host sized WG to one subgroup
//            (4·CPL ≤ SG): lane t loads the t-th of the 4·CPL vec4s of z a step needs,
//            the lanes read the others with a shuffle. Same sums in the same order.
//
// Bindings (group 0):
//   0 uniform    params       {n, row0, rows, c_offset (vec4 where C's row 0 starts),
//                              out_offset (float where g's node 0 starts), col_groups =
//                              ⌈L / 4⌉, lanes = ⌈col_groups / CPL⌉, row_blocks = ⌈rows /
//                              (WG·R)⌉}
//   1 storage r  coefficients: array<vec4<f32>>, C at c_offset, block rows × np floats
//   2 storage r  z:            array<vec4<f32>>, n × L floats
//   3 storage rw dense:        array<f32>, g at out_offset, n × L floats
// Dispatch: lanes × row_blocks workgroups of WG, grid folded to 2-D (w = wid.x + wid.y ·
//   nwg.x); workgroup w serves the column groups from (w % lanes)·CPL and the block rows
//   from (w / lanes)·WG·R, invocation lid the block rows first + r·WG, r < R. Rows past
//   the block's last compute on its last row and store nothing; groups past the last
//   recompute the last group and are not stored (uniform control flow).

struct Params {
    n: u32,
    row0: u32,
    rows: u32,
    c_offset: u32,
    out_offset: u32,
    col_groups: u32,
    lanes: u32,
    row_blocks: u32,
}

override WG: u32 = 64u;
override L: u32 = 100u;
override R: u32 = 1u;
const RMAX: u32 = 4u;
override CPL: u32 = 1u;
const CPL_MAX: u32 = 8u;
override ALIGNED: bool = true;
override SG: u32 = 0u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> coefficients: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> z: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dense: array<f32>;

// Columns 4c .. 4c + 3 of z's row j, zero for j ≥ n (C's padding) and columns ≥ L.
fn z4(j: u32, c: u32) -> vec4<f32> {
    let n = params.n;
    let row = min(j, n - 1u);
    var v = vec4<f32>(0.0);
    if ALIGNED {
        v = z[row * (L / 4u) + c];
    } else {
        for (var k = 0u; k < 4u; k++) {
            let e = row * L + min(4u * c + k, L - 1u);
            v[k] = select(0.0, z[e >> 2u][e & 3u], 4u * c + k < L);
        }
    }
    return select(vec4<f32>(0.0), v, j < n);
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
    if w >= params.lanes * params.row_blocks {
        return; // uniform: the whole workgroup is past the grid
    }
    let n = params.n;
    let quads = (n + 3u) / 4u;
    let groups = params.col_groups;
    let g0 = (w % params.lanes) * CPL;
    let first = (w / params.lanes) * WG * R + lid;
    var acc: array<array<vec4<f32>, CPL_MAX>, RMAX>;
    var base: array<u32, RMAX>;
    for (var r = 0u; r < R; r++) {
        base[r] = params.c_offset + min(first + r * WG, params.rows - 1u) * quads;
        for (var g = 0u; g < CPL; g++) {
            acc[r][g] = vec4<f32>(0.0);
        }
    }
    // The subgroup layout: this lane loads item = 4g + jj of the 4·CPL vec4s of z a
    // step needs (row 4q + jj, column group g0 + g), the others read it with a shuffle.
    let item = min(lane, 4u * CPL - 1u);
    let item_group = min(g0 + item / 4u, groups - 1u);
    // From the quad holding column row0 (C is zero left of row0 there).
    for (var q = params.row0 / 4u; q < quads; q++) {
        var x: array<vec4<f32>, RMAX>;
        for (var r = 0u; r < R; r++) {
            x[r] = coefficients[base[r] + q];
        }
        var mine = vec4<f32>(0.0);
        if SG > 0u {
            mine = z4(4u * q + item % 4u, item_group);
        }
        for (var g = 0u; g < CPL; g++) {
            let c = min(g0 + g, groups - 1u);
            var b: array<vec4<f32>, 4>;
            for (var jj = 0u; jj < 4u; jj++) {
                if SG > 0u {
                    b[jj] = lane_vec4(mine, 4u * g + jj);
                } else {
                    b[jj] = z4(4u * q + jj, c);
                }
            }
            let b0 = b[0];
            let b1 = b[1];
            let b2 = b[2];
            let b3 = b[3];
            for (var r = 0u; r < R; r++) {
                var s = acc[r][g];
                s += x[r].x * b0;
                s += x[r].y * b1;
                s += x[r].z * b2;
                s += x[r].w * b3;
                acc[r][g] = s;
            }
        }
    }
    for (var r = 0u; r < R; r++) {
        let local = first + r * WG;
        if local < params.rows {
            let row = params.out_offset + (params.row0 + local) * L;
            for (var g = 0u; g < CPL; g++) {
                let group = g0 + g;
                if group < groups {
                    for (var k = 0u; k < 4u; k++) {
                        if 4u * group + k < L {
                            let e = row + 4u * group + k;
                            var earlier = 0.0;
                            if params.row0 > 0u {
                                earlier = dense[e];
                            }
                            dense[e] = earlier + acc[r][g][k];
                        }
                    }
                }
            }
        }
    }
}
