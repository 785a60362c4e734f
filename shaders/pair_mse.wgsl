// Dense part of a pair MSE against a sparse matrix, never storing N×N (DFCN's
// 0.1·MSE(σ(Z_G Z_Gᵀ) + σ(Ẑ Ẑᵀ), Â), DESIGN.md §10a), first pass over one block of
// rows I = [row0, row0 + rows). With a_ij = σ(za_i · za_j) and b_ij = σ(zb_i · zb_j),
// both symmetric in (i, j), every unordered pair is computed once: for the rows i of the
// block and the columns j ≥ row0 (the diagonal block and everything right of it) it
// stores
//   C_a[i, j] = (a_ij + b_ij) · a_ij (1 − a_ij)
//   C_b[i, j] = (a_ij + b_ij) · b_ij (1 − b_ij)
// (zero for j < row0 in the first quad and in the padding columns n..np, np = n rounded
// up to 4) and, per column split s of those columns,
//   loss[s, i] = Σ_{j in split s} w_j (a_ij + b_ij)²    (Kahan-compensated, column order)
// with w_j = 1 in the diagonal block (its pairs come in both orders) and 2 past it (the
// pair (j, i) is not visited), so that Σ_i Σ_s loss[s, i] = Σ_ij (a_ij + b_ij)².
// pair_mse_gradient then adds C_a·za and C_b·zb to the block's rows of ga and gb, and
// pair_mse_mirror C_aᵀ·za and C_bᵀ·zb to the rows past the block; pair_mse_sparse adds
// the splits in order, the correction over the matrix's nonzeros and the scale. The
// row-by-row kernel this replaces held a row of za and zb and both gradient rows in
// every invocation (240 floats at DFCN's widths: register spills on llvmpipe) and
// visited every ordered pair; here an invocation holds its 2 × R × 4·CPL Gram sums.
// Memory O(block rows · n + splits · n).
//
// Register blocking as matmul's A·Bᵀ: invocations own R rows and the workgroup a run of
// CPL column quads at a time, so each row vec4 loaded serves 4·CPL columns and each
// column vec4 (the same for the whole workgroup) serves R rows. Each Gram sum runs
// along the width in order, as the CPU twin's.
//
// Pipeline constants, set by the host per call (kernels/pair_mse.rs):
//   LA, LB   the widths of za and zb, 1..=64 and 1..=128.
//   R        rows per invocation, 1..=4.
//   CPL      column quads per step, 1..=4.
//   ALIGNED  LA and LB are multiples of 4: rows are read as vec4s. Otherwise element by
//            element.
//   SG       the subgroup layout (ALIGNED only): 0, or the subgroup size when the
//            source has shared/subgroups.wgsl and the host sized WG to one subgroup
//            (4·CPL ≤ SG). Lane t loads the t-th of the 4·CPL column vec4s a step
//            needs and the lanes read the others from it with a shuffle (on llvmpipe a
//            storage load is a sequence per lane, a shuffle a register move). Same sums
//            in the same order.
//
// Bindings (group 0):
//   0 uniform    params       {n, row0, rows, splits, chunk_quads (column quads per
//                              split, from quad ⌊row0 / 4⌋), row_blocks = ⌈rows /
//                              (WG·R)⌉, half (vec4s from C_a's start to C_b's: block
//                              rows × np / 4), _}
//   1 storage r  za:           array<vec4<f32>>, n × LA floats
//   2 storage r  zb:           array<vec4<f32>>, n × LB floats
//   3 storage rw coefficients: array<vec4<f32>>, C_a (block rows × np) at 0, C_b at
//                              `half`; row r is node row0 + r; quads < ⌊row0 / 4⌋ are
//                              left as they were
//   4 storage rw dense:        array<f32>, its first splits × n floats: loss[s, i]
// Dispatch: splits × row_blocks workgroups of WG, grid folded to 2-D (w = wid.x + wid.y ·
//   nwg.x); workgroup w serves split w / row_blocks and the block rows from
//   (w % row_blocks)·WG·R, invocation lid the block rows first + r·WG, r < R. Rows past
//   the block's last compute on its last row and store nothing; quads past the split's
//   last recompute its last quad and are not stored (uniform control flow).

struct Params {
    n: u32,
    row0: u32,
    rows: u32,
    splits: u32,
    chunk_quads: u32,
    row_blocks: u32,
    half: u32,
    _pad0: u32,
}

override WG: u32 = 64u;
override LA: u32 = 20u;
override LB: u32 = 100u;
override QA: u32 = (LA + 3u) / 4u;
override QB: u32 = (LB + 3u) / 4u;
override R: u32 = 1u;
const RMAX: u32 = 4u;
override CPL: u32 = 1u;
const CPL_MAX: u32 = 4u;
override ALIGNED: bool = true;
override SG: u32 = 0u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> za: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> zb: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> coefficients: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dense: array<f32>;

fn za_at(e: u32) -> f32 {
    return za[e >> 2u][e & 3u];
}

fn zb_at(e: u32) -> f32 {
    return zb[e >> 2u][e & 3u];
}

// σ(x) and σ(x)(1 − σ(x)), sharing e = exp(−|x|).
fn sigmoid_and_slope(x: f32) -> vec2<f32> {
    let e = exp(-abs(x));
    let inv = 1.0 / (1.0 + e);
    return vec2<f32>(select(e * inv, inv, x >= 0.0), e * inv * inv);
}

// acc += the 4 width values x of a row · the 4 columns' values at the same width
// (b0..b3, one column each): output component c takes bc, summed along the width in
// order.
fn accumulate(
    acc: ptr<function, vec4<f32>>,
    x: vec4<f32>,
    b0: vec4<f32>,
    b1: vec4<f32>,
    b2: vec4<f32>,
    b3: vec4<f32>,
) {
    var s = *acc;
    s.x += x.x * b0.x;
    s.y += x.x * b1.x;
    s.z += x.x * b2.x;
    s.w += x.x * b3.x;
    s.x += x.y * b0.y;
    s.y += x.y * b1.y;
    s.z += x.y * b2.y;
    s.w += x.y * b3.y;
    s.x += x.z * b0.z;
    s.y += x.z * b1.z;
    s.z += x.z * b2.z;
    s.w += x.z * b3.z;
    s.x += x.w * b0.w;
    s.y += x.w * b1.w;
    s.z += x.w * b2.w;
    s.w += x.w * b3.w;
    *acc = s;
}

// An invocation's state across its split: its nodes and their loss sums, and its lane
// in the subgroup (subgroup layout).
struct Rows {
    lane: u32,
    node: array<u32, RMAX>,
    loss: array<f32, RMAX>,
    comp: array<f32, RMAX>,
}

// The Gram sums of za between the rows of `s` and the columns of quads q0 .. q0 + CPL
// (column indices clamped to n − 1).
fn gram_a(s: ptr<function, Rows>, q0: u32, last_quad: u32, n: u32) -> array<array<vec4<f32>, CPL_MAX>, RMAX> {
    var acc: array<array<vec4<f32>, CPL_MAX>, RMAX>;
    if ALIGNED {
        // The subgroup layout: this lane loads column item = 4g + c of the 4·CPL a
        // step needs, the others read it with a shuffle.
        let item = min((*s).lane, 4u * CPL - 1u);
        let item_column = min(4u * min(q0 + item / 4u, last_quad) + item % 4u, n - 1u);
        for (var k = 0u; k < QA; k++) {
            var x: array<vec4<f32>, RMAX>;
            for (var r = 0u; r < R; r++) {
                x[r] = za[(*s).node[r] * QA + k];
            }
            var mine = vec4<f32>(0.0);
            if SG > 0u {
                mine = za[item_column * QA + k];
            }
            for (var g = 0u; g < CPL; g++) {
                let c0 = 4u * min(q0 + g, last_quad);
                var b: array<vec4<f32>, 4>;
                for (var c = 0u; c < 4u; c++) {
                    if SG > 0u {
                        b[c] = lane_vec4(mine, 4u * g + c);
                    } else {
                        b[c] = za[min(c0 + c, n - 1u) * QA + k];
                    }
                }
                for (var r = 0u; r < R; r++) {
                    var t = acc[r][g];
                    accumulate(&t, x[r], b[0], b[1], b[2], b[3]);
                    acc[r][g] = t;
                }
            }
        }
    } else {
        for (var k = 0u; k < LA; k++) {
            var x: array<f32, RMAX>;
            for (var r = 0u; r < R; r++) {
                x[r] = za_at((*s).node[r] * LA + k);
            }
            for (var g = 0u; g < CPL; g++) {
                let c0 = 4u * min(q0 + g, last_quad);
                var b = vec4<f32>(0.0);
                for (var c = 0u; c < 4u; c++) {
                    b[c] = za_at(min(c0 + c, n - 1u) * LA + k);
                }
                for (var r = 0u; r < R; r++) {
                    acc[r][g] += x[r] * b;
                }
            }
        }
    }
    return acc;
}

// As gram_a, of zb.
fn gram_b(s: ptr<function, Rows>, q0: u32, last_quad: u32, n: u32) -> array<array<vec4<f32>, CPL_MAX>, RMAX> {
    var acc: array<array<vec4<f32>, CPL_MAX>, RMAX>;
    if ALIGNED {
        // The subgroup layout: this lane loads column item = 4g + c of the 4·CPL a
        // step needs, the others read it with a shuffle.
        let item = min((*s).lane, 4u * CPL - 1u);
        let item_column = min(4u * min(q0 + item / 4u, last_quad) + item % 4u, n - 1u);
        for (var k = 0u; k < QB; k++) {
            var x: array<vec4<f32>, RMAX>;
            for (var r = 0u; r < R; r++) {
                x[r] = zb[(*s).node[r] * QB + k];
            }
            var mine = vec4<f32>(0.0);
            if SG > 0u {
                mine = zb[item_column * QB + k];
            }
            for (var g = 0u; g < CPL; g++) {
                let c0 = 4u * min(q0 + g, last_quad);
                var b: array<vec4<f32>, 4>;
                for (var c = 0u; c < 4u; c++) {
                    if SG > 0u {
                        b[c] = lane_vec4(mine, 4u * g + c);
                    } else {
                        b[c] = zb[min(c0 + c, n - 1u) * QB + k];
                    }
                }
                for (var r = 0u; r < R; r++) {
                    var t = acc[r][g];
                    accumulate(&t, x[r], b[0], b[1], b[2], b[3]);
                    acc[r][g] = t;
                }
            }
        }
    } else {
        for (var k = 0u; k < LB; k++) {
            var x: array<f32, RMAX>;
            for (var r = 0u; r < R; r++) {
                x[r] = zb_at((*s).node[r] * LB + k);
            }
            for (var g = 0u; g < CPL; g++) {
                let c0 = 4u * min(q0 + g, last_quad);
                var b = vec4<f32>(0.0);
                for (var c = 0u; c < 4u; c++) {
                    b[c] = zb_at(min(c0 + c, n - 1u) * LB + k);
                }
                for (var r = 0u; r < R; r++) {
                    acc[r][g] += x[r] * b;
                }
            }
        }
    }
    return acc;
}

// Quads q0 .. q0 + CPL of the split (those ≤ last_quad): coefficients stored for the
// rows in the block (local row `local[r]` < rows), loss terms added for columns < n.
fn quads_step(s: ptr<function, Rows>, local: array<u32, RMAX>, q0: u32, last_quad: u32) {
    let n = params.n;
    let quads = (n + 3u) / 4u;
    let diagonal_end = params.row0 + params.rows;
    let ga = gram_a(s, q0, last_quad, n);
    let gb = gram_b(s, q0, last_quad, n);
    for (var r = 0u; r < R; r++) {
        for (var g = 0u; g < CPL; g++) {
            let q = q0 + g;
            var ca = vec4<f32>(0.0);
            var cb = vec4<f32>(0.0);
            for (var c = 0u; c < 4u; c++) {
                let sa = sigmoid_and_slope(ga[r][g][c]);
                let sb = sigmoid_and_slope(gb[r][g][c]);
                let sum = sa.x + sb.x;
                let j = 4u * q + c;
                if q <= last_quad && j >= params.row0 && j < n {
                    ca[c] = sum * sa.y;
                    cb[c] = sum * sb.y;
                    let weight = select(2.0, 1.0, j < diagonal_end);
                    let term = weight * (sum * sum) - (*s).comp[r];
                    let next = (*s).loss[r] + term;
                    (*s).comp[r] = (next - (*s).loss[r]) - term;
                    (*s).loss[r] = next;
                }
            }
            if q <= last_quad && local[r] < params.rows {
                let e = local[r] * quads + q;
                coefficients[e] = ca;
                coefficients[e + params.half] = cb;
            }
        }
    }
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
    if w >= params.splits * params.row_blocks {
        return; // uniform: the whole workgroup is past the grid
    }
    let n = params.n;
    let split = w / params.row_blocks;
    let first = (w % params.row_blocks) * WG * R + lid;
    var s: Rows;
    s.lane = lane;
    var local: array<u32, RMAX>;
    for (var r = 0u; r < R; r++) {
        local[r] = first + r * WG;
        s.node[r] = params.row0 + min(local[r], params.rows - 1u);
        s.loss[r] = 0.0;
        s.comp[r] = 0.0;
    }
    let quads = (n + 3u) / 4u;
    let q_begin = min(quads, params.row0 / 4u + split * params.chunk_quads);
    let q_end = min(quads, q_begin + params.chunk_quads);
    if q_begin < q_end {
        for (var q0 = q_begin; q0 < q_end; q0 += CPL) {
            quads_step(&s, local, q0, q_end - 1u);
        }
    }
    for (var r = 0u; r < R; r++) {
        if local[r] < params.rows {
            dense[split * n + s.node[r]] = s.loss[r];
        }
    }
}
